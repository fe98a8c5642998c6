/* The cleaner's worker pool (pool.h) on lib/workq's worker threads: a FIFO of
 * jobs to run and a FIFO of finished jobs under the threads' lock, and an eventfd
 * that is readable while the finished FIFO is not empty. */
#include "roles/cleaner/pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/workq/pool.h"

/* Workers make a few HTTP requests through libcurl: no deep recursion. */
#define WORKER_STACK (256 * 1024)

struct fifo {
    struct cl_job *head, *tail;
};

struct cl_pool {
    struct wpool *wp; /* NULL with 0 workers; its lock guards todo and done */
    struct fifo todo, done;
    size_t pending; /* submitted, not taken (the loop's thread only) */
    int efd;
    cl_pool_fn fn;
    void *arg;
    struct cl_job *cur[CL_POOL_MAX_WORKERS]; /* what each worker runs */
};

static void push(struct fifo *f, struct cl_job *j)
{
    j->j_next = NULL;
    if (f->tail != NULL)
        f->tail->j_next = j;
    else
        f->head = j;
    f->tail = j;
}

static struct cl_job *pop(struct fifo *f)
{
    struct cl_job *j = f->head;
    if (j != NULL) {
        f->head = j->j_next;
        if (f->head == NULL)
            f->tail = NULL;
        j->j_next = NULL;
    }
    return j;
}

static bool w_take(void *arg, unsigned w, int64_t *wait_ms)
{
    struct cl_pool *p = arg;
    p->cur[w] = pop(&p->todo);
    return p->cur[w] != NULL;
}

static void w_run(void *arg, unsigned w)
{
    struct cl_pool *p = arg;
    p->fn(p->arg, p->cur[w]);
}

static void w_done(void *arg, unsigned w)
{
    struct cl_pool *p = arg;
    bool was_empty = p->done.head == NULL;
    push(&p->done, p->cur[w]);
    p->cur[w] = NULL;
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(p->efd, &one, sizeof(one));
        (void)n; /* an eventfd write fails only on counter overflow */
    }
}

int cl_pool_new(unsigned nworkers, cl_pool_fn fn, void *arg, struct cl_pool **out)
{
    if (nworkers > CL_POOL_MAX_WORKERS || fn == NULL)
        return -EINVAL;
    struct cl_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->efd = -1;
    if (nworkers == 0) {
        *out = p;
        return 0;
    }
    int rc = 0;
    if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        rc = -errno;
    struct wpool_ops ops = {.take = w_take, .run = w_run, .done = w_done, .arg = p};
    if (rc == 0)
        rc = wpool_start(nworkers, WORKER_STACK, &ops, &p->wp);
    if (rc != 0) {
        cl_pool_free(p, NULL);
        return rc;
    }
    *out = p;
    return 0;
}

void cl_pool_free(struct cl_pool *p, void (*drop)(struct cl_job *job))
{
    if (p == NULL)
        return;
    wpool_stop(p->wp); /* the jobs running end; the workers take no more */
    struct cl_job *j;
    while ((j = pop(&p->todo)) != NULL || (j = pop(&p->done)) != NULL)
        if (drop != NULL)
            drop(j);
    if (p->efd >= 0)
        close(p->efd);
    free(p);
}

void cl_pool_submit(struct cl_pool *p, struct cl_job *job)
{
    p->pending++;
    if (p->wp == NULL) {
        p->fn(p->arg, job);
        push(&p->done, job);
        return;
    }
    wpool_lock(p->wp);
    push(&p->todo, job);
    wpool_unlock(p->wp, 1);
}

struct cl_job *cl_pool_take(struct cl_pool *p)
{
    struct cl_job *j;
    if (p->wp == NULL) {
        j = pop(&p->done);
    } else {
        wpool_lock(p->wp);
        j = pop(&p->done);
        if (p->done.head == NULL) {
            uint64_t v;
            ssize_t n = read(p->efd, &v, sizeof(v)); /* EAGAIN when already 0 */
            (void)n;
        }
        wpool_unlock(p->wp, 0);
    }
    if (j != NULL)
        p->pending--;
    return j;
}

size_t cl_pool_pending(const struct cl_pool *p)
{
    return p->pending;
}

int cl_pool_fd(const struct cl_pool *p)
{
    return p->efd;
}

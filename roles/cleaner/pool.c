/* The cleaner's worker pool (pool.h): one mutex, a FIFO of jobs to run, a FIFO of
 * finished jobs, a condition variable for idle workers and an eventfd that is
 * readable while the finished FIFO is not empty. */
#include "roles/cleaner/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Workers make a few HTTP requests through libcurl: no deep recursion. */
#define WORKER_STACK (256 * 1024)

struct fifo {
    struct cl_job *head, *tail;
};

struct cl_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fifo todo, done;
    bool stopping;
    size_t pending; /* submitted, not taken (the loop's thread only) */
    int efd;
    unsigned nthreads;
    cl_pool_fn fn;
    void *arg;
    pthread_t th[];
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

static void finished(struct cl_pool *p, struct cl_job *j)
{
    bool was_empty = p->done.head == NULL;
    push(&p->done, j);
    if (was_empty && p->efd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(p->efd, &one, sizeof(one));
        (void)n; /* an eventfd write fails only on counter overflow */
    }
}

static void *worker(void *arg)
{
    struct cl_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct cl_job *j;
        while ((j = pop(&p->todo)) == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (j == NULL)
            break;
        pthread_mutex_unlock(&p->mu);
        p->fn(p->arg, j);
        pthread_mutex_lock(&p->mu);
        finished(p, j);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int cl_pool_new(unsigned nworkers, cl_pool_fn fn, void *arg, struct cl_pool **out)
{
    if (nworkers > CL_POOL_MAX_WORKERS || fn == NULL)
        return -EINVAL;
    struct cl_pool *p = calloc(1, sizeof(*p) + nworkers * sizeof(pthread_t));
    if (p == NULL)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->fn = fn;
    p->arg = arg;
    p->efd = -1;
    if (nworkers > 0 && (p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        int rc = -errno;
        cl_pool_free(p, NULL);
        return rc;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    for (unsigned i = 0; i < nworkers; i++) {
        int rc = pthread_create(&p->th[i], &attr, worker, p);
        if (rc != 0) {
            pthread_attr_destroy(&attr);
            cl_pool_free(p, NULL);
            return -rc;
        }
        p->nthreads++;
    }
    pthread_attr_destroy(&attr);
    *out = p;
    return 0;
}

void cl_pool_free(struct cl_pool *p, void (*drop)(struct cl_job *job))
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->th[i], NULL);
    struct cl_job *j;
    while ((j = pop(&p->todo)) != NULL || (j = pop(&p->done)) != NULL)
        if (drop != NULL)
            drop(j);
    if (p->efd >= 0)
        close(p->efd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void cl_pool_submit(struct cl_pool *p, struct cl_job *job)
{
    p->pending++;
    if (p->nthreads == 0) {
        p->fn(p->arg, job);
        push(&p->done, job);
        return;
    }
    pthread_mutex_lock(&p->mu);
    push(&p->todo, job);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

struct cl_job *cl_pool_take(struct cl_pool *p)
{
    struct cl_job *j;
    if (p->nthreads == 0) {
        j = pop(&p->done);
    } else {
        pthread_mutex_lock(&p->mu);
        j = pop(&p->done);
        if (p->done.head == NULL) {
            uint64_t v;
            ssize_t n = read(p->efd, &v, sizeof(v)); /* EAGAIN when already 0 */
            (void)n;
        }
        pthread_mutex_unlock(&p->mu);
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

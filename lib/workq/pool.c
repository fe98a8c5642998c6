/* Worker threads (pool.h): the loop of a worker, start, stop and the lock. */
#include "lib/workq/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/common/util.h"

struct wworker {
    struct wpool *p;
    unsigned idx;
};

struct wpool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on the monotonic clock */
    bool stop;
    struct wpool_ops ops;
    unsigned nth;
    pthread_t th[WPOOL_MAX_WORKERS];
    struct wworker w[WPOOL_MAX_WORKERS];
};

static void *worker(void *arg)
{
    struct wworker *me = arg;
    struct wpool *p = me->p;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t wait_ms = -1;
        if (p->ops.take(p->ops.arg, me->idx, &wait_ms)) {
            pthread_mutex_unlock(&p->mu);
            p->ops.run(p->ops.arg, me->idx);
            pthread_mutex_lock(&p->mu);
            if (p->ops.done != NULL)
                p->ops.done(p->ops.arg, me->idx);
            continue;
        }
        if (wait_ms < 0) {
            pthread_cond_wait(&p->cv, &p->mu);
        } else {
            struct timespec ts = util_mono_deadline(wait_ms);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int wpool_start(unsigned nworkers, size_t stack_size, const struct wpool_ops *ops,
                struct wpool **out)
{
    if (ops == NULL || ops->take == NULL || ops->run == NULL || nworkers < 1 ||
        nworkers > WPOOL_MAX_WORKERS)
        return -EINVAL;
    struct wpool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->ops = *ops;
    int rc = -pthread_mutex_init(&p->mu, NULL);
    if (rc == 0 && (rc = util_mono_cond_init(&p->cv)) != 0)
        pthread_mutex_destroy(&p->mu);
    if (rc != 0) {
        free(p);
        return rc;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack_size > 0)
        pthread_attr_setstacksize(&attr, stack_size);
    for (unsigned i = 0; i < nworkers; i++) {
        p->w[i] = (struct wworker){.p = p, .idx = i};
        if ((rc = -pthread_create(&p->th[i], &attr, worker, &p->w[i])) != 0)
            break;
        p->nth++;
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        wpool_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

void wpool_stop(struct wpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

unsigned wpool_workers(const struct wpool *p)
{
    return p->nth;
}

void wpool_lock(struct wpool *p)
{
    pthread_mutex_lock(&p->mu);
}

void wpool_unlock(struct wpool *p, int wake)
{
    if (wake == 1)
        pthread_cond_signal(&p->cv);
    else if (wake > 1)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void wpool_wake(struct wpool *p)
{
    wpool_lock(p);
    wpool_unlock(p, 2);
}

void wpool_wake_locked(struct wpool *p)
{
    pthread_cond_broadcast(&p->cv);
}

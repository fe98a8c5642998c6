/* The scheduler's workers (pool.h): one lock over the work queue, the deferred
 * passes and the counters; a condition variable on the monotonic clock wakes idle
 * workers for a queued key, a timer that comes due, a deferred pass that may
 * resume, or the stop. */
#include "roles/scheduler/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/common/util.h"
#include "lib/workq/workq.h"

#define MAX_WORKERS 16
#define IDLE_WAIT_MS 1000 /* an idle worker looks again at least this often */

/* A deferred pass, in the order deferred (doubly linked: a first pass of its
 * key takes it out of the middle). */
struct sp_follow {
    struct sp_follow *f_next, *f_prev;
    struct workq_key *f_wk;
    void *f_cont;
};

struct sched_pool {
    pthread_mutex_t p_mu;
    pthread_cond_t p_cv;
    struct workq *p_q;
    struct sched_pool_ops p_ops;
    pthread_t p_th[MAX_WORKERS];
    int p_nth;
    bool p_open, p_stop;
    int p_nfirst;  /* first passes running */
    int p_nresume; /* resumed passes running */
    int p_nbusy;   /* first passes, resumed ones and idle work running */
    struct sp_follow *p_fhead, *p_ftail;
    struct sched_pool_stats p_st;
};

/* Locked: the end of a key's pass. */
static void finish(struct sched_pool *p, struct workq_key *wk, enum sp_result r)
{
    workq_done(p->p_q, wk); /* queued again if added meanwhile */
    if (r == SP_GONE)
        p->p_ops.forget(p->p_ops.arg, p->p_q, wk);
}

static void busy(struct sched_pool *p, int d)
{
    p->p_nbusy += d;
    if (p->p_nbusy > p->p_st.max_busy)
        p->p_st.max_busy = p->p_nbusy;
}

static void follow_unlink(struct sched_pool *p, struct sp_follow *f)
{
    if (f->f_prev != NULL)
        f->f_prev->f_next = f->f_next;
    else
        p->p_fhead = f->f_next;
    if (f->f_next != NULL)
        f->f_next->f_prev = f->f_prev;
    else
        p->p_ftail = f->f_prev;
    f->f_next = f->f_prev = NULL;
}

static void follow_append(struct sched_pool *p, struct sp_follow *f)
{
    f->f_next = NULL;
    f->f_prev = p->p_ftail;
    if (p->p_ftail != NULL)
        p->p_ftail->f_next = f;
    else
        p->p_fhead = f;
    p->p_ftail = f;
}

/* Locked: a first pass of wk (unlocked while it runs), with the key's deferred
 * continuation if it has one. */
static void first_pass(struct sched_pool *p, struct workq_key *wk)
{
    void *cont = NULL;
    void **slot = p->p_ops.slot(p->p_ops.arg, wk);
    struct sp_follow *f = *slot;
    if (f != NULL) { /* taken over: the pass gets it */
        follow_unlink(p, f);
        *slot = NULL;
        cont = f->f_cont;
        p->p_st.taken_over++;
    }
    p->p_nfirst++;
    busy(p, 1);
    p->p_st.passes++;
    pthread_mutex_unlock(&p->p_mu);
    enum sp_result r = p->p_ops.pass(p->p_ops.arg, wk, &cont);
    pthread_mutex_lock(&p->p_mu);
    p->p_nfirst--;
    busy(p, -1);
    if (r == SP_DEFER && f == NULL)
        f = malloc(sizeof(*f));
    else if (r != SP_DEFER)
        free(f);
    if (r == SP_DEFER && f != NULL) { /* the key is done; its continuation waits */
        *f = (struct sp_follow){.f_wk = wk, .f_cont = cont};
        follow_append(p, f);
        *slot = f;
        workq_done(p->p_q, wk);
    } else if (r == SP_DEFER) { /* out of memory: resume it now, here */
        busy(p, 1);
        pthread_mutex_unlock(&p->p_mu);
        r = p->p_ops.resume(p->p_ops.arg, wk, cont);
        pthread_mutex_lock(&p->p_mu);
        busy(p, -1);
        finish(p, wk, r == SP_GONE ? SP_GONE : SP_DONE);
    } else {
        finish(p, wk, r);
    }
    if (p->p_nfirst == 0 && p->p_fhead != NULL)
        pthread_cond_broadcast(&p->p_cv); /* deferred passes may resume */
}

/* Locked: resumes the oldest deferred pass, its key claimed (processing) for it.
 * It is never processing or queued here (a first pass would have taken the
 * continuation; the queue is empty), but if it were it goes to the tail (false). */
static bool resume_one(struct sched_pool *p)
{
    struct sp_follow *f = p->p_fhead;
    follow_unlink(p, f);
    if (workq_claim(p->p_q, f->f_wk) != 0) {
        follow_append(p, f);
        return false;
    }
    *p->p_ops.slot(p->p_ops.arg, f->f_wk) = NULL;
    busy(p, 1);
    p->p_nresume++;
    p->p_st.resumed++;
    pthread_mutex_unlock(&p->p_mu);
    enum sp_result r = p->p_ops.resume(p->p_ops.arg, f->f_wk, f->f_cont);
    pthread_mutex_lock(&p->p_mu);
    p->p_nresume--;
    busy(p, -1);
    finish(p, f->f_wk, r == SP_GONE ? SP_GONE : SP_DONE);
    free(f);
    return true;
}

static void *worker(void *arg)
{
    struct sched_pool *p = arg;
    pthread_mutex_lock(&p->p_mu);
    while (!p->p_stop) {
        int64_t until = -1;
        struct workq_key *wk = NULL;
        if (p->p_open) {
            until = workq_fire(p->p_q);
            wk = workq_get(p->p_q);
        }
        if (wk != NULL) {
            first_pass(p, wk);
            continue;
        }
        /* The queue is empty: deferred passes go once no first pass runs (a
         * running one may still have its create to make). */
        if (p->p_fhead != NULL && p->p_nfirst == 0 && resume_one(p))
            continue;
        /* Idle work last: once every first pass and every resumed one is over. */
        if (p->p_open && p->p_fhead == NULL && p->p_nfirst == 0 && p->p_nresume == 0 &&
            p->p_ops.idle != NULL) {
            busy(p, 1);
            pthread_mutex_unlock(&p->p_mu);
            bool did = p->p_ops.idle(p->p_ops.arg);
            pthread_mutex_lock(&p->p_mu);
            busy(p, -1);
            if (did) {
                p->p_st.idle++;
                continue;
            }
        }
        int64_t w = until >= 0 && until < IDLE_WAIT_MS ? until : IDLE_WAIT_MS;
        struct timespec ts = util_mono_deadline(w);
        pthread_cond_timedwait(&p->p_cv, &p->p_mu, &ts);
    }
    pthread_mutex_unlock(&p->p_mu);
    return NULL;
}

int sched_pool_start(struct workq *q, int nworkers, const struct sched_pool_ops *ops,
                     struct sched_pool **out)
{
    if (q == NULL || ops == NULL || ops->pass == NULL || ops->resume == NULL || ops->drop == NULL ||
        ops->forget == NULL || ops->slot == NULL || nworkers < 1 || nworkers > MAX_WORKERS)
        return -EINVAL;
    struct sched_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->p_q = q;
    p->p_ops = *ops;
    int rc = -pthread_mutex_init(&p->p_mu, NULL);
    if (rc == 0 && (rc = util_mono_cond_init(&p->p_cv)) != 0)
        pthread_mutex_destroy(&p->p_mu);
    if (rc != 0) {
        free(p);
        return rc;
    }
    for (int i = 0; i < nworkers; i++) {
        if ((rc = -pthread_create(&p->p_th[i], NULL, worker, p)) != 0)
            break;
        p->p_nth++;
    }
    if (rc != 0) {
        sched_pool_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

void sched_pool_stop(struct sched_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->p_mu);
    p->p_stop = true;
    pthread_cond_broadcast(&p->p_cv);
    pthread_mutex_unlock(&p->p_mu);
    for (int i = 0; i < p->p_nth; i++)
        pthread_join(p->p_th[i], NULL);
    for (struct sp_follow *f = p->p_fhead, *nx; f != NULL; f = nx) {
        nx = f->f_next;
        *p->p_ops.slot(p->p_ops.arg, f->f_wk) = NULL;
        p->p_ops.drop(p->p_ops.arg, f->f_wk, f->f_cont);
        free(f);
    }
    pthread_cond_destroy(&p->p_cv);
    pthread_mutex_destroy(&p->p_mu);
    free(p);
}

void sched_pool_open(struct sched_pool *p)
{
    sched_pool_lock(p);
    p->p_open = true;
    sched_pool_unlock(p);
}

void sched_pool_kick(struct sched_pool *p)
{
    sched_pool_lock(p);
    sched_pool_unlock(p);
}

void sched_pool_lock(struct sched_pool *p)
{
    pthread_mutex_lock(&p->p_mu);
}

void sched_pool_unlock(struct sched_pool *p)
{
    pthread_cond_broadcast(&p->p_cv);
    pthread_mutex_unlock(&p->p_mu);
}

struct workq_key *sched_pool_key(struct sched_pool *p, const char *key, bool create, bool add)
{
    sched_pool_lock(p);
    struct workq_key *wk = workq_find(p->p_q, key);
    if (wk == NULL && create && workq_insert(p->p_q, key, &wk) < 0)
        wk = NULL;
    if (wk != NULL && add)
        workq_add(p->p_q, wk);
    if (add)
        sched_pool_unlock(p);
    else
        pthread_mutex_unlock(&p->p_mu);
    return wk;
}

void sched_pool_add_at(struct sched_pool *p, struct workq_key *wk, int64_t at)
{
    sched_pool_lock(p);
    if (workq_add_at(p->p_q, wk, at) != 0)
        workq_add(p->p_q, wk);
    sched_pool_unlock(p);
}

bool sched_pool_contended(struct sched_pool *p)
{
    pthread_mutex_lock(&p->p_mu);
    bool c = workq_len(p->p_q) > 0 || p->p_nfirst > 1;
    pthread_mutex_unlock(&p->p_mu);
    return c;
}

size_t sched_pool_nkeys(struct sched_pool *p)
{
    pthread_mutex_lock(&p->p_mu);
    size_t n = workq_nkeys(p->p_q);
    pthread_mutex_unlock(&p->p_mu);
    return n;
}

void sched_pool_stats(struct sched_pool *p, struct sched_pool_stats *out)
{
    pthread_mutex_lock(&p->p_mu);
    *out = p->p_st;
    pthread_mutex_unlock(&p->p_mu);
}

/* The scheduler's workers (pool.h) on lib/workq's worker threads: under their
 * lock, the work queue, the deferred passes and the counters; take() chooses a
 * worker's next pass (a queued key, then a deferred pass that may resume, then
 * idle work) and done() does the bookkeeping of its end. An idle worker looks
 * again for a timer that comes due (workq_fire tells when) and when woken. */
#include "roles/scheduler/pool.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/workq/pool.h"
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

/* What a worker took (its slot, by the worker's index). */
struct sp_work {
    enum { W_FIRST, W_RESUME, W_IDLE } kind;
    struct workq_key *wk;
    struct sp_follow *f; /* a first pass's taken-over continuation, or the resumed one */
    void *cont;
    enum sp_result r;
    unsigned long kicks; /* idle: p_kicks when taken */
    bool did;            /* idle: it did something */
};

struct sched_pool {
    struct wpool *p_wp; /* its lock guards everything below */
    struct workq *p_q;
    struct sched_pool_ops p_ops;
    bool p_open;
    int p_nfirst;  /* first passes running */
    int p_nresume; /* resumed passes running */
    int p_nbusy;   /* first passes, resumed ones and idle work running */
    /* Idle work is not asked for again after it had nothing until a kick
     * (sched_pool_unlock) comes: p_kicks counts them, p_idle_empty is the count
     * when idle work last had nothing. */
    unsigned long p_kicks, p_idle_empty;
    struct sp_follow *p_fhead, *p_ftail;
    struct sched_pool_stats p_st;
    struct sp_work p_w[MAX_WORKERS];
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

/* Locked: a first pass of wk, with the key's deferred continuation if it has
 * one (taken over: the pass gets it). */
static void take_first(struct sched_pool *p, struct sp_work *w, struct workq_key *wk)
{
    void **slot = p->p_ops.slot(p->p_ops.arg, wk);
    *w = (struct sp_work){.kind = W_FIRST, .wk = wk, .f = *slot};
    if (w->f != NULL) {
        follow_unlink(p, w->f);
        *slot = NULL;
        w->cont = w->f->f_cont;
        p->p_st.taken_over++;
    }
    p->p_nfirst++;
    busy(p, 1);
    p->p_st.passes++;
}

/* Locked: the oldest deferred pass, its key claimed (processing) for it. It is
 * never processing or queued here (a first pass would have taken the
 * continuation; the queue is empty), but if it were it goes to the tail (false). */
static bool take_resume(struct sched_pool *p, struct sp_work *w)
{
    struct sp_follow *f = p->p_fhead;
    follow_unlink(p, f);
    if (workq_claim(p->p_q, f->f_wk) != 0) {
        follow_append(p, f);
        return false;
    }
    *p->p_ops.slot(p->p_ops.arg, f->f_wk) = NULL;
    *w = (struct sp_work){.kind = W_RESUME, .wk = f->f_wk, .f = f, .cont = f->f_cont};
    busy(p, 1);
    p->p_nresume++;
    p->p_st.resumed++;
    return true;
}

static bool w_take(void *arg, unsigned idx, int64_t *wait_ms)
{
    struct sched_pool *p = arg;
    struct sp_work *w = &p->p_w[idx];
    int64_t until = -1;
    if (p->p_open) {
        until = workq_fire(p->p_q);
        struct workq_key *wk = workq_get(p->p_q);
        if (wk != NULL) {
            take_first(p, w, wk);
            return true;
        }
    }
    /* The queue is empty: deferred passes go once no first pass runs (a running
     * one may still have its create to make). */
    if (p->p_fhead != NULL && p->p_nfirst == 0 && take_resume(p, w))
        return true;
    /* Idle work last: once every first pass and every resumed one is over. */
    if (p->p_open && p->p_fhead == NULL && p->p_nfirst == 0 && p->p_nresume == 0 &&
        p->p_ops.idle != NULL && p->p_idle_empty != p->p_kicks) {
        *w = (struct sp_work){.kind = W_IDLE, .kicks = p->p_kicks};
        busy(p, 1);
        return true;
    }
    *wait_ms = until >= 0 && until < IDLE_WAIT_MS ? until : IDLE_WAIT_MS;
    return false;
}

static void w_run(void *arg, unsigned idx)
{
    struct sched_pool *p = arg;
    struct sp_work *w = &p->p_w[idx];
    switch (w->kind) {
    case W_FIRST:
        w->r = p->p_ops.pass(p->p_ops.arg, w->wk, &w->cont);
        if (w->r == SP_DEFER && w->f == NULL && (w->f = malloc(sizeof(*w->f))) == NULL) {
            /* out of memory: resume it now, here */
            enum sp_result r = p->p_ops.resume(p->p_ops.arg, w->wk, w->cont);
            w->r = r == SP_GONE ? SP_GONE : SP_DONE;
        }
        break;
    case W_RESUME:
        w->r = p->p_ops.resume(p->p_ops.arg, w->wk, w->cont);
        break;
    case W_IDLE:
        w->did = p->p_ops.idle(p->p_ops.arg);
        break;
    }
}

static void w_done(void *arg, unsigned idx)
{
    struct sched_pool *p = arg;
    struct sp_work *w = &p->p_w[idx];
    busy(p, -1);
    switch (w->kind) {
    case W_FIRST:
        p->p_nfirst--;
        if (w->r == SP_DEFER) { /* the key is done; its continuation waits */
            *w->f = (struct sp_follow){.f_wk = w->wk, .f_cont = w->cont};
            follow_append(p, w->f);
            *p->p_ops.slot(p->p_ops.arg, w->wk) = w->f;
            workq_done(p->p_q, w->wk);
        } else {
            free(w->f);
            finish(p, w->wk, w->r);
        }
        if (p->p_nfirst == 0 && p->p_fhead != NULL)
            wpool_wake_locked(p->p_wp); /* deferred passes may resume */
        break;
    case W_RESUME:
        p->p_nresume--;
        finish(p, w->wk, w->r == SP_GONE ? SP_GONE : SP_DONE);
        free(w->f);
        break;
    case W_IDLE:
        if (w->did)
            p->p_st.idle++;
        else
            p->p_idle_empty = w->kicks;
        break;
    }
    *w = (struct sp_work){0};
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
    p->p_idle_empty = (unsigned long)-1;
    struct wpool_ops wo = {.take = w_take, .run = w_run, .done = w_done, .arg = p};
    int rc = wpool_start((unsigned)nworkers, 0, &wo, &p->p_wp);
    if (rc != 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void sched_pool_stop(struct sched_pool *p)
{
    if (p == NULL)
        return;
    wpool_stop(p->p_wp); /* each worker ends its pass */
    for (struct sp_follow *f = p->p_fhead, *nx; f != NULL; f = nx) {
        nx = f->f_next;
        *p->p_ops.slot(p->p_ops.arg, f->f_wk) = NULL;
        p->p_ops.drop(p->p_ops.arg, f->f_wk, f->f_cont);
        free(f);
    }
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
    wpool_lock(p->p_wp);
}

void sched_pool_unlock(struct sched_pool *p)
{
    p->p_kicks++;
    wpool_unlock(p->p_wp, 2);
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
        wpool_unlock(p->p_wp, 0);
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
    wpool_lock(p->p_wp);
    bool c = workq_len(p->p_q) > 0 || p->p_nfirst > 1;
    wpool_unlock(p->p_wp, 0);
    return c;
}

size_t sched_pool_nkeys(struct sched_pool *p)
{
    wpool_lock(p->p_wp);
    size_t n = workq_nkeys(p->p_q);
    wpool_unlock(p->p_wp, 0);
    return n;
}

void sched_pool_stats(struct sched_pool *p, struct sched_pool_stats *out)
{
    wpool_lock(p->p_wp);
    *out = p->p_st;
    wpool_unlock(p->p_wp, 0);
}

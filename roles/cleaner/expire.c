/* The cleaner's deletions: scheduling from an OMJob's JSON, and at the time to
 * act a DELETE with the UID and resourceVersion of the version the cache judged
 * expired as preconditions, with background propagation (the pods go through the
 * garbage collector); when the object changed since (409), a fresh GET decides
 * again. Then the metrics and the ResourcesCleanedUp Event. Deletions run on the
 * pool's workers (pool.h), several at once within the client's rate limit; the
 * table, the metrics and the retries stay with the loop's thread. The Events
 * wait until no deletion is due: they share the client's rate limit, and when
 * many OMJobs expire together the deletions go first (each Event still names the
 * version deleted and when). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/cleaner/internal.h"
#include "roles/cleaner/pool.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/msg.h"
#include "lib/kube/client.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "model/labels.h"

/* Work done per loop iteration before the loop heartbeats again. */
#define RUN_SLICE_MS 1000
#define KEY_BUF (IPC_KEY_MAX + 1)

void cleaner_update_figures(struct cleaner_ctx *c)
{
    struct ttl_entry *next = ttl_peek(c->cl_tab);
    atomic_store(&c->cl_known, ttl_count(c->cl_tab));
    atomic_store(&c->cl_nsched, ttl_nscheduled(c->cl_tab));
    atomic_store(&c->cl_next_ms, next != NULL ? next->te_at_ms : 0);
    metrics_gauge_set_l(c->cl_scheduled, (double)ttl_nscheduled(c->cl_tab), NULL);
}

/* Splits "ns/name" into two buffers of cap bytes. */
static int split_key(const char *key, char *ns, char *name, size_t cap)
{
    const char *slash = strchr(key, '/');
    if (slash == NULL || (size_t)(slash - key) >= cap || strlen(slash + 1) >= cap)
        return -EINVAL;
    memcpy(ns, key, (size_t)(slash - key));
    ns[slash - key] = '\0';
    memcpy(name, slash + 1, strlen(slash + 1) + 1);
    return 0;
}

/* (Re)schedules e from its OMJob's TTL state (rc: what evaluating it gave) and
 * resourceVersion. */
static void consider_state(struct cleaner_ctx *c, struct ttl_entry *e, int rc,
                           const struct ttl_state *s, const char *rv)
{
    if (rc != 0) {
        if (ttl_scheduled(e) || e->te_revision == 0)
            log_warn("OMJob without a uid or with an invalid ttlSecondsAfterFinished: not "
                     "deleted",
                     "omjob.key", e->te_key, NULL);
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    if (!ttl_due(s)) {
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    /* A failing entry keeps its backoff unless the object itself changed. */
    if (ttl_scheduled(e) && e->te_failures > 0 && e->te_expiry_ms == s->expiry_ms &&
        strcmp(e->te_uid, s->uid) == 0)
        return;
    util_strlcpy(e->te_uid, s->uid, sizeof(e->te_uid));
    ttl_set_rv(e, rv);
    e->te_expiry_ms = s->expiry_ms;
    e->te_ttl_s = s->ttl_s;
    e->te_failures = 0;
    if (ttl_schedule(c->cl_tab, e, s->expiry_ms) != 0)
        log_error("out of memory: OMJob not scheduled for deletion", "omjob.key", e->te_key, NULL);
}

void cleaner_consider(struct cleaner_ctx *c, struct ttl_entry *e, struct json_object *omj)
{
    struct ttl_state s;
    if (omj == NULL) {
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    consider_state(c, e, ttl_eval(omj, &s), &s, jx_str(omj, "metadata.resourceVersion"));
}

void cleaner_consider_hint(struct cleaner_ctx *c, struct ttl_entry *e, const struct ipc_ttl *t)
{
    struct ttl_state s;
    if (!(t->flags & IPC_TTL_PRESENT)) {
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    consider_state(c, e, ttl_eval_hint(t, &s), &s, t->rv);
}

/* What a deletion job found. */
enum del_outcome {
    DEL_DELETED,    /* deleted by us: counted, Event posted */
    DEL_GONE,       /* not there any more, or someone else was first */
    DEL_NOT_DUE,    /* not finished any more, or already being deleted */
    DEL_RESCHEDULE, /* expires later (TTL raised, another incarnation): dj_fresh */
    DEL_CONFLICT,   /* changed again between the fresh GET and the DELETE */
    DEL_FAILED,     /* a request failed: dj_rc, dj_step, dj_detail */
    DEL_BAD_KEY,    /* not "namespace/name" */
};

enum job_kind {
    JOB_DELETE, /* the deletion itself */
    JOB_EVENT,  /* its ResourcesCleanedUp Event, once deleted */
};

/* One deletion, from the loop to a worker and back; after it succeeded, the
 * same job carries its Event. */
struct del_job {
    struct cl_job dj_link; /* first: the pool links jobs through it */
    enum job_kind dj_kind;
    /* The version to delete (from the cache, or the fresh GET). */
    char dj_uid[TTL_UID_MAX];
    char dj_rv[TTL_RV_MAX]; /* "" when unknown: read first */
    int64_t dj_expiry_ms;
    int64_t dj_ttl_s;
    /* The answer. */
    enum del_outcome dj_out;
    int dj_rc;
    const char *dj_step;
    char dj_detail[160];
    int64_t dj_done_ms;
    char dj_key[]; /* "namespace/name" */
};

static void retry_later(struct cleaner_ctx *c, struct ttl_entry *e, const char *what, int rc,
                        const char *detail)
{
    char ms[24];
    int64_t wait = ttl_backoff_ms(++e->te_failures);
    snprintf(ms, sizeof(ms), "%lld", (long long)wait);
    log_warn("TTL deletion failed; retrying", "omjob.key", e->te_key, "step", what, "error",
             strerror(-rc), "detail", detail[0] ? detail : NULL, "retryMs", ms, NULL);
    if (ttl_schedule(c->cl_tab, e, util_wall_ms() + wait) != 0)
        ttl_unschedule(c->cl_tab, e);
}

static double late_s(const struct del_job *d)
{
    return d->dj_done_ms > d->dj_expiry_ms ? (double)(d->dj_done_ms - d->dj_expiry_ms) / 1000.0
                                           : 0.0;
}

/* On a worker: the ResourcesCleanedUp Event of a deletion done. */
static void post_event(struct cleaner_ctx *c, const struct del_job *d, const char *ns,
                       const char *name)
{
    char msg[160];
    struct ev_object o = {.api_version = OMJOB_GROUP_VERSION,
                          .kind = OMJOB_KIND,
                          .ns = ns,
                          .name = name,
                          .uid = d->dj_uid,
                          .resource_version = d->dj_rv[0] ? d->dj_rv : NULL};
    ttl_message(msg, sizeof(msg), d->dj_expiry_ms - d->dj_ttl_s * 1000, d->dj_done_ms, d->dj_ttl_s);
    ev_emit(c->cl_ev, &o, EV_NORMAL, "ResourcesCleanedUp", msg);
}

/* On a worker: the log line of a deletion. */
static void deleted(const struct del_job *d, const char *ns, const char *name)
{
    char ttl[24], delay[24], completion[UTIL_RFC3339_MAX];
    int64_t completion_ms = d->dj_expiry_ms - d->dj_ttl_s * 1000;
    double late = late_s(d);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)d->dj_ttl_s);
    snprintf(delay, sizeof(delay), "%.3f", late);
    if (util_rfc3339_format(completion_ms * 1000000, 0, completion, sizeof(completion)) != 0)
        completion[0] = '\0';
    log_info("OMJob deleted after its TTL", "omjob.namespace", ns, "omjob.name", name, "omjob.uid",
             d->dj_uid, "ttlSecondsAfterFinished", ttl, "completionTime",
             completion[0] ? completion : NULL, "lateSeconds", delay, NULL);
}

static void failed(struct del_job *d, const char *step, int rc, const struct kube_err *err)
{
    d->dj_out = DEL_FAILED;
    d->dj_step = step;
    d->dj_rc = rc;
    util_strlcpy(d->dj_detail, err->message, sizeof(d->dj_detail));
}

/* On a worker: DELETE of the version in d. -ESTALE when it is not the current one
 * any more (d->dj_out unset), else 0 with d->dj_out set. */
static int try_delete(struct cleaner_ctx *c, struct del_job *d, const char *ns, const char *name)
{
    struct kube_ref r = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = ns, .name = name};
    struct kube_delete_opts o = {.uid = d->dj_uid,
                                 .resource_version = d->dj_rv[0] ? d->dj_rv : NULL,
                                 .propagation = "Background",
                                 .grace_seconds = -1};
    struct kube_err err;
    int rc = kube_delete(c->cl_kc, &r, &o, NULL, &err);
    if (rc == 0 || (rc == -ENOENT && err.attempts > 1)) { /* 404 after a retry: ours */
        d->dj_out = DEL_DELETED;
        d->dj_done_ms = util_wall_ms();
        deleted(d, ns, name);
    } else if (rc == -ENOENT) { /* someone else was first */
        d->dj_out = DEL_GONE;
    } else if (rc == -ESTALE) {
        return -ESTALE;
    } else {
        failed(d, "delete", rc, &err);
    }
    return 0;
}

/* On a worker: decides on the object as the API server has it now. */
static void read_and_delete(struct cleaner_ctx *c, struct del_job *d, const char *ns,
                            const char *name)
{
    struct kube_ref r = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = ns, .name = name};
    struct json_object *fresh = NULL;
    struct ttl_state s;
    struct kube_err err;
    int rc = kube_get(c->cl_kc, &r, &fresh, &err);
    if (rc == -ENOENT) {
        d->dj_out = DEL_GONE;
    } else if (rc != 0) {
        failed(d, "get", rc, &err);
    } else if (ttl_eval(fresh, &s) != 0 || !ttl_due(&s)) {
        d->dj_out = DEL_NOT_DUE;
    } else {
        const char *rv = jx_str(fresh, "metadata.resourceVersion");
        util_strlcpy(d->dj_uid, s.uid, sizeof(d->dj_uid));
        if (rv == NULL || strlen(rv) >= sizeof(d->dj_rv))
            rv = "";
        util_strlcpy(d->dj_rv, rv, sizeof(d->dj_rv));
        d->dj_expiry_ms = s.expiry_ms;
        d->dj_ttl_s = s.ttl_s;
        if (s.expiry_ms > util_wall_ms())
            d->dj_out = DEL_RESCHEDULE; /* TTL raised, or another incarnation */
        else if (try_delete(c, d, ns, name) == -ESTALE)
            d->dj_out = DEL_CONFLICT;
    }
    json_object_put(fresh);
}

/* The pool's function: one deletion, on a worker. */
static void run_job(void *arg, struct cl_job *job)
{
    struct cleaner_ctx *c = arg;
    struct del_job *d = (struct del_job *)job;
    char ns[KEY_BUF], name[KEY_BUF];
    if (split_key(d->dj_key, ns, name, sizeof(ns)) != 0) {
        d->dj_out = DEL_BAD_KEY;
        return;
    }
    if (d->dj_kind == JOB_EVENT) {
        post_event(c, d, ns, name);
        return;
    }
    /* The version the cache judged expired: deleted only if it is still current,
     * which needs no GET; else read what is current and decide again. */
    if (d->dj_rv[0] != '\0' && try_delete(c, d, ns, name) != -ESTALE)
        return;
    read_and_delete(c, d, ns, name);
}

/* The Events of deletions done, waiting for the workers (FIFO). */
static void push_event(struct cleaner_ctx *c, struct del_job *d)
{
    d->dj_link.j_next = NULL;
    if (c->cl_ev_tail != NULL)
        c->cl_ev_tail->j_next = &d->dj_link;
    else
        c->cl_ev_head = &d->dj_link;
    c->cl_ev_tail = &d->dj_link;
}

static struct cl_job *pop_event(struct cleaner_ctx *c)
{
    struct cl_job *j = c->cl_ev_head;
    if (j != NULL && (c->cl_ev_head = j->j_next) == NULL)
        c->cl_ev_tail = NULL;
    return j;
}

int cleaner_pool_start(struct cleaner_ctx *c, unsigned nworkers)
{
    c->cl_nworkers = nworkers;
    return cl_pool_new(nworkers, run_job, c, &c->cl_pool);
}

/* On the loop's thread: the table and the metrics after a deletion job. Returns
 * true when the job is to be kept (it then carries the Event). */
static bool reap(struct cleaner_ctx *c, struct del_job *d)
{
    bool keep = false;
    if (d->dj_kind == JOB_EVENT)
        return false;
    struct ttl_entry *e = ttl_find(c->cl_tab, d->dj_key);
    if (d->dj_out == DEL_DELETED) {
        metrics_counter_add_l(c->cl_deletions, 1.0, NULL);
        metrics_observe_l(c->cl_delay, late_s(d), NULL);
        atomic_fetch_add(&c->cl_deleted, 1);
        d->dj_kind = JOB_EVENT;
        push_event(c, d);
        keep = true;
    }
    if (e == NULL) /* forgotten meanwhile (gone from the watcher's list) */
        return keep;
    bool dirty = e->te_dirty;
    e->te_inflight = false;
    e->te_dirty = false;
    switch (d->dj_out) {
    case DEL_DELETED:
    case DEL_GONE:
        ttl_unschedule(c->cl_tab, e);
        return keep;
    case DEL_BAD_KEY:
        ttl_forget(c->cl_tab, e);
        return keep;
    case DEL_NOT_DUE:
        ttl_unschedule(c->cl_tab, e);
        break;
    case DEL_RESCHEDULE:
        util_strlcpy(e->te_uid, d->dj_uid, sizeof(e->te_uid));
        ttl_set_rv(e, d->dj_rv);
        e->te_expiry_ms = d->dj_expiry_ms;
        e->te_ttl_s = d->dj_ttl_s;
        e->te_failures = 0;
        if (ttl_schedule(c->cl_tab, e, d->dj_expiry_ms) != 0)
            ttl_unschedule(c->cl_tab, e);
        return keep;
    case DEL_CONFLICT:
        /* Another change between the GET and the DELETE: read again at once, but
         * only once in a row. */
        ttl_set_rv(e, d->dj_rv);
        if (e->te_failures == 0) {
            e->te_failures++;
            if (ttl_schedule(c->cl_tab, e, util_wall_ms()) != 0)
                ttl_unschedule(c->cl_tab, e);
        } else {
            retry_later(c, e, "delete", -ESTALE, "changed again since it was read");
        }
        return keep;
    case DEL_FAILED:
        retry_later(c, e, d->dj_step, d->dj_rc, d->dj_detail);
        return keep;
    }
    /* A hint came while the job ran: its news may be newer than the job's. */
    if (dirty && !ttl_scheduled(e) && ttl_schedule(c->cl_tab, e, util_wall_ms()) != 0)
        ttl_unschedule(c->cl_tab, e);
    return keep;
}

/* Takes back every finished job. */
static void reap_all(struct cleaner_ctx *c)
{
    struct cl_job *j;
    while ((j = cl_pool_take(c->cl_pool)) != NULL)
        if (!reap(c, (struct del_job *)j))
            free(j);
}

static void drop_job(struct cl_job *j)
{
    free(j);
}

void cleaner_pool_stop(struct cleaner_ctx *c)
{
    struct cl_job *j;
    cl_pool_free(c->cl_pool, drop_job);
    c->cl_pool = NULL;
    while ((j = pop_event(c)) != NULL)
        drop_job(j);
}

int cleaner_pool_fd(const struct cleaner_ctx *c)
{
    return c->cl_pool != NULL ? cl_pool_fd(c->cl_pool) : -1;
}

/* Deletions in flight at most. */
static size_t inflight_cap(const struct cleaner_ctx *c)
{
    return c->cl_nworkers > 0 ? c->cl_nworkers : 1;
}

bool cleaner_saturated(const struct cleaner_ctx *c)
{
    return c->cl_pool != NULL && cl_pool_pending(c->cl_pool) >= inflight_cap(c);
}

/* Hands the entry to a worker. */
static void submit(struct cleaner_ctx *c, struct ttl_entry *e)
{
    size_t klen = strlen(e->te_key) + 1;
    struct del_job *d = calloc(1, sizeof(*d) + klen);
    ttl_unschedule(c->cl_tab, e);
    if (d == NULL) {
        log_error("out of memory: TTL deletion postponed", "omjob.key", e->te_key, NULL);
        e->te_failures++;
        if (ttl_schedule(c->cl_tab, e, util_wall_ms() + ttl_backoff_ms(e->te_failures)) != 0)
            ttl_unschedule(c->cl_tab, e);
        return;
    }
    memcpy(d->dj_key, e->te_key, klen);
    util_strlcpy(d->dj_uid, e->te_uid, sizeof(d->dj_uid));
    util_strlcpy(d->dj_rv, e->te_rv, sizeof(d->dj_rv));
    d->dj_expiry_ms = e->te_expiry_ms;
    d->dj_ttl_s = e->te_ttl_s;
    e->te_inflight = true;
    cl_pool_submit(c->cl_pool, &d->dj_link);
}

void cleaner_run_due(struct cleaner_ctx *c)
{
    int64_t start = util_mono_ms();
    struct ttl_entry *e;
    for (;;) {
        reap_all(c);
        if (cleaner_saturated(c) || util_mono_ms() - start >= RUN_SLICE_MS)
            break;
        if ((e = ttl_peek(c->cl_tab)) == NULL || e->te_at_ms > util_wall_ms()) {
            /* No deletion due: the Events of those done. */
            struct cl_job *j = pop_event(c);
            if (j == NULL)
                break;
            cl_pool_submit(c->cl_pool, j);
            continue;
        }
        if (e->te_inflight) { /* rescheduled by a hint while its job runs */
            ttl_unschedule(c->cl_tab, e);
            e->te_dirty = true;
            continue;
        }
        submit(c, e);
    }
    cleaner_update_figures(c);
}

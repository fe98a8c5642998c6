/* The cleaner's deletions: scheduling from an OMJob's JSON, and at the time to
 * act a fresh GET from the API server, then a DELETE with the UID precondition
 * and background propagation (the pods go through the garbage collector), the
 * ResourcesCleanedUp Event and the metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/cleaner/internal.h"
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

void cleaner_consider(struct cleaner_ctx *c, struct ttl_entry *e, struct json_object *omj)
{
    struct ttl_state s;
    if (omj == NULL) {
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    if (ttl_eval(omj, &s) != 0) {
        if (ttl_scheduled(e) || e->te_revision == 0)
            log_warn("OMJob without a uid or with an invalid ttlSecondsAfterFinished: not "
                     "deleted",
                     "omjob.key", e->te_key, NULL);
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    if (!ttl_due(&s)) {
        ttl_unschedule(c->cl_tab, e);
        return;
    }
    /* A failing entry keeps its backoff unless the object itself changed. */
    if (ttl_scheduled(e) && e->te_failures > 0 && e->te_expiry_ms == s.expiry_ms &&
        strcmp(e->te_uid, s.uid) == 0)
        return;
    util_strlcpy(e->te_uid, s.uid, sizeof(e->te_uid));
    e->te_expiry_ms = s.expiry_ms;
    e->te_failures = 0;
    if (ttl_schedule(c->cl_tab, e, s.expiry_ms) != 0)
        log_error("out of memory: OMJob not scheduled for deletion", "omjob.key", e->te_key, NULL);
}

static void retry_later(struct cleaner_ctx *c, struct ttl_entry *e, const char *what, int rc,
                        const struct kube_err *err)
{
    char ms[24];
    int64_t wait = ttl_backoff_ms(++e->te_failures);
    snprintf(ms, sizeof(ms), "%lld", (long long)wait);
    log_warn("TTL deletion failed; retrying", "omjob.key", e->te_key, "step", what, "error",
             strerror(-rc), "detail", err->message[0] ? err->message : NULL, "retryMs", ms, NULL);
    if (ttl_schedule(c->cl_tab, e, util_wall_ms() + wait) != 0)
        ttl_unschedule(c->cl_tab, e);
}

static void deleted(struct cleaner_ctx *c, const char *ns, const char *name,
                    const struct ttl_state *s, const char *rv, int64_t now)
{
    char msg[160], ttl[24], delay[24];
    double late = now > s->expiry_ms ? (double)(now - s->expiry_ms) / 1000.0 : 0.0;
    struct ev_object o = {.api_version = OMJOB_GROUP_VERSION,
                          .kind = OMJOB_KIND,
                          .ns = ns,
                          .name = name,
                          .uid = s->uid,
                          .resource_version = rv};
    metrics_counter_add_l(c->cl_deletions, 1.0, NULL);
    metrics_observe_l(c->cl_delay, late, NULL);
    atomic_fetch_add(&c->cl_deleted, 1);
    ttl_message(msg, sizeof(msg), s->completion_ms, now, s->ttl_s);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)s->ttl_s);
    snprintf(delay, sizeof(delay), "%.3f", late);
    log_info("OMJob deleted after its TTL", "omjob.namespace", ns, "omjob.name", name, "omjob.uid",
             s->uid, "ttlSecondsAfterFinished", ttl, "completionTime", s->completion, "lateSeconds",
             delay, NULL);
    ev_emit(c->cl_ev, &o, EV_NORMAL, "ResourcesCleanedUp", msg);
}

/* DELETE of the incarnation just read. */
static void delete_now(struct cleaner_ctx *c, struct ttl_entry *e, const char *ns, const char *name,
                       const struct ttl_state *s, const char *rv)
{
    struct kube_ref r = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = ns, .name = name};
    struct kube_delete_opts o = {.uid = s->uid, .propagation = "Background", .grace_seconds = -1};
    struct kube_err err;
    int rc = kube_delete(c->cl_kc, &r, &o, NULL, &err);
    if (rc == 0 || (rc == -ENOENT && err.attempts > 1)) { /* 404 after a retry: ours */
        ttl_unschedule(c->cl_tab, e);
        deleted(c, ns, name, s, rv, util_wall_ms());
    } else if (rc == -ENOENT) { /* someone else was first */
        ttl_unschedule(c->cl_tab, e);
    } else if (rc == -ESTALE && e->te_failures == 0) {
        /* Another incarnation since the GET: read again at once. */
        e->te_failures++;
        ttl_schedule(c->cl_tab, e, util_wall_ms());
    } else {
        retry_later(c, e, "delete", rc, &err);
    }
}

/* The time of e has come: decide on the object as the API server has it now. */
static void act(struct cleaner_ctx *c, struct ttl_entry *e)
{
    char ns[KEY_BUF], name[KEY_BUF];
    struct kube_ref r = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = ns, .name = name};
    struct json_object *fresh = NULL;
    struct ttl_state s;
    struct kube_err err;
    if (split_key(e->te_key, ns, name, sizeof(ns)) != 0) {
        ttl_forget(c->cl_tab, e);
        return;
    }
    int rc = kube_get(c->cl_kc, &r, &fresh, &err);
    if (rc == -ENOENT) {
        ttl_unschedule(c->cl_tab, e);
    } else if (rc != 0) {
        retry_later(c, e, "get", rc, &err);
    } else if (ttl_eval(fresh, &s) != 0 || !ttl_due(&s)) {
        ttl_unschedule(c->cl_tab, e); /* not finished any more, or already going */
    } else if (s.expiry_ms > util_wall_ms()) {
        /* TTL raised, or another incarnation: its own time. */
        util_strlcpy(e->te_uid, s.uid, sizeof(e->te_uid));
        e->te_expiry_ms = s.expiry_ms;
        e->te_failures = 0;
        ttl_schedule(c->cl_tab, e, s.expiry_ms);
    } else {
        delete_now(c, e, ns, name, &s, jx_str(fresh, "metadata.resourceVersion"));
    }
    json_object_put(fresh);
}

void cleaner_run_due(struct cleaner_ctx *c)
{
    int64_t start = util_mono_ms();
    struct ttl_entry *e;
    while ((e = ttl_peek(c->cl_tab)) != NULL && e->te_at_ms <= util_wall_ms()) {
        act(c, e);
        if (util_mono_ms() - start >= RUN_SLICE_MS)
            break;
    }
    cleaner_update_figures(c);
}

/* The scheduler's passes: for one CronOMJob key, read it from the watcher (its
 * OMJobs included), then decide -> execute -> put the API server's reply into the
 * view -> decide again, until decide has nothing to write (at most MAX_STEPS
 * writes), and set the key's timer to the time decide asks to look again.
 *
 * What a step writes (roles/scheduler/decide.h): POST a run's OMJob, DELETE an
 * OMJob (uid precondition, background propagation), or a merge patch of the
 * CronOMJob's status. Every write is safe from a stale view: a run's name is
 * deterministic (a second create is 409 AlreadyExists: that run exists), a
 * delete names its uid, and decide writes status only when it changes. The
 * Events of a step are posted after it succeeds; those the API server refuses
 * for a while (an outage, or 403 from an authorizer not yet synced) are retried
 * every 2 s for a minute, as the reconciler's.
 *
 * Passes run on the pool's workers (pool.h), several at once, never two of one
 * key. A first pass writes only a due run's OMJob: anything else decide asks
 * for (the status, a deletion) stops it there, its view kept, and it resumes
 * once every queued key has had its first pass, the runs' Events after every
 * resume: at a busy second, creates take the rate limit's tokens first. A key's
 * next first pass (a hint, its next scheduled time) takes the kept view over:
 * a fresh read from the watcher, plus the runs the kept view created that the
 * cache does not show yet. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "roles/scheduler/internal.h"
#include "roles/scheduler/pool.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/workq/workq.h"
#include "model/labels.h"
#include "model/objects.h"
#include "runtime/ctl.h"
#include "runtime/kclient.h"

#define MAX_STEPS 8
#define BATCH 64           /* keys per loop turn before polling again */
#define CONFLICT_MS 50     /* status 409: decide again this soon */
#define NOT_SYNCED_MS 500  /* the watcher cannot answer yet */
#define EXISTS_MS 1000     /* our run exists but the cache does not show it yet */
#define ERROR_FIRST_MS 200 /* API errors: backoff from ... */
#define ERROR_MAX_MS 30000 /* ... doubling to */
#define TIMER_SLACK_MS 5   /* wake just after a scheduled second, not just before */
#define VIEW_CREATED 2     /* runs created remembered by a deferred view */

enum step {
    STEP_CONTINUE, /* the view is up to date: decide again */
    STEP_DEFER,    /* a first pass: what is not a create waits (pool.h) */
    STEP_WAIT,     /* done for now: a hint (or the timer set) brings the key back */
    STEP_ERROR,    /* failed: backoff */
};

/* ---- keys ---- */

void sched_mark(struct sched *s, const char *key)
{
    if (sched_pool_key(s->s_pool, key, true, true) == NULL)
        log_error("out of memory queueing a key", "key", key, NULL);
}

/* A pass of wk at at_mono (the earlier of this and one already set). */
static void schedule(struct sched *s, struct workq_key *wk, int64_t at_mono)
{
    sched_pool_add_at(s->s_pool, wk, at_mono);
}

static void set_counted(struct sched *s, struct sched_key *k, bool on)
{
    if (k->sk_counted == on)
        return;
    k->sk_counted = on;
    if (on)
        atomic_fetch_add(&s->s_nscheduled, 1);
    else
        atomic_fetch_sub(&s->s_nscheduled, 1);
    metrics_gauge_add(s->s_scheduled, on ? 1.0 : -1.0);
}

/* The CronOMJob is gone: forget its state (the work queue keeps the key itself
 * while stale timer entries point at it). The pool's forget, locked. */
void sched_forget(void *arg, struct workq *q, struct workq_key *wk)
{
    struct sched *s = arg;
    struct sched_key *k = workq_key_data(wk);
    set_counted(s, k, false);
    free(k->sk_name_taken);
    k->sk_name_taken = NULL;
    k->sk_fails = 0;
    if (workq_release(q, wk) == 1)
        memset(k, 0, sizeof(*k));
}

static int64_t backoff_ms(int n)
{
    int64_t d = ERROR_FIRST_MS;
    for (int i = 1; i < n && d < ERROR_MAX_MS; i++)
        d *= 2;
    return d < ERROR_MAX_MS ? d : ERROR_MAX_MS;
}

int sched_uuid4(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* ---- the view of one key: the GET_KEY reply, updated by each write ---- */

struct view {
    struct workq_key *wk;
    struct sched_key *k;      /* wk's payload */
    struct json_object *root; /* {"cronomjob":{...},"omjobs":[...],...} */
    char ns[64], name[254], uid[64];
    char run_id[37];
    int64_t t0;                          /* monotonic ms: the pass began */
    int64_t wall0;                       /* wall-clock ms: the pass began */
    int64_t fetch_ms;                    /* the GET_KEY took */
    int steps;                           /* writes made so far */
    bool first;                          /* a first pass: writes only creates */
    struct sc_event pend[SC_MAX_EVENTS]; /* a deferred create's Events */
    int npend;
    /* The runs this view's passes created (the latest VIEW_CREATED): a first pass
     * that takes the view over keeps them in its own view until the cache shows
     * them. */
    char created[VIEW_CREATED][SC_NAME_MAX];
    int ncreated;
};

static struct json_object *view_cron(struct view *v)
{
    struct json_object *o = jx_get(v->root, "cronomjob");
    return o != NULL && json_object_is_type(o, json_type_object) ? o : NULL;
}

static struct json_object *view_children(struct view *v)
{
    struct json_object *a = jx_arr(v->root, "omjobs");
    if (a == NULL) {
        a = json_object_new_array();
        json_object_object_add(v->root, "omjobs", a);
    }
    return a;
}

/* Puts the OMJob `full` (an API server reply) into the view's children in the
 * watcher's form (model/objects.c), replacing the entry of the same name; with
 * full NULL removes the entry named name. */
static void view_put_child(struct view *v, const char *name, struct json_object *full)
{
    struct json_object *kids = view_children(v), *entry = NULL;
    if (full != NULL) {
        struct wc_obj *o = NULL;
        struct sbuf sb;
        if (wc_obj_parse(full, &o) != 0)
            return;
        sbuf_init(&sb);
        wc_obj_render_child(&sb, o);
        free(o);
        if (sbuf_str(&sb) != NULL)
            jx_parse(sbuf_str(&sb), sbuf_len(&sb), &entry, NULL, 0);
        sbuf_free(&sb);
        if (entry == NULL)
            return;
    }
    for (size_t i = 0; i < json_object_array_length(kids); i++) {
        if (strcmp(jx_str_or(json_object_array_get_idx(kids, i), "name", ""), name) == 0) {
            if (entry != NULL)
                json_object_array_put_idx(kids, i, entry);
            else
                json_object_array_del_idx(kids, i, 1);
            return;
        }
    }
    if (entry != NULL)
        json_object_array_add(kids, entry);
}

static int64_t ms_at(struct json_object *o, const char *path)
{
    const char *t = jx_str(o, path);
    int64_t ns;
    return t != NULL && util_rfc3339_parse(t, &ns) == 0 ? ns / 1000000 : 0;
}

/* The view's children as decide reads them (strings borrowed from the view).
 * *out is malloc'd (free it); NULL with 0 children. -ENOMEM. */
static int children(struct view *v, struct sc_child **out, size_t *n)
{
    struct json_object *kids = view_children(v);
    size_t len = json_object_array_length(kids);
    struct sc_child *c = len > 0 ? calloc(len, sizeof(*c)) : NULL;
    if (len > 0 && c == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(kids, i);
        c[i] = (struct sc_child){.name = jx_str_or(e, "name", ""),
                                 .uid = jx_str_or(e, "uid", ""),
                                 .owner_uid = jx_str_or(e, "ownerUid", ""),
                                 .phase = jx_str(e, "phase"),
                                 .created_ms = ms_at(e, "creationTimestamp"),
                                 .completed_ms = ms_at(e, "completionTime"),
                                 .scheduled_ms = ms_at(e, "scheduledAt"),
                                 .deleting = jx_bool_or(e, "deleting", false)};
    }
    *out = c;
    *n = len;
    return 0;
}

/* ---- Events ---- */

static int post(struct sched *s, const struct sched_ev *e)
{
    struct ev_object o = {.api_version = OMJOB_GROUP_VERSION,
                          .kind = CRONOMJOB_KIND,
                          .ns = e->ns,
                          .name = e->name,
                          .uid = e->uid};
    /* One that the API server does not take for a while is kept and posted
     * later by the recorder (runtime/events.h, the reconcilers' path), for as
     * long as the CronOMJob exists (sched_ev_exists), tried by the loop. */
    return ev_emit_keep(s->s_ev, &o, e->type, e->reason, e->message);
}

/* The skipped-run reasons of omjob_cron_skipped_total, from the Event reasons. */
static const char *skip_reason(const char *ev_reason)
{
    if (strcmp(ev_reason, "JobAlreadyActive") == 0)
        return "Forbid";
    if (strcmp(ev_reason, "MissSchedule") == 0)
        return "missed";
    if (strcmp(ev_reason, "InvalidSchedule") == 0 || strcmp(ev_reason, "UnknownTimeZone") == 0)
        return "invalid";
    return NULL;
}

static void emit(struct sched *s, struct view *v, enum ev_type type, const char *reason,
                 const char *message)
{
    struct sched_ev e = {.type = type, .reason = reason};
    snprintf(e.ns, sizeof(e.ns), "%s", v->ns);
    snprintf(e.name, sizeof(e.name), "%s", v->name);
    snprintf(e.uid, sizeof(e.uid), "%s", v->uid);
    snprintf(e.message, sizeof(e.message), "%s", message);
    const char *skip = skip_reason(reason);
    if (skip != NULL)
        metrics_counter_add(s->s_skipped, 1.0, skip);
    post(s, &e);
}

/* The Events of a step that succeeded. */
static void emit_action(struct sched *s, struct view *v, const struct sc_action *a)
{
    for (int i = 0; i < a->nev && i < SC_MAX_EVENTS; i++)
        emit(s, v, a->ev[i].type == SC_EV_WARNING ? EV_WARNING : EV_NORMAL, a->ev[i].reason,
             a->ev[i].message);
}

/* A run's Event, for the workers' idle time (pool.h: after every due create and
 * every status write); it holds no key. */
static void emit_later(struct sched *s, struct view *v, const struct sc_event *ev)
{
    struct sched_evq *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        log_warn("Event dropped: out of memory", "reason", ev->reason, NULL);
        return;
    }
    struct sched_ev *e = &n->q_ev;
    e->type = ev->type == SC_EV_WARNING ? EV_WARNING : EV_NORMAL;
    e->reason = ev->reason;
    snprintf(e->ns, sizeof(e->ns), "%s", v->ns);
    snprintf(e->name, sizeof(e->name), "%s", v->name);
    snprintf(e->uid, sizeof(e->uid), "%s", v->uid);
    snprintf(e->message, sizeof(e->message), "%s", ev->message);
    pthread_mutex_lock(&s->s_evq_mu);
    bool full = s->s_nevq >= SCHED_EVQ_MAX;
    if (!full) {
        if (s->s_evq_tail != NULL)
            s->s_evq_tail->q_next = n;
        else
            s->s_evq_head = n;
        s->s_evq_tail = n;
        s->s_nevq++;
    }
    pthread_mutex_unlock(&s->s_evq_mu);
    if (full) {
        log_warn("Event dropped: too many waiting for the workers", "reason", e->reason,
                 "cronomjob.namespace", e->ns, "cronomjob.name", e->name, NULL);
        free(n);
        return;
    }
    sched_pool_kick(s->s_pool);
}

bool sched_idle(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->s_evq_mu);
    struct sched_evq *n = s->s_evq_head;
    if (n != NULL) {
        s->s_evq_head = n->q_next;
        if (s->s_evq_head == NULL)
            s->s_evq_tail = NULL;
        s->s_nevq--;
    }
    pthread_mutex_unlock(&s->s_evq_mu);
    if (n == NULL)
        return false;
    post(s, &n->q_ev);
    free(n);
    return true;
}

void sched_evq_free(struct sched *s)
{
    for (struct sched_evq *n = s->s_evq_head, *nx; n != NULL; n = nx) {
        nx = n->q_next;
        free(n);
    }
    s->s_evq_head = s->s_evq_tail = NULL;
    s->s_nevq = 0;
}

int sched_ev_exists(void *ctx, const struct ev_object *o)
{
    struct sched *s = ctx;
    char key[512];
    struct json_object *root = NULL;
    snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
    int rc = sched_fetch(s, key, &root);
    if (rc != 0)
        return rc;
    struct json_object *cron = jx_get(root, "cronomjob");
    int ex = cron != NULL && json_object_is_type(cron, json_type_object) &&
             strcmp(jx_str_or(cron, "metadata.uid", ""), o->uid) == 0;
    json_object_put(root);
    return ex;
}

/* ---- executing one action ---- */

static void log_write_error(const struct view *v, const char *what, const char *omjob,
                            const struct kube_err *e)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", e->http);
    log_warn("write failed", "cronomjob.namespace", v->ns, "cronomjob.name", v->name,
             "cronomjob.uid", v->uid, "action", what, "omjob.name", omjob, "http", code, "reason",
             e->reason, "error", e->message, NULL);
}

/* True when the OMJob obj's controller is this CronOMJob (by uid). */
static bool controlled_by(struct json_object *obj, const char *uid)
{
    struct json_object *refs = jx_arr(obj, "metadata.ownerReferences");
    size_t n = refs != NULL ? json_object_array_length(refs) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(refs, i);
        if (jx_bool_or(r, "controller", false))
            return strcmp(jx_str_or(r, "kind", ""), CRONOMJOB_KIND) == 0 &&
                   strcmp(jx_str_or(r, "uid", ""), uid) == 0;
    }
    return false;
}

/* A create answered 409 AlreadyExists: the run exists (ours: the cache will show
 * it), or the name is another's (decide skips that run). */
static enum step create_exists(struct sched *s, struct sched_key *k, struct view *v,
                               const struct sc_action *a)
{
    struct kube_ref ref = {
        .gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = v->ns, .name = a->name};
    struct json_object *got = NULL;
    struct kube_err e;
    int rc = kube_get(s->s_kc, &ref, &got, &e);
    if (rc == -ENOENT) { /* deleted in between */
        schedule(s, v->wk, util_mono_ms() + CONFLICT_MS);
        return STEP_WAIT;
    }
    if (rc != 0) {
        log_write_error(v, "get", a->name, &e);
        return STEP_ERROR;
    }
    bool ours = controlled_by(got, v->uid);
    if (ours) {
        log_info("run exists already; waiting for the cache", "cronomjob.namespace", v->ns,
                 "cronomjob.name", v->name, "omjob.name", a->name, NULL);
        view_put_child(v, a->name, got);
        json_object_put(got);
        schedule(s, v->wk, util_mono_ms() + EXISTS_MS);
        return STEP_CONTINUE;
    }
    json_object_put(got);
    log_warn("a run's name is taken by an OMJob this CronOMJob does not control",
             "cronomjob.namespace", v->ns, "cronomjob.name", v->name, "cronomjob.uid", v->uid,
             "omjob.name", a->name, NULL);
    free(k->sk_name_taken);
    k->sk_name_taken = strdup(a->name);
    return k->sk_name_taken != NULL ? STEP_CONTINUE : STEP_ERROR;
}

static enum step exec_create(struct sched *s, struct sched_key *k, struct view *v,
                             const struct sc_action *a)
{
    struct kube_ref ref = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = v->ns};
    struct json_object *out = NULL;
    struct kube_err e;
    if (k->sk_name_taken != NULL && strcmp(k->sk_name_taken, a->name) == 0) {
        log_error("decide asks again for a run whose name is taken; waiting", "cronomjob.namespace",
                  v->ns, "cronomjob.name", v->name, "omjob.name", a->name, NULL);
        return STEP_ERROR;
    }
    int64_t c0 = util_mono_ms();
    int rc = kclient_create_owned(s->s_kc, &ref, a->body, &out, &e);
    if (rc == 0) {
        int64_t now = util_wall_ms();
        double late = (double)(now - a->scheduled_ms) / 1000.0;
        metrics_counter_add(s->s_created, 1.0);
        metrics_observe(s->s_lateness, late < 0 ? 0 : late);
        atomic_fetch_add(&s->s_runs, 1);
        /* Where the lateness went: the pass began (after the scheduled time), the
         * watcher's reply, the create's round trip (its rate limit wait included). */
        char lt[32], began[24], fetch[24], took[24];
        snprintf(lt, sizeof(lt), "%.3f", late);
        snprintf(began, sizeof(began), "%lld", (long long)(v->wall0 - a->scheduled_ms));
        snprintf(fetch, sizeof(fetch), "%lld", (long long)v->fetch_ms);
        snprintf(took, sizeof(took), "%lld", (long long)(util_mono_ms() - c0));
        log_info("run created", "cronomjob.namespace", v->ns, "cronomjob.name", v->name,
                 "cronomjob.uid", v->uid, "omjob.name", a->name, "omjob.uid",
                 jx_str(out, "metadata.uid"), "run_id",
                 jx_str(out, "metadata.labels.app\\.kubernetes\\.io/run-id"), "lateness_s", lt,
                 "pass_began_ms", began, "fetch_ms", fetch, "create_ms", took, NULL);
        view_put_child(v, a->name, out);
        json_object_put(out);
        if (v->ncreated == VIEW_CREATED) {
            memmove(v->created[0], v->created[1], sizeof(v->created[0]) * (VIEW_CREATED - 1));
            v->ncreated--;
        }
        snprintf(v->created[v->ncreated++], sizeof(v->created[0]), "%s", a->name);
        if (v->first) { /* its Events after every due run's create (pool.h) */
            v->npend = a->nev < SC_MAX_EVENTS ? a->nev : SC_MAX_EVENTS;
            memcpy(v->pend, a->ev, sizeof(v->pend[0]) * (size_t)v->npend);
            return STEP_DEFER;
        }
        emit_action(s, v, a);
        return STEP_CONTINUE;
    }
    if (rc == -EEXIST)
        return create_exists(s, k, v, a);
    log_write_error(v, "create", a->name, &e);
    if (rc == -EPERM || rc == -EINVAL) { /* quota, admission, invalid: said, then backoff */
        char m[1024];                    /* cut to SC_MSG_MAX by emit */
        snprintf(m, sizeof(m), "creating OMJob %s was rejected (HTTP %d %s): %s; retrying", a->name,
                 e.http, e.reason, e.message);
        emit(s, v, EV_WARNING, "FailedCreate", m);
    }
    return STEP_ERROR;
}

static enum step exec_delete(struct sched *s, struct view *v, const struct sc_action *a)
{
    struct kube_ref ref = {
        .gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = v->ns, .name = a->name};
    struct kube_delete_opts o = {
        .uid = a->uid[0] ? a->uid : NULL, .propagation = "Background", .grace_seconds = -1};
    struct json_object *out = NULL;
    struct kube_err e;
    int rc = kube_delete(s->s_kc, &ref, &o, &out, &e);
    if (rc == 0 || rc == -ENOENT || rc == -ESTALE) { /* -ESTALE: another incarnation */
        log_info("OMJob deleted", "cronomjob.namespace", v->ns, "cronomjob.name", v->name,
                 "cronomjob.uid", v->uid, "omjob.name", a->name, "omjob.uid", a->uid, NULL);
        if (rc == 0)
            emit_action(s, v, a);
        /* Held by a finalizer, the reply is the OMJob being deleted. */
        if (rc == 0 && out != NULL && jx_str(out, "metadata.deletionTimestamp") != NULL &&
            strcmp(jx_str_or(out, "kind", ""), OMJOB_KIND) == 0)
            view_put_child(v, a->name, out);
        else
            view_put_child(v, a->name, NULL);
        json_object_put(out);
        return STEP_CONTINUE;
    }
    log_write_error(v, "delete", a->name, &e);
    return STEP_ERROR;
}

/* The hash of a CronOMJob's metadata.resourceVersion (never 0). */
static uint64_t rv_hash(struct json_object *cron)
{
    const char *rv = jx_str_or(cron, "metadata.resourceVersion", "");
    uint64_t h = util_fnv1a64(rv, strlen(rv));
    return h != 0 ? h : 1;
}

static enum step exec_status(struct sched *s, struct sched_key *k, struct view *v,
                             const struct sc_action *a)
{
    struct kube_ref ref = {.gv = OMJOB_GROUP_VERSION,
                           .plural = CRONOMJOB_PLURAL,
                           .ns = v->ns,
                           .name = v->name,
                           .sub = "status"};
    struct json_object *out = NULL;
    struct kube_err e;
    /* Written against the resourceVersion decide saw: a view the cache had not
     * brought up to date (our own last write not in it yet) is a 409, decided again
     * shortly, rather than a second write of the same change. */
    const char *rv = jx_str(view_cron(v), "metadata.resourceVersion");
    if (rv != NULL && jx_get(a->body, "metadata.resourceVersion") == NULL)
        jx_set_str(a->body, "metadata.resourceVersion", rv);
    int rc = kube_patch(s->s_kc, &ref, KUBE_PATCH_MERGE, a->body, &out, &e);
    if (rc == 0) {
        log_info("status written", "cronomjob.namespace", v->ns, "cronomjob.name", v->name,
                 "cronomjob.uid", v->uid, "lastScheduleTime",
                 jx_str(out, "status.lastScheduleTime"), "nextScheduleTime",
                 jx_str(out, "status.nextScheduleTime"), NULL);
        emit_action(s, v, a);
        uint64_t base = rv_hash(view_cron(v));
        if (out != NULL && json_object_is_type(out, json_type_object) && rv_hash(out) != base)
            k->sk_base_rv = base; /* a pass on a view still at base waits for the cache */
        if (out != NULL && json_object_is_type(out, json_type_object))
            json_object_object_add(v->root, "cronomjob", out);
        else
            json_object_put(out);
        return STEP_CONTINUE;
    }
    if (rc == -ESTALE) { /* our view is older than the server's: look again shortly */
        schedule(s, v->wk, util_mono_ms() + CONFLICT_MS);
        return STEP_WAIT;
    }
    if (rc == -ENOENT)
        return STEP_WAIT; /* the CronOMJob is gone: its deletion hint follows */
    log_write_error(v, "status", NULL, &e);
    return STEP_ERROR;
}

static enum step exec_action(struct sched *s, struct sched_key *k, struct view *v,
                             const struct sc_action *a)
{
    switch (a->kind) {
    case SC_NONE:
        return STEP_WAIT;
    case SC_CREATE:
        return exec_create(s, k, v, a);
    case SC_DELETE:
        return exec_delete(s, v, a);
    case SC_STATUS:
        return exec_status(s, k, v, a);
    }
    return STEP_ERROR;
}

/* ---- a pass ---- */

/* decide -> execute, up to MAX_STEPS writes in the pass; the last step's outcome. */
static enum step run_steps(struct sched *s, struct sched_key *k, struct view *v)
{
    for (; v->steps < MAX_STEPS; v->steps++) {
        struct sc_child *kids = NULL;
        size_t nkids = 0;
        struct sc_action a;
        if (children(v, &kids, &nkids) != 0)
            return STEP_ERROR;
        struct sc_input in = {.cron = view_cron(v),
                              .children = kids,
                              .nchildren = nkids,
                              .now_ms = util_wall_ms(),
                              .run_id = v->run_id,
                              .name_taken = k->sk_name_taken};
        memset(&a, 0, sizeof(a));
        int rc = sc_decide(&in, &a);
        free(kids);
        if (rc != 0) {
            sc_action_free(&a);
            return STEP_ERROR;
        }
        log_debug("decided", "cronomjob.namespace", v->ns, "cronomjob.name", v->name, "action",
                  sc_kind_str(a.kind), "omjob.name", a.name[0] ? a.name : NULL, "why", a.why, NULL);
        if (a.kind == SC_NONE) {
            set_counted(s, k, a.requeue_at_ms > 0);
            if (a.requeue_at_ms > 0) {
                int64_t d = a.requeue_at_ms - in.now_ms;
                schedule(s, v->wk, util_mono_ms() + (d > 0 ? d : 0) + TIMER_SLACK_MS);
            }
            sc_action_free(&a);
            return STEP_WAIT;
        }
        /* A first pass writes creates only while other keys wait or run: the
         * rest (status, a deletion) waits until every key queued has had its
         * first pass (pool.h). Alone, it writes on (no view kept for nothing). */
        enum step st = v->first && a.kind != SC_CREATE && sched_pool_contended(s->s_pool)
                           ? STEP_DEFER
                           : exec_action(s, k, v, &a);
        bool created = a.kind == SC_CREATE && (st == STEP_CONTINUE || st == STEP_DEFER);
        if (st == STEP_DEFER && a.requeue_at_ms > 0) {
            /* The next scheduled time, should the rest still wait then: its first
             * pass takes the rest over and creates that run first. */
            int64_t d = a.requeue_at_ms - in.now_ms;
            set_counted(s, k, true);
            schedule(s, v->wk, util_mono_ms() + (d > 0 ? d : 0) + TIMER_SLACK_MS);
        }
        sc_action_free(&a);
        if (created && sched_uuid4(v->run_id) != 0) /* the next run gets its own id */
            return STEP_ERROR;
        if (st == STEP_DEFER && created)
            v->steps++;
        if (st != STEP_CONTINUE)
            return st;
    }
    /* More writes than a pass should need: look again soon rather than spin. */
    log_warn("pass stopped after too many writes; looking again in a second", "cronomjob.namespace",
             v->ns, "cronomjob.name", v->name, NULL);
    schedule(s, v->wk, util_mono_ms() + 1000);
    return STEP_WAIT;
}

/* The end of a pass: metrics, backoff. SP_DONE. */
static enum sp_result pass_end(struct sched *s, struct view *v, enum step st)
{
    metrics_observe(s->s_fam->cr_reconcile_time, (double)(util_mono_ms() - v->t0) / 1000.0,
                    "cronomjob");
    if (st == STEP_ERROR) {
        schedule(s, v->wk, util_mono_ms() + backoff_ms(++v->k->sk_fails));
        metrics_counter_add(s->s_fam->cr_reconcile, 1.0, "cronomjob", "error");
        metrics_counter_add(s->s_fam->cr_reconcile_errors, 1.0, "cronomjob");
        return SP_DONE;
    }
    v->k->sk_fails = 0;
    metrics_counter_add(s->s_fam->cr_reconcile, 1.0, "cronomjob", "success");
    return SP_DONE;
}

static void view_free(struct view *v)
{
    json_object_put(v->root);
    free(v);
}

/* A first pass that cannot look (no memory, the watcher not answering, the cache
 * behind our last status write) keeps the continuation it took over. */
static enum sp_result keep(struct view *old, void **cont)
{
    *cont = old;
    return old != NULL ? SP_DEFER : SP_DONE;
}

/* A first pass takes over the key's deferred view old: its runs' Events go to
 * the idle-time queue, the runs it created that the fresh view v does not show
 * yet (the cache behind) are put into v; old is freed. */
static void take_over(struct sched *s, struct view *v, struct view *old)
{
    for (int i = 0; i < old->npend; i++)
        emit_later(s, old, &old->pend[i]);
    struct json_object *kids = view_children(v), *okids = view_children(old);
    for (int i = 0; i < old->ncreated; i++) {
        bool shown = false;
        for (size_t j = 0; !shown && j < json_object_array_length(kids); j++)
            shown = strcmp(jx_str_or(json_object_array_get_idx(kids, j), "name", ""),
                           old->created[i]) == 0;
        for (size_t j = 0; !shown && j < json_object_array_length(okids); j++) {
            struct json_object *e = json_object_array_get_idx(okids, j);
            if (strcmp(jx_str_or(e, "name", ""), old->created[i]) == 0) {
                json_object_array_add(kids, json_object_get(e));
                shown = true;
            }
        }
        snprintf(v->created[v->ncreated++], sizeof(v->created[0]), "%s", old->created[i]);
    }
    view_free(old);
}

/* The first pass over a key (the pool's pass): read it from the watcher, decide
 * and create a due run; what else it has to write defers (*cont: the view).
 * *cont on entry: the key's view still deferred, taken over. */
enum sp_result sched_pass(void *arg, struct workq_key *wk, void **cont)
{
    struct sched *s = arg;
    struct view *old = *cont;
    struct view *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        schedule(s, wk, util_mono_ms() + NOT_SYNCED_MS);
        return keep(old, cont);
    }
    v->wk = wk;
    v->k = workq_key_data(wk);
    v->t0 = util_mono_ms();
    v->wall0 = util_wall_ms();
    v->first = true;
    const char *key = workq_key_str(wk);
    int rc = sched_fetch(s, key, &v->root);
    v->fetch_ms = util_mono_ms() - v->t0;
    if (rc != 0) {
        if (rc != -EAGAIN)
            log_warn("cannot read the key from the watcher; retrying", "key", key, "error",
                     strerror(-rc), NULL);
        schedule(s, wk, util_mono_ms() + NOT_SYNCED_MS);
        metrics_counter_add(s->s_fam->cr_reconcile, 1.0, "cronomjob", "requeue_after");
        view_free(v);
        return keep(old, cont);
    }
    struct json_object *cron = view_cron(v);
    if (cron == NULL) {
        view_free(v);
        if (old != NULL)
            view_free(old); /* the CronOMJob is gone, and its Events with it */
        *cont = NULL;
        return SP_GONE;
    }
    if (v->k->sk_base_rv != 0 && rv_hash(cron) == v->k->sk_base_rv) {
        /* The cache does not show our last status write yet: its hint brings the
         * key back (the timer only in case). */
        schedule(s, wk, util_mono_ms() + EXISTS_MS);
        view_free(v);
        return keep(old, cont);
    }
    v->k->sk_base_rv = 0;
    if (old != NULL)
        take_over(s, v, old);
    *cont = NULL;
    snprintf(v->ns, sizeof(v->ns), "%s", jx_str_or(cron, "metadata.namespace", ""));
    snprintf(v->name, sizeof(v->name), "%s", jx_str_or(cron, "metadata.name", ""));
    snprintf(v->uid, sizeof(v->uid), "%s", jx_str_or(cron, "metadata.uid", ""));
    enum step st = sched_uuid4(v->run_id) == 0 ? run_steps(s, v->k, v) : STEP_ERROR;
    if (st == STEP_DEFER) {
        *cont = v;
        return SP_DEFER;
    }
    enum sp_result r = pass_end(s, v, st);
    view_free(v);
    return r;
}

void **sched_slot(void *arg, struct workq_key *wk)
{
    (void)arg;
    struct sched_key *k = workq_key_data(wk);
    return &k->sk_follow;
}

/* The rest of a first pass (the pool's resume): decide and write on (the status,
 * deletions, a create too) on the view kept; the runs' Events go to the
 * idle-time queue (posted after every status write waiting). */
enum sp_result sched_resume(void *arg, struct workq_key *wk, void *cont)
{
    struct sched *s = arg;
    struct view *v = cont;
    (void)wk;
    v->first = false;
    for (int i = 0; i < v->npend; i++)
        emit_later(s, v, &v->pend[i]);
    v->npend = 0;
    enum sp_result r = pass_end(s, v, run_steps(s, v->k, v));
    view_free(v);
    return r;
}

/* A deferred pass not resumed (the scheduler stops): its Events are lost, its
 * status is written by the next pass (the run is known by its name). */
void sched_drop(void *arg, struct workq_key *wk, void *cont)
{
    (void)arg;
    (void)wk;
    view_free(cont);
}

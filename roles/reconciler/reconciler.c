/* The reconciler role: shard I of N owns the OMJobs whose key hashes to I and runs
 * their state machine (roles/reconciler/decide.c), writing to the API server.
 *
 * One thread. Hints arrive on topic shard.<I> and mark keys dirty in the work
 * queue (lib/workq: a deduplicated FIFO, with timers for delayed looks such as start
 * deadlines and backoff, and each key's state as its payload); a gap, a new
 * publisher or the periodic resync asks the watcher for every key of the shard.
 * A pass over a key reads its objects from the watcher (GET_KEY: no API read),
 * then repeats decide -> execute -> update the view from the API server's reply,
 * so one hint can carry a job through several writes without waiting for the
 * cache to catch up. Every write carries a resourceVersion precondition or is an
 * idempotent create of a deterministic name, so a stale view costs a conflict,
 * never a wrong write. */
#include "roles/reconciler/reconciler.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/ipc.h"
#include "lib/ipc/pubsub.h"
#include "lib/ipc/reqrep.h"
#include "lib/kube/client.h"
#include "lib/workq/workq.h"
#include "roles/reconciler/behind.h"
#include "roles/reconciler/decide.h"
#include "roles/reconciler/evsnap.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "runtime/kclient.h"
#include "model/labels.h"
#include "runtime/role.h"
#include "model/objects.h"

#define TRUTH_TIMEOUT_MS 1000 /* local IPC; short so a stop signal is never kept waiting */
#define MAX_STEPS 16
#define MAX_GONE 4
#define BATCH 64                /* keys per loop turn before polling again */
#define CONFLICT_MS 50          /* first look after a 409 */
#define NOT_SYNCED_MS 500       /* watcher not synced yet */
#define NOT_SYNCED_LOG_MS 10000 /* ... said in the log this often */
#define EXISTS_MS 300           /* 409 AlreadyExists: wait for the cache */
#define EXISTS_HIDDEN 3         /* ... this many in a row: a pod the cache does not show */
#define BEHIND_LOOK_MS 250 /* a view behind our own writes: look again (the hint may be first) */
#define RETRY_MAX_MS 30000 /* backoff ceiling */
/* The longest one API request (with its retries) may keep the loop: the other
 * keys of the shard wait that long at most behind a silent API server. */
#define REQUEST_TIMEOUT_MS 15000
#define CREATE_RETRY_FIRST_MS 1000

/* ---- per-key state: the payload of the key in the work queue (lib/workq) ---- */

struct kst {
    struct workq_key *wk;
    const char *key;  /* the work queue's copy, as long as the key lives */
    int fails;        /* consecutive errors, for backoff */
    int create_fails; /* consecutive rejections of the main pod */
    int64_t create_retry_at;
    bool create_retry_main;    /* create_retry_at is for the main pod (else an exit pod) */
    bool exit_create_rejected; /* the last exit pod creation was rejected */
    bool ns_terminating;       /* ... because the namespace is being deleted */
    /* A creation whose reply was lost (the request may have been applied): its
     * Events wait until the cache shows whether the pod exists. */
    struct dc_action *uncertain;
    bool events_checked; /* backfill_events ran (or was not needed) */
    bool passed;         /* had its first pass in this process (evsnap.h) */
    /* The OMJob's resourceVersion a write whose answer was lost was based on:
     * backfill_events waits until the cache shows another (the write's outcome, or
     * a later one), so that it does not judge by a view older than the write. */
    char *unsure_rv;
    /* The OMJob resourceVersions this process's applied writes replaced: a view
     * showing one is behind them (behind.h); NULL while none is in flight. */
    struct behind *behind;
    char *create_error;
    /* A pod name the API server answers AlreadyExists for while the cache shows
     * no such pod (EXISTS_HIDDEN times in a row): decide's PodNameConflict. */
    int exists_fails;
    char *exists_pod; /* the pod exists_fails counts for (malloc'd; NULL: none yet) */
    char *taken;
    /* The cacheRevision of the view the last successful pass decided on, and the
     * watcher it came from (rc.watcher_gen): a hint at or below it is a change
     * that pass has seen (hint_mark). */
    uint64_t handled_rev;
    unsigned handled_gen;
};

/* Events wait until the end of the pass: a POST between "outcome recorded" and
 * "exit pod created" would delay the exit handler for information only. */
struct pending_ev {
    char ns[64], name[256], uid[64];
    enum ev_type type;
    const char *reason; /* static strings from decide.c */
    char message[640];
};
#define MAX_PENDING_EV (MAX_STEPS * DC_MAX_EVENTS)

struct evq {
    struct pending_ev ev[MAX_PENDING_EV];
    int n;
};

struct rc {
    struct cfg cfg;
    struct dc_cfg dcfg;
    int shard, nshards;
    char name[32];
    char topic[32];
    struct ctl *ctl;
    const struct ctl_families *fam;
    struct metrics_family *hints; /* omjob_reconciler_hints_total{result} */
    struct metrics_family *lost;  /* omjob_reconciler_hint_messages_lost_total */
    struct kube_client *kc;
    struct ev_recorder *ev;
    struct ipc_sub *sub;
    struct ipc_req *truth;
    struct workq *wq;     /* the keys: their state, the dirty FIFO and the timers */
    bool backfill_denied; /* listing Events is forbidden (RBAC): no backfill */
    int64_t next_resync;
    bool resync_pending;
    bool resync_full;
    bool synced_once;
    unsigned sub_connects;
    /* Counts the watchers seen (a new publisher, a reconnect): revisions restart
     * with the watcher, so a revision handled under another one says nothing. */
    unsigned watcher_gen;
    unsigned seed;
    /* On the heap and not cleared (n only): 50 KiB that, on the stack or zeroed,
     * would all stay resident in every shard; untouched entries cost nothing. */
    struct evq *evq;
    int64_t ev_retry_at;                     /* when ev_retry is due (0: nothing waits) */
    struct evsnap *snap;                     /* Events for many first passes (evsnap.h) */
    int64_t snap_retry_at;                   /* after a failed snapshot: per-key LISTs until */
    struct metrics_family *template_fetches; /* omjob_template_fetches_total{result} */
    struct metrics_family *answer_specs;     /* omjob_reconciler_answer_specs_total{source} */
    struct jx_parser *jp;                    /* one json-c tokener for every GET_KEY reply */
};

/* The state of key, created when create is set. NULL when absent or out of memory. */
static struct kst *kst_find(struct rc *r, const char *key, bool create)
{
    struct workq_key *wk = workq_find(r->wq, key);
    if (wk == NULL && (!create || workq_insert(r->wq, key, &wk) < 0))
        return NULL;
    struct kst *k = workq_key_data(wk);
    k->wk = wk;
    k->key = workq_key_str(wk);
    return k;
}

/* workq's fini: frees what a key's state points to. */
static void kst_fini(void *data)
{
    struct kst *k = data;
    free(k->uncertain);
    free(k->create_error);
    free(k->unsure_rv);
    free(k->taken);
    free(k->exists_pod);
    behind_free(&k->behind);
}

/* Forgets k when nothing refers to it any more: not queued, nothing kept for a
 * later pass (a timer left by an earlier pass is cancelled). The work queue keeps
 * the key while stale timer entries point at it; its state is forgotten now all
 * the same (kst_fini, as when the queue frees it), so that an OMJob created again
 * under the same name starts afresh (not with the old one's backoff or rejected
 * exit pod). */
static void kst_maybe_drop(struct rc *r, struct kst *k)
{
    if (k->create_error != NULL || k->uncertain != NULL || k->taken != NULL)
        return;
    struct workq_key *wk = k->wk;
    /* A timer of an earlier pass (a running pod's deadline, minutes away) has
     * nothing left to look at: without this, the key stayed until it fired. */
    workq_cancel_timer(r->wq, wk);
    if (workq_release(r->wq, wk) == 1) {
        kst_fini(k);
        memset(k, 0, sizeof(*k));
        k->wk = wk;
        k->key = workq_key_str(wk);
    }
}

/* The work queue's hooks: the workqueue_* metric families. */
static void wq_added(void *arg)
{
    struct rc *r = arg;
    metrics_counter_add(r->fam->wq_adds, 1.0, r->name);
}

static void wq_depth(void *arg, size_t pending)
{
    struct rc *r = arg;
    metrics_gauge_set(r->fam->wq_depth, (double)pending, r->name);
}

static void wq_waited(void *arg, int64_t ms)
{
    struct rc *r = arg;
    metrics_observe(r->fam->wq_queue_duration, (double)ms / 1000.0, r->name);
}

static void enqueue(struct rc *r, struct kst *k)
{
    workq_add(r->wq, k->wk);
}

static void mark_key(struct rc *r, const char *key)
{
    struct kst *k = kst_find(r, key, true);
    if (k == NULL) {
        log_error("out of memory marking a key", "key", key, NULL);
        return;
    }
    enqueue(r, k);
}

/* A look at k at at_mono (the earlier of this and a look already set). */
static void schedule(struct rc *r, struct kst *k, int64_t at_mono)
{
    if (workq_add_at(r->wq, k->wk, at_mono) != 0) {
        log_error("out of memory scheduling a key; queueing it now", "key", k->key, NULL);
        enqueue(r, k);
    }
}

static int64_t backoff_ms(int n, int64_t first)
{
    int64_t d = first;
    for (int i = 1; i < n && d < RETRY_MAX_MS; i++)
        d *= 2;
    return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* ---- the view of one key ---- */

struct view {
    struct json_object *root; /* the GET_KEY reply */
    char ns[64];
    char name[256];
    char gone[MAX_GONE][PODSPEC_NAME_BUF + 8];
    const char *gonep[MAX_GONE];
    int ngone;
    struct evq *evq; /* Events of this pass */
};

static struct json_object *view_omjob(struct view *v)
{
    struct json_object *o = jx_get(v->root, "omjob");
    return o != NULL && json_object_is_type(o, json_type_object) ? o : NULL;
}

static struct json_object *view_pods(struct view *v)
{
    struct json_object *p = jx_arr(v->root, "pods");
    if (p == NULL) {
        p = json_object_new_array();
        json_object_object_add(v->root, "pods", p);
    }
    return p;
}

/* Puts the compact form of the full pod `full` into the view (replacing the pod of
 * the same name), or removes the pod named `name` when full is NULL. */
static void view_put_pod(struct view *v, const char *name, struct json_object *full)
{
    struct json_object *pods = view_pods(v), *compact = NULL;
    if (full != NULL) {
        struct wc_pod *wp = NULL;
        struct sbuf sb;
        if (wc_pod_parse(full, &wp) != 0)
            return;
        sbuf_init(&sb);
        wc_pod_render(&sb, wp);
        free(wp);
        if (sbuf_str(&sb) != NULL)
            jx_parse(sbuf_str(&sb), sbuf_len(&sb), &compact, NULL, 0);
        sbuf_free(&sb);
        if (compact == NULL)
            return;
    }
    for (size_t i = 0; i < json_object_array_length(pods); i++) {
        if (strcmp(jx_str_or(json_object_array_get_idx(pods, i), "name", ""), name) == 0) {
            if (compact != NULL)
                json_object_array_put_idx(pods, i, compact);
            else
                json_object_array_del_idx(pods, i, 1);
            return;
        }
    }
    if (compact != NULL)
        json_object_array_add(pods, compact);
}

/* view_put_pod of the pod in a write's answer (its text), built only from the
 * members its compact form reads (wc_pod_keep): a pod's env (OpenMetadata's
 * config), volumes and managedFields are never built. False when the answer is
 * empty or does not parse (the view is left as it was). */
static bool view_put_pod_text(struct rc *r, struct view *v, const char *name,
                              const struct kube_text *t)
{
    struct json_object *full = NULL;
    if (t->body == NULL ||
        jx_parser_parse_keep(r->jp, t->body, t->len, wc_pod_keep, &full, NULL, 0) != 0 ||
        full == NULL || !json_object_is_type(full, json_type_object)) {
        json_object_put(full);
        return false;
    }
    view_put_pod(v, name, full);
    json_object_put(full);
    return true;
}

/* The OMJob in a write's answer (its text), without managedFields. Its spec (the
 * bulk of it: two pod templates carrying OpenMetadata's config) is not built when
 * the answer's metadata.generation is that of the view's OMJob, whose spec it then
 * takes: a change of the spec moves the generation. NULL when the text does not
 * parse. */
static struct json_object *omjob_from_text(struct rc *r, struct json_object *view_om,
                                           const struct kube_text *t)
{
    static const char *const mf[] = {"metadata", "managedFields"}, *const sp[] = {"spec"};
    static const struct jx_path cut[] = {{mf, 2}, {sp, 1}};
    struct json_object *spec = view_om != NULL ? jx_get(view_om, "spec") : NULL, *o = NULL;
    struct json_object *vg = view_om != NULL ? jx_get(view_om, "metadata.generation") : NULL;
    if (t->body == NULL)
        return NULL;
    if (spec != NULL && vg != NULL &&
        jx_parser_parse_cut(r->jp, t->body, t->len, cut, 2, &o, NULL, 0) == 0 &&
        json_object_is_type(o, json_type_object) && jx_get(o, "spec") == NULL) {
        struct json_object *g = jx_get(o, "metadata.generation");
        if (g != NULL && json_object_get_int64(g) == json_object_get_int64(vg)) {
            json_object_object_add(o, "spec", json_object_get(spec));
            if (r->answer_specs != NULL)
                metrics_counter_add(r->answer_specs, 1.0, "view");
            return o;
        }
    }
    json_object_put(o); /* another generation: the answer's own spec */
    o = NULL;
    if (jx_parser_parse_cut(r->jp, t->body, t->len, cut, 1, &o, NULL, 0) != 0 ||
        !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    if (r->answer_specs != NULL)
        metrics_counter_add(r->answer_specs, 1.0, "answer");
    return o;
}

/* GET_KEY over req/rep. 0 with v->root, -EAGAIN when the watcher has not synced
 * yet, or a negative errno. */
static int fetch(struct rc *r, const char *key, struct view *v)
{
    struct ipc_msg *rep = NULL;
    memset(v, 0, sizeof(*v));
    int rc = ipc_req_call(r->truth, IPC_REQ_GET_KEY, key, strlen(key), TRUTH_TIMEOUT_MS, &rep);
    if (rc != 0)
        return rc;
    if (rep->type != IPC_REQ_GET_KEY_REPLY) {
        int code = -EPROTO;
        const char *t;
        size_t tl;
        if (rep->type == IPC_REQ_ERROR)
            ipc_err_decode(rep->body, rep->body_len, &code, &t, &tl);
        ipc_msg_free(rep);
        return code;
    }
    rc = jx_parser_parse(r->jp, (const char *)rep->body, rep->body_len, &v->root, NULL, 0);
    ipc_msg_free(rep);
    if (rc != 0)
        return -EBADMSG;
    if (!jx_bool_or(v->root, "synced", false)) {
        json_object_put(v->root);
        v->root = NULL;
        return -EAGAIN;
    }
    const char *slash = strchr(key, '/');
    snprintf(v->ns, sizeof(v->ns), "%.*s", (int)(slash - key), key);
    snprintf(v->name, sizeof(v->name), "%s", slash + 1);
    return 0;
}

/* ---- executing actions ---- */

enum step {
    STEP_CONTINUE, /* the view is up to date: decide again */
    STEP_WAIT,     /* done for now: a hint (or the timer set) brings the key back */
    STEP_ERROR,    /* failed: backoff */
};

static void emit_events(struct evq *q, struct json_object *omjob, const struct dc_action *a)
{
    for (int i = 0; i < a->nev && q->n < MAX_PENDING_EV; i++) {
        struct pending_ev *e = &q->ev[q->n++];
        snprintf(e->ns, sizeof(e->ns), "%s", jx_str_or(omjob, "metadata.namespace", ""));
        snprintf(e->name, sizeof(e->name), "%s", jx_str_or(omjob, "metadata.name", ""));
        snprintf(e->uid, sizeof(e->uid), "%s", jx_str_or(omjob, "metadata.uid", ""));
        e->type = a->ev[i].type;
        e->reason = a->ev[i].reason;
        snprintf(e->message, sizeof(e->message), "%s", a->ev[i].message);
    }
}

/* Posts the Events of q. Those the API server could not take for a reason that
 * passes (an outage; a 403, which an API server gives while its authorizer's
 * caches sync after a restart: seen in it_test_apiserver_outage, ExitHandlerCreated
 * lost to "events is forbidden") wait in the recorder's bounded queue and are
 * tried again for as long as their OMJob exists (runtime/events.h). After a post
 * timed out the rest of q waits there untried: each would hold the loop as long. */
static void flush_events(struct rc *r, struct evq *q)
{
    bool silent = false; /* a post timed out: the rest wait for the retry */
    for (int i = 0; i < q->n; i++) {
        struct pending_ev *e = &q->ev[i];
        struct ev_object o = {.api_version = OMJOB_GROUP_VERSION,
                              .kind = OMJOB_KIND,
                              .ns = e->ns,
                              .name = e->name,
                              .uid = e->uid};
        /* After one timeout, each further post would hold the loop up as long. */
        int rc = -ETIMEDOUT;
        if (silent)
            ev_keep(r->ev, &o, e->type, e->reason, e->message);
        else
            rc = ev_emit_keep(r->ev, &o, e->type, e->reason, e->message);
        silent = rc == -ETIMEDOUT;
        /* Kept: schedule it. Recorded while others wait: the API server takes
         * Events again, they go now (ev_retry's kick). */
        if ((rc != 0 && ev_retryable(rc) && r->ev_retry_at == 0) ||
            (rc == 0 && r->ev_retry_at != 0))
            r->ev_retry_at = util_mono_ms();
    }
    q->n = 0;
}

/* For ev_retry: the OMJob is still there (the watcher's cache, same uid). */
static int omjob_exists(void *ctx, const struct ev_object *o)
{
    struct rc *r = ctx;
    char key[512];
    struct view v;
    snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
    int rc = fetch(r, key, &v);
    if (rc != 0)
        return rc;
    struct json_object *om = view_omjob(&v);
    int ex = om != NULL && strcmp(jx_str_or(om, "metadata.uid", ""), o->uid) == 0;
    json_object_put(v.root);
    return ex;
}

static void retry_events(struct rc *r)
{
    int64_t now = util_mono_ms();
    if (r->ev_retry_at != 0 && now >= r->ev_retry_at)
        r->ev_retry_at = ev_retry(r->ev, now);
    if (r->ev_retry_at != 0 && r->ev_retry_at <= now)
        r->ev_retry_at = now + 1; /* kept meanwhile: scheduled at the next call */
    ev_expire_due(r->ev, now);    /* Events of OMJobs that live on but went quiet */
}

static void transition_metrics(struct rc *r, struct json_object *before, const struct dc_action *a)
{
    const char *from = a->from_phase != NULL && *a->from_phase ? a->from_phase : "None";
    const char *to = a->to_phase != NULL ? a->to_phase : "None";
    if (strcmp(from, to) == 0)
        return;
    metrics_counter_add(r->fam->status_transitions, 1.0, from, to);
    const char *lt = jx_str(before, "status.lastTransitionTime");
    int64_t ns;
    if (strcmp(from, "None") != 0 && lt != NULL && util_rfc3339_parse(lt, &ns) == 0) {
        double d = (double)(util_wall_ns() - ns) / 1e9;
        metrics_observe(r->fam->duration, d < 0 ? 0 : d, from);
    }
}

static void log_write_error(const struct kst *k, const struct dc_action *a,
                            const struct kube_err *e)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", e->http);
    log_warn("write failed", "key", k->key, "action", dc_kind_str(a->kind), "pod",
             a->pod[0] ? a->pod : NULL, "http", code, "reason", e->reason, "error", e->message,
             NULL);
}

/* A write the API server answered with a refusal (HTTP 4xx other than a conflict,
 * or 5xx) and that is retried with backoff: a Warning ReconciliationError on the
 * OMJob, posted after the pass (aggregated: the same message counts up), so the
 * retrying is not silent (docs/LIFECYCLE.md, "Waits"). A request that got no
 * answer (an outage) is only logged: its Event could not be posted either. */
static void write_error_event(struct view *v, const struct dc_action *a, const struct kube_err *e)
{
    struct json_object *omjob = view_omjob(v);
    if (e->http < 400 || e->http == 409 || omjob == NULL || v->evq == NULL ||
        v->evq->n >= MAX_PENDING_EV)
        return;
    struct pending_ev *p = &v->evq->ev[v->evq->n++];
    snprintf(p->ns, sizeof(p->ns), "%s", jx_str_or(omjob, "metadata.namespace", ""));
    snprintf(p->name, sizeof(p->name), "%s", jx_str_or(omjob, "metadata.name", ""));
    snprintf(p->uid, sizeof(p->uid), "%s", jx_str_or(omjob, "metadata.uid", ""));
    p->type = EV_WARNING;
    p->reason = "ReconciliationError";
    snprintf(p->message, sizeof(p->message),
             "%s%s%s failed (HTTP %d %s): %.400s; retrying with backoff", dc_kind_str(a->kind),
             a->pod[0] ? " " : "", a->pod, e->http, e->reason, e->message);
}

/* The pod of a is created (out: the API server's reply as text, put into the view
 * and freed). False when that reply could not be read (the pod's hint brings it). */
static bool create_done(struct rc *r, struct kst *k, struct view *v, struct dc_action *a,
                        struct kube_text *out)
{
    bool is_main = a->kind == DC_CREATE_MAIN;
    metrics_counter_add(r->fam->pods_created, 1.0, a->pod_type);
    log_info("pod created", "key", k->key, "pod", a->pod, "type", a->pod_type, NULL);
    emit_events(v->evq, view_omjob(v), a);
    bool seen = view_put_pod_text(r, v, a->pod, out);
    free(out->body);
    if (is_main) {
        free(k->create_error);
        k->create_error = NULL;
    }
    k->create_fails = 0;
    k->create_retry_at = 0;
    k->exists_fails = 0;
    free(k->taken);
    k->taken = NULL;
    free(k->uncertain);
    k->uncertain = NULL;
    if (!is_main)
        k->exit_create_rejected = false;
    return seen;
}

/* Rejected: quota, admission, invalid. Retried with backoff; for the main pod decide
 * turns it into CreateFailed at the start deadline. */
static enum step create_rejected(struct rc *r, struct kst *k, struct view *v,
                                 const struct dc_action *a, const struct kube_err *e)
{
    struct json_object *omjob = view_omjob(v);
    bool is_main = a->kind == DC_CREATE_MAIN;
    struct ev_object o = {OMJOB_GROUP_VERSION,           OMJOB_KIND, v->ns, v->name,
                          jx_str(omjob, "metadata.uid"), NULL};
    int64_t delay = backoff_ms(++k->create_fails, CREATE_RETRY_FIRST_MS);
    /* The same message every time, so that the Event aggregates (count). */
    ev_emitf(r->ev, &o, EV_WARNING, "FailedCreate",
             "creating %s pod %s was rejected (HTTP %d %s): %s; retrying with backoff", a->pod_type,
             a->pod, e->http, e->reason, e->message);
    log_write_error(k, a, e);
    k->create_retry_at = util_mono_ms() + delay;
    k->create_retry_main = is_main;
    /* A namespace being deleted never accepts a pod again: decide ends the run
     * (NamespaceTerminating) instead of retrying. */
    k->ns_terminating = strstr(e->message, "because it is being terminated") != NULL;
    if (!is_main || k->ns_terminating) {
        k->exit_create_rejected = !is_main;
        /* Record the outcome now rather than after the backoff. */
        schedule(r, k, util_mono_ms());
        return STEP_WAIT;
    }
    char *msg = NULL;
    if (asprintf(&msg, "HTTP %d %s: %s", e->http, e->reason, e->message) >= 0) {
        free(k->create_error);
        k->create_error = msg;
    }
    /* Wake at the retry, or earlier at the start deadline. */
    int64_t deadline = dc_create_deadline_ms(omjob, &r->dcfg);
    int64_t until = deadline - util_wall_ms();
    if (deadline > 0 && until < delay)
        delay = until < 0 ? 0 : until + 50;
    schedule(r, k, util_mono_ms() + delay);
    return STEP_WAIT;
}

/* A creation that perhaps happened (its reply lost): keep its Events (pod name and
 * messages) for when the cache shows the pod (settle_uncertain). */
static void keep_uncertain(struct kst *k, const struct dc_action *a)
{
    struct dc_action *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return;
    memcpy(u->pod, a->pod, sizeof(u->pod));
    memcpy(u->ev, a->ev, sizeof(u->ev));
    u->nev = a->nev;
    free(k->uncertain);
    k->uncertain = u;
}

static enum step exec_create(struct rc *r, struct kst *k, struct view *v, struct dc_action *a)
{
    struct kube_err e;
    struct kube_text out;
    struct kube_ref ref = {.gv = POD_GROUP_VERSION, .plural = POD_PLURAL, .ns = v->ns};
    bool is_main = a->kind == DC_CREATE_MAIN;
    if (k->create_retry_main != is_main) {
        /* Backoff of the other pod's creation does not apply. */
        k->create_retry_at = 0;
        k->create_fails = 0;
    }
    if (k->create_retry_at > util_mono_ms()) {
        schedule(r, k, k->create_retry_at);
        return STEP_WAIT;
    }
    int rc = kclient_create_owned_text(r->kc, &ref, a->pod_obj, &out, &e);
    if (rc == 0)
        return create_done(r, k, v, a, &out) ? STEP_CONTINUE : STEP_WAIT;
    /* An attempt that reached the server unanswered may have created the pod
     * whatever the last one says (a retry's AlreadyExists): its Events wait for
     * the cache (settle_uncertain). */
    bool unsure = kube_err_maybe_applied(&e) || e.http >= 500;
    if (unsure)
        keep_uncertain(k, a);
    if (rc == -EEXIST) {
        /* Ours from an earlier pass (the cache will show it), or a leftover of an
         * earlier OMJob of this name (decide waits for it). Still not in the cache
         * after EXISTS_HIDDEN tries: a pod the watcher does not see (no OMJob
         * label) holds the name; decide says so, and the creates go on with
         * backoff (1 s doubling to 30 s), not every EXISTS_MS. */
        if (k->exists_pod == NULL || strcmp(k->exists_pod, a->pod) != 0) {
            /* Another pod's 409s (one that did show up) do not count. */
            char *p = strdup(a->pod);
            if (p != NULL) {
                free(k->exists_pod);
                k->exists_pod = p;
            }
            k->exists_fails = 0;
        }
        if (++k->exists_fails < EXISTS_HIDDEN || unsure) {
            schedule(r, k, util_mono_ms() + EXISTS_MS);
            return STEP_WAIT;
        }
        if (k->taken == NULL || strcmp(k->taken, a->pod) != 0) {
            free(k->taken);
            k->taken = strdup(a->pod);
            log_warn("pod name held by a pod the watcher does not see", "key", k->key, "pod",
                     a->pod, NULL);
        }
        k->create_retry_at =
            util_mono_ms() + backoff_ms(k->exists_fails - EXISTS_HIDDEN + 1, CREATE_RETRY_FIRST_MS);
        k->create_retry_main = is_main;
        schedule(r, k, util_mono_ms());
        return STEP_WAIT;
    }
    if ((rc == -EPERM || rc == -EINVAL) && !unsure)
        return create_rejected(r, k, v, a, &e);
    log_write_error(k, a, &e);
    write_error_event(v, a, &e);
    return STEP_ERROR;
}

static enum step exec_patch(struct rc *r, struct kst *k, struct view *v, struct dc_action *a)
{
    struct kube_err e;
    struct kube_text text;
    struct json_object *out = NULL, *omjob = view_omjob(v);
    bool is_pod = a->kind == DC_RELEASE_POD || a->kind == DC_ADOPT_POD;
    struct kube_ref ref = {.gv = is_pod ? POD_GROUP_VERSION : OMJOB_GROUP_VERSION,
                           .plural = is_pod ? POD_PLURAL : OMJOB_PLURAL,
                           .ns = v->ns,
                           .name = is_pod ? a->pod : v->name,
                           .sub = a->kind == DC_STATUS ? "status" : NULL};
    int rc = kube_patch_text(r->kc, &ref, KUBE_PATCH_MERGE, a->patch, &text, &e);
    if (rc != 0 && a->nev > 0 && (kube_err_maybe_applied(&e) || e.http >= 500)) {
        /* Perhaps applied, its Events not posted: check them once the cache shows
         * the OMJob past this write's base. Whatever the last attempt says: a merge
         * patch is retried after a lost answer, and the retry of a status write
         * applied the first time gets 409 Conflict (its resourceVersion is gone),
         * or finds the server still down (seen in it_test_apiserver_outage as a
         * missing MainPodCompleted or OMJobFailed). */
        k->events_checked = false;
        free(k->unsure_rv);
        const char *base = is_pod ? NULL : jx_str(a->patch, "metadata.resourceVersion");
        k->unsure_rv = base != NULL ? strdup(base) : NULL;
    }
    if (rc == 0) {
        if (!is_pod) {
            out = omjob_from_text(r, omjob, &text);
            const char *base = jx_str(a->patch, "metadata.resourceVersion");
            behind_note(&k->behind,
                        base != NULL ? base : jx_str(omjob, "metadata.resourceVersion"));
        }
        if (a->kind == DC_STATUS) {
            transition_metrics(r, omjob, a);
            if (a->to_phase != NULL && a->from_phase != NULL &&
                strcmp(a->to_phase, a->from_phase) != 0)
                log_info("phase", "key", k->key, "from", *a->from_phase ? a->from_phase : "None",
                         "to", a->to_phase, "reason", jx_str(out, "status.mainPodReason"), NULL);
        }
        emit_events(v->evq, is_pod || out == NULL ? omjob : out, a);
        bool seen;
        if (is_pod)
            seen = view_put_pod_text(r, v, a->pod, &text);
        else if ((seen = out != NULL))
            json_object_object_add(v->root, "omjob", out);
        if (!seen) /* applied, its answer unreadable: the object's hint brings it */
            log_warn("the answer to a write is not an object; waiting for the cache", "key", k->key,
                     NULL);
        free(text.body);
        return seen ? STEP_CONTINUE : STEP_WAIT;
    }
    if (rc == -ESTALE) {
        /* Conflict: our view is older than the server's. Look again shortly; the
         * hint of whatever changed it is on its way too. */
        schedule(r, k, util_mono_ms() + CONFLICT_MS);
        return STEP_WAIT;
    }
    if (rc == -ENOENT) {
        if (is_pod) {
            view_put_pod(v, a->pod, NULL);
            return STEP_CONTINUE;
        }
        return STEP_WAIT; /* the OMJob is gone: its deletion hint follows */
    }
    log_write_error(k, a, &e);
    write_error_event(v, a, &e);
    return STEP_ERROR;
}

static enum step exec_action(struct rc *r, struct kst *k, struct view *v, struct dc_action *a)
{
    struct kube_err e;
    struct kube_ref pref = {
        .gv = POD_GROUP_VERSION, .plural = POD_PLURAL, .ns = v->ns, .name = a->pod};
    int rc;
    switch (a->kind) {
    case DC_NONE:
        return STEP_WAIT;
    case DC_CREATE_MAIN:
    case DC_CREATE_EXIT:
        return exec_create(r, k, v, a);
    case DC_STATUS:
    case DC_ADD_FINALIZER:
    case DC_RELEASE_OMJOB:
    case DC_RELEASE_POD:
    case DC_ADOPT_POD:
        return exec_patch(r, k, v, a);
    case DC_DELETE_POD: {
        struct kube_delete_opts o = {.uid = a->pod_uid[0] ? a->pod_uid : NULL, .grace_seconds = -1};
        struct json_object *out = NULL;
        rc = kube_delete(r->kc, &pref, &o, &out, &e);
        if (rc == 0 || rc == -ENOENT || rc == -ESTALE) {
            log_info("pod deleted", "key", k->key, "pod", a->pod, NULL);
            /* Held by our finalizer, the reply is the pod with its deletionTimestamp. */
            if (rc == 0 && out != NULL && jx_str(out, "metadata.deletionTimestamp") != NULL) {
                view_put_pod(v, a->pod, out);
                json_object_put(out);
                return STEP_CONTINUE;
            }
            if (out != NULL)
                json_object_put(out);
            return STEP_WAIT; /* the change comes back as a hint */
        }
        log_write_error(k, a, &e);
        write_error_event(v, a, &e);
        return STEP_ERROR;
    }
    case DC_VERIFY_GONE: {
        struct json_object *out = NULL;
        rc = kube_get(r->kc, &pref, &out, &e);
        if (rc == -ENOENT) {
            if (v->ngone < MAX_GONE) {
                snprintf(v->gone[v->ngone], sizeof(v->gone[0]), "%s", a->pod);
                v->gonep[v->ngone] = v->gone[v->ngone];
                v->ngone++;
            }
            return STEP_CONTINUE;
        }
        if (rc == 0) {
            /* The cache is behind: it will show the pod. */
            json_object_put(out);
            schedule(r, k, util_mono_ms() + NOT_SYNCED_MS);
            return STEP_WAIT;
        }
        log_write_error(k, a, &e);
        write_error_event(v, a, &e);
        return STEP_ERROR;
    }
    }
    return STEP_ERROR;
}

/* ---- Events lost to a crash ----
 *
 * A role killed between a write and the end of its pass loses that pass's Events
 * (never the write). When a key shows progress this process did not make (the
 * first pass of a key whose status is already set: after a restart), the Events
 * the status implies are listed from the API server and the missing ones posted.
 * One LIST per such key, only after a restart; never for new OMJobs. */

/* True when an Event of this reason (and message part) for this object waits in
 * the retry queue: not missing, only late. */
static bool queue_has(const struct evq *q, const char *uid, const char *reason, const char *part)
{
    for (int i = 0; i < q->n; i++) {
        const struct pending_ev *e = &q->ev[i];
        if (strcmp(e->uid, uid) == 0 && strcmp(e->reason, reason) == 0 &&
            (part == NULL || strstr(e->message, part) != NULL))
            return true;
    }
    return false;
}

/* ... or waits to be posted at the end of this pass. */
static bool retry_has(const struct rc *r, const char *uid, const char *reason, const char *part)
{
    return ev_waiting(r->ev, uid, reason, part) || queue_has(r->evq, uid, reason, part);
}

static void backfill_add(struct evq *q, struct json_object *om, enum ev_type type,
                         const char *reason, const char *msg)
{
    struct dc_action a = {0};
    a.nev = 1;
    a.ev[0].type = type;
    a.ev[0].reason = reason;
    snprintf(a.ev[0].message, sizeof(a.ev[0].message), "%s", msg);
    emit_events(q, om, &a);
}

/* A snapshot of ns's Events for a key's first pass (evsnap.h): kept while keys
 * wait, for SNAP_TTL_MS at most; taken when at least SNAP_MIN_WAITING keys wait
 * (a start on many OMJobs), else NULL: one LIST for this key alone. */
#define SNAP_MIN_WAITING 16
#define SNAP_TTL_MS 60000
static struct evsnap *snap_for(struct rc *r, const char *ns)
{
    int64_t now = util_mono_ms();
    if (r->snap != NULL &&
        (strcmp(evsnap_ns(r->snap), ns) != 0 || now - evsnap_taken_ms(r->snap) > SNAP_TTL_MS)) {
        evsnap_free(r->snap);
        r->snap = NULL;
    }
    if (r->snap != NULL || workq_len(r->wq) < SNAP_MIN_WAITING || now < r->snap_retry_at)
        return r->snap;
    struct kube_err e;
    int rc = evsnap_take(r->kc, ns, r->shard, r->nshards, &r->snap, &e);
    if (rc != 0) {
        /* -EPERM included: the per-key LIST says it, once. */
        r->snap_retry_at = now + SNAP_TTL_MS;
        return NULL;
    }
    char nev[24], nwait[24];
    snprintf(nev, sizeof(nev), "%zu", evsnap_count(r->snap));
    snprintf(nwait, sizeof(nwait), "%zu", workq_len(r->wq));
    log_info("listed the Events of a namespace for the first passes", "namespace", ns,
             "omjobs_with_events", nev, "waiting", nwait, NULL);
    return r->snap;
}

/* 0 when done (or nothing to do), negative errno to try again later. */
static int backfill_events(struct rc *r, struct kst *k, struct view *v)
{
    struct json_object *om = view_omjob(v), *st = jx_obj(om, "status");
    const char *phase = jx_str(st, "phase");
    if (om == NULL || phase == NULL || r->backfill_denied)
        return 0;
    /* Written by the original operator (no field of ours): it posted its own. */
    if (jx_get(st, "conditions") == NULL && jx_get(st, "observedGeneration") == NULL)
        return 0;
    int64_t done_ns;
    const char *ct = jx_str(st, "completionTime");
    if (ct != NULL && util_rfc3339_parse(ct, &done_ns) == 0 &&
        util_wall_ns() - done_ns > (int64_t)600 * 1000000000)
        return 0; /* finished long ago: its Events were had or are history */
    struct kube_err e;
    const char *uid = jx_str_or(om, "metadata.uid", "");
    struct evsnap *snap = k->passed ? NULL : snap_for(r, v->ns), *one = NULL;
    int rc = snap != NULL ? 0 : evsnap_take_one(r->kc, v->ns, uid, &one, &e);
    if (rc == -EPERM) {
        /* RBAC without list on events (the original's Helm chart): no backfill in
         * this process, said once (the watcher warned at start too). */
        if (!r->backfill_denied)
            log_warn("no Event backfill after a restart: listing Events is forbidden", "rule",
                     "list events", "error", e.message, NULL);
        r->backfill_denied = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    struct evsnap_seen se; /* one's strings live until it is freed, at the end */
    evsnap_get(snap != NULL ? snap : one, uid, &se);
    char m[600];
    const char *main_pod = jx_str(st, "mainPodName");
    const char *mreason = jx_str(st, "mainPodReason");
    if (main_pod != NULL && jx_str(st, "startTime") != NULL && se.main_created == 0 &&
        !retry_has(r, uid, "MainPodCreated", NULL)) {
        snprintf(m, sizeof(m), "created main pod %s", main_pod);
        backfill_add(v->evq, om, EV_NORMAL, "MainPodCreated", m);
    }
    if (mreason != NULL && se.main_completed == 0 && !retry_has(r, uid, "MainPodCompleted", NULL)) {
        int64_t code;
        if (jx_i64(st, "mainPodExitCode", &code) == 0)
            snprintf(m, sizeof(m), "main pod %s ended: %s (exit code %lld)",
                     main_pod != NULL ? main_pod : "", mreason, (long long)code);
        else
            snprintf(m, sizeof(m), "main pod %s ended: %s", main_pod != NULL ? main_pod : "",
                     mreason);
        backfill_add(v->evq, om, strcmp(mreason, "Completed") == 0 ? EV_NORMAL : EV_WARNING,
                     "MainPodCompleted", m);
    }
    /* One ExitHandlerCreated per exit pod that exists (ours). */
    struct json_object *pods = view_pods(v);
    for (size_t i = 0; i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        const char *pn = jx_str_or(p, "name", "");
        if (strcmp(jx_str_or(p, "podType", ""), POD_TYPE_EXIT_HANDLER) != 0 ||
            strcmp(jx_str_or(p, "ownerUid", "-"), jx_str_or(om, "metadata.uid", "")) != 0)
            continue;
        char needle[PODSPEC_NAME_BUF + 16];
        snprintf(needle, sizeof(needle), "pod %s (", pn);
        if (strstr(se.exit_msgs, needle) != NULL || retry_has(r, uid, "ExitHandlerCreated", needle))
            continue;
        snprintf(m, sizeof(m), "created exit handler pod %s (pipelineStatus=%s)", pn,
                 mreason != NULL && strcmp(mreason, "Completed") == 0 ? "success" : "failed");
        backfill_add(v->evq, om, EV_NORMAL, "ExitHandlerCreated", m);
    }
    if (strcmp(phase, "Succeeded") == 0 && ct != NULL && se.completed == 0 &&
        !retry_has(r, uid, "OMJobCompleted", NULL))
        backfill_add(v->evq, om, EV_NORMAL, "OMJobCompleted", jx_str_or(st, "message", ""));
    if (strcmp(phase, "Failed") == 0 && ct != NULL && se.failed == 0 &&
        !retry_has(r, uid, "OMJobFailed", NULL))
        backfill_add(v->evq, om, EV_WARNING, "OMJobFailed", jx_str_or(st, "message", ""));
    if (v->evq->n > 0)
        log_info("posting the Events a previous process did not", "namespace", v->ns, "name",
                 v->name, NULL);
    evsnap_free(one);
    return 0;
}

/* A creation whose reply was lost: if the cache shows the pod, ours, it was
 * created, and the Events kept for it go with this pass's. */
static void settle_uncertain(struct kst *k, struct view *v)
{
    struct json_object *om = view_omjob(v), *pods = view_pods(v);
    for (size_t i = 0; om != NULL && i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (strcmp(jx_str_or(p, "name", ""), k->uncertain->pod) == 0 &&
            strcmp(jx_str_or(p, "ownerUid", "-"), jx_str_or(om, "metadata.uid", "")) == 0) {
            emit_events(v->evq, om, k->uncertain);
            free(k->uncertain);
            k->uncertain = NULL;
            return;
        }
    }
}

/* The cache still shows the OMJob as the write whose answer was lost found it:
 * whether that write was applied is not known yet. */
static bool cache_before_unsure(const struct kst *k, struct view *v)
{
    return k->unsure_rv != NULL &&
           strcmp(jx_str_or(view_omjob(v), "metadata.resourceVersion", ""), k->unsure_rv) == 0;
}

/* The pod to create needs a template the watcher's cache left out (large OMJobs,
 * or a pod re-created after its template went: docs/ARCHITECTURE.md, "What the
 * cache keeps of an OMJob"): the OMJob as the API server has it replaces the
 * view's, once per pass. */
static enum step fetch_template(struct rc *r, struct kst *k, struct view *v)
{
    struct kube_err e = {0};
    struct json_object *out = NULL;
    struct kube_ref ref = {
        .gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = v->ns, .name = v->name};
    int rc = kube_get(r->kc, &ref, &out, &e);
    const char *res = rc == 0 ? "ok" : rc == -ENOENT ? "gone" : "error";
    if (r->template_fetches != NULL)
        metrics_counter_add(r->template_fetches, 1.0, res);
    if (rc == 0 && strcmp(jx_str_or(out, "metadata.uid", ""),
                          jx_str_or(view_omjob(v), "metadata.uid", "-")) != 0) {
        json_object_put(out); /* another OMJob of that name now: its hint follows */
        return STEP_WAIT;
    }
    if (rc == 0) {
        log_debug("template fetched", "key", k->key, NULL);
        json_object_object_add(v->root, "omjob", out);
        return STEP_CONTINUE;
    }
    if (rc == -ENOENT)
        return STEP_WAIT; /* the OMJob is gone: its deletion hint follows */
    log_warn("cannot read the OMJob's pod template from the API server; retrying", "key", k->key,
             "error", e.message[0] ? e.message : strerror(-rc), NULL);
    return STEP_ERROR;
}

/* decide -> execute -> update the view, up to MAX_STEPS times: the last step's
 * outcome. *result becomes "requeue_after" when decide asks for a later look. */
static enum step run_steps(struct rc *r, struct kst *k, struct view *v, const char **result)
{
    enum step st = STEP_WAIT;
    bool fetched = false; /* one template fetch per pass */
    for (int i = 0; i < MAX_STEPS; i++) {
        struct dc_action a;
        struct dc_input in = {.omjob = view_omjob(v),
                              .pods = jx_arr(v->root, "pods"),
                              .now_ms = util_wall_ms(),
                              .cfg = &r->dcfg,
                              .create_error = k->create_error,
                              .exit_create_rejected = k->exit_create_rejected,
                              .ns_terminating = k->ns_terminating,
                              .name_taken = k->taken,
                              .gone = v->gonep,
                              .ngone = v->ngone};
        int drc = dc_decide(&in, &a);
        if (drc == -EAGAIN && a.need_template && !fetched) {
            dc_action_clear(&a);
            fetched = true;
            st = fetch_template(r, k, v);
            if (st != STEP_CONTINUE)
                return st;
            continue;
        }
        if (drc != 0) {
            dc_action_clear(&a);
            return STEP_ERROR;
        }
        if (a.kind == DC_NONE) {
            if (a.requeue_at_ms > 0) {
                int64_t d = a.requeue_at_ms - in.now_ms;
                schedule(r, k, util_mono_ms() + (d > 0 ? d : 0) + 10);
                *result = "requeue_after";
            }
            dc_action_clear(&a);
            return STEP_WAIT;
        }
        log_debug("action", "key", k->key, "action", dc_kind_str(a.kind), "why", a.why, NULL);
        st = exec_action(r, k, v, &a);
        dc_action_clear(&a);
        if (st != STEP_CONTINUE)
            break;
    }
    return st;
}

/* One pass over a key. True when the key may be forgotten: its OMJob and pods are
 * gone (kst_maybe_drop, once the work queue is done with it). */
static bool reconcile(struct rc *r, struct kst *k)
{
    struct view v;
    int64_t t0 = util_mono_ms();
    const char *result = "success";
    int rc = fetch(r, k->key, &v);
    if (rc != 0) {
        if (rc != -EAGAIN)
            log_warn("cannot read the key from the watcher; retrying", "key", k->key, "error",
                     strerror(-rc), NULL);
        schedule(r, k, util_mono_ms() + NOT_SYNCED_MS);
        metrics_counter_add(r->fam->cr_reconcile, 1.0, "omjob", "requeue_after");
        return false;
    }
    v.evq = r->evq;
    switch (behind_check(&k->behind, jx_str(view_omjob(&v), "metadata.resourceVersion"),
                         util_mono_ms())) {
    case BEHIND_WAIT:
        log_debug("view behind our own write: waiting for the cache", "key", k->key, NULL);
        json_object_put(v.root);
        schedule(r, k, util_mono_ms() + BEHIND_LOOK_MS);
        metrics_counter_add(r->fam->cr_reconcile, 1.0, "omjob", "requeue_after");
        return false;
    case BEHIND_GIVE_UP: {
        char ms[24];
        snprintf(ms, sizeof(ms), "%d", BEHIND_GIVE_UP_MS);
        log_warn("the watcher's cache still shows the OMJob as before our own write; deciding "
                 "on it",
                 "key", k->key, "waited_ms", ms, NULL);
        break;
    }
    case BEHIND_FRESH:
        break;
    }
    if (k->uncertain != NULL)
        settle_uncertain(k, &v);
    /* First pass of this key in this process: status already set means an earlier
     * process made progress and may have died before its Events. Or a write whose
     * answer was lost, once the cache has moved past its base. */
    if (!k->events_checked && !cache_before_unsure(k, &v) && backfill_events(r, k, &v) == 0) {
        k->events_checked = true;
        free(k->unsure_rv);
        k->unsure_rv = NULL;
    }
    k->passed = true;
    uint64_t rev = (uint64_t)jx_i64_or(v.root, "cacheRevision", 0);
    enum step st = run_steps(r, k, &v, &result);
    bool empty = view_omjob(&v) == NULL && json_object_array_length(view_pods(&v)) == 0;
    json_object_put(v.root);
    flush_events(r, r->evq);
    if (empty) /* nothing more to aggregate: its Events' entries go with it */
        ev_forget(r->ev, v.ns, v.name);
    double secs = (double)(util_mono_ms() - t0) / 1000.0;
    metrics_observe(r->fam->cr_reconcile_time, secs, "omjob");
    if (st == STEP_ERROR) {
        k->fails++;
        int64_t d = backoff_ms(k->fails, 200);
        schedule(r, k, util_mono_ms() + d);
        metrics_counter_add(r->fam->reconciliations, 1.0, "error");
        metrics_counter_add(r->fam->cr_reconcile, 1.0, "omjob", "error");
        metrics_counter_add(r->fam->cr_reconcile_errors, 1.0, "omjob");
        return false;
    }
    k->fails = 0;
    k->handled_rev = rev;
    k->handled_gen = r->watcher_gen;
    metrics_counter_add(r->fam->reconciliations, 1.0, "success");
    metrics_counter_add(r->fam->cr_reconcile, 1.0, "omjob", result);
    return empty;
}

/* A stop signal pending or the supervisor gone: the batch ends before its next
 * pass, and the loop's role_poll handles it at once. Without this a role whose
 * supervisor was killed went on through up to BATCH passes (seconds of API writes
 * under load) before it stopped (it_test_leader under ASan: still there 15 s on). */
static bool stop_pending(void)
{
    struct pollfd p[2] = {{.fd = role_stop_fd(), .events = POLLIN},
                          {.fd = role_parent_fd(), .events = POLLIN}};
    return poll(p, 2, 0) > 0;
}

/* Takes up to BATCH keys from the work queue, one pass each. */
static void process_batch(struct rc *r)
{
    for (int i = 0; i < BATCH; i++) {
        if (i > 0 && stop_pending())
            break;
        struct workq_key *wk = workq_get(r->wq);
        if (wk == NULL)
            break;
        struct kst *k = workq_key_data(wk);
        bool forget = reconcile(r, k);
        workq_done(r->wq, wk); /* queued again if added meanwhile */
        if (forget)
            kst_maybe_drop(r, k);
        ctl_heartbeat(r->ctl);
    }
    if (r->snap != NULL && workq_len(r->wq) == 0) {
        evsnap_free(r->snap); /* the first passes are done */
        r->snap = NULL;
    }
}

/* ---- resync ---- */

/* Asks the watcher for every key of the shard and queues those changed since we
 * last handled them (all of them when full). False when the watcher could not
 * answer (tried again shortly). */
static bool resync(struct rc *r, bool full)
{
    char body[64];
    struct ipc_msg *rep = NULL;
    struct json_object *root = NULL;
    snprintf(body, sizeof(body), "{\"shard\":%d,\"shards\":%d}", r->shard, r->nshards);
    int rc = ipc_req_call(r->truth, IPC_REQ_LIST_SHARD, body, strlen(body), TRUTH_TIMEOUT_MS, &rep);
    if (rc != 0)
        return false;
    if (rep->type != IPC_REQ_LIST_SHARD_REPLY ||
        jx_parse((const char *)rep->body, rep->body_len, &root, NULL, 0) != 0) {
        ipc_msg_free(rep);
        return false;
    }
    ipc_msg_free(rep);
    if (!jx_bool_or(root, "synced", false)) {
        json_object_put(root);
        return false;
    }
    struct json_object *keys = jx_arr(root, "keys");
    size_t n = keys != NULL ? json_object_array_length(keys) : 0, queued = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(keys, i);
        const char *key = jx_str(e, "key");
        if (key == NULL)
            continue;
        struct kst *k = kst_find(r, key, full);
        uint64_t rev = (uint64_t)jx_i64_or(e, "revision", 0);
        if (k == NULL) {
            if ((k = kst_find(r, key, true)) == NULL)
                continue;
        } else if (!full && rev <= k->handled_rev) {
            continue;
        }
        enqueue(r, k);
        queued++;
    }
    char ns[24], nq[24];
    snprintf(ns, sizeof(ns), "%zu", n);
    snprintf(nq, sizeof(nq), "%zu", queued);
    log_info("resync", "keys", ns, "queued", nq, "full", full ? "true" : "false", NULL);
    json_object_put(root);
    return true;
}

/* ipc_hint_fn: the hinted key is worked on, unless the last pass over it already
 * saw this change: its GET_KEY answer was at least as new as the hint (the hint
 * was still on its way, or in the same batch as a later one that was handled). */
static int hint_mark(void *ctx, const struct ipc_hint *h)
{
    struct rc *r = ctx;
    struct kst *k = kst_find(r, h->key, false);
    if (k != NULL && k->handled_gen == r->watcher_gen && h->seq <= k->handled_rev) {
        metrics_counter_add(r->hints, 1.0, "seen");
        return 0;
    }
    metrics_counter_add(r->hints, 1.0, "queued");
    mark_key(r, h->key);
    return 0;
}

static void drain_hints(struct rc *r)
{
    struct ipc_sub_event ev;
    for (int i = 0; i < 4096; i++) {
        int rc = ipc_sub_recv(r->sub, 0, &ev);
        if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EBADF)
            break;
        if (rc != 0) {
            r->resync_pending = true;
            continue;
        }
        if (ev.se_status != IPC_SEQ_OK)
            r->resync_pending = true;
        if (ev.se_status == IPC_SEQ_GAP)
            metrics_counter_add(r->lost, (double)ev.se_missed);
        /* The watcher's revisions restart with it: after a new publisher every key
         * is asked again, not only those whose (new, smaller) revision beats the
         * one handled (two OMJobs sat Running for minutes after a watcher restart
         * in it_test_role_kills: their changes had lower revisions than before). */
        if (ev.se_status == IPC_SEQ_FIRST || ev.se_status == IPC_SEQ_NEW_PUBLISHER) {
            r->resync_full = true;
            r->watcher_gen++;
        }
        if (ev.se_msg.type == IPC_EV_RESYNC) {
            r->resync_pending = true;
            continue;
        }
        if (ev.se_msg.type == IPC_EV_TICK)
            continue;
        /* One hint (IPC_EV_CHANGE) or a batch (IPC_EV_CHANGES): a malformed body
         * loses its hints, so resync. */
        if (ipc_msg_hints(&ev.se_msg, hint_mark, r) < 0)
            r->resync_pending = true;
    }
    unsigned c = ipc_sub_connects(r->sub);
    if (c != r->sub_connects) { /* the watcher may have restarted and sent nothing yet */
        if (r->sub_connects != 0) {
            r->resync_pending = true;
            r->resync_full = true;
            r->watcher_gen++;
        }
        r->sub_connects = c;
    }
}

/* ---- the role ---- */

int reconciler_parse_shard(const char *s, int max, int *shard, int *nshards)
{
    char num[16];
    long long i, n;
    const char *slash = strchr(s, '/');
    if (slash == NULL || (size_t)(slash - s) >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, (size_t)(slash - s));
    num[slash - s] = '\0';
    if (util_parse_i64(num, 0, max - 1, &i) != 0 || util_parse_i64(slash + 1, 1, max, &n) != 0 ||
        i >= n)
        return -EINVAL;
    *shard = (int)i;
    *nshards = (int)n;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: omjob-operator reconciler --shard I/N   (0 <= I < N <= %d)\n",
            CFG_THREADS_MAX);
}

/* 0 with the shard, or ROLE_EX_USAGE after a message. */
static int parse_args(int argc, char **argv, int *shard, int *nshards)
{
    const char *v = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc) {
            v = argv[++i];
        } else if (strncmp(argv[i], "--shard=", 8) == 0) {
            v = argv[i] + 8;
        } else {
            fprintf(stderr, "omjob-operator reconciler: unexpected argument '%s'\n", argv[i]);
            usage();
            return ROLE_EX_USAGE;
        }
    }
    if (v == NULL) {
        fprintf(stderr, "omjob-operator reconciler: --shard I/N is required\n");
        usage();
        return ROLE_EX_USAGE;
    }
    if (reconciler_parse_shard(v, CFG_THREADS_MAX, shard, nshards) != 0) {
        fprintf(stderr,
                "omjob-operator reconciler: bad --shard '%s': expected I/N with 0 <= I < N <= %d, "
                "e.g. --shard 2/5\n",
                v, CFG_THREADS_MAX);
        return ROLE_EX_USAGE;
    }
    return 0;
}

static void status_fn(void *arg, struct json_object *obj)
{
    struct rc *r = arg;
    (void)r;
    json_object_object_add(obj, "shard", json_object_new_int(r->shard));
    json_object_object_add(obj, "shards", json_object_new_int(r->nshards));
}

/* The waiting queue of Events (runtime/events.h) and its metrics. */
static int event_metrics(struct rc *r)
{
    struct metrics *m = ctl_metrics(r->ctl);
    int rc = ev_retry_setup_metrics(r->ev, m, omjob_exists, r);
    if (rc != 0)
        return rc;
    static const char *const result[] = {"result"};
    rc = metrics_counter_new(m, "omjob_template_fetches_total",
                             "OMJobs read from the API server because a pod to create needs a "
                             "template the watcher's cache leaves out (result: ok, gone, error).",
                             result, 1, &r->template_fetches);
    static const char *const source[] = {"source"};
    if (rc == 0)
        rc = metrics_counter_new(m, "omjob_reconciler_answer_specs_total",
                                 "OMJob writes whose answer the view took, by where its spec came "
                                 "from: view (the same generation: the answer's spec not built) "
                                 "or answer.",
                                 source, 1, &r->answer_specs);
    if (rc != 0)
        log_error("cannot register the reconciler's write metrics", "error", strerror(-rc), NULL);
    return rc;
}

static int setup(struct rc *r)
{
    char err[512] = "", url[IPC_URL_MAX], host[64] = "", inst[128];
    struct kube_config *kcfg = NULL;
    int rc = ctl_open(r->name, &r->cfg, &r->ctl);
    if (rc != 0) {
        log_error("cannot open the control socket", "error", strerror(-rc), NULL);
        return rc;
    }
    if ((r->evq = malloc(sizeof(*r->evq))) == NULL || jx_parser_new(&r->jp) != 0) {
        log_error("cannot allocate the Event queue and JSON parser", "error", strerror(ENOMEM),
                  NULL);
        return -ENOMEM;
    }
    r->evq->n = 0;
    r->fam = ctl_families(r->ctl);
    static const char *const result[] = {"result"};
    if ((rc = metrics_counter_new(ctl_metrics(r->ctl), "omjob_reconciler_hints_total",
                                  "Change hints received: queued, or already seen by the last "
                                  "pass over the key (its view was at least as new)",
                                  result, 1, &r->hints)) != 0 ||
        (rc = metrics_counter_new(ctl_metrics(r->ctl), "omjob_reconciler_hint_messages_lost_total",
                                  "Hint messages the watcher sent this shard that never came "
                                  "(sequence gaps; each one resyncs the shard)",
                                  NULL, 0, &r->lost)) != 0) {
        log_error("cannot register a metric", "error", strerror(-rc), NULL);
        return rc;
    }
    ctl_set_status_fn(r->ctl, status_fn, r);
    if ((rc = kube_config_load(&kcfg, err, sizeof(err))) != 0) {
        log_error("cannot load the API server configuration", "error", err, NULL);
        return rc;
    }
    /* One request, its retries included, holds the shard's other keys up for at
     * most REQUEST_TIMEOUT_MS; the wait hook keeps /healthz green meanwhile. */
    struct kube_client_opts o = {.qps = r->cfg.kube_qps,
                                 .burst = r->cfg.kube_burst,
                                 .request_timeout_ms = REQUEST_TIMEOUT_MS,
                                 .total_timeout_ms = REQUEST_TIMEOUT_MS,
                                 .field_manager = "omjob-operator",
                                 .drop_managed_fields = true}; /* never read */
    if ((rc = kube_client_new(kcfg, &o, &r->kc)) != 0) {
        kube_config_free(kcfg);
        log_error("cannot create the API client", "error", strerror(-rc), NULL);
        return rc;
    }
    kube_client_set_observer(r->kc, ctl_kube_observer, r->ctl);
    kube_client_set_wait_hook(r->kc, ctl_kube_wait, r->ctl);
    gethostname(host, sizeof(host) - 1);
    snprintf(inst, sizeof(inst), "%s@%s", r->name, host);
    if ((rc = ev_recorder_new(r->kc, "omjob-operator", inst, 0, &r->ev)) != 0) {
        log_error("cannot create the event recorder", "error", strerror(-rc), NULL);
        return rc;
    }
    if ((rc = event_metrics(r)) != 0)
        return rc;
    if ((rc = ipc_endpoint_url(url, sizeof(url), r->cfg.run_dir, IPC_EP_HINTS, r->topic)) != 0 ||
        (rc = ipc_sub_open(&r->sub, url)) != 0 || (rc = ipc_sub_subscribe(r->sub, r->topic)) != 0) {
        log_error("cannot subscribe to hints", "error", strerror(-rc), NULL);
        return rc;
    }
    if ((rc = ipc_endpoint_url(url, sizeof(url), r->cfg.run_dir, IPC_EP_TRUTH, NULL)) != 0 ||
        (rc = ipc_req_open(&r->truth, url)) != 0) {
        log_error("cannot open the truth client", "error", strerror(-rc), NULL);
        return rc;
    }
    struct workq_opts wo = {
        .data_size = sizeof(struct kst),
        .fini = kst_fini,
        .hooks = {.added = wq_added, .depth = wq_depth, .waited = wq_waited, .arg = r}};
    if ((rc = workq_new(&wo, &r->wq)) != 0)
        return rc;
    r->dcfg.start_timeout_s = r->cfg.start_timeout_s;
    r->dcfg.cancel_deadline_s = r->cfg.cancel_deadline_s;
    r->dcfg.exit_max_attempts = r->cfg.exit_handler_max_attempts;
    r->dcfg.node_lost_s = r->cfg.node_lost_timeout_s;
    r->resync_pending = true;
    return 0;
}

static void teardown(struct rc *r)
{
    workq_free(r->wq);
    ipc_req_close(r->truth);
    ipc_sub_close(r->sub);
    ev_recorder_free(r->ev);
    evsnap_free(r->snap);
    kube_client_free(r->kc);
    ctl_close(r->ctl);
    free(r->evq);
    jx_parser_free(r->jp);
}

static int run(struct rc *r)
{
    int subfd = -1;
    if (ipc_sub_fd(r->sub, &subfd) != 0)
        subfd = -1;
    int64_t resync_retry_at = 0;
    /* Before the watcher's first sync nothing can be read or written (status and
     * Events need the cache): /readyz says "not ready", and the log says why
     * every NOT_SYNCED_LOG_MS. */
    int64_t wait_since = util_mono_ms(), wait_log_at = wait_since + NOT_SYNCED_LOG_MS;
    for (;;) {
        ctl_heartbeat(r->ctl);
        drain_hints(r);
        int64_t now = util_mono_ms();
        if (now >= r->next_resync && r->synced_once) {
            r->resync_pending = true;
            r->resync_full = true;
            r->next_resync = now + (int64_t)r->cfg.resync_s * 1000;
        }
        if (r->resync_pending && now >= resync_retry_at) {
            if (resync(r, !r->synced_once || r->resync_full)) {
                r->resync_pending = false;
                r->resync_full = false;
                if (!r->synced_once) {
                    r->synced_once = true;
                    r->next_resync = now + (int64_t)r->cfg.resync_s * 1000;
                    ctl_set_ready(r->ctl, true);
                    log_info("reconciler ready", NULL);
                }
            } else {
                resync_retry_at = now + NOT_SYNCED_MS;
                if (!r->synced_once && now >= wait_log_at) {
                    char secs[24];
                    snprintf(secs, sizeof(secs), "%lld", (long long)((now - wait_since) / 1000));
                    log_info("waiting for the watcher's first sync: no OMJob is reconciled, no "
                             "status or Event written until it is in (the watcher's log says "
                             "which LIST is missing)",
                             "waited_s", secs, NULL);
                    wait_log_at = now + NOT_SYNCED_LOG_MS;
                }
            }
        }
        retry_events(r);
        int64_t until = workq_fire(r->wq);
        process_batch(r);
        int timeout = 1000;
        if (workq_len(r->wq) > 0)
            timeout = 0;
        else if (until >= 0 && until < timeout)
            timeout = (int)until;
        if (r->resync_pending && timeout > NOT_SYNCED_MS)
            timeout = NOT_SYNCED_MS;
        int rc = role_poll(subfd, timeout);
        if (rc != ROLE_POLL_GO_ON)
            return rc;
    }
}

int reconciler(int argc, char **argv)
{
    struct rc r = {0};
    if (parse_args(argc, argv, &r.shard, &r.nshards) != 0)
        return ROLE_EX_USAGE;
    snprintf(r.name, sizeof(r.name), "reconciler-%d", r.shard);
    char shard_s[24];
    snprintf(shard_s, sizeof(shard_s), "%d/%d", r.shard, r.nshards);
    ipc_topic_shard(r.topic, sizeof(r.topic), (unsigned)r.shard);
    role_init(r.name);
    cfg_load_or_exit(&r.cfg);
    if (r.nshards != r.cfg.reconcile_threads)
        log_warn("--shard N differs from RECONCILIATION_THREADS: shards would overlap", "shard",
                 shard_s, NULL);
    int rc = setup(&r);
    if (rc == 0) {
        role_ready();
        log_info("reconciler started", "shard", shard_s, NULL);
        rc = run(&r);
    } else {
        rc = 1;
    }
    ipc_stop_accepting();
    teardown(&r);
    ipc_fini();
    role_fini();
    cfg_free(&r.cfg);
    return rc;
}

/* The OMJob state machine (docs/LIFECYCLE.md): one pure decision per call.
 * Read it from dc_decide at the bottom: an OMJob not finished goes to
 * before_outcome (the main pod) or after_outcome (the exit pods); each judges its
 * pod with pod_check, written once for both, and maps the verdict to its own
 * action in a short step of its own. */
#include "roles/reconciler/decide.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "model/labels.h"
#include "model/objects.h"

#define PH_PENDING "Pending"
#define PH_RUNNING "Running"
#define PH_EXIT "ExitHandlerRunning"
#define PH_SUCCEEDED "Succeeded"
#define PH_FAILED "Failed"

const char *dc_kind_str(enum dc_kind k)
{
    switch (k) {
    case DC_NONE:
        return "none";
    case DC_ADD_FINALIZER:
        return "add-finalizer";
    case DC_CREATE_MAIN:
        return "create-main-pod";
    case DC_STATUS:
        return "write-status";
    case DC_CREATE_EXIT:
        return "create-exit-pod";
    case DC_DELETE_POD:
        return "delete-pod";
    case DC_RELEASE_POD:
        return "release-pod";
    case DC_RELEASE_OMJOB:
        return "release-omjob";
    case DC_VERIFY_GONE:
        return "verify-pod-gone";
    case DC_ADOPT_POD:
        return "adopt-pod";
    }
    return "unknown";
}

void dc_action_clear(struct dc_action *a)
{
    if (a == NULL)
        return;
    if (a->patch != NULL)
        json_object_put(a->patch);
    if (a->pod_obj != NULL)
        json_object_put(a->pod_obj);
    if (a->hold != NULL)
        json_object_put(a->hold);
    memset(a, 0, sizeof(*a));
}

static void why(struct dc_action *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct dc_action *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, sizeof(a->why), fmt, ap);
    va_end(ap);
}

static void add_event(struct dc_action *a, enum ev_type type, const char *reason, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static void add_event(struct dc_action *a, enum ev_type type, const char *reason, const char *fmt,
                      ...)
{
    va_list ap;
    if (a->nev >= DC_MAX_EVENTS)
        return;
    struct dc_event *e = &a->ev[a->nev++];
    e->type = type;
    e->reason = reason;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

static bool arr_has(struct json_object *arr, const char *s)
{
    if (arr == NULL || !json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), s) == 0)
            return true;
    }
    return false;
}

/* A copy of arr without s (or with s appended when add). */
static struct json_object *arr_edit(struct json_object *arr, const char *s, bool add)
{
    struct json_object *out = json_object_new_array();
    if (out == NULL)
        return NULL;
    size_t n = arr != NULL && json_object_is_type(arr, json_type_array)
                   ? json_object_array_length(arr)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        if (!add && json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), s) == 0)
            continue;
        json_object_array_add(out, json_object_get(v));
    }
    if (add)
        json_object_array_add(out, json_object_new_string(s));
    return out;
}

static int64_t time_ms(struct json_object *obj, const char *path)
{
    int64_t ns;
    const char *s = jx_str(obj, path);
    if (s == NULL || util_rfc3339_parse(s, &ns) != 0)
        return 0;
    return ns / 1000000;
}

static void fmt_time(int64_t ms, char *buf, size_t sz)
{
    if (util_rfc3339_format(ms * 1000000, 0, buf, sz) != 0)
        snprintf(buf, sz, "1970-01-01T00:00:00Z");
}

/* ---- pods ---- */

static struct json_object *pod_named(struct json_object *pods, const char *name)
{
    size_t n = pods != NULL ? json_object_array_length(pods) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (str_eq(jx_str(p, "name"), name))
            return p;
    }
    return NULL;
}

static bool is_gone(const struct dc_input *in, const char *name)
{
    for (int i = 0; i < in->ngone; i++)
        if (str_eq(in->gone[i], name))
            return true;
    return false;
}

static const char *disruption_reason(const char *cond_reason)
{
    if (cond_reason == NULL)
        return "Deleted";
    if (strcmp(cond_reason, "EvictionByEvictionAPI") == 0 ||
        strcmp(cond_reason, "TerminationByKubelet") == 0)
        return "Evicted";
    if (strcmp(cond_reason, "PreemptionByScheduler") == 0)
        return "Preempted";
    if (strcmp(cond_reason, "DeletionByTaintManager") == 0 ||
        strcmp(cond_reason, "DeletionByPodGC") == 0)
        return "NodeLost";
    return "Deleted";
}

/* A Failed pod that is being deleted: true when its container ended on its own
 * before the deletion was asked for (the pod garbage collector removes old
 * finished pods; our finalizer holds them), so the deletion is not its end. */
static bool ended_before_deletion(struct json_object *pod)
{
    struct json_object *after = jx_get(pod, "deletedAfterEnd");
    if (after != NULL && json_object_is_type(after, json_type_boolean))
        return json_object_get_boolean(after); /* what the pod was when the watcher saw it */
    /* First seen already deleted (a watcher restart): the container's end against
     * the deletion request, in whole seconds. A kubelet's confirming delete
     * shortens deletionTimestamp to its own time (grace 0): then a tie counts as
     * the deletion's doing. */
    int64_t fin = time_ms(pod, "container.finishedAt");
    int64_t del = time_ms(pod, "deletionTimestamp");
    int64_t grace = jx_i64_or(pod, "deletionGracePeriodSeconds", 0);
    /* Killed by SIGTERM or SIGKILL (143, 137) and not by the OOM killer: what a
     * deletion does to a container. The confirming delete may have moved
     * deletionTimestamp seconds past the kill (kwok: 2 s, make soak and
     * it_test_role_kills after a watcher restart), so the times cannot tell. */
    int64_t code = -1;
    if (jx_i64(pod, "container.exitCode", &code) == 0 && (code == 137 || code == 143) &&
        !str_eq(jx_str(pod, "container.reason"), "OOMKilled"))
        return false;
    return fin > 0 && del > 0 && fin < del - grace * 1000;
}

/* Ended by deletion, eviction or node loss (disrupt_cond: a DisruptionTarget
 * condition says which). */
static void classify_disrupted(struct json_object *pod, bool disrupt_cond, struct dc_outcome *o)
{
    const char *phase = jx_str(pod, "phase");
    o->ended = true;
    o->disrupted = true;
    snprintf(o->reason, sizeof(o->reason), "%s",
             disruption_reason(disrupt_cond ? jx_str(pod, "disruptionTarget.reason") : NULL));
    const char *how = str_eq(o->reason, "Deleted") ? "deleted" : "disrupted";
    const char *m = disrupt_cond ? jx_str(pod, "disruptionTarget.message") : NULL;
    if (nonempty(m))
        snprintf(o->message, sizeof(o->message), "%s (%s)", how, m);
    else
        snprintf(o->message, sizeof(o->message), "%s while %s", how,
                 phase != NULL ? phase : "Pending");
}

/* Phase Failed, not disrupted (but by the kubelet's eviction). A pod-level reason
 * (Evicted, DeadlineExceeded, UnexpectedAdmissionError, OutOfcpu, ...) says why
 * the kubelet ended it: it wins over the container's (usually Error, 137). */
static void classify_failed(struct json_object *pod, struct dc_outcome *o)
{
    const char *preason = jx_str(pod, "reason");
    const char *creason = jx_str(pod, "container.reason");
    o->ended = true;
    o->disrupted = str_eq(preason, "Evicted");
    snprintf(o->reason, sizeof(o->reason), "%s",
             nonempty(preason)   ? preason
             : nonempty(creason) ? creason
                                 : "Error");
    const char *m = jx_str(pod, "container.message");
    if (!nonempty(m))
        m = jx_str(pod, "message");
    snprintf(o->message, sizeof(o->message), "failed%s%s", nonempty(m) ? ": " : "",
             nonempty(m) ? m : "");
}

void dc_classify(struct json_object *pod, struct dc_outcome *o)
{
    memset(o, 0, sizeof(*o));
    const char *phase = jx_str(pod, "phase");
    int64_t code;
    if (str_eq(jx_str(pod, "container.state"), "terminated") &&
        jx_i64(pod, "container.exitCode", &code) == 0) {
        o->code_known = true;
        o->code = (int)code;
    }
    if (str_eq(phase, "Succeeded")) {
        /* Final even while being deleted: exit 0 is its own result. */
        o->ended = true;
        if (!o->code_known) {
            o->code_known = true;
            o->code = 0;
        }
        snprintf(o->reason, sizeof(o->reason), "Completed");
        snprintf(o->message, sizeof(o->message), "succeeded");
        return;
    }
    bool disrupt_cond = str_eq(jx_str(pod, "disruptionTarget.status"), "True");
    bool deleting = jx_str(pod, "deletionTimestamp") != NULL;
    if (deleting && !disrupt_cond && str_eq(phase, "Failed") && o->code_known &&
        ended_before_deletion(pod))
        deleting = false;
    if (deleting || disrupt_cond)
        classify_disrupted(pod, disrupt_cond, o);
    else if (str_eq(phase, "Failed"))
        classify_failed(pod, o);
}

/* Why a pending pod is not running, for the StartTimeout message. */
static void waiting_reason(struct json_object *pod, char *buf, size_t sz)
{
    const char *r = NULL, *m = NULL;
    if (str_eq(jx_str(pod, "container.state"), "waiting")) {
        r = jx_str(pod, "container.reason");
        m = jx_str(pod, "container.message");
    }
    if (!nonempty(r) && str_eq(jx_str(pod, "podScheduled.status"), "False")) {
        r = jx_str(pod, "podScheduled.reason");
        m = jx_str(pod, "podScheduled.message");
    }
    if (!nonempty(r)) {
        r = "Pending";
        m = jx_str(pod, "message");
    }
    snprintf(buf, sz, "%s%s%s", r, nonempty(m) ? ": " : "", nonempty(m) ? m : "");
}

/* A pending pod that waits on something outside the operator's control (docs/
 * LIFECYCLE.md, "Waits"): a container waiting for a reason other than the normal
 * progress of ContainerCreating / PodInitializing (CreateContainerConfigError for
 * a missing ConfigMap or Secret, ImagePullBackOff, ErrImagePull,
 * CreateContainerError, ...), or not scheduled. True with its reason (a condition
 * reason: CamelCase, else PodWaiting) and "Reason: message" in text. */
static bool pod_stuck(struct json_object *pod, char *reason, size_t rsz, char *text, size_t tsz)
{
    const char *r = NULL;
    if (str_eq(jx_str(pod, "container.state"), "waiting")) {
        r = jx_str(pod, "container.reason");
        if (str_eq(r, "ContainerCreating") || str_eq(r, "PodInitializing"))
            r = NULL;
    }
    if (!nonempty(r) && str_eq(jx_str(pod, "podScheduled.status"), "False"))
        r = jx_str(pod, "podScheduled.reason");
    if (!nonempty(r))
        return false;
    bool word = isalpha((unsigned char)r[0]) && strlen(r) < rsz;
    for (const char *q = r; word && *q != '\0'; q++)
        word = isalnum((unsigned char)*q) || *q == '_';
    snprintf(reason, rsz, "%s", word ? r : "PodWaiting");
    waiting_reason(pod, text, tsz);
    return true;
}

/* Reasons that alternate while one cause lasts (the kubelet's image pull goes
 * ErrImagePull, ImagePullBackOff, ErrImagePull, ...) count as the same wait, so
 * the status and the Event are written once for it. */
static bool same_wait_reason(const char *a, const char *b, size_t blen)
{
    static const char *const pull[] = {"ErrImagePull", "ImagePullBackOff"};
    bool pa = false, pb = false;
    if (a == NULL || b == NULL)
        return false;
    if (strlen(a) == blen && strncmp(a, b, blen) == 0)
        return true;
    for (size_t i = 0; i < sizeof(pull) / sizeof(pull[0]); i++) {
        pa = pa || str_eq(a, pull[i]);
        pb = pb || (strlen(pull[i]) == blen && strncmp(pull[i], b, blen) == 0);
    }
    return pa && pb;
}

/* A pod that runs (or ran) on a node that stopped answering: phase Unknown, or
 * Running with Ready False (our pods have no readiness probes, so only a lost node
 * or a dying container makes a running pod unready). True when that has lasted
 * node_lost_s; otherwise *check_at_ms is when it would (0: not unready). */
static bool node_lost(struct json_object *pod, int64_t now_ms, int node_lost_s,
                      int64_t *check_at_ms)
{
    *check_at_ms = 0;
    const char *phase = jx_str(pod, "phase");
    bool unknown = str_eq(phase, "Unknown");
    bool unready = str_eq(phase, "Running") && str_eq(jx_str(pod, "ready.status"), "False");
    if (!unknown && !unready)
        return false;
    int64_t since = time_ms(pod, "ready.lastTransitionTime");
    if (since <= 0)
        since = time_ms(pod, "startTime");
    if (since <= 0)
        since = time_ms(pod, "creationTimestamp");
    if (since <= 0)
        since = now_ms; /* no time at all: counts from the next look */
    int64_t at = since + (int64_t)node_lost_s * 1000;
    if (now_ms >= at)
        return true;
    *check_at_ms = at;
    return false;
}

/* ---- status ---- */

struct st {
    struct json_object *omjob;
    struct json_object *patch;  /* {"metadata":{"resourceVersion"},"status":{...}} */
    struct json_object *status; /* borrowed from patch */
    char now[40];
    int64_t generation;
};

static int st_begin(struct st *s, struct json_object *omjob, int64_t now_ms)
{
    memset(s, 0, sizeof(*s));
    s->omjob = omjob;
    fmt_time(now_ms, s->now, sizeof(s->now));
    s->generation = jx_i64_or(omjob, "metadata.generation", 0);
    struct json_object *cur = jx_obj(omjob, "status");
    struct json_object *copy = NULL;
    if (cur != NULL) {
        if (json_object_deep_copy(cur, &copy, NULL) != 0)
            return -ENOMEM;
    } else if ((copy = json_object_new_object()) == NULL) {
        return -ENOMEM;
    }
    s->patch = json_object_new_object();
    if (s->patch == NULL) {
        json_object_put(copy);
        return -ENOMEM;
    }
    const char *rv = jx_str(omjob, "metadata.resourceVersion");
    if (rv != NULL)
        jx_set_str(s->patch, "metadata.resourceVersion", rv);
    json_object_object_add(s->patch, "status", copy);
    s->status = copy;
    if (s->generation > 0)
        jx_set_i64(s->status, "observedGeneration", s->generation);
    return 0;
}

static const char *st_str(struct st *s, const char *k)
{
    return jx_str(s->status, k);
}

static void st_set(struct st *s, const char *k, const char *v)
{
    json_object_object_add(s->status, k, json_object_new_string(v));
}

static void st_set_int(struct st *s, const char *k, int64_t v)
{
    json_object_object_add(s->status, k, json_object_new_int64(v));
}

static void st_phase(struct st *s, const char *phase)
{
    if (!str_eq(st_str(s, "phase"), phase)) {
        st_set(s, "phase", phase);
        st_set(s, "lastTransitionTime", s->now);
    }
}

static void st_cond(struct st *s, const char *type, bool status, const char *reason,
                    const char *message)
{
    struct json_object *conds = jx_arr(s->status, "conditions");
    if (conds == NULL) {
        conds = json_object_new_array();
        json_object_object_add(s->status, "conditions", conds);
    }
    struct json_object *c = NULL;
    for (size_t i = 0; i < json_object_array_length(conds); i++) {
        struct json_object *x = json_object_array_get_idx(conds, i);
        if (str_eq(jx_str(x, "type"), type)) {
            c = x;
            break;
        }
    }
    const char *sv = status ? "True" : "False";
    if (c == NULL) {
        c = json_object_new_object();
        json_object_array_add(conds, c);
        json_object_object_add(c, "type", json_object_new_string(type));
    }
    if (!str_eq(jx_str(c, "status"), sv) || jx_str(c, "lastTransitionTime") == NULL)
        json_object_object_add(c, "lastTransitionTime", json_object_new_string(s->now));
    json_object_object_add(c, "status", json_object_new_string(sv));
    json_object_object_add(c, "reason", json_object_new_string(reason));
    json_object_object_add(c, "message", json_object_new_string(message != NULL ? message : ""));
    if (s->generation > 0)
        json_object_object_add(c, "observedGeneration", json_object_new_int64(s->generation));
}

/* Hands the patch to the action. */
static void st_commit(struct st *s, struct dc_action *a, const char *from)
{
    a->kind = DC_STATUS;
    a->patch = s->patch;
    a->from_phase = from != NULL ? from : "";
    a->to_phase = st_str(s, "phase");
    s->patch = NULL;
}

/* ---- waits (docs/LIFECYCLE.md, "Waits") ---- */

#define COND_WAITING "Waiting"

/* The Waiting condition when it is True, else NULL. */
static struct json_object *waiting_cond(struct json_object *status)
{
    struct json_object *conds = jx_arr(status, "conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++) {
        struct json_object *x = json_object_array_get_idx(conds, i);
        if (str_eq(jx_str(x, "type"), COND_WAITING) && str_eq(jx_str(x, "status"), "True"))
            return x;
    }
    return NULL;
}

/* The OMJob shows a wait: the Waiting condition True, or (a CRD that prunes
 * conditions) a status.message that says so. */
static bool shows_a_wait(struct json_object *status)
{
    const char *m = jx_str(status, "message");
    return waiting_cond(status) != NULL || (m != NULL && strstr(m, "waiting: ") != NULL);
}

/* The OMJob already shows the wait of `what` ("main pod X", "exit handler pod
 * X", "the main pod") for reason: the Waiting condition True about it with that
 * reason (or one of its kind, same_wait_reason), or without conditions a
 * status.message saying so. Status and Event are then not written again. */
static bool shows_wait(struct json_object *status, const char *what, const char *reason)
{
    char pfx[PODSPEC_NAME_BUF + 64];
    int n = snprintf(pfx, sizeof(pfx), "waiting: %s ", what);
    struct json_object *w = waiting_cond(status);
    if (w != NULL) {
        const char *m = jx_str(w, "message"), *r = jx_str(w, "reason");
        return m != NULL && r != NULL && n > 0 && strncmp(m, pfx, (size_t)n) == 0 &&
               same_wait_reason(reason, r, strlen(r));
    }
    const char *m = jx_str(status, "message");
    const char *at = m != NULL ? strstr(m, pfx) : NULL;
    if (at == NULL || n <= 0)
        return false;
    at += n;
    at = strstr(at, ": ");
    if (at == NULL)
        return false;
    at += 2;
    return same_wait_reason(reason, at, strcspn(at, ":;"));
}

/* Ends a wait: a Waiting condition that is True becomes False (reason, message). */
static void st_unwait(struct st *s, const char *reason, const char *message)
{
    if (waiting_cond(s->status) != NULL)
        st_cond(s, COND_WAITING, false, reason, message);
}

/* ---- the decision ---- */

struct ctx {
    const struct dc_input *in;
    struct dc_action *a;
    struct json_object *omjob;
    const char *ns, *name, *uid, *phase;
    char main_name[PODSPEC_NAME_BUF];
    /* The first exit attempt's name when the original operator named it otherwise
     * (see pod_names); empty: ours. */
    char exit0_name[PODSPEC_NAME_BUF];
    bool has_exit_spec;
    bool skip_exit;
    bool deleting;
    int64_t start_timeout_ms;
    int64_t active_deadline_ms; /* spec.activeDeadlineSeconds; 0: none */
};

static bool main_succeeded(struct json_object *status)
{
    int64_t code = -1;
    return str_eq(jx_str(status, "mainPodReason"), "Completed") &&
           jx_i64(status, "mainPodExitCode", &code) == 0 && code == 0;
}

static void exit_name(const struct ctx *c, unsigned attempt0, char *buf, size_t sz)
{
    if (attempt0 == 0 && c->exit0_name[0] != '\0') {
        snprintf(buf, sz, "%s", c->exit0_name);
        return;
    }
    if (podspec_name(c->name, PODSPEC_EXIT, attempt0, buf, sz) != 0)
        snprintf(buf, sz, "%s", "");
}

/* When the finalizers are released whatever the state: the OMJob's deletion plus
 * the cancel deadline; 0 when the deletion time is unknown. */
static int64_t cancel_deadline_ms(const struct ctx *c)
{
    int64_t del = time_ms(c->omjob, "metadata.deletionTimestamp");
    return del > 0 ? del + (int64_t)c->in->cfg->cancel_deadline_s * 1000 : 0;
}

/* The earlier of two times, 0 meaning none. */
static int64_t earliest(int64_t x, int64_t y)
{
    if (x == 0 || (y != 0 && y < x))
        return y;
    return x;
}

/* ---- actions ---- */

static int nothing(struct dc_action *a, const char *why_s)
{
    a->kind = DC_NONE;
    why(a, "%s", why_s);
    return 0;
}

static void set_create(struct dc_action *a, enum dc_kind kind, const char *type, const char *name)
{
    a->kind = kind;
    a->pod_type = type;
    snprintf(a->pod, sizeof(a->pod), "%s", name);
}

static void set_delete(struct dc_action *a, const char *name, struct json_object *pod)
{
    a->kind = DC_DELETE_POD;
    snprintf(a->pod, sizeof(a->pod), "%s", name);
    snprintf(a->pod_uid, sizeof(a->pod_uid), "%s", jx_str_or(pod, "uid", ""));
}

/* Releases our finalizer on pod p: a merge patch carrying the pod's
 * resourceVersion. */
static int release_pod(struct dc_action *a, struct json_object *p, const char *why_s)
{
    a->kind = DC_RELEASE_POD;
    snprintf(a->pod, sizeof(a->pod), "%s", jx_str_or(p, "name", ""));
    snprintf(a->pod_uid, sizeof(a->pod_uid), "%s", jx_str_or(p, "uid", ""));
    a->patch = json_object_new_object();
    if (a->patch == NULL)
        return -ENOMEM;
    const char *rv = jx_str(p, "resourceVersion");
    if (rv != NULL)
        jx_set_str(a->patch, "metadata.resourceVersion", rv);
    struct json_object *f = arr_edit(jx_arr(p, "finalizers"), FINALIZER_TRACKING, false);
    if (f == NULL)
        return -ENOMEM;
    jx_set(a->patch, "metadata.finalizers", f);
    why(a, "releasing pod %s (%s)", a->pod, why_s);
    return 0;
}

/* The first pod holding our finalizer, or NULL. */
static struct json_object *tracked_pod(struct json_object *pods)
{
    for (size_t i = 0; pods != NULL && i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (arr_has(jx_arr(p, "finalizers"), FINALIZER_TRACKING))
            return p;
    }
    return NULL;
}

/* A pod holding our finalizer whose OMJob is gone (omjob or uid NULL), or of an
 * earlier OMJob of the same name; NULL when there is none. */
static struct json_object *stray_pod(struct json_object *pods, struct json_object *omjob,
                                     const char *uid)
{
    for (size_t i = 0; pods != NULL && i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (arr_has(jx_arr(p, "finalizers"), FINALIZER_TRACKING) &&
            (omjob == NULL || uid == NULL || !str_eq(jx_str(p, "ownerUid"), uid)))
            return p;
    }
    return NULL;
}

static int omjob_finalizer(struct ctx *c, bool add)
{
    struct dc_action *a = c->a;
    a->kind = add ? DC_ADD_FINALIZER : DC_RELEASE_OMJOB;
    a->patch = json_object_new_object();
    if (a->patch == NULL)
        return -ENOMEM;
    const char *rv = jx_str(c->omjob, "metadata.resourceVersion");
    if (rv != NULL)
        jx_set_str(a->patch, "metadata.resourceVersion", rv);
    struct json_object *f = arr_edit(jx_arr(c->omjob, "metadata.finalizers"), FINALIZER_OMJOB, add);
    if (f == NULL)
        return -ENOMEM;
    jx_set(a->patch, "metadata.finalizers", f);
    why(a, add ? "adding the OMJob finalizer" : "releasing the OMJob");
    return 0;
}

/* given: the exit pod's main outcome when status does not hold it yet (NULL: from
 * status). */
static int build_pod(struct ctx *c, enum podspec_kind kind, unsigned attempt0,
                     const struct podspec_exit_info *given)
{
    struct json_object *status = jx_obj(c->omjob, "status");
    struct podspec_exit_info ei = {0};
    char err[256] = "";
    int64_t code;
    if (kind == PODSPEC_EXIT && given != NULL) {
        ei = *given;
    } else if (kind == PODSPEC_EXIT) {
        ei.pe_success = main_succeeded(status);
        ei.pe_exit_code_known = jx_i64(status, "mainPodExitCode", &code) == 0;
        ei.pe_exit_code = ei.pe_exit_code_known ? (int)code : 0;
        ei.pe_reason = jx_str(status, "mainPodReason");
        ei.pe_main_pod = jx_str(status, "mainPodName");
        ei.pe_attempt = attempt0;
    }
    if (wc_template_omitted(c->omjob, kind == PODSPEC_EXIT)) {
        c->a->need_template = true; /* the caller GETs the OMJob and decides again */
        return -EAGAIN;
    }
    int rc = podspec_build(c->omjob, kind, &ei, &c->a->pod_obj, err, sizeof(err));
    if (rc == -ENOMEM)
        return rc;
    if (rc != 0) {
        c->a->pod_obj = NULL;
        snprintf(c->a->why, sizeof(c->a->why), "%.150s", err);
        return -EINVAL;
    }
    return 0;
}

/* ---- one pod of ours, the main or an exit pod: the checks, written once ---- */

/* What a pod is doing, as far as the next write goes. before_outcome (the main
 * pod) and after_outcome (the exit pods) map it to their own actions. */
enum pod_verdict {
    PV_ABSENT,        /* not in the cache */
    PV_FOREIGN,       /* its name is held by a pod of an earlier OMJob of this name */
    PV_ENDED,         /* ended (how: o) */
    PV_START_TIMEOUT, /* still not running start_timeout_ms after its creation */
    PV_NODE_LOST,     /* it ran, on a node silent for node_lost_s */
    PV_UP,            /* pending or running: look again at start_deadline / lost_at */
};

struct pod_check {
    enum pod_verdict verdict;
    const char *name;
    struct json_object *pod; /* NULL when absent */
    struct dc_outcome o;     /* PV_ENDED; not ended otherwise */
    bool running;            /* phase Running, or Unknown (it ran, on a node gone silent) */
    int64_t start_deadline;  /* its creation + the start timeout; 0: creation unknown */
    int64_t lost_at;         /* PV_UP: when its node counts as lost; 0: not unready */
    char waiting[400];       /* PV_START_TIMEOUT: why it is not running */
};

/* Judges the pod called name (the main pod or an exit attempt) by its phase, the
 * OMJob's start timeout and the node-lost timeout. */
static void pod_check(const struct ctx *c, const char *name, struct pod_check *pc)
{
    const struct dc_input *in = c->in;
    memset(pc, 0, sizeof(*pc));
    pc->name = name;
    pc->pod = pod_named(in->pods, name);
    if (pc->pod == NULL) {
        pc->verdict = PV_ABSENT;
        return;
    }
    if (!str_eq(jx_str(pc->pod, "ownerUid"), c->uid)) {
        pc->verdict = PV_FOREIGN;
        return;
    }
    dc_classify(pc->pod, &pc->o);
    const char *phase = jx_str(pc->pod, "phase");
    pc->running = str_eq(phase, "Running") || str_eq(phase, "Unknown");
    int64_t created = time_ms(pc->pod, "creationTimestamp");
    pc->start_deadline = created > 0 ? created + c->start_timeout_ms : 0;
    if (pc->o.ended) {
        pc->verdict = PV_ENDED;
    } else if (!pc->running && created > 0 && in->now_ms >= pc->start_deadline) {
        pc->verdict = PV_START_TIMEOUT;
        waiting_reason(pc->pod, pc->waiting, sizeof(pc->waiting));
    } else if (node_lost(pc->pod, in->now_ms, in->cfg->node_lost_s, &pc->lost_at)) {
        pc->verdict = PV_NODE_LOST;
    } else {
        pc->verdict = PV_UP;
    }
}

static int record_outcome(struct ctx *c, const struct dc_outcome *o, bool had_pod);
static int finish_now(struct ctx *c, const char *eh_field_reason, const char *eh_reason,
                      const char *eh_msg);
static void decided(struct dc_outcome *o, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shows a wait in status: message m, condition Waiting True with reason (phase
 * Pending when the OMJob has none yet). */
static int show_wait(struct ctx *c, const char *reason, const char *m)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    if (c->phase == NULL)
        st_phase(&s, PH_PENDING);
    st_set(&s, "message", m);
    st_cond(&s, COND_WAITING, true, reason, m);
    st_commit(&s, c->a, c->phase);
    return 0;
}

/* A pod holds a name this OMJob needs (docs/LIFECYCLE.md, "Waits"). */
enum conflict {
    CF_STRANGER, /* in the cache, controlled by no OMJob: never touched */
    CF_HIDDEN,   /* not in the cache (no OMJob label), yet the create said AlreadyExists */
    CF_EARLIER,  /* an earlier OMJob of this name's, on its way out (garbage collector) */
};

/* How long a pod of an earlier OMJob may hold the name silently: the garbage
 * collector takes about a second once its finalizer is released. */
#define EARLIER_GRACE_MS 5000

/* Until when a pod of an earlier OMJob holds the name silently: EARLIER_GRACE_MS
 * after the OMJob's creation or the pod's deletion, whichever is later. */
static int64_t earlier_grace_end(const struct ctx *c, const char *name)
{
    int64_t from = time_ms(c->omjob, "metadata.creationTimestamp");
    int64_t del = time_ms(pod_named(c->in->pods, name), "deletionTimestamp");
    return (del > from ? del : from) + EARLIER_GRACE_MS;
}

/* When a wait for a pod name ends: the start timeout after it began. The main
 * pod: from the OMJob's creation (as CreateFailed). An exit pod: from the Waiting
 * condition about it (now when there is none yet), else (a CRD that prunes
 * conditions: the time would move at every pass) the OMJob's creation.
 * 0: no time known. */
static int64_t conflict_deadline(const struct ctx *c, bool is_main)
{
    struct json_object *w = waiting_cond(jx_obj(c->omjob, "status"));
    int64_t since = 0;
    bool conds = jx_arr(jx_obj(c->omjob, "status"), "conditions") != NULL;
    if (!is_main && w != NULL && str_eq(jx_str(w, "reason"), "PodNameConflict"))
        since = time_ms(w, "lastTransitionTime");
    else if (!is_main && conds)
        since = c->in->now_ms; /* it begins now: the condition written now says so */
    if (since <= 0)
        since = time_ms(c->omjob, "metadata.creationTimestamp");
    return since > 0 ? since + c->start_timeout_ms : 0;
}

/* The wait is over: the main pod's outcome (the exit handler then runs), or,
 * for an exit pod, the OMJob fails without it. The pod is never touched. */
static int conflict_timeout(struct ctx *c, const char *name, bool is_main)
{
    long long secs = (long long)(c->start_timeout_ms / 1000);
    if (is_main) {
        struct dc_outcome o;
        decided(&o, "PodNameConflict",
                "pod %s is not this OMJob's and was still there after %lld s: the main pod "
                "was never created",
                name, secs);
        add_event(c->a, EV_WARNING, "PodNameConflict",
                  "pod %s still holds the main pod's name after %lld s: giving up", name, secs);
        return record_outcome(c, &o, false);
    }
    char m[300];
    snprintf(m, sizeof(m),
             "exit handler not run: pod %s is not this OMJob's and was still there "
             "after %lld s",
             name, secs);
    add_event(c->a, EV_WARNING, "PodNameConflict",
              "pod %s still holds the exit handler pod's name after %lld s: giving up", name, secs);
    return finish_now(c, "PodNameConflict", "Failed", m);
}

/* A pod holds the name of the main pod or the exit pod: it is never touched. The
 * OMJob waits visibly: status.message says why and until when, with the Waiting
 * condition and one Warning PodNameConflict (written once: the message is then
 * what status shows); at the deadline it gives up (conflict_timeout). A pod in
 * the cache: its deletion wakes the key, and a look every 5 s covers a
 * relabelled one; a hidden one: the loop's create, paced by its backoff, finds
 * out. */
static int wait_conflict(struct ctx *c, const char *name, bool is_main, enum conflict kind)
{
    int64_t deadline = conflict_deadline(c, is_main);
    if (deadline > 0 && c->in->now_ms >= deadline)
        return conflict_timeout(c, name, is_main);
    if (kind == CF_EARLIER && c->in->now_ms < earlier_grace_end(c, name)) {
        c->a->kind = DC_NONE;
        c->a->requeue_at_ms = c->in->now_ms + 1000;
        why(c->a, "pod %s belongs to an earlier OMJob of this name: waiting for it to go", name);
        return 0;
    }
    char m[600], at[40] = "";
    const char *what = kind == CF_STRANGER ? "exists and is not owned by this OMJob (no "
                                             "ownerReference to it); it is left alone: delete or "
                                             "rename it to let the OMJob go on"
                       : kind == CF_HIDDEN
                           ? "exists (the API server answers AlreadyExists) and is not one this "
                             "OMJob's watch sees (no omjob.pipelines.openmetadata.org/name "
                             "label); it is left alone: delete or rename it to let the OMJob go on"
                           : "belongs to an earlier OMJob of this name and is still being removed "
                             "(garbage collector)";
    if (deadline > 0)
        fmt_time(deadline, at, sizeof(at));
    snprintf(m, sizeof(m), "waiting: pod %s %s%s%s", name, what,
             deadline > 0 ? "; it ends as PodNameConflict at " : "", at);
    if (str_eq(jx_str(c->omjob, "status.message"), m)) {
        if (kind == CF_HIDDEN)
            return -EAGAIN; /* shown: the caller creates again (paced by the loop) */
        c->a->kind = DC_NONE;
        c->a->requeue_at_ms =
            earliest(c->in->now_ms + (kind == CF_EARLIER ? 1000 : 5000), deadline);
        why(c->a, "pod %s is not ours: waiting", name);
        return 0;
    }
    add_event(c->a, EV_WARNING, "PodNameConflict", "%s", m);
    why(c->a, "pod %s is not ours: waiting visibly", name);
    return show_wait(c, "PodNameConflict", m);
}

/* PV_FOREIGN: a stranger's pod, or an earlier OMJob's that goes once its
 * finalizer is released (the stray-pod pass of dc_decide). */
static int wait_foreign(struct ctx *c, const char *name, bool is_main)
{
    bool stranger = jx_str(pod_named(c->in->pods, name), "ownerUid") == NULL;
    return wait_conflict(c, name, is_main, stranger ? CF_STRANGER : CF_EARLIER);
}

/* The loop's create of name said AlreadyExists while the cache shows no such pod. */
static bool name_taken(const struct ctx *c, const char *name)
{
    return c->in->name_taken != NULL && str_eq(c->in->name_taken, name);
}

/* ---- the final status and the main outcome ---- */

/* The message of the last condition of type, or NULL. */
static const char *cond_message(struct json_object *status, const char *type)
{
    const char *m = NULL;
    struct json_object *conds = jx_arr(status, "conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++) {
        struct json_object *x = json_object_array_get_idx(conds, i);
        if (str_eq(jx_str(x, "type"), type))
            m = jx_str(x, "message");
    }
    return m;
}

static bool has_cond(struct json_object *status, const char *type)
{
    struct json_object *conds = jx_arr(status, "conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++)
        if (str_eq(jx_str(json_object_array_get_idx(conds, i), "type"), type))
            return true;
    return false;
}

/* The main pod's half of the final message. */
static void main_desc(struct st *s, char *buf, size_t sz)
{
    const char *mreason = st_str(s, "mainPodReason");
    int64_t code = 0;
    if (main_succeeded(s->status)) {
        snprintf(buf, sz, "main pod succeeded");
    } else if (jx_i64(s->status, "mainPodExitCode", &code) == 0) {
        snprintf(buf, sz, "main pod failed: %s (exit code %lld)",
                 mreason != NULL ? mreason : "Error", (long long)code);
    } else {
        /* No exit code: say why (did not start, rejected, node lost, ...). */
        const char *detail = cond_message(s->status, "MainPodFinished");
        snprintf(buf, sz, "main pod failed: %s%s%.150s", mreason != NULL ? mreason : "Error",
                 nonempty(detail) ? ": " : "", nonempty(detail) ? detail : "");
    }
}

/* The final status: phase Succeeded or Failed, completionTime, conditions,
 * message; with the OMJobCompleted / OMJobFailed Event. eh_reason describes the
 * exit handler's end for ExitHandlerFinished. */
static void finish(struct ctx *c, struct st *s, const char *eh_reason, const char *eh_msg)
{
    bool main_ok = main_succeeded(s->status);
    bool eh_ok = str_eq(eh_reason, "Succeeded") || str_eq(eh_reason, "NotConfigured") ||
                 str_eq(eh_reason, "Skipped");
    const char *mreason = st_str(s, "mainPodReason");
    char mdesc[200], msg[600];
    main_desc(s, mdesc, sizeof(mdesc));
    snprintf(msg, sizeof(msg), "%s; %s", mdesc, eh_msg);
    const char *from = jx_str(c->omjob, "status.phase");
    bool ok = main_ok && eh_ok;
    st_phase(s, ok ? PH_SUCCEEDED : PH_FAILED);
    st_set(s, "message", msg);
    st_set(s, "completionTime", s->now);
    st_unwait(s, ok ? PH_SUCCEEDED : PH_FAILED, msg);
    /* Gone when the CRD prunes conditions (restore_pruned): the final status
     * still has its full shape where the schema keeps it. */
    if (!has_cond(s->status, "MainPodFinished") && mreason != NULL)
        st_cond(s, "MainPodFinished", true, mreason, mdesc);
    st_cond(s, "ExitHandlerFinished", true, eh_reason, eh_msg);
    if (ok) {
        st_cond(s, "Complete", true, "Succeeded", msg);
        add_event(c->a, EV_NORMAL, "OMJobCompleted", "%s", msg);
    } else {
        st_cond(s, "Failed", true, main_ok ? "ExitHandlerFailed" : mreason, msg);
        add_event(c->a, EV_WARNING, "OMJobFailed", "%s", msg);
    }
    st_commit(s, c->a, from);
    why(c->a, "finished: %s", ok ? PH_SUCCEEDED : PH_FAILED);
}

/* The final status with what the status holds now plus exitHandlerReason
 * (NULL: left as it is). */
static int finish_now(struct ctx *c, const char *eh_field_reason, const char *eh_reason,
                      const char *eh_msg)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    if (eh_field_reason != NULL)
        st_set(&s, "exitHandlerReason", eh_field_reason);
    finish(c, &s, eh_reason, eh_msg);
    return 0;
}

/* Records the main pod's outcome, then either the exit handler's first attempt
 * (phase ExitHandlerRunning) or, without one, the final status. */
static int record_outcome(struct ctx *c, const struct dc_outcome *o, bool had_pod)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    const char *from = jx_str(c->omjob, "status.phase");
    st_set(&s, "mainPodReason", o->reason);
    if (o->code_known)
        st_set_int(&s, "mainPodExitCode", o->code);
    if (st_str(&s, "mainPodName") == NULL)
        st_set(&s, "mainPodName", c->main_name);
    if (st_str(&s, "startTime") == NULL && had_pod)
        st_set(&s, "startTime", s.now);
    char mmsg[600];
    if (o->code_known)
        snprintf(mmsg, sizeof(mmsg), "main pod %s ended: %s (exit code %d): %s", c->main_name,
                 o->reason, o->code, o->message);
    else
        snprintf(mmsg, sizeof(mmsg), "main pod %s ended: %s: %s", c->main_name, o->reason,
                 o->message);
    st_cond(&s, "MainPodFinished", true, o->reason, o->message);
    st_unwait(&s, o->reason, mmsg);
    add_event(c->a, str_eq(o->reason, "Completed") ? EV_NORMAL : EV_WARNING, "MainPodCompleted",
              "%s", mmsg);
    if (!c->has_exit_spec || c->skip_exit) {
        finish(c, &s, c->has_exit_spec ? "Skipped" : "NotConfigured",
               c->has_exit_spec ? "exit handler skipped (annotation " ANNOTATION_SKIP_EXIT_HANDLER
                                  ")"
                                : "no exit handler configured");
        why(c->a, "main pod ended (%s); no exit handler: finished", o->reason);
        return 0;
    }
    char ename[PODSPEC_NAME_BUF];
    exit_name(c, 0, ename, sizeof(ename));
    st_phase(&s, PH_EXIT);
    st_set(&s, "message", mmsg);
    st_set(&s, "exitHandlerPodName", ename);
    st_set_int(&s, "exitHandlerAttempts", 1);
    st_cond(&s, "ExitHandlerFinished", false, "Running", "exit handler starting");
    st_commit(&s, c->a, from);
    why(c->a, "main pod ended (%s): recording the outcome", o->reason);
    return 0;
}

/* An outcome decided here (a deadline, a rejection, a disappearance, a
 * cancellation), not read from the pod. */
static void decided(struct dc_outcome *o, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void decided(struct dc_outcome *o, const char *reason, const char *fmt, ...)
{
    va_list ap;
    memset(o, 0, sizeof(*o));
    o->ended = true;
    snprintf(o->reason, sizeof(o->reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof(o->message), fmt, ap);
    va_end(ap);
}

/* ---- before the main outcome is recorded: the main pod ---- */

/* The first exit pod exists: record the outcome it was told (its annotations),
 * which wins over what the main pod shows by now. */
static int record_told(struct ctx *c, struct dc_outcome *o, struct json_object *epod)
{
    const char *r = jx_str(epod, "mainReason");
    const char *code = jx_str(epod, "mainExitCode");
    long long v;
    if (nonempty(r) && strcmp(r, o->reason) != 0) {
        snprintf(o->reason, sizeof(o->reason), "%s", r);
        o->code_known = false;
    }
    if (r != NULL && code != NULL) {
        o->code_known = util_parse_i64(code, -2147483648LL, 2147483647LL, &v) == 0;
        o->code = o->code_known ? (int)v : 0;
    }
    return record_outcome(c, o, true);
}

/* Creates the first exit pod, telling it the main outcome o. */
static int create_first_exit(struct ctx *c, const struct dc_outcome *o, const char *ename)
{
    struct dc_action *a = c->a;
    struct podspec_exit_info ei = {
        .pe_success = str_eq(o->reason, "Completed") && o->code_known && o->code == 0,
        .pe_exit_code_known = o->code_known,
        .pe_exit_code = o->code,
        .pe_reason = o->reason,
        .pe_main_pod = c->main_name,
        .pe_attempt = 0,
    };
    int rc = build_pod(c, PODSPEC_EXIT, 0, &ei);
    if (rc == -EINVAL) {
        /* The exit pod cannot be built: record the outcome; after_outcome says why.
         * The OMJob decided on (a->hold) stays. */
        struct json_object *hold = a->hold;
        a->hold = NULL;
        dc_action_clear(a);
        a->hold = hold;
        return record_outcome(c, o, true);
    }
    if (rc != 0)
        return rc;
    set_create(a, DC_CREATE_EXIT, POD_TYPE_EXIT_HANDLER, ename);
    add_event(a, EV_NORMAL, "ExitHandlerCreated",
              "created exit handler pod %s (attempt 1, pipelineStatus=%s)", ename,
              ei.pe_success ? "success" : "failed");
    why(a, "main pod ended (%s): creating exit pod %s", o->reason, ename);
    return 0;
}

/* The main pod ended on its own evidence (its phase, deletion or disruption, all
 * kept by our finalizer): the exit pod is created first, carrying the outcome in
 * its env and annotations, and status records it right after, from those
 * annotations. One write between the main pod's end and the exit handler's start;
 * a crash in between leaves the exit pod as the record. */
static int dispatch(struct ctx *c, struct dc_outcome *o)
{
    char ename[PODSPEC_NAME_BUF];
    exit_name(c, 0, ename, sizeof(ename));
    struct pod_check ep;
    pod_check(c, ename, &ep);
    /* Its name held: status first; after_outcome waits for the name. */
    if (ep.verdict == PV_FOREIGN || (ep.verdict == PV_ABSENT && name_taken(c, ename)))
        return record_outcome(c, o, true);
    if (ep.verdict != PV_ABSENT)
        return record_told(c, o, ep.pod);
    if (c->in->exit_create_rejected)
        return record_outcome(c, o, true);
    return create_first_exit(c, o, ename);
}

/* Creates the main pod; one that cannot be built from the spec is InvalidSpec. */
static int create_main(struct ctx *c)
{
    struct dc_action *a = c->a;
    int rc = build_pod(c, PODSPEC_MAIN, 0, NULL);
    if (rc == -EINVAL) {
        struct dc_outcome o;
        decided(&o, "InvalidSpec", "%s", a->why);
        add_event(a, EV_WARNING, "InvalidSpec", "cannot build the main pod: %s", a->why);
        return record_outcome(c, &o, false);
    }
    if (rc != 0)
        return rc;
    set_create(a, DC_CREATE_MAIN, POD_TYPE_MAIN, c->main_name);
    add_event(a, EV_NORMAL, "MainPodCreated", "created main pod %s", c->main_name);
    why(a, "creating main pod %s", c->main_name);
    return 0;
}

/* The main pod's creation was rejected (quota, admission): the FailedCreate
 * Warning (the loop's, aggregated) says each refusal; status says that the OMJob
 * waits, and until when, once. The loop's backoff paces the next create. */
static int create_wait(struct ctx *c, int64_t deadline)
{
    char at[40], m[600];
    fmt_time(deadline, at, sizeof(at));
    snprintf(m, sizeof(m),
             "waiting: the main pod cannot be created: %.400s; retried with backoff, it ends "
             "as CreateFailed at %s (%lld s after the OMJob's creation)",
             c->in->create_error, at, (long long)(c->start_timeout_ms / 1000));
    why(c->a, "main pod rejected: waiting visibly");
    return show_wait(c, "FailedCreate", m);
}

/* No main pod in the cache: not created yet, or gone (status names it). */
static int main_absent(struct ctx *c)
{
    const struct dc_input *in = c->in;
    struct dc_outcome o;
    bool named = str_eq(jx_str(c->omjob, "status.mainPodName"), c->main_name);
    if (named && !is_gone(in, c->main_name)) {
        c->a->kind = DC_VERIFY_GONE;
        snprintf(c->a->pod, sizeof(c->a->pod), "%s", c->main_name);
        why(c->a, "main pod %s missing from the cache", c->main_name);
        return 0;
    }
    if (named) {
        decided(&o, "Deleted", "the pod disappeared (force-deleted)");
        return record_outcome(c, &o, true);
    }
    if (c->deleting) {
        decided(&o, "Cancelled", "the OMJob was deleted before the main pod was created");
        add_event(c->a, EV_NORMAL, "Cancelling",
                  "OMJob deleted before its main pod was created: running the exit handler");
        return record_outcome(c, &o, false);
    }
    if (in->ns_terminating) {
        /* Refused because the namespace is being deleted: it never accepts the
         * pod again. Recorded at once (no retry), and the exit handler cannot be
         * created either (exit_absent). */
        decided(&o, "NamespaceTerminating",
                "namespace %.100s is being deleted: the main pod cannot be created", c->ns);
        return record_outcome(c, &o, false);
    }
    int64_t deadline = dc_create_deadline_ms(c->omjob, in->cfg);
    if (in->create_error != NULL && deadline > 0 && in->now_ms >= deadline) {
        decided(&o, "CreateFailed", "the API server rejected the main pod for %lld s: %s",
                (long long)(c->start_timeout_ms / 1000), in->create_error);
        return record_outcome(c, &o, false);
    }
    if (name_taken(c, c->main_name)) {
        int rc = wait_conflict(c, c->main_name, true, CF_HIDDEN);
        if (rc != -EAGAIN)
            return rc;
    }
    if (in->create_error != NULL && deadline > 0 &&
        !shows_wait(jx_obj(c->omjob, "status"), "the main pod", "FailedCreate"))
        return create_wait(c, deadline);
    return create_main(c);
}

/* How long after a main pod's deletion request its OMJob's own deletion may still
 * be on its way through the watcher (see deletion_settling). */
#define DELETE_SETTLE_MS 2000

/* A main pod deleted while its OMJob shows no deletion: foreground deletion marks
 * the OMJob first and then deletes its dependents, but the watcher's separate
 * streams can deliver the pod's change first; dispatched at once, the exit pod
 * was told Deleted while status then said Cancelled (it_test_cancel, fg2/fg3,
 * under ASan). So a deletion waits DELETE_SETTLE_MS from its request (its
 * deletionTimestamp less the grace period, whole seconds) before it counts as the
 * pod's own end. True, with the action set, while it waits. */
static bool deletion_settling(struct ctx *c, const struct dc_outcome *o, struct json_object *pod)
{
    int64_t del = time_ms(pod, "deletionTimestamp");
    int64_t grace = jx_i64_or(pod, "deletionGracePeriodSeconds", 0);
    if (c->deleting || !o->disrupted || !str_eq(o->reason, "Deleted") || del <= 0)
        return false;
    int64_t settled = del - grace * 1000 + DELETE_SETTLE_MS;
    if (c->in->now_ms >= settled)
        return false;
    c->a->kind = DC_NONE;
    c->a->requeue_at_ms = settled;
    why(c->a, "main pod %s deleted: %lld ms for its OMJob's deletion to show", c->main_name,
        (long long)(settled - c->in->now_ms));
    return true;
}

/* Ended on its own evidence: the exit pod first (dispatch), or, when the OMJob is
 * being deleted or no exit handler runs, status first. */
static int main_ended(struct ctx *c, struct dc_outcome *o, struct json_object *pod)
{
    if (deletion_settling(c, o, pod))
        return 0;
    if (c->deleting && o->disrupted) {
        /* Deleted with the OMJob (foreground deletion deletes dependents first):
         * a cancellation, not a disruption (the container's exit code stays). */
        snprintf(o->reason, sizeof(o->reason), "Cancelled");
        snprintf(o->message, sizeof(o->message), "the OMJob was deleted");
        add_event(c->a, EV_NORMAL, "Cancelling", "OMJob deleted: running the exit handler");
    }
    if (!c->deleting && c->has_exit_spec && !c->skip_exit)
        return dispatch(c, o);
    return record_outcome(c, o, true);
}

/* The OMJob was deleted while its main pod is pending or running. */
static int main_cancel(struct ctx *c, struct json_object *pod)
{
    struct dc_outcome o;
    decided(&o, "Cancelled", "the OMJob was deleted while the main pod was %s",
            jx_str_or(pod, "phase", "Pending"));
    add_event(c->a, EV_NORMAL, "Cancelling",
              "OMJob deleted: stopping main pod %s and running the exit handler", c->main_name);
    return record_outcome(c, &o, true);
}

/* Not started in time: StartTimeout, recorded first; after_outcome deletes it. */
static int main_start_timeout(struct ctx *c, const struct pod_check *pc)
{
    struct dc_outcome o;
    long long secs = (long long)(c->start_timeout_ms / 1000);
    decided(&o, "StartTimeout", "did not start within %lld s: %.300s", secs, pc->waiting);
    add_event(c->a, EV_WARNING, "StartTimeout", "main pod %s did not start within %lld s: %s",
              c->main_name, secs, pc->waiting);
    return record_outcome(c, &o, true);
}

/* Its node stopped answering: NodeLost, recorded first; after_outcome deletes it. */
static int main_node_lost(struct ctx *c, const struct pod_check *pc)
{
    struct dc_outcome o;
    const char *node = jx_str_or(pc->pod, "nodeName", "?");
    int lost_s = c->in->cfg->node_lost_s;
    decided(&o, "NodeLost", "node %s stopped answering: the pod was not ready for %d s", node,
            lost_s);
    add_event(c->a, EV_WARNING, "NodeLost", "main pod %s: node %s stopped answering for %d s",
              c->main_name, node, lost_s);
    return record_outcome(c, &o, true);
}

/* When the main pod's spec.activeDeadlineSeconds runs out: its creation + the
 * deadline (the kubelet counts from its start, a little later: ours comes first,
 * so the outcome is the same on any node); 0 when none. */
static int64_t active_deadline(const struct ctx *c, const struct pod_check *pc)
{
    int64_t created = time_ms(pc->pod, "creationTimestamp");
    return c->active_deadline_ms > 0 && created > 0 ? created + c->active_deadline_ms : 0;
}

/* Ran out of spec.activeDeadlineSeconds: DeadlineExceeded, recorded first;
 * after_outcome deletes it, then the exit handler runs as for any failure. */
static int main_deadline_exceeded(struct ctx *c)
{
    struct dc_outcome o;
    long long secs = (long long)(c->active_deadline_ms / 1000);
    decided(&o, "DeadlineExceeded", "stopped after activeDeadlineSeconds (%lld s)", secs);
    add_event(c->a, EV_WARNING, "DeadlineExceeded",
              "main pod %s ran longer than activeDeadlineSeconds (%lld s): stopping it",
              c->main_name, secs);
    return record_outcome(c, &o, true);
}

/* Status follows a main pod that is pending or running; reason/text (NULL: none)
 * when it waits on something outside the operator's control (pod_stuck): the
 * message says why and when that wait ends, with the Waiting condition and one
 * Warning PodWaiting. */
static int main_status(struct ctx *c, const struct pod_check *pc, const char *reason,
                       const char *text)
{
    const char *want = pc->running ? PH_RUNNING : PH_PENDING;
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    st_phase(&s, want);
    st_set(&s, "mainPodName", c->main_name);
    if (st_str(&s, "startTime") == NULL) {
        const char *t = jx_str(pc->pod, "creationTimestamp");
        st_set(&s, "startTime", t != NULL ? t : s.now);
    }
    char msg[600], at[40];
    if (reason != NULL) {
        fmt_time(pc->start_deadline, at, sizeof(at));
        snprintf(msg, sizeof(msg),
                 "waiting: main pod %s is not starting: %.300s; it ends as StartTimeout at %s "
                 "(%lld s after its creation) unless it starts",
                 c->main_name, text, at, (long long)(c->start_timeout_ms / 1000));
        st_cond(&s, COND_WAITING, true, reason, msg);
        add_event(c->a, EV_WARNING, "PodWaiting", "%s", msg);
    } else {
        snprintf(msg, sizeof(msg),
                 pc->running ? "main pod %s is running" : "main pod %s is pending", c->main_name);
        st_unwait(&s, pc->running ? "Started" : "Progressing", msg);
    }
    st_set(&s, "message", msg);
    st_cond(&s, "MainPodFinished", false, want, msg);
    st_cond(&s, "ExitHandlerFinished", false, "Waiting", "waiting for the main pod");
    st_commit(&s, c->a, c->phase);
    why(c->a, "main pod %s", reason != NULL ? "waiting" : pc->running ? "running" : "pending");
    return 0;
}

/* Still going: keep status in step with the pod (its phase, and a wait it shows
 * or no longer shows), else look again when it would time out (pending) or count
 * as lost (running, unready). */
static int main_up(struct ctx *c, const struct pod_check *pc)
{
    const char *want = pc->running ? PH_RUNNING : PH_PENDING;
    struct json_object *status = jx_obj(c->omjob, "status");
    char reason[64], text[400], what[PODSPEC_NAME_BUF + 16];
    bool stuck = !pc->running && pc->start_deadline > 0 &&
                 pod_stuck(pc->pod, reason, sizeof(reason), text, sizeof(text));
    snprintf(what, sizeof(what), "main pod %s", c->main_name);
    if (stuck && !shows_wait(status, what, reason))
        return main_status(c, pc, reason, text);
    if (!stuck && shows_a_wait(status))
        return main_status(c, pc, NULL, NULL);
    if (!str_eq(c->phase, want) || !str_eq(jx_str(c->omjob, "status.mainPodName"), c->main_name))
        return main_status(c, pc, stuck ? reason : NULL, text);
    c->a->kind = DC_NONE;
    c->a->requeue_at_ms =
        earliest(pc->running ? pc->lost_at : pc->start_deadline, active_deadline(c, pc));
    why(c->a, "main pod %s", stuck ? "waiting" : pc->running ? "running" : "pending");
    return 0;
}

/* Before the main outcome is recorded: create the main pod and follow it, until
 * it ends on its own or we end it (the OMJob's deletion, a deadline, a lost node);
 * then record how it ended. */
static int before_outcome(struct ctx *c)
{
    struct pod_check pc;
    pod_check(c, c->main_name, &pc);
    if (pc.verdict == PV_FOREIGN)
        return wait_foreign(c, c->main_name, true);
    if (pc.verdict == PV_ABSENT)
        return main_absent(c);
    if (pc.verdict == PV_ENDED)
        return main_ended(c, &pc.o, pc.pod);
    if (c->deleting)
        return main_cancel(c, pc.pod);
    int64_t deadline = active_deadline(c, &pc);
    if (deadline > 0 && c->in->now_ms >= deadline)
        return main_deadline_exceeded(c);
    if (pc.verdict == PV_START_TIMEOUT)
        return main_start_timeout(c, &pc);
    if (pc.verdict == PV_NODE_LOST)
        return main_node_lost(c, &pc);
    return main_up(c, &pc);
}

/* ---- after the main outcome is recorded: the exit pods ---- */

/* The main pod still runs although its outcome is recorded (we ended it:
 * Cancelled, StartTimeout, NodeLost, DeadlineExceeded): delete it. True when that
 * is the action. */
static bool stop_main(struct ctx *c)
{
    const char *mreason = jx_str(c->omjob, "status.mainPodReason");
    if (!(str_eq(mreason, "Cancelled") || str_eq(mreason, "StartTimeout") ||
          str_eq(mreason, "NodeLost") || str_eq(mreason, "DeadlineExceeded")))
        return false;
    struct pod_check pc;
    pod_check(c, c->main_name, &pc);
    if (pc.verdict == PV_ABSENT || pc.verdict == PV_FOREIGN || pc.verdict == PV_ENDED ||
        jx_str(pc.pod, "deletionTimestamp") != NULL)
        return false;
    set_delete(c->a, c->main_name, pc.pod);
    why(c->a, "stopping main pod %s (%s)", c->main_name, mreason);
    return true;
}

/* No exit handler is due: none configured, or skipped before its first attempt. */
static int finish_without_exit(struct ctx *c)
{
    return finish_now(c, NULL, c->has_exit_spec ? "Skipped" : "NotConfigured",
                      c->has_exit_spec ? "exit handler skipped" : "no exit handler configured");
}

/* The outcome was recorded by an older writer without the first attempt. */
static int start_first_attempt(struct ctx *c)
{
    char ename[PODSPEC_NAME_BUF];
    exit_name(c, 0, ename, sizeof(ename));
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    st_phase(&s, PH_EXIT);
    st_set(&s, "exitHandlerPodName", ename);
    st_set_int(&s, "exitHandlerAttempts", 1);
    st_commit(&s, c->a, c->phase);
    why(c->a, "starting the exit handler");
    return 0;
}

/* Foreground deletion: the garbage collector deletes every dependent while the
 * OMJob carries foregroundDeletion, an exit pod created now too. Let our pods go
 * first (the main pod's logs with them); once the collector drops
 * foregroundDeletion, new dependents are left alone. */
static int foreground_wait(struct ctx *c)
{
    struct json_object *p = tracked_pod(c->in->pods);
    if (p != NULL)
        return release_pod(c->a, p, "foreground deletion of the OMJob");
    c->a->kind = DC_NONE;
    c->a->requeue_at_ms = c->in->now_ms + 1000;
    why(c->a, "foreground deletion: waiting for the garbage collector before the exit pod");
    return 0;
}

/* Creates exit attempt `attempts`; one that cannot be built from the spec fails
 * the OMJob (InvalidSpec). */
static int create_exit(struct ctx *c, const char *ename, int64_t attempts)
{
    struct dc_action *a = c->a;
    int rc = build_pod(c, PODSPEC_EXIT, (unsigned)(attempts - 1), NULL);
    if (rc == -EINVAL) {
        char err[160], m[300];
        snprintf(err, sizeof(err), "%s", a->why);
        add_event(a, EV_WARNING, "InvalidSpec", "cannot build the exit handler pod: %s", err);
        snprintf(m, sizeof(m), "exit handler cannot be built: %s", err);
        return finish_now(c, "InvalidSpec", "Failed", m);
    }
    if (rc != 0)
        return rc;
    set_create(a, DC_CREATE_EXIT, POD_TYPE_EXIT_HANDLER, ename);
    add_event(a, EV_NORMAL, "ExitHandlerCreated",
              "created exit handler pod %s (attempt %lld, pipelineStatus=%s)", ename,
              (long long)attempts,
              main_succeeded(jx_obj(c->omjob, "status")) ? "success" : "failed");
    why(a, "creating exit pod %s (attempt %lld)", ename, (long long)attempts);
    return 0;
}

/* No pod of this attempt in the cache: not created yet (the status write comes
 * first), or vanished. Creation is idempotent by name either way. */
static int exit_absent(struct ctx *c, const char *ename, int64_t attempts)
{
    if (c->deleting && arr_has(jx_arr(c->omjob, "metadata.finalizers"), "foregroundDeletion"))
        return foreground_wait(c);
    if (c->in->ns_terminating) {
        char m[200];
        snprintf(m, sizeof(m), "exit handler not run: namespace %.100s is being deleted", c->ns);
        return finish_now(c, "NamespaceTerminating", "Failed", m);
    }
    if (name_taken(c, ename)) {
        int rc = wait_conflict(c, ename, false, CF_HIDDEN);
        if (rc != -EAGAIN)
            return rc;
    }
    return create_exit(c, ename, attempts);
}

/* Never started (image, scheduling, a node that took it and went silent), or its
 * node stopped answering: delete it; the deletion makes it disrupted and the next
 * attempt, which may land elsewhere, starts. */
static int exit_delete(struct ctx *c, const struct pod_check *pc)
{
    struct dc_action *a = c->a;
    set_delete(a, pc->name, pc->pod);
    if (pc->verdict == PV_NODE_LOST) {
        add_event(a, EV_WARNING, "NodeLost",
                  "exit handler pod %s: node %s stopped answering for %d s", pc->name,
                  jx_str_or(pc->pod, "nodeName", "?"), c->in->cfg->node_lost_s);
        why(a, "exit pod %s on a lost node", pc->name);
    } else {
        add_event(a, EV_WARNING, "StartTimeout",
                  "exit handler pod %s did not start within %lld s: %.299s", pc->name,
                  (long long)(c->start_timeout_ms / 1000), pc->waiting);
        why(a, "exit pod %s did not start", pc->name);
    }
    return 0;
}

/* An exit pod waits on something outside the operator's control (pod_stuck), or
 * no longer does: status says so (the message keeps "main pod X ended: Reason",
 * which restore_pruned reads), with the Waiting condition and, for a new wait, one
 * Warning PodWaiting. */
static int exit_wait_status(struct ctx *c, const struct pod_check *pc, const char *reason,
                            const char *text, int64_t attempts)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    char w[560], m[720], at[40];
    const char *mreason = jx_str_or(c->omjob, "status.mainPodReason", "?");
    if (reason != NULL) {
        fmt_time(pc->start_deadline, at, sizeof(at));
        snprintf(w, sizeof(w),
                 "waiting: exit handler pod %s is not starting: %.300s; it is deleted at %s "
                 "(%lld s after its creation)%s",
                 pc->name, text, at, (long long)(c->start_timeout_ms / 1000),
                 attempts >= c->in->cfg->exit_max_attempts
                     ? ", its last attempt: the OMJob then fails"
                     : " and replaced by the next attempt");
        st_cond(&s, COND_WAITING, true, reason, w);
        add_event(c->a, EV_WARNING, "PodWaiting", "%s", w);
    } else {
        snprintf(w, sizeof(w), "exit handler pod %s is %s", pc->name,
                 pc->running ? "running" : "pending");
        st_unwait(&s, pc->running ? "Started" : "Progressing", w);
    }
    snprintf(m, sizeof(m), "main pod %.63s ended: %.60s; %s", c->main_name, mreason, w);
    st_set(&s, "message", m);
    st_commit(&s, c->a, c->phase);
    why(c->a, "exit handler %s %s", pc->name, reason != NULL ? "waiting" : "no longer waiting");
    return 0;
}

/* Pending or running: look again at the earliest of its node-lost time, its start
 * deadline (not started yet: a pod in phase Unknown has started, as for the main
 * pod; its deadline may be long past and would wake the key in a loop) and the
 * cancel deadline. A wait it shows, or no longer shows, is written first. */
static int exit_up(struct ctx *c, const struct pod_check *pc, int64_t attempts)
{
    struct dc_action *a = c->a;
    struct json_object *status = jx_obj(c->omjob, "status");
    char reason[64], text[400], what[PODSPEC_NAME_BUF + 24];
    bool stuck = !pc->running && pc->start_deadline > 0 &&
                 pod_stuck(pc->pod, reason, sizeof(reason), text, sizeof(text));
    snprintf(what, sizeof(what), "exit handler pod %s", pc->name);
    if (stuck && !shows_wait(status, what, reason))
        return exit_wait_status(c, pc, reason, text, attempts);
    if (!stuck && shows_a_wait(status))
        return exit_wait_status(c, pc, NULL, NULL, attempts);
    a->kind = DC_NONE;
    a->requeue_at_ms = pc->lost_at;
    if (!pc->running)
        a->requeue_at_ms = earliest(a->requeue_at_ms, pc->start_deadline);
    if (c->deleting)
        a->requeue_at_ms = earliest(a->requeue_at_ms, cancel_deadline_ms(c));
    why(a, "exit handler %s %s", pc->name, stuck ? "waiting" : "running");
    return 0;
}

/* Disrupted (deleted, evicted, node lost): the next attempt, or after the last
 * one the final status with the disruption as exitHandlerReason. */
static int exit_disrupted(struct ctx *c, const struct dc_outcome *o, const char *ename,
                          int64_t attempts)
{
    char m[300];
    if (attempts >= c->in->cfg->exit_max_attempts) {
        snprintf(m, sizeof(m), "exit handler disrupted %lld times (last: %s)", (long long)attempts,
                 o->reason);
        struct st s;
        if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
            return -ENOMEM;
        st_set(&s, "exitHandlerReason", o->reason);
        if (o->code_known)
            st_set_int(&s, "exitHandlerExitCode", o->code);
        finish(c, &s, "Disrupted", m);
        return 0;
    }
    char next[PODSPEC_NAME_BUF];
    exit_name(c, (unsigned)attempts, next, sizeof(next));
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    st_set(&s, "exitHandlerPodName", next);
    st_set_int(&s, "exitHandlerAttempts", attempts + 1);
    snprintf(m, sizeof(m), "exit handler pod %s was %s: starting attempt %lld", ename, o->reason,
             (long long)attempts + 1);
    st_unwait(&s, "Replaced", m);
    add_event(c->a, EV_WARNING, "ExitHandlerRecreated",
              "exit handler pod %s was %s (%s): starting attempt %lld as %s", ename,
              str_eq(o->reason, "Deleted") ? "deleted" : "disrupted", o->reason,
              (long long)attempts + 1, next);
    st_commit(&s, c->a, c->phase);
    why(c->a, "exit pod %s disrupted (%s): attempt %lld", ename, o->reason,
        (long long)attempts + 1);
    return 0;
}

/* Ended on its own: its result is the exit handler's. */
static int exit_ended(struct ctx *c, const struct dc_outcome *o)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    char m[300];
    bool ok = o->code_known && o->code == 0 && str_eq(o->reason, "Completed");
    if (o->code_known)
        st_set_int(&s, "exitHandlerExitCode", o->code);
    st_set(&s, "exitHandlerReason", o->reason);
    if (ok)
        snprintf(m, sizeof(m), "exit handler succeeded");
    else if (o->code_known)
        snprintf(m, sizeof(m), "exit handler failed: %s (exit code %d)", o->reason, o->code);
    else
        snprintf(m, sizeof(m), "exit handler failed: %s", o->reason);
    finish(c, &s, ok ? "Succeeded" : "Failed", m);
    return 0;
}

/* After the outcome is recorded: stop the main pod when we ended it, then the
 * exit handler's attempts, then the final status. */
static int after_outcome(struct ctx *c)
{
    if (stop_main(c))
        return 0;
    int64_t attempts = jx_i64_or(jx_obj(c->omjob, "status"), "exitHandlerAttempts", 0);
    if (!c->has_exit_spec || (c->skip_exit && attempts == 0))
        return finish_without_exit(c);
    if (attempts < 1)
        return start_first_attempt(c);
    char ename[PODSPEC_NAME_BUF];
    exit_name(c, (unsigned)(attempts - 1), ename, sizeof(ename));
    struct pod_check pc;
    pod_check(c, ename, &pc);
    switch (pc.verdict) {
    case PV_FOREIGN:
        return wait_foreign(c, ename, false);
    case PV_ABSENT:
        return exit_absent(c, ename, attempts);
    case PV_START_TIMEOUT:
    case PV_NODE_LOST:
        return exit_delete(c, &pc);
    case PV_UP:
        return exit_up(c, &pc, attempts);
    case PV_ENDED:
        break;
    }
    if (pc.o.disrupted)
        return exit_disrupted(c, &pc.o, ename, attempts);
    return exit_ended(c, &pc.o);
}

/* ---- taking over from the original operator (docs/LIFECYCLE.md) ---- */

/* A pod this OMJob controls (controller ownerReference to its UID) without our
 * finalizer and not being deleted (the API server refuses new finalizers then):
 * one the original operator created, or whose finalizer someone removed by
 * hand. NULL when there is none. */
static struct json_object *unadopted_pod(const struct ctx *c)
{
    struct json_object *pods = c->in->pods;
    for (size_t i = 0; pods != NULL && i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (str_eq(jx_str(p, "ownerUid"), c->uid) &&
            !arr_has(jx_arr(p, "finalizers"), FINALIZER_TRACKING) &&
            jx_str(p, "deletionTimestamp") == NULL)
            return p;
    }
    return NULL;
}

/* Adopts pod p: our finalizer, and the labels our pods carry that it lacks
 * (app name, component, pod type; managed-by is left as it is: the watcher does
 * not select by it), as a merge patch with the pod's resourceVersion, so that a
 * pod changed meanwhile is looked at again first. */
static int adopt_pod(struct ctx *c, struct json_object *p)
{
    struct dc_action *a = c->a;
    a->kind = DC_ADOPT_POD;
    snprintf(a->pod, sizeof(a->pod), "%s", jx_str_or(p, "name", ""));
    snprintf(a->pod_uid, sizeof(a->pod_uid), "%s", jx_str_or(p, "uid", ""));
    struct json_object *labels = json_object_new_object();
    struct json_object *f = arr_edit(jx_arr(p, "finalizers"), FINALIZER_TRACKING, true);
    a->patch = json_object_new_object();
    if (a->patch == NULL || labels == NULL || f == NULL) {
        json_object_put(labels);
        json_object_put(f);
        return -ENOMEM;
    }
    const char *rv = jx_str(p, "resourceVersion");
    if (rv != NULL)
        jx_set_str(a->patch, "metadata.resourceVersion", rv);
    jx_set(a->patch, "metadata.finalizers", f);
    json_object_object_add(labels, LABEL_APP_NAME, json_object_new_string(LABEL_APP_NAME_VALUE));
    json_object_object_add(labels, LABEL_COMPONENT, json_object_new_string(LABEL_COMPONENT_VALUE));
    if (!nonempty(jx_str(p, "podType")))
        json_object_object_add(labels, LABEL_POD_TYPE,
                               json_object_new_string(str_eq(a->pod, c->main_name)
                                                          ? POD_TYPE_MAIN
                                                          : POD_TYPE_EXIT_HANDLER));
    jx_set(a->patch, "metadata.labels", labels);
    why(a, "adopting pod %s (no finalizer of ours: the original operator's)", a->pod);
    return 0;
}

/* The Failed condition's reason for an OMJob finished under the original, which
 * wrote no reasons: from its mainPodExitCode. */
static const char *original_main_reason(struct json_object *status, bool *known)
{
    int64_t code = -1;
    *known = jx_i64(status, "mainPodExitCode", &code) == 0;
    if (!*known)
        return "Unknown";
    return code == 0 ? "Completed" : "Error";
}

/* A status the original operator wrote: none of the fields only this operator
 * writes (an odd status of ours, a terminal phase without completionTime, goes
 * on being decided from the evidence instead). */
static bool by_original(struct json_object *status)
{
    return jx_get(status, "conditions") == NULL && jx_get(status, "mainPodReason") == NULL &&
           jx_get(status, "exitHandlerAttempts") == NULL &&
           jx_get(status, "observedGeneration") == NULL;
}

/* Succeeded or Failed without completionTime: finished under the original
 * operator (this one writes both at once). Final: never re-run. Our status shape
 * is filled in around what it wrote (kept as it is), completionTime from its
 * lastTransitionTime (the phase's), so that the TTL counts from its end. No
 * Event: the original posted its own. */
static int adopt_final(struct ctx *c)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    bool ok = str_eq(c->phase, PH_SUCCEEDED), known;
    const char *ltt = jx_str(c->omjob, "status.lastTransitionTime");
    st_set(&s, "completionTime", time_ms(c->omjob, "status.lastTransitionTime") > 0 ? ltt : s.now);
    const char *orig = jx_str(c->omjob, "status.message");
    char m[400];
    snprintf(m, sizeof(m), "%s under the original operator%s%.300s", c->phase,
             nonempty(orig) ? ": " : "", nonempty(orig) ? orig : "");
    if (!nonempty(orig))
        st_set(&s, "message", m);
    const char *mreason = original_main_reason(s.status, &known);
    const char *eh = !c->has_exit_spec                                ? "NotConfigured"
                     : jx_str(s.status, "exitHandlerPodName") == NULL ? "Unknown"
                     : ok                                             ? "Succeeded"
                                                                      : "Failed";
    st_cond(&s, "MainPodFinished", true, mreason, m);
    st_cond(&s, "ExitHandlerFinished", true, eh, m);
    if (ok)
        st_cond(&s, "Complete", true, "Succeeded", m);
    else
        st_cond(&s, "Failed", true, str_eq(mreason, "Completed") ? "ExitHandlerFailed" : mreason,
                m);
    st_commit(&s, c->a, c->phase);
    why(c->a, "%s under the original operator: recorded as final", c->phase);
    return 0;
}

/* ---- an older CRD that prunes our status fields (docs/LIFECYCLE.md) ---- */

/* The main outcome an exit pod of this OMJob was told (its annotations; every
 * attempt carries the same), or NULL. *code: its exit code annotation ("" when
 * unknown). */
static const char *told_reason(const struct ctx *c, const char **code)
{
    struct json_object *pods = c->in->pods;
    for (size_t i = 0; pods != NULL && i < json_object_array_length(pods); i++) {
        struct json_object *p = json_object_array_get_idx(pods, i);
        if (str_eq(jx_str(p, "ownerUid"), c->uid) &&
            str_eq(jx_str(p, "podType"), POD_TYPE_EXIT_HANDLER) &&
            nonempty(jx_str(p, "mainReason"))) {
            *code = jx_str(p, "mainExitCode");
            return jx_str(p, "mainReason");
        }
    }
    return NULL;
}

/* The reason in the message record_outcome writes with ExitHandlerRunning ("main
 * pod X ended: Reason ..."), into buf; false when the message is not that. */
static bool message_reason(const struct ctx *c, char *buf, size_t sz)
{
    char prefix[PODSPEC_NAME_BUF + 32];
    const char *m = jx_str(c->omjob, "status.message");
    int n = snprintf(prefix, sizeof(prefix), "main pod %s ended: ", c->main_name);
    if (m == NULL || n < 0 || strncmp(m, prefix, (size_t)n) != 0)
        return false;
    m += n;
    size_t len = strcspn(m, " :(");
    if (len == 0 || len >= sz)
        return false;
    memcpy(buf, m, len);
    buf[len] = '\0';
    return true;
}

/* Phase ExitHandlerRunning without mainPodReason: only a CRD whose status schema
 * prunes our fields does that (the original's Helm CRD keeps phase, mainPodName,
 * exitHandlerPodName, startTime, completionTime, message and mainPodExitCode).
 * What the decision needs is then read from where that schema does not prune it:
 * the outcome from the exit pods' annotations, else from the message; the attempt
 * from exitHandlerPodName. On success c decides on a copy holding them, kept in
 * the action (a->hold). Nothing found (an ExitHandlerRunning the original wrote):
 * c is left as it is. */
static int restore_pruned(struct ctx *c)
{
    struct json_object *st = jx_obj(c->omjob, "status"), *copy = NULL;
    if (!str_eq(c->phase, PH_EXIT) || jx_get(st, "mainPodReason") != NULL)
        return 0;
    char reason[64];
    const char *code = NULL, *r = told_reason(c, &code);
    if (r != NULL)
        snprintf(reason, sizeof(reason), "%s", r);
    else if (!message_reason(c, reason, sizeof(reason)))
        return 0;
    if (json_object_deep_copy(c->omjob, &copy, NULL) != 0)
        return -ENOMEM;
    struct json_object *cst = jx_obj(copy, "status");
    long long v;
    json_object_object_add(cst, "mainPodReason", json_object_new_string(reason));
    if (jx_get(cst, "mainPodExitCode") == NULL && nonempty(code) &&
        util_parse_i64(code, -2147483648LL, 2147483647LL, &v) == 0)
        json_object_object_add(cst, "mainPodExitCode", json_object_new_int64(v));
    const char *ename = jx_str(cst, "exitHandlerPodName");
    for (int i = 0; ename != NULL && jx_get(cst, "exitHandlerAttempts") == NULL &&
                    i < c->in->cfg->exit_max_attempts;
         i++) {
        char n[PODSPEC_NAME_BUF];
        exit_name(c, (unsigned)i, n, sizeof(n));
        if (str_eq(n, ename))
            json_object_object_add(cst, "exitHandlerAttempts", json_object_new_int64(i + 1));
    }
    c->a->hold = copy;
    c->omjob = copy;
    c->phase = jx_str(copy, "status.phase");
    return 0;
}

/* ---- the entry ---- */

static bool terminal(const char *phase)
{
    return str_eq(phase, PH_SUCCEEDED) || str_eq(phase, PH_FAILED);
}

int64_t dc_start_timeout_ms(struct json_object *omjob, const struct dc_cfg *cfg)
{
    int64_t sts = jx_i64_or(omjob, "spec.startTimeoutSeconds", 0);
    return (sts > 0 ? sts : cfg->start_timeout_s) * 1000;
}

int64_t dc_create_deadline_ms(struct json_object *omjob, const struct dc_cfg *cfg)
{
    int64_t created = time_ms(omjob, "metadata.creationTimestamp");
    return created > 0 ? created + dc_start_timeout_ms(omjob, cfg) : 0;
}

/* True when name is one of the exit pod names this operator gives c's OMJob. */
static bool our_exit_name(const struct ctx *c, const char *name)
{
    char n[PODSPEC_NAME_BUF];
    for (int i = 0; i < c->in->cfg->exit_max_attempts; i++)
        if (podspec_name(c->name, PODSPEC_EXIT, (unsigned)i, n, sizeof(n)) == 0 && str_eq(n, name))
            return true;
    return false;
}

/* The pod names status records win over the ones we would give: the original
 * operator shortens a long OMJob name with a hash of its own, so its pods may be
 * called otherwise than ours (docs/LIFECYCLE.md, "Taking over from the original
 * operator"). The main pod: status.mainPodName whenever it is a valid pod name
 * (this operator writes its own there, so they differ only after a takeover, and
 * a main pod status names is never created again: gone, it is Deleted). The
 * first exit attempt: status.exitHandlerPodName while at most one attempt is
 * recorded, when a pod of that name controlled by this OMJob and typed
 * exit-handler exists and the name is none of ours (an exit pod status names
 * but nobody created gets our name). */
static void pod_names(struct ctx *c)
{
    struct json_object *st = jx_obj(c->omjob, "status");
    const char *m = jx_str(st, "mainPodName");
    if (nonempty(m) && strlen(m) <= PODSPEC_NAME_MAX && util_dns1123_label_valid(m))
        snprintf(c->main_name, sizeof(c->main_name), "%s", m);
    const char *e = jx_str(st, "exitHandlerPodName");
    if (!nonempty(e) || strlen(e) > PODSPEC_NAME_MAX ||
        jx_i64_or(st, "exitHandlerAttempts", 0) > 1 || our_exit_name(c, e))
        return;
    struct json_object *p = pod_named(c->in->pods, e);
    if (p != NULL && str_eq(jx_str(p, "ownerUid"), c->uid) &&
        str_eq(jx_str(p, "podType"), POD_TYPE_EXIT_HANDLER))
        snprintf(c->exit0_name, sizeof(c->exit0_name), "%s", e);
}

/* False when the OMJob's name yields no pod name. */
static bool ctx_init(struct ctx *c, const struct dc_input *in, struct dc_action *a, const char *uid)
{
    struct json_object *omjob = in->omjob;
    *c = (struct ctx){.in = in, .a = a, .omjob = omjob, .uid = uid};
    c->ns = jx_str_or(omjob, "metadata.namespace", "");
    c->name = jx_str_or(omjob, "metadata.name", "");
    c->phase = jx_str(omjob, "status.phase");
    c->deleting = jx_str(omjob, "metadata.deletionTimestamp") != NULL;
    c->has_exit_spec = jx_obj(omjob, "spec.exitHandlerSpec") != NULL;
    c->skip_exit =
        str_eq(jx_str(omjob, "metadata.annotations.omjob\\.pipelines\\.openmetadata\\.org/"
                             "skip-exit-handler"),
               "true");
    c->start_timeout_ms = dc_start_timeout_ms(omjob, in->cfg);
    int64_t ads = jx_i64_or(omjob, "spec.activeDeadlineSeconds", 0);
    c->active_deadline_ms = ads > 0 ? ads * 1000 : 0;
    if (podspec_name(c->name, PODSPEC_MAIN, 0, c->main_name, sizeof(c->main_name)) != 0)
        return false;
    pod_names(c);
    return true;
}

/* Succeeded or Failed: stop the main pod if we ended it and it still runs, then
 * release our finalizers, pods first. */
static int finished(struct ctx *c, bool has_fin)
{
    /* Being deleted, the garbage collector takes the pods once we let go. */
    if (!c->deleting && stop_main(c))
        return 0;
    struct json_object *p = tracked_pod(c->in->pods);
    if (p != NULL)
        return release_pod(c->a, p, "the OMJob is finished");
    if (has_fin)
        return omjob_finalizer(c, false);
    return nothing(c->a, "finished");
}

/* OMJOB_CANCEL_DEADLINE_SECONDS after the deletion: Failed whatever the state, so
 * that the finalizers go. */
static int cancel_deadline_exceeded(struct ctx *c)
{
    struct st s;
    if (st_begin(&s, c->omjob, c->in->now_ms) != 0)
        return -ENOMEM;
    if (st_str(&s, "mainPodReason") == NULL) {
        st_set(&s, "mainPodReason", "Cancelled");
        st_cond(&s, "MainPodFinished", true, "Cancelled",
                "the OMJob was deleted; cancel deadline exceeded");
    }
    char m[200];
    snprintf(m, sizeof(m), "cancel deadline of %d s exceeded: finalizers released",
             c->in->cfg->cancel_deadline_s);
    add_event(c->a, EV_WARNING, "CancelDeadlineExceeded", "%s", m);
    finish(c, &s, "Failed", m);
    return 0;
}

int dc_decide(const struct dc_input *in, struct dc_action *a)
{
    memset(a, 0, sizeof(*a));
    struct json_object *omjob = in->omjob;
    const char *uid = jx_str(omjob, "metadata.uid");
    /* Pods whose OMJob is gone, or of an earlier OMJob of the same name: release
     * them; the garbage collector does the rest. */
    struct json_object *stray = stray_pod(in->pods, omjob, uid);
    if (stray != NULL)
        return release_pod(a, stray, "its OMJob is gone");
    if (omjob == NULL || uid == NULL)
        return nothing(a, "no OMJob");
    struct ctx c;
    if (!ctx_init(&c, in, a, uid))
        return nothing(a, "bad OMJob name");
    if (restore_pruned(&c) != 0)
        return -ENOMEM;
    omjob = c.omjob;
    bool has_fin = arr_has(jx_arr(omjob, "metadata.finalizers"), FINALIZER_OMJOB);
    if (terminal(c.phase) && jx_str(omjob, "status.completionTime") != NULL)
        return finished(&c, has_fin);
    if (terminal(c.phase) && by_original(jx_obj(omjob, "status")))
        return adopt_final(&c);
    /* Deleted before we ever took it on, or after we let it go. */
    if (c.deleting && !has_fin)
        return nothing(a, "being deleted without our finalizer");
    int64_t deadline = c.deleting ? cancel_deadline_ms(&c) : 0;
    if (deadline > 0 && in->now_ms >= deadline)
        return cancel_deadline_exceeded(&c);
    if (!has_fin)
        return omjob_finalizer(&c, true);
    struct json_object *orphan = c.deleting ? NULL : unadopted_pod(&c);
    if (orphan != NULL)
        return adopt_pod(&c, orphan);
    if (jx_str(omjob, "status.mainPodReason") == NULL)
        return before_outcome(&c);
    return after_outcome(&c);
}

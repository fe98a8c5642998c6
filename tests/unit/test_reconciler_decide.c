/* Unit tests for reconciler/decide: the OMJob state machine (docs/LIFECYCLE.md).
 *
 * The OMJob is the one OpenMetadata's K8sPipelineClient sends (tests/unit/data/
 * podspec/fixture.json, as in test_reconciler_podspec.c) with the fields the API
 * server adds. A small "world" plays the reconciler loop and the API server: it
 * feeds every action's result back as the next input (merge patches applied to the
 * OMJob, created pods added to the cache as compact pods, deletions marking the
 * pod, finalizer releases removing it, GETs answering 404), so whole lifecycles are
 * walked one decision at a time. Generic checks run on every action (resourceVersion
 * preconditions, mainPodReason never changed once recorded, pod names and labels).
 *
 * Tests marked CONTRACT are written to docs/LIFECYCLE.md where decide.c is known
 * to behave otherwise (see the comment on each). */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "roles/reconciler/decide.h"
#include "roles/reconciler/podspec.h"
#include "runtime/events.h"
#include "model/labels.h"

#define FIX_NAME "om-job-mysql-metadata-ingestion-3f9c2a1b"
#define FIX_NS "openmetadata-pipelines"
#define FIX_UID "5b1d6c2e-0f3a-4e8b-9c7d-2a4f6e8b0c11"
#define MAIN_POD FIX_NAME "-main"
#define EXIT_POD FIX_NAME "-exit"
#define EXIT_POD1 FIX_NAME "-exit-1"
#define EXIT_POD2 FIX_NAME "-exit-2"
#define OLD_UID "0d9e8f7a-1111-2222-3333-444455556666"

/* 2026-03-01T12:00:00Z: the OMJob's creation. */
#define T0_MS 1772366400000LL
#define SEC 1000LL

static const struct dc_cfg CFG = {
    .start_timeout_s = 600,
    .cancel_deadline_s = 900,
    .exit_max_attempts = 3,
    .node_lost_s = 300,
};

/* ---- the world: the OMJob, its pods, the clock, and the last action ---- */

#define MAX_GONE 8

static struct {
    struct json_object *omjob; /* NULL once deleted */
    struct json_object *pods;  /* array of compact pods, sorted by name */
    int64_t now_ms;
    struct dc_cfg cfg;
    const char *create_error;
    bool exit_create_rejected;
    bool ns_terminating;
    const char *name_taken;
    char *gone[MAX_GONE];
    int ngone;
    long rv;   /* the API server's resourceVersion counter */
    int npods; /* pods created (for uids) */
    struct dc_action a;
    /* The API server prunes status fields the original's CRD does not declare. */
    bool old_schema;
    /* Recorded main outcome: never changed once set (docs/LIFECYCLE.md). */
    char main_reason[64];
    bool main_code_known;
    int64_t main_code;
} W;

static void world_free(void)
{
    dc_action_clear(&W.a);
    if (W.omjob != NULL)
        json_object_put(W.omjob);
    if (W.pods != NULL)
        json_object_put(W.pods);
    for (int i = 0; i < W.ngone; i++)
        free(W.gone[i]);
    memset(&W, 0, sizeof(W));
}

static int suite_clean(void)
{
    world_free();
    return 0;
}

static void fmt_ms(int64_t ms, char *buf, size_t sz)
{
    CU_ASSERT_EQUAL(util_rfc3339_format(ms * 1000000, 0, buf, sz), 0);
}

static int64_t parse_ms(const char *s)
{
    int64_t ns = 0;
    if (s == NULL || util_rfc3339_parse(s, &ns) != 0)
        return -1;
    return ns / 1000000;
}

static const char *next_rv(char *buf, size_t sz)
{
    snprintf(buf, sz, "%ld", ++W.rv);
    return buf;
}

static struct json_object *load_fixture(void)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024];
    static char buf[65536];
    struct json_object *o = NULL;
    snprintf(path, sizeof(path), "%s/podspec/fixture.json", dir != NULL ? dir : "tests/unit/data");
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_FATAL(n > 0 && n < sizeof(buf));
    CU_ASSERT_EQUAL_FATAL(jx_parse(buf, n, &o, NULL, 0), 0);
    return o;
}

/* A fresh world: the fixture OMJob as served just after its creation (no status,
 * no finalizers), no pods, the clock at its creation. */
static void world_new(void)
{
    world_free();
    W.cfg = CFG;
    W.rv = 100;
    W.now_ms = T0_MS;
    W.omjob = load_fixture();
    W.pods = json_object_new_array();
    char ts[40];
    fmt_ms(T0_MS, ts, sizeof(ts));
    jx_set_str(W.omjob, "metadata.creationTimestamp", ts);
    jx_set_str(W.omjob, "metadata.resourceVersion", "100");
    jx_set_i64(W.omjob, "metadata.generation", 1);
}

static void advance(int64_t ms)
{
    W.now_ms += ms;
}

static void annotate_skip(void)
{
    struct json_object *ann = jx_obj(W.omjob, "metadata.annotations");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ann);
    json_object_object_add(ann, ANNOTATION_SKIP_EXIT_HANDLER, json_object_new_string("true"));
}

static void omjob_touch(void)
{
    char rv[24];
    jx_set_str(W.omjob, "metadata.resourceVersion", next_rv(rv, sizeof(rv)));
}

/* kubectl delete omj: deletionTimestamp now (the finalizer holds it). */
static void omjob_delete_at(int64_t ms)
{
    char ts[40];
    fmt_ms(ms, ts, sizeof(ts));
    jx_set_str(W.omjob, "metadata.deletionTimestamp", ts);
    jx_set_i64(W.omjob, "metadata.deletionGracePeriodSeconds", 0);
    omjob_touch();
}

/* ---- compact pods ---- */

static int pod_cmp(const void *x, const void *y)
{
    struct json_object *const *a = x, *const *b = y;
    return strcmp(jx_str_or(*a, "name", ""), jx_str_or(*b, "name", ""));
}

static struct json_object *pod_find(const char *name)
{
    for (size_t i = 0; i < json_object_array_length(W.pods); i++) {
        struct json_object *p = json_object_array_get_idx(W.pods, i);
        if (strcmp(jx_str_or(p, "name", ""), name) == 0)
            return p;
    }
    return NULL;
}

static void pod_remove(const char *name)
{
    for (size_t i = 0; i < json_object_array_length(W.pods); i++) {
        struct json_object *p = json_object_array_get_idx(W.pods, i);
        if (strcmp(jx_str_or(p, "name", ""), name) == 0) {
            json_object_array_del_idx(W.pods, i, 1);
            return;
        }
    }
    CU_FAIL("pod_remove: no such pod");
}

static void set_null(struct json_object *o, const char *k)
{
    json_object_object_add(o, k, NULL);
}

/* A compact pod condition {"status","reason","message","lastTransitionTime"}. */
static struct json_object *pod_cond(const char *status, const char *reason, const char *message,
                                    int64_t since_ms)
{
    struct json_object *c = json_object_new_object();
    char ts[40];
    fmt_ms(since_ms, ts, sizeof(ts));
    jx_set_str(c, "status", status);
    jx_set_str(c, "reason", reason);
    jx_set_str(c, "message", message);
    jx_set_str(c, "lastTransitionTime", ts);
    return c;
}

/* A compact pod as the watcher renders it (every field present, null when unset):
 * Pending, container waiting in ContainerCreating, created now. */
static struct json_object *compact_pod(const char *name, const char *uid, const char *owner_uid,
                                       const char *owner_name, const char *type,
                                       struct json_object *finalizers)
{
    struct json_object *p = json_object_new_object(), *c = json_object_new_object();
    char rv[24], ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(p, "name", name);
    jx_set_str(p, "namespace", FIX_NS);
    jx_set_str(p, "uid", uid);
    jx_set_str(p, "resourceVersion", next_rv(rv, sizeof(rv)));
    jx_set_str(p, "ownerUid", owner_uid);
    jx_set_str(p, "ownerName", owner_name);
    jx_set_str(p, "omjobLabel", owner_name);
    jx_set_str(p, "podType", type);
    jx_set_str(p, "phase", "Pending");
    set_null(p, "reason");
    set_null(p, "message");
    set_null(p, "nodeName");
    json_object_object_add(p, "finalizers",
                           finalizers != NULL ? finalizers : json_object_new_array());
    jx_set_str(p, "creationTimestamp", ts);
    set_null(p, "startTime");
    set_null(p, "deletionTimestamp");
    set_null(p, "deletionGracePeriodSeconds");
    jx_set_str(c, "state", "waiting");
    jx_set_str(c, "reason", "ContainerCreating");
    set_null(c, "message");
    set_null(c, "exitCode");
    set_null(c, "startedAt");
    set_null(c, "finishedAt");
    json_object_object_add(p, "container", c);
    set_null(p, "disruptionTarget");
    set_null(p, "podScheduled");
    set_null(p, "ready");
    return p;
}

static void pod_add(struct json_object *p)
{
    json_object_array_add(W.pods, p);
    json_object_array_sort(W.pods, pod_cmp);
}

static struct json_object *tracking(void)
{
    struct json_object *f = json_object_new_array();
    json_object_array_add(f, json_object_new_string(FINALIZER_TRACKING));
    return f;
}

/* A pod of another (earlier) OMJob of the same name. */
static void add_foreign_pod(const char *name, bool with_finalizer)
{
    pod_add(compact_pod(name, "foreign-pod-uid", OLD_UID, FIX_NAME, POD_TYPE_MAIN,
                        with_finalizer ? tracking() : NULL));
}

/* Label k of a v1 Pod (keys hold dots: no jx path). */
static const char *label(struct json_object *pod, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(jx_obj(pod, "metadata.labels"), k, &v) ||
        !json_object_is_type(v, json_type_string))
        return "(none)";
    return json_object_get_string(v);
}

/* The pod the API server answers for a created v1 Pod, in compact form. */
static struct json_object *compact_of(struct json_object *pod)
{
    char uid[64];
    struct json_object *fin = NULL;
    snprintf(uid, sizeof(uid), "pod-uid-%d", ++W.npods);
    struct json_object *f = jx_arr(pod, "metadata.finalizers");
    if (f != NULL)
        json_object_deep_copy(f, &fin, NULL);
    return compact_pod(jx_str_or(pod, "metadata.name", ""), uid,
                       jx_str_or(pod, "metadata.ownerReferences.0.uid", ""),
                       jx_str_or(pod, "metadata.ownerReferences.0.name", ""),
                       label(pod, LABEL_POD_TYPE), fin);
}

static struct json_object *pod_get(const char *name)
{
    struct json_object *p = pod_find(name);
    if (p == NULL)
        fprintf(stderr, "no pod %s in the cache\n", name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static void pod_touch(struct json_object *p)
{
    char rv[24];
    jx_set_str(p, "resourceVersion", next_rv(rv, sizeof(rv)));
}

static void pod_waiting(const char *name, const char *reason, const char *message)
{
    struct json_object *p = pod_get(name);
    jx_set_str(p, "container.state", "waiting");
    jx_set_str(p, "container.reason", reason);
    jx_set_str(p, "container.message", message);
    pod_touch(p);
}

static void pod_unschedulable(const char *name, const char *message)
{
    struct json_object *p = pod_get(name);
    json_object_object_add(p, "podScheduled",
                           pod_cond("False", "Unschedulable", message, W.now_ms));
    jx_set_str(p, "container.state", "none");
    set_null(jx_obj(p, "container"), "reason");
    pod_touch(p);
}

static void pod_running(const char *name)
{
    struct json_object *p = pod_get(name);
    char ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(p, "phase", "Running");
    jx_set_str(p, "nodeName", "worker-1");
    jx_set_str(p, "startTime", ts);
    jx_set_str(p, "container.state", "running");
    set_null(jx_obj(p, "container"), "reason");
    jx_set_str(p, "container.startedAt", ts);
    json_object_object_add(p, "ready", pod_cond("True", NULL, NULL, W.now_ms));
    pod_touch(p);
}

/* The container ended with code (reason creason); the pod's phase follows. */
static void pod_exit(const char *name, int code, const char *creason)
{
    struct json_object *p = pod_get(name);
    char ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(p, "phase", code == 0 ? "Succeeded" : "Failed");
    jx_set_str(p, "container.state", "terminated");
    jx_set_str(p, "container.reason", creason);
    jx_set_i64(p, "container.exitCode", code);
    jx_set_str(p, "container.finishedAt", ts);
    json_object_object_add(p, "ready", pod_cond("False", "PodCompleted", NULL, W.now_ms));
    pod_touch(p);
}

/* A DisruptionTarget condition (status True). */
static void pod_disrupt(const char *name, const char *reason, const char *message)
{
    struct json_object *p = pod_get(name);
    json_object_object_add(p, "disruptionTarget", pod_cond("True", reason, message, W.now_ms));
    pod_touch(p);
}

/* The node stopped answering: Ready False (NodeStatusUnknown) since now; with
 * phase_unknown the phase goes Unknown too. */
static void pod_unready(const char *name, bool phase_unknown)
{
    struct json_object *p = pod_get(name);
    json_object_object_add(
        p, "ready",
        pod_cond("False", "NodeStatusUnknown", "Kubelet stopped posting node status.", W.now_ms));
    if (phase_unknown)
        jx_set_str(p, "phase", "Unknown");
    pod_touch(p);
}

/* What a DELETE does to a pod holding our finalizer: deletionTimestamp set. */
static void pod_mark_deleted(const char *name)
{
    struct json_object *p = pod_get(name);
    char ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(p, "deletionTimestamp", ts);
    jx_set_i64(p, "deletionGracePeriodSeconds", 30);
    pod_touch(p);
}

/* ---- checks on actions ---- */

static bool is_status_kind(enum dc_kind k)
{
    return k == DC_STATUS;
}

static struct json_object *patch_status(void)
{
    return jx_obj(W.a.patch, "status");
}

static const char *ps(const char *k)
{
    return jx_str(patch_status(), k);
}

/* The condition of type in the patch's status, or NULL. */
static struct json_object *pcond(const char *type)
{
    struct json_object *conds = jx_arr(patch_status(), "conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        if (strcmp(jx_str_or(c, "type", ""), type) == 0)
            return c;
    }
    return NULL;
}

static void check_cond(const char *type, const char *status, const char *reason)
{
    struct json_object *c = pcond(type);
    if (c == NULL)
        fprintf(stderr, "condition %s missing\n", type);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(jx_str_or(c, "status", ""), status);
    if (reason != NULL) {
        if (strcmp(jx_str_or(c, "reason", ""), reason) != 0)
            fprintf(stderr, "condition %s: reason %s, want %s\n", type, jx_str_or(c, "reason", ""),
                    reason);
        CU_ASSERT_STRING_EQUAL(jx_str_or(c, "reason", ""), reason);
    }
    CU_ASSERT_PTR_NOT_NULL(jx_str(c, "lastTransitionTime"));
    CU_ASSERT_PTR_NOT_NULL(jx_str(c, "message"));
}

/* A condition that is absent or not True. */
static void check_cond_not_true(const char *type)
{
    struct json_object *c = pcond(type);
    CU_ASSERT(c == NULL || strcmp(jx_str_or(c, "status", ""), "True") != 0);
}

static void check_phase(const char *phase)
{
    const char *p = ps("phase");
    if (p == NULL || strcmp(p, phase) != 0)
        fprintf(stderr, "phase %s, want %s\n", p != NULL ? p : "(none)", phase);
    CU_ASSERT_STRING_EQUAL(p != NULL ? p : "(none)", phase);
    CU_ASSERT_STRING_EQUAL(W.a.to_phase != NULL ? W.a.to_phase : "(null)", phase);
}

static void check_str(const char *k, const char *want)
{
    const char *v = ps(k);
    if (v == NULL || strcmp(v, want) != 0)
        fprintf(stderr, "status.%s = %s, want %s\n", k, v != NULL ? v : "(none)", want);
    CU_ASSERT_STRING_EQUAL(v != NULL ? v : "(none)", want);
}

static void check_int(const char *k, int64_t want)
{
    int64_t v = -99999;
    CU_ASSERT_EQUAL(jx_i64(patch_status(), k, &v), 0);
    CU_ASSERT_EQUAL(v, want);
}

static void check_absent(const char *k)
{
    struct json_object *v = NULL;
    CU_ASSERT_FALSE(json_object_object_get_ex(patch_status(), k, &v) && v != NULL);
}

static void check_contains(const char *k, const char *needle)
{
    const char *v = ps(k);
    if (v == NULL || strstr(v, needle) == NULL)
        fprintf(stderr, "status.%s = \"%s\" lacks \"%s\"\n", k, v != NULL ? v : "(none)", needle);
    CU_ASSERT_PTR_NOT_NULL(v != NULL ? strstr(v, needle) : NULL);
}

static void check_now(const char *k)
{
    CU_ASSERT_EQUAL(parse_ms(ps(k)), W.now_ms);
}

/* Exactly these events (reason, type), in order; NULL-terminated pairs. */
static void check_events(const char *reason, ...)
{
    va_list ap;
    int i = 0;
    va_start(ap, reason);
    for (const char *r = reason; r != NULL; r = va_arg(ap, const char *), i++) {
        enum ev_type t = (enum ev_type)va_arg(ap, int);
        if (i >= W.a.nev) {
            fprintf(stderr, "event %d (%s) missing\n", i, r);
            CU_FAIL("event missing");
            continue;
        }
        if (strcmp(W.a.ev[i].reason, r) != 0)
            fprintf(stderr, "event %d: %s, want %s\n", i, W.a.ev[i].reason, r);
        CU_ASSERT_STRING_EQUAL(W.a.ev[i].reason, r);
        CU_ASSERT_EQUAL(W.a.ev[i].type, t);
        CU_ASSERT(W.a.ev[i].message[0] != '\0');
    }
    va_end(ap);
    if (W.a.nev != i) {
        for (int j = i; j < W.a.nev; j++)
            fprintf(stderr, "unexpected event %s: %s\n", W.a.ev[j].reason, W.a.ev[j].message);
    }
    CU_ASSERT_EQUAL(W.a.nev, i);
}

static const char *event_message(const char *reason)
{
    for (int i = 0; i < W.a.nev; i++)
        if (strcmp(W.a.ev[i].reason, reason) == 0)
            return W.a.ev[i].message;
    return "";
}

static int env_count(struct json_object *pod, const char *name, const char **value)
{
    struct json_object *env = jx_arr(pod, "spec.containers.0.env");
    int count = 0;
    for (size_t i = 0; env != NULL && i < json_object_array_length(env); i++) {
        struct json_object *e = json_object_array_get_idx(env, i);
        if (strcmp(jx_str_or(e, "name", ""), name) == 0) {
            count++;
            if (value != NULL)
                *value = jx_str_or(e, "value", "");
        }
    }
    return count;
}

static void check_env(const char *name, const char *want)
{
    const char *v = NULL;
    CU_ASSERT_EQUAL(env_count(W.a.pod_obj, name, &v), 1);
    if (v == NULL || strcmp(v, want) != 0)
        fprintf(stderr, "env %s = %s, want %s\n", name, v != NULL ? v : "(none)", want);
    CU_ASSERT_STRING_EQUAL(v != NULL ? v : "(none)", want);
}

/* The exit pod's view of the main outcome. */
static void check_exit_env(const char *pipeline_status, const char *reason, const char *code)
{
    check_env(PODSPEC_ENV_PIPELINE_STATUS, pipeline_status);
    check_env(PODSPEC_ENV_MAIN_REASON, reason);
    check_env(PODSPEC_ENV_MAIN_EXIT_CODE, code);
    check_env(PODSPEC_ENV_NAME, jx_str_or(W.omjob, "metadata.name", ""));
    check_env(PODSPEC_ENV_UID, FIX_UID);
    check_env(PODSPEC_ENV_NAMESPACE, FIX_NS);
}

static bool arr_has(struct json_object *arr, const char *s)
{
    for (size_t i = 0; arr != NULL && i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return true;
    return false;
}

/* Checks every action of its kind must pass, against the world it was decided on. */
static void generic_checks(void)
{
    struct dc_action *a = &W.a;
    const char *omjob_rv = jx_str(W.omjob, "metadata.resourceVersion");
    switch (a->kind) {
    case DC_STATUS: {
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->patch);
        CU_ASSERT_PTR_NULL(a->pod_obj);
        /* A status-subresource merge patch: metadata.resourceVersion and status only. */
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->patch, "metadata.resourceVersion", "(none)"), omjob_rv);
        CU_ASSERT_EQUAL(json_object_object_length(jx_obj(a->patch, "metadata")), 1);
        CU_ASSERT_EQUAL(json_object_object_length(a->patch), 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(patch_status());
        CU_ASSERT_EQUAL(jx_i64_or(patch_status(), "observedGeneration", -1),
                        jx_i64_or(W.omjob, "metadata.generation", -2));
        CU_ASSERT_PTR_NOT_NULL(ps("phase"));
        CU_ASSERT_PTR_NOT_NULL(a->from_phase);
        CU_ASSERT_STRING_EQUAL(a->from_phase != NULL ? a->from_phase : "(null)",
                               jx_str_or(W.omjob, "status.phase", ""));
        /* lastTransitionTime moves with the phase. */
        if (strcmp(jx_str_or(W.omjob, "status.phase", ""), ps("phase") ? ps("phase") : "") != 0)
            check_now("lastTransitionTime");
        /* The main outcome is never changed once recorded. */
        if (W.main_reason[0] != '\0') {
            CU_ASSERT_STRING_EQUAL(ps("mainPodReason") ? ps("mainPodReason") : "(none)",
                                   W.main_reason);
            int64_t code = -1;
            bool known = jx_i64(patch_status(), "mainPodExitCode", &code) == 0;
            CU_ASSERT_EQUAL(known, W.main_code_known);
            if (known && W.main_code_known)
                CU_ASSERT_EQUAL(code, W.main_code);
        }
        /* An absent exit code is left out of status (not null, not ""). */
        struct json_object *ec = NULL;
        if (json_object_object_get_ex(patch_status(), "mainPodExitCode", &ec))
            CU_ASSERT(json_object_is_type(ec, json_type_int));
        /* A terminal phase carries completionTime and its condition. */
        const char *ph = ps("phase");
        if (ph != NULL && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0)) {
            CU_ASSERT_PTR_NOT_NULL(ps("completionTime"));
            check_cond(strcmp(ph, "Succeeded") == 0 ? "Complete" : "Failed", "True", NULL);
            check_cond("ExitHandlerFinished", "True", NULL);
            check_cond("MainPodFinished", "True", NULL);
            CU_ASSERT_PTR_NOT_NULL(ps("message"));
        } else {
            check_absent("completionTime");
            check_cond_not_true("Complete");
            check_cond_not_true("Failed");
        }
        break;
    }
    case DC_CREATE_MAIN:
    case DC_CREATE_EXIT: {
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->pod_obj);
        CU_ASSERT_PTR_NULL(a->patch);
        const char *type = a->kind == DC_CREATE_MAIN ? POD_TYPE_MAIN : POD_TYPE_EXIT_HANDLER;
        CU_ASSERT_STRING_EQUAL(a->pod_type != NULL ? a->pod_type : "(null)", type);
        CU_ASSERT_STRING_EQUAL(label(a->pod_obj, LABEL_POD_TYPE), type);
        CU_ASSERT_STRING_EQUAL(label(a->pod_obj, LABEL_MANAGED_BY), LABEL_MANAGED_BY_VALUE);
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->pod_obj, "metadata.name", ""), a->pod);
        CU_ASSERT(strlen(a->pod) > 0 && strlen(a->pod) <= PODSPEC_NAME_MAX);
        CU_ASSERT(strlen(label(a->pod_obj, LABEL_OMJOB_NAME)) <= 63);
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->pod_obj, "metadata.ownerReferences.0.uid", ""),
                               FIX_UID);
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->pod_obj, "metadata.namespace", ""), FIX_NS);
        CU_ASSERT_TRUE(arr_has(jx_arr(a->pod_obj, "metadata.finalizers"), FINALIZER_TRACKING));
        /* The OMJob's finalizer is there before any pod is created. */
        CU_ASSERT_TRUE(arr_has(jx_arr(W.omjob, "metadata.finalizers"), FINALIZER_OMJOB));
        if (a->kind == DC_CREATE_EXIT &&
            (jx_str(W.omjob, "status.mainPodReason") != NULL ||
             (W.old_schema &&
              strcmp(jx_str_or(W.omjob, "status.phase", ""), "ExitHandlerRunning") == 0))) {
            /* (Under the old schema mainPodReason is pruned: the phase says it.) */
            CU_ASSERT_STRING_EQUAL(a->pod, jx_str_or(W.omjob, "status.exitHandlerPodName", ""));
            CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.phase", ""), "ExitHandlerRunning");
        } else if (a->kind == DC_CREATE_EXIT) {
            /* Fast dispatch: the first exit pod before status records the outcome,
             * which the pod carries in its annotations. */
            char first[PODSPEC_NAME_BUF];
            CU_ASSERT_FATAL(podspec_name(jx_str_or(W.omjob, "metadata.name", ""), PODSPEC_EXIT, 0,
                                         first, sizeof(first)) == 0);
            CU_ASSERT_STRING_EQUAL(a->pod, first);
            CU_ASSERT(strlen(jx_str_or(a->pod_obj,
                                       "metadata.annotations.omjob\\.pipelines\\.openmetadata\\."
                                       "org/main-reason",
                                       "")) > 0);
            CU_ASSERT_PTR_NOT_NULL(jx_str(a->pod_obj, "metadata.annotations.omjob\\.pipelines\\."
                                                      "openmetadata\\.org/main-exit-code"));
        }
        break;
    }
    case DC_ADD_FINALIZER:
    case DC_RELEASE_OMJOB:
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->patch);
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->patch, "metadata.resourceVersion", "(none)"), omjob_rv);
        CU_ASSERT_PTR_NOT_NULL(jx_arr(a->patch, "metadata.finalizers"));
        CU_ASSERT_EQUAL(arr_has(jx_arr(a->patch, "metadata.finalizers"), FINALIZER_OMJOB),
                        a->kind == DC_ADD_FINALIZER);
        CU_ASSERT_PTR_NULL(jx_get(a->patch, "status"));
        break;
    case DC_RELEASE_POD: {
        struct json_object *p = pod_find(a->pod);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->patch);
        CU_ASSERT_STRING_EQUAL(a->pod_uid, jx_str_or(p, "uid", ""));
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->patch, "metadata.resourceVersion", "(none)"),
                               jx_str_or(p, "resourceVersion", ""));
        CU_ASSERT_PTR_NOT_NULL(jx_arr(a->patch, "metadata.finalizers"));
        CU_ASSERT_FALSE(arr_has(jx_arr(a->patch, "metadata.finalizers"), FINALIZER_TRACKING));
        CU_ASSERT_TRUE(arr_has(jx_arr(p, "finalizers"), FINALIZER_TRACKING));
        break;
    }
    case DC_DELETE_POD: {
        struct json_object *p = pod_find(a->pod);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_STRING_EQUAL(a->pod_uid, jx_str_or(p, "uid", ""));
        CU_ASSERT_PTR_NULL(jx_str(p, "deletionTimestamp"));
        break;
    }
    case DC_VERIFY_GONE:
        CU_ASSERT(a->pod[0] != '\0');
        CU_ASSERT_PTR_NULL(pod_find(a->pod));
        break;
    case DC_ADOPT_POD: {
        /* Only a pod this OMJob controls, without our finalizer, not being deleted;
         * with its resourceVersion as precondition. */
        struct json_object *p = pod_find(a->pod);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->patch);
        CU_ASSERT_STRING_EQUAL(a->pod_uid, jx_str_or(p, "uid", ""));
        CU_ASSERT_STRING_EQUAL(jx_str_or(p, "ownerUid", "(none)"), FIX_UID);
        CU_ASSERT_PTR_NULL(jx_str(p, "deletionTimestamp"));
        CU_ASSERT_FALSE(arr_has(jx_arr(p, "finalizers"), FINALIZER_TRACKING));
        CU_ASSERT_STRING_EQUAL(jx_str_or(a->patch, "metadata.resourceVersion", "(none)"),
                               jx_str_or(p, "resourceVersion", ""));
        CU_ASSERT_TRUE(arr_has(jx_arr(a->patch, "metadata.finalizers"), FINALIZER_TRACKING));
        CU_ASSERT_STRING_EQUAL(label(a->patch, LABEL_APP_NAME), LABEL_APP_NAME_VALUE);
        CU_ASSERT_PTR_NULL(jx_get(a->patch, "status"));
        break;
    }
    case DC_NONE:
        CU_ASSERT_PTR_NULL(a->patch);
        CU_ASSERT_PTR_NULL(a->pod_obj);
        CU_ASSERT_EQUAL(a->nev, 0);
        break;
    }
    /* Events come with status writes, creations and our deletions only. */
    if (!is_status_kind(a->kind) && a->kind != DC_CREATE_MAIN && a->kind != DC_CREATE_EXIT &&
        a->kind != DC_DELETE_POD)
        CU_ASSERT_EQUAL(a->nev, 0);
    CU_ASSERT(a->why[0] != '\0');
}

/* DECIDE_TRACE=full: the whole action, so that two builds of decide.c can be
 * compared decision by decision (a refactor's proof that nothing changed). */
static void trace_full(const struct dc_action *a)
{
    fprintf(stderr, "\n      uid=%s type=%s from=%s to=%s", a->pod_uid,
            a->pod_type != NULL ? a->pod_type : "-", a->from_phase != NULL ? a->from_phase : "-",
            a->to_phase != NULL ? a->to_phase : "-");
    for (int i = 0; i < a->nev; i++)
        fprintf(stderr, "\n      event %d %s: %s", (int)a->ev[i].type, a->ev[i].reason,
                a->ev[i].message);
    if (a->patch != NULL)
        fprintf(stderr, "\n      patch %s", json_object_to_json_string(a->patch));
    if (a->pod_obj != NULL)
        fprintf(stderr, "\n      pod %s", json_object_to_json_string(a->pod_obj));
}

/* Decides on the world; the action is W.a (the previous one is released). */
static struct dc_action *decide(void)
{
    dc_action_clear(&W.a);
    struct dc_input in = {
        .omjob = W.omjob,
        .pods = W.pods,
        .now_ms = W.now_ms,
        .cfg = &W.cfg,
        .create_error = W.create_error,
        .exit_create_rejected = W.exit_create_rejected,
        .ns_terminating = W.ns_terminating,
        .name_taken = W.name_taken,
        .gone = (const char *const *)W.gone,
        .ngone = W.ngone,
    };
    CU_ASSERT_EQUAL_FATAL(dc_decide(&in, &W.a), 0);
    const char *trace = getenv("DECIDE_TRACE");
    if (trace != NULL)
        fprintf(stderr, "\n    [%lld] %s %s requeue=%lld: %s", (long long)(W.now_ms - T0_MS),
                dc_kind_str(W.a.kind), W.a.pod, (long long)W.a.requeue_at_ms, W.a.why);
    if (trace != NULL && strcmp(trace, "full") == 0)
        trace_full(&W.a);
    return &W.a;
}

/* Decides and expects kind (fatal otherwise). */
static struct dc_action *step(enum dc_kind want)
{
    decide();
    if (W.a.kind != want)
        fprintf(stderr, "\n    action %s (%s), want %s\n", dc_kind_str(W.a.kind), W.a.why,
                dc_kind_str(want));
    CU_ASSERT_EQUAL_FATAL(W.a.kind, want);
    generic_checks();
    return &W.a;
}

/* RFC 7386 merge patch of dst with patch. */
static void merge(struct json_object *dst, struct json_object *patch)
{
    json_object_object_foreach(patch, k, v)
    {
        struct json_object *cur = NULL;
        if (v == NULL) {
            json_object_object_del(dst, k);
        } else if (json_object_is_type(v, json_type_object)) {
            if (!json_object_object_get_ex(dst, k, &cur) || cur == NULL ||
                !json_object_is_type(cur, json_type_object)) {
                cur = json_object_new_object();
                json_object_object_add(dst, k, cur);
            }
            merge(cur, v);
        } else {
            struct json_object *copy = NULL;
            CU_ASSERT_EQUAL_FATAL(json_object_deep_copy(v, &copy, NULL), 0);
            json_object_object_add(dst, k, copy);
        }
    }
}

/* What the original's CRD keeps of a status; the API server drops the rest. */
static void prune_status(struct json_object *st)
{
    static const char *const keep[] = {"phase",          "mainPodName",    "exitHandlerPodName",
                                       "startTime",      "completionTime", "message",
                                       "mainPodExitCode"};
    struct json_object *drop = json_object_new_array();
    json_object_object_foreach(st, k, v)
    {
        (void)v;
        bool kept = false;
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
            kept = kept || strcmp(k, keep[i]) == 0;
        if (!kept)
            json_object_array_add(drop, json_object_new_string(k));
    }
    for (size_t i = 0; i < json_object_array_length(drop); i++)
        json_object_object_del(st, json_object_get_string(json_object_array_get_idx(drop, i)));
    json_object_put(drop);
}

/* The loop executes W.a and the API server answers: the world moves on. */
static void apply(void)
{
    struct dc_action *a = &W.a;
    switch (a->kind) {
    case DC_NONE:
        break;
    case DC_STATUS: {
        struct json_object *st = jx_obj(W.omjob, "status");
        if (st == NULL) {
            st = json_object_new_object();
            json_object_object_add(W.omjob, "status", st);
        }
        merge(st, patch_status());
        omjob_touch();
        const char *r = jx_str(st, "mainPodReason");
        if (r != NULL && W.main_reason[0] == '\0') {
            snprintf(W.main_reason, sizeof(W.main_reason), "%s", r);
            W.main_code_known = jx_i64(st, "mainPodExitCode", &W.main_code) == 0;
        }
        if (W.old_schema)
            prune_status(st);
        break;
    }
    case DC_ADD_FINALIZER:
    case DC_RELEASE_OMJOB: {
        struct json_object *m = jx_obj(a->patch, "metadata"), *copy = NULL;
        CU_ASSERT_EQUAL_FATAL(json_object_deep_copy(m, &copy, NULL), 0);
        json_object_object_del(copy, "resourceVersion");
        merge(jx_obj(W.omjob, "metadata"), copy);
        json_object_put(copy);
        omjob_touch();
        if (jx_str(W.omjob, "metadata.deletionTimestamp") != NULL &&
            jx_arr_len(W.omjob, "metadata.finalizers") == 0) {
            /* The last finalizer went: the API server removes the OMJob. */
            json_object_put(W.omjob);
            W.omjob = NULL;
        }
        break;
    }
    case DC_CREATE_MAIN:
    case DC_CREATE_EXIT:
        CU_ASSERT_PTR_NULL_FATAL(pod_find(a->pod));
        pod_add(compact_of(a->pod_obj));
        break;
    case DC_DELETE_POD:
        pod_mark_deleted(a->pod);
        break;
    case DC_RELEASE_POD: {
        struct json_object *p = pod_get(a->pod), *fin = NULL;
        CU_ASSERT_EQUAL_FATAL(
            json_object_deep_copy(jx_arr(a->patch, "metadata.finalizers"), &fin, NULL), 0);
        json_object_object_add(p, "finalizers", fin);
        pod_touch(p);
        if (jx_str(p, "deletionTimestamp") != NULL && json_object_array_length(fin) == 0)
            pod_remove(a->pod);
        break;
    }
    case DC_VERIFY_GONE:
        if (pod_find(a->pod) == NULL && W.ngone < MAX_GONE)
            W.gone[W.ngone++] = strdup(a->pod);
        break;
    case DC_ADOPT_POD: {
        struct json_object *p = pod_get(a->pod), *fin = NULL;
        CU_ASSERT_EQUAL_FATAL(
            json_object_deep_copy(jx_arr(a->patch, "metadata.finalizers"), &fin, NULL), 0);
        json_object_object_add(p, "finalizers", fin);
        const char *type = label(a->patch, LABEL_POD_TYPE);
        if (strcmp(type, "(none)") != 0)
            jx_set_str(p, "podType", type);
        pod_touch(p);
        break;
    }
    }
}

static struct dc_action *step_apply(enum dc_kind want)
{
    step(want);
    apply();
    return &W.a;
}

/* ---- lifecycle pieces ---- */

/* Fresh OMJob → finalizer → main pod created and seen Pending → status Pending. */
static void to_pending(void)
{
    step(DC_ADD_FINALIZER);
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.finalizers.0", ""), FINALIZER_OMJOB);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.resourceVersion", ""), "100");
    apply();

    advance(1 * SEC);
    step(DC_CREATE_MAIN);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    check_events("MainPodCreated", EV_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, MAIN_POD));
    apply();

    step(DC_STATUS);
    check_phase("Pending");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "");
    check_str("mainPodName", MAIN_POD);
    CU_ASSERT_EQUAL(parse_ms(ps("startTime")), W.now_ms); /* the pod's creation */
    check_cond("MainPodFinished", "False", NULL);
    check_cond("ExitHandlerFinished", "False", NULL);
    check_absent("mainPodReason");
    check_absent("mainPodExitCode");
    check_absent("exitHandlerPodName");
    check_events(NULL);
    apply();
}

static int64_t main_created_ms(void)
{
    return parse_ms(jx_str(pod_get(MAIN_POD), "creationTimestamp"));
}

/* ... → Running (status written) → nothing to do. */
static void to_running(void)
{
    to_pending();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, main_created_ms() + 600 * SEC);
    advance(5 * SEC);
    pod_running(MAIN_POD);
    step(DC_STATUS);
    check_phase("Running");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "Pending");
    check_cond("MainPodFinished", "False", NULL);
    check_str("mainPodName", MAIN_POD);
    CU_ASSERT_EQUAL(parse_ms(ps("startTime")), main_created_ms()); /* unchanged */
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    advance(60 * SEC);
}

/* The main outcome step: phase ExitHandlerRunning with the first attempt named. */
static void expect_outcome_of(const char *main_pod, const char *reason, int code /* -1: absent */)
{
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_str("mainPodReason", reason);
    if (code >= 0)
        check_int("mainPodExitCode", code);
    else
        check_absent("mainPodExitCode");
    check_str("exitHandlerPodName", EXIT_POD);
    check_int("exitHandlerAttempts", 1);
    check_str("mainPodName", main_pod);
    check_cond("MainPodFinished", "True", reason);
    check_cond("ExitHandlerFinished", "False", NULL);
    check_contains("message", reason);
    check_absent("completionTime");
}

static void expect_outcome(const char *reason, int code /* -1: absent */)
{
    expect_outcome_of(MAIN_POD, reason, code);
}

/* Creation of exit attempt `name` with the main outcome in its environment. */
static void expect_create_exit(const char *name, const char *pipeline_status, const char *reason,
                               const char *code)
{
    step(DC_CREATE_EXIT);
    CU_ASSERT_STRING_EQUAL(W.a.pod, name);
    check_exit_env(pipeline_status, reason, code);
    check_env(PODSPEC_ENV_MAIN_POD_NAME, MAIN_POD);
    check_events("ExitHandlerCreated", EV_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, name));
    apply();
}

/* Finished: every tracking finalizer released (pods first), then the OMJob's, then
 * nothing. Returns the number of pods released. */
static int expect_release_all(void) __attribute__((warn_unused_result));
static int expect_release_all(void)
{
    int released = 0;
    for (;;) {
        decide();
        if (W.a.kind != DC_RELEASE_POD)
            break;
        generic_checks();
        CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 0);
        apply();
        released++;
        CU_ASSERT_FATAL(released < 20);
    }
    /* No pod holds our finalizer any more. */
    for (size_t i = 0; i < json_object_array_length(W.pods); i++)
        CU_ASSERT_FALSE(arr_has(jx_arr(json_object_array_get_idx(W.pods, i), "finalizers"),
                                FINALIZER_TRACKING));
    if (W.a.kind != DC_RELEASE_OMJOB)
        fprintf(stderr, "\n    action %s (%s), want release-omjob\n", dc_kind_str(W.a.kind),
                W.a.why);
    CU_ASSERT_EQUAL_FATAL(W.a.kind, DC_RELEASE_OMJOB);
    generic_checks();
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 0);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    return released;
}

/* ---- dc_classify ---- */

struct classify_row {
    const char *what;
    const char *phase, *preason;
    const char *cstate, *creason;
    int code; /* container exit code when terminated */
    bool deleting;
    const char *dt_status, *dt_reason; /* DisruptionTarget, NULL: none */
    /* expected */
    bool ended, disrupted, code_known;
    int want_code;
    const char *reason; /* NULL: no reason (not ended) or not checked */
    bool contract;      /* CONTRACT: docs/LIFECYCLE.md, decide.c differs */
};

static const struct classify_row CLASSIFY[] = {
    {"pending, container creating", "Pending", NULL, "waiting", "ContainerCreating", 0, false, NULL,
     NULL, false, false, false, 0, NULL, false},
    {"pending, image pull backoff", "Pending", NULL, "waiting", "ImagePullBackOff", 0, false, NULL,
     NULL, false, false, false, 0, NULL, false},
    {"running", "Running", NULL, "running", NULL, 0, false, NULL, NULL, false, false, false, 0,
     NULL, false},
    {"running with DisruptionTarget False", "Running", NULL, "running", NULL, 0, false, "False",
     "EvictionByEvictionAPI", false, false, false, 0, NULL, false},
    {"succeeded exit 0", "Succeeded", NULL, "terminated", "Completed", 0, false, NULL, NULL, true,
     false, true, 0, "Completed", false},
    {"succeeded, container status lost", "Succeeded", NULL, "none", NULL, 0, false, NULL, NULL,
     true, false, true, 0, "Completed", false},
    {"failed exit 3", "Failed", NULL, "terminated", "Error", 3, false, NULL, NULL, true, false,
     true, 3, "Error", false},
    {"OOMKilled 137", "Failed", NULL, "terminated", "OOMKilled", 137, false, NULL, NULL, true,
     false, true, 137, "OOMKilled", false},
    {"ContainerCannotRun 128", "Failed", NULL, "terminated", "ContainerCannotRun", 128, false, NULL,
     NULL, true, false, true, 128, "ContainerCannotRun", false},
    {"failed, terminated without reason", "Failed", NULL, "terminated", NULL, 1, false, NULL, NULL,
     true, false, true, 1, "Error", false},
    {"failed, no container status", "Failed", NULL, "none", NULL, 0, false, NULL, NULL, true, false,
     false, 0, "Error", false},
    {"failed, pod reason Evicted (kubelet)", "Failed", "Evicted", "terminated", "Error", 137, false,
     NULL, NULL, true, true, true, 137, "Evicted", false},
    {"failed, pod reason Evicted, container not terminated", "Failed", "Evicted", "running", NULL,
     0, false, NULL, NULL, true, true, false, 0, "Evicted", false},
    {"failed DeadlineExceeded, container not terminated", "Failed", "DeadlineExceeded", "running",
     NULL, 0, false, NULL, NULL, true, false, false, 0, "DeadlineExceeded", false},
    /* CONTRACT: "DeadlineExceeded | pod phase Failed with that pod reason | the
     * container's, if terminated": the kubelet kills the container (terminated,
     * reason Error, 137) and sets pod reason DeadlineExceeded. dc_classify prefers
     * the container's reason once terminated and records "Error". */
    {"CONTRACT failed DeadlineExceeded, container killed (Error 137)", "Failed", "DeadlineExceeded",
     "terminated", "Error", 137, false, NULL, NULL, true, false, true, 137, "DeadlineExceeded",
     true},
    {"running, deleted", "Running", NULL, "running", NULL, 0, true, NULL, NULL, true, true, false,
     0, "Deleted", false},
    {"pending, deleted", "Pending", NULL, "waiting", "ContainerCreating", 0, true, NULL, NULL, true,
     true, false, 0, "Deleted", false},
    {"failed 143 while deleted", "Failed", NULL, "terminated", "Error", 143, true, NULL, NULL, true,
     true, true, 143, "Deleted", false},
    {"EvictionByEvictionAPI", "Running", NULL, "running", NULL, 0, false, "True",
     "EvictionByEvictionAPI", true, true, false, 0, "Evicted", false},
    {"EvictionByEvictionAPI, deleted, terminated 137", "Failed", NULL, "terminated", "Error", 137,
     true, "True", "EvictionByEvictionAPI", true, true, true, 137, "Evicted", false},
    {"TerminationByKubelet", "Running", NULL, "running", NULL, 0, false, "True",
     "TerminationByKubelet", true, true, false, 0, "Evicted", false},
    {"PreemptionByScheduler", "Running", NULL, "running", NULL, 0, true, "True",
     "PreemptionByScheduler", true, true, false, 0, "Preempted", false},
    {"DeletionByTaintManager", "Running", NULL, "running", NULL, 0, true, "True",
     "DeletionByTaintManager", true, true, false, 0, "NodeLost", false},
    {"DeletionByPodGC", "Running", NULL, "running", NULL, 0, true, "True", "DeletionByPodGC", true,
     true, false, 0, "NodeLost", false},
    {"DeletionByPodGC, pending", "Pending", NULL, "waiting", "ContainerCreating", 0, true, "True",
     "DeletionByPodGC", true, true, false, 0, "NodeLost", false},
    {"DisruptionTarget with an unknown reason", "Running", NULL, "running", NULL, 0, true, "True",
     "SomethingNew", true, true, false, 0, "Deleted", false},
};

static struct json_object *classify_pod(const struct classify_row *r)
{
    struct json_object *p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    jx_set_str(p, "phase", r->phase);
    if (r->preason != NULL)
        jx_set_str(p, "reason", r->preason);
    jx_set_str(p, "container.state", r->cstate);
    if (r->creason != NULL)
        jx_set_str(p, "container.reason", r->creason);
    else
        set_null(jx_obj(p, "container"), "reason");
    if (strcmp(r->cstate, "terminated") == 0)
        jx_set_i64(p, "container.exitCode", r->code);
    if (r->deleting)
        jx_set_str(p, "deletionTimestamp", "2026-03-01T12:30:00Z");
    if (r->dt_status != NULL) {
        struct json_object *c = json_object_new_object();
        jx_set_str(c, "status", r->dt_status);
        jx_set_str(c, "reason", r->dt_reason);
        jx_set_str(c, "message", "disruption message from the control plane");
        json_object_object_add(p, "disruptionTarget", c);
    }
    return p;
}

/* A pod that failed on its own and was deleted afterwards (the pod garbage
 * collector removes old finished pods; our finalizer holds them) keeps its own
 * outcome; one whose container finished when the deletion was asked for (same
 * second, or later) was ended by it. */
static void test_classify_failed_then_collected(void)
{
    static const struct {
        const char *finished, *deletion;
        int grace;
        bool disrupted;
        const char *reason;
    } rows[] = {
        {"2026-03-01T12:00:00Z", "2026-03-01T12:30:00Z", 0, false, "Error"},
        {"2026-03-01T12:29:59Z", "2026-03-01T12:30:00Z", 0, false, "Error"},
        {"2026-03-01T12:30:00Z", "2026-03-01T12:30:00Z", 0, true, "Deleted"},
        {"2026-03-01T12:00:10Z", "2026-03-01T12:00:40Z", 30, true, "Deleted"},
        {"2026-03-01T12:00:09Z", "2026-03-01T12:00:40Z", 30, false, "Error"},
    };
    world_new();
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct classify_row r = {.what = "collected",
                                 .phase = "Failed",
                                 .cstate = "terminated",
                                 .creason = "Error",
                                 .code = 3,
                                 .deleting = true};
        struct json_object *p = classify_pod(&r);
        jx_set_str(p, "container.finishedAt", rows[i].finished);
        jx_set_str(p, "deletionTimestamp", rows[i].deletion);
        jx_set_i64(p, "deletionGracePeriodSeconds", rows[i].grace);
        struct dc_outcome o;
        dc_classify(p, &o);
        CU_ASSERT(o.ended);
        CU_ASSERT_EQUAL(o.disrupted, rows[i].disrupted);
        CU_ASSERT_STRING_EQUAL(o.reason, rows[i].reason);
        CU_ASSERT(o.code_known && o.code == 3);
        /* What the watcher saw when the deletion arrived wins over the times. */
        for (int after = 0; after < 2; after++) {
            json_object_object_add(p, "deletedAfterEnd", json_object_new_boolean(after));
            dc_classify(p, &o);
            CU_ASSERT_EQUAL(o.disrupted, !after);
            CU_ASSERT_STRING_EQUAL(o.reason, after ? "Error" : "Deleted");
        }
        json_object_put(p);
    }
    /* Killed by the deletion's signal, first seen after the confirming delete moved
     * deletionTimestamp 2 s past the kill (make soak, seed 456275970): Deleted,
     * whatever the times say; OOMKilled stays the container's own end. */
    static const struct {
        int code;
        const char *creason;
        bool disrupted;
        const char *reason;
    } sig[] = {
        {137, "Error", true, "Deleted"},
        {143, "Error", true, "Deleted"},
        {137, "OOMKilled", false, "OOMKilled"},
        {1, "Error", false, "Error"},
    };
    for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) {
        struct classify_row r = {.what = "killed",
                                 .phase = "Failed",
                                 .cstate = "terminated",
                                 .creason = sig[i].creason,
                                 .code = sig[i].code,
                                 .deleting = true};
        struct json_object *p = classify_pod(&r);
        jx_set_str(p, "container.finishedAt", "2026-03-01T00:41:51Z");
        jx_set_str(p, "deletionTimestamp", "2026-03-01T00:41:53Z");
        jx_set_i64(p, "deletionGracePeriodSeconds", 0);
        struct dc_outcome o;
        dc_classify(p, &o);
        CU_ASSERT(o.ended);
        CU_ASSERT_EQUAL(o.disrupted, sig[i].disrupted);
        CU_ASSERT_STRING_EQUAL(o.reason, sig[i].reason);
        CU_ASSERT(o.code_known && o.code == sig[i].code);
        json_object_put(p);
    }
}

static void test_classify_table(void)
{
    world_new();
    for (size_t i = 0; i < sizeof(CLASSIFY) / sizeof(CLASSIFY[0]); i++) {
        const struct classify_row *r = &CLASSIFY[i];
        struct json_object *p = classify_pod(r);
        struct dc_outcome o;
        memset(&o, 0x5a, sizeof(o));
        dc_classify(p, &o);
        bool ok = o.ended == r->ended && o.disrupted == r->disrupted &&
                  o.code_known == r->code_known && (!r->code_known || o.code == r->want_code) &&
                  (r->reason == NULL ? !r->ended || o.reason[0] != '\0'
                                     : strcmp(o.reason, r->reason) == 0);
        if (!r->ended)
            ok = ok && o.reason[0] == '\0';
        if (!ok)
            fprintf(stderr, "\n    %s%s: ended=%d disrupted=%d code_known=%d code=%d reason=%s\n",
                    r->contract ? "[contract deviation] " : "", r->what, o.ended, o.disrupted,
                    o.code_known, o.code, o.reason);
        CU_ASSERT_EQUAL(o.ended, r->ended);
        CU_ASSERT_EQUAL(o.disrupted, r->disrupted);
        CU_ASSERT_EQUAL(o.code_known, r->code_known);
        if (r->code_known)
            CU_ASSERT_EQUAL(o.code, r->want_code);
        if (r->reason != NULL)
            CU_ASSERT_STRING_EQUAL(o.reason, r->reason);
        if (!r->ended)
            CU_ASSERT_STRING_EQUAL(o.reason, "");
        if (r->ended)
            CU_ASSERT(o.message[0] != '\0');
        json_object_put(p);
    }
}

static void test_classify_messages(void)
{
    world_new();
    struct dc_outcome o;
    struct json_object *p = classify_pod(&CLASSIFY[18]); /* EvictionByEvictionAPI */
    dc_classify(p, &o);
    CU_ASSERT_STRING_EQUAL(o.reason, "Evicted");
    CU_ASSERT_PTR_NOT_NULL(strstr(o.message, "disruption message from the control plane"));
    json_object_put(p);

    p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    jx_set_str(p, "phase", "Failed");
    jx_set_str(p, "container.state", "terminated");
    jx_set_str(p, "container.reason", "Error");
    jx_set_str(p, "container.message", "Traceback: boom");
    jx_set_i64(p, "container.exitCode", 1);
    dc_classify(p, &o);
    CU_ASSERT_STRING_EQUAL(o.reason, "Error");
    CU_ASSERT_PTR_NOT_NULL(strstr(o.message, "Traceback: boom"));
    json_object_put(p);

    /* Running: ended false, nothing else set. */
    p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    jx_set_str(p, "phase", "Running");
    jx_set_str(p, "container.state", "running");
    dc_classify(p, &o);
    CU_ASSERT_FALSE(o.ended);
    CU_ASSERT_FALSE(o.disrupted);
    CU_ASSERT_FALSE(o.code_known);
    json_object_put(p);
}

static void test_kind_str(void)
{
    static const struct {
        enum dc_kind k;
        const char *s;
    } rows[] = {
        {DC_NONE, "none"},
        {DC_ADD_FINALIZER, "add-finalizer"},
        {DC_CREATE_MAIN, "create-main-pod"},
        {DC_STATUS, "write-status"},
        {DC_CREATE_EXIT, "create-exit-pod"},
        {DC_DELETE_POD, "delete-pod"},
        {DC_RELEASE_POD, "release-pod"},
        {DC_RELEASE_OMJOB, "release-omjob"},
        {DC_VERIFY_GONE, "verify-pod-gone"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_STRING_EQUAL(dc_kind_str(rows[i].k), rows[i].s);
    CU_ASSERT_STRING_EQUAL(dc_kind_str((enum dc_kind)99), "unknown");
    dc_action_clear(NULL);
}

/* ---- whole lifecycles ---- */

static void test_success(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "attempt 1"));
    expect_outcome("Completed", 0);
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "Running");
    check_events("MainPodCompleted", EV_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "main pod " MAIN_POD " ended: Completed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "(exit code 0)"));
    apply();

    /* Pending: looked at again when its start deadline passes. */
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 600 * SEC);
    advance(2 * SEC);
    pod_running(EXIT_POD);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    advance(10 * SEC);
    pod_exit(EXIT_POD, 0, "Completed");

    step(DC_STATUS);
    check_phase("Succeeded");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "ExitHandlerRunning");
    check_now("completionTime");
    check_now("lastTransitionTime");
    check_int("exitHandlerExitCode", 0);
    check_str("exitHandlerReason", "Completed");
    check_int("exitHandlerAttempts", 1);
    check_str("exitHandlerPodName", EXIT_POD);
    check_str("mainPodReason", "Completed");
    check_int("mainPodExitCode", 0);
    check_cond("Complete", "True", "Succeeded");
    check_cond("ExitHandlerFinished", "True", "Succeeded");
    check_cond("MainPodFinished", "True", "Completed");
    check_cond_not_true("Failed");
    check_contains("message", "succeeded");
    check_events("OMJobCompleted", EV_NORMAL, NULL);
    apply();

    /* Pods first (in the cache's name order: exit, main), then the OMJob. */
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    apply();
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    step(DC_RELEASE_OMJOB);
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 0);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    /* The pods stay (completed) until the OMJob is deleted; nothing more to do. */
    CU_ASSERT_EQUAL(json_object_array_length(W.pods), 2);
    advance(3600 * SEC);
    step(DC_NONE);
    /* Deleting it now: we hold nothing, nothing to do. */
    omjob_delete_at(W.now_ms);
    step(DC_NONE);
}

static void main_fails(int code, const char *creason)
{
    char code_s[16];
    snprintf(code_s, sizeof(code_s), "%d", code);
    world_new();
    to_running();
    pod_exit(MAIN_POD, code, creason);
    expect_create_exit(EXIT_POD, "failed", creason, code_s);
    expect_outcome(creason, code);
    check_events("MainPodCompleted", EV_WARNING, NULL);
    char want[128];
    snprintf(want, sizeof(want), "%s (exit code %d)", creason, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, want));
    apply();
    pod_running(EXIT_POD);
    step(DC_NONE);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", creason);
    check_cond("ExitHandlerFinished", "True", "Succeeded");
    check_cond_not_true("Complete");
    check_int("exitHandlerExitCode", 0);
    check_contains("message", want);
    check_events("OMJobFailed", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("OMJobFailed"), want));
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

static void test_main_error_3(void)
{
    main_fails(3, "Error");
}

static void test_main_oomkilled(void)
{
    main_fails(137, "OOMKilled");
}

/* kubectl delete pod: deletionTimestamp, the tracking finalizer keeps it visible. */
static void test_main_deleted(void)
{
    world_new();
    to_running();
    pod_mark_deleted(MAIN_POD);
    expect_create_exit(EXIT_POD, "failed", "Deleted", "");
    expect_outcome("Deleted", -1);
    check_events("MainPodCompleted", EV_WARNING, NULL);
    apply();
    /* Not deleted again by us: straight to the exit handler. */
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "Deleted");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
    /* The main pod, released while being deleted, is gone. */
    CU_ASSERT_PTR_NULL(pod_find(MAIN_POD));
}

/* A DELETE as the API server records it: deletionTimestamp = request + grace. */
static void pod_mark_deleted_real(const char *name, int grace_s)
{
    struct json_object *p = pod_get(name);
    char ts[40];
    fmt_ms(W.now_ms + grace_s * SEC, ts, sizeof(ts));
    jx_set_str(p, "deletionTimestamp", ts);
    jx_set_i64(p, "deletionGracePeriodSeconds", grace_s);
    pod_touch(p);
}

/* A main pod deleted while its OMJob is not: DELETE_SETTLE_MS (2 s) from the
 * request for the OMJob's deletion to show, then Deleted as before. */
static void test_main_deleted_settles(void)
{
    world_new();
    to_running();
    int64_t req = W.now_ms;
    pod_mark_deleted_real(MAIN_POD, 30);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, req + 2 * SEC);
    CU_ASSERT_EQUAL(W.a.nev, 0);
    advance(1 * SEC);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, req + 2 * SEC);
    advance(1 * SEC);
    expect_create_exit(EXIT_POD, "failed", "Deleted", "");
    expect_outcome("Deleted", -1);
}

/* Foreground deletion as the watcher may show it: the main pod's deletion first,
 * the OMJob's a moment later. A cancellation, the exit pod told so (it was told
 * Deleted while status said Cancelled: it_test_cancel fg2/fg3). */
static void test_foreground_pod_first(void)
{
    world_new();
    to_running();
    int64_t req = W.now_ms;
    pod_mark_deleted_real(MAIN_POD, 30);
    step(DC_NONE);
    advance(1 * SEC); /* within the 2 s (times are whole seconds) */
    omjob_delete_at(req);
    step(DC_STATUS);
    check_str("mainPodReason", "Cancelled");
    check_cond("MainPodFinished", "True", "Cancelled");
    CU_ASSERT(pod_find(EXIT_POD) == NULL);
}

/* The container had terminated (SIGTERM, 143) by the time the deletion is seen. */
static void test_main_deleted_after_exit(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 143, "Error");
    pod_mark_deleted(MAIN_POD);
    expect_create_exit(EXIT_POD, "failed", "Deleted", "143");
    expect_outcome("Deleted", 143);
    apply();
}

static void disrupted_main(const char *dt_reason, bool deleted, const char *want)
{
    world_new();
    to_running();
    pod_disrupt(MAIN_POD, dt_reason, "disrupted by the control plane");
    if (deleted)
        pod_mark_deleted(MAIN_POD);
    expect_create_exit(EXIT_POD, "failed", want, "");
    expect_outcome(want, -1);
    check_events("MainPodCompleted", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, want));
    apply();
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", want);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

static void test_main_disrupted(void)
{
    static const struct {
        const char *dt, *want;
        bool deleted;
    } rows[] = {
        {"EvictionByEvictionAPI", "Evicted", true}, {"EvictionByEvictionAPI", "Evicted", false},
        {"TerminationByKubelet", "Evicted", false}, {"DeletionByTaintManager", "NodeLost", true},
        {"DeletionByPodGC", "NodeLost", true},      {"PreemptionByScheduler", "Preempted", true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        disrupted_main(rows[i].dt, rows[i].deleted, rows[i].want);
}

/* Failed with pod reason Evicted (the kubelet's node-pressure eviction). */
static void test_main_evicted_by_kubelet(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 137, "Error");
    jx_set_str(pod_get(MAIN_POD), "reason", "Evicted");
    jx_set_str(pod_get(MAIN_POD), "message", "The node was low on resource: memory.");
    expect_create_exit(EXIT_POD, "failed", "Evicted", "137");
    expect_outcome("Evicted", 137);
    apply();
}

/* Force-deleted (gone from the cache) after status.mainPodName was written. */
static void test_main_vanished(void)
{
    world_new();
    to_running();
    pod_remove(MAIN_POD);
    step(DC_VERIFY_GONE);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    /* Still missing: asks again (the loop's GET has not answered). */
    step(DC_VERIFY_GONE);
    apply(); /* 404 */
    expect_outcome("Deleted", -1);
    check_events("MainPodCompleted", EV_WARNING, NULL);
    apply();
    expect_create_exit(EXIT_POD, "failed", "Deleted", "");
}

/* Missing before mainPodName was written: the creation is repeated (idempotent by name). */
static void test_main_missing_before_status(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    step(DC_CREATE_MAIN); /* not applied: the cache has not seen it yet */
    step(DC_CREATE_MAIN);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    step(DC_STATUS);
    check_phase("Pending");
}

static void test_start_timeout_image(void)
{
    world_new();
    to_pending();
    int64_t created = main_created_ms();
    pod_waiting(MAIN_POD, "ImagePullBackOff",
                "Back-off pulling image \"openmetadata/ingestion-base:1.12.0\"");
    /* Visible at once: message, Waiting condition, one Warning PodWaiting. */
    step(DC_STATUS);
    check_phase("Pending");
    check_contains("message", "waiting: main pod " MAIN_POD " is not starting: ImagePullBackOff: "
                              "Back-off pulling image");
    check_contains("message", "StartTimeout at 2026-03-01T12:10:01Z");
    check_cond("Waiting", "True", "ImagePullBackOff");
    check_events("PodWaiting", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("PodWaiting"), "ImagePullBackOff"));
    apply();
    step(DC_NONE);
    /* The kubelet alternates ErrImagePull and ImagePullBackOff: the same wait. */
    advance(10 * SEC);
    pod_waiting(MAIN_POD, "ErrImagePull", "rpc error: pull access denied");
    step(DC_NONE);
    pod_waiting(MAIN_POD, "ImagePullBackOff",
                "Back-off pulling image \"openmetadata/ingestion-base:1.12.0\"");
    W.now_ms = created + 599 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 600 * SEC);
    W.now_ms = created + 600 * SEC;
    expect_outcome("StartTimeout", -1);
    check_cond("Waiting", "False", "StartTimeout");
    check_contains("message", "ImagePullBackOff: Back-off pulling image "
                              "\"openmetadata/ingestion-base:1.12.0\"");
    check_contains("message", "600");
    check_events("StartTimeout", EV_WARNING, "MainPodCompleted", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("StartTimeout"), "ImagePullBackOff"));
    apply();
    /* The pod is deleted (uid precondition), then the exit handler runs. */
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    expect_create_exit(EXIT_POD, "failed", "StartTimeout", "");
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "StartTimeout");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* Unschedulable, with spec.startTimeoutSeconds overriding the operator's default. */
static void test_start_timeout_unschedulable(void)
{
    world_new();
    jx_set_i64(W.omjob, "spec.startTimeoutSeconds", 120);
    to_pending();
    int64_t created = main_created_ms();
    pod_unschedulable(MAIN_POD, "0/3 nodes are available: 3 Insufficient memory.");
    step(DC_STATUS);
    check_cond("Waiting", "True", "Unschedulable");
    check_contains("message", "Unschedulable: 0/3 nodes are available");
    check_events("PodWaiting", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 120 * SEC);
    W.now_ms = created + 120 * SEC;
    expect_outcome("StartTimeout", -1);
    check_contains("message", "Unschedulable: 0/3 nodes are available: 3 Insufficient memory.");
    apply();
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
}

/* spec.activeDeadlineSeconds: a main pod still running at its creation + the
 * deadline is ended by the operator itself (kwok, and any node whose kubelet does
 * not, never ends it): DeadlineExceeded is recorded first, the pod deleted, then
 * the exit handler runs as for any failure. */
static void test_active_deadline_running(void)
{
    world_new();
    jx_set_i64(W.omjob, "spec.activeDeadlineSeconds", 900);
    to_pending();
    int64_t created = main_created_ms();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 600 * SEC); /* the start timeout first */
    advance(5 * SEC);
    pod_running(MAIN_POD);
    step_apply(DC_STATUS);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 900 * SEC);
    W.now_ms = created + 899 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 900 * SEC);
    W.now_ms = created + 900 * SEC;
    expect_outcome("DeadlineExceeded", -1);
    check_contains("message", "900");
    check_events("DeadlineExceeded", EV_WARNING, "MainPodCompleted", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("DeadlineExceeded"), MAIN_POD));
    apply();
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    expect_create_exit(EXIT_POD, "failed", "DeadlineExceeded", "");
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "DeadlineExceeded");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* A deadline shorter than the start timeout counts the pending time too, as the
 * kubelet's does; a node-lost requeue later than the deadline does not hide it. */
static void test_active_deadline_pending(void)
{
    world_new();
    jx_set_i64(W.omjob, "spec.activeDeadlineSeconds", 60);
    to_pending();
    int64_t created = main_created_ms();
    pod_waiting(MAIN_POD, "ImagePullBackOff", "Back-off pulling image");
    step_apply(DC_STATUS);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 60 * SEC);
    W.now_ms = created + 60 * SEC;
    expect_outcome("DeadlineExceeded", -1);
    apply();
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    /* Running but unready: the deadline comes before the node-lost timeout. */
    world_new();
    jx_set_i64(W.omjob, "spec.activeDeadlineSeconds", 100);
    to_pending();
    created = main_created_ms();
    pod_running(MAIN_POD);
    step_apply(DC_STATUS);
    pod_unready(MAIN_POD, false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 100 * SEC);
}

/* A kubelet that enforces the deadline itself ends the pod Failed with the
 * pod-level reason DeadlineExceeded: the same outcome. */
static void test_active_deadline_kubelet(void)
{
    world_new();
    jx_set_i64(W.omjob, "spec.activeDeadlineSeconds", 900);
    to_pending();
    pod_running(MAIN_POD);
    step_apply(DC_STATUS);
    pod_exit(MAIN_POD, 137, "Error");
    struct json_object *p = pod_find(MAIN_POD);
    jx_set_str(p, "reason", "DeadlineExceeded");
    jx_set_str(p, "message", "Pod was active on the node longer than the specified deadline");
    expect_create_exit(EXIT_POD, "failed", "DeadlineExceeded", "137");
    expect_outcome("DeadlineExceeded", 137);
}

/* A running pod never times out. */
static void test_running_no_timeout(void)
{
    world_new();
    to_running();
    W.now_ms += 3600 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* CONTRACT: "StartTimeout ... the pod is then deleted". Without an exit handler (or
 * with the skip annotation) decide.c finishes the OMJob at once and only releases the
 * tracking finalizer: the stuck Pending pod stays (pulling, holding its requests)
 * until the OMJob itself is deleted (TTL: 7 days for this fixture). */
static void test_start_timeout_no_exit_handler(void)
{
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec"), "exitHandlerSpec");
    to_pending();
    pod_waiting(MAIN_POD, "ErrImagePull", "manifest unknown");
    W.now_ms = main_created_ms() + 600 * SEC;
    step(DC_STATUS);
    check_phase("Failed");
    check_str("mainPodReason", "StartTimeout");
    check_cond("ExitHandlerFinished", "True", "NotConfigured");
    check_cond("Failed", "True", "StartTimeout");
    apply();
    /* The contract: the Pending main pod is deleted at some point before we are done. */
    bool deleted = false;
    for (int i = 0; i < 6 && !deleted; i++) {
        decide();
        if (W.a.kind == DC_DELETE_POD && strcmp(W.a.pod, MAIN_POD) == 0)
            deleted = true;
        else if (W.a.kind == DC_NONE)
            break;
        apply();
    }
    if (!deleted)
        fprintf(stderr, "\n    [contract deviation] StartTimeout without exit handler: main pod "
                        "never deleted\n");
    CU_ASSERT_TRUE(deleted);
}

static void test_create_failed(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    W.create_error = "pods \"" MAIN_POD "\" is forbidden: exceeded quota: compute, requested: "
                     "limits.memory=4Gi";
    /* Before the deadline (from the OMJob's creation): status says so once (the
     * loop posts FailedCreate itself), then keep trying. */
    W.now_ms = T0_MS + 2 * SEC;
    step(DC_STATUS);
    check_phase("Pending");
    check_cond("Waiting", "True", "FailedCreate");
    check_contains("message", "waiting: the main pod cannot be created: pods");
    check_contains("message", "exceeded quota");
    check_contains("message", "CreateFailed at 2026-03-01T12:10:00Z");
    check_events(NULL);
    apply();
    W.now_ms = T0_MS + 599 * SEC;
    step(DC_CREATE_MAIN);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    W.now_ms = T0_MS + 600 * SEC;
    expect_outcome("CreateFailed", -1);
    check_cond("Waiting", "False", "CreateFailed");
    check_contains("message", "exceeded quota");
    check_cond("MainPodFinished", "True", "CreateFailed");
    apply();
    W.create_error = NULL;
    expect_create_exit(EXIT_POD, "failed", "CreateFailed", "");
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "CreateFailed");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

static void test_invalid_main_spec(void)
{
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec.mainPodSpec"), "image");
    step_apply(DC_ADD_FINALIZER);
    expect_outcome("InvalidSpec", -1);
    check_contains("message", "spec.mainPodSpec.image");
    check_events("InvalidSpec", EV_WARNING, "MainPodCompleted", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("InvalidSpec"), "spec.mainPodSpec.image"));
    apply();
    expect_create_exit(EXIT_POD, "failed", "InvalidSpec", "");
}

static void test_invalid_exit_spec(void)
{
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec.exitHandlerSpec"), "image");
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    expect_outcome("Completed", 0);
    apply();
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "InvalidSpec");
    check_cond("Failed", "True", "ExitHandlerFailed");
    check_contains("message", "spec.exitHandlerSpec.image");
    check_events("InvalidSpec", EV_WARNING, "OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

static void test_cancel_running(void)
{
    world_new();
    to_running();
    int64_t del = W.now_ms;
    omjob_delete_at(del);
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_str("mainPodReason", "Cancelled");
    check_absent("mainPodExitCode");
    check_str("exitHandlerPodName", EXIT_POD);
    check_int("exitHandlerAttempts", 1);
    check_cond("MainPodFinished", "True", "Cancelled");
    CU_ASSERT(W.a.nev >= 1);
    CU_ASSERT_STRING_EQUAL(W.a.ev[0].reason, "Cancelling");
    CU_ASSERT_EQUAL(W.a.ev[0].type, EV_NORMAL);
    apply();
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
    /* The exit pod's start deadline comes before the cancel deadline. */
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 600 * SEC);
    CU_ASSERT(W.a.requeue_at_ms < del + 900 * SEC);
    advance(5 * SEC);
    pod_running(EXIT_POD);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, del + 900 * SEC);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "Cancelled");
    check_cond("ExitHandlerFinished", "True", "Succeeded");
    check_events("OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
    /* Our finalizer was the last: the OMJob is gone; the main pod too. */
    CU_ASSERT_PTR_NULL(W.omjob);
    CU_ASSERT_PTR_NULL(pod_find(MAIN_POD));
    step(DC_NONE);
}

/* Deleted while the main pod was Pending. */
static void test_cancel_pending(void)
{
    world_new();
    to_pending();
    omjob_delete_at(W.now_ms);
    step(DC_STATUS);
    check_str("mainPodReason", "Cancelled");
    CU_ASSERT_STRING_EQUAL(W.a.ev[0].reason, "Cancelling");
    apply();
    step(DC_DELETE_POD);
    apply();
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
}

/* Deleted after the finalizer was added but before the main pod exists. */
static void test_cancel_before_main(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    omjob_delete_at(W.now_ms);
    expect_outcome("Cancelled", -1);
    check_events("Cancelling", EV_NORMAL, "MainPodCompleted", EV_WARNING, NULL);
    apply();
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
}

/* Deleted before we ever added our finalizer: nothing to do. */
static void test_deleted_without_finalizer(void)
{
    world_new();
    omjob_delete_at(W.now_ms);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* The main pod had already ended when the OMJob was deleted: its outcome stands. */
static void test_cancel_after_main_ended(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    omjob_delete_at(W.now_ms);
    expect_outcome("Completed", 0);
    apply();
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
    CU_ASSERT_PTR_NULL(W.omjob);
}

static void test_skip_exit_handler(void)
{
    world_new();
    annotate_skip();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    check_str("mainPodReason", "Completed");
    check_int("mainPodExitCode", 0);
    check_absent("exitHandlerPodName");
    check_absent("exitHandlerAttempts");
    check_cond("ExitHandlerFinished", "True", "Skipped");
    check_cond("Complete", "True", "Succeeded");
    check_now("completionTime");
    check_events("MainPodCompleted", EV_NORMAL, "OMJobCompleted", EV_NORMAL, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

static void test_skip_exit_handler_cancel(void)
{
    world_new();
    annotate_skip();
    to_running();
    omjob_delete_at(W.now_ms);
    step(DC_STATUS);
    check_phase("Failed");
    check_str("mainPodReason", "Cancelled");
    check_cond("ExitHandlerFinished", "True", "Skipped");
    check_cond("Failed", "True", "Cancelled");
    check_absent("exitHandlerPodName");
    CU_ASSERT(W.a.nev >= 2);
    CU_ASSERT_STRING_EQUAL(W.a.ev[0].reason, "Cancelling");
    CU_ASSERT_STRING_EQUAL(W.a.ev[W.a.nev - 1].reason, "OMJobFailed");
    apply();
    /* No exit pod is ever created. */
    for (int i = 0; i < 6; i++) {
        decide();
        CU_ASSERT_NOT_EQUAL(W.a.kind, DC_CREATE_EXIT);
        if (W.a.kind == DC_NONE)
            break;
        apply();
    }
    CU_ASSERT_PTR_NULL(W.omjob);
}

static void test_cancel_deadline(void)
{
    world_new();
    to_running();
    int64_t del = W.now_ms;
    omjob_delete_at(del);
    step_apply(DC_STATUS);
    step_apply(DC_DELETE_POD);
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
    pod_running(EXIT_POD);
    W.now_ms = del + 899 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, del + 900 * SEC);
    W.now_ms = del + 900 * SEC;
    step(DC_STATUS);
    check_phase("Failed");
    check_str("mainPodReason", "Cancelled");
    check_now("completionTime");
    check_cond("Failed", "True", "Cancelled");
    check_contains("message", "900");
    check_events("CancelDeadlineExceeded", EV_WARNING, "OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
    CU_ASSERT_PTR_NULL(W.omjob);
}

/* The deadline passed before the outcome was ever recorded (operator down).
 * CONTRACT: "MainPodFinished | True when the main outcome is recorded | mainPodReason":
 * decide.c sets mainPodReason Cancelled here but leaves MainPodFinished False
 * (reason Running) in the final status. */
static void test_cancel_deadline_before_outcome(void)
{
    world_new();
    to_running();
    omjob_delete_at(W.now_ms - 901 * SEC);
    decide();
    CU_ASSERT_EQUAL_FATAL(W.a.kind, DC_STATUS);
    struct json_object *mpf = pcond("MainPodFinished");
    if (mpf == NULL || strcmp(jx_str_or(mpf, "status", ""), "True") != 0 ||
        strcmp(jx_str_or(mpf, "reason", ""), "Cancelled") != 0)
        fprintf(stderr,
                "\n    [contract deviation] cancel deadline before the outcome: "
                "MainPodFinished %s/%s, want True/Cancelled\n",
                jx_str_or(mpf, "status", "-"), jx_str_or(mpf, "reason", "-"));
    generic_checks();
    check_cond("MainPodFinished", "True", "Cancelled");
    check_phase("Failed");
    check_str("mainPodReason", "Cancelled");
    check_absent("mainPodExitCode");
    check_events("CancelDeadlineExceeded", EV_WARNING, "OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

static void exit_handler_started(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    expect_outcome("Completed", 0);
    apply();
    pod_running(EXIT_POD);
    step(DC_NONE);
}

static void test_exit_disrupted(void)
{
    exit_handler_started();
    /* Attempt 1 evicted → attempt 2 as <omjob>-exit-1. */
    pod_disrupt(EXIT_POD, "EvictionByEvictionAPI", "Eviction API: evicting");
    pod_mark_deleted(EXIT_POD);
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_str("exitHandlerPodName", EXIT_POD1);
    check_int("exitHandlerAttempts", 2);
    check_absent("completionTime");
    check_events("ExitHandlerRecreated", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, EXIT_POD));
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, EXIT_POD1));
    apply();
    expect_create_exit(EXIT_POD1, "success", "Completed", "0");
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "attempt 2"));
    pod_running(EXIT_POD1);
    step(DC_NONE);

    /* Attempt 2 deleted → attempt 3. */
    pod_mark_deleted(EXIT_POD1);
    step(DC_STATUS);
    check_str("exitHandlerPodName", EXIT_POD2);
    check_int("exitHandlerAttempts", 3);
    check_events("ExitHandlerRecreated", EV_WARNING, NULL);
    apply();
    expect_create_exit(EXIT_POD2, "success", "Completed", "0");

    /* Attempt 3 (the last of 3) lost with its node → Failed. */
    pod_running(EXIT_POD2);
    pod_disrupt(EXIT_POD2, "DeletionByTaintManager", "node worker-1 is unreachable");
    pod_mark_deleted(EXIT_POD2);
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "NodeLost");
    check_int("exitHandlerAttempts", 3);
    check_str("exitHandlerPodName", EXIT_POD2);
    check_cond("ExitHandlerFinished", "True", "Disrupted");
    check_cond("Failed", "True", "ExitHandlerFailed");
    check_contains("message", "exit handler");
    check_events("OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 4);
}

/* OMJOB_EXIT_HANDLER_MAX_ATTEMPTS=1: the first disruption is final. */
static void test_exit_disrupted_max_1(void)
{
    exit_handler_started();
    W.cfg.exit_max_attempts = 1;
    pod_mark_deleted(EXIT_POD);
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "Deleted");
    check_cond("ExitHandlerFinished", "True", "Disrupted");
    apply();
}

static void test_exit_fails(void)
{
    exit_handler_started();
    pod_exit(EXIT_POD, 2, "Error");
    step(DC_STATUS);
    check_phase("Failed");
    check_int("exitHandlerExitCode", 2);
    check_str("exitHandlerReason", "Error");
    check_str("mainPodReason", "Completed");
    check_contains("message", "exit handler");
    check_contains("message", "exit code 2");
    check_cond("Failed", "True", "ExitHandlerFailed");
    check_cond("ExitHandlerFinished", "True", "Failed");
    check_cond("MainPodFinished", "True", "Completed");
    check_events("OMJobFailed", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("OMJobFailed"), "exit handler"));
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* An exit pod that vanished (our finalizer removed by hand, then deleted) cannot be
 * told from one not created yet (the status write comes first): it is created
 * again under the same name, as the same attempt (docs/LIFECYCLE.md). */
static void test_exit_vanished(void)
{
    exit_handler_started();
    pod_remove(EXIT_POD);
    decide();
    generic_checks();
    CU_ASSERT_EQUAL(W.a.kind, DC_CREATE_EXIT);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
}

/* An exit pod that Succeeded is final even when it is being deleted: exit 0 is the
 * handler's own result (docs/LIFECYCLE.md). */
static void test_exit_succeeded_while_deleted(void)
{
    exit_handler_started();
    pod_exit(EXIT_POD, 0, "Completed");
    pod_mark_deleted(EXIT_POD);
    decide();
    generic_checks();
    CU_ASSERT_EQUAL_FATAL(W.a.kind, DC_STATUS);
    CU_ASSERT_STRING_EQUAL(ps("phase"), "Succeeded");
    CU_ASSERT(jx_i64_or(patch_status(), "exitHandlerAttempts", 0) == 1);
}

/* A Failed exit pod that is being deleted is a disruption, not the handler's result. */
static void test_exit_failed_while_deleted(void)
{
    exit_handler_started();
    pod_exit(EXIT_POD, 143, "Error");
    pod_mark_deleted(EXIT_POD);
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_int("exitHandlerAttempts", 2);
    check_str("exitHandlerPodName", EXIT_POD1);
    check_events("ExitHandlerRecreated", EV_WARNING, NULL);
}

static void test_no_exit_handler(void)
{
    /* Success. */
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec"), "exitHandlerSpec");
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "Running");
    check_str("mainPodReason", "Completed");
    check_int("mainPodExitCode", 0);
    check_absent("exitHandlerPodName");
    check_absent("exitHandlerAttempts");
    check_cond("ExitHandlerFinished", "True", "NotConfigured");
    check_cond("Complete", "True", "Succeeded");
    check_events("MainPodCompleted", EV_NORMAL, "OMJobCompleted", EV_NORMAL, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);

    /* Failure. */
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec"), "exitHandlerSpec");
    to_running();
    pod_exit(MAIN_POD, 3, "Error");
    step(DC_STATUS);
    check_phase("Failed");
    check_int("mainPodExitCode", 3);
    check_cond("Failed", "True", "Error");
    check_cond("ExitHandlerFinished", "True", "NotConfigured");
    check_events("MainPodCompleted", EV_WARNING, "OMJobFailed", EV_WARNING, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

/* An outcome recorded by an older writer without the first attempt. */
static void test_outcome_without_attempt(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    jx_set_str(W.omjob, "status.mainPodReason", "Completed");
    jx_set_i64(W.omjob, "status.mainPodExitCode", 0);
    snprintf(W.main_reason, sizeof(W.main_reason), "Completed");
    W.main_code_known = true;
    W.main_code = 0;
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_str("exitHandlerPodName", EXIT_POD);
    check_int("exitHandlerAttempts", 1);
    apply();
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
}

/* ---- node loss, exit pods that never start, deletion with the OMJob ---- */

/* Running, then Ready False (the node stopped answering) for OMJOB_NODE_LOST_TIMEOUT_SECONDS. */
static void test_main_node_lost(void)
{
    world_new();
    to_running();
    int64_t since = W.now_ms;
    pod_unready(MAIN_POD, false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
    W.now_ms = since + 299 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
    W.now_ms = since + 300 * SEC;
    expect_outcome("NodeLost", -1);
    check_contains("message", "worker-1");
    check_events("NodeLost", EV_WARNING, "MainPodCompleted", EV_WARNING, NULL);
    apply();
    /* The pod on the silent node is deleted, then the exit handler runs. */
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    check_events(NULL);
    apply();
    expect_create_exit(EXIT_POD, "failed", "NodeLost", "");
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("Failed", "True", "NodeLost");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* Ready again before the timeout: nothing happens. */
static void test_main_unready_recovers(void)
{
    world_new();
    to_running();
    pod_unready(MAIN_POD, false);
    W.now_ms += 200 * SEC;
    step(DC_NONE);
    json_object_object_add(pod_get(MAIN_POD), "ready", pod_cond("True", NULL, NULL, W.now_ms));
    W.now_ms += 200 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* CONTRACT: "StartTimeout | main pod still Pending startTimeoutSeconds ... after its
 * creation"; phases "Pending (main pod created, not running yet)". A main pod that
 * ran and whose node went silent with phase Unknown is treated as not running by
 * before_outcome: it writes phase Pending again (Running → Pending), and once
 * startTimeoutSeconds have passed since the pod's creation records StartTimeout
 * ("did not start within 600 s") instead of NodeLost after the node-lost timeout. */
static void unknown_phase_waits(int64_t since)
{
    decide();
    generic_checks();
    bool ok = W.a.kind == DC_NONE && W.a.requeue_at_ms == since + 300 * SEC;
    if (!ok)
        fprintf(stderr,
                "\n    [contract deviation] phase Unknown (was Running): %s (%s) phase %s\n",
                dc_kind_str(W.a.kind), W.a.why, W.a.kind == DC_STATUS ? ps("phase") : "-");
    CU_ASSERT_TRUE(ok);
}

static void test_main_phase_unknown(void)
{
    /* Within the start deadline: status goes back to Pending. */
    world_new();
    to_running();
    int64_t since = W.now_ms;
    pod_unready(MAIN_POD, true);
    unknown_phase_waits(since);

    /* Past it: StartTimeout at once, and never NodeLost. */
    world_new();
    to_running();
    W.now_ms += 3600 * SEC;
    since = W.now_ms;
    pod_unready(MAIN_POD, true);
    unknown_phase_waits(since);
    W.now_ms = since + 300 * SEC;
    decide();
    generic_checks();
    const char *r = W.a.kind == DC_STATUS ? ps("mainPodReason") : NULL;
    if (r == NULL || strcmp(r, "NodeLost") != 0)
        fprintf(stderr,
                "    [contract deviation] phase Unknown past the node-lost timeout: %s "
                "mainPodReason %s\n",
                dc_kind_str(W.a.kind), r != NULL ? r : "-");
    CU_ASSERT_STRING_EQUAL(r != NULL ? r : "(none)", "NodeLost");
}

/* The exit pod's node stops answering: it is deleted (NodeLost event), which makes
 * it disrupted, and the next attempt starts. */
static void test_exit_node_lost(void)
{
    exit_handler_started();
    int64_t since = W.now_ms;
    pod_unready(EXIT_POD, false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
    W.now_ms = since + 300 * SEC;
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    check_events("NodeLost", EV_WARNING, NULL);
    apply();
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_int("exitHandlerAttempts", 2);
    check_str("exitHandlerPodName", EXIT_POD1);
    check_events("ExitHandlerRecreated", EV_WARNING, NULL);
    apply();
    expect_create_exit(EXIT_POD1, "success", "Completed", "0");
}

/* Exit pods that never start are deleted at startTimeoutSeconds and replaced; the
 * last one's deletion fails the OMJob. */
static void test_exit_never_starts(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    const char *names[] = {EXIT_POD, EXIT_POD1, EXIT_POD2};
    for (int i = 0; i < 3; i++) {
        if (i > 0)
            advance(1 * SEC);
        expect_create_exit(names[i], "success", "Completed", "0");
        if (i == 0)
            step_apply(DC_STATUS);
        int64_t created = W.now_ms;
        pod_waiting(names[i], "ImagePullBackOff", "Back-off pulling image");
        step(DC_STATUS);
        check_cond("Waiting", "True", "ImagePullBackOff");
        check_contains("message",
                       "main pod " MAIN_POD " ended: Completed; waiting: exit handler pod ");
        check_contains("message", names[i]);
        check_contains("message", i < 2 ? "replaced by the next attempt" : "its last attempt");
        check_events("PodWaiting", EV_WARNING, NULL);
        apply();
        W.now_ms = created + 599 * SEC;
        step(DC_NONE);
        CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 600 * SEC);
        W.now_ms = created + 600 * SEC;
        step(DC_DELETE_POD);
        CU_ASSERT_STRING_EQUAL(W.a.pod, names[i]);
        check_events("StartTimeout", EV_WARNING, NULL);
        CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "ImagePullBackOff"));
        apply();
        step(DC_STATUS);
        if (i < 2) {
            check_phase("ExitHandlerRunning");
            check_int("exitHandlerAttempts", i + 2);
            check_str("exitHandlerPodName", names[i + 1]);
            check_events("ExitHandlerRecreated", EV_WARNING, NULL);
            check_cond("Waiting", "False", "Replaced");
        } else {
            check_phase("Failed");
            check_cond_not_true("Waiting");
            check_int("exitHandlerAttempts", 3);
            check_cond("ExitHandlerFinished", "True", "Disrupted");
            check_cond("Failed", "True", "ExitHandlerFailed");
            CU_ASSERT_PTR_NOT_NULL(ps("exitHandlerReason"));
        }
        apply();
    }
    CU_ASSERT_EQUAL(expect_release_all(), 4);
}

/* Foreground deletion of the OMJob deletes the pods first: the main pod's deletion
 * is seen with the OMJob's and counts as a cancellation, not a disruption. */
static void test_main_deleted_with_omjob(void)
{
    world_new();
    to_running();
    omjob_delete_at(W.now_ms);
    pod_mark_deleted(MAIN_POD);
    expect_outcome("Cancelled", -1);
    CU_ASSERT(W.a.nev >= 1);
    CU_ASSERT_STRING_EQUAL(W.a.ev[0].reason, "Cancelling");
    CU_ASSERT_EQUAL(W.a.ev[0].type, EV_NORMAL);
    apply();
    /* Already being deleted: not deleted again. */
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
}

/* Foreground deletion (kubectl delete --cascade=foreground): the garbage collector
 * would delete an exit pod created while the OMJob carries foregroundDeletion, so
 * our pods are let go first and the exit pod waits for the collector. */
static void test_foreground_cancel(void)
{
    world_new();
    to_running();
    omjob_delete_at(W.now_ms);
    json_object_array_add(jx_arr(W.omjob, "metadata.finalizers"),
                          json_object_new_string("foregroundDeletion"));
    pod_mark_deleted(MAIN_POD); /* by the collector */
    expect_outcome("Cancelled", -1);
    apply();
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
    /* Released while deleted, the main pod is gone (apply); the collector then
     * drops foregroundDeletion. */
    CU_ASSERT_PTR_NULL(pod_find(MAIN_POD));
    json_object_object_add(jx_obj(W.omjob, "metadata"), "finalizers", json_object_new_array());
    json_object_array_add(jx_arr(W.omjob, "metadata.finalizers"),
                          json_object_new_string(FINALIZER_OMJOB));
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
}

/* The namespace is being deleted: the exit pod can never be created, so the run
 * ends at once instead of holding the namespace until the cancel deadline. */
static void test_ns_terminating(void)
{
    world_new();
    to_running();
    omjob_delete_at(W.now_ms);
    expect_outcome("Cancelled", -1);
    apply();
    step_apply(DC_DELETE_POD);
    W.ns_terminating = true;
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "NamespaceTerminating");
    check_contains("message", "being deleted");
    apply();
    W.ns_terminating = false;
}

/* ---- other owners, no OMJob, finished ---- */

static void test_foreign_pods(void)
{
    /* A pod of an earlier OMJob of the same name holding our finalizer: released
     * first, whatever else there is to do. */
    world_new();
    step_apply(DC_ADD_FINALIZER);
    add_foreign_pod(EXIT_POD, true);
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod_uid, "foreign-pod-uid");
    apply();

    /* A foreign pod holding the main pod's name: wait for it to go. */
    add_foreign_pod(MAIN_POD, false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
    /* With our finalizer on it: released first. */
    json_object_object_add(pod_get(MAIN_POD), "finalizers", tracking());
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    apply();
    step(DC_NONE);
    CU_ASSERT(W.a.requeue_at_ms > W.now_ms);
    /* Once it has gone, ours is created. */
    pod_remove(MAIN_POD);
    step(DC_CREATE_MAIN);
}

/* A foreign pod holding the exit pod's name while the exit handler is due. */
static void test_foreign_exit_pod(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    add_foreign_pod(EXIT_POD, false);
    /* Its name held: the outcome is recorded first, then the wait shows. */
    expect_outcome("Completed", 0);
    apply();
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodNameConflict");
    check_contains("message", "belongs to an earlier OMJob of this name");
    check_events("PodNameConflict", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
    pod_remove(EXIT_POD);
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    step(DC_STATUS); /* the wait is over */
    check_cond("Waiting", "False", "Progressing");
    apply();
    step(DC_NONE);
}

static void test_no_omjob(void)
{
    world_new();
    json_object_put(W.omjob);
    W.omjob = NULL;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);

    /* Pods left with our finalizer (OMJob deleted without us): released one by one. */
    pod_add(compact_pod(MAIN_POD, "uid-m", FIX_UID, FIX_NAME, POD_TYPE_MAIN, tracking()));
    pod_add(compact_pod(EXIT_POD, "uid-e", FIX_UID, FIX_NAME, POD_TYPE_EXIT_HANDLER, tracking()));
    struct json_object *other = json_object_new_array();
    json_object_array_add(other, json_object_new_string("example.com/keep"));
    json_object_array_add(other, json_object_new_string(FINALIZER_TRACKING));
    json_object_object_add(pod_get(MAIN_POD), "finalizers", other);
    pod_mark_deleted(EXIT_POD);
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod_uid, "uid-e");
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 0);
    apply();
    CU_ASSERT_PTR_NULL(pod_find(EXIT_POD));
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    /* Only ours goes. */
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.finalizers.0", ""), "example.com/keep");
    apply();
    step(DC_NONE);
}

static void finished_omjob(bool with_finalizer)
{
    world_new();
    char ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(W.omjob, "status.phase", "Succeeded");
    jx_set_str(W.omjob, "status.completionTime", ts);
    jx_set_str(W.omjob, "status.mainPodReason", "Completed");
    jx_set_i64(W.omjob, "status.mainPodExitCode", 0);
    if (with_finalizer) {
        struct json_object *f = json_object_new_array();
        json_object_array_add(f, json_object_new_string("example.com/keep"));
        json_object_array_add(f, json_object_new_string(FINALIZER_OMJOB));
        jx_set(W.omjob, "metadata.finalizers", f);
    }
    pod_add(compact_pod(MAIN_POD, "uid-m", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL));
    jx_set_str(pod_get(MAIN_POD), "phase", "Succeeded");
}

static void test_finished(void)
{
    finished_omjob(false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    advance(86400 * SEC);
    step(DC_NONE);

    /* Our finalizer still there: released, others kept. */
    finished_omjob(true);
    step(DC_RELEASE_OMJOB);
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.finalizers.0", ""), "example.com/keep");
    apply();
    step(DC_NONE);
}

/* Other finalizers on the OMJob are kept when ours is added. */
static void test_add_finalizer_keeps_others(void)
{
    world_new();
    struct json_object *f = json_object_new_array();
    json_object_array_add(f, json_object_new_string("example.com/keep"));
    jx_set(W.omjob, "metadata.finalizers", f);
    step(DC_ADD_FINALIZER);
    CU_ASSERT_EQUAL(jx_arr_len(W.a.patch, "metadata.finalizers"), 2);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.finalizers.0", ""), "example.com/keep");
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.a.patch, "metadata.finalizers.1", ""), FINALIZER_OMJOB);
    apply();
    step(DC_CREATE_MAIN);
}

/* A 250-character OMJob name: every pod name fits in 63 characters, and the
 * status names the pods as created. */
static void test_long_name(void)
{
    char long_name[251];
    for (size_t i = 0; i < 250; i++)
        long_name[i] = i % 10 == 9 ? '-' : (char)('a' + i % 26);
    long_name[249] = 'z';
    long_name[250] = '\0';
    world_new();
    jx_set_str(W.omjob, "metadata.name", long_name);
    step_apply(DC_ADD_FINALIZER);
    step(DC_CREATE_MAIN);
    char main_name[PODSPEC_NAME_BUF + 8], exit0[PODSPEC_NAME_BUF + 8], exit1[PODSPEC_NAME_BUF + 8];
    snprintf(main_name, sizeof(main_name), "%s", W.a.pod);
    CU_ASSERT(strlen(main_name) <= 63);
    apply();
    step(DC_STATUS);
    check_str("mainPodName", main_name);
    apply();
    pod_exit(main_name, 0, "Completed");
    step(DC_CREATE_EXIT);
    snprintf(exit0, sizeof(exit0), "%s", W.a.pod);
    CU_ASSERT(strlen(exit0) > 0 && strlen(exit0) <= 63);
    CU_ASSERT_STRING_NOT_EQUAL(exit0, main_name);
    check_env(PODSPEC_ENV_MAIN_POD_NAME, main_name);
    check_env(PODSPEC_ENV_NAME, long_name);
    apply();
    step(DC_STATUS);
    check_str("mainPodReason", "Completed");
    CU_ASSERT_STRING_EQUAL(jx_str_or(patch_status(), "exitHandlerPodName", ""), exit0);
    apply();
    pod_mark_deleted(exit0);
    step(DC_STATUS);
    snprintf(exit1, sizeof(exit1), "%s", jx_str_or(patch_status(), "exitHandlerPodName", ""));
    CU_ASSERT(strlen(exit1) > 0 && strlen(exit1) <= 63);
    CU_ASSERT_STRING_NOT_EQUAL(exit1, exit0);
    CU_ASSERT_STRING_NOT_EQUAL(exit1, main_name);
    apply();
    step(DC_CREATE_EXIT);
    CU_ASSERT_STRING_EQUAL(W.a.pod, exit1);
    apply();
    pod_exit(exit1, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 3);
}

/* A decision never changes its input. */
static void test_pure(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 3, "Error");
    char *before_o = jx_dump(W.omjob, NULL), *before_p = jx_dump(W.pods, NULL);
    decide();
    CU_ASSERT_EQUAL(W.a.kind, DC_CREATE_EXIT);
    decide();
    CU_ASSERT_EQUAL(W.a.kind, DC_CREATE_EXIT);
    char *after_o = jx_dump(W.omjob, NULL), *after_p = jx_dump(W.pods, NULL);
    CU_ASSERT_STRING_EQUAL(after_o, before_o);
    CU_ASSERT_STRING_EQUAL(after_p, before_p);
    free(before_o);
    free(before_p);
    free(after_o);
    free(after_p);
}

/* ---- paths the main/exit pod checks share (added to guard their refactor) ---- */

/* What the watcher renders from a created exit pod's annotations (mainReason,
 * mainExitCode): the main outcome the pod was told. Call right after its creation
 * step, while W.a still holds the pod. */
static void watch_told_outcome(const char *name)
{
    struct json_object *ann = jx_obj(W.a.pod_obj, "metadata.annotations"), *v = NULL;
    struct json_object *p = pod_get(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ann);
    CU_ASSERT_FATAL(
        json_object_object_get_ex(ann, "omjob.pipelines.openmetadata.org/main-reason", &v));
    jx_set_str(p, "mainReason", json_object_get_string(v));
    CU_ASSERT_FATAL(
        json_object_object_get_ex(ann, "omjob.pipelines.openmetadata.org/main-exit-code", &v));
    jx_set_str(p, "mainExitCode", json_object_get_string(v));
    pod_touch(p);
}

/* Status as another writer left it: the main outcome recorded (MainPodFinished
 * True), the phase not terminal, no exit attempt. */
static void outcome_recorded_elsewhere(const char *reason, int code)
{
    struct json_object *st = jx_obj(W.omjob, "status");
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    jx_set_str(st, "mainPodReason", reason);
    jx_set_i64(st, "mainPodExitCode", code);
    struct json_object *conds = jx_arr(st, "conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        if (strcmp(jx_str_or(c, "type", ""), "MainPodFinished") == 0) {
            jx_set_str(c, "status", "True");
            jx_set_str(c, "reason", reason);
        }
    }
    omjob_touch();
    snprintf(W.main_reason, sizeof(W.main_reason), "%s", reason);
    W.main_code_known = true;
    W.main_code = code;
}

/* A main pod without creationTimestamp: no start deadline (nothing to count
 * from), startTime taken from the clock. */
static void test_main_pending_without_creation_time(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    advance(1 * SEC);
    step_apply(DC_CREATE_MAIN);
    set_null(pod_get(MAIN_POD), "creationTimestamp");
    advance(2 * SEC);
    step(DC_STATUS);
    check_phase("Pending");
    check_now("startTime");
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    advance(3600 * SEC);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* Why a Pending pod did not start when neither its container nor the scheduler
 * says: "Pending", with the pod's message when it has one. */
static void test_start_timeout_plain_pending(void)
{
    world_new();
    to_pending();
    struct json_object *p = pod_get(MAIN_POD);
    jx_set_str(p, "container.state", "none");
    set_null(jx_obj(p, "container"), "reason");
    jx_set_str(p, "message", "waiting for a volume");
    W.now_ms = main_created_ms() + 600 * SEC;
    expect_outcome("StartTimeout", -1);
    check_contains("message", "did not start within 600 s: Pending: waiting for a volume");
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("StartTimeout"), "Pending: waiting for a volume"));

    world_new();
    to_pending();
    p = pod_get(MAIN_POD);
    jx_set_str(p, "container.state", "none");
    set_null(jx_obj(p, "container"), "reason");
    W.now_ms = main_created_ms() + 600 * SEC;
    expect_outcome("StartTimeout", -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(event_message("StartTimeout"), "600 s: Pending"));
    CU_ASSERT_PTR_NULL(strstr(event_message("StartTimeout"), "Pending:"));
}

/* Node loss counted from the Ready condition's lastTransitionTime, else the pod's
 * startTime, else its creation, else from the next look (never fires). */
static void node_lost_since(struct json_object *p, bool keep_start, bool keep_created)
{
    struct json_object *ready = jx_obj(p, "ready");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ready);
    set_null(ready, "lastTransitionTime");
    if (!keep_start)
        set_null(p, "startTime");
    if (!keep_created)
        set_null(p, "creationTimestamp");
    pod_touch(p);
}

static void test_node_lost_since_fallbacks(void)
{
    /* startTime. */
    world_new();
    to_running();
    struct json_object *p = pod_get(MAIN_POD);
    int64_t started = parse_ms(jx_str(p, "startTime"));
    pod_unready(MAIN_POD, false);
    node_lost_since(p, true, true);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, started + 300 * SEC);
    W.now_ms = started + 300 * SEC;
    expect_outcome("NodeLost", -1);

    /* creationTimestamp. */
    world_new();
    to_running();
    p = pod_get(MAIN_POD);
    pod_unready(MAIN_POD, false);
    node_lost_since(p, false, true);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, main_created_ms() + 300 * SEC);

    /* No time at all: from the next look, which never comes closer. */
    world_new();
    to_running();
    p = pod_get(MAIN_POD);
    pod_unready(MAIN_POD, false);
    node_lost_since(p, false, false);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 300 * SEC);
    advance(300 * SEC);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 300 * SEC);

    /* The same rule for an exit pod. */
    exit_handler_started();
    p = pod_get(EXIT_POD);
    started = parse_ms(jx_str(p, "startTime"));
    pod_unready(EXIT_POD, false);
    node_lost_since(p, true, true);
    advance(10 * SEC);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, started + 300 * SEC);
    W.now_ms = started + 300 * SEC;
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    check_events("NodeLost", EV_WARNING, NULL);
}

/* The main pod ended before status ever said Pending: startTime is the time the
 * outcome was recorded. */
static void test_main_ended_before_status(void)
{
    /* No exit handler: finished at once. */
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec"), "exitHandlerSpec");
    step_apply(DC_ADD_FINALIZER);
    advance(1 * SEC);
    step_apply(DC_CREATE_MAIN);
    advance(3 * SEC);
    pod_exit(MAIN_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "");
    check_str("mainPodName", MAIN_POD);
    check_now("startTime");
    check_cond("MainPodFinished", "True", "Completed");
    check_events("MainPodCompleted", EV_NORMAL, "OMJobCompleted", EV_NORMAL, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);

    /* With one: the exit pod first, then the record it carries. */
    world_new();
    step_apply(DC_ADD_FINALIZER);
    advance(1 * SEC);
    step_apply(DC_CREATE_MAIN);
    advance(3 * SEC);
    pod_exit(MAIN_POD, 3, "Error");
    expect_create_exit(EXIT_POD, "failed", "Error", "3");
    watch_told_outcome(EXIT_POD);
    expect_outcome("Error", 3);
    check_now("startTime");
    CU_ASSERT_STRING_EQUAL(W.a.from_phase, "");
    check_events("MainPodCompleted", EV_WARNING, NULL);
    apply();
}

/* The exit pod created first is the record: what it was told wins over what the
 * main pod shows by the time status is written. */
static void test_outcome_from_exit_pod(void)
{
    /* Failed (Error 3), then deleted in the same second (which, alone, reads as
     * Deleted): the exit pod was told Error 3. */
    world_new();
    to_running();
    pod_exit(MAIN_POD, 3, "Error");
    expect_create_exit(EXIT_POD, "failed", "Error", "3");
    watch_told_outcome(EXIT_POD);
    pod_mark_deleted(MAIN_POD);
    struct dc_outcome o;
    dc_classify(pod_get(MAIN_POD), &o);
    CU_ASSERT_STRING_EQUAL(o.reason, "Deleted");
    expect_outcome("Error", 3);
    check_events("MainPodCompleted", EV_WARNING, NULL);
    apply();
    pod_running(EXIT_POD);
    step(DC_NONE);

    /* Deleted while running (no exit code), then the container ended 143: the
     * exit pod was told no code, and that stands. */
    world_new();
    to_running();
    pod_mark_deleted(MAIN_POD);
    expect_create_exit(EXIT_POD, "failed", "Deleted", "");
    watch_told_outcome(EXIT_POD);
    pod_exit(MAIN_POD, 143, "Error");
    dc_classify(pod_get(MAIN_POD), &o);
    CU_ASSERT(o.code_known && o.code == 143);
    expect_outcome("Deleted", -1);
    apply();

    /* Told a reason but no code field at all (an older pod): the reason, no code. */
    world_new();
    to_running();
    pod_exit(MAIN_POD, 3, "Error");
    expect_create_exit(EXIT_POD, "failed", "Error", "3");
    jx_set_str(pod_get(EXIT_POD), "mainReason", "OOMKilled");
    expect_outcome("OOMKilled", -1);
    apply();
}

/* The API server rejected the first exit pod: the outcome is recorded first, and
 * the exit pod follows from status. */
static void test_exit_create_rejected(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    step(DC_CREATE_EXIT);
    W.exit_create_rejected = true;
    expect_outcome("Completed", 0);
    check_events("MainPodCompleted", EV_NORMAL, NULL);
    apply();
    /* Recorded: the flag no longer matters, the creation is retried from status. */
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    W.exit_create_rejected = false;
}

/* Recorded StartTimeout, but the main pod ended on its own before our deletion:
 * nothing to stop, straight to the exit handler. */
static void test_stop_main_already_ended(void)
{
    world_new();
    to_pending();
    W.now_ms = main_created_ms() + 600 * SEC;
    expect_outcome("StartTimeout", -1);
    apply();
    pod_exit(MAIN_POD, 1, "Error");
    expect_create_exit(EXIT_POD, "failed", "StartTimeout", "");
}

/* Without the OMJob's creationTimestamp there is no CreateFailed deadline: the
 * creation is retried. */
static void test_create_failed_without_creation_time(void)
{
    world_new();
    json_object_object_del(jx_obj(W.omjob, "metadata"), "creationTimestamp");
    step_apply(DC_ADD_FINALIZER);
    W.create_error = "exceeded quota";
    W.now_ms = T0_MS + 86400 * SEC;
    step(DC_CREATE_MAIN);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
    W.create_error = NULL;
}

/* An exit pod without creationTimestamp has no start deadline. */
static void test_exit_pending_without_creation_time(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    expect_outcome("Completed", 0);
    apply();
    set_null(pod_get(EXIT_POD), "creationTimestamp");
    pod_touch(pod_get(EXIT_POD));
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    advance(3600 * SEC);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* An exit pod with phase Unknown (its node went silent after it started) is not
 * "never started": it waits for the node-lost timeout, then is deleted. The
 * requeue time is not asserted here: decide.c takes the earlier of the node-lost
 * time and the pod's start deadline, which may already have passed. */
static void test_exit_phase_unknown(void)
{
    exit_handler_started();
    advance(700 * SEC);
    int64_t since = W.now_ms;
    pod_unready(EXIT_POD, true);
    step(DC_NONE);
    /* Woken at the node-lost time, not at the start deadline long past (which
     * made the reconciler decide the key again every few ms for 300 s). */
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
    W.now_ms = since + 299 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
    W.now_ms = since + 300 * SEC;
    step(DC_DELETE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    check_events("NodeLost", EV_WARNING, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(W.a.ev[0].message, "worker-1"));
}

/* A deletionTimestamp that does not parse: no cancel deadline to count from. */
static void test_cancel_unparsable_deletion_time(void)
{
    world_new();
    to_running();
    jx_set_str(W.omjob, "metadata.deletionTimestamp", "not a time");
    omjob_touch();
    step(DC_STATUS);
    check_str("mainPodReason", "Cancelled");
    apply();
    step_apply(DC_DELETE_POD);
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
    pod_running(EXIT_POD);
    W.now_ms += 86400 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
}

/* The last attempt disrupted after its container had ended: its code is kept. */
static void test_exit_disrupted_last_with_code(void)
{
    exit_handler_started();
    W.cfg.exit_max_attempts = 1;
    pod_exit(EXIT_POD, 137, "Error");
    pod_disrupt(EXIT_POD, "EvictionByEvictionAPI", "evicting");
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "Evicted");
    check_int("exitHandlerExitCode", 137);
    check_cond("ExitHandlerFinished", "True", "Disrupted");
    check_contains("message", "exit handler disrupted 1 times (last: Evicted)");
    check_events("OMJobFailed", EV_WARNING, NULL);
}

/* Exit pods that failed without an exit code, or with code 0 but a pod reason. */
static void test_exit_failed_odd_codes(void)
{
    exit_handler_started();
    struct json_object *p = pod_get(EXIT_POD);
    jx_set_str(p, "phase", "Failed");
    jx_set_str(p, "container.state", "none");
    pod_touch(p);
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "Error");
    check_absent("exitHandlerExitCode");
    check_contains("message", "exit handler failed: Error");
    CU_ASSERT_PTR_NULL(strstr(ps("message"), "exit code"));
    check_cond("ExitHandlerFinished", "True", "Failed");

    exit_handler_started();
    pod_exit(EXIT_POD, 0, "Completed");
    p = pod_get(EXIT_POD);
    jx_set_str(p, "phase", "Failed");
    jx_set_str(p, "reason", "DeadlineExceeded");
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "DeadlineExceeded");
    check_int("exitHandlerExitCode", 0);
    check_contains("message", "exit handler failed: DeadlineExceeded (exit code 0)");
    check_cond("Failed", "True", "ExitHandlerFailed");
}

/* An outcome recorded elsewhere while no exit handler is due (none configured, or
 * skipped before any attempt): the final status follows. */
static void test_outcome_recorded_without_exit_handler(void)
{
    world_new();
    json_object_object_del(jx_obj(W.omjob, "spec"), "exitHandlerSpec");
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    outcome_recorded_elsewhere("Completed", 0);
    step(DC_STATUS);
    check_phase("Succeeded");
    check_cond("ExitHandlerFinished", "True", "NotConfigured");
    check_contains("message", "no exit handler configured");
    check_events("OMJobCompleted", EV_NORMAL, NULL);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);

    world_new();
    annotate_skip();
    to_running();
    pod_exit(MAIN_POD, 1, "Error");
    outcome_recorded_elsewhere("Error", 1);
    step(DC_STATUS);
    check_phase("Failed");
    check_cond("ExitHandlerFinished", "True", "Skipped");
    check_cond("Failed", "True", "Error");
    check_contains("message", "exit handler skipped");
    check_absent("exitHandlerPodName");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 1);
}

/* A foreign pod holding the name of a later exit attempt. */
static void test_foreign_exit_retry(void)
{
    exit_handler_started();
    pod_mark_deleted(EXIT_POD);
    step(DC_STATUS);
    check_str("exitHandlerPodName", EXIT_POD1);
    apply();
    add_foreign_pod(EXIT_POD1, false);
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodNameConflict");
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
    pod_remove(EXIT_POD1);
    expect_create_exit(EXIT_POD1, "success", "Completed", "0");
}

/* Foreground deletion with pods left that hold no finalizer of ours: nothing to
 * release, wait for the collector. */
static void test_foreground_nothing_to_release(void)
{
    world_new();
    to_running();
    omjob_delete_at(W.now_ms);
    json_object_array_add(jx_arr(W.omjob, "metadata.finalizers"),
                          json_object_new_string("foregroundDeletion"));
    pod_mark_deleted(MAIN_POD);
    expect_outcome("Cancelled", -1);
    apply();
    json_object_object_add(pod_get(MAIN_POD), "finalizers", json_object_new_array());
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
}

/* An OMJob whose name yields no pod name, and one without a uid. */
static void test_bad_omjob(void)
{
    world_new();
    jx_set_str(W.omjob, "metadata.name", "");
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);

    world_new();
    json_object_object_del(jx_obj(W.omjob, "metadata"), "uid");
    step(DC_NONE);
    pod_add(compact_pod(MAIN_POD, "uid-m", FIX_UID, FIX_NAME, POD_TYPE_MAIN, tracking()));
    step(DC_RELEASE_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, MAIN_POD);
}

/* ---- taking over from the original operator ---- */

/* The OMJob as the original left it: no finalizer, its status (no field of ours:
 * no conditions, reasons, attempts, observedGeneration), phase `phase`. */
static void original_world(const char *phase, const char *message)
{
    world_new();
    char ts[40];
    fmt_ms(W.now_ms, ts, sizeof(ts));
    struct json_object *st = json_object_new_object();
    jx_set_str(st, "phase", phase);
    jx_set_str(st, "mainPodName", MAIN_POD);
    jx_set_str(st, "startTime", ts);
    jx_set_str(st, "lastTransitionTime", ts);
    jx_set_str(st, "message", message);
    json_object_object_add(W.omjob, "status", st);
    omjob_touch();
}

/* A pod the original created: controlled by the OMJob, no finalizer. */
static void original_pod(const char *name, const char *type)
{
    char uid[64];
    snprintf(uid, sizeof(uid), "orig-%s", type);
    pod_add(compact_pod(name, uid, FIX_UID, FIX_NAME, type, NULL));
}

/* Adopts every pod, in name order (`-exit` before `-main`). */
static void expect_adopt(const char *name)
{
    step(DC_ADOPT_POD);
    CU_ASSERT_STRING_EQUAL(W.a.pod, name);
    apply();
}

static int count_kind_until_none(enum dc_kind k, int max_steps)
{
    int n = 0;
    for (int i = 0; i < max_steps; i++) {
        decide();
        generic_checks();
        if (W.a.kind == k)
            n++;
        if (W.a.kind == DC_NONE)
            break;
        apply();
    }
    return n;
}

/* Main pod running under the original: adopted, followed; its end starts the
 * exit handler once. */
static void test_takeover_main_running(void)
{
    original_world("Running", "Main pod created");
    original_pod(MAIN_POD, POD_TYPE_MAIN);
    pod_running(MAIN_POD);
    advance(30 * SEC);
    step_apply(DC_ADD_FINALIZER);
    expect_adopt(MAIN_POD);
    CU_ASSERT_TRUE(arr_has(jx_arr(pod_get(MAIN_POD), "finalizers"), FINALIZER_TRACKING));
    step(DC_NONE); /* Running, as status says */
    advance(10 * SEC);
    pod_exit(MAIN_POD, 0, "Completed");
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    expect_outcome("Completed", 0);
    check_str("startTime", jx_str_or(W.omjob, "status.startTime", "")); /* the original's kept */
    apply();
    pod_running(EXIT_POD);
    step(DC_NONE);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* Main pod ended while nobody watched: the exit handler at once, once. */
static void test_takeover_main_ended(void)
{
    original_world("Running", "Main pod created");
    original_pod(MAIN_POD, POD_TYPE_MAIN);
    pod_running(MAIN_POD);
    pod_exit(MAIN_POD, 3, "Error");
    advance(30 * SEC);
    step_apply(DC_ADD_FINALIZER);
    expect_adopt(MAIN_POD);
    expect_create_exit(EXIT_POD, "failed", "Error", "3");
    expect_outcome("Error", 3);
    apply();
    CU_ASSERT_EQUAL(count_kind_until_none(DC_CREATE_EXIT, 10), 0);
}

/* ExitHandlerRunning under the original, its exit pod running: adopted, never a
 * second; the OMJob finishes when it ends. */
static void test_takeover_exit_running(void)
{
    original_world("ExitHandlerRunning", "Main pod completed with exit code: 0");
    jx_set_i64(W.omjob, "status.mainPodExitCode", 0);
    jx_set_str(W.omjob, "status.exitHandlerPodName", EXIT_POD);
    original_pod(MAIN_POD, POD_TYPE_MAIN);
    pod_running(MAIN_POD);
    pod_exit(MAIN_POD, 0, "Completed");
    original_pod(EXIT_POD, POD_TYPE_EXIT_HANDLER);
    pod_running(EXIT_POD);
    advance(30 * SEC);
    step_apply(DC_ADD_FINALIZER);
    expect_adopt(EXIT_POD);
    expect_adopt(MAIN_POD);
    expect_outcome("Completed", 0); /* recorded from the evidence, no new pod */
    apply();
    CU_ASSERT_EQUAL(count_kind_until_none(DC_CREATE_EXIT, 10), 0);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    check_int("exitHandlerExitCode", 0);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* Both pods ended while nobody watched (the original never saw the exit pod's
 * end): recorded, finished, no new pod. */
static void test_takeover_exit_ended(void)
{
    original_world("ExitHandlerRunning", "Main pod completed with exit code: 1");
    jx_set_i64(W.omjob, "status.mainPodExitCode", 1);
    jx_set_str(W.omjob, "status.exitHandlerPodName", EXIT_POD);
    original_pod(MAIN_POD, POD_TYPE_MAIN);
    pod_exit(MAIN_POD, 1, "Error");
    original_pod(EXIT_POD, POD_TYPE_EXIT_HANDLER);
    pod_exit(EXIT_POD, 0, "Completed");
    int creates = 0, finals = 0;
    for (int i = 0; i < 12; i++) {
        decide();
        generic_checks();
        creates += W.a.kind == DC_CREATE_EXIT || W.a.kind == DC_CREATE_MAIN;
        if (W.a.kind == DC_STATUS && ps("completionTime") != NULL) {
            finals++;
            check_phase("Failed"); /* main exit 1: our rule, from the evidence */
            check_int("exitHandlerExitCode", 0);
            check_str("mainPodReason", "Error");
        }
        if (W.a.kind == DC_NONE)
            break;
        apply();
    }
    CU_ASSERT_EQUAL(creates, 0);
    CU_ASSERT_EQUAL(finals, 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.phase", ""), "Failed");
}

/* Pod names the original shortened with its own hash (a long OMJob name): not
 * ours, and status names them. */
#define ORIG_MAIN "om-job-mysql-metadata-ingest-5e0c1a-main"
#define ORIG_EXIT "om-job-mysql-metadata-ingest-5e0c1a-exit"

/* Its main pod running under another name: adopted and followed by that name; its
 * end starts our first exit attempt (our name, told the original's main pod). */
static void test_takeover_original_names(void)
{
    original_world("Running", "Main pod created");
    jx_set_str(W.omjob, "status.mainPodName", ORIG_MAIN);
    omjob_touch();
    original_pod(ORIG_MAIN, POD_TYPE_MAIN);
    pod_running(ORIG_MAIN);
    advance(30 * SEC);
    step_apply(DC_ADD_FINALIZER);
    expect_adopt(ORIG_MAIN);
    step(DC_NONE); /* running: never a main pod of our name */
    advance(10 * SEC);
    pod_exit(ORIG_MAIN, 2, "Error");
    step(DC_CREATE_EXIT);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    check_exit_env("failed", "Error", "2");
    check_env(PODSPEC_ENV_MAIN_POD_NAME, ORIG_MAIN);
    apply();
    expect_outcome_of(ORIG_MAIN, "Error", 2);
    apply();
    CU_ASSERT_EQUAL(count_kind_until_none(DC_CREATE_EXIT, 10), 0);
    CU_ASSERT_PTR_NULL(pod_find(MAIN_POD));
}

/* ExitHandlerRunning under the original with both its pods named its way, both
 * ended unwatched: recorded and finished, no pod created. */
static void test_takeover_original_names_exit(void)
{
    original_world("ExitHandlerRunning", "Main pod completed with exit code: 0");
    jx_set_str(W.omjob, "status.mainPodName", ORIG_MAIN);
    jx_set_i64(W.omjob, "status.mainPodExitCode", 0);
    jx_set_str(W.omjob, "status.exitHandlerPodName", ORIG_EXIT);
    omjob_touch();
    original_pod(ORIG_MAIN, POD_TYPE_MAIN);
    pod_exit(ORIG_MAIN, 0, "Completed");
    original_pod(ORIG_EXIT, POD_TYPE_EXIT_HANDLER);
    pod_running(ORIG_EXIT);
    advance(30 * SEC);
    CU_ASSERT_EQUAL(count_kind_until_none(DC_CREATE_EXIT, 12), 0);
    CU_ASSERT_TRUE(arr_has(jx_arr(pod_get(ORIG_EXIT), "finalizers"), FINALIZER_TRACKING));
    CU_ASSERT_PTR_NULL(pod_find(EXIT_POD));
    pod_exit(ORIG_EXIT, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    check_str("exitHandlerPodName", ORIG_EXIT);
    apply();
    CU_ASSERT_EQUAL(expect_release_all(), 2);
}

/* The main pod status names is gone (force-deleted while nobody watched): Deleted,
 * never a new main pod of our name. */
static void test_takeover_original_main_gone(void)
{
    original_world("Running", "Main pod created");
    jx_set_str(W.omjob, "status.mainPodName", ORIG_MAIN);
    omjob_touch();
    advance(30 * SEC);
    step_apply(DC_ADD_FINALIZER);
    step(DC_VERIFY_GONE);
    CU_ASSERT_STRING_EQUAL(W.a.pod, ORIG_MAIN);
    apply(); /* 404 */
    expect_outcome_of(ORIG_MAIN, "Deleted", -1);
    apply();
    step(DC_CREATE_EXIT);
    CU_ASSERT_STRING_EQUAL(W.a.pod, EXIT_POD);
    check_exit_env("failed", "Deleted", "");
    check_env(PODSPEC_ENV_MAIN_POD_NAME, ORIG_MAIN);
    CU_ASSERT_EQUAL(count_kind_until_none(DC_CREATE_MAIN, 10), 0);
}

/* Succeeded or Failed under the original: final, never re-run; completionTime
 * from its lastTransitionTime (the TTL counts from there), our conditions around
 * what it wrote; its pods are not touched. */
static void test_takeover_final(void)
{
    const char *phases[] = {"Succeeded", "Failed"};
    for (int i = 0; i < 2; i++) {
        original_world(phases[i], "Exit handler completed with exit code: 0");
        const char *ltt = jx_str(W.omjob, "status.lastTransitionTime");
        char want[40];
        snprintf(want, sizeof(want), "%s", ltt);
        original_pod(MAIN_POD, POD_TYPE_MAIN);
        pod_exit(MAIN_POD, 0, "Completed");
        advance(3600 * SEC);
        step(DC_STATUS);
        check_phase(phases[i]);
        check_str("completionTime", want);
        check_str("message", "Exit handler completed with exit code: 0");
        check_events(NULL);
        apply();
        CU_ASSERT_EQUAL(count_kind_until_none(DC_ADOPT_POD, 5), 0);
        CU_ASSERT_EQUAL(W.a.kind, DC_NONE);
        CU_ASSERT_FALSE(arr_has(jx_arr(W.omjob, "metadata.finalizers"), FINALIZER_OMJOB));
    }
}

/* A pod of the main pod's name no OMJob owns: never adopted, the OMJob waits
 * visibly (status.message and one Warning), and goes on once it is gone. */
static void test_takeover_stranger(void)
{
    world_new();
    struct json_object *p = compact_pod(MAIN_POD, "stranger", NULL, NULL, POD_TYPE_MAIN, NULL);
    set_null(p, "ownerUid");
    set_null(p, "ownerName");
    pod_add(p);
    step_apply(DC_ADD_FINALIZER);
    step(DC_STATUS);
    check_phase("Pending");
    check_contains("message", "not owned by this OMJob");
    check_events("PodNameConflict", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 5000);
    advance(60 * SEC);
    step(DC_NONE); /* once: no second Warning */
    pod_remove(MAIN_POD);
    step(DC_CREATE_MAIN);
}

/* A pod of ours being deleted without our finalizer is not adopted (the API
 * server refuses new finalizers then): its end is read as it is. */
static void test_takeover_deleting_pod(void)
{
    original_world("Running", "Main pod created");
    original_pod(MAIN_POD, POD_TYPE_MAIN);
    pod_running(MAIN_POD);
    pod_mark_deleted(MAIN_POD);
    step_apply(DC_ADD_FINALIZER);
    decide();
    CU_ASSERT_NOT_EQUAL(W.a.kind, DC_ADOPT_POD);
}

/* ---- waits: visible and bounded (docs/LIFECYCLE.md, "Waits") ---- */

/* A main pod waiting on a missing ConfigMap: visible at once, once; visible no
 * more once it starts. */
static void test_wait_config_error_then_starts(void)
{
    world_new();
    to_pending();
    int64_t created = main_created_ms();
    pod_waiting(MAIN_POD, "CreateContainerConfigError", "configmap \"ingestion-cfg\" not found");
    step(DC_STATUS);
    check_phase("Pending");
    check_cond("Waiting", "True", "CreateContainerConfigError");
    check_contains("message", "CreateContainerConfigError: configmap \"ingestion-cfg\" not found");
    check_contains("message", "StartTimeout at");
    check_cond("MainPodFinished", "False", "Pending");
    check_events("PodWaiting", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, created + 600 * SEC);
    /* A new cause is a new wait: written again, with its Event. */
    pod_waiting(MAIN_POD, "CreateContainerError", "container name conflict");
    step(DC_STATUS);
    check_cond("Waiting", "True", "CreateContainerError");
    check_events("PodWaiting", EV_WARNING, NULL);
    apply();
    /* The ConfigMap appears: back to ContainerCreating, the wait is over. */
    pod_waiting(MAIN_POD, "ContainerCreating", "");
    step(DC_STATUS);
    check_phase("Pending");
    check_cond("Waiting", "False", "Progressing");
    check_str("message", "main pod " MAIN_POD " is pending");
    check_events(NULL);
    apply();
    step(DC_NONE);
    pod_running(MAIN_POD);
    step(DC_STATUS);
    check_phase("Running");
    check_cond_not_true("Waiting");
    apply();
    step(DC_NONE);
}

/* A waiting reason that is no condition reason (not CamelCase) is PodWaiting. */
static void test_wait_odd_reason(void)
{
    world_new();
    to_pending();
    pod_waiting(MAIN_POD, "image pull: backoff", "odd");
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodWaiting");
    check_contains("message", "image pull: backoff: odd");
    apply();
    step(DC_NONE);
}

/* Under a CRD that prunes conditions the message alone says the wait is shown:
 * written once, no loop of writes or Events. */
static void test_wait_old_schema(void)
{
    world_new();
    W.old_schema = true;
    to_pending();
    pod_waiting(MAIN_POD, "ImagePullBackOff", "Back-off pulling image");
    step(DC_STATUS);
    check_events("PodWaiting", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    pod_waiting(MAIN_POD, "ErrImagePull", "pull access denied");
    step(DC_NONE);
    pod_running(MAIN_POD);
    step(DC_STATUS);
    check_str("message", "main pod " MAIN_POD " is running");
    apply();
    step(DC_NONE);
}

/* An exit pod waiting, then starting: the message keeps the main outcome (what
 * restore_pruned reads under the original's CRD). */
static void test_wait_exit_pod(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    expect_create_exit(EXIT_POD, "success", "Completed", "0");
    step_apply(DC_STATUS);
    pod_waiting(EXIT_POD, "ErrImagePull", "pull access denied");
    step(DC_STATUS);
    check_phase("ExitHandlerRunning");
    check_cond("Waiting", "True", "ErrImagePull");
    check_contains("message",
                   "main pod " MAIN_POD " ended: Completed; waiting: exit handler pod " EXIT_POD
                   " is not starting: ErrImagePull: pull access denied");
    check_events("PodWaiting", EV_WARNING, NULL);
    apply();
    step(DC_NONE);
    pod_waiting(EXIT_POD, "ImagePullBackOff", "Back-off pulling image");
    step(DC_NONE);
    pod_running(EXIT_POD);
    step(DC_STATUS);
    check_cond("Waiting", "False", "Started");
    check_str("message",
              "main pod " MAIN_POD " ended: Completed; exit handler pod " EXIT_POD " is running");
    check_events(NULL);
    apply();
    step(DC_NONE);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
}

/* The main pod refused because the namespace is being deleted: no retry until the
 * start deadline; the run ends at once, NamespaceTerminating. */
static void test_ns_terminating_main(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    W.create_error = "HTTP 403 Forbidden: pods \"x\" is forbidden: unable to create new content "
                     "in namespace " FIX_NS " because it is being terminated";
    W.ns_terminating = true;
    advance(1 * SEC);
    expect_outcome("NamespaceTerminating", -1);
    check_contains("message", "being deleted");
    check_cond("MainPodFinished", "True", "NamespaceTerminating");
    apply();
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "NamespaceTerminating");
    check_cond("Failed", "True", "NamespaceTerminating");
    apply();
    W.ns_terminating = false;
    W.create_error = NULL;
}

/* A main pod of our name held by a stranger: the Waiting condition says so. */
static void test_wait_stranger_condition(void)
{
    world_new();
    struct json_object *p = compact_pod(MAIN_POD, "stranger", NULL, NULL, POD_TYPE_MAIN, NULL);
    set_null(p, "ownerUid");
    set_null(p, "ownerName");
    pod_add(p);
    step_apply(DC_ADD_FINALIZER);
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodNameConflict");
    apply();
    pod_remove(MAIN_POD);
    step_apply(DC_CREATE_MAIN);
    step(DC_STATUS);
    check_cond("Waiting", "False", "Progressing");
    check_str("message", "main pod " MAIN_POD " is pending");
    apply();
}

/* A pod the watcher does not see holds the main pod's name (the loop's creates
 * say AlreadyExists): visible, the creates go on (the loop paces them), and at the
 * deadline the main outcome is PodNameConflict; the exit handler runs. */
static void test_wait_hidden_main(void)
{
    world_new();
    step_apply(DC_ADD_FINALIZER);
    W.name_taken = MAIN_POD;
    advance(2 * SEC);
    step(DC_STATUS);
    check_phase("Pending");
    check_cond("Waiting", "True", "PodNameConflict");
    check_contains("message", "AlreadyExists");
    check_contains("message", "PodNameConflict at 2026-03-01T12:10:00Z");
    check_events("PodNameConflict", EV_WARNING, NULL);
    apply();
    step(DC_CREATE_MAIN);
    W.now_ms = T0_MS + 600 * SEC;
    expect_outcome("PodNameConflict", -1);
    check_cond("Waiting", "False", "PodNameConflict");
    apply();
    expect_create_exit(EXIT_POD, "failed", "PodNameConflict", "");
    W.name_taken = NULL;
}

/* A stranger's pod of the main pod's name, still there at the deadline: never
 * touched; the outcome is PodNameConflict. */
static void test_wait_stranger_deadline(void)
{
    world_new();
    struct json_object *p = compact_pod(MAIN_POD, "stranger", NULL, NULL, POD_TYPE_MAIN, NULL);
    set_null(p, "ownerUid");
    set_null(p, "ownerName");
    pod_add(p);
    step_apply(DC_ADD_FINALIZER);
    step_apply(DC_STATUS);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 5000);
    W.now_ms = T0_MS + 598 * SEC;
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, T0_MS + 600 * SEC);
    W.now_ms = T0_MS + 600 * SEC;
    expect_outcome("PodNameConflict", -1);
    apply();
    decide();
    CU_ASSERT_NOT_EQUAL(W.a.kind, DC_DELETE_POD); /* never touched */
    expect_create_exit(EXIT_POD, "failed", "PodNameConflict", "");
}

/* A stranger's pod holding the exit pod's name past the deadline: the OMJob fails
 * without its exit handler (exitHandlerReason PodNameConflict). */
static void test_wait_exit_conflict_deadline(void)
{
    world_new();
    to_running();
    pod_exit(MAIN_POD, 3, "Error");
    struct json_object *p =
        compact_pod(EXIT_POD, "stranger", NULL, NULL, POD_TYPE_EXIT_HANDLER, NULL);
    set_null(p, "ownerUid");
    set_null(p, "ownerName");
    pod_add(p);
    expect_outcome("Error", 3);
    apply();
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodNameConflict");
    int64_t began = W.now_ms;
    apply();
    step(DC_NONE);
    W.now_ms = began + 600 * SEC;
    step(DC_STATUS);
    check_phase("Failed");
    check_str("exitHandlerReason", "PodNameConflict");
    check_cond_not_true("Waiting");
    check_events("PodNameConflict", EV_WARNING, "OMJobFailed", EV_WARNING, NULL);
    apply();
}

/* A pod of an earlier OMJob of the same name right after the creation: the
 * garbage collector's second, silent. */
static void test_wait_earlier_grace(void)
{
    world_new();
    add_foreign_pod(MAIN_POD, false);
    step_apply(DC_ADD_FINALIZER);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, W.now_ms + 1000);
    advance(5 * SEC);
    step(DC_STATUS);
    check_cond("Waiting", "True", "PodNameConflict");
    check_contains("message", "earlier OMJob");
}

/* ---- the original's CRD: our status fields pruned ---- */

/* Decides and applies until nothing is to do; counts exit pods created and final
 * status writes. Fails when it does not settle (a write repeated forever). */
static void settle(int *creates, int *finals)
{
    for (int i = 0;; i++) {
        CU_ASSERT_FATAL(i < 20);
        decide();
        generic_checks();
        if (W.a.kind == DC_CREATE_EXIT)
            (*creates)++;
        if (W.a.kind == DC_STATUS && ps("completionTime") != NULL)
            (*finals)++;
        if (W.a.kind == DC_NONE)
            return;
        apply();
    }
}

/* Rows 1-3 under the old schema: one exit pod, one final write, the right phase,
 * finalizers released. */
static void test_old_schema_rows(void)
{
    static const struct {
        int code;
        const char *reason, *phase;
    } rows[] = {
        {0, "Completed", "Succeeded"}, {3, "Error", "Failed"}, {137, "OOMKilled", "Failed"}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        world_new();
        W.old_schema = true;
        to_running();
        pod_exit(MAIN_POD, rows[i].code, rows[i].reason);
        int creates = 0, finals = 0;
        settle(&creates, &finals);
        CU_ASSERT_EQUAL(creates, 1);
        CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.phase", ""), "ExitHandlerRunning");
        CU_ASSERT_PTR_NULL(jx_get(jx_obj(W.omjob, "status"), "mainPodReason")); /* pruned */
        pod_running(EXIT_POD);
        settle(&creates, &finals);
        pod_exit(EXIT_POD, 0, "Completed");
        settle(&creates, &finals);
        CU_ASSERT_EQUAL(creates, 1);
        CU_ASSERT_EQUAL(finals, 1);
        CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.phase", ""), rows[i].phase);
        CU_ASSERT_FALSE(arr_has(jx_arr(W.omjob, "metadata.finalizers"), FINALIZER_OMJOB));
        CU_ASSERT_FALSE(arr_has(jx_arr(pod_get(EXIT_POD), "finalizers"), FINALIZER_TRACKING));
    }
}

/* Row 11 under the old schema: the outcome is recorded before the exit pod
 * exists; the message carries it. */
static void test_old_schema_cancel(void)
{
    world_new();
    W.old_schema = true;
    to_running();
    omjob_delete_at(W.now_ms);
    int creates = 0, finals = 0;
    settle(&creates, &finals);
    CU_ASSERT_EQUAL(creates, 1);
    CU_ASSERT_PTR_NOT_NULL(jx_str(pod_get(MAIN_POD), "deletionTimestamp"));
    pod_running(EXIT_POD);
    settle(&creates, &finals);
    pod_exit(EXIT_POD, 0, "Completed");
    settle(&creates, &finals);
    CU_ASSERT_EQUAL(creates, 1);
    CU_ASSERT_EQUAL(finals, 1);
    CU_ASSERT_PTR_NULL(W.omjob); /* released: gone */
}

/* A disrupted exit pod under the old schema: the attempt comes from
 * exitHandlerPodName; the next attempt once, then the OMJob finishes. */
static void test_old_schema_exit_disrupted(void)
{
    world_new();
    W.old_schema = true;
    to_running();
    pod_exit(MAIN_POD, 0, "Completed");
    int creates = 0, finals = 0;
    settle(&creates, &finals);
    pod_running(EXIT_POD);
    pod_mark_deleted(EXIT_POD);
    settle(&creates, &finals);
    CU_ASSERT_EQUAL(creates, 2);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.exitHandlerPodName", ""), EXIT_POD1);
    pod_running(EXIT_POD1);
    pod_exit(EXIT_POD1, 0, "Completed");
    settle(&creates, &finals);
    CU_ASSERT_EQUAL(creates, 2);
    CU_ASSERT_EQUAL(finals, 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.omjob, "status.phase", ""), "Succeeded");
}

/* A terminal phase without completionTime is not finished: the run goes on. */
static void test_terminal_without_completion_time(void)
{
    exit_handler_started();
    jx_set_str(W.omjob, "status.phase", "Failed");
    omjob_touch();
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    check_now("completionTime");
}

/* dc_classify: a terminated container without exit code; a deletedAfterEnd that
 * is not a boolean (the times decide); a disrupted pod without a phase. */
static void test_classify_edges(void)
{
    world_new();
    struct dc_outcome o;
    struct json_object *p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    jx_set_str(p, "phase", "Failed");
    jx_set_str(p, "container.state", "terminated");
    jx_set_str(p, "container.reason", "Error");
    dc_classify(p, &o);
    CU_ASSERT(o.ended && !o.disrupted && !o.code_known);
    CU_ASSERT_STRING_EQUAL(o.reason, "Error");

    jx_set_i64(p, "container.exitCode", 3);
    jx_set_str(p, "container.finishedAt", "2026-03-01T12:00:00Z");
    jx_set_str(p, "deletionTimestamp", "2026-03-01T12:30:00Z");
    jx_set_str(p, "deletedAfterEnd", "yes");
    dc_classify(p, &o);
    CU_ASSERT(o.ended && !o.disrupted && o.code_known && o.code == 3);
    CU_ASSERT_STRING_EQUAL(o.reason, "Error");
    json_object_put(p);

    p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    set_null(p, "phase");
    jx_set_str(p, "deletionTimestamp", "2026-03-01T12:30:00Z");
    dc_classify(p, &o);
    CU_ASSERT(o.ended && o.disrupted);
    CU_ASSERT_STRING_EQUAL(o.reason, "Deleted");
    CU_ASSERT_STRING_EQUAL(o.message, "deleted while Pending");
    json_object_object_add(p, "disruptionTarget",
                           pod_cond("True", "DeletionByPodGC", "", W.now_ms));
    dc_classify(p, &o);
    CU_ASSERT_STRING_EQUAL(o.reason, "NodeLost");
    CU_ASSERT_STRING_EQUAL(o.message, "disrupted while Pending");
    json_object_put(p);

    /* Failed and deleted without an exit code, or with a deletion time that does
     * not parse: the deletion's doing. */
    p = compact_pod(MAIN_POD, "u", FIX_UID, FIX_NAME, POD_TYPE_MAIN, NULL);
    jx_set_str(p, "phase", "Failed");
    jx_set_str(p, "deletionTimestamp", "2026-03-01T12:30:00Z");
    jx_set_str(p, "container.finishedAt", "2026-03-01T12:00:00Z");
    dc_classify(p, &o);
    CU_ASSERT(o.ended && o.disrupted && !o.code_known);
    CU_ASSERT_STRING_EQUAL(o.reason, "Deleted");
    jx_set_str(p, "container.state", "terminated");
    jx_set_i64(p, "container.exitCode", 3);
    jx_set_str(p, "deletionTimestamp", "not a time");
    dc_classify(p, &o);
    CU_ASSERT(o.ended && o.disrupted && o.code_known && o.code == 3);
    CU_ASSERT_STRING_EQUAL(o.reason, "Deleted");
    json_object_put(p);
}

/* Status in the right phase but without mainPodName (an older writer): written. */
static void test_pending_status_without_pod_name(void)
{
    world_new();
    to_pending();
    json_object_object_del(jx_obj(W.omjob, "status"), "mainPodName");
    omjob_touch();
    step(DC_STATUS);
    check_phase("Pending");
    check_str("mainPodName", MAIN_POD);
    CU_ASSERT_EQUAL(parse_ms(ps("startTime")), main_created_ms());
    apply();
    step(DC_NONE);
}

/* The skip annotation added once an exit attempt is under way: it runs on. */
static void test_skip_after_first_attempt(void)
{
    exit_handler_started();
    annotate_skip();
    omjob_touch();
    step(DC_NONE);
    pod_exit(EXIT_POD, 0, "Completed");
    step(DC_STATUS);
    check_phase("Succeeded");
    check_cond("ExitHandlerFinished", "True", "Succeeded");
}

/* An exit pod waiting while the OMJob is being deleted looks again at the earlier
 * of its start deadline and the cancel deadline; a node-lost time before its
 * start deadline wins. */
static void test_exit_requeue_times(void)
{
    world_new();
    to_running();
    jx_set_i64(W.omjob, "spec.startTimeoutSeconds", 1200);
    int64_t del = W.now_ms;
    omjob_delete_at(del);
    step_apply(DC_STATUS);
    step_apply(DC_DELETE_POD);
    expect_create_exit(EXIT_POD, "failed", "Cancelled", "");
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, del + 900 * SEC);

    exit_handler_started();
    advance(10 * SEC);
    int64_t since = W.now_ms;
    pod_unready(EXIT_POD, true);
    step(DC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, since + 300 * SEC);
}

/* No pods array at all (the loop's view before the first list). */
static void test_no_pods_array(void)
{
    world_new();
    struct dc_action a;
    struct dc_input in = {.omjob = W.omjob, .pods = NULL, .now_ms = W.now_ms, .cfg = &W.cfg};
    CU_ASSERT_EQUAL_FATAL(dc_decide(&in, &a), 0);
    CU_ASSERT_EQUAL(a.kind, DC_ADD_FINALIZER);
    dc_action_clear(&a);
    step_apply(DC_ADD_FINALIZER);
    in.omjob = W.omjob;
    CU_ASSERT_EQUAL_FATAL(dc_decide(&in, &a), 0);
    CU_ASSERT_EQUAL(a.kind, DC_CREATE_MAIN);
    dc_action_clear(&a);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"dc_kind_str", test_kind_str},
        {"dc_classify table", test_classify_table},
        {"dc_classify messages", test_classify_messages},
        {"success: main 0, exit 0, releases", test_success},
        {"main exit 3: Failed with Error 3", test_main_error_3},
        {"main OOMKilled 137", test_main_oomkilled},
        {"main pod deleted", test_main_deleted},
        {"main pod deleted after it exited 143", test_main_deleted_after_exit},
        {"main pod disrupted: Evicted, NodeLost, Preempted", test_main_disrupted},
        {"main pod Failed/Evicted by the kubelet", test_main_evicted_by_kubelet},
        {"main pod vanished: verify, then Deleted", test_main_vanished},
        {"main pod missing before status: created again", test_main_missing_before_status},
        {"StartTimeout: ImagePullBackOff, pod deleted", test_start_timeout_image},
        {"StartTimeout: Unschedulable, spec timeout", test_start_timeout_unschedulable},
        {"running pod never times out", test_running_no_timeout},
        {"activeDeadlineSeconds: a running main pod", test_active_deadline_running},
        {"activeDeadlineSeconds: pending, unready", test_active_deadline_pending},
        {"activeDeadlineSeconds: ended by the kubelet", test_active_deadline_kubelet},
        {"CONTRACT StartTimeout without exit handler deletes the pod",
         test_start_timeout_no_exit_handler},
        {"CreateFailed after the start deadline", test_create_failed},
        {"InvalidSpec main pod", test_invalid_main_spec},
        {"classify: failed, then collected", test_classify_failed_then_collected},
        {"InvalidSpec exit pod", test_invalid_exit_spec},
        {"cancel while running", test_cancel_running},
        {"cancel while pending", test_cancel_pending},
        {"cancel before the main pod", test_cancel_before_main},
        {"deleted before our finalizer", test_deleted_without_finalizer},
        {"cancel after the main pod ended", test_cancel_after_main_ended},
        {"skip-exit-handler annotation", test_skip_exit_handler},
        {"skip-exit-handler annotation and cancel", test_skip_exit_handler_cancel},
        {"cancel deadline exceeded", test_cancel_deadline},
        {"CONTRACT cancel deadline exceeded before the outcome",
         test_cancel_deadline_before_outcome},
        {"exit pod disrupted up to max attempts", test_exit_disrupted},
        {"exit pod disrupted, max attempts 1", test_exit_disrupted_max_1},
        {"exit pod exit 2 after main success", test_exit_fails},
        {"exit pod vanished: created again, same attempt", test_exit_vanished},
        {"exit pod Succeeded while deleted: final", test_exit_succeeded_while_deleted},
        {"exit pod Failed while deleted: disrupted", test_exit_failed_while_deleted},
        {"no exitHandlerSpec", test_no_exit_handler},
        {"main pod on a lost node: NodeLost, pod deleted", test_main_node_lost},
        {"main pod unready, then ready again", test_main_unready_recovers},
        {"CONTRACT main pod phase Unknown: not Pending, not StartTimeout", test_main_phase_unknown},
        {"exit pod on a lost node: deleted, next attempt", test_exit_node_lost},
        {"exit pods that never start: replaced, then Failed", test_exit_never_starts},
        {"main pod deleted with the OMJob: Cancelled", test_main_deleted_with_omjob},
        {"foreground deletion: exit pod after the collector", test_foreground_cancel},
        {"namespace being deleted: finish without the exit handler", test_ns_terminating},
        {"outcome recorded without the first attempt", test_outcome_without_attempt},
        {"pods of an earlier OMJob", test_foreign_pods},
        {"foreign pod holding the exit pod's name", test_foreign_exit_pod},
        {"no OMJob: pods released", test_no_omjob},
        {"finished OMJob", test_finished},
        {"add finalizer keeps others", test_add_finalizer_keeps_others},
        {"250-char OMJob name", test_long_name},
        {"decide does not change its input", test_pure},
        {"main pod pending without creationTimestamp", test_main_pending_without_creation_time},
        {"StartTimeout: plain Pending, with and without message", test_start_timeout_plain_pending},
        {"node loss counted from startTime, creation, next look", test_node_lost_since_fallbacks},
        {"main pod ended before the Pending status", test_main_ended_before_status},
        {"outcome from the exit pod's annotations", test_outcome_from_exit_pod},
        {"exit pod creation rejected: outcome first", test_exit_create_rejected},
        {"StartTimeout main pod ended before our deletion", test_stop_main_already_ended},
        {"no CreateFailed without the OMJob's creation time",
         test_create_failed_without_creation_time},
        {"exit pod pending without creationTimestamp", test_exit_pending_without_creation_time},
        {"exit pod phase Unknown: NodeLost, not StartTimeout", test_exit_phase_unknown},
        {"main pod deleted: 2 s for the OMJob's deletion to show", test_main_deleted_settles},
        {"foreground deletion, the pod's change first: Cancelled", test_foreground_pod_first},
        {"cancel with an unparsable deletionTimestamp", test_cancel_unparsable_deletion_time},
        {"last exit attempt disrupted with an exit code", test_exit_disrupted_last_with_code},
        {"exit pod failed without code, or with code 0", test_exit_failed_odd_codes},
        {"outcome recorded elsewhere, no exit handler due",
         test_outcome_recorded_without_exit_handler},
        {"foreign pod holding a later exit attempt's name", test_foreign_exit_retry},
        {"foreground deletion with nothing to release", test_foreground_nothing_to_release},
        {"OMJob without a usable name or uid", test_bad_omjob},
        {"terminal phase without completionTime", test_terminal_without_completion_time},
        {"dc_classify edges", test_classify_edges},
        {"Pending status without mainPodName", test_pending_status_without_pod_name},
        {"skip annotation after the first exit attempt", test_skip_after_first_attempt},
        {"exit pod requeue: cancel deadline, node-lost time", test_exit_requeue_times},
        {"no pods array", test_no_pods_array},
        {"takeover: main pod running, adopted, exit handler once", test_takeover_main_running},
        {"takeover: main pod ended unwatched, exit handler once", test_takeover_main_ended},
        {"takeover: exit pod running, adopted, never a second", test_takeover_exit_running},
        {"takeover: exit pod ended, recorded, no new pod", test_takeover_exit_ended},
        {"takeover: Succeeded/Failed by the original is final", test_takeover_final},
        {"takeover: main pod named by the original's hash, followed", test_takeover_original_names},
        {"takeover: both pods named the original's way, no new pod",
         test_takeover_original_names_exit},
        {"takeover: the main pod status names is gone: Deleted, not re-created",
         test_takeover_original_main_gone},
        {"takeover: stranger pod, visible wait", test_takeover_stranger},
        {"wait: CreateContainerConfigError, then it starts", test_wait_config_error_then_starts},
        {"wait: odd waiting reason", test_wait_odd_reason},
        {"wait: conditions pruned, written once", test_wait_old_schema},
        {"wait: exit pod waiting, then running", test_wait_exit_pod},
        {"wait: main pod refused, namespace terminating", test_ns_terminating_main},
        {"wait: stranger pod, Waiting condition", test_wait_stranger_condition},
        {"wait: hidden pod holds the main pod's name", test_wait_hidden_main},
        {"wait: stranger pod past the deadline", test_wait_stranger_deadline},
        {"wait: exit pod's name held past the deadline", test_wait_exit_conflict_deadline},
        {"wait: earlier OMJob's pod, silent grace", test_wait_earlier_grace},
        {"takeover: pod being deleted is not adopted", test_takeover_deleting_pod},
        {"old CRD schema: rows 1-3", test_old_schema_rows},
        {"old CRD schema: row 11 cancel", test_old_schema_cancel},
        {"old CRD schema: exit pod disrupted", test_old_schema_exit_disrupted},
        {NULL, NULL},
    };
    return unit_run("reconciler_decide", NULL, suite_clean, tests);
}

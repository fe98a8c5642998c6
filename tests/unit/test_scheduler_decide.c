/* Unit tests for scheduler/decide: the CronOMJob controller's decision
 * (docs/LIFECYCLE.md, "CronOMJob: runs, status and history").
 *
 * The CronOMJob is the one OpenMetadata's K8sPipelineClient sends (tests/unit/data/
 * scheduler/fixture.json is tests/fixtures/cronomjob-k8spipelineclient.yaml's
 * CronOMJob as JSON, unchanged) with the fields the API server adds. A small "world"
 * plays the scheduler loop and the API server: every action is fed back as the next
 * input (created OMJobs added to the cache as children, deletions marking them,
 * status merge-patched onto the CronOMJob), the clock jumps to each requeue time,
 * and runs can finish by themselves after a given time, so whole lifecycles are
 * walked one decision at a time. Checks on every action: each scheduled time is
 * created at most once, ever; names, labels, annotation and ownerReferences of each
 * OMJob; a status written is not written again at the same instant; SC_NONE carries
 * no Event and a requeue time in the future. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "model/labels.h"
#include "roles/scheduler/decide.h"

#define FIX_NAME "om-cronomjob-mysql-usage-ingestion"
#define FIX_NS "openmetadata-pipelines"
#define FIX_UID "7c0e1d2f-3a4b-4c5d-8e6f-0a1b2c3d4e5f"
#define OLD_UID "0d9e8f7a-1111-2222-3333-444455556666"
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* ---- the world ---- */

#define MAX_KIDS 64
#define MAX_EVENTS 512
#define MAX_CREATED 512

struct kid {
    char *name, *uid, *owner_uid, *phase;
    int64_t created_ms, completed_ms, scheduled_ms;
    bool deleting;
    struct json_object *body; /* the OMJob as created */
};

struct logged_event {
    enum sc_ev_type type;
    char reason[40];
    char message[SC_MSG_MAX];
};

static struct {
    struct json_object *cron;
    struct kid kids[MAX_KIDS];
    int nkids;
    int64_t now_ms;
    char name_taken[SC_NAME_MAX];
    char run_id[64];
    int nids, nuids;
    struct sc_action a;
    bool have_a;
    /* The log of what was executed. */
    struct logged_event ev[MAX_EVENTS];
    int nev;
    int64_t created[MAX_CREATED]; /* scheduled times (ms) of the runs created */
    int ncreated;
    int nstatus, ndelete;
    /* A status was just written and nothing changed since: no second write. */
    bool after_status;
    /* Runs finish by themselves run_ms after their creation (0: never), as
     * run_phase; deleted OMJobs vanish at the next step when autoreap. */
    int64_t run_ms;
    const char *run_phase;
    bool autoreap;
} W;

static void kid_free(struct kid *k)
{
    free(k->name);
    free(k->uid);
    free(k->owner_uid);
    free(k->phase);
    if (k->body != NULL)
        json_object_put(k->body);
    memset(k, 0, sizeof(*k));
}

static void world_free(void)
{
    if (W.have_a)
        sc_action_free(&W.a);
    if (W.cron != NULL)
        json_object_put(W.cron);
    for (int i = 0; i < W.nkids; i++)
        kid_free(&W.kids[i]);
    memset(&W, 0, sizeof(W));
}

static int suite_clean(void)
{
    world_free();
    return 0;
}

static int64_t ms_of(const char *s)
{
    int64_t ns = 0;
    CU_ASSERT_EQUAL_FATAL(util_rfc3339_parse(s, &ns), 0);
    return ns / 1000000;
}

static void fmt_ms(int64_t ms, char *buf, size_t sz)
{
    CU_ASSERT_EQUAL(util_rfc3339_format(ms * 1000000, 0, buf, sz), 0);
}

static char *xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void changed(void)
{
    W.after_status = false;
}

static struct json_object *load_fixture(void)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024];
    static char buf[65536];
    struct json_object *o = NULL;
    snprintf(path, sizeof(path), "%s/scheduler/fixture.json",
             dir != NULL ? dir : "tests/unit/data");
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_FATAL(n > 0 && n < sizeof(buf));
    CU_ASSERT_EQUAL_FATAL(jx_parse(buf, n, &o, NULL, 0), 0);
    return o;
}

/* The fixture as served after its creation at `created` (namespace, uid,
 * creationTimestamp, generation 1; no status), the clock at that time. */
static void world_at(const char *created)
{
    char ts[40];
    world_free();
    W.cron = load_fixture();
    W.now_ms = ms_of(created);
    fmt_ms(W.now_ms, ts, sizeof(ts));
    jx_set_str(W.cron, "metadata.namespace", FIX_NS);
    jx_set_str(W.cron, "metadata.uid", FIX_UID);
    jx_set_str(W.cron, "metadata.creationTimestamp", ts);
    jx_set_str(W.cron, "metadata.resourceVersion", "100");
    jx_set_i64(W.cron, "metadata.generation", 1);
    W.run_phase = "Succeeded";
}

/* A spec edit (the API server bumps generation). */
static void spec_set(const char *k, struct json_object *v)
{
    struct json_object *spec = jx_obj(W.cron, "spec");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    if (v == NULL)
        json_object_object_del(spec, k);
    else
        json_object_object_add(spec, k, v);
    jx_set_i64(W.cron, "metadata.generation", jx_i64_or(W.cron, "metadata.generation", 0) + 1);
    changed();
}

static void spec_str(const char *k, const char *v)
{
    spec_set(k, json_object_new_string(v));
}

static void spec_int(const char *k, int64_t v)
{
    spec_set(k, json_object_new_int64(v));
}

static void set_time(int64_t ms)
{
    W.now_ms = ms;
    changed();
}

static void advance(int64_t ms)
{
    set_time(W.now_ms + ms);
}

static struct kid *kid_find(const char *name)
{
    for (int i = 0; i < W.nkids; i++)
        if (strcmp(W.kids[i].name, name) == 0)
            return &W.kids[i];
    return NULL;
}

static struct kid *kid_get(const char *name)
{
    struct kid *k = kid_find(name);
    if (k == NULL)
        fprintf(stderr, "no OMJob %s\n", name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    return k;
}

static struct kid *kid_add(const char *name, const char *owner_uid, int64_t scheduled_ms)
{
    char uid[64];
    CU_ASSERT_FATAL(W.nkids < MAX_KIDS);
    struct kid *k = &W.kids[W.nkids++];
    snprintf(uid, sizeof(uid), "omjob-uid-%d", ++W.nuids);
    k->name = xstrdup(name);
    k->uid = xstrdup(uid);
    k->owner_uid = xstrdup(owner_uid);
    k->created_ms = W.now_ms;
    k->scheduled_ms = scheduled_ms;
    changed();
    return k;
}

static void kid_remove(const char *name)
{
    struct kid *k = kid_get(name);
    int i = (int)(k - W.kids);
    kid_free(k);
    memmove(&W.kids[i], &W.kids[i + 1], (size_t)(W.nkids - i - 1) * sizeof(W.kids[0]));
    memset(&W.kids[--W.nkids], 0, sizeof(W.kids[0]));
    changed();
}

static void kid_phase(struct kid *k, const char *phase)
{
    free(k->phase);
    k->phase = xstrdup(phase);
    changed();
}

/* The run's OMJob ends now. */
static void finish(const char *name, const char *phase)
{
    struct kid *k = kid_get(name);
    kid_phase(k, phase);
    k->completed_ms = W.now_ms;
}

/* The name of the run at time ms. */
static const char *run_name(int64_t ms)
{
    static char buf[SC_NAME_MAX];
    CU_ASSERT_EQUAL(sc_run_name(FIX_NAME, ms / 1000, buf, sizeof(buf)), 0);
    return buf;
}

/* ---- the log ---- */

static int count_ev(const char *reason)
{
    int n = 0;
    for (int i = 0; i < W.nev; i++)
        n += strcmp(W.ev[i].reason, reason) == 0;
    return n;
}

static const struct logged_event *last_ev(const char *reason)
{
    for (int i = W.nev - 1; i >= 0; i--)
        if (strcmp(W.ev[i].reason, reason) == 0)
            return &W.ev[i];
    return NULL;
}

static bool last_ev_has(const char *reason, const char *text)
{
    const struct logged_event *e = last_ev(reason);
    if (e == NULL || strstr(e->message, text) == NULL) {
        fprintf(stderr, "no %s event with \"%s\" (last: %s)\n", reason, text,
                e != NULL ? e->message : "none");
        return false;
    }
    return true;
}

static bool was_created(int64_t ms)
{
    for (int i = 0; i < W.ncreated; i++)
        if (W.created[i] == ms)
            return true;
    return false;
}

static const char *status_str(const char *k)
{
    struct json_object *st = jx_obj(W.cron, "status"), *v = NULL;
    if (st == NULL || !json_object_object_get_ex(st, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static struct json_object *cond(const char *type)
{
    struct json_object *conds = jx_arr(W.cron, "status.conditions");
    for (size_t i = 0; conds != NULL && i < json_object_array_length(conds); i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        if (strcmp(jx_str_or(c, "type", ""), type) == 0)
            return c;
    }
    return NULL;
}

static const char *cond_field(const char *type, const char *k)
{
    return jx_str_or(cond(type), k, "(none)");
}

static size_t nactive(void)
{
    return jx_arr_len(W.cron, "status.active");
}

/* ---- checks on every action ---- */

static const char *const REASONS[] = {
    "SuccessfulCreate",
    "SawCompletedJob",
    "SuccessfulDelete",
    "MissSchedule",
    "TooManyMissedTimes",
    "JobAlreadyActive",
    "UnknownTimeZone",
    "InvalidSchedule",
    "FailedCreate",
    "InvalidSpec",
    NULL,
};

static void check_events(const struct sc_action *a)
{
    CU_ASSERT(a->nev >= 0 && a->nev <= SC_MAX_EVENTS);
    for (int i = 0; i < a->nev; i++) {
        bool known = false;
        CU_ASSERT_PTR_NOT_NULL_FATAL(a->ev[i].reason);
        for (int j = 0; REASONS[j] != NULL; j++)
            known = known || strcmp(REASONS[j], a->ev[i].reason) == 0;
        CU_ASSERT(known);
        CU_ASSERT(a->ev[i].message[0] != '\0');
    }
}

static const char *label_of(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(jx_obj(o, "metadata.labels"), k, &v))
        return "(none)";
    return json_object_get_string(v);
}

static const char *annotation_of(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(jx_obj(o, "metadata.annotations"), k, &v))
        return "(none)";
    return json_object_get_string(v);
}

static void check_create(const struct sc_action *a)
{
    struct json_object *b = a->body;
    char ts[40], name[SC_NAME_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "apiVersion", ""), OMJOB_GROUP_VERSION);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "kind", ""), OMJOB_KIND);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.name", ""), a->name);
    CU_ASSERT(strlen(a->name) <= 63);
    CU_ASSERT(util_dns1123_subdomain_valid(a->name));
    CU_ASSERT_EQUAL(sc_run_name(jx_str_or(W.cron, "metadata.name", ""), a->scheduled_ms / 1000,
                                name, sizeof(name)),
                    0);
    CU_ASSERT_STRING_EQUAL(a->name, name);
    CU_ASSERT_EQUAL(a->scheduled_ms % 1000, 0);
    CU_ASSERT(a->scheduled_ms <= W.now_ms);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.namespace", ""),
                           jx_str_or(W.cron, "metadata.namespace", ""));
    fmt_ms(a->scheduled_ms, ts, sizeof(ts));
    CU_ASSERT_STRING_EQUAL(annotation_of(b, ANNOTATION_SCHEDULED_AT), ts);
    CU_ASSERT_STRING_EQUAL(label_of(b, LABEL_RUN_ID), W.run_id);
    CU_ASSERT_EQUAL(jx_arr_len(b, "metadata.ownerReferences"), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.ownerReferences.0.apiVersion", ""),
                           OMJOB_GROUP_VERSION);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.ownerReferences.0.kind", ""), CRONOMJOB_KIND);
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.ownerReferences.0.name", ""),
                           jx_str_or(W.cron, "metadata.name", ""));
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "metadata.ownerReferences.0.uid", ""),
                           jx_str_or(W.cron, "metadata.uid", ""));
    CU_ASSERT(jx_bool_or(b, "metadata.ownerReferences.0.controller", false));
    CU_ASSERT(jx_bool_or(b, "metadata.ownerReferences.0.blockOwnerDeletion", false));
    CU_ASSERT(json_object_is_type(jx_get(b, "spec"), json_type_object));
    /* Each scheduled time runs at most once, ever; its name is free. */
    CU_ASSERT_FALSE(was_created(a->scheduled_ms));
    CU_ASSERT_PTR_NULL(kid_find(a->name));
    CU_ASSERT_EQUAL(a->nev >= 1 ? strcmp(a->ev[0].reason, "SuccessfulCreate") : -1, 0);
}

static void check(const struct sc_action *a)
{
    check_events(a);
    CU_ASSERT(a->why[0] != '\0');
    switch (a->kind) {
    case SC_NONE:
        CU_ASSERT_EQUAL(a->nev, 0);
        CU_ASSERT_PTR_NULL(a->body);
        CU_ASSERT(a->requeue_at_ms == 0 || a->requeue_at_ms > W.now_ms);
        break;
    case SC_CREATE:
        check_create(a);
        CU_ASSERT(a->requeue_at_ms == 0 || a->requeue_at_ms > W.now_ms);
        break;
    case SC_DELETE: {
        struct kid *k = kid_get(a->name);
        CU_ASSERT_STRING_EQUAL(a->uid, k->uid);
        CU_ASSERT_FALSE(k->deleting);
        CU_ASSERT_PTR_NULL(a->body);
        break;
    }
    case SC_STATUS:
        CU_ASSERT_FALSE(W.after_status); /* written only when it changes */
        CU_ASSERT(json_object_object_length(jx_obj(a->body, "status")) > 0);
        break;
    }
}

/* One decision on the world as it is. */
static struct sc_action *decide(void)
{
    struct sc_child ch[MAX_KIDS];
    if (W.have_a)
        sc_action_free(&W.a);
    for (int i = 0; i < W.nkids; i++) {
        struct kid *k = &W.kids[i];
        ch[i] = (struct sc_child){
            .name = k->name,
            .uid = k->uid,
            .owner_uid = k->owner_uid != NULL ? k->owner_uid : "",
            .phase = k->phase,
            .created_ms = k->created_ms,
            .completed_ms = k->completed_ms,
            .scheduled_ms = k->scheduled_ms,
            .deleting = k->deleting,
        };
    }
    snprintf(W.run_id, sizeof(W.run_id), "00000000-0000-4000-8000-%012d", ++W.nids);
    struct sc_input in = {
        .cron = W.cron,
        .children = ch,
        .nchildren = (size_t)W.nkids,
        .now_ms = W.now_ms,
        .run_id = W.run_id,
        .name_taken = W.name_taken[0] != '\0' ? W.name_taken : NULL,
    };
    CU_ASSERT_EQUAL_FATAL(sc_decide(&in, &W.a), 0);
    W.have_a = true;
    if (getenv("SC_DEBUG") != NULL) {
        char ts[40];
        fmt_ms(W.now_ms, ts, sizeof(ts));
        fprintf(stderr, "%s +%lldms %s: %s (requeue %lld)\n", ts, (long long)(W.now_ms % 1000),
                sc_kind_str(W.a.kind), W.a.why, (long long)W.a.requeue_at_ms);
        for (int i = 0; i < W.a.nev; i++)
            fprintf(stderr, "    %s %s\n", W.a.ev[i].reason, W.a.ev[i].message);
    }
    check(&W.a);
    return &W.a;
}

/* RFC 7386 merge patch of src onto dst (objects). */
static void merge(struct json_object *dst, struct json_object *src)
{
    json_object_object_foreach(src, k, v)
    {
        struct json_object *d = NULL;
        if (v == NULL || json_object_is_type(v, json_type_null)) {
            json_object_object_del(dst, k);
        } else if (json_object_is_type(v, json_type_object) &&
                   json_object_object_get_ex(dst, k, &d) &&
                   json_object_is_type(d, json_type_object)) {
            merge(d, v);
        } else {
            struct json_object *copy = NULL;
            CU_ASSERT_EQUAL_FATAL(json_object_deep_copy(v, &copy, NULL), 0);
            json_object_object_add(dst, k, copy);
        }
    }
}

static void log_events(const struct sc_action *a)
{
    for (int i = 0; i < a->nev && W.nev < MAX_EVENTS; i++) {
        struct logged_event *e = &W.ev[W.nev++];
        e->type = a->ev[i].type;
        util_strlcpy(e->reason, a->ev[i].reason, sizeof(e->reason));
        util_strlcpy(e->message, a->ev[i].message, sizeof(e->message));
    }
}

/* The API server and the cache: the action's effect, as the next input. */
static void apply(void)
{
    struct sc_action *a = &W.a;
    log_events(a);
    switch (a->kind) {
    case SC_NONE:
        return;
    case SC_CREATE: {
        struct kid *k = kid_add(a->name, jx_str(a->body, "metadata.ownerReferences.0.uid"),
                                ms_of(annotation_of(a->body, ANNOTATION_SCHEDULED_AT)));
        k->body = json_object_get(a->body);
        CU_ASSERT_FATAL(W.ncreated < MAX_CREATED);
        W.created[W.ncreated++] = a->scheduled_ms;
        return;
    }
    case SC_DELETE:
        kid_get(a->name)->deleting = true;
        W.ndelete++;
        changed();
        return;
    case SC_STATUS: {
        struct json_object *st = jx_obj(W.cron, "status");
        if (st == NULL || !json_object_is_type(st, json_type_object)) {
            st = json_object_new_object();
            json_object_object_add(W.cron, "status", st);
        }
        merge(st, jx_obj(a->body, "status"));
        W.nstatus++;
        changed();
        W.after_status = true;
        return;
    }
    }
}

/* Runs that end by themselves (run_ms), deleted OMJobs that go (autoreap). */
static void world_step(void)
{
    for (int i = 0; i < W.nkids; i++) {
        struct kid *k = &W.kids[i];
        if (W.run_ms > 0 && k->phase == NULL && k->created_ms + W.run_ms <= W.now_ms) {
            kid_phase(k, W.run_phase);
            k->completed_ms = k->created_ms + W.run_ms;
        }
    }
    for (int i = W.nkids - 1; i >= 0 && W.autoreap; i--)
        if (W.kids[i].deleting)
            kid_remove(W.kids[i].name);
}

/* Decides and executes until SC_NONE, as the scheduler's pass does. */
static struct sc_action *settle(void)
{
    for (int i = 0; i < 30; i++) {
        world_step();
        struct sc_action *a = decide();
        if (a->kind == SC_NONE)
            return a;
        apply();
    }
    CU_FAIL_FATAL("no SC_NONE after 30 steps");
    return NULL;
}

/* The scheduler from now to until: a pass, then sleep to its requeue time (or to
 * the next run's end), again. */
static void run_until(int64_t until)
{
    for (int guard = 0; guard < 100000; guard++) {
        struct sc_action *a = settle();
        int64_t wake = a->requeue_at_ms != 0 ? a->requeue_at_ms : until;
        for (int i = 0; i < W.nkids && W.run_ms > 0; i++)
            if (W.kids[i].phase == NULL && W.kids[i].created_ms + W.run_ms < wake)
                wake = W.kids[i].created_ms + W.run_ms;
        if (wake > until || W.now_ms >= until) {
            if (W.now_ms < until)
                set_time(until);
            settle();
            return;
        }
        set_time(wake > W.now_ms ? wake : W.now_ms + 1);
    }
    CU_FAIL_FATAL("run_until: no end");
}

/* ---- tests ---- */

static void test_kind_str(void)
{
    CU_ASSERT_STRING_EQUAL(sc_kind_str(SC_NONE), "none");
    CU_ASSERT_STRING_EQUAL(sc_kind_str(SC_CREATE), "create-omjob");
    CU_ASSERT_STRING_EQUAL(sc_kind_str(SC_DELETE), "delete-omjob");
    CU_ASSERT_STRING_EQUAL(sc_kind_str(SC_STATUS), "write-status");
    CU_ASSERT_STRING_EQUAL(sc_kind_str((enum sc_kind)42), "unknown");
    sc_action_free(NULL);
}

static void test_run_name(void)
{
    char a[SC_NAME_MAX], b[SC_NAME_MAX], longname[251];
    CU_ASSERT_EQUAL(sc_run_name(FIX_NAME, 1772445900, a, sizeof(a)), 0);
    CU_ASSERT_STRING_EQUAL(a, FIX_NAME "-1772445900");
    memset(longname, 'a', 250);
    longname[250] = '\0';
    longname[100] = '-';
    CU_ASSERT_EQUAL(sc_run_name(longname, 1772445900, a, sizeof(a)), 0);
    CU_ASSERT_EQUAL(sc_run_name(longname, 1772445900, b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT(strlen(a) <= 63);
    CU_ASSERT(util_dns1123_label_valid(a));
    CU_ASSERT(strstr(a, "-1772445900") == a + strlen(a) - 11);
    CU_ASSERT_EQUAL(sc_run_name(longname, 1772445960, b, sizeof(b)), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    longname[200] = 'b'; /* another long name, same prefix: another hash */
    CU_ASSERT_EQUAL(sc_run_name(longname, 1772445900, b, sizeof(b)), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(strlen(b), 63);
    CU_ASSERT_EQUAL(sc_run_name(NULL, 1, a, sizeof(a)), -EINVAL);
    CU_ASSERT_EQUAL(sc_run_name("", 1, a, sizeof(a)), -EINVAL);
    CU_ASSERT_EQUAL(sc_run_name("x", -1, a, sizeof(a)), -EINVAL);
    CU_ASSERT_EQUAL(sc_run_name("x", 1, NULL, 10), -EINVAL);
    CU_ASSERT_EQUAL(sc_run_name("x", 1772445900, a, 5), -EINVAL);
}

/* The OMJob's spec: the template, every placeholder env value replaced in both pod
 * specs and nothing else changed. */
static void check_fixture_spec(struct json_object *omjob, const char *run_id)
{
    struct json_object *want = NULL;
    CU_ASSERT_EQUAL_FATAL(json_object_deep_copy(jx_get(W.cron, "spec.omJobSpec"), &want, NULL), 0);
    CU_ASSERT_STRING_EQUAL(jx_str_or(want, "mainPodSpec.env.1.value", ""), PLACEHOLDER_RUN_ID);
    CU_ASSERT_STRING_EQUAL(jx_str_or(want, "exitHandlerSpec.env.1.value", ""), PLACEHOLDER_RUN_ID);
    CU_ASSERT_STRING_EQUAL(jx_str_or(want, "exitHandlerSpec.env.4.value", ""), PLACEHOLDER_NAME);
    json_object_object_add(jx_obj(want, "mainPodSpec.env.1"), "value",
                           json_object_new_string(run_id));
    json_object_object_add(jx_obj(want, "exitHandlerSpec.env.1"), "value",
                           json_object_new_string(run_id));
    json_object_object_add(jx_obj(want, "exitHandlerSpec.env.4"), "value",
                           json_object_new_string(jx_str_or(omjob, "metadata.name", "")));
    CU_ASSERT(json_object_equal(want, jx_get(omjob, "spec")));
    json_object_put(want);
}

/* The fixture as the server creates it: its first run at the first 5-minute mark after
 * its creation, every field of the OMJob. */
static void test_fixture(void)
{
    world_at("2026-03-02T10:00:30Z");
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL(a->nev, 0);
    apply();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "True");
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "reason"), "Scheduled");
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "message"),
                           "runs on schedule \"*/5 * * * *\" in Europe/Paris");
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "lastTransitionTime"), "2026-03-02T10:00:30Z");
    CU_ASSERT_STRING_EQUAL(status_str("nextScheduleTime"), "2026-03-02T10:05:00Z");
    CU_ASSERT_EQUAL(jx_i64_or(W.cron, "status.observedGeneration", 0), 1);
    CU_ASSERT_PTR_NULL(status_str("lastScheduleTime"));
    CU_ASSERT_PTR_NULL(status_str("message"));
    CU_ASSERT_EQUAL(nactive(), 0);
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T10:05:00Z"));

    set_time(ms_of("2026-03-02T10:05:00Z") + 7);
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_CREATE);
    CU_ASSERT_STRING_EQUAL(a->name, FIX_NAME "-1772445900");
    CU_ASSERT_EQUAL(a->scheduled_ms, ms_of("2026-03-02T10:05:00Z"));
    /* A write carries the next scheduled time too (the key's timer while the
     * rest of the pass is deferred). */
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T10:10:00Z"));
    CU_ASSERT_STRING_EQUAL(a->ev[0].message,
                           "created OMJob " FIX_NAME "-1772445900 for 2026-03-02T10:05:00Z");
    struct json_object *b = a->body;
    /* metadata: exactly name, namespace, labels, annotations, ownerReferences */
    CU_ASSERT_EQUAL(json_object_object_length(b), 4);
    CU_ASSERT_EQUAL(json_object_object_length(jx_obj(b, "metadata")), 5);
    CU_ASSERT_EQUAL(json_object_object_length(jx_obj(b, "metadata.labels")), 6);
    CU_ASSERT_STRING_EQUAL(label_of(b, "app.kubernetes.io/pipeline"), "mysql-usage-ingestion");
    CU_ASSERT_STRING_EQUAL(label_of(b, "app.kubernetes.io/pipeline-type"), "usage");
    CU_ASSERT_STRING_EQUAL(label_of(b, "app.kubernetes.io/managed-by"), "openmetadata");
    CU_ASSERT_STRING_EQUAL(label_of(b, LABEL_RUN_ID), W.run_id);
    CU_ASSERT_EQUAL(json_object_object_length(jx_obj(b, "metadata.annotations")), 1);
    CU_ASSERT_STRING_EQUAL(annotation_of(b, ANNOTATION_SCHEDULED_AT), "2026-03-02T10:05:00Z");
    CU_ASSERT_EQUAL(json_object_object_length(jx_obj(b, "metadata.ownerReferences.0")), 6);
    check_fixture_spec(b, W.run_id);
    /* the pod specs' own labels are left as they are (the reconciler puts the run id
     * on the pods from the OMJob's label) */
    CU_ASSERT_STRING_EQUAL(jx_str_or(b, "spec.mainPodSpec.labels.app\\.kubernetes\\.io/run-id", ""),
                           "scheduled");
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.ttlSecondsAfterFinished", 0), 604800);
    char run_id[64];
    util_strlcpy(run_id, W.run_id, sizeof(run_id));
    apply();

    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    apply();
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:05:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), FIX_NAME "-1772445900");
    CU_ASSERT_STRING_EQUAL(status_str("nextScheduleTime"), "2026-03-02T10:10:00Z");
    CU_ASSERT_EQUAL_FATAL(nactive(), 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.0.name", ""), FIX_NAME "-1772445900");
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.0.uid", ""), "omjob-uid-1");
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.0.kind", ""), OMJOB_KIND);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.0.apiVersion", ""),
                           OMJOB_GROUP_VERSION);
    /* the lastTransitionTime of an unchanged condition is kept */
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "lastTransitionTime"), "2026-03-02T10:00:30Z");
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T10:10:00Z"));
    CU_ASSERT_EQUAL(count_ev("SuccessfulCreate"), 1);
    check_fixture_spec(kid_get(FIX_NAME "-1772445900")->body, run_id);
}

/* Placeholders only as whole env values of the two pod specs. */
static void test_placeholders_nowhere_else(void)
{
    world_at("2026-03-02T10:00:30Z");
    struct json_object *t = jx_obj(W.cron, "spec.omJobSpec");
    struct json_object *env = jx_arr(t, "mainPodSpec.env"), *e = json_object_new_object();
    jx_set_str(e, "name", "notExact");
    jx_set_str(e, "value", " {{ omjob.uid }}");
    json_object_array_add(env, e);
    e = json_object_new_object();
    jx_set_str(e, "name", "nameHere");
    jx_set_str(e, "value", PLACEHOLDER_NAME);
    json_object_array_add(env, e);
    json_object_array_add(env, json_object_new_string(PLACEHOLDER_RUN_ID)); /* not an object */
    json_object_array_add(jx_arr(t, "mainPodSpec.command"),
                          json_object_new_string(PLACEHOLDER_RUN_ID));
    jx_set_str(jx_obj(t, "mainPodSpec.labels"), "x", PLACEHOLDER_NAME);
    jx_set_str(t, "extra", PLACEHOLDER_RUN_ID);
    json_object_object_del(jx_obj(t, "exitHandlerSpec"), "env");
    jx_set_str(jx_obj(t, "exitHandlerSpec"), "env", PLACEHOLDER_RUN_ID); /* not an array */
    settle();
    set_time(ms_of("2026-03-02T10:05:00Z"));
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_CREATE);
    struct json_object *s = jx_obj(a->body, "spec");
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.env.1.value", ""), W.run_id);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.env.4.value", ""), " {{ omjob.uid }}");
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.env.5.value", ""), a->name);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.env.6", ""), PLACEHOLDER_RUN_ID);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.command.2", ""), PLACEHOLDER_RUN_ID);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "mainPodSpec.labels.x", ""), PLACEHOLDER_NAME);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "extra", ""), PLACEHOLDER_RUN_ID);
    CU_ASSERT_STRING_EQUAL(jx_str_or(s, "exitHandlerSpec.env", ""), PLACEHOLDER_RUN_ID);
    /* the template in the CronOMJob is untouched */
    CU_ASSERT_STRING_EQUAL(jx_str_or(t, "mainPodSpec.env.1.value", ""), PLACEHOLDER_RUN_ID);
    /* tolerations and anything else the template has survive */
    world_at("2026-03-02T10:00:30Z");
    t = jx_obj(W.cron, "spec.omJobSpec");
    struct json_object *tol = NULL;
    jx_parse("[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"ingestion\","
             "\"effect\":\"NoSchedule\"}]",
             strlen("[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"ingestion\","
                    "\"effect\":\"NoSchedule\"}]"),
             &tol, NULL, 0);
    json_object_object_add(jx_obj(t, "mainPodSpec"), "tolerations", tol);
    jx_set_str(t, "someFutureField", "kept");
    settle();
    set_time(ms_of("2026-03-02T10:05:00Z"));
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_CREATE);
    check_fixture_spec(a->body, W.run_id);
    CU_ASSERT_STRING_EQUAL(jx_str_or(a->body, "spec.mainPodSpec.tolerations.0.key", ""),
                           "dedicated");
    CU_ASSERT_STRING_EQUAL(jx_str_or(a->body, "spec.someFutureField", ""), "kept");
}

/* Created at 10:00:30 on "* * * * *": 10:00 passed before it existed. */
static void test_new_does_not_fire_past_slot(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    struct sc_action *a = settle();
    CU_ASSERT_EQUAL(W.ncreated, 0);
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T10:01:00Z"));
    set_time(ms_of("2026-03-02T10:00:59Z") + 999);
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 0);
    set_time(ms_of("2026-03-02T10:01:00Z"));
    settle();
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(W.created[0], ms_of("2026-03-02T10:01:00Z"));
    /* three minutes later: one run per minute */
    W.run_ms = 20 * SEC;
    run_until(ms_of("2026-03-02T10:04:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 4);
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 4);
    CU_ASSERT_EQUAL(count_ev("JobAlreadyActive"), 0);
}

/* A creation time exactly on a scheduled time does not run it either. */
static void test_created_on_the_minute(void)
{
    world_at("2026-03-02T10:05:00Z");
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 0);
    /* no creationTimestamp at all: nothing due before now */
    world_at("2026-03-02T10:05:00Z");
    json_object_object_del(jx_obj(W.cron, "metadata"), "creationTimestamp");
    set_time(ms_of("2026-03-02T10:07:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 0);
    set_time(ms_of("2026-03-02T10:10:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
}

/* The operator down for 5 minutes, startingDeadlineSeconds 600: one run, of the
 * latest time, not five. */
static void test_down_within_deadline(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_int("startingDeadlineSeconds", 600);
    W.run_ms = 10 * SEC;
    run_until(ms_of("2026-03-02T10:05:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 5);
    set_time(ms_of("2026-03-02T10:11:20Z")); /* 10:06 to 10:11 passed unseen */
    world_step();
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 6);
    CU_ASSERT_EQUAL(W.created[5], ms_of("2026-03-02T10:11:00Z"));
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 0);
    CU_ASSERT_EQUAL(count_ev("TooManyMissedTimes"), 0);
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:11:00Z");
    /* the deadline itself: a time exactly deadline seconds ago still runs */
    set_time(ms_of("2026-03-02T10:12:00Z") + 600 * SEC);
    world_step();
    settle();
    CU_ASSERT_EQUAL(W.created[W.ncreated - 1], ms_of("2026-03-02T10:22:00Z"));
}

/* Beyond startingDeadlineSeconds: MissSchedule once, no run, lastScheduleTime kept. */
static void test_missed_deadline(void)
{
    world_at("2026-03-02T09:30:00Z");
    spec_str("schedule", "0 * * * *");
    spec_int("startingDeadlineSeconds", 60);
    W.run_ms = 10 * MIN;
    run_until(ms_of("2026-03-02T10:30:00Z"));
    CU_ASSERT_EQUAL(W.ncreated, 1);
    set_time(ms_of("2026-03-02T11:02:00Z")); /* 11:00 passed unseen, 120 s ago */
    world_step();
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL_FATAL(a->nev, 1);
    CU_ASSERT_EQUAL(a->ev[0].type, SC_EV_WARNING);
    CU_ASSERT_STRING_EQUAL(a->ev[0].reason, "MissSchedule");
    CU_ASSERT(strstr(a->ev[0].message, "2026-03-02T11:00:00Z") != NULL);
    CU_ASSERT(strstr(a->ev[0].message, "60s") != NULL);
    apply();
    CU_ASSERT_STRING_EQUAL(status_str("lastMissedTime"), "2026-03-02T11:00:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:00:00Z");
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T12:00:00Z"));
    advance(MIN); /* no second MissSchedule for the same time */
    settle();
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 1);
    CU_ASSERT_EQUAL(W.ncreated, 1);
    run_until(ms_of("2026-03-02T12:00:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-03-02T12:00:00Z"));
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 1);
    /* several missed: one Event, for the latest */
    set_time(ms_of("2026-03-02T15:30:00Z"));
    world_step();
    settle();
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 2);
    CU_ASSERT(last_ev_has("MissSchedule", "2026-03-02T15:00:00Z and earlier ones"));
    CU_ASSERT_EQUAL(W.ncreated, 2);
}

/* More than 100 times missed (no deadline): Warning, and the latest still runs. */
static void test_too_many_missed(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    settle();
    set_time(ms_of("2026-03-02T13:00:10Z"));
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_CREATE);
    CU_ASSERT_EQUAL(a->scheduled_ms, ms_of("2026-03-02T13:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(a->nev, 2);
    CU_ASSERT_STRING_EQUAL(a->ev[1].reason, "TooManyMissedTimes");
    CU_ASSERT_EQUAL(a->ev[1].type, SC_EV_WARNING);
    apply();
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(count_ev("TooManyMissedTimes"), 1);
    /* exactly 100 missed is not too many */
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    settle();
    set_time(ms_of("2026-03-02T11:40:10Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    finish(W.kids[0].name, "Succeeded");
    CU_ASSERT_EQUAL(count_ev("TooManyMissedTimes"), 0);
    /* years of downtime cost nothing special */
    set_time(ms_of("2031-03-02T11:40:10Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(W.created[1], ms_of("2031-03-02T11:40:00Z"));
}

static void every_minute(const char *policy)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    if (policy != NULL)
        spec_str("concurrencyPolicy", policy);
    settle();
    set_time(ms_of("2026-03-02T10:01:00Z"));
    settle();
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 1);
}

/* Forbid (the default): a time while a run is active counts as scheduled, no run. */
static void test_forbid(void)
{
    every_minute(NULL);
    const char *first = FIX_NAME "-1772445660";
    set_time(ms_of("2026-03-02T10:02:00Z"));
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL_FATAL(a->nev, 1);
    CU_ASSERT_STRING_EQUAL(a->ev[0].reason, "JobAlreadyActive");
    CU_ASSERT_EQUAL(a->ev[0].type, SC_EV_NORMAL);
    CU_ASSERT(strstr(a->ev[0].message, first) != NULL);
    CU_ASSERT(strstr(a->ev[0].message, "2026-03-02T10:02:00Z") != NULL);
    apply();
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:02:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), first);
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(a->requeue_at_ms, ms_of("2026-03-02T10:03:00Z"));
    /* the run ends: SawCompletedJob once, then the next time runs */
    set_time(ms_of("2026-03-02T10:02:30Z"));
    finish(first, "Succeeded");
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL_FATAL(a->nev, 1);
    CU_ASSERT_STRING_EQUAL(a->ev[0].reason, "SawCompletedJob");
    CU_ASSERT_STRING_EQUAL(a->ev[0].message,
                           "saw completed OMJob " FIX_NAME "-1772445660, status: Succeeded");
    apply();
    CU_ASSERT_EQUAL(nactive(), 0);
    CU_ASSERT_STRING_EQUAL(status_str("lastSuccessfulTime"), "2026-03-02T10:02:30Z");
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "status"), "True");
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "reason"), "Succeeded");
    settle();
    advance(10 * SEC);
    settle();
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 1);
    set_time(ms_of("2026-03-02T10:03:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-03-02T10:03:00Z"));
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), FIX_NAME "-1772445780");
    /* a run being deleted (cancelled) does not hold back the next */
    kid_get(FIX_NAME "-1772445780")->deleting = true;
    set_time(ms_of("2026-03-02T10:04:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 3);
    CU_ASSERT_EQUAL(nactive(), 2); /* status.active lists runs until they end */
    CU_ASSERT_EQUAL(count_ev("JobAlreadyActive"), 1);
}

static void test_allow(void)
{
    every_minute("Allow");
    set_time(ms_of("2026-03-02T10:02:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(count_ev("JobAlreadyActive"), 0);
    CU_ASSERT_EQUAL_FATAL(nactive(), 2);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.0.name", ""), FIX_NAME "-1772445660");
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.cron, "status.active.1.name", ""), FIX_NAME "-1772445720");
    /* five more runs, all ending at once: the Events fit in one action */
    for (int i = 3; i <= 7; i++) {
        set_time(ms_of("2026-03-02T10:00:00Z") + i * MIN);
        settle();
    }
    CU_ASSERT_EQUAL(W.ncreated, 7);
    CU_ASSERT_EQUAL(nactive(), 7);
    advance(30 * SEC);
    for (int i = 0; i < W.nkids; i++) {
        kid_phase(&W.kids[i], i % 2 == 0 ? "Succeeded" : "Failed");
        W.kids[i].completed_ms = W.now_ms - (W.nkids - i) * SEC;
    }
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_DELETE); /* history first: 4 succeeded, limit 3 */
    CU_ASSERT_STRING_EQUAL(a->name, FIX_NAME "-1772445660");
    apply();
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL(a->nev, SC_MAX_EVENTS);
    CU_ASSERT(strstr(a->ev[SC_MAX_EVENTS - 1].message, "and 3 more") != NULL);
    apply();
    CU_ASSERT_EQUAL(nactive(), 0);
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), SC_MAX_EVENTS);
    /* the newest to end is the last run */
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "status"), "True");
    CU_ASSERT(strstr(cond_field("LastRunSucceeded", "message"), FIX_NAME "-1772446020") != NULL);
    a = settle();
    CU_ASSERT_EQUAL(W.ndelete, 1); /* 3 failed: none goes */
}

/* Replace: the active run is deleted, the new one created once it is gone. */
static void test_replace(void)
{
    every_minute("Replace");
    const char *first = FIX_NAME "-1772445660";
    set_time(ms_of("2026-03-02T10:02:00Z"));
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_DELETE);
    CU_ASSERT_STRING_EQUAL(a->name, first);
    CU_ASSERT_STRING_EQUAL(a->uid, "omjob-uid-1");
    CU_ASSERT_EQUAL_FATAL(a->nev, 1);
    CU_ASSERT_STRING_EQUAL(a->ev[0].reason, "SuccessfulDelete");
    CU_ASSERT_STRING_EQUAL(a->ev[0].message,
                           "deleted OMJob " FIX_NAME "-1772445660: replaced by the run of "
                           "2026-03-02T10:02:00Z");
    apply();
    /* its exit handler runs: no new run meanwhile */
    a = settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(a->requeue_at_ms, W.now_ms + 5000);
    CU_ASSERT_EQUAL(nactive(), 1);
    advance(3 * SEC);
    finish(first, "Failed"); /* cancelled */
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_CREATE);
    CU_ASSERT_EQUAL(a->scheduled_ms, ms_of("2026-03-02T10:02:00Z"));
    apply();
    settle();
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 1);
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "reason"), "Failed");
    kid_remove(first);
    settle();
    /* Replace with the run gone at once (autoreap), and with two active runs */
    W.autoreap = true;
    set_time(ms_of("2026-03-02T10:03:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 3);
    CU_ASSERT_EQUAL(W.ndelete, 2);
    CU_ASSERT_EQUAL(W.nkids, 1);
    W.autoreap = false;
    kid_add("stray-run-of-this-cron", FIX_UID, 0);
    set_time(ms_of("2026-03-02T10:04:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 4);
    CU_ASSERT_EQUAL(W.ncreated, 3);
    /* the deletions take longer than the deadline: the time is missed */
    spec_int("startingDeadlineSeconds", 30);
    set_time(ms_of("2026-03-02T10:04:40Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 3);
    CU_ASSERT(last_ev_has("MissSchedule", "2026-03-02T10:04:00Z"));
}

/* Suspended: no run, times passing are missed, not caught up on resume. */
static void test_suspend_resume(void)
{
    every_minute(NULL);
    W.run_ms = 2 * MIN;
    set_time(ms_of("2026-03-02T10:01:30Z"));
    spec_set("suspend", json_object_new_boolean(1));
    struct sc_action *a = settle();
    CU_ASSERT_EQUAL(a->requeue_at_ms, 0);
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "reason"), "Suspended");
    CU_ASSERT_PTR_NULL(status_str("nextScheduleTime"));
    CU_ASSERT_PTR_NOT_NULL(status_str("message"));
    int writes = W.nstatus;
    /* running ones go on: nothing deleted */
    CU_ASSERT_EQUAL(W.ndelete, 0);
    set_time(ms_of("2026-03-02T10:05:30Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(W.nstatus, writes + 1); /* the run ended (SawCompletedJob) */
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 1);
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 0);
    spec_set("suspend", json_object_new_boolean(0));
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL(a->nev, 0);
    apply();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "True");
    CU_ASSERT_STRING_EQUAL(status_str("lastMissedTime"), "2026-03-02T10:05:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:01:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("nextScheduleTime"), "2026-03-02T10:06:00Z");
    CU_ASSERT_PTR_NULL(status_str("message"));
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(W.ncreated, 1);
    run_until(ms_of("2026-03-02T10:06:10Z"));
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-03-02T10:06:00Z"));
    /* created suspended: nothing until resumed */
    world_at("2026-03-02T10:00:30Z");
    spec_set("suspend", json_object_new_boolean(1));
    run_until(ms_of("2026-03-02T11:00:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 0);
    spec_set("suspend", json_object_new_boolean(0));
    run_until(ms_of("2026-03-02T11:05:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(W.created[0], ms_of("2026-03-02T11:05:00Z"));
}

/* History 1/1 after three runs: the oldest finished goes, never a running one. */
static void test_history_1_1(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    spec_str("concurrencyPolicy", "Allow");
    spec_int("successfulJobsHistoryLimit", 1);
    spec_int("failedJobsHistoryLimit", 1);
    W.autoreap = true;
    for (int i = 1; i <= 3; i++) {
        set_time(ms_of("2026-03-02T10:00:00Z") + i * MIN);
        settle();
    }
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 3);
    const char *r1 = FIX_NAME "-1772445660", *r2 = FIX_NAME "-1772445720",
               *r3 = FIX_NAME "-1772445780";
    advance(10 * SEC);
    finish(r1, "Succeeded");
    advance(SEC);
    finish(r2, "Succeeded");
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 1);
    CU_ASSERT_PTR_NULL(kid_find(r1));
    CU_ASSERT_PTR_NOT_NULL(kid_find(r2));
    CU_ASSERT_PTR_NOT_NULL(kid_find(r3));
    CU_ASSERT(last_ev_has("SuccessfulDelete", r1));
    CU_ASSERT(last_ev_has("SuccessfulDelete", "successfulJobsHistoryLimit (1)"));
    advance(SEC);
    finish(r3, "Failed");
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 1);
    CU_ASSERT_EQUAL(W.nkids, 2);
    /* a fourth run fails: the older failed one goes */
    set_time(ms_of("2026-03-02T10:04:00Z"));
    settle();
    advance(SEC);
    finish(FIX_NAME "-1772445840", "Failed");
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 2);
    CU_ASSERT_PTR_NULL(kid_find(r3));
    CU_ASSERT(last_ev_has("SuccessfulDelete", "failedJobsHistoryLimit (1)"));
    /* lastSuccessfulTime never goes back */
    CU_ASSERT_STRING_EQUAL(status_str("lastSuccessfulTime"), "2026-03-02T10:03:11Z");
    /* limits 0: every finished run goes, the status keeps its times */
    spec_int("successfulJobsHistoryLimit", 0);
    spec_int("failedJobsHistoryLimit", 0);
    settle();
    CU_ASSERT_EQUAL(W.nkids, 0);
    CU_ASSERT_STRING_EQUAL(status_str("lastSuccessfulTime"), "2026-03-02T10:03:11Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:04:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), FIX_NAME "-1772445840");
    CU_ASSERT_STRING_EQUAL(cond_field("LastRunSucceeded", "reason"), "Failed");
    /* a finished run being deleted is not counted nor deleted again */
    W.autoreap = false;
    spec_int("successfulJobsHistoryLimit", 1);
    struct kid *k = kid_add("old-a", FIX_UID, 0);
    kid_phase(k, "Succeeded");
    k->completed_ms = W.now_ms - 100 * SEC;
    k->deleting = true;
    k = kid_add("old-b", FIX_UID, 0);
    kid_phase(k, "Succeeded");
    k->completed_ms = W.now_ms - 50 * SEC;
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 4);
}

/* History default 3/3, and a running run is never deleted. */
static void test_history_default(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    W.autoreap = true;
    W.run_ms = 30 * SEC;
    run_until(ms_of("2026-03-02T10:10:10Z"));
    CU_ASSERT_EQUAL(W.ncreated, 10);
    CU_ASSERT_EQUAL(W.nkids, 4); /* three finished, one running */
    CU_ASSERT_EQUAL(W.ndelete, 6);
    CU_ASSERT_PTR_NOT_NULL(kid_find(FIX_NAME "-1772446200"));
    CU_ASSERT_PTR_NULL(kid_get(FIX_NAME "-1772446200")->phase);
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 9);
    /* failed runs: kept apart, three */
    W.run_phase = "Failed";
    run_until(ms_of("2026-03-02T10:20:10Z"));
    int ok = 0, failed = 0;
    for (int i = 0; i < W.nkids; i++) {
        ok += W.kids[i].phase != NULL && strcmp(W.kids[i].phase, "Succeeded") == 0;
        failed += W.kids[i].phase != NULL && strcmp(W.kids[i].phase, "Failed") == 0;
    }
    CU_ASSERT_EQUAL(ok, 3);
    CU_ASSERT_EQUAL(failed, 3);
}

/* A run's name held by an OMJob this CronOMJob does not control. */
static void test_name_taken(void)
{
    every_minute(NULL);
    W.run_ms = 10 * SEC;
    world_step();
    set_time(ms_of("2026-03-02T10:02:00Z"));
    world_step();
    util_strlcpy(W.name_taken, run_name(W.now_ms), sizeof(W.name_taken));
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL(a->nev, 2); /* and the end of the 10:01 run */
    apply();
    CU_ASSERT(last_ev_has("SawCompletedJob", "1772445660"));
    CU_ASSERT_EQUAL(count_ev("FailedCreate"), 1);
    CU_ASSERT(last_ev_has("FailedCreate", W.name_taken));
    CU_ASSERT_EQUAL(last_ev("FailedCreate")->type, SC_EV_WARNING);
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:02:00Z");
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(count_ev("FailedCreate"), 1);
    /* a stale name_taken of another time changes nothing */
    set_time(ms_of("2026-03-02T10:03:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    W.name_taken[0] = '\0';
    /* held by an OMJob of an earlier CronOMJob of the same name (in the cache) */
    set_time(ms_of("2026-03-02T10:03:30Z"));
    kid_add(run_name(ms_of("2026-03-02T10:04:00Z")), OLD_UID, ms_of("2026-03-02T10:04:00Z"));
    set_time(ms_of("2026-03-02T10:04:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(count_ev("FailedCreate"), 2);
    /* it is not this CronOMJob's: neither active nor history nor lastOMJobName */
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), FIX_NAME "-1772445780");
    CU_ASSERT_EQUAL(nactive(), 0);
    /* already created, its annotation lost: that run, no second create */
    set_time(ms_of("2026-03-02T10:04:30Z"));
    kid_add(run_name(ms_of("2026-03-02T10:05:00Z")), FIX_UID, 0);
    set_time(ms_of("2026-03-02T10:05:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_STRING_EQUAL(status_str("lastScheduleTime"), "2026-03-02T10:05:00Z");
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), run_name(ms_of("2026-03-02T10:05:00Z")));
}

static void invalid_then_fixed(const char *field, const char *bad, const char *good,
                               const char *reason, const char *text)
{
    every_minute(NULL);
    W.run_ms = 10 * SEC;
    set_time(ms_of("2026-03-02T10:01:30Z"));
    world_step();
    settle();
    int ev0 = W.nev;
    spec_str(field, bad);
    struct sc_action *a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL_FATAL(a->nev, 1);
    CU_ASSERT_STRING_EQUAL(a->ev[0].reason, reason);
    CU_ASSERT_EQUAL(a->ev[0].type, SC_EV_WARNING);
    CU_ASSERT(strstr(a->ev[0].message, text) != NULL);
    apply();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "False");
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "reason"), reason);
    CU_ASSERT(strstr(cond_field("Scheduled", "message"), text) != NULL);
    CU_ASSERT(strstr(jx_str_or(W.cron, "status.message", ""), text) != NULL);
    CU_ASSERT_PTR_NULL(status_str("nextScheduleTime"));
    CU_ASSERT_EQUAL(jx_i64_or(W.cron, "status.observedGeneration", 0),
                    jx_i64_or(W.cron, "metadata.generation", -1));
    a = decide();
    CU_ASSERT_EQUAL(a->kind, SC_NONE);
    CU_ASSERT_EQUAL(a->requeue_at_ms, 0);
    /* passes later: no run, no second Warning */
    set_time(ms_of("2026-03-02T10:05:30Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(W.nev, ev0 + 1);
    /* fixed: recovers by itself; the times that passed are missed */
    spec_str(field, good);
    a = decide();
    CU_ASSERT_EQUAL_FATAL(a->kind, SC_STATUS);
    CU_ASSERT_EQUAL(a->nev, 0);
    apply();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "True");
    CU_ASSERT_STRING_EQUAL(status_str("lastMissedTime"), "2026-03-02T10:05:00Z");
    CU_ASSERT_PTR_NULL(status_str("message"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    run_until(ms_of("2026-03-02T10:06:10Z"));
    CU_ASSERT_EQUAL(W.ncreated, 2);
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-03-02T10:06:00Z"));
}

static void test_invalid_schedule(void)
{
    invalid_then_fixed("schedule", "61 * * * *", "* * * * *", "InvalidSchedule",
                       "minute field \"61\": 61 is out of range 0-59");
    invalid_then_fixed("schedule", "0 0 30 2 *", "* * * * *", "InvalidSchedule", "0 0 30 2 *");
    invalid_then_fixed("schedule", "TZ=UTC * * * * *", "* * * * *", "InvalidSchedule", "TZ");
}

static void test_unknown_zone(void)
{
    invalid_then_fixed("timeZone", "Mars/Olympus", "America/New_York", "UnknownTimeZone",
                       "Mars/Olympus");
    invalid_then_fixed("timeZone", "../etc/passwd", "UTC", "UnknownTimeZone", "passwd");
    /* a bad schedule replaced by another bad one: a new Warning */
    every_minute(NULL);
    spec_str("schedule", "61 * * * *");
    settle();
    spec_str("schedule", "* 25 * * *");
    settle();
    CU_ASSERT_EQUAL(count_ev("InvalidSchedule"), 2);
    /* an empty or null timeZone is UTC */
    world_at("2026-03-02T10:00:30Z");
    spec_str("timeZone", "");
    spec_str("schedule", "0 11 * * *");
    settle();
    CU_ASSERT_STRING_EQUAL(status_str("nextScheduleTime"), "2026-03-02T11:00:00Z");
    spec_set("timeZone", json_object_new_null());
    settle();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "message"),
                           "runs on schedule \"0 11 * * *\" in UTC");
}

/* Bad specs: a Warning InvalidSpec (or of the field), a condition, no run, no crash. */
static void test_invalid_spec(void)
{
    static const struct {
        const char *field;
        const char *json; /* NULL: removed */
        const char *reason;
        const char *text;
    } cases[] = {
        {"omJobSpec", NULL, "InvalidSpec", "spec.omJobSpec is missing"},
        {"omJobSpec", "\"x\"", "InvalidSpec", "spec.omJobSpec is missing or not an object"},
        {"omJobSpec", "[]", "InvalidSpec", "spec.omJobSpec"},
        {"schedule", NULL, "InvalidSchedule", "spec.schedule is missing"},
        {"schedule", "5", "InvalidSchedule", "spec.schedule is not a string"},
        {"schedule", "\"\"", "InvalidSchedule", "invalid schedule"},
        {"timeZone", "7", "UnknownTimeZone", "spec.timeZone is not a string"},
        {"concurrencyPolicy", "\"Sometimes\"", "InvalidSpec", "\"Sometimes\" is not Allow"},
        {"concurrencyPolicy", "1", "InvalidSpec", "spec.concurrencyPolicy is not a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_object *v = NULL;
        world_at("2026-03-02T10:00:30Z");
        if (cases[i].json != NULL)
            CU_ASSERT_EQUAL_FATAL(jx_parse(cases[i].json, strlen(cases[i].json), &v, NULL, 0), 0);
        spec_set(cases[i].field, v);
        set_time(ms_of("2026-03-02T10:05:00Z"));
        struct sc_action *a = settle();
        CU_ASSERT_EQUAL(a->requeue_at_ms, 0);
        CU_ASSERT_EQUAL(W.ncreated, 0);
        CU_ASSERT_EQUAL(count_ev(cases[i].reason), 1);
        CU_ASSERT(last_ev_has(cases[i].reason, cases[i].text));
        CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "reason"), cases[i].reason);
    }
    /* no spec at all */
    world_at("2026-03-02T10:00:30Z");
    json_object_object_del(W.cron, "spec");
    settle();
    CU_ASSERT(last_ev_has("InvalidSpec", "spec is missing or not an object"));
    world_at("2026-03-02T10:00:30Z");
    json_object_object_add(W.cron, "spec", json_object_new_int(3));
    settle();
    CU_ASSERT_EQUAL(count_ev("InvalidSpec"), 1);
    /* history still applies to an invalid CronOMJob */
    world_at("2026-03-02T10:00:30Z");
    spec_set("omJobSpec", NULL);
    spec_int("successfulJobsHistoryLimit", 0);
    struct kid *k = kid_add("old", FIX_UID, 0);
    kid_phase(k, "Succeeded");
    settle();
    CU_ASSERT_EQUAL(W.ndelete, 1);
}

/* Odd values: ignored or clamped, never a crash. */
static void test_odd_values(void)
{
    world_at("2026-03-02T10:00:30Z");
    spec_str("schedule", "* * * * *");
    spec_int("startingDeadlineSeconds", INT64_MAX);
    spec_int("successfulJobsHistoryLimit", INT64_MAX);
    spec_int("failedJobsHistoryLimit", -5);
    spec_str("suspend", "yes"); /* not a boolean: not suspended */
    W.run_ms = 10 * SEC;
    W.run_phase = "Failed";
    W.autoreap = true;
    run_until(ms_of("2026-03-02T10:06:00Z"));
    CU_ASSERT_EQUAL(W.ncreated, 6);
    CU_ASSERT_EQUAL(W.ndelete, 2);           /* negative failed limit: the default, 3 */
    spec_int("startingDeadlineSeconds", -1); /* none */
    spec_str("successfulJobsHistoryLimit", "many");
    set_time(ms_of("2026-03-02T13:00:00Z"));
    world_step();
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 7);
    CU_ASSERT_EQUAL(W.ndelete, 3);
    /* a status of the wrong shapes */
    world_at("2026-03-02T10:00:30Z");
    json_object_object_add(W.cron, "status", json_object_new_string("garbage"));
    settle();
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "status"), "True");
    world_at("2026-03-02T10:00:30Z");
    struct json_object *st = NULL;
    const char *s = "{\"conditions\":5,\"active\":{\"a\":1},\"lastScheduleTime\":\"yesterday\","
                    "\"lastOMJobName\":7,\"observedGeneration\":\"x\",\"someoneElses\":true}";
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &st, NULL, 0), 0);
    json_object_object_add(W.cron, "status", st);
    settle();
    CU_ASSERT(jx_bool_or(W.cron, "status.someoneElses", false));
    CU_ASSERT_EQUAL(nactive(), 0);
    CU_ASSERT_EQUAL(jx_i64_or(W.cron, "status.observedGeneration", 0), 1);
    CU_ASSERT_EQUAL(jx_i64_or(W.cron, "status.lastOMJobName", 0), 7); /* not ours to fix */
    set_time(ms_of("2026-03-02T10:05:00Z"));
    settle();
    CU_ASSERT_EQUAL(W.ncreated, 1);
    /* someone else's condition is kept, after ours */
    st = jx_arr(W.cron, "status.conditions");
    struct json_object *c = NULL;
    s = "{\"type\":\"Other\",\"status\":\"True\"}";
    jx_parse(s, strlen(s), &c, NULL, 0);
    json_object_array_add(st, c);
    changed();
    advance(SEC);
    settle();
    CU_ASSERT_STRING_EQUAL(cond_field("Other", "status"), "True");
    /* a lastScheduleTime in the future: nothing runs before it */
    world_at("2026-03-02T10:00:30Z");
    jx_set_str(W.cron, "status.lastScheduleTime", "2026-03-02T11:00:00Z");
    run_until(ms_of("2026-03-02T10:59:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 0);
    run_until(ms_of("2026-03-02T11:05:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 1);
    CU_ASSERT_EQUAL(W.created[0], ms_of("2026-03-02T11:05:00Z"));
}

/* Inputs the decision cannot use at all: nothing, and no crash. */
static void test_bad_input(void)
{
    struct sc_action a;
    struct sc_input in = {.now_ms = ms_of("2026-03-02T10:05:00Z"), .run_id = "r"};
    CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
    CU_ASSERT_EQUAL(a.kind, SC_NONE);
    CU_ASSERT_EQUAL(a.requeue_at_ms, 0);
    sc_action_free(&a);
    CU_ASSERT_EQUAL(sc_decide(NULL, &a), 0);
    CU_ASSERT_EQUAL(a.kind, SC_NONE);
    sc_action_free(&a);
    in.cron = json_object_new_array();
    CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
    CU_ASSERT_EQUAL(a.kind, SC_NONE);
    sc_action_free(&a);
    json_object_put(in.cron);
    /* no name, no uid */
    world_at("2026-03-02T10:00:30Z");
    json_object_object_del(jx_obj(W.cron, "metadata"), "uid");
    set_time(ms_of("2026-03-02T10:05:00Z"));
    CU_ASSERT_EQUAL(decide()->kind, SC_NONE);
    world_at("2026-03-02T10:00:30Z");
    jx_set_i64(W.cron, "metadata.name", 5);
    CU_ASSERT_EQUAL(decide()->kind, SC_NONE);
    /* being deleted: no run, no status */
    world_at("2026-03-02T10:00:30Z");
    jx_set_str(W.cron, "metadata.deletionTimestamp", "2026-03-02T10:04:00Z");
    set_time(ms_of("2026-03-02T10:05:00Z"));
    CU_ASSERT_EQUAL(decide()->kind, SC_NONE);
    CU_ASSERT_EQUAL(W.a.requeue_at_ms, 0);
    /* no run id: no create, a retry */
    world_at("2026-03-02T10:00:30Z");
    settle();
    set_time(ms_of("2026-03-02T10:05:00Z"));
    struct sc_child none[1];
    in = (struct sc_input){.cron = W.cron, .children = none, .nchildren = 0, .now_ms = W.now_ms};
    CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
    CU_ASSERT_NOT_EQUAL(a.kind, SC_CREATE);
    sc_action_free(&a);
    /* children with missing fields; children NULL with a count */
    struct sc_child odd[3] = {
        {.name = NULL},
        {.name = "x", .uid = NULL, .owner_uid = NULL, .phase = "Succeeded"},
        {.name = "y", .phase = "Weird", .scheduled_ms = -5, .completed_ms = -1},
    };
    in = (struct sc_input){
        .cron = W.cron, .children = odd, .nchildren = 3, .now_ms = W.now_ms, .run_id = "r"};
    CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
    sc_action_free(&a);
    in.children = NULL;
    CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
    sc_action_free(&a);
    /* clocks far off */
    int64_t nows[] = {0, -1, -86400000LL * 365 * 3000, INT64_MAX, INT64_MIN, 253402300799000LL};
    for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        in = (struct sc_input){.cron = W.cron, .now_ms = nows[i], .run_id = "r"};
        CU_ASSERT_EQUAL(sc_decide(&in, &a), 0);
        sc_action_free(&a);
    }
}

/* The decision does not change its input. */
static void test_pure(void)
{
    every_minute(NULL);
    set_time(ms_of("2026-03-02T10:02:00Z"));
    char *before = jx_dump(W.cron, NULL);
    decide();
    char *after = jx_dump(W.cron, NULL);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    apply();
    advance(SEC);
    kid_phase(&W.kids[0], "Succeeded");
    W.kids[0].completed_ms = W.now_ms;
    set_time(ms_of("2026-03-02T10:03:00Z"));
    before = jx_dump(W.cron, NULL);
    decide();
    after = jx_dump(W.cron, NULL);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
}

/* Daylight saving in New York: 02:30 skipped on 2026-03-08 does not fire; 01:30
 * repeated on 2026-11-01 fires once. */
static void test_dst_new_york(void)
{
    world_at("2026-03-05T12:00:00Z");
    spec_str("timeZone", "America/New_York");
    spec_str("schedule", "30 2 * * *");
    spec_set("startingDeadlineSeconds", NULL);
    W.run_ms = 10 * MIN;
    run_until(ms_of("2026-03-10T12:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 4);
    CU_ASSERT_EQUAL(W.created[0], ms_of("2026-03-06T07:30:00Z")); /* EST */
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-03-07T07:30:00Z"));
    CU_ASSERT_EQUAL(W.created[2], ms_of("2026-03-09T06:30:00Z")); /* EDT */
    CU_ASSERT_EQUAL(W.created[3], ms_of("2026-03-10T06:30:00Z"));
    CU_ASSERT_EQUAL(count_ev("MissSchedule"), 0);
    CU_ASSERT_EQUAL(count_ev("JobAlreadyActive"), 0);

    world_at("2026-10-30T12:00:00Z");
    spec_str("timeZone", "America/New_York");
    spec_str("schedule", "30 1 * * *");
    spec_set("startingDeadlineSeconds", NULL);
    W.run_ms = 10 * MIN;
    run_until(ms_of("2026-11-02T12:00:00Z"));
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 3);
    CU_ASSERT_EQUAL(W.created[0], ms_of("2026-10-31T05:30:00Z"));
    CU_ASSERT_EQUAL(W.created[1], ms_of("2026-11-01T05:30:00Z")); /* 01:30 EDT, once */
    CU_ASSERT_EQUAL(W.created[2], ms_of("2026-11-02T06:30:00Z")); /* EST */
    /* every 15 minutes across the repeated hour: nothing during the repeat */
    world_at("2026-11-01T04:50:00Z");
    spec_str("timeZone", "America/New_York");
    spec_str("schedule", "*/15 * * * *");
    spec_set("startingDeadlineSeconds", NULL);
    W.run_ms = MIN;
    run_until(ms_of("2026-11-01T07:20:00Z"));
    for (int i = 0; i < W.ncreated; i++)
        CU_ASSERT(W.created[i] < ms_of("2026-11-01T06:00:00Z") ||
                  W.created[i] >= ms_of("2026-11-01T07:00:00Z"));
    CU_ASSERT_EQUAL(W.ncreated, 4 + 2);
}

/* A 250-character CronOMJob name: every run's name fits 63 and is stable. */
static void test_long_name(void)
{
    char name[251];
    memset(name, 'c', 250);
    name[250] = '\0';
    world_at("2026-03-02T10:00:30Z");
    jx_set_str(W.cron, "metadata.name", name);
    set_time(ms_of("2026-03-02T10:05:00Z"));
    settle();
    CU_ASSERT_EQUAL_FATAL(W.ncreated, 1);
    CU_ASSERT(strlen(W.kids[0].name) <= 63);
    CU_ASSERT_STRING_EQUAL(jx_str_or(W.kids[0].body, "metadata.ownerReferences.0.name", ""), name);
    char again[SC_NAME_MAX];
    CU_ASSERT_EQUAL(sc_run_name(name, 1772445900, again, sizeof(again)), 0);
    CU_ASSERT_STRING_EQUAL(again, W.kids[0].name);
    CU_ASSERT_STRING_EQUAL(status_str("lastOMJobName"), again);
}

/* A long run of "every 5 minutes" with runs of 3 minutes: one OMJob per time, statuses written
 * only on change (about two per run: the create's and the end's). */
static void test_steady_state(void)
{
    world_at("2026-03-02T10:00:30Z");
    W.run_ms = 3 * MIN;
    W.autoreap = true;
    run_until(ms_of("2026-03-02T14:00:30Z"));
    CU_ASSERT_EQUAL(W.ncreated, 48);
    CU_ASSERT(W.nstatus <= 2 * 48 + 2);
    CU_ASSERT_EQUAL(count_ev("SuccessfulCreate"), 48);
    CU_ASSERT_EQUAL(count_ev("SawCompletedJob"), 47); /* the 14:00 run still runs */
    CU_ASSERT_EQUAL(count_ev("SuccessfulDelete"), 44);
    CU_ASSERT_EQUAL(W.nkids, 4);
    CU_ASSERT_STRING_EQUAL(cond_field("Scheduled", "lastTransitionTime"), "2026-03-02T10:00:30Z");
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"sc_kind_str", test_kind_str},
        {"sc_run_name", test_run_name},
        {"fixture: status, first run, the OMJob", test_fixture},
        {"placeholders in env values only", test_placeholders_nowhere_else},
        {"created at 10:00:30: no 10:00 run, 10:01 runs", test_new_does_not_fire_past_slot},
        {"created on the minute; no creationTimestamp", test_created_on_the_minute},
        {"down 5 minutes within the deadline: one run", test_down_within_deadline},
        {"beyond the deadline: MissSchedule once", test_missed_deadline},
        {"more than 100 missed: TooManyMissedTimes", test_too_many_missed},
        {"Forbid", test_forbid},
        {"Allow; many runs ending at once", test_allow},
        {"Replace", test_replace},
        {"suspend and resume", test_suspend_resume},
        {"history 1/1 after 3 runs", test_history_1_1},
        {"history 3/3 by default", test_history_default},
        {"name taken; already created", test_name_taken},
        {"invalid schedule, recovers", test_invalid_schedule},
        {"unknown time zone, recovers", test_unknown_zone},
        {"invalid spec", test_invalid_spec},
        {"odd values and status shapes", test_odd_values},
        {"unusable input", test_bad_input},
        {"decide does not change its input", test_pure},
        {"DST in America/New_York", test_dst_new_york},
        {"250-char CronOMJob name", test_long_name},
        {"4 hours of */5: one run per time", test_steady_state},
        {NULL, NULL},
    };
    if (getenv("SC_DEBUG") != NULL) /* every decision on stderr, in order with CUnit's */
        setvbuf(stdout, NULL, _IONBF, 0);
    return unit_run("scheduler_decide", NULL, suite_clean, tests);
}

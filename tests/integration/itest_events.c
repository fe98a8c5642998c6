/* Integration tests of runtime/events.c against the real API server, recording as
 * the operator's restricted identity (OMJOB_TEST_KUBECONFIG) and reading back as
 * admin: the Event's fields, aggregation of repeats into one Event's count, distinct
 * messages and types as distinct Events, a fresh Event when the aggregated one is
 * gone (PATCH 404), the LRU forgetting, concurrent emitters, long names and
 * messages, a failure counted and returned, and kubectl's view. Each test works in
 * its own namespace; alarm() bounds the run. */
#include "runtime/events.h"
#include "lib/kube/client.h"
#include "support/it_kube.h"
#include "lib/common/json.h"
#include "lib/common/util.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_SECONDS 240
#define OMJ_GV "pipelines.openmetadata.org/v1"
#define COMPONENT "omjob-operator"
#define INSTANCE "itest-events@localhost"

static struct kube_client *admin, *op;

#define CHECK_OK(call, err)                                                                        \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fprintf(stderr, "  line %d: %s = %d: %s http %d %s: %s\n", __LINE__, #call, rc_,       \
                    kube_errkind_str((err).kind), (err).http, (err).reason, (err).message);        \
        CU_ASSERT_EQUAL(rc_, 0);                                                                   \
    } while (0)

/* An OMJob to hang Events on; its identity is copied into *o (strings owned by
 * the returned object, which the caller puts). */
static struct json_object *omj_create(const char *ns, const char *name, struct ev_object *o)
{
    struct json_object *body = it_json("{\"apiVersion\":\"" OMJ_GV "\",\"kind\":\"OMJob\","
                                       "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"mainPodSpec\":"
                                       "{\"image\":\"busybox\",\"command\":[\"true\"]}}}",
                                       name);
    struct kube_ref r = {.gv = OMJ_GV, .plural = "omjobs", .ns = ns};
    struct json_object *out = NULL;
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, body, &out, &err), err);
    json_object_put(body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    *o = (struct ev_object){.api_version = OMJ_GV,
                            .kind = "OMJob",
                            .ns = jx_str(out, "metadata.namespace"),
                            .name = jx_str(out, "metadata.name"),
                            .uid = jx_str(out, "metadata.uid"),
                            .resource_version = jx_str(out, "metadata.resourceVersion")};
    return out;
}

struct evlist {
    size_t n;
    struct json_object *item[64];
};

/* Keeps this recorder's Events only: an operator of another test that watches
 * every namespace may record its own about these OMJobs. */
static int collect(void *ctx, struct json_object *item)
{
    struct evlist *l = ctx;
    const char *inst = jx_str(item, "reportingInstance");
    if (l->n < 64 && inst != NULL && strcmp(inst, INSTANCE) == 0)
        l->item[l->n++] = json_object_get(item);
    return 0;
}

/* The Events of this test's recorder about `name` in ns, as admin (fieldSelector,
 * like kubectl). */
static void events_of(const char *ns, const char *name, struct evlist *l)
{
    char sel[400];
    struct kube_ref r = {.gv = "v1", .plural = "events", .ns = ns};
    snprintf(sel, sizeof(sel), "involvedObject.name=%s", name);
    struct kube_list_opts lo = {.field_selector = sel};
    struct kube_err err;
    memset(l, 0, sizeof(*l));
    CHECK_OK(kube_list(admin, &r, &lo, collect, l, NULL, 0, &err), err);
}

static void evlist_free(struct evlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_object_put(l->item[i]);
    l->n = 0;
}

/* The Event with this message (borrowed from l), or NULL. */
static struct json_object *find_msg(struct evlist *l, const char *type, const char *msg)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *m = jx_str(l->item[i], "message"), *t = jx_str(l->item[i], "type");
        if (m && t && strcmp(m, msg) == 0 && strcmp(t, type) == 0)
            return l->item[i];
    }
    return NULL;
}

static struct ev_recorder *recorder(unsigned cap)
{
    struct ev_recorder *r = NULL;
    CU_ASSERT_EQUAL_FATAL(ev_recorder_new(op, COMPONENT, INSTANCE, cap, &r), 0);
    return r;
}

static void expect_stats(struct ev_recorder *r, unsigned long created, unsigned long aggregated,
                         unsigned long failed)
{
    struct ev_stats s;
    ev_stats_get(r, &s);
    if (s.created != created || s.aggregated != aggregated || s.failed != failed)
        fprintf(stderr, "  stats created %lu aggregated %lu failed %lu, want %lu %lu %lu\n",
                s.created, s.aggregated, s.failed, created, aggregated, failed);
    CU_ASSERT(s.created == created && s.aggregated == aggregated && s.failed == failed);
}

/* ---- tests ---- */

static void test_fields_and_count(void)
{
    it_test_begin("one Event, its fields, a repeat counted");
    char *ns = it_ns_new(admin, "it-events-agg");
    struct ev_object o;
    struct json_object *omj = omj_create(ns, "agg", &o);
    struct ev_recorder *r = recorder(0);
    struct evlist l;
    int64_t before = util_wall_ns() / 1000000000 * 1000000000;

    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "MainPodCreated", "created pod agg-main"), 0);
    it_sleep_ms(1100); /* lastTimestamp has whole seconds */
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "MainPodCreated", "created pod agg-main"), 0);
    expect_stats(r, 1, 1, 0);

    events_of(ns, "agg", &l);
    CU_ASSERT_EQUAL(l.n, 1);
    if (l.n == 1) {
        struct json_object *e = l.item[0];
        int64_t first = 0, last = 0;
        CU_ASSERT(it_jeq(e, "count", "2"));
        CU_ASSERT(it_jeq(e, "type", "\"Normal\""));
        CU_ASSERT(it_jeq(e, "reason", "\"MainPodCreated\""));
        CU_ASSERT(it_jeq(e, "message", "\"created pod agg-main\""));
        CU_ASSERT(it_jeq(e, "involvedObject.apiVersion", "\"" OMJ_GV "\""));
        CU_ASSERT(it_jeq(e, "involvedObject.kind", "\"OMJob\""));
        CU_ASSERT(it_jeq(e, "involvedObject.name", "\"agg\""));
        CU_ASSERT_STRING_EQUAL(jx_str_or(e, "involvedObject.namespace", ""), ns);
        CU_ASSERT_STRING_EQUAL(jx_str_or(e, "involvedObject.uid", ""), o.uid);
        CU_ASSERT_STRING_EQUAL(jx_str_or(e, "involvedObject.resourceVersion", ""),
                               o.resource_version);
        CU_ASSERT(it_jeq(e, "source.component", "\"" COMPONENT "\""));
        CU_ASSERT(it_jeq(e, "reportingComponent", "\"" COMPONENT "\""));
        CU_ASSERT(it_jeq(e, "reportingInstance", "\"" INSTANCE "\""));
        CU_ASSERT_PTR_NULL(jx_get(e, "eventTime"));
        CU_ASSERT(strncmp(jx_str_or(e, "metadata.name", ""), "agg.", 4) == 0);
        CU_ASSERT_EQUAL(util_rfc3339_parse(jx_str_or(e, "firstTimestamp", ""), &first), 0);
        CU_ASSERT_EQUAL(util_rfc3339_parse(jx_str_or(e, "lastTimestamp", ""), &last), 0);
        CU_ASSERT(first >= before && last >= first + 1000000000LL);
        fprintf(stderr, "  %s count 2, first %s last %s\n", jx_str_or(e, "metadata.name", "?"),
                jx_str_or(e, "firstTimestamp", "?"), jx_str_or(e, "lastTimestamp", "?"));
    }
    evlist_free(&l);
    ev_recorder_free(r);
    json_object_put(omj);
    it_ns_delete(admin, ns);
    it_test_end();
}

static void test_distinct(void)
{
    it_test_begin("another message, type or object: another Event");
    char *ns = it_ns_new(admin, "it-events-distinct");
    struct ev_object a, b;
    struct json_object *oa = omj_create(ns, "a", &a), *ob = omj_create(ns, "b", &b);
    struct ev_recorder *r = recorder(0);
    struct evlist l;

    CU_ASSERT_EQUAL(ev_emit(r, &a, EV_NORMAL, "MainPodCompleted", "one"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &a, EV_NORMAL, "MainPodCompleted", "two"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &a, EV_WARNING, "MainPodCompleted", "two"), 0);
    CU_ASSERT_EQUAL(ev_emitf(r, &a, EV_WARNING, "MainPodCompleted", "t%s", "wo"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &b, EV_NORMAL, "MainPodCompleted", "one"), 0);
    expect_stats(r, 4, 1, 0);

    events_of(ns, "a", &l);
    CU_ASSERT_EQUAL(l.n, 3);
    CU_ASSERT(it_jeq(find_msg(&l, "Normal", "one"), "count", "1"));
    CU_ASSERT(it_jeq(find_msg(&l, "Normal", "two"), "count", "1"));
    CU_ASSERT(it_jeq(find_msg(&l, "Warning", "two"), "count", "2"));
    evlist_free(&l);
    events_of(ns, "b", &l);
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT(it_jeq(find_msg(&l, "Normal", "one"), "count", "1"));
    evlist_free(&l);
    ev_recorder_free(r);
    json_object_put(oa);
    json_object_put(ob);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* The aggregated Event deleted (or expired) under the recorder: PATCH 404, then a
 * new Event with count 1. A recorder that forgot an Event (LRU), like a restarted
 * process, counts into the one already there: its name is deterministic. */
static void test_gone_and_forgotten(void)
{
    it_test_begin("PATCH 404 starts a new Event; the LRU forgets");
    char *ns = it_ns_new(admin, "it-events-gone");
    struct ev_object o;
    struct json_object *omj = omj_create(ns, "gone", &o);
    struct ev_recorder *r = recorder(2);
    struct evlist l;
    struct kube_err err;

    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "x"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "x"), 0);
    events_of(ns, "gone", &l);
    CU_ASSERT_EQUAL_FATAL(l.n, 1);
    struct kube_ref er = {
        .gv = "v1", .plural = "events", .ns = ns, .name = jx_str(l.item[0], "metadata.name")};
    CHECK_OK(kube_delete(admin, &er, NULL, NULL, &err), err);
    evlist_free(&l);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "x"), 0);
    expect_stats(r, 2, 1, 0);
    events_of(ns, "gone", &l);
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT(it_jeq(find_msg(&l, "Normal", "x"), "count", "1"));
    evlist_free(&l);

    /* cap 2: x, y, z leaves y and z; x again finds its Event on the server (409,
     * then GET and PATCH): one Event x with count 2, not a second x. */
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "y"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "z"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "z"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "Cancelling", "x"), 0);
    expect_stats(r, 4, 3, 0);
    events_of(ns, "gone", &l);
    CU_ASSERT_EQUAL(l.n, 3);
    CU_ASSERT(it_jeq(find_msg(&l, "Normal", "x"), "count", "2"));
    evlist_free(&l);
    ev_recorder_free(r);
    json_object_put(omj);
    it_ns_delete(admin, ns);
    it_test_end();
}

struct burst {
    struct ev_recorder *r;
    const struct ev_object *o;
    int n;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    for (int i = 0; i < b->n; i++)
        if (ev_emit(b->r, b->o, EV_WARNING, "ReconciliationError", "same") != 0)
            fprintf(stderr, "  emit failed\n");
    return NULL;
}

/* Concurrent first occurrences create one Event; every repeat reaches its count. */
static void test_threads(void)
{
    it_test_begin("4 threads, one Event, every occurrence counted");
    char *ns = it_ns_new(admin, "it-events-threads");
    struct ev_object o;
    struct json_object *omj = omj_create(ns, "threads", &o);
    struct ev_recorder *r = recorder(0);
    struct burst b = {.r = r, .o = &o, .n = 10};
    pthread_t t[4];
    struct evlist l;
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, burst_main, &b), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    expect_stats(r, 1, 39, 0);
    events_of(ns, "threads", &l);
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT(it_jeq(find_msg(&l, "Warning", "same"), "count", "40"));
    evlist_free(&l);
    ev_recorder_free(r);
    json_object_put(omj);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* A 253-character object name and a 3000-byte message of 3-byte characters. */
static void test_long(void)
{
    it_test_begin("long name, long message cut at a character boundary");
    char *ns = it_ns_new(admin, "it-events-long");
    char name[254], msg[3001];
    memset(name, 'n', 253);
    name[253] = '\0';
    for (int i = 0; i < 1000; i++)
        memcpy(msg + 3 * i, "\xe2\x98\x83", 3); /* U+2603 */
    msg[3000] = '\0';
    struct ev_object o;
    struct json_object *omj = omj_create(ns, name, &o);
    struct ev_recorder *r = recorder(0);
    struct evlist l;
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_WARNING, "InvalidSpec", msg), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_WARNING, "InvalidSpec", msg), 0);
    events_of(ns, name, &l);
    CU_ASSERT_EQUAL(l.n, 1);
    if (l.n == 1) {
        const char *m = jx_str_or(l.item[0], "message", "");
        CU_ASSERT_EQUAL(strlen(m), 1023); /* 341 whole snowmen */
        CU_ASSERT(strncmp(m, msg, 1023) == 0);
        CU_ASSERT(it_jeq(l.item[0], "count", "2"));
        fprintf(stderr, "  event %s\n", jx_str_or(l.item[0], "metadata.name", "?"));
    }
    evlist_free(&l);
    ev_recorder_free(r);
    json_object_put(omj);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* A namespace that does not exist: the POST fails, is counted, and returned. */
static void test_failure(void)
{
    it_test_begin("a failed POST is counted and returned");
    struct ev_object o = {.api_version = OMJ_GV,
                          .kind = "OMJob",
                          .ns = "it-events-no-such-ns",
                          .name = "x",
                          .uid = "00000000-0000-0000-0000-000000000000"};
    struct ev_recorder *r = recorder(0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "MainPodCreated", "m"), -ENOENT);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "MainPodCreated", "m"), -ENOENT);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "", "m"), -EINVAL);
    expect_stats(r, 0, 0, 2);
    ev_recorder_free(r);
    it_test_end();
}

/* What a user sees: kubectl get events --field-selector involvedObject.name=... */
static void test_kubectl(void)
{
    it_test_begin("kubectl get events shows it");
    char *ns = it_ns_new(admin, "it-events-kubectl");
    struct ev_object o;
    struct json_object *omj = omj_create(ns, "seen", &o);
    struct ev_recorder *r = recorder(0);
    char cmd[512], out[512] = "";
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "ResourcesCleanedUp", "deleted"), 0);
    CU_ASSERT_EQUAL(ev_emit(r, &o, EV_NORMAL, "ResourcesCleanedUp", "deleted"), 0);
    snprintf(cmd, sizeof(cmd),
             "kubectl get events -n %s --field-selector "
             "involvedObject.name=seen,reason=ResourcesCleanedUp "
             "-o jsonpath='{range .items[*]}{.type} {.reason} {.count} {.source.component}"
             "{\"\\n\"}{end}'",
             ns);
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    CU_ASSERT_EQUAL(pclose(p), 0);
    fprintf(stderr, "  kubectl: %s", out);
    CU_ASSERT_STRING_EQUAL(out, "Normal ResourcesCleanedUp 2 " COMPONENT "\n");
    ev_recorder_free(r);
    json_object_put(omj);
    it_ns_delete(admin, ns);
    it_test_end();
}

int main(void)
{
    it_deadline(DEADLINE_SECONDS);
    if (getenv("KUBECONFIG") == NULL || getenv("OMJOB_TEST_KUBECONFIG") == NULL) {
        fprintf(stderr, "itest_events: run under tests/cluster/with-cluster "
                        "(KUBECONFIG and OMJOB_TEST_KUBECONFIG unset)\n");
        return 2;
    }
    admin = it_client(getenv("KUBECONFIG"), NULL);
    op = it_client(getenv("OMJOB_TEST_KUBECONFIG"), NULL);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("events_integration", NULL, NULL);
    CU_add_test(su, "one Event, its fields, a repeat counted", test_fields_and_count);
    CU_add_test(su, "another message, type or object: another Event", test_distinct);
    CU_add_test(su, "PATCH 404 starts a new Event; the LRU forgets", test_gone_and_forgotten);
    CU_add_test(su, "4 threads, one Event, every occurrence counted", test_threads);
    CU_add_test(su, "long name, long message", test_long);
    CU_add_test(su, "a failed POST is counted and returned", test_failure);
    CU_add_test(su, "kubectl get events shows it", test_kubectl);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    it_ns_cleanup_all(admin);
    kube_client_free(op);
    kube_client_free(admin);
    return rc;
}

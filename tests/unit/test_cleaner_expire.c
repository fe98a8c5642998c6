/* Unit tests of the cleaner's deletions (roles/cleaner/expire.c) against a fake API
 * server, with the pool in its inline mode (0 workers: each job runs at once, in
 * order): what is scheduled from an OMJob's JSON, and at the time to act the
 * DELETE with the UID and resourceVersion preconditions, the fresh GET when the
 * object changed since, the ResourcesCleanedUp Event and the metrics, and every
 * way the API server can answer otherwise (gone, changed, failing, someone else
 * first). test_cleaner_pool.c tests the workers themselves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "support/fakeapi.h"
#include "support/unit.h"

#include "lib/common/json.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "roles/cleaner/internal.h"
#include "runtime/events.h"

#define OMJ_PATH "/apis/pipelines.openmetadata.org/v1/namespaces/ns/omjobs/j"
#define EVENTS_PATH "/api/v1/namespaces/ns/events"

static struct fakeapi *api;
static struct metrics *reg;
static struct cleaner_ctx ctx;

/* An OMJob ns/j of this uid, phase and TTL that completed in 2020. */
static char *omjob(const char *uid, const char *phase, const char *ttl)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"kind\":\"OMJob\",\"metadata\":{\"name\":\"j\",\"namespace\":\"ns\","
             "\"uid\":\"%s\",\"resourceVersion\":\"42\"},\"spec\":{\"ttlSecondsAfterFinished\":%s},"
             "\"status\":{\"phase\":\"%s\",\"completionTime\":\"2020-01-01T00:00:00Z\"}}",
             uid, ttl, phase);
    return strdup(buf);
}

static struct json_object *parse(char *text)
{
    struct json_object *o = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_parse(text, strlen(text), &o, NULL, 0), 0);
    free(text);
    return o;
}

/* A fresh context: the client tries each request `attempts` times. */
static void ctx_new(int attempts)
{
    char yaml[1024], err[256];
    struct kube_config *kc = NULL;
    struct kube_client_opts o = {.max_attempts = attempts};
    fakeapi_reset(api);
    memset(&ctx, 0, sizeof(ctx));
    fakeapi_kubeconfig(api, yaml, sizeof(yaml));
    CU_ASSERT_EQUAL_FATAL(kube_config_parse(yaml, strlen(yaml), "/", "test", &kc, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL_FATAL(kube_client_new(kc, &o, &ctx.cl_kc), 0);
    CU_ASSERT_EQUAL_FATAL(
        ev_recorder_new(ctx.cl_kc, "omjob-operator", "cleaner@test", 0, &ctx.cl_ev), 0);
    CU_ASSERT_EQUAL_FATAL(ttl_table_new(&ctx.cl_tab), 0);
    reg = metrics_new();
    static const double b[] = {1, 10};
    CU_ASSERT_FATAL(reg != NULL);
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(reg, "d_total", "d", NULL, 0, &ctx.cl_deletions), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_histogram_new(reg, "l", "l", NULL, 0, b, 2, &ctx.cl_delay), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_gauge_new(reg, "s", "s", NULL, 0, &ctx.cl_scheduled), 0);
    CU_ASSERT_EQUAL_FATAL(cleaner_pool_start(&ctx, 0), 0);
}

static void ctx_free(void)
{
    cleaner_pool_stop(&ctx);
    ev_recorder_free(ctx.cl_ev);
    kube_client_free(ctx.cl_kc);
    ttl_table_free(ctx.cl_tab);
    metrics_free(reg);
    reg = NULL;
}

/* The entry of ns/j, scheduled from an OMJob finished long ago (due now). */
static struct ttl_entry *due_entry(void)
{
    struct ttl_entry *e = ttl_add(ctx.cl_tab, "ns/j");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    struct json_object *o = parse(omjob("u-1", "Succeeded", "0"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT_FATAL(ttl_scheduled(e));
    return e;
}

static double metric(struct metrics_family *f)
{
    double v = -1;
    if (metrics_get(f, NULL, &v) != 0)
        return 0;
    return v;
}

static void test_consider(void)
{
    ctx_new(1);
    struct ttl_entry *e = ttl_add(ctx.cl_tab, "ns/j");
    struct json_object *o = parse(omjob("u-1", "Succeeded", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(ttl_scheduled(e));
    CU_ASSERT_EQUAL(e->te_at_ms, 1577836800000LL + 3000);
    CU_ASSERT_EQUAL(e->te_expiry_ms, 1577836800000LL + 3000);
    CU_ASSERT_STRING_EQUAL(e->te_uid, "u-1");
    /* A failing entry keeps its backoff while the object is the same... */
    e->te_failures = 2;
    CU_ASSERT_EQUAL(ttl_schedule(ctx.cl_tab, e, 5), 0);
    o = parse(omjob("u-1", "Succeeded", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT_EQUAL(e->te_at_ms, 5);
    CU_ASSERT_EQUAL(e->te_failures, 2);
    /* ...but starts over for another incarnation. */
    o = parse(omjob("u-2", "Succeeded", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT_EQUAL(e->te_at_ms, 1577836800000LL + 3000);
    CU_ASSERT_EQUAL(e->te_failures, 0);
    CU_ASSERT_STRING_EQUAL(e->te_uid, "u-2");
    /* Running again: not due. */
    o = parse(omjob("u-2", "Running", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(!ttl_scheduled(e));
    /* An invalid TTL (the CRD forbids it) or no uid: never deleted. */
    o = parse(omjob("u-2", "Succeeded", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(ttl_scheduled(e));
    o = parse(omjob("u-2", "Succeeded", "-1"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(!ttl_scheduled(e));
    o = parse(omjob("", "Succeeded", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(!ttl_scheduled(e));
    /* Gone from the watcher's cache. */
    o = parse(omjob("u-2", "Failed", "3"));
    cleaner_consider(&ctx, e, o);
    json_object_put(o);
    CU_ASSERT(ttl_scheduled(e));
    cleaner_consider(&ctx, e, NULL);
    CU_ASSERT(!ttl_scheduled(e));
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 0); /* all from the JSON given */
    ctx_free();
}

static void queue_fresh(const char *uid, const char *phase, const char *ttl)
{
    char *fresh = omjob(uid, phase, ttl);
    fakeapi_reply(api, 200, fresh);
    free(fresh);
}

/* The version the cache saw is still current: one DELETE with its UID and
 * resourceVersion as preconditions, no GET, then the Event. */
static void test_deleted(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    CU_ASSERT_STRING_EQUAL(e->te_rv, "42");
    fakeapi_reply(api, 200, "{\"kind\":\"OMJob\"}");
    fakeapi_reply(api, 201, "{\"metadata\":{\"name\":\"j.1\"}}");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL_FATAL(fakeapi_nreqs(api), 2);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 0), "DELETE " OMJ_PATH);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 0), "\"uid\":\"u-1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 0), "\"resourceVersion\":\"42\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 0), "\"propagationPolicy\":\"Background\""));
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 1), "POST " EVENTS_PATH);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 1), "\"reason\":\"ResourcesCleanedUp\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 1), "\"resourceVersion\":\"42\""));
    CU_ASSERT(!ttl_scheduled(e));
    CU_ASSERT(!e->te_inflight);
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 1.0);
    CU_ASSERT_EQUAL(metric(ctx.cl_delay), 1.0); /* one observation */
    CU_ASSERT_EQUAL(metric(ctx.cl_scheduled), 0.0);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_deleted), 1);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_nsched), 0);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_next_ms), 0);
    ctx_free();
}

/* Several due at once: every DELETE before any Event (they share the rate
 * limit: the deletions go first). */
static void test_deletions_before_events(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    struct ttl_entry *f = ttl_add(ctx.cl_tab, "ns/k");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct json_object *o = parse(omjob("u-2", "Failed", "0"));
    cleaner_consider(&ctx, f, o);
    json_object_put(o);
    for (int i = 0; i < 4; i++)
        fakeapi_reply(api, i < 2 ? 200 : 201, "{}");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL_FATAL(fakeapi_nreqs(api), 4);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 0), "DELETE " OMJ_PATH);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 1),
                           "DELETE /apis/pipelines.openmetadata.org/v1/namespaces/ns/omjobs/k");
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 2), "POST " EVENTS_PATH);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 3), "POST " EVENTS_PATH);
    CU_ASSERT(!ttl_scheduled(e) && !ttl_scheduled(f));
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 2.0);
    ctx_free();
}

/* Without a usable resourceVersion (absent, or longer than etcd's) the object is
 * read first and the version read is deleted. */
static void test_no_rv_reads_first(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    ttl_set_rv(e, "123456789012345678901234567890");
    CU_ASSERT_STRING_EQUAL(e->te_rv, "");
    queue_fresh("u-1", "Succeeded", "0");
    fakeapi_reply(api, 200, "{}");
    fakeapi_reply(api, 201, "{}");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL_FATAL(fakeapi_nreqs(api), 3);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 0), "GET " OMJ_PATH);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 1), "DELETE " OMJ_PATH);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 1), "\"resourceVersion\":\"42\""));
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 1.0);
    ctx_free();
}

/* A 404 on the DELETE after a retried attempt: the first attempt did it. */
static void test_deleted_by_our_retry(void)
{
    ctx_new(2);
    struct ttl_entry *e = due_entry();
    fakeapi_status(api, 503, "ServiceUnavailable", "lost response");
    fakeapi_status(api, 404, "NotFound", "gone");
    fakeapi_reply(api, 201, "{}");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 3);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 2), "POST " EVENTS_PATH);
    CU_ASSERT(!ttl_scheduled(e));
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 1.0);
    ctx_free();
}

/* The object is gone at the DELETE, or changed and then gone at the GET: nothing
 * to do, nothing counted, no Event. */
static void test_gone(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    fakeapi_status(api, 404, "NotFound", "not found");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1);
    CU_ASSERT(!ttl_scheduled(e));
    CU_ASSERT_EQUAL(ttl_count(ctx.cl_tab), 1); /* known; the watcher says when it goes */

    fakeapi_reset(api);
    e = due_entry();
    fakeapi_status(api, 409, "Conflict", "Precondition failed: ResourceVersion in precondition");
    fakeapi_status(api, 404, "NotFound", "not found");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 1), "GET " OMJ_PATH);
    CU_ASSERT(!ttl_scheduled(e));
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 0.0);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_deleted), 0);
    ctx_free();
}

/* Changed since the cache saw it (the DELETE's precondition fails): what the API
 * server has now decides: running again, or a TTL raised since (rescheduled at
 * the new expiry, the backoff reset). */
static void test_changed(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    fakeapi_status(api, 409, "Conflict", "Precondition failed");
    queue_fresh("u-1", "Running", "0");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    CU_ASSERT(!ttl_scheduled(e));

    fakeapi_reset(api);
    e = due_entry();
    e->te_failures = 3;
    fakeapi_status(api, 409, "Conflict", "Precondition failed");
    queue_fresh("u-9", "Succeeded", "2147483647");
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    CU_ASSERT(ttl_scheduled(e));
    CU_ASSERT_EQUAL(e->te_at_ms, 1577836800000LL + 2147483647000LL);
    CU_ASSERT_EQUAL(e->te_expiry_ms, e->te_at_ms);
    CU_ASSERT_EQUAL(e->te_ttl_s, 2147483647);
    CU_ASSERT_STRING_EQUAL(e->te_uid, "u-9");
    CU_ASSERT_EQUAL(e->te_failures, 0);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_nsched), 1);
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_next_ms), e->te_at_ms);
    CU_ASSERT_EQUAL(metric(ctx.cl_scheduled), 1.0);
    ctx_free();
}

/* A failing DELETE or GET is retried later with the backoff, not at once. */
static void test_failures_back_off(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    fakeapi_status(api, 403, "Forbidden", "RBAC");
    int64_t before = util_wall_ms();
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1);
    CU_ASSERT(ttl_scheduled(e));
    CU_ASSERT_EQUAL(e->te_failures, 1);
    CU_ASSERT(e->te_at_ms >= before + TTL_BACKOFF_MIN_MS);
    CU_ASSERT(e->te_at_ms <= util_wall_ms() + TTL_BACKOFF_MIN_MS);

    /* Due again: this time the GET after a conflict fails; the next wait doubles. */
    fakeapi_reset(api);
    CU_ASSERT_EQUAL(ttl_schedule(ctx.cl_tab, e, 0), 0);
    fakeapi_status(api, 409, "Conflict", "Precondition failed");
    fakeapi_status(api, 500, "InternalError", "etcd");
    before = util_wall_ms();
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    CU_ASSERT_EQUAL(e->te_failures, 2);
    CU_ASSERT(e->te_at_ms >= before + 2 * TTL_BACKOFF_MIN_MS);
    CU_ASSERT_EQUAL(metric(ctx.cl_deletions), 0.0);
    ctx_free();
}

/* Changed again between the fresh GET and its DELETE: read again at once, but
 * only once: a second time in a row backs off. */
static void test_conflict_reads_again_once(void)
{
    ctx_new(1);
    struct ttl_entry *e = due_entry();
    for (int i = 0; i < 2; i++) {
        fakeapi_status(api, 409, "Conflict", "Precondition failed");
        queue_fresh("u-1", "Succeeded", "0");
        fakeapi_status(api, 409, "Conflict", "Precondition failed: UID in precondition");
    }
    int64_t before = util_wall_ms();
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 6);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 3), "DELETE " OMJ_PATH);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 4), "GET " OMJ_PATH);
    CU_ASSERT(ttl_scheduled(e));
    CU_ASSERT_EQUAL(e->te_failures, 2);
    CU_ASSERT(e->te_at_ms >= before + 2 * TTL_BACKOFF_MIN_MS);
    ctx_free();
}

/* A key that is not "namespace/name" cannot be acted on: it is forgotten. */
static void test_bad_key_forgotten(void)
{
    ctx_new(1);
    struct ttl_entry *e = ttl_add(ctx.cl_tab, "no-slash");
    struct ttl_entry *f = ttl_add(ctx.cl_tab, "ns/j");
    CU_ASSERT_EQUAL(ttl_schedule(ctx.cl_tab, e, 0), 0);
    CU_ASSERT_EQUAL(ttl_schedule(ctx.cl_tab, f, util_wall_ms() + 3600 * 1000), 0);
    cleaner_run_due(&ctx);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 0);
    CU_ASSERT_PTR_NULL(ttl_find(ctx.cl_tab, "no-slash"));
    CU_ASSERT_EQUAL(ttl_count(ctx.cl_tab), 1);
    CU_ASSERT(ttl_scheduled(f)); /* not due yet: untouched */
    CU_ASSERT_EQUAL(atomic_load(&ctx.cl_known), 1);
    ctx_free();
}

static int init(void)
{
    return fakeapi_start(&api) == 0 ? 0 : -1;
}

static int clean(void)
{
    fakeapi_stop(api);
    return 0;
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"consider: schedule, keep backoff, unschedule", test_consider},
        {"run due: DELETE of the cached version, Event, metrics", test_deleted},
        {"run due: no resourceVersion: GET first", test_no_rv_reads_first},
        {"run due: every DELETE before any Event", test_deletions_before_events},
        {"run due: 404 after our own retry is ours", test_deleted_by_our_retry},
        {"run due: gone before us", test_gone},
        {"run due: changed since scheduled", test_changed},
        {"run due: failures back off", test_failures_back_off},
        {"run due: changed again after the GET reads again once", test_conflict_reads_again_once},
        {"run due: a bad key is forgotten", test_bad_key_forgotten},
        {NULL, NULL},
    };
    return unit_run("cleaner_expire", init, clean, tests);
}

/* Unit tests of the Events the API server did not take (runtime/events.c,
 * ev_emit_keep / ev_retry) against a fake API server, with a simulated clock:
 * kept for as long as their object exists (ten minutes of refusals, not one),
 * dropped and counted when the object is gone or the bounded queue is full,
 * never kept for a refusal that will not pass, tried again at once when another
 * Event went through. And the aggregation entries forgotten (ev_forget,
 * ev_expire) without an Event lost or counted twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "support/fakeapi.h"
#include "support/unit.h"

#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "runtime/events.h"

#define EVENTS "POST /api/v1/namespaces/ns/events"
#define SEC 1000

static struct fakeapi *api;
static struct kube_client *kc;
static struct ev_recorder *rec;
static struct metrics *reg;
static struct metrics_family *dropped, *waiting;
static int exists_answer = 1; /* what the existence callback says */
static int exists_calls;

static int exists(void *ctx, const struct ev_object *o)
{
    (void)ctx;
    (void)o;
    exists_calls++;
    return exists_answer;
}

static const struct ev_object OBJ = {.api_version = "pipelines.openmetadata.org/v1",
                                     .kind = "OMJob",
                                     .ns = "ns",
                                     .name = "j",
                                     .uid = "uid-1"};

/* A recorder whose client tries each request once; a queue of cap entries. */
static void rec_new(unsigned cap)
{
    char yaml[1024], err[256];
    struct kube_config *cfg = NULL;
    struct kube_client_opts o = {.max_attempts = 1};
    fakeapi_reset(api);
    fakeapi_kubeconfig(api, yaml, sizeof(yaml));
    CU_ASSERT_EQUAL_FATAL(kube_config_parse(yaml, strlen(yaml), "/", "t", &cfg, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL_FATAL(kube_client_new(cfg, &o, &kc), 0);
    CU_ASSERT_EQUAL_FATAL(ev_recorder_new(kc, "omjob-operator", "test", 0, &rec), 0);
    reg = metrics_new();
    CU_ASSERT_FATAL(reg != NULL);
    static const char *const cause[] = {"cause"};
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(reg, "dropped_total", "d", cause, 1, &dropped), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_gauge_new(reg, "waiting", "w", NULL, 0, &waiting), 0);
    ev_retry_setup(rec, cap, exists, NULL, dropped, waiting);
    exists_answer = 1;
    exists_calls = 0;
}

static void rec_free(void)
{
    ev_recorder_free(rec);
    kube_client_free(kc);
    metrics_free(reg);
    rec = NULL;
    kc = NULL;
    reg = NULL;
}

static struct ev_stats stats(void)
{
    struct ev_stats s;
    ev_stats_get(rec, &s);
    return s;
}

static double metric(struct metrics_family *f, const char *label)
{
    const char *v[] = {label};
    double d = -1;
    metrics_get(f, label != NULL ? v : NULL, &d);
    return d;
}

/* Refused (503) for ten minutes of simulated time: kept throughout, tried with
 * a backoff that stops growing at 30 s, then recorded. */
static void test_kept_while_exists(void)
{
    rec_new(0);
    fakeapi_status(api, 503, "ServiceUnavailable", "the server is down");
    CU_ASSERT_EQUAL(ev_emit_keep(rec, &OBJ, EV_NORMAL, "MainPodCreated", "created pod j-main"),
                    -EIO);
    CU_ASSERT_EQUAL(stats().waiting, 1);
    CU_ASSERT_EQUAL(metric(waiting, NULL), 1);
    int64_t t0 = 1000 * SEC, now = t0, next = ev_retry(rec, now);
    CU_ASSERT_EQUAL(next, t0 + 2 * SEC); /* not due yet: no request */
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1);
    int rounds = 0;
    int64_t gap = 0;
    while (now < t0 + 600 * SEC) {
        fakeapi_status(api, 503, "ServiceUnavailable", "the server is down");
        gap = next - now;
        now = next;
        next = ev_retry(rec, now);
        CU_ASSERT_FATAL(next > now);
        rounds++;
    }
    CU_ASSERT_EQUAL(gap, 30 * SEC);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1 + rounds);
    CU_ASSERT(rounds >= 18 && rounds <= 25);
    CU_ASSERT_EQUAL(stats().waiting, 1);
    CU_ASSERT(ev_waiting(rec, "uid-1", "MainPodCreated", "j-main"));
    CU_ASSERT_FALSE(ev_waiting(rec, "uid-1", "MainPodCreated", "other"));
    CU_ASSERT_FALSE(ev_waiting(rec, "uid-2", "MainPodCreated", NULL));
    CU_ASSERT(exists_calls >= rounds);
    /* The API server takes it. */
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_retry(rec, next), 0);
    int n = fakeapi_nreqs(api);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, n - 1), EVENTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, n - 1), "\"reason\":\"MainPodCreated\""));
    struct ev_stats s = stats();
    CU_ASSERT_EQUAL(s.waiting, 0);
    CU_ASSERT_EQUAL(s.late, 1);
    CU_ASSERT_EQUAL(s.created, 1);
    CU_ASSERT_EQUAL(metric(waiting, NULL), 0);
    CU_ASSERT_FALSE(ev_waiting(rec, "uid-1", "MainPodCreated", NULL));
    rec_free();
}

/* The object is gone: dropped without a request, counted. */
static void test_dropped_when_gone(void)
{
    rec_new(0);
    fakeapi_status(api, 403, "Forbidden", "events is forbidden");
    CU_ASSERT_EQUAL(ev_emit_keep(rec, &OBJ, EV_WARNING, "StartTimeout", "x"), -EPERM);
    CU_ASSERT_EQUAL(stats().waiting, 1);
    int64_t next = ev_retry(rec, 10000 * SEC);
    CU_ASSERT_EQUAL(next, 10002 * SEC);
    exists_answer = -EAGAIN; /* cannot tell: kept, and tried */
    fakeapi_status(api, 403, "Forbidden", "events is forbidden");
    next = ev_retry(rec, next);
    CU_ASSERT(next > 10002 * SEC);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    exists_answer = 0;
    CU_ASSERT_EQUAL(ev_retry(rec, next), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    struct ev_stats s = stats();
    CU_ASSERT_EQUAL(s.waiting, 0);
    CU_ASSERT_EQUAL(s.dropped_gone, 1);
    CU_ASSERT_EQUAL(metric(dropped, "object_gone"), 1);
    CU_ASSERT_EQUAL(metric(waiting, NULL), 0);
    rec_free();
}

/* A full queue pushes out its oldest entry, counted. */
static void test_bounded(void)
{
    rec_new(3);
    char reason[32];
    for (int i = 0; i < 5; i++) {
        fakeapi_reply(api, 500, "{}");
        snprintf(reason, sizeof(reason), "R%d", i);
        ev_emit_keep(rec, &OBJ, EV_NORMAL, reason, "m");
    }
    struct ev_stats s = stats();
    CU_ASSERT_EQUAL(s.waiting, 3);
    CU_ASSERT_EQUAL(s.dropped_full, 2);
    CU_ASSERT_EQUAL(metric(dropped, "queue_full"), 2);
    CU_ASSERT_FALSE(ev_waiting(rec, "uid-1", "R0", NULL));
    CU_ASSERT_FALSE(ev_waiting(rec, "uid-1", "R1", NULL));
    CU_ASSERT(ev_waiting(rec, "uid-1", "R2", NULL));
    CU_ASSERT(ev_waiting(rec, "uid-1", "R4", NULL));
    rec_free();
}

/* A refusal that will not pass (invalid, namespace gone) is not kept. */
static void test_not_transient(void)
{
    rec_new(0);
    fakeapi_status(api, 422, "Invalid", "bad event");
    CU_ASSERT_EQUAL(ev_emit_keep(rec, &OBJ, EV_NORMAL, "R", "m"), -EINVAL);
    fakeapi_status(api, 404, "NotFound", "namespaces \"ns\" not found");
    CU_ASSERT_EQUAL(ev_emit_keep(rec, &OBJ, EV_NORMAL, "R2", "m"), -ENOENT);
    CU_ASSERT_EQUAL(stats().waiting, 0);
    CU_ASSERT_EQUAL(ev_retry(rec, 5 * SEC), 0);
    CU_ASSERT_TRUE(ev_retryable(-ECONNREFUSED));
    CU_ASSERT_TRUE(ev_retryable(-EPERM));
    CU_ASSERT_FALSE(ev_retryable(-EINVAL));
    CU_ASSERT_FALSE(ev_retryable(0));
    rec_free();
}

/* Another Event went through: the API server takes requests again, so the
 * waiting ones are tried at once rather than after their backoff. */
static void test_success_pulls_forward(void)
{
    struct ev_object other = OBJ;
    other.uid = "uid-2";
    rec_new(0);
    fakeapi_reply(api, 500, "{}");
    ev_emit_keep(rec, &OBJ, EV_NORMAL, "A", "m");
    int64_t next = ev_retry(rec, 50 * SEC);
    CU_ASSERT_EQUAL(next, 52 * SEC);
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_emit_keep(rec, &other, EV_NORMAL, "B", "m"), 0);
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_retry(rec, 50 * SEC + 10), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 3);
    CU_ASSERT_EQUAL(stats().late, 1);
    rec_free();
}

/* An object gone: its entries are forgotten, another object's kept. Its Event
 * occurring again (a new process, or the name reused) is POSTed under the same
 * deterministic name, and on 409 its count is read and PATCHed: counted on, not
 * lost or duplicated. */
static void test_forget_object(void)
{
    struct ev_object other = OBJ;
    other.name = "k";
    other.uid = "uid-2";
    rec_new(0);
    fakeapi_reply(api, 201, "{}");
    fakeapi_reply(api, 201, "{}");
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "A", "m"), 0);
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_WARNING, "B", "m"), 0);
    CU_ASSERT_EQUAL(ev_emit(rec, &other, EV_NORMAL, "A", "m"), 0);
    CU_ASSERT_EQUAL(ev_remembered(rec), 3);
    CU_ASSERT_EQUAL(ev_forget(rec, "ns", "j"), 2);
    CU_ASSERT_EQUAL(ev_remembered(rec), 1);
    CU_ASSERT_EQUAL(ev_forget(rec, "ns", "j"), 0);
    CU_ASSERT_EQUAL(ev_forget(rec, "other", "k"), 0); /* same name, other namespace */
    CU_ASSERT_EQUAL(ev_remembered(rec), 1);
    /* The kept one still aggregates: one PATCH, count 2. */
    fakeapi_reply(api, 200, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &other, EV_NORMAL, "A", "m"), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_line(api, 3), "PATCH /api/v1/namespaces/ns/events/k."));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 3), "\"count\":2"));
    /* The forgotten one again: POST (409), GET, PATCH of the server's count + 1. */
    fakeapi_status(api, 409, "AlreadyExists", "the event already exists");
    fakeapi_reply(api, 200, "{\"count\":1}");
    fakeapi_reply(api, 200, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "A", "m"), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 7);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 4), EVENTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_line(api, 5), "GET /api/v1/namespaces/ns/events/j."));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_line(api, 6), "PATCH /api/v1/namespaces/ns/events/j."));
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_body(api, 6), "\"count\":2"));
    CU_ASSERT_EQUAL(ev_remembered(rec), 2);
    CU_ASSERT_EQUAL(ev_forget(NULL, "ns", "j"), 0);
    CU_ASSERT_EQUAL(ev_forget(rec, NULL, "j"), 0);
    rec_free();
}

/* Entries not used for the window are forgotten, least recently used first;
 * one used again since is kept. */
static void test_expire(void)
{
    rec_new(0);
    fakeapi_reply(api, 201, "{}");
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "A", "m"), 0);
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "B", "m"), 0);
    int64_t t1 = util_mono_ms(); /* A and B used by now */
    CU_ASSERT_EQUAL(ev_expire(rec, t1, EV_AGGREGATE_WINDOW_MS), 0);
    CU_ASSERT_EQUAL(ev_expire(rec, t1 + EV_AGGREGATE_WINDOW_MS - 1000, EV_AGGREGATE_WINDOW_MS), 0);
    CU_ASSERT_EQUAL(ev_remembered(rec), 2);
    while (util_mono_ms() <= t1 + 2)
        ; /* a few ms: A's next use is later than t1 */
    fakeapi_reply(api, 200, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "A", "m"), 0); /* a PATCH */
    int64_t t2 = util_mono_ms();
    CU_ASSERT_EQUAL(ev_expire(rec, t1 + EV_AGGREGATE_WINDOW_MS, EV_AGGREGATE_WINDOW_MS), 1);
    CU_ASSERT_EQUAL(ev_remembered(rec), 1);
    CU_ASSERT_EQUAL(ev_expire(rec, t2 + EV_AGGREGATE_WINDOW_MS, EV_AGGREGATE_WINDOW_MS), 1);
    CU_ASSERT_EQUAL(ev_remembered(rec), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(fakeapi_line(api, 2), "PATCH /api/v1/namespaces/ns/events/j."));
    rec_free();
}

/* ev_expire_due, a loop's call at every turn: it expires what is quiet for the
 * window, and looks again only EV_EXPIRE_EVERY_MS later. */
static void test_expire_due(void)
{
    rec_new(0);
    fakeapi_reply(api, 201, "{}");
    fakeapi_reply(api, 201, "{}");
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "A", "m"), 0);
    int64_t late = util_mono_ms() + EV_AGGREGATE_WINDOW_MS + 1;
    ev_expire_due(rec, late);
    CU_ASSERT_EQUAL(ev_remembered(rec), 0);
    CU_ASSERT_EQUAL(ev_emit(rec, &OBJ, EV_NORMAL, "B", "m"), 0);
    int64_t quiet = util_mono_ms() + EV_AGGREGATE_WINDOW_MS + 1;
    ev_expire_due(rec, quiet); /* B is quiet by then, but the last look was just now */
    CU_ASSERT_EQUAL(ev_remembered(rec), 1);
    ev_expire_due(rec, late + EV_EXPIRE_EVERY_MS);
    CU_ASSERT_EQUAL(ev_remembered(rec), 0);
    rec_free();
}

static int suite_init(void)
{
    return fakeapi_start(&api);
}

static int suite_clean(void)
{
    fakeapi_stop(api);
    return 0;
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"kept for as long as the object exists", test_kept_while_exists},
        {"dropped when the object is gone", test_dropped_when_gone},
        {"a bounded queue", test_bounded},
        {"refusals that will not pass are not kept", test_not_transient},
        {"a success elsewhere tries the waiting ones at once", test_success_pulls_forward},
        {"an object gone: its entries forgotten, counted on after", test_forget_object},
        {"entries quiet for the aggregation window expire", test_expire},
        {"expiry at most once a minute from a loop", test_expire_due},
        {NULL, NULL},
    };
    return unit_run("runtime_events", suite_init, suite_clean, tests);
}

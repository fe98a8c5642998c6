/* Unit tests of leader election's pure decisions (roles/elector/lease.h) with a
 * fake monotonic clock: create, wait, take over an expired or released Lease,
 * renew, 409, release, the renew deadline (fencing before any takeover), and the
 * records written. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "roles/elector/lease.h"

/* client-go's defaults. */
static const struct lease_timing T = {
    .lt_duration_ms = 15000, .lt_deadline_ms = 10000, .lt_retry_ms = 2000};

static struct lease_rec rec(const char *holder, const char *rv, int64_t dur_s, int64_t trans)
{
    struct lease_rec r;
    memset(&r, 0, sizeof(r));
    r.lr_exists = true;
    snprintf(r.lr_holder, sizeof(r.lr_holder), "%s", holder);
    snprintf(r.lr_rv, sizeof(r.lr_rv), "%s", rv);
    snprintf(r.lr_acquire, sizeof(r.lr_acquire), "2026-01-01T00:00:00.000000Z");
    r.lr_duration_s = dur_s;
    r.lr_transitions = trans;
    return r;
}

/* The record the server would store from what we built, with a new rv. */
static struct lease_rec stored(struct json_object *body, const char *rv)
{
    struct lease_rec r;
    CU_ASSERT_FATAL(body != NULL);
    jx_set_str(body, "metadata.resourceVersion", rv);
    CU_ASSERT_FATAL(lease_parse(body, &r) == 0);
    json_object_put(body);
    return r;
}

static void test_create_when_missing(void)
{
    struct lease_state s;
    struct lease_rec none = {.lr_exists = false};
    lease_init(&s, "a", T);
    CU_ASSERT_EQUAL(lease_observe(&s, &none, 1000), LEASE_ACT_CREATE);
    struct json_object *b = lease_build(&s, "ns", "lease", 1700000000000);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_PTR_NULL(jx_get(b, "metadata.resourceVersion")); /* a create */
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.holderIdentity"), "a");
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseDurationSeconds", 0), 15);
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseTransitions", -1), 0);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.renewTime"), "2023-11-14T22:13:20.000000Z");
    CU_ASSERT_STRING_EQUAL(jx_str(b, "metadata.namespace"), "ns");
    struct lease_rec w = stored(b, "10");
    CU_ASSERT_FALSE(s.ls_leader);
    lease_write_ok(&s, &w, 1000, 1050);
    CU_ASSERT_TRUE(s.ls_leader);
    CU_ASSERT_EQUAL(s.ls_fence_ms, 11000); /* sent + renew deadline */
    CU_ASSERT_EQUAL(lease_write_left(&s, 2000), 9000);
    CU_ASSERT_STRING_EQUAL(lease_holder(&s), "a");
}

/* Another holder's record is valid for its duration from when WE saw it change,
 * whatever its renewTime says; then it may be taken over. */
static void test_wait_then_take_over(void)
{
    struct lease_state s;
    lease_init(&s, "b", T);
    struct lease_rec a1 = rec("a", "5", 15, 3);
    CU_ASSERT_EQUAL(lease_observe(&s, &a1, 100000), LEASE_ACT_WAIT);
    CU_ASSERT_STRING_EQUAL(lease_holder(&s), "a");
    /* a renews: a new rv restarts the validity at our observation. */
    struct lease_rec a2 = rec("a", "6", 15, 3);
    CU_ASSERT_EQUAL(lease_observe(&s, &a2, 110000), LEASE_ACT_WAIT);
    CU_ASSERT_EQUAL(lease_observe(&s, &a2, 124999), LEASE_ACT_WAIT);
    /* The same record again does not: expired 15 s after 110000. */
    CU_ASSERT_EQUAL(lease_observe(&s, &a2, 125000), LEASE_ACT_UPDATE);
    struct json_object *b = lease_build(&s, "ns", "lease", 1700000000000);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "metadata.resourceVersion"), "6"); /* 409 if a renewed */
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.holderIdentity"), "b");
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseTransitions", -1), 4);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.acquireTime"), "2023-11-14T22:13:20.000000Z");
    json_object_put(b);
}

/* The holder's own leaseDurationSeconds counts, not ours (client-go). */
static void test_holder_duration(void)
{
    struct lease_state s;
    lease_init(&s, "b", T);
    struct lease_rec a = rec("a", "7", 40, 0);
    CU_ASSERT_EQUAL(lease_observe(&s, &a, 0), LEASE_ACT_WAIT);
    CU_ASSERT_EQUAL(lease_observe(&s, &a, 39999), LEASE_ACT_WAIT);
    CU_ASSERT_EQUAL(lease_expires_at(&s), 40000);
    CU_ASSERT_EQUAL(lease_observe(&s, &a, 40000), LEASE_ACT_UPDATE);
}

/* A released Lease (empty holder) is taken at once. */
static void test_released_taken_at_once(void)
{
    struct lease_state s;
    lease_init(&s, "b", T);
    struct lease_rec a = rec("a", "8", 15, 2);
    CU_ASSERT_EQUAL(lease_observe(&s, &a, 0), LEASE_ACT_WAIT);
    struct lease_rec gone = rec("", "9", 1, 2);
    CU_ASSERT_EQUAL(lease_observe(&s, &gone, 2000), LEASE_ACT_UPDATE);
    CU_ASSERT_EQUAL(lease_expires_at(&s), 0);
    CU_ASSERT_STRING_EQUAL(lease_holder(&s), "");
}

/* A renewal keeps acquireTime and the transition count; a 409 ends leadership. */
static void test_renew_and_conflict(void)
{
    struct lease_state s;
    lease_init(&s, "a", T);
    struct lease_rec mine = rec("a", "20", 15, 5);
    CU_ASSERT_EQUAL(lease_observe(&s, &mine, 0), LEASE_ACT_UPDATE); /* ours: renew */
    struct json_object *b = lease_build(&s, "ns", "lease", 1700000000000);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseTransitions", -1), 5);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.acquireTime"), "2026-01-01T00:00:00.000000Z");
    struct lease_rec w = stored(b, "21");
    lease_write_ok(&s, &w, 100, 120);
    CU_ASSERT_TRUE(s.ls_leader);
    b = lease_build(&s, "ns", "lease", 1700000002000);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "metadata.resourceVersion"), "21");
    json_object_put(b);
    lease_write_conflict(&s);
    CU_ASSERT_FALSE(s.ls_leader);
    CU_ASSERT_EQUAL(lease_write_left(&s, 200), 0);
    /* Read again: another holder now. */
    struct lease_rec other = rec("c", "22", 15, 6);
    CU_ASSERT_EQUAL(lease_observe(&s, &other, 300), LEASE_ACT_WAIT);
}

/* A leader whose record names someone else (seen on a GET) no longer leads. */
static void test_observe_loss(void)
{
    struct lease_state s;
    lease_init(&s, "a", T);
    struct lease_rec none = {.lr_exists = false};
    lease_observe(&s, &none, 0);
    struct lease_rec w = rec("a", "1", 15, 0);
    lease_write_ok(&s, &w, 0, 10);
    struct lease_rec other = rec("c", "2", 15, 1);
    CU_ASSERT_EQUAL(lease_observe(&s, &other, 20), LEASE_ACT_WAIT);
    CU_ASSERT_FALSE(s.ls_leader);
}

/* Fencing: a leader that cannot renew stops writing before any other replica may
 * take over, even one that saw the renewal the instant it was sent. */
static void test_fence_before_takeover(void)
{
    struct lease_state a, b;
    lease_init(&a, "a", T);
    lease_init(&b, "b", T);
    struct lease_rec none = {.lr_exists = false};
    lease_observe(&a, &none, 0);
    struct lease_rec w = rec("a", "1", 15, 0);
    int64_t sent = 1000;
    lease_write_ok(&a, &w, sent, 1200);
    /* b reads the new record as early as possible: when a sent it. */
    CU_ASSERT_EQUAL(lease_observe(&b, &w, sent), LEASE_ACT_WAIT);
    int64_t takeover = -1, fence = -1;
    for (int64_t t = sent; t <= sent + 20000 && (takeover < 0 || fence < 0); t += 100) {
        if (fence < 0 && lease_check_fence(&a, t))
            fence = t;
        if (takeover < 0 && lease_observe(&b, &w, t) == LEASE_ACT_UPDATE)
            takeover = t;
    }
    CU_ASSERT_EQUAL(fence, sent + 10000);
    CU_ASSERT_EQUAL(takeover, sent + 15000);
    CU_ASSERT_TRUE(fence < takeover);
    CU_ASSERT_FALSE(a.ls_leader);
    CU_ASSERT_FALSE(lease_check_fence(&a, sent + 30000)); /* reported once */
    /* A renewal in time moves the fence. */
    lease_init(&a, "a", T);
    lease_observe(&a, &none, 0);
    lease_write_ok(&a, &w, 1000, 1100);
    struct lease_rec w2 = rec("a", "2", 15, 0);
    lease_write_ok(&a, &w2, 3000, 3100);
    CU_ASSERT_FALSE(lease_check_fence(&a, 11000));
    CU_ASSERT_TRUE(lease_check_fence(&a, 13000));
}

static void test_release(void)
{
    struct lease_state s;
    lease_init(&s, "a", T);
    struct lease_rec none = {.lr_exists = false};
    lease_observe(&s, &none, 0);
    struct lease_rec w = rec("a", "30", 15, 4);
    lease_write_ok(&s, &w, 0, 10);
    struct json_object *b = lease_build_release(&s, "ns", "lease", 1700000000000);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "spec.holderIdentity"), "");
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseDurationSeconds", 0), 1);
    CU_ASSERT_EQUAL(jx_i64_or(b, "spec.leaseTransitions", -1), 4);
    CU_ASSERT_STRING_EQUAL(jx_str(b, "metadata.resourceVersion"), "30");
    struct lease_rec r = stored(b, "31");
    lease_released(&s, &r, 20);
    CU_ASSERT_FALSE(s.ls_leader);
    CU_ASSERT_STRING_EQUAL(lease_holder(&s), "");
}

static void test_parse(void)
{
    struct json_object *o = NULL;
    struct lease_rec r;
    const char *txt = "{\"metadata\":{\"name\":\"l\",\"resourceVersion\":\"42\",\"uid\":\"u-1\"},"
                      "\"spec\":{\"holderIdentity\":\"pod-1\",\"leaseDurationSeconds\":15,"
                      "\"leaseTransitions\":3,\"acquireTime\":\"2026-01-01T00:00:00.000000Z\"}}";
    CU_ASSERT_FATAL(jx_parse(txt, strlen(txt), &o, NULL, 0) == 0);
    CU_ASSERT_EQUAL(lease_parse(o, &r), 0);
    CU_ASSERT_TRUE(r.lr_exists);
    CU_ASSERT_STRING_EQUAL(r.lr_holder, "pod-1");
    CU_ASSERT_STRING_EQUAL(r.lr_rv, "42");
    CU_ASSERT_STRING_EQUAL(r.lr_uid, "u-1");
    CU_ASSERT_EQUAL(r.lr_duration_s, 15);
    CU_ASSERT_EQUAL(r.lr_transitions, 3);
    json_object_put(o);
    /* A spec-less Lease (created by hand) has no holder; no rv is malformed. */
    txt = "{\"metadata\":{\"resourceVersion\":\"1\"}}";
    CU_ASSERT_FATAL(jx_parse(txt, strlen(txt), &o, NULL, 0) == 0);
    CU_ASSERT_EQUAL(lease_parse(o, &r), 0);
    CU_ASSERT_STRING_EQUAL(r.lr_holder, "");
    json_object_put(o);
    txt = "{\"metadata\":{}}";
    CU_ASSERT_FATAL(jx_parse(txt, strlen(txt), &o, NULL, 0) == 0);
    CU_ASSERT_EQUAL(lease_parse(o, &r), -EINVAL);
    json_object_put(o);
    CU_ASSERT_STRING_EQUAL(lease_act_str(LEASE_ACT_WAIT), "wait");
}

int main(void)
{
    CU_pSuite s;
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("elector_lease", NULL, NULL);
    CU_add_test(s, "no Lease: create it", test_create_when_missing);
    CU_add_test(s, "valid holder: wait; expired: take over", test_wait_then_take_over);
    CU_add_test(s, "the holder's duration counts", test_holder_duration);
    CU_add_test(s, "released: taken at once", test_released_taken_at_once);
    CU_add_test(s, "renew keeps acquireTime; 409 loses", test_renew_and_conflict);
    CU_add_test(s, "another holder seen: not leading", test_observe_loss);
    CU_add_test(s, "renew deadline fences before any takeover", test_fence_before_takeover);
    CU_add_test(s, "release", test_release);
    CU_add_test(s, "parse", test_parse);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    int err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}

/* Unit tests of the scheduler's resync timing (roles/scheduler/sync.c,
 * sched_resync_*): a resync asked for after a lost hint runs at once (at most one
 * per SCHED_RESYNC_MIN_MS), not at the next periodic resync; "not synced yet" is
 * asked again shortly; failures back off by doubling; the periodic one still
 * comes. The bug these guard: one timer for both, so that a gap seen after a
 * successful resync waited OMJOB_RESYNC_SECONDS (300 s) and the CronOMJobs whose
 * hints were lost got no first pass until then. */
#include <errno.h>
#include <stdint.h>

#include <CUnit/Basic.h>

#include "lib/common/log.h"
#include "roles/scheduler/internal.h"

#define PERIOD_MS 300000

static void test_first(void)
{
    struct sched_resync r;
    sched_resync_init(&r);
    CU_ASSERT(sched_resync_due(&r, 0));
    CU_ASSERT(sched_resync_due(&r, 12345));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, 12345), 0);
}

/* The regression: a gap just after a successful resync. */
static void test_gap_after_success(void)
{
    struct sched_resync r;
    int64_t t = 1000000;
    sched_resync_init(&r);
    sched_resync_done(&r, t, 0, PERIOD_MS);
    CU_ASSERT(!sched_resync_due(&r, t + 10));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t + 10), PERIOD_MS - 10);
    /* A gap seen 5 s later: due now, not in 295 s. */
    sched_resync_ask(&r);
    CU_ASSERT(sched_resync_due(&r, t + 5000));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t + 5000), 0);
    sched_resync_done(&r, t + 5000, 0, PERIOD_MS);
    CU_ASSERT(!r.sr_needed);
    /* Another gap at once: held to the floor, then due. */
    sched_resync_ask(&r);
    CU_ASSERT(!sched_resync_due(&r, t + 5000 + SCHED_RESYNC_MIN_MS - 1));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t + 5100), SCHED_RESYNC_MIN_MS - 100);
    CU_ASSERT(sched_resync_due(&r, t + 5000 + SCHED_RESYNC_MIN_MS));
}

static void test_periodic(void)
{
    struct sched_resync r;
    int64_t t = 50;
    sched_resync_init(&r);
    sched_resync_done(&r, t, 0, PERIOD_MS);
    CU_ASSERT(!sched_resync_due(&r, t + PERIOD_MS - 1));
    CU_ASSERT(sched_resync_due(&r, t + PERIOD_MS));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t + PERIOD_MS + 7), 0);
}

static void test_unsynced(void)
{
    struct sched_resync r;
    sched_resync_init(&r);
    sched_resync_done(&r, 100, -EAGAIN, PERIOD_MS);
    CU_ASSERT(r.sr_needed);
    CU_ASSERT_EQUAL(r.sr_failures, 0);
    CU_ASSERT(!sched_resync_due(&r, 100 + SCHED_RESYNC_UNSYNCED_MS - 1));
    CU_ASSERT(sched_resync_due(&r, 100 + SCHED_RESYNC_UNSYNCED_MS));
}

/* Failures double from SCHED_RESYNC_FIRST_MS to SCHED_RESYNC_MAX_MS, one step
 * each; the periodic time does not jump the backoff; a success resets them. */
static void test_backoff(void)
{
    struct sched_resync r;
    int64_t t = 0, want = SCHED_RESYNC_FIRST_MS;
    sched_resync_init(&r);
    for (int i = 1; i <= 12; i++) {
        sched_resync_done(&r, t, -EPROTO, PERIOD_MS);
        CU_ASSERT_EQUAL(r.sr_failures, i);
        CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t), want);
        CU_ASSERT(!sched_resync_due(&r, t + want - 1));
        t += want;
        CU_ASSERT(sched_resync_due(&r, t));
        want = want * 2 < SCHED_RESYNC_MAX_MS ? want * 2 : SCHED_RESYNC_MAX_MS;
    }
    sched_resync_done(&r, t, 0, PERIOD_MS);
    CU_ASSERT_EQUAL(r.sr_failures, 0);
    sched_resync_ask(&r);
    t += SCHED_RESYNC_MIN_MS;
    sched_resync_done(&r, t, -EPROTO, PERIOD_MS);
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&r, t), SCHED_RESYNC_FIRST_MS);
    /* Past the periodic time, still held by the backoff. */
    struct sched_resync p = r;
    p.sr_periodic_at = t - 1;
    CU_ASSERT(!sched_resync_due(&p, t + 1));
    CU_ASSERT_EQUAL(sched_resync_wait_ms(&p, t), SCHED_RESYNC_FIRST_MS);
}

int main(void)
{
    CU_pSuite s;
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("scheduler_resync", NULL, NULL);
    CU_add_test(s, "needed from the start", test_first);
    CU_add_test(s, "a gap after a resync: at once, then at the floor", test_gap_after_success);
    CU_add_test(s, "periodic", test_periodic);
    CU_add_test(s, "watcher not synced: again shortly", test_unsynced);
    CU_add_test(s, "failures back off by doubling", test_backoff);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    int err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}

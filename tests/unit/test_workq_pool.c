/* Unit tests of lib/workq's worker threads (lib/workq/pool.c): bad arguments are
 * refused; work runs on the workers, several at once but never more than the
 * workers, each item taken exactly once, done after run with the lock held (TSan
 * sees the counts done writes read under wpool_lock); a
 * sleeping worker comes back by itself after the wait take() gave, and at once
 * when woken; stop lets the work running end (run and done) and takes no more.
 * Run under TSan (threads). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "support/unit.h"

#include "lib/workq/pool.h"

#define NITEMS 24

/* The caller's state, under the pool's lock (but the atomics). */
static struct {
    struct wpool *p;
    int queue[NITEMS];
    int nqueue, next;
    int cur[WPOOL_MAX_WORKERS]; /* each worker's item */
    int taken[NITEMS], done[NITEMS];
    int64_t due_at; /* the item 0 is taken only from then (ms, monotonic) */
    int64_t wait_ms;
    int takes;
    atomic_int running, max_running, ran[NITEMS];
    int run_ms;
} t;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool take(void *arg, unsigned w, int64_t *wait_ms)
{
    t.takes++;
    if (t.next < t.nqueue && (t.queue[t.next] != 0 || mono_ms() >= t.due_at)) {
        t.cur[w] = t.queue[t.next++];
        t.taken[t.cur[w]]++;
        return true;
    }
    *wait_ms = t.wait_ms;
    return false;
}

static void run(void *arg, unsigned w)
{
    int now = atomic_fetch_add(&t.running, 1) + 1;
    int m = atomic_load(&t.max_running);
    while (now > m && !atomic_compare_exchange_weak(&t.max_running, &m, now)) {
    }
    sleep_ms(t.run_ms);
    atomic_fetch_add(&t.ran[t.cur[w]], 1);
    atomic_fetch_sub(&t.running, 1);
}

static void done(void *arg, unsigned w)
{
    t.done[t.cur[w]]++; /* locked: ndone reads it under wpool_lock (TSan) */
}

static const struct wpool_ops ops = {.take = take, .run = run, .done = done};

static void reset(int64_t wait_ms, int run_ms)
{
    memset(&t, 0, sizeof(t));
    t.wait_ms = wait_ms;
    t.run_ms = run_ms;
}

static void queue(int n)
{
    wpool_lock(t.p);
    for (int i = 0; i < n; i++, t.nqueue++)
        t.queue[t.nqueue] = t.nqueue;
    wpool_unlock(t.p, 2);
}

static int ndone(void)
{
    wpool_lock(t.p);
    int n = 0;
    for (int i = 0; i < NITEMS; i++)
        n += t.done[i];
    wpool_unlock(t.p, 0);
    return n;
}

static bool wait_done(int n, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        if (ndone() >= n)
            return true;
        sleep_ms(5);
    }
    return ndone() >= n;
}

static void test_bad_args(void)
{
    struct wpool *p = NULL;
    struct wpool_ops no_run = {.take = take};
    CU_ASSERT_EQUAL(wpool_start(0, 0, &ops, &p), -EINVAL);
    CU_ASSERT_EQUAL(wpool_start(WPOOL_MAX_WORKERS + 1, 0, &ops, &p), -EINVAL);
    CU_ASSERT_EQUAL(wpool_start(2, 0, NULL, &p), -EINVAL);
    CU_ASSERT_EQUAL(wpool_start(2, 0, &no_run, &p), -EINVAL);
    CU_ASSERT_PTR_NULL(p);
    wpool_stop(NULL); /* a no-op */
}

static void test_runs_each_once_in_parallel(void)
{
    reset(-1, 20);
    CU_ASSERT_EQUAL_FATAL(wpool_start(4, 256 * 1024, &ops, &t.p), 0);
    CU_ASSERT_EQUAL(wpool_workers(t.p), 4);
    queue(NITEMS);
    CU_ASSERT_FATAL(wait_done(NITEMS, 10000));
    wpool_stop(t.p);
    for (int i = 0; i < NITEMS; i++) {
        CU_ASSERT_EQUAL(t.taken[i], 1);
        CU_ASSERT_EQUAL(atomic_load(&t.ran[i]), 1);
        CU_ASSERT_EQUAL(t.done[i], 1);
    }
    CU_ASSERT(atomic_load(&t.max_running) <= 4);
    CU_ASSERT(atomic_load(&t.max_running) >= 2); /* 24 x 20 ms on 4 workers */
}

static void test_timed_wait(void)
{
    /* Item 0 is due 150 ms from now; take() says to look again in 20 ms; no
     * wake comes: the workers come back by themselves and take it when due. */
    reset(20, 0);
    CU_ASSERT_EQUAL_FATAL(wpool_start(2, 0, &ops, &t.p), 0);
    int64_t t0 = mono_ms();
    wpool_lock(t.p);
    t.due_at = t0 + 150;
    t.queue[t.nqueue++] = 0;
    wpool_unlock(t.p, 0); /* no wake */
    CU_ASSERT_FATAL(wait_done(1, 5000));
    int64_t took = mono_ms() - t0;
    wpool_lock(t.p);
    int takes = t.takes;
    wpool_unlock(t.p, 0);
    wpool_stop(t.p);
    CU_ASSERT(took >= 150);
    CU_ASSERT(takes >= 3); /* looked again on their own before it was due */
}

static void test_wake(void)
{
    /* Workers sleeping without a deadline take queued work when woken. */
    reset(-1, 0);
    CU_ASSERT_EQUAL_FATAL(wpool_start(3, 0, &ops, &t.p), 0);
    sleep_ms(30); /* asleep */
    wpool_lock(t.p);
    t.queue[t.nqueue++] = 1;
    wpool_unlock(t.p, 1);
    CU_ASSERT(wait_done(1, 5000));
    wpool_lock(t.p);
    t.queue[t.nqueue++] = 2;
    wpool_unlock(t.p, 0);
    wpool_wake(t.p);
    CU_ASSERT(wait_done(2, 5000));
    wpool_stop(t.p);
}

static void test_stop_ends_running_work(void)
{
    /* Two workers, each in a 200 ms run; stop waits for both (run and done),
     * and the items still queued are not taken. */
    reset(-1, 200);
    CU_ASSERT_EQUAL_FATAL(wpool_start(2, 0, &ops, &t.p), 0);
    queue(6);
    for (int i = 0; i < 200 && atomic_load(&t.running) < 2; i++)
        sleep_ms(5);
    CU_ASSERT_EQUAL(atomic_load(&t.running), 2);
    wpool_stop(t.p);
    int ran = 0, dn = 0, tk = 0;
    for (int i = 0; i < NITEMS; i++) {
        ran += atomic_load(&t.ran[i]);
        dn += t.done[i];
        tk += t.taken[i];
    }
    CU_ASSERT_EQUAL(ran, tk);
    CU_ASSERT_EQUAL(dn, tk);
    CU_ASSERT(tk >= 2 && tk < 6);
    CU_ASSERT_EQUAL(atomic_load(&t.running), 0);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"bad arguments", test_bad_args},
        {"each item once, several at once, no more than the workers",
         test_runs_each_once_in_parallel},
        {"a sleeping worker looks again after take's wait", test_timed_wait},
        {"woken workers take queued work", test_wake},
        {"stop ends the work running, takes no more", test_stop_ends_running_work},
        {NULL, NULL},
    };
    return unit_run("workq_pool", NULL, NULL, tests);
}

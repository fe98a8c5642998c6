/* Unit tests for lib/workq: the deduplicating FIFO, re-adds while processing, the
 * timer heap (order, lazy deletion, earlier and later times), the lifetime of a key
 * released with stale heap entries (the heap-use-after-free of commit 390ee2d),
 * growth of the table, the metric hooks, and a randomized comparison with a
 * reference model written as plainly as possible. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/workq/workq.h"

/* ---- a queue with a hand-driven clock, counted hooks and a checked payload ---- */

#define MAGIC 0x5eedf00du
#define MAX_IDS 20000

struct payload {
    unsigned magic;
    int id;
    char *owned; /* freed by fini: a leak shows under valgrind when fini is not called */
};

struct fixture {
    int64_t now;
    int added;
    size_t depth;
    int depth_calls;
    int64_t waited_last;
    int waited_calls;
    int fini_calls;
    int fini_by_id[MAX_IDS];
};

static struct fixture fx;

static int64_t fake_clock(void *arg)
{
    return ((struct fixture *)arg)->now;
}

static void on_added(void *arg)
{
    ((struct fixture *)arg)->added++;
}

static void on_depth(void *arg, size_t pending)
{
    struct fixture *f = arg;
    f->depth = pending;
    f->depth_calls++;
}

static void on_waited(void *arg, int64_t ms)
{
    struct fixture *f = arg;
    f->waited_last = ms;
    f->waited_calls++;
}

static void on_fini(void *data)
{
    struct payload *p = data;
    CU_ASSERT_EQUAL(p->magic, MAGIC);
    if (p->id >= 0 && p->id < MAX_IDS)
        fx.fini_by_id[p->id]++;
    fx.fini_calls++;
    free(p->owned);
    p->magic = 0;
}

static struct workq *new_queue(size_t buckets)
{
    memset(&fx, 0, sizeof(fx));
    fx.now = 1000;
    struct workq_opts o = {.data_size = sizeof(struct payload),
                           .fini = on_fini,
                           .buckets = buckets,
                           .clock = fake_clock,
                           .clock_arg = &fx,
                           .hooks = {on_added, on_depth, on_waited, &fx}};
    struct workq *q = NULL;
    CU_ASSERT_EQUAL_FATAL(workq_new(&o, &q), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    return q;
}

/* The key named name, created with payload id when absent. */
static struct workq_key *key(struct workq *q, const char *name, int id)
{
    struct workq_key *k = NULL;
    int rc = workq_insert(q, name, &k);
    CU_ASSERT_FATAL(rc == 0 || rc == 1);
    struct payload *p = workq_key_data(k);
    if (rc == 1) {
        CU_ASSERT_EQUAL(p->magic, 0);
        CU_ASSERT_PTR_NULL(p->owned);
        p->magic = MAGIC;
        p->id = id;
        p->owned = strdup(name);
    }
    CU_ASSERT_EQUAL(p->magic, MAGIC);
    return k;
}

static const char *got(struct workq *q)
{
    struct workq_key *k = workq_get(q);
    return k != NULL ? workq_key_str(k) : NULL;
}

/* ---- the FIFO ---- */

static void test_new_free(void)
{
    struct workq *q = NULL;
    CU_ASSERT_EQUAL(workq_new(NULL, &q), -EINVAL);
    CU_ASSERT_PTR_NULL(q);
    workq_free(NULL);
    struct workq_opts o = {0}; /* no payload, the real clock, no hooks */
    CU_ASSERT_EQUAL_FATAL(workq_new(&o, &q), 0);
    struct workq_key *k = NULL;
    CU_ASSERT_EQUAL(workq_insert(q, "ns/a", &k), 1);
    CU_ASSERT_PTR_NULL(workq_key_data(k));
    CU_ASSERT_STRING_EQUAL(workq_key_str(k), "ns/a");
    CU_ASSERT_TRUE(workq_add(q, k));
    CU_ASSERT_EQUAL(workq_add_at(q, k, 1), 0);
    CU_ASSERT_PTR_EQUAL(workq_get(q), k);
    workq_free(q); /* a key processing, timed: all freed */
}

static void test_dedup(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0);
    CU_ASSERT_TRUE(workq_add(q, a));
    fx.now += 5;
    CU_ASSERT_FALSE(workq_add(q, a));
    CU_ASSERT_FALSE(workq_add(q, a));
    CU_ASSERT_EQUAL(workq_len(q), 1);
    CU_ASSERT_EQUAL(fx.added, 1);
    CU_ASSERT_EQUAL(fx.depth, 1);
    /* The wait counts from the first add. */
    fx.now += 5;
    CU_ASSERT_STRING_EQUAL(got(q), "ns/a");
    CU_ASSERT_EQUAL(fx.waited_last, 10);
    CU_ASSERT_PTR_NULL(workq_get(q));
    CU_ASSERT_EQUAL(workq_len(q), 0);
    CU_ASSERT_EQUAL(fx.depth, 0);
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    /* Inserting again finds the same key. */
    struct workq_key *again = NULL;
    CU_ASSERT_EQUAL(workq_insert(q, "ns/a", &again), 0);
    CU_ASSERT_PTR_EQUAL(again, a);
    CU_ASSERT_PTR_EQUAL(workq_find(q, "ns/a"), a);
    CU_ASSERT_PTR_NULL(workq_find(q, "ns/b"));
    CU_ASSERT_EQUAL(workq_nkeys(q), 1);
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_calls, 1);
}

static void test_fifo_order(void)
{
    struct workq *q = new_queue(0);
    const char *names[] = {"ns/c", "ns/a", "ns/b", "x/y", "ns/aa"};
    for (int i = 0; i < 5; i++)
        workq_add(q, key(q, names[i], i));
    workq_add(q, workq_find(q, "ns/a")); /* a duplicate keeps its place */
    workq_add(q, workq_find(q, "ns/c"));
    CU_ASSERT_EQUAL(workq_len(q), 5);
    for (int i = 0; i < 5; i++) {
        struct workq_key *k = workq_get(q);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_STRING_EQUAL(workq_key_str(k), names[i]);
        CU_ASSERT_EQUAL(((struct payload *)workq_key_data(k))->id, i);
        workq_done(q, k);
    }
    CU_ASSERT_PTR_NULL(workq_get(q));
    /* Taken and done, a key queues at the tail again. */
    workq_add(q, workq_find(q, "ns/b"));
    workq_add(q, workq_find(q, "ns/c"));
    CU_ASSERT_STRING_EQUAL(got(q), "ns/b");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/c");
    CU_ASSERT_EQUAL(fx.added, 7);
    workq_free(q);
}

static void test_readd_while_processing(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0), *b = key(q, "ns/b", 1);
    workq_add(q, a);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    /* Added while processing: pending, counted, but not handed out twice at once. */
    CU_ASSERT_TRUE(workq_add(q, a));
    CU_ASSERT_FALSE(workq_add(q, a));
    CU_ASSERT_EQUAL(fx.added, 2);
    CU_ASSERT_EQUAL(fx.depth, 1);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    CU_ASSERT_PTR_NULL(workq_get(q));
    CU_ASSERT_EQUAL(workq_release(q, a), -EBUSY);
    workq_add(q, b);
    CU_ASSERT_EQUAL(workq_len(q), 1);
    /* At done it queues behind what was added meanwhile. */
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_len(q), 2);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    CU_ASSERT_PTR_NULL(workq_get(q));
    /* Done without an add: not queued; done twice: nothing more. */
    workq_done(q, a);
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    CU_ASSERT_EQUAL(workq_release(q, a), 0);
    /* A timer firing during processing counts as an add during processing. */
    workq_add(q, b);
    workq_done(q, b); /* not processing: no-op, b stays queued once */
    CU_ASSERT_EQUAL(workq_len(q), 1);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    CU_ASSERT_EQUAL(workq_add_at(q, b, fx.now), 0);
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    workq_done(q, b);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    workq_free(q);
}

/* A key kept aside by the caller, claimed without being queued: processing
 * until done, an add meanwhile waits for the done; a queued or processing key is
 * not claimed. */
static void test_claim(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0), *b = key(q, "ns/b", 1);
    CU_ASSERT_EQUAL(workq_claim(q, a), 0);
    CU_ASSERT_EQUAL(workq_claim(q, a), -EBUSY); /* processing */
    CU_ASSERT_EQUAL(workq_release(q, a), -EBUSY);
    CU_ASSERT_TRUE(workq_add(q, a)); /* pending, not handed out twice at once */
    CU_ASSERT_PTR_NULL(workq_get(q));
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_claim(q, a), -EBUSY); /* queued: workq_get takes it */
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    workq_done(q, a);
    /* A timed key keeps its timer through a claim. */
    CU_ASSERT_EQUAL(workq_add_at(q, b, fx.now + 10), 0);
    CU_ASSERT_EQUAL(workq_claim(q, b), 0);
    fx.now += 10;
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_PTR_NULL(workq_get(q)); /* fired while processing: queued at done */
    workq_done(q, b);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    workq_done(q, b);
    CU_ASSERT_EQUAL(workq_claim(q, b), 0);
    workq_done(q, b);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    CU_ASSERT_EQUAL(workq_release(q, b), 0);
    workq_free(q);
}

/* ---- timers ---- */

static void test_timers_in_order(void)
{
    struct workq *q = new_queue(0);
    int64_t t0 = fx.now;
    const int at[] = {70, 10, 40, 30, 60, 20, 50, 0};
    char name[16];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "ns/t%d", at[i]);
        CU_ASSERT_EQUAL(workq_add_at(q, key(q, name, i), t0 + at[i]), 0);
    }
    CU_ASSERT_EQUAL(workq_nheap(q), 8);
    /* Due now (at == now): fires; the next is 10 ms away. */
    CU_ASSERT_EQUAL(workq_fire(q), 10);
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t0");
    fx.now = t0 + 45;
    CU_ASSERT_EQUAL(workq_fire(q), 5);
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t10");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t20");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t30");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t40");
    CU_ASSERT_PTR_NULL(workq_get(q));
    fx.now = t0 + 1000;
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t50");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t60");
    CU_ASSERT_STRING_EQUAL(got(q), "ns/t70");
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    int64_t when = 0;
    CU_ASSERT_FALSE(workq_key_timer(workq_find(q, "ns/t70"), &when));
    /* A time long past fires at the next workq_fire, not inside workq_add_at. */
    struct workq_key *p = key(q, "ns/past", 99);
    CU_ASSERT_EQUAL(workq_add_at(q, p, 1), 0);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_EQUAL(workq_len(q), 1);
    workq_free(q);
}

static void test_timer_on_queued_key(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0);
    workq_add(q, a);
    workq_add_at(q, a, fx.now);
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_EQUAL(workq_len(q), 1); /* already queued: one entry */
    CU_ASSERT_EQUAL(fx.added, 1);
    CU_ASSERT_EQUAL(workq_release(q, a), -EBUSY);
    workq_free(q);
}

static void test_lazy_deletion(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0), *b = key(q, "ns/b", 1);
    int64_t t0 = fx.now, when = 0;
    workq_add_at(q, a, t0 + 100);
    workq_add_at(q, a, t0 + 50); /* earlier: a new entry, the old one stale */
    workq_add_at(q, b, t0 + 75);
    CU_ASSERT_EQUAL(workq_nheap(q), 3);
    CU_ASSERT_TRUE(workq_key_timer(a, &when));
    CU_ASSERT_EQUAL(when, t0 + 50);
    fx.now = t0 + 60;
    CU_ASSERT_EQUAL(workq_fire(q), 15);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    CU_ASSERT_PTR_NULL(workq_get(q));
    CU_ASSERT_EQUAL(workq_nheap(q), 2); /* b's, and a's stale one behind it */
    CU_ASSERT_FALSE(workq_key_timer(a, &when));
    fx.now = t0 + 80;
    /* b fires; a's stale entry at 100 reaches the top and goes without firing. */
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    CU_ASSERT_PTR_NULL(workq_get(q));
    CU_ASSERT_EQUAL(fx.added, 2);
    workq_free(q);
}

static void test_reschedule(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0);
    int64_t t0 = fx.now, when = 0;
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 100), 0);
    /* Later, or the same time: the earlier stays, no entry added. */
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 200), 0);
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 100), 0);
    CU_ASSERT_EQUAL(workq_nheap(q), 1);
    CU_ASSERT_TRUE(workq_key_timer(a, &when));
    CU_ASSERT_EQUAL(when, t0 + 100);
    CU_ASSERT_EQUAL(workq_fire(q), 100);
    /* Earlier: takes over. */
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 30), 0);
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 20), 0);
    CU_ASSERT_EQUAL(workq_nheap(q), 3);
    CU_ASSERT_EQUAL(workq_fire(q), 20);
    fx.now = t0 + 20;
    CU_ASSERT_EQUAL(workq_fire(q), -1); /* the two stale entries go with it */
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    /* Once fired, a later time is a new timer. */
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 500), 0);
    CU_ASSERT_TRUE(workq_key_timer(a, &when));
    CU_ASSERT_EQUAL(when, t0 + 500);
    CU_ASSERT_EQUAL(workq_fire(q), 480);
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_len(q), 0);
    fx.now = t0 + 500;
    CU_ASSERT_EQUAL(workq_fire(q), -1);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    CU_ASSERT_EQUAL(fx.added, 2);
    workq_free(q);
}

/* The heap-use-after-free of commit 390ee2d: a key is moved earlier, fires, is
 * processed and dropped while its old entry, behind another key's, still points at
 * it. The key must outlive that entry. */
static void test_release_with_stale_entries(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 7), *b = key(q, "ns/b", 8);
    int64_t t0 = fx.now;
    workq_add_at(q, a, t0 + 100);
    workq_add_at(q, a, t0 + 50);
    workq_add_at(q, b, t0 + 75);
    fx.now = t0 + 50;
    workq_fire(q);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    CU_ASSERT_EQUAL(workq_release(q, a), -EBUSY); /* processing */
    workq_done(q, a);
    CU_ASSERT_EQUAL(workq_release(q, a), 1); /* deferred: the stale entry at 100 */
    CU_ASSERT_EQUAL(fx.fini_calls, 0);
    CU_ASSERT_PTR_EQUAL(workq_find(q, "ns/a"), a);
    CU_ASSERT_EQUAL(workq_nkeys(q), 2);
    fx.now = t0 + 80;
    workq_fire(q); /* b fires, then a's stale entry is popped: a is freed */
    CU_ASSERT_EQUAL(fx.fini_by_id[7], 1);
    CU_ASSERT_EQUAL(fx.fini_calls, 1);
    CU_ASSERT_PTR_NULL(workq_find(q, "ns/a"));
    CU_ASSERT_EQUAL(workq_nkeys(q), 1);
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    /* A new key of that name starts afresh. */
    a = key(q, "ns/a", 9);
    CU_ASSERT_EQUAL(((struct payload *)workq_key_data(a))->id, 9);
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_calls, 3);
}

/* A burst: every key's far timer (a deadline) moved earlier, fired, processed and
 * released. Their stale entries must not keep them (payload and all) until the far
 * time: a release that finds most of the heap stale rebuilds it, freeing them. */
static void test_release_compacts_stale(void)
{
    struct workq *q = new_queue(0);
    enum { N = 100 };
    struct workq_key *ks[N];
    char name[32];
    int64_t t0 = fx.now;
    struct workq_key *far = key(q, "ns/far", 0); /* a current timer, kept */
    workq_add_at(q, far, t0 + 100000);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns/k%d", i);
        ks[i] = key(q, name, i + 1 < MAX_IDS ? i + 1 : -1);
        workq_add_at(q, ks[i], t0 + 3600000);
        workq_add_at(q, ks[i], t0 + 10);
    }
    fx.now = t0 + 10;
    workq_fire(q);
    int deferred = 0, freed = 0;
    for (int i = 0; i < N; i++) {
        struct workq_key *k = workq_get(q);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        workq_done(q, k);
        int rc = workq_release(q, k);
        CU_ASSERT(rc == 0 || rc == 1);
        deferred += rc == 1;
        freed += rc == 0;
    }
    /* Long before the stale entries' time, at most the last few wait. */
    CU_ASSERT(freed > 0);
    CU_ASSERT(workq_nkeys(q) < 1 + 32 + 1);
    CU_ASSERT(workq_nheap(q) < 1 + 32 + 1);
    CU_ASSERT_EQUAL(fx.fini_calls, (int)(N + 1 - workq_nkeys(q)));
    /* The current timer survived the rebuilds and still fires. */
    int64_t at = 0;
    CU_ASSERT_TRUE(workq_key_timer(far, &at));
    CU_ASSERT_EQUAL(at, t0 + 100000);
    fx.now = t0 + 3600000;
    workq_fire(q);
    CU_ASSERT_PTR_EQUAL(workq_get(q), far);
    workq_done(q, far);
    CU_ASSERT_EQUAL(workq_nkeys(q), 1);
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_calls, N + 1);
    (void)deferred;
}

/* Keys whose objects are gone with a far timer still set (a running pod's
 * deadline): the timer cancelled, they are released long before it, and the
 * cancelled entries never fire. A key with a current timer is kept. */
static void test_cancel_timer(void)
{
    struct workq *q = new_queue(0);
    enum { N = 100 };
    char name[32];
    int64_t t0 = fx.now;
    struct workq_key *kept = key(q, "ns/kept", 0);
    workq_add_at(q, kept, t0 + 100000);
    CU_ASSERT_FALSE(workq_cancel_timer(q, key(q, "ns/untimed", -1)));
    CU_ASSERT_EQUAL(workq_release(q, workq_find(q, "ns/untimed")), 0);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns/k%d", i);
        struct workq_key *k = key(q, name, i + 1);
        workq_add_at(q, k, t0 + 3600000);
        workq_add(q, k); /* a hint: the pass finds its object gone */
    }
    CU_ASSERT_EQUAL(fx.fini_calls, 1);
    for (int i = 0; i < N; i++) {
        struct workq_key *k = workq_get(q);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        workq_done(q, k);
        CU_ASSERT_EQUAL(workq_release(q, k), -EBUSY); /* its timer */
        CU_ASSERT_TRUE(workq_cancel_timer(q, k));
        int64_t at = 0;
        CU_ASSERT_FALSE(workq_key_timer(k, &at));
        int rc = workq_release(q, k);
        CU_ASSERT(rc == 0 || rc == 1);
    }
    /* Long before the far time, all but the last few stale ones are freed. */
    CU_ASSERT(workq_nkeys(q) < 1 + 32 + 1);
    CU_ASSERT_EQUAL(fx.fini_calls, (int)(N + 2 - workq_nkeys(q)));
    fx.now = t0 + 3600000;
    workq_fire(q);
    CU_ASSERT_PTR_EQUAL(workq_get(q), kept); /* the one current timer fired */
    CU_ASSERT_PTR_NULL(workq_get(q));        /* the cancelled ones did not */
    workq_done(q, kept);
    CU_ASSERT_EQUAL(workq_nkeys(q), 1);
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_calls, N + 2);
}

static void test_release_revived(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 1), *b = key(q, "ns/b", 2);
    int64_t t0 = fx.now;
    workq_add_at(q, a, t0 + 100);
    workq_add_at(q, a, t0 + 10);
    workq_add_at(q, b, t0 + 50);
    fx.now = t0 + 10;
    workq_fire(q);
    workq_done(q, workq_get(q));
    CU_ASSERT_EQUAL(workq_release(q, a), 1);
    /* An add before the stale entry goes keeps the key, payload and all. */
    CU_ASSERT_TRUE(workq_add(q, a));
    fx.now = t0 + 200;
    workq_fire(q);
    CU_ASSERT_EQUAL(workq_nheap(q), 0);
    CU_ASSERT_EQUAL(fx.fini_calls, 0);
    CU_ASSERT_PTR_EQUAL(workq_get(q), a);
    CU_ASSERT_EQUAL(((struct payload *)workq_key_data(a))->id, 1);
    workq_done(q, a);
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    workq_done(q, b);
    /* Released again, and a delayed add cancels it too. */
    workq_add_at(q, a, t0 + 400);
    workq_add_at(q, a, t0 + 300);
    fx.now = t0 + 300;
    workq_fire(q); /* the stale entry at 400 goes at once: nothing behind it */
    workq_done(q, workq_get(q));
    workq_add_at(q, a, t0 + 900);
    workq_add_at(q, a, t0 + 800);
    workq_add_at(q, b, t0 + 850);
    fx.now = t0 + 800;
    workq_fire(q);
    workq_done(q, workq_get(q));
    CU_ASSERT_EQUAL(workq_release(q, a), 1);
    CU_ASSERT_EQUAL(workq_add_at(q, a, t0 + 1000), 0);
    CU_ASSERT_EQUAL(workq_release(q, a), -EBUSY);
    fx.now = t0 + 950;
    workq_fire(q); /* b fires, a's stale 900 goes: a lives on */
    CU_ASSERT_EQUAL(fx.fini_calls, 0);
    CU_ASSERT_PTR_EQUAL(workq_find(q, "ns/a"), a);
    /* Released without heap entries: freed at once. */
    CU_ASSERT_PTR_EQUAL(workq_get(q), b);
    workq_done(q, b);
    CU_ASSERT_EQUAL(workq_release(q, b), 0);
    CU_ASSERT_EQUAL(fx.fini_by_id[2], 1);
    CU_ASSERT_PTR_NULL(workq_find(q, "ns/b"));
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_by_id[1], 1);
}

/* ---- the table ---- */

static void test_growth(void)
{
    enum { N = 5000 };
    struct workq *q = new_queue(1);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns-%d/job-%d", i % 17, i);
        struct workq_key *k = key(q, name, i);
        CU_ASSERT_EQUAL((uintptr_t)workq_key_data(k) % _Alignof(max_align_t), 0);
        if (i % 3 == 0)
            workq_add(q, k);
    }
    CU_ASSERT_EQUAL(workq_nkeys(q), N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns-%d/job-%d", i % 17, i);
        struct workq_key *k = workq_find(q, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_STRING_EQUAL(workq_key_str(k), name);
        CU_ASSERT_EQUAL(((struct payload *)workq_key_data(k))->id, i);
    }
    /* The FIFO survived the rehashes in order. */
    for (int i = 0; i < N; i += 3) {
        struct workq_key *k = workq_get(q);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_EQUAL(((struct payload *)workq_key_data(k))->id, i);
        workq_done(q, k);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof(name), "ns-%d/job-%d", i % 17, i);
        CU_ASSERT_EQUAL(workq_release(q, workq_find(q, name)), 0);
    }
    CU_ASSERT_EQUAL(workq_nkeys(q), N / 2);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "ns-%d/job-%d", i % 17, i);
        CU_ASSERT((workq_find(q, name) == NULL) == (i % 2 == 0));
    }
    workq_free(q);
    CU_ASSERT_EQUAL(fx.fini_calls, N);
}

/* ---- the metric hooks: workqueue_depth, _adds_total, _queue_duration_seconds ---- */

static void test_hooks(void)
{
    struct workq *q = new_queue(0);
    struct workq_key *a = key(q, "ns/a", 0), *b = key(q, "ns/b", 1);
    workq_add(q, a);
    CU_ASSERT_EQUAL(fx.depth, 1);
    workq_add(q, b);
    workq_add(q, a);
    CU_ASSERT_EQUAL(fx.added, 2);
    CU_ASSERT_EQUAL(fx.depth, 2);
    CU_ASSERT_EQUAL(fx.depth_calls, 2); /* not on a duplicate */
    fx.now += 250;
    workq_get(q);
    CU_ASSERT_EQUAL(fx.depth, 1);
    CU_ASSERT_EQUAL(fx.waited_last, 250);
    fx.now += 100;
    workq_get(q);
    CU_ASSERT_EQUAL(fx.depth, 0);
    CU_ASSERT_EQUAL(fx.waited_last, 350);
    CU_ASSERT_EQUAL(fx.waited_calls, 2);
    /* A fired timer is an add; done is not. */
    workq_done(q, a);
    workq_add_at(q, a, fx.now);
    workq_fire(q);
    CU_ASSERT_EQUAL(fx.added, 3);
    CU_ASSERT_EQUAL(fx.depth, 1);
    CU_ASSERT_EQUAL(fx.depth_calls, 5);
    workq_free(q);
}

/* ---- randomized, against a reference model ----
 *
 * The model keeps the FIFO as an array in order and the heap as an unordered
 * list of every entry, current or stale, searched for the smallest time. Times are
 * unique, so the order of firing is defined. */

#define MKEYS 12
#define MENTRIES 4096

struct mkey {
    bool exists, pending, processing, timed, released;
    int64_t timer;
    int id; /* the payload id of its current incarnation */
};

struct mentry {
    int64_t at;
    int key;
};

struct model {
    struct mkey k[MKEYS];
    int fifo[MKEYS * 2], nfifo;
    struct mentry e[MENTRIES];
    int ne;
    int nkeys;
    int freed;          /* fini calls expected */
    bool used[1 << 16]; /* times handed out (the clock starts at 1000) */
};

static char mnames[MKEYS][16];
static int next_id;

static void m_push(struct model *m, int i)
{
    m->fifo[m->nfifo++] = i;
}

static int m_refs(const struct model *m, int i)
{
    int n = 0;
    for (int j = 0; j < m->ne; j++)
        n += m->e[j].key == i;
    return n;
}

static bool m_add(struct model *m, int i)
{
    struct mkey *k = &m->k[i];
    k->released = false;
    if (k->pending)
        return false;
    k->pending = true;
    if (!k->processing)
        m_push(m, i);
    return true;
}

static int m_release(struct model *m, int i)
{
    struct mkey *k = &m->k[i];
    if (k->pending || k->processing || k->timed)
        return -EBUSY;
    if (m_refs(m, i) > 0) {
        k->released = true;
        return 1;
    }
    k->exists = false;
    m->nkeys--;
    m->freed++;
    return 0;
}

static int64_t m_fire(struct model *m, int64_t now)
{
    while (m->ne > 0) {
        int min = 0;
        for (int j = 1; j < m->ne; j++)
            if (m->e[j].at < m->e[min].at)
                min = j;
        struct mentry t = m->e[min];
        struct mkey *k = &m->k[t.key];
        bool cur = k->timed && k->timer == t.at;
        if (cur && t.at > now)
            return t.at - now;
        m->e[min] = m->e[--m->ne];
        if (!cur) {
            if (k->released && m_refs(m, t.key) == 0) {
                k->exists = false;
                k->released = false;
                m->nkeys--;
                m->freed++;
            }
            continue;
        }
        k->timed = false;
        m_add(m, t.key);
    }
    return -1;
}

static void m_add_at(struct model *m, int i, int64_t at)
{
    struct mkey *k = &m->k[i];
    if (k->timed && k->timer <= at)
        return;
    k->released = false;
    k->timed = true;
    k->timer = at;
    m->e[m->ne++] = (struct mentry){at, i};
}

/* A time in (now, now + 200] never used before, or -1 when none is left. */
static int64_t unique_at(struct model *m, int64_t now, unsigned *seed)
{
    for (int tries = 0; tries < 1000; tries++) {
        int64_t at = now + 1 + rand_r(seed) % 200;
        if (at < (int64_t)sizeof(m->used) && !m->used[at]) {
            m->used[at] = true;
            return at;
        }
    }
    return -1;
}

static void check_same(struct workq *q, struct model *m)
{
    CU_ASSERT_EQUAL(workq_nkeys(q), (size_t)m->nkeys);
    CU_ASSERT_EQUAL(workq_len(q), (size_t)m->nfifo);
    CU_ASSERT_EQUAL(workq_nheap(q), (size_t)m->ne);
    CU_ASSERT_EQUAL(fx.fini_calls, m->freed);
    for (int i = 0; i < MKEYS; i++) {
        struct workq_key *k = workq_find(q, mnames[i]);
        CU_ASSERT_EQUAL(k != NULL, m->k[i].exists);
        if (k == NULL || !m->k[i].exists)
            continue;
        CU_ASSERT_EQUAL(((struct payload *)workq_key_data(k))->id, m->k[i].id);
        int64_t at = 0;
        CU_ASSERT_EQUAL(workq_key_timer(k, &at), m->k[i].timed);
        if (m->k[i].timed)
            CU_ASSERT_EQUAL(at, m->k[i].timer);
    }
}

/* The first key processing from i on (circularly), else i. */
static int processing_from(const struct model *m, int i)
{
    for (int n = 0; n < MKEYS; n++)
        if (m->k[(i + n) % MKEYS].processing)
            return (i + n) % MKEYS;
    return i;
}

/* The first key from i on that is idle with stale heap entries, else i. */
static int stale_from(const struct model *m, int i)
{
    for (int n = 0; n < MKEYS; n++) {
        const struct mkey *k = &m->k[(i + n) % MKEYS];
        if (k->exists && !k->pending && !k->processing && !k->timed && !k->released &&
            m_refs(m, (i + n) % MKEYS) > 0)
            return (i + n) % MKEYS;
    }
    return i;
}

/* One random operation on both. The mix keeps keys idle often enough that
 * releases meet stale heap entries (deferred frees, and adds that cancel them). */
static void one_op(struct workq *q, struct model *m, unsigned *seed)
{
    int i = rand_r(seed) % MKEYS, op = rand_r(seed) % 100;
    if (op >= 43 && op < 60)
        i = processing_from(m, i);
    else if (op >= 78 && op < 90)
        i = stale_from(m, i);
    struct mkey *mk = &m->k[i];
    struct workq_key *k = workq_find(q, mnames[i]);
    if (op < 10) { /* insert */
        if (!mk->exists) {
            mk->exists = true;
            mk->released = false;
            mk->id = next_id++ % MAX_IDS;
            m->nkeys++;
        }
        k = key(q, mnames[i], mk->id);
    } else if (op < 25) { /* add */
        if (k != NULL)
            CU_ASSERT_EQUAL(workq_add(q, k), m_add(m, i));
    } else if (op < 43) { /* take one */
        k = workq_get(q);
        CU_ASSERT_EQUAL(k != NULL, m->nfifo > 0);
        if (k != NULL && m->nfifo > 0) {
            int j = m->fifo[0];
            memmove(m->fifo, m->fifo + 1, (size_t)(--m->nfifo) * sizeof(int));
            CU_ASSERT_STRING_EQUAL(workq_key_str(k), mnames[j]);
            m->k[j].pending = false;
            m->k[j].processing = true;
        }
    } else if (op < 60) { /* done */
        if (k != NULL && mk->processing) {
            workq_done(q, k);
            mk->processing = false;
            if (mk->pending)
                m_push(m, i);
        }
    } else if (op < 78) { /* delayed add */
        int64_t at = m->ne < MENTRIES ? unique_at(m, fx.now, seed) : -1;
        if (k != NULL && at >= 0) {
            CU_ASSERT_EQUAL(workq_add_at(q, k, at), 0);
            m_add_at(m, i, at);
        }
    } else if (op < 90) { /* release */
        if (k != NULL)
            CU_ASSERT_EQUAL(workq_release(q, k), m_release(m, i));
    } else { /* time passes, timers fire */
        fx.now += rand_r(seed) % 60;
        CU_ASSERT_EQUAL(workq_fire(q), m_fire(m, fx.now));
    }
}

static void test_model(void)
{
    int seeds = getenv("OMJOB_UNDER_VALGRIND") != NULL ? 50 : 200;
    for (int s = 0; s < MKEYS; s++)
        snprintf(mnames[s], sizeof(mnames[s]), "ns-%d/job", s);
    for (int s = 1; s <= seeds; s++) {
        unsigned seed = (unsigned)s * 2654435761u;
        struct model *m = calloc(1, sizeof(*m));
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        struct workq *q = new_queue(s % 2 ? 1 : 0);
        int before = CU_get_number_of_failures();
        for (int n = 0; n < 3000; n++) {
            one_op(q, m, &seed);
            check_same(q, m);
            if ((int)CU_get_number_of_failures() != before) {
                fprintf(stderr, "model mismatch: seed %d, op %d\n", s, n);
                break;
            }
        }
        int live = m->nkeys;
        workq_free(q);
        CU_ASSERT_EQUAL(fx.fini_calls, m->freed + live);
        free(m);
    }
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"new, free, no payload", test_new_free},
        {"a key is queued once however often added", test_dedup},
        {"FIFO order", test_fifo_order},
        {"re-added while processing: queued again at done", test_readd_while_processing},
        {"claimed without a queue", test_claim},
        {"timers fire in order of time", test_timers_in_order},
        {"a timer on a queued key", test_timer_on_queued_key},
        {"lazy deletion of earlier-replaced timers", test_lazy_deletion},
        {"rescheduling earlier and later", test_reschedule},
        {"released with stale heap entries: freed by the last (390ee2d)",
         test_release_with_stale_entries},
        {"released, then added before the stale entry goes", test_release_revived},
        {"released keys behind stale entries freed by a rebuild of the heap",
         test_release_compacts_stale},
        {"a cancelled far timer does not keep a released key", test_cancel_timer},
        {"growth and rehash with many keys", test_growth},
        {"metric hooks", test_hooks},
        {"randomized against a reference model", test_model},
        {NULL, NULL},
    };
    return unit_run("workq", NULL, NULL, tests);
}

/* Unit tests of the scheduler's workers (roles/scheduler/pool.c), with passes
 * that only record what happens: several passes run at once but never two of one
 * key; with many keys due, every first pass comes before any deferred one is
 * resumed (creates first), and idle work (the runs' Events) only after every
 * resume; a key added while its pass is deferred gets a first pass at once,
 * which takes the continuation over (resumed once, by whoever has it last);
 * timers fire in the workers; a gone key is forgotten; stopping drops the
 * continuations left. Labelled threads (TSan). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/workq/workq.h"
#include "roles/scheduler/pool.h"

#define NKEYS 200
#define NWORKERS 4
#define LOG_MAX 4096

/* What the passes saw, in order: 'P' first pass, 'R' resume, with the key. */
struct rec {
    pthread_mutex_t mu;
    char kind[LOG_MAX];
    char key[LOG_MAX][32];
    int n;
    atomic_int inflight[NKEYS + 1]; /* passes of a key running now */
    atomic_int twice;               /* a key's pass while another ran */
    atomic_int busy, max_busy;
    atomic_int dropped, forgotten;
    int pass_sleep_us;
    const char *slow_key; /* its pass sleeps 200 ms */
    bool slow_hold;       /* instead: until slow_release, then 100 ms more */
    atomic_bool slow_release;
    const char *gone_key; /* its pass says SP_GONE */
    bool defer;
    atomic_int took; /* first passes that got a continuation */
};
/* The pool's slot per key (the scheduler keeps it in the key's payload). */
static void *slots[NKEYS + 1];
static struct rec R;

static int key_index(const char *key)
{
    int i = 0;
    return sscanf(key, "ns/k%d", &i) == 1 && i >= 0 && i < NKEYS ? i : NKEYS;
}

static void record(char kind, struct workq_key *wk)
{
    pthread_mutex_lock(&R.mu);
    if (R.n < LOG_MAX) {
        R.kind[R.n] = kind;
        snprintf(R.key[R.n], sizeof(R.key[0]), "%s", workq_key_str(wk));
        R.n++;
    }
    pthread_mutex_unlock(&R.mu);
}

static void enter(struct workq_key *wk)
{
    int i = key_index(workq_key_str(wk));
    if (atomic_fetch_add(&R.inflight[i], 1) != 0)
        atomic_fetch_add(&R.twice, 1);
    int b = atomic_fetch_add(&R.busy, 1) + 1, m = atomic_load(&R.max_busy);
    while (b > m && !atomic_compare_exchange_weak(&R.max_busy, &m, b))
        ;
}

static void leave(struct workq_key *wk)
{
    atomic_fetch_sub(&R.inflight[key_index(workq_key_str(wk))], 1);
    atomic_fetch_sub(&R.busy, 1);
}

static enum sp_result op_pass(void *arg, struct workq_key *wk, void **cont)
{
    (void)arg;
    if (*cont != NULL) {
        CU_ASSERT_PTR_EQUAL(*cont, wk);
        atomic_fetch_add(&R.took, 1);
        *cont = NULL;
    }
    enter(wk);
    record('P', wk);
    const char *k = workq_key_str(wk);
    bool slow = R.slow_key != NULL && strcmp(k, R.slow_key) == 0;
    for (int i = 0; slow && R.slow_hold && !atomic_load(&R.slow_release) && i < 10000; i++)
        usleep(1000);
    usleep(slow ? (R.slow_hold ? 100000 : 200000) : (useconds_t)R.pass_sleep_us);
    leave(wk);
    if (R.gone_key != NULL && strcmp(k, R.gone_key) == 0)
        return SP_GONE;
    if (!R.defer || (R.slow_key != NULL && strcmp(k, R.slow_key) == 0))
        return SP_DONE;
    *cont = wk; /* anything not NULL */
    return SP_DEFER;
}

static enum sp_result op_resume(void *arg, struct workq_key *wk, void *cont)
{
    (void)arg;
    CU_ASSERT_PTR_EQUAL(cont, wk);
    enter(wk);
    record('R', wk);
    usleep((useconds_t)R.pass_sleep_us);
    leave(wk);
    return SP_DONE;
}

static void op_drop(void *arg, struct workq_key *wk, void *cont)
{
    (void)arg;
    CU_ASSERT_PTR_EQUAL(cont, wk);
    atomic_fetch_add(&R.dropped, 1);
}

static void op_forget(void *arg, struct workq *q, struct workq_key *wk)
{
    (void)arg;
    atomic_fetch_add(&R.forgotten, 1);
    CU_ASSERT(workq_release(q, wk) >= 0);
}

/* Idle work: R.idle_left items, each recorded as 'I'. */
static atomic_int idle_left;

static bool op_idle(void *arg)
{
    (void)arg;
    int n = atomic_load(&idle_left);
    while (n > 0 && !atomic_compare_exchange_weak(&idle_left, &n, n - 1))
        ;
    if (n <= 0)
        return false;
    pthread_mutex_lock(&R.mu);
    if (R.n < LOG_MAX) {
        R.kind[R.n] = 'I';
        snprintf(R.key[R.n], sizeof(R.key[0]), "idle");
        R.n++;
    }
    pthread_mutex_unlock(&R.mu);
    usleep(500);
    return true;
}

static void **op_slot(void *arg, struct workq_key *wk)
{
    (void)arg;
    return &slots[key_index(workq_key_str(wk))];
}

static const struct sched_pool_ops OPS = {.pass = op_pass,
                                          .resume = op_resume,
                                          .drop = op_drop,
                                          .forget = op_forget,
                                          .idle = op_idle,
                                          .slot = op_slot};

static void reset(void)
{
    pthread_mutex_destroy(&R.mu);
    memset(&R, 0, sizeof(R));
    memset(slots, 0, sizeof(slots));
    pthread_mutex_init(&R.mu, NULL);
}

static int count(char kind)
{
    pthread_mutex_lock(&R.mu);
    int c = 0;
    for (int i = 0; i < R.n; i++)
        c += R.kind[i] == kind;
    pthread_mutex_unlock(&R.mu);
    return c;
}

/* Waits up to ms for count(kind) >= want. */
static bool wait_count(char kind, int want, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        if (count(kind) >= want)
            return true;
        usleep(5000);
    }
    return count(kind) >= want;
}

static struct sched_pool *start(struct workq **q)
{
    struct workq_opts wo = {0};
    struct sched_pool *p = NULL;
    CU_ASSERT_FATAL(workq_new(&wo, q) == 0);
    CU_ASSERT_FATAL(sched_pool_start(*q, NWORKERS, &OPS, &p) == 0);
    return p;
}

static void add_keys(struct sched_pool *p, int n)
{
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "ns/k%d", i);
        CU_ASSERT(sched_pool_key(p, key, true, true) != NULL);
    }
}

static void test_bad_args(void)
{
    struct workq *q = NULL;
    struct workq_opts wo = {0};
    struct sched_pool *p = NULL;
    struct sched_pool_ops none = {0};
    CU_ASSERT_FATAL(workq_new(&wo, &q) == 0);
    CU_ASSERT_EQUAL(sched_pool_start(q, 0, &OPS, &p), -EINVAL);
    CU_ASSERT_EQUAL(sched_pool_start(q, 17, &OPS, &p), -EINVAL);
    CU_ASSERT_EQUAL(sched_pool_start(q, 1, &none, &p), -EINVAL);
    CU_ASSERT_EQUAL(sched_pool_start(NULL, 1, &OPS, &p), -EINVAL);
    sched_pool_stop(NULL);
    workq_free(q);
}

/* Keys are handed out only once opened. */
static void test_closed_until_open(void)
{
    struct workq *q;
    reset();
    struct sched_pool *p = start(&q);
    add_keys(p, 3);
    usleep(50000);
    CU_ASSERT_EQUAL(count('P'), 0);
    sched_pool_open(p);
    CU_ASSERT(wait_count('P', 3, 2000));
    sched_pool_stop(p);
    workq_free(q);
}

/* NKEYS due at once, each deferring: every first pass before any resume, each
 * key once each, several at once, never one key twice at once. */
static void test_creates_first(void)
{
    struct workq *q;
    reset();
    R.defer = true;
    R.pass_sleep_us = 1000;
    struct sched_pool *p = start(&q);
    add_keys(p, NKEYS);
    atomic_store(&idle_left, 50); /* the runs' Events: after every resume */
    sched_pool_open(p);
    CU_ASSERT(wait_count('R', NKEYS, 10000));
    CU_ASSERT(wait_count('I', 50, 10000));
    usleep(20000);
    struct sched_pool_stats st;
    sched_pool_stats(p, &st);
    sched_pool_stop(p);
    workq_free(q);
    CU_ASSERT_EQUAL(count('P'), NKEYS);
    CU_ASSERT_EQUAL(count('R'), NKEYS);
    int last_p = -1, first_r = R.n, last_r = -1, first_i = R.n;
    for (int i = 0; i < R.n; i++) {
        if (R.kind[i] == 'P')
            last_p = i;
        if (R.kind[i] == 'R' && first_r == R.n)
            first_r = i;
        if (R.kind[i] == 'R')
            last_r = i;
        if (R.kind[i] == 'I' && first_i == R.n)
            first_i = i;
    }
    CU_ASSERT(last_p < first_r);
    CU_ASSERT(last_r < first_i);
    CU_ASSERT_EQUAL(count('I'), 50);
    CU_ASSERT_EQUAL(st.idle, 50);
    CU_ASSERT_EQUAL(atomic_load(&R.twice), 0);
    CU_ASSERT(atomic_load(&R.max_busy) > 1);
    CU_ASSERT(atomic_load(&R.max_busy) <= NWORKERS);
    CU_ASSERT_EQUAL(st.passes, NKEYS);
    CU_ASSERT_EQUAL(st.resumed, NKEYS);
    CU_ASSERT(st.max_busy > 1 && st.max_busy <= NWORKERS);
    CU_ASSERT_EQUAL(atomic_load(&R.dropped), 0);
}

/* A key added while its pass waits deferred (held back by a slow first pass of
 * another key): a first pass at once, which takes the continuation over; one
 * resume at the end, with the continuation the last pass handed back. */
static void test_add_while_deferred(void)
{
    struct workq *q;
    reset();
    R.defer = true;
    R.slow_key = "ns/k1"; /* a first pass running: k0's resume waits for it */
    struct sched_pool *p = start(&q);
    sched_pool_open(p);
    /* k1's slow pass first, so that it runs while k0's first pass ends (added
     * together, a worker slow to start, as under valgrind, let k0 resume before
     * k1's pass began). */
    CU_ASSERT(sched_pool_key(p, "ns/k1", true, true) != NULL);
    CU_ASSERT(wait_count('P', 1, 2000));
    CU_ASSERT(sched_pool_key(p, "ns/k0", true, true) != NULL);
    CU_ASSERT(wait_count('P', 2, 2000));
    CU_ASSERT(sched_pool_key(p, "ns/k0", false, true) != NULL); /* a hint for k0 */
    CU_ASSERT(wait_count('P', 3, 2000));
    CU_ASSERT(wait_count('R', 1, 2000));
    usleep(50000);
    struct sched_pool_stats st;
    sched_pool_stats(p, &st);
    sched_pool_stop(p);
    workq_free(q);
    /* k0: P, P (while k1's slow P runs, taking the first P's continuation), R. */
    const char *want[] = {"P ns/k0", "P ns/k0", "R ns/k0"};
    int w = 0;
    for (int i = 0; i < R.n; i++) {
        char got[40];
        snprintf(got, sizeof(got), "%c %s", R.kind[i], R.key[i]);
        if (strcmp(R.key[i], "ns/k0") == 0) {
            CU_ASSERT_FATAL(w < 3);
            CU_ASSERT_STRING_EQUAL(got, want[w]);
            w++;
        }
    }
    CU_ASSERT_EQUAL(w, 3);
    CU_ASSERT_EQUAL(atomic_load(&R.took), 1);
    CU_ASSERT_EQUAL(st.taken_over, 1);
    CU_ASSERT_EQUAL(count('R'), 1); /* k1's slow pass does not defer */
    CU_ASSERT_EQUAL(atomic_load(&R.twice), 0);
    CU_ASSERT_EQUAL(atomic_load(&R.dropped), 0);
}

static void test_timer(void)
{
    struct workq *q;
    reset();
    struct sched_pool *p = start(&q);
    sched_pool_open(p);
    struct workq_key *wk = sched_pool_key(p, "ns/k5", true, false);
    CU_ASSERT_FATAL(wk != NULL);
    int64_t t0 = util_mono_ms();
    sched_pool_add_at(p, wk, t0 + 100);
    CU_ASSERT(wait_count('P', 1, 2000));
    CU_ASSERT(util_mono_ms() - t0 >= 100);
    CU_ASSERT_EQUAL(sched_pool_nkeys(p), 1);
    sched_pool_stop(p);
    workq_free(q);
}

static void test_gone(void)
{
    struct workq *q;
    reset();
    R.gone_key = "ns/k2";
    struct sched_pool *p = start(&q);
    sched_pool_open(p);
    add_keys(p, 3);
    CU_ASSERT(wait_count('P', 3, 2000));
    for (int i = 0; i < 200 && atomic_load(&R.forgotten) == 0; i++)
        usleep(5000);
    CU_ASSERT_EQUAL(atomic_load(&R.forgotten), 1);
    CU_ASSERT_EQUAL(sched_pool_nkeys(p), 2);
    CU_ASSERT(sched_pool_key(p, "ns/k2", false, false) == NULL);
    sched_pool_stop(p);
    workq_free(q);
}

/* Stopping while a pass is deferred (held back by a slow first pass). k1's slow
 * pass begins before k0 is added (added together, k0's pass could end before a
 * worker took k1, as under valgrind, and k0 resumed at once), and runs until the
 * stop is on its way and 100 ms more (a fixed 200 ms from its start could end
 * before a descheduled test thread got to the stop). */
static void test_stop_drops(void)
{
    struct workq *q;
    reset();
    R.defer = true;
    R.slow_key = "ns/k1";
    R.slow_hold = true;
    struct sched_pool *p = start(&q);
    sched_pool_open(p);
    CU_ASSERT(sched_pool_key(p, "ns/k1", true, true) != NULL);
    CU_ASSERT(wait_count('P', 1, 2000));
    CU_ASSERT(sched_pool_key(p, "ns/k0", true, true) != NULL);
    CU_ASSERT(wait_count('P', 2, 2000));
    atomic_store(&R.slow_release, true);
    sched_pool_stop(p); /* k1's pass ends first */
    CU_ASSERT_EQUAL(count('R'), 0);
    CU_ASSERT_EQUAL(atomic_load(&R.dropped), 1);
    workq_free(q);
}

int main(void)
{
    CU_pSuite s;
    log_init("test");
    pthread_mutex_init(&R.mu, NULL);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("scheduler_pool", NULL, NULL);
    CU_add_test(s, "bad arguments", test_bad_args);
    CU_add_test(s, "no key before open", test_closed_until_open);
    CU_add_test(s, "creates first, then resumes, then idle work; several at once",
                test_creates_first);
    CU_add_test(s, "a key added while deferred: passed at once, taking it over",
                test_add_while_deferred);
    CU_add_test(s, "timers fire in the workers", test_timer);
    CU_add_test(s, "a gone key is forgotten", test_gone);
    CU_add_test(s, "stop drops what is deferred", test_stop_drops);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    int err = CU_get_error();
    CU_cleanup_registry();
    pthread_mutex_destroy(&R.mu);
    return fails != 0 || err != 0;
}

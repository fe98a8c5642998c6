/* Unit tests of the cleaner's worker pool (roles/cleaner/pool.c): jobs run on the
 * workers, several at once but never more than the workers, each comes back
 * exactly once through cl_pool_take, the fd is readable exactly while finished
 * jobs wait, the inline mode (0 workers) runs a job in the submitter, and freeing
 * a busy pool hands every job not taken back to drop. Run under TSan (threads). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "support/unit.h"

#include "roles/cleaner/pool.h"

struct job {
    struct cl_job link;
    int id;
    pthread_t ran_on;
    int runs;
};

static atomic_int running, max_running, dropped;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void slow(void *arg, struct cl_job *j)
{
    struct job *jb = (struct job *)j;
    long ms = (long)(intptr_t)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    int m = atomic_load(&max_running);
    while (now > m && !atomic_compare_exchange_weak(&max_running, &m, now)) {
    }
    sleep_ms(ms);
    jb->ran_on = pthread_self();
    jb->runs++;
    atomic_fetch_sub(&running, 1);
}

static void drop(struct cl_job *j)
{
    atomic_fetch_add(&dropped, 1);
    free(j);
}

static bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, timeout_ms) == 1;
}

static void test_parallel(void)
{
    enum { N = 24, W = 4 };
    struct cl_pool *p = NULL;
    struct job jobs[N] = {0};
    atomic_store(&max_running, 0);
    CU_ASSERT_EQUAL_FATAL(cl_pool_new(W, slow, (void *)(intptr_t)20, &p), 0);
    CU_ASSERT(cl_pool_fd(p) >= 0);
    CU_ASSERT_PTR_NULL(cl_pool_take(p));
    CU_ASSERT(!readable(cl_pool_fd(p), 0));
    for (int i = 0; i < N; i++) {
        jobs[i].id = i;
        cl_pool_submit(p, &jobs[i].link);
    }
    CU_ASSERT_EQUAL(cl_pool_pending(p), N);
    int got = 0, seen[N] = {0};
    while (got < N) {
        CU_ASSERT_FATAL(readable(cl_pool_fd(p), 5000));
        struct cl_job *j;
        while ((j = cl_pool_take(p)) != NULL) {
            struct job *jb = (struct job *)j;
            CU_ASSERT_EQUAL(jb->runs, 1);
            CU_ASSERT(!pthread_equal(jb->ran_on, pthread_self()));
            seen[jb->id]++;
            got++;
        }
    }
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT_EQUAL(cl_pool_pending(p), 0);
    CU_ASSERT(!readable(cl_pool_fd(p), 0)); /* nothing left: the fd is quiet */
    /* Several at once (24 jobs of 20 ms on 4 workers), never more than 4. */
    CU_ASSERT(atomic_load(&max_running) >= 2);
    CU_ASSERT(atomic_load(&max_running) <= W);
    cl_pool_free(p, drop);
}

static void test_inline(void)
{
    struct cl_pool *p = NULL;
    struct job j = {.id = 7};
    CU_ASSERT_EQUAL_FATAL(cl_pool_new(0, slow, (void *)(intptr_t)0, &p), 0);
    CU_ASSERT_EQUAL(cl_pool_fd(p), -1);
    cl_pool_submit(p, &j.link);
    CU_ASSERT_EQUAL(j.runs, 1); /* ran before submit returned */
    CU_ASSERT(pthread_equal(j.ran_on, pthread_self()));
    CU_ASSERT_EQUAL(cl_pool_pending(p), 1);
    CU_ASSERT_PTR_EQUAL(cl_pool_take(p), &j.link);
    CU_ASSERT_PTR_NULL(cl_pool_take(p));
    CU_ASSERT_EQUAL(cl_pool_pending(p), 0);
    cl_pool_free(p, NULL);
}

/* Freed while busy: running jobs finish, queued and finished ones are dropped,
 * each exactly once. */
static void test_free_busy(void)
{
    enum { N = 10 };
    struct cl_pool *p = NULL;
    atomic_store(&dropped, 0);
    CU_ASSERT_EQUAL_FATAL(cl_pool_new(2, slow, (void *)(intptr_t)10, &p), 0);
    for (int i = 0; i < N; i++) {
        struct job *j = calloc(1, sizeof(*j));
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        cl_pool_submit(p, &j->link);
    }
    cl_pool_free(p, drop);
    CU_ASSERT_EQUAL(atomic_load(&dropped), N);
}

static void test_bad_args(void)
{
    struct cl_pool *p = NULL;
    CU_ASSERT_EQUAL(cl_pool_new(CL_POOL_MAX_WORKERS + 1, slow, NULL, &p), -EINVAL);
    CU_ASSERT_EQUAL(cl_pool_new(1, NULL, NULL, &p), -EINVAL);
    CU_ASSERT_PTR_NULL(p);
    cl_pool_free(NULL, NULL);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"workers run jobs in parallel, each back once", test_parallel},
        {"0 workers: inline", test_inline},
        {"free while busy drops the rest once", test_free_busy},
        {"bad arguments", test_bad_args},
        {NULL, NULL},
    };
    return unit_run("cleaner_pool", NULL, NULL, tests);
}

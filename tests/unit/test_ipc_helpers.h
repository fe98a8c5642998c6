/* Shared by the ipc unit tests: a private temporary run directory, clocks, and the
 * CUnit main() that takes its exit code from the failure count. */
#ifndef OMJOB_TESTS_UNIT_TEST_IPC_HELPERS_H
#define OMJOB_TESTS_UNIT_TEST_IPC_HELPERS_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "support/unit.h"

#include "lib/ipc/ipc.h"

/* Valgrind runs everything ~30x slower: scale waits and loop counts. */
static inline int under_valgrind(void)
{
    return getenv("OMJOB_UNDER_VALGRIND") != NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* Under valgrind or LeakSanitizer. NNG 1.5.2 itself leaks a listener it has
 * wedged (nanomsg/nng#1518) when that listener is closed, so the tests that wedge
 * one on purpose run only in the plain build. */
static inline int leaks_checked(void)
{
    return under_valgrind() || TEST_ASAN;
}

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Creates a fresh run directory into dir (at least 64 bytes): mkdtemp's, 0700
 * and ours, as runtime/rundir.c would leave it. */
static inline int tmp_rundir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/omjob-ipc-test-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes the run directory and whatever socket files are left in it. */
static inline void rm_rundir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Runs one suite (unit_run), then releases NNG. */
static inline int run_suite(const char *suite, const struct unit_test *tests)
{
    int rc = unit_run(suite, NULL, NULL, tests);
    ipc_fini();
    return rc;
}

#endif

/* The one main() every CUnit unit test needs: a table of tests run as one suite,
 * and an exit status that is non-zero on any failure (CUnit's basic runner itself
 * always "succeeds"). Linked into every tests/unit executable. */
#ifndef OMJOB_TESTS_UNIT_SUPPORT_UNIT_H
#define OMJOB_TESTS_UNIT_SUPPORT_UNIT_H

#include <CUnit/Basic.h>

struct unit_test {
    const char *name;
    CU_TestFunc fn;
};

/* Runs tests (ended by a {NULL, NULL} entry) as suite name with optional init and
 * clean functions. 0 when all passed; 1 on a failed assertion or a CUnit error; 2
 * when the registry cannot be set up. */
int unit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
             const struct unit_test *tests);

#endif

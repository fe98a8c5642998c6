/* Unit tests of the scheduler's run ids: UUID version 4 (RFC 9562) from
 * getrandom(2), in the canonical 8-4-4-4-12 lower-case form the run-id label and
 * the "{{ omjob.uid }}" placeholder carry. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lib/common/log.h"
#include "roles/scheduler/internal.h"

static void test_form(void)
{
    char u[37];
    for (int n = 0; n < 1000; n++) {
        CU_ASSERT_FATAL(sched_uuid4(u) == 0);
        CU_ASSERT_FATAL(strlen(u) == 36);
        for (int i = 0; i < 36; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            CU_ASSERT(dash ? u[i] == '-'
                           : isxdigit((unsigned char)u[i]) && !isupper((unsigned char)u[i]));
        }
        CU_ASSERT(u[14] == '4');                  /* version 4 */
        CU_ASSERT(strchr("89ab", u[19]) != NULL); /* variant 10 */
    }
}

static void test_distinct(void)
{
    static char seen[256][37];
    for (int i = 0; i < 256; i++) {
        CU_ASSERT_FATAL(sched_uuid4(seen[i]) == 0);
        for (int j = 0; j < i; j++)
            CU_ASSERT(strcmp(seen[i], seen[j]) != 0);
    }
}

int main(void)
{
    CU_pSuite s;
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("scheduler_uuid", NULL, NULL);
    CU_add_test(s, "version 4, canonical form", test_form);
    CU_add_test(s, "1 in 2^122: distinct", test_distinct);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    int err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}

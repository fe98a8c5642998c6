/* unit_run: see unit.h. */
#include "support/unit.h"

int unit_run(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean,
             const struct unit_test *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(name, init, clean);
    for (const struct unit_test *t = tests; s != NULL && t->name != NULL; t++)
        if (CU_add_test(s, t->name, t->fn) == NULL)
            s = NULL;
    if (s == NULL) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return failures != 0 || err != CUE_SUCCESS ? 1 : 0;
}

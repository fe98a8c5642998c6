/* Unit tests for reconciler/behind: a view showing a resourceVersion this process's
 * own writes replaced waits for the cache; any other view empties the set, which is
 * then freed (NULL: a key holds nothing while no write of its own is in flight). */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <stdio.h>
#include <string.h>

#include "roles/reconciler/behind.h"

/* The cancel race of it_test_chart_rbac: status written (100 -> 101), the OMJob's
 * finalizer released (101 -> 102); a pod hint then brings a view still at 100. */
static void test_view_behind_own_writes(void)
{
    struct behind *b = NULL;
    CU_ASSERT_EQUAL(behind_check(&b, "100", 1000), BEHIND_FRESH);
    behind_note(&b, "100");
    behind_note(&b, "101");
    CU_ASSERT_EQUAL(behind_check(&b, "100", 1000), BEHIND_WAIT);
    CU_ASSERT_EQUAL(behind_check(&b, "101", 1100), BEHIND_WAIT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->n, 2);
    /* The cache caught up: the write's own result, or the OMJob gone. */
    CU_ASSERT_EQUAL(behind_check(&b, "102", 1200), BEHIND_FRESH);
    CU_ASSERT_PTR_NULL(b); /* emptied: freed, nothing held while idle */
    CU_ASSERT_EQUAL(behind_check(&b, "100", 1300), BEHIND_FRESH);
    behind_note(&b, "102");
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_EQUAL(behind_check(&b, NULL, 1400), BEHIND_FRESH);
    CU_ASSERT_PTR_NULL(b);
}

/* The wait is bounded: after BEHIND_GIVE_UP_MS the view is decided on once. */
static void test_give_up(void)
{
    struct behind *b = NULL;
    behind_note(&b, "7");
    CU_ASSERT_EQUAL(behind_check(&b, "7", 5000), BEHIND_WAIT);
    CU_ASSERT_EQUAL(behind_check(&b, "7", 5000 + BEHIND_GIVE_UP_MS - 1), BEHIND_WAIT);
    CU_ASSERT_EQUAL(behind_check(&b, "7", 5000 + BEHIND_GIVE_UP_MS), BEHIND_GIVE_UP);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(behind_check(&b, "7", 5000 + BEHIND_GIVE_UP_MS + 1), BEHIND_FRESH);
    /* A new wait counts from its own start. */
    behind_note(&b, "8");
    CU_ASSERT_EQUAL(behind_check(&b, "8", 90000), BEHIND_WAIT);
    CU_ASSERT_EQUAL(behind_check(&b, "8", 90000 + BEHIND_GIVE_UP_MS - 1), BEHIND_WAIT);
    behind_free(&b);
    CU_ASSERT_PTR_NULL(b);
    behind_free(&b); /* NULL: nothing to do */
}

/* Full: the oldest goes; duplicates, empty and oversized versions are not kept. */
static void test_bounds(void)
{
    struct behind *b = NULL;
    char rv[16];
    for (int i = 0; i < BEHIND_MAX + 2; i++) {
        snprintf(rv, sizeof(rv), "%d", i);
        behind_note(&b, rv);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->n, BEHIND_MAX);
    CU_ASSERT_STRING_EQUAL(b->rv[0], "2");
    behind_note(&b, "5");
    CU_ASSERT_EQUAL(b->n, BEHIND_MAX);
    CU_ASSERT_EQUAL(behind_check(&b, "1", 0), BEHIND_FRESH);
    char big[BEHIND_RV_BUF + 4];
    memset(big, '9', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    behind_note(&b, big);
    behind_note(&b, "");
    behind_note(&b, NULL);
    CU_ASSERT_PTR_NULL(b); /* nothing kept: nothing allocated */
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"a view showing a replaced version waits; a newer one empties the set",
         test_view_behind_own_writes},
        {"the wait gives up after BEHIND_GIVE_UP_MS", test_give_up},
        {"bounded set; empty, oversized and repeated versions", test_bounds},
        {NULL, NULL},
    };
    return unit_run("reconciler_behind", NULL, NULL, tests);
}

/* Unit tests of decide with the watcher's stand-in for a pod template
 * (model/objects.h WC_OMITTED_FIELD): a pod to create from a left-out template
 * makes dc_decide ask for the OMJob (-EAGAIN, need_template) instead of failing
 * it as InvalidSpec; a template left out that is not needed changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "model/objects.h"
#include "roles/reconciler/decide.h"

static const struct dc_cfg CFG = {
    .start_timeout_s = 600,
    .cancel_deadline_s = 900,
    .exit_max_attempts = 3,
    .node_lost_s = 300,
};

/* The podspec fixture with our finalizer, created a second ago (new reference). */
static struct json_object *fixture(void)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024], ts[40];
    static char buf[65536];
    struct json_object *o = NULL;
    snprintf(path, sizeof(path), "%s/podspec/fixture.json", dir != NULL ? dir : "tests/unit/data");
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(jx_parse(buf, n, &o, NULL, 0), 0);
    util_rfc3339_format((util_wall_ms() - 1000) * 1000000, 0, ts, sizeof(ts));
    jx_set_str(o, "metadata.creationTimestamp", ts);
    jx_set_str(o, "metadata.resourceVersion", "100");
    jx_set(o, "metadata.finalizers", json_object_new_array());
    json_object_array_add(jx_arr(o, "metadata.finalizers"),
                          json_object_new_string(FINALIZER_OMJOB));
    return o;
}

static void stand_in(struct json_object *o, const char *field)
{
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, WC_OMITTED_FIELD, json_object_new_boolean(1));
    json_object_object_add(jx_obj(o, "spec"), field, s);
}

static int decide(struct json_object *o, struct dc_action *a)
{
    struct json_object *pods = json_object_new_array();
    struct dc_input in = {.omjob = o, .pods = pods, .now_ms = util_wall_ms(), .cfg = &CFG};
    int rc = dc_decide(&in, a);
    json_object_put(pods);
    return rc;
}

static void test_main_template(void)
{
    struct json_object *o = fixture();
    struct dc_action a;
    CU_ASSERT_EQUAL(decide(o, &a), 0);
    CU_ASSERT_EQUAL(a.kind, DC_CREATE_MAIN);
    CU_ASSERT_FALSE(a.need_template);
    dc_action_clear(&a);
    /* Only the exit template left out: the main pod is built as before. */
    stand_in(o, "exitHandlerSpec");
    CU_ASSERT_EQUAL(decide(o, &a), 0);
    CU_ASSERT_EQUAL(a.kind, DC_CREATE_MAIN);
    CU_ASSERT_PTR_NOT_NULL(a.pod_obj);
    dc_action_clear(&a);
    stand_in(o, "mainPodSpec");
    CU_ASSERT_EQUAL(decide(o, &a), -EAGAIN);
    CU_ASSERT_TRUE(a.need_template);
    CU_ASSERT_EQUAL(a.nev, 0); /* no InvalidSpec */
    dc_action_clear(&a);
    json_object_put(o);
}

static void test_exit_template(void)
{
    struct json_object *o = fixture();
    struct dc_action a;
    struct json_object *st = json_object_new_object();
    json_object_object_add(st, "phase", json_object_new_string("ExitHandlerRunning"));
    json_object_object_add(st, "mainPodName", json_object_new_string("x-main"));
    json_object_object_add(st, "mainPodReason", json_object_new_string("Completed"));
    json_object_object_add(st, "mainPodExitCode", json_object_new_int(0));
    json_object_object_add(st, "exitHandlerAttempts", json_object_new_int(1));
    json_object_object_add(o, "status", st);
    stand_in(o, "mainPodSpec");
    CU_ASSERT_EQUAL(decide(o, &a), 0);
    CU_ASSERT_EQUAL(a.kind, DC_CREATE_EXIT);
    dc_action_clear(&a);
    stand_in(o, "exitHandlerSpec");
    CU_ASSERT_EQUAL(decide(o, &a), -EAGAIN);
    CU_ASSERT_TRUE(a.need_template);
    dc_action_clear(&a);
    json_object_put(o);
}

int main(void)
{
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("reconciler_template", NULL, NULL);
    CU_add_test(s, "main template left out: -EAGAIN, need_template", test_main_template);
    CU_add_test(s, "exit template left out: -EAGAIN, need_template", test_exit_template);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}

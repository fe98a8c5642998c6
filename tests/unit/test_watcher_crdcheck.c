/* Unit tests of crdcheck_pruned (roles/watcher/crdcheck.c): which fields a
 * CustomResourceDefinition's schema prunes: the original's OMJob status schema,
 * ours, x-kubernetes-preserve-unknown-fields at any level, the storage version
 * chosen among several, and a CRD without a schema. */
#include <errno.h>
#include <string.h>

#include "support/unit.h"

#include "lib/common/json.h"
#include "roles/watcher/crdcheck.h"

static const char *const FIELDS[] = {"spec.mainPodSpec", "status.phase", "status.mainPodReason",
                                     "status.conditions", "status.completionTime"};
#define NF (sizeof(FIELDS) / sizeof(FIELDS[0]))

/* A CRD whose versions are given as JSON text. */
static struct json_object *crd(const char *versions)
{
    char buf[4096];
    struct json_object *o = NULL;
    snprintf(buf, sizeof(buf), "{\"spec\":{\"versions\":%s}}", versions);
    CU_ASSERT_EQUAL_FATAL(jx_parse(buf, strlen(buf), &o, NULL, 0), 0);
    return o;
}

static int pruned(const char *versions, struct json_object **out)
{
    struct json_object *c = crd(versions);
    *out = json_object_new_array();
    int n = crdcheck_pruned(c, FIELDS, NF, *out);
    json_object_put(c);
    return n;
}

static bool has(struct json_object *arr, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return true;
    return false;
}

#define OLD_STATUS                                                                                 \
    "{\"type\":\"object\",\"properties\":{\"phase\":{\"type\":\"string\"},"                        \
    "\"completionTime\":{\"type\":\"string\"}}}"
#define SPEC "{\"type\":\"object\",\"properties\":{\"mainPodSpec\":{\"type\":\"object\"}}}"

static void test_old_schema(void)
{
    struct json_object *out;
    int n = pruned("[{\"name\":\"v1\",\"storage\":true,\"schema\":{\"openAPIV3Schema\":{"
                   "\"type\":\"object\",\"properties\":{\"spec\":" SPEC ",\"status\":" OLD_STATUS
                   "}}}}]",
                   &out);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_TRUE(has(out, "status.mainPodReason"));
    CU_ASSERT_TRUE(has(out, "status.conditions"));
    CU_ASSERT_FALSE(has(out, "status.phase"));
    json_object_put(out);
}

static void test_preserve_unknown(void)
{
    struct json_object *out;
    /* At the status level: nothing under it is pruned. */
    int n = pruned("[{\"name\":\"v1\",\"storage\":true,\"schema\":{\"openAPIV3Schema\":{"
                   "\"type\":\"object\",\"properties\":{\"spec\":" SPEC ",\"status\":{"
                   "\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}]",
                   &out);
    CU_ASSERT_EQUAL(n, 0);
    json_object_put(out);
    /* At the root. */
    n = pruned("[{\"name\":\"v1\",\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
               "\"x-kubernetes-preserve-unknown-fields\":true}}}]",
               &out);
    CU_ASSERT_EQUAL(n, 0);
    json_object_put(out);
}

/* The storage version decides, not the first. */
static void test_storage_version(void)
{
    struct json_object *out;
    int n = pruned("[{\"name\":\"v1alpha1\",\"storage\":false,\"schema\":{\"openAPIV3Schema\":{"
                   "\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}},"
                   "{\"name\":\"v1\",\"storage\":true,\"schema\":{\"openAPIV3Schema\":{"
                   "\"type\":\"object\",\"properties\":{\"status\":" OLD_STATUS "}}}}]",
                   &out);
    CU_ASSERT_EQUAL(n, 3); /* spec.mainPodSpec too: no spec at all */
    CU_ASSERT_TRUE(has(out, "spec.mainPodSpec"));
    json_object_put(out);
}

static void test_no_schema(void)
{
    struct json_object *out;
    CU_ASSERT_EQUAL(pruned("[]", &out), -EINVAL);
    CU_ASSERT_EQUAL(json_object_array_length(out), 0);
    json_object_put(out);
    CU_ASSERT_EQUAL(pruned("[{\"name\":\"v1\"}]", &out), -EINVAL);
    json_object_put(out);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"the original's status schema", test_old_schema},
        {"x-kubernetes-preserve-unknown-fields", test_preserve_unknown},
        {"the storage version decides", test_storage_version},
        {"no schema", test_no_schema},
        {NULL, NULL},
    };
    return unit_run("watcher_crdcheck", NULL, NULL, tests);
}

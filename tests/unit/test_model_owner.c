/* Unit tests of the controller ownerReference helpers (model/objects.c): the
 * reference the operator's pods and runs carry, and the fallback without
 * blockOwnerDeletion when OwnerReferencesPermissionEnforcement refuses it. */
#include <string.h>

#include <CUnit/Basic.h>

#include "support/unit.h"

#include "lib/common/json.h"
#include "model/objects.h"

static void test_refs(void)
{
    struct json_object *refs = wc_controller_refs("OMJob", "j", "u-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(refs);
    CU_ASSERT_EQUAL(json_object_array_length(refs), 1);
    struct json_object *r = json_object_array_get_idx(refs, 0);
    CU_ASSERT_STRING_EQUAL(jx_str(r, "kind"), "OMJob");
    CU_ASSERT_STRING_EQUAL(jx_str(r, "uid"), "u-1");
    CU_ASSERT(jx_bool_or(r, "controller", false));
    CU_ASSERT(jx_bool_or(r, "blockOwnerDeletion", false));
    json_object_put(refs);
}

static void test_refused(void)
{
    const char *msg = "pods \"j-main\" is forbidden: cannot set blockOwnerDeletion if an "
                      "ownerReference refers to a resource you can't set finalizers on: ...";
    CU_ASSERT(wc_block_owner_refused(403, msg) == WC_BLOCK_DENIED);
    CU_ASSERT(wc_block_owner_refused(422, msg) == WC_BLOCK_OK);
    CU_ASSERT(wc_block_owner_refused(403, "pods is forbidden: User cannot create pods") ==
              WC_BLOCK_OK);
    CU_ASSERT(wc_block_owner_refused(403, NULL) == WC_BLOCK_OK);
    /* The API server's discovery behind a CRD just re-created (it_test_rbac): a
     * passing refusal, not a missing permission. */
    CU_ASSERT(wc_block_owner_refused(
                  403, "omjobs.pipelines.openmetadata.org \"c-1796490660\" is forbidden: cannot "
                       "set blockOwnerDeletion in this case because cannot find RESTMapping for "
                       "APIVersion pipelines.openmetadata.org/v1 Kind CronOMJob: no matches for "
                       "kind \"CronOMJob\" in version \"pipelines.openmetadata.org/v1\"") ==
              WC_BLOCK_UNMAPPED);
}

static void test_drop(void)
{
    struct json_object *pod = json_object_new_object(), *meta = json_object_new_object();
    CU_ASSERT_PTR_NOT_NULL_FATAL(pod);
    json_object_object_add(meta, "ownerReferences", wc_controller_refs("OMJob", "j", "u-1"));
    json_object_object_add(pod, "metadata", meta);
    CU_ASSERT_EQUAL(wc_drop_block_owner(pod), 1);
    struct json_object *r = json_object_array_get_idx(jx_arr(pod, "metadata.ownerReferences"), 0);
    CU_ASSERT(!json_object_object_get_ex(r, "blockOwnerDeletion", NULL));
    CU_ASSERT(jx_bool_or(r, "controller", false)); /* still the controller */
    CU_ASSERT_STRING_EQUAL(jx_str(r, "uid"), "u-1");
    CU_ASSERT_EQUAL(wc_drop_block_owner(pod), 0); /* nothing left to drop */
    json_object_put(pod);
    struct json_object *bare = json_object_new_object();
    CU_ASSERT_EQUAL(wc_drop_block_owner(bare), 0); /* no metadata: nothing, no crash */
    json_object_put(bare);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"controller reference", test_refs},
        {"a blockOwnerDeletion refusal is recognised", test_refused},
        {"blockOwnerDeletion dropped, the rest kept", test_drop},
        {NULL, NULL},
    };
    return unit_run("model_owner", NULL, NULL, tests);
}

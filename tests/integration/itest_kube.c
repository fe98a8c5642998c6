/* Integration tests of kube/ against the real control plane of tests/cluster (no
 * fake): create/get round trips, paged lists from one snapshot, merge, JSON and
 * strategic patches and server-side apply, typed errors (409 Conflict and
 * AlreadyExists, failed preconditions, 401, 403 for the restricted identity, TLS
 * verification), deletion propagation and eviction, an OMJob's status
 * subresource, watches that resume without losing or repeating a change, 410
 * Gone and the relist, token files re-read after a 401, and the request observer.
 * Each test works in its own namespace, deleted at its end; alarm() bounds the
 * whole run. */
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "lib/kube/watch.h"
#include "support/it_kube.h"
#include "lib/common/json.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEADLINE_SECONDS 300
#define OMJ_GV "pipelines.openmetadata.org/v1"

/* A CA that signed nothing the cluster uses (generated once with
 * `openssl req -x509 -newkey ec`; its key was thrown away). */
static const char unrelated_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBnDCCAUOgAwIBAgIUadCFAqwGFPGDmhYbpAoy9X6xXAswCgYIKoZIzj0EAwIw\n"
    "IzEhMB8GA1UEAwwYb21qb2ItaXRlc3QtdW5yZWxhdGVkLWNhMCAXDTI2MTEyNTEw\n"
    "MzgwNFoYDzIxMjYxMTAxMTAzODA0WjAjMSEwHwYDVQQDDBhvbWpvYi1pdGVzdC11\n"
    "bnJlbGF0ZWQtY2EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASrj5QmFu9y7VPu\n"
    "RnXbs8mS+u1XG95ktLtVowKDdNAHAmrxIMxOw2LFbiyhHEhT0eVoSVq5d4jIh4ox\n"
    "2pAOEqsfo1MwUTAdBgNVHQ4EFgQUAGgEEV2xRQ+UrNXPRAT6cnVL9yYwHwYDVR0j\n"
    "BBgwFoAUAGgEEV2xRQ+UrNXPRAT6cnVL9yYwDwYDVR0TAQH/BAUwAwEB/zAKBggq\n"
    "hkjOPQQDAgNHADBEAiAMYmiuV3bgnhGJh/O91Dmz+fjASS+AkJv7bWLwdl1NYAIg\n"
    "YdBTPQ3jMLfAR9rMxKxCWBYSYwPW4cByaPWnLtuEN64=\n"
    "-----END CERTIFICATE-----\n";

static struct kube_client *admin;

/* ---- helpers ---- */

/* Reports an unexpected failure with the typed error, then asserts. */
#define CHECK_OK(call, err)                                                                        \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fprintf(stderr, "  line %d: %s = %d: %s http %d %s: %s\n", __LINE__, #call, rc_,       \
                    kube_errkind_str((err).kind), (err).http, (err).reason, (err).message);        \
        CU_ASSERT_EQUAL(rc_, 0);                                                                   \
    } while (0)

static bool contains(const char *s, const char *part)
{
    bool ok = s != NULL && strstr(s, part) != NULL;
    if (!ok)
        fprintf(stderr, "  '%s' does not contain '%s'\n", s ? s : "(null)", part);
    return ok;
}

static struct kube_ref cm_ref(const char *ns, const char *name)
{
    return (struct kube_ref){.gv = "v1", .plural = "configmaps", .ns = ns, .name = name};
}

static struct kube_ref omj_ref(const char *ns, const char *name)
{
    return (struct kube_ref){.gv = OMJ_GV, .plural = "omjobs", .ns = ns, .name = name};
}

/* Creates a ConfigMap; returns the server's copy (caller puts) or NULL. */
static struct json_object *cm_create(const char *ns, const char *name, const char *labels,
                                     const char *data)
{
    struct json_object *o = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                    "\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"data\":%s}",
                                    name, labels ? labels : "{}", data ? data : "{}");
    struct kube_ref r = cm_ref(ns, name);
    struct json_object *out = NULL;
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, o, &out, &err), err);
    json_object_put(o);
    return out;
}

/* A ConfigMap with one value of size bytes (the limit is 1 MiB). */
static void cm_create_big(const char *ns, const char *name, const char *labels, size_t size,
                          char **value)
{
    char *val = malloc(size + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(val);
    for (size_t i = 0; i < size; i++)
        val[i] = (char)('a' + i % 26);
    val[size] = '\0';
    struct json_object *o = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                    "\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"data\":{}}",
                                    name, labels ? labels : "{}");
    json_object_object_add(json_object_object_get(o, "data"), "v",
                           json_object_new_string_len(val, (int)size));
    struct kube_ref r = cm_ref(ns, name);
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, o, NULL, &err), err);
    json_object_put(o);
    if (value != NULL)
        *value = val;
    else
        free(val);
}

static void cm_merge(const char *ns, const char *name, const char *patch)
{
    struct json_object *p = it_json("%s", patch);
    struct kube_ref r = cm_ref(ns, name);
    struct kube_err err;
    CHECK_OK(kube_patch(admin, &r, KUBE_PATCH_MERGE, p, NULL, &err), err);
    json_object_put(p);
}

static void cm_delete(const char *ns, const char *name)
{
    struct kube_ref r = cm_ref(ns, name);
    struct kube_err err;
    CHECK_OK(kube_delete(admin, &r, NULL, NULL, &err), err);
}

static struct json_object *get(const struct kube_ref *r)
{
    struct json_object *out = NULL;
    struct kube_err err;
    CHECK_OK(kube_get(admin, r, &out, &err), err);
    return out;
}

static struct json_object *omj_create(const char *ns, const char *name)
{
    struct json_object *o = it_json("{\"apiVersion\":\"" OMJ_GV "\",\"kind\":\"OMJob\","
                                    "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"mainPodSpec\":"
                                    "{\"image\":\"busybox\",\"command\":[\"true\"]}}}",
                                    name);
    struct kube_ref r = omj_ref(ns, name);
    struct json_object *out = NULL;
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, o, &out, &err), err);
    json_object_put(o);
    return out;
}

/* Creates a pod with containers a and b; returns the server's copy or NULL. */
static struct json_object *pod_create(const char *ns, const char *name)
{
    struct json_object *o = it_json(
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\"},\"spec\":"
        "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"a\",\"image\":\"busybox:1\"},"
        "{\"name\":\"b\",\"image\":\"busybox:1\"}]}}",
        name);
    struct kube_ref r = {.gv = "v1", .plural = "pods", .ns = ns, .name = name};
    struct json_object *out = NULL;
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, o, &out, &err), err);
    json_object_put(o);
    return out;
}

/* ---- create, get, list with pages ---- */

struct names {
    int n;
    char name[64][64];
    int stop_at;                /* > 0: return 7 after this many */
    const char *insert_ns;      /* create page-99 while on the second page */
    struct json_object *insert; /* what that create returned */
};

static int collect(void *ctx, struct json_object *item)
{
    struct names *s = ctx;
    const char *name = jx_str(item, "metadata.name");
    if (s->n < 64)
        snprintf(s->name[s->n++], sizeof(s->name[0]), "%s", name ? name : "?");
    if (s->insert_ns != NULL && s->n == 11 && s->insert == NULL)
        s->insert = cm_create(s->insert_ns, "page-99", "{\"set\":\"page\"}", NULL);
    return (s->stop_at > 0 && s->n >= s->stop_at) ? 7 : 0;
}

static void test_create_get_list(void)
{
    it_test_begin("create, get, list with pages");
    char *ns = it_ns_new(admin, "it-kube-crud");
    struct kube_err err;
    const char *labels = "{\"app\":\"itest\",\"tier\":\"a-b\"}";
    const char *data = "{\"k1\":\"v1\",\"multi\":\"line1\\nline2\",\"utf8\":\"h\\u00e9llo "
                       "\\u2603\",\"quote\":\"a\\\"b\"}";
    struct json_object *o =
        it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"rt\","
                "\"labels\":%s,\"annotations\":{\"note\":\"x\\ny\"}},\"data\":%s,"
                "\"binaryData\":{\"bin\":\"AAEC/w==\"}}",
                labels, data);
    struct kube_ref r = cm_ref(ns, "rt");
    struct json_object *created = NULL, *got = NULL;
    CHECK_OK(kube_create(admin, &r, o, &created, &err), err);
    CU_ASSERT_EQUAL(err.http, 201);
    const char *uid = jx_str(created, "metadata.uid");
    CU_ASSERT_PTR_NOT_NULL(uid);
    CU_ASSERT_PTR_NOT_NULL(jx_str(created, "metadata.resourceVersion"));
    CU_ASSERT_PTR_NOT_NULL(jx_str(created, "metadata.creationTimestamp"));
    CU_ASSERT_STRING_EQUAL(jx_str(created, "metadata.namespace"), ns);

    CHECK_OK(kube_get(admin, &r, &got, &err), err);
    CU_ASSERT_EQUAL(err.http, 200);
    CU_ASSERT(it_jeq(got, "data", data));
    CU_ASSERT(it_jeq(got, "metadata.labels", labels));
    CU_ASSERT(it_jeq(got, "metadata.annotations", "{\"note\":\"x\\ny\"}"));
    CU_ASSERT(it_jeq(got, "binaryData", "{\"bin\":\"AAEC/w==\"}"));
    CU_ASSERT(uid && contains(jx_str(got, "metadata.uid"), uid));
    CU_ASSERT(it_jeq(got, "metadata", json_object_to_json_string(jx_get(created, "metadata"))));
    json_object_put(got);
    json_object_put(created);
    json_object_put(o);

    /* A typed 404, not retried. */
    struct kube_ref missing = cm_ref(ns, "missing");
    got = NULL;
    CU_ASSERT_EQUAL(kube_get(admin, &missing, &got, &err), -ENOENT);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_HTTP);
    CU_ASSERT_EQUAL(err.http, 404);
    CU_ASSERT_STRING_EQUAL(err.reason, "NotFound");
    CU_ASSERT(contains(err.message, "configmaps \"missing\" not found"));
    CU_ASSERT_EQUAL(err.attempts, 1);

    /* 25 ConfigMaps, listed 10 at a time: 3 pages from one snapshot (page-99,
     * created while the list is on its second page, is not in it). */
    char name[32];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "page-%02d", i);
        json_object_put(cm_create(ns, name, "{\"set\":\"page\"}", NULL));
    }
    struct it_obs obs = {0};
    struct names seen = {.insert_ns = ns};
    struct kube_ref coll = cm_ref(ns, NULL);
    struct kube_list_opts lo = {.label_selector = "set=page", .limit = 10};
    char rv[64] = "";
    kube_client_set_observer(admin, it_obs_fn, &obs);
    CHECK_OK(kube_list(admin, &coll, &lo, collect, &seen, rv, sizeof(rv), &err), err);
    kube_client_set_observer(admin, NULL, NULL);
    CU_ASSERT_EQUAL(seen.n, 25);
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "page-%02d", i);
        int times = 0;
        for (int j = 0; j < seen.n; j++)
            times += strcmp(seen.name[j], name) == 0;
        if (times != 1)
            fprintf(stderr, "  %s listed %d times\n", name, times);
        CU_ASSERT_EQUAL(times, 1);
    }
    CU_ASSERT_EQUAL(it_obs_count(&obs, "GET", 200), 3);
    CU_ASSERT_EQUAL(it_obs_count(&obs, "POST", 201), 1); /* page-99 */
    CU_ASSERT_PTR_NOT_NULL(seen.insert);
    CU_ASSERT(rv[0] != '\0' && strspn(rv, "0123456789") == strlen(rv));
    fprintf(stderr, "  25 items in %d pages, list resourceVersion %s\n",
            it_obs_count(&obs, "GET", 200), rv);

    /* The new one is there for the next list (a set-based selector, escaped in
     * the query); a field selector; a callback's nonzero stops the list. */
    struct names all = {0}, one = {0}, some = {.stop_at = 12};
    lo.limit = -1;
    lo.label_selector = "set in (page,other),!absent";
    CHECK_OK(kube_list(admin, &coll, &lo, collect, &all, NULL, 0, &err), err);
    CU_ASSERT_EQUAL(all.n, 26);
    struct kube_list_opts fo = {.field_selector = "metadata.name=page-07"};
    CHECK_OK(kube_list(admin, &coll, &fo, collect, &one, NULL, 0, &err), err);
    CU_ASSERT(one.n == 1 && strcmp(one.name[0], "page-07") == 0);
    lo.limit = 5;
    CU_ASSERT_EQUAL(kube_list(admin, &coll, &lo, collect, &some, NULL, 0, &err), 7);
    CU_ASSERT_EQUAL(some.n, 12);
    json_object_put(seen.insert);

    /* A large object (800 KB, near the 1 MiB limit) makes the round trip whole. */
    size_t big = 800 * 1000;
    char *val = NULL;
    cm_create_big(ns, "big", NULL, big, &val);
    struct kube_ref br = cm_ref(ns, "big");
    got = get(&br);
    const char *back = jx_str(got, "data.v");
    CU_ASSERT(val != NULL && back != NULL && strlen(back) == big && memcmp(back, val, big) == 0);
    json_object_put(got);
    free(val);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- merge patch, JSON patch, server-side apply ---- */

static void test_patches(void)
{
    it_test_begin("merge patch, JSON patch, server-side apply");
    char *ns = it_ns_new(admin, "it-kube-patch");
    struct kube_err err;
    struct kube_ref r = cm_ref(ns, "p");
    json_object_put(
        cm_create(ns, "p", "{\"keep\":\"yes\"}", "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}"));

    /* Merge patch: set, delete with null, add; labels merge. */
    struct json_object *patch = it_json("{\"data\":{\"a\":\"10\",\"b\":null,\"d\":\"4\"},"
                                        "\"metadata\":{\"labels\":{\"added\":\"m\"}}}");
    struct json_object *out = NULL;
    CHECK_OK(kube_patch(admin, &r, KUBE_PATCH_MERGE, patch, &out, &err), err);
    json_object_put(patch);
    json_object_put(out);
    out = get(&r);
    CU_ASSERT(it_jeq(out, "data", "{\"a\":\"10\",\"c\":\"3\",\"d\":\"4\"}"));
    CU_ASSERT(it_jeq(out, "metadata.labels", "{\"keep\":\"yes\",\"added\":\"m\"}"));
    json_object_put(out);

    /* JSON patch: test, replace, remove, add, applied atomically. */
    patch = it_json("[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"10\"},"
                    "{\"op\":\"replace\",\"path\":\"/data/a\",\"value\":\"11\"},"
                    "{\"op\":\"remove\",\"path\":\"/data/c\"},"
                    "{\"op\":\"add\",\"path\":\"/data/e\",\"value\":\"5\"}]");
    CHECK_OK(kube_patch(admin, &r, KUBE_PATCH_JSON, patch, NULL, &err), err);
    json_object_put(patch);
    out = get(&r);
    CU_ASSERT(it_jeq(out, "data", "{\"a\":\"11\",\"d\":\"4\",\"e\":\"5\"}"));
    json_object_put(out);

    /* A failing "test" op rejects the whole patch. */
    patch = it_json("[{\"op\":\"replace\",\"path\":\"/data/d\",\"value\":\"x\"},"
                    "{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"nope\"}]");
    int rc = kube_patch(admin, &r, KUBE_PATCH_JSON, patch, NULL, &err);
    json_object_put(patch);
    fprintf(stderr, "  failed JSON patch test op: %d http %d %s: %s\n", rc, err.http, err.reason,
            err.message);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_EQUAL(err.http, 422);
    CU_ASSERT_STRING_EQUAL(err.reason, "Invalid");
    CU_ASSERT_EQUAL(err.attempts, 1);
    out = get(&r);
    CU_ASSERT(it_jeq(out, "data.d", "\"4\""));
    json_object_put(out);

    /* Strategic merge patch (built-in kinds): containers merge by name. */
    json_object_put(pod_create(ns, "sp"));
    struct kube_ref pr = {.gv = "v1", .plural = "pods", .ns = ns, .name = "sp"};
    patch = it_json("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox:2\"}]}}");
    CHECK_OK(kube_patch(admin, &pr, KUBE_PATCH_STRATEGIC, patch, &out, &err), err);
    struct json_object *ctrs = jx_get(out, "spec.containers");
    CU_ASSERT(ctrs != NULL && json_object_array_length(ctrs) == 2);
    if (ctrs != NULL && json_object_array_length(ctrs) == 2) {
        CU_ASSERT(it_jeq(json_object_array_get_idx(ctrs, 0), "image", "\"busybox:2\""));
        CU_ASSERT(it_jeq(json_object_array_get_idx(ctrs, 1), "image", "\"busybox:1\""));
    }
    json_object_put(out);
    json_object_put(patch);

    /* Server-side apply creates, then owns its fields: dropping y removes it. */
    struct kube_ref ar = cm_ref(ns, "applied");
    struct json_object *cfg = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                                      "{\"name\":\"applied\"},\"data\":{\"x\":\"1\",\"y\":\"2\"}}");
    CHECK_OK(kube_apply(admin, &ar, cfg, "itest-a", false, NULL, &err), err);
    CU_ASSERT_EQUAL(err.http, 201);
    json_object_put(cfg);
    cfg = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                  "{\"name\":\"applied\"},\"data\":{\"x\":\"9\"}}");
    CHECK_OK(kube_apply(admin, &ar, cfg, "itest-a", false, &out, &err), err);
    json_object_put(cfg);
    CU_ASSERT(it_jeq(out, "data", "{\"x\":\"9\"}"));
    struct json_object *mf = jx_get(out, "metadata.managedFields");
    bool applied_by_a = false;
    for (size_t i = 0; mf != NULL && i < json_object_array_length(mf); i++) {
        struct json_object *e = json_object_array_get_idx(mf, i);
        const char *m = jx_str(e, "manager"), *op = jx_str(e, "operation");
        applied_by_a |= m && op && strcmp(m, "itest-a") == 0 && strcmp(op, "Apply") == 0;
    }
    CU_ASSERT(applied_by_a);
    json_object_put(out);

    /* Another manager setting x: a 409 conflict naming the owner, unless forced. */
    cfg = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                  "{\"name\":\"applied\"},\"data\":{\"x\":\"other\"}}");
    CU_ASSERT_EQUAL(kube_apply(admin, &ar, cfg, "itest-b", false, NULL, &err), -ESTALE);
    CU_ASSERT_EQUAL(err.http, 409);
    CU_ASSERT_STRING_EQUAL(err.reason, "Conflict");
    CU_ASSERT(contains(err.message, "itest-a"));
    CU_ASSERT(contains(err.message, ".data.x"));
    CHECK_OK(kube_apply(admin, &ar, cfg, "itest-b", true, &out, &err), err);
    CU_ASSERT(it_jeq(out, "data", "{\"x\":\"other\"}"));
    json_object_put(out);
    /* No field manager at all is refused before any request. */
    CU_ASSERT_EQUAL(kube_apply(admin, &ar, cfg, NULL, false, NULL, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_INVALID);
    json_object_put(cfg);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- 409: stale update, existing name ---- */

static void test_conflicts(void)
{
    it_test_begin("409 Conflict and AlreadyExists");
    char *ns = it_ns_new(admin, "it-kube-conflict");
    struct kube_err err;
    struct kube_ref r = cm_ref(ns, "c");
    struct json_object *v1 = cm_create(ns, "c", NULL, "{\"v\":\"1\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    struct json_object *v2 = NULL;

    /* Update from the read version: fine; again from the same, now stale, one: 409. */
    struct json_object *upd = it_json("%s", json_object_to_json_string(v1));
    json_object_object_add(json_object_object_get(upd, "data"), "v", json_object_new_string("2"));
    CHECK_OK(kube_update(admin, &r, upd, &v2, &err), err);
    CU_ASSERT_STRING_NOT_EQUAL(jx_str(v2, "metadata.resourceVersion"),
                               jx_str(v1, "metadata.resourceVersion"));
    json_object_object_add(json_object_object_get(upd, "data"), "v", json_object_new_string("3"));
    CU_ASSERT_EQUAL(kube_update(admin, &r, upd, NULL, &err), -ESTALE);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_HTTP);
    CU_ASSERT_EQUAL(err.http, 409);
    CU_ASSERT_STRING_EQUAL(err.reason, "Conflict");
    CU_ASSERT(contains(err.message, "the object has been modified"));
    CU_ASSERT_EQUAL(err.attempts, 1);
    fprintf(stderr, "  stale update: %s\n", err.message);
    struct json_object *now = get(&r);
    CU_ASSERT(it_jeq(now, "data.v", "\"2\""));
    json_object_put(now);
    json_object_put(upd);

    /* Create of an existing name: 409 AlreadyExists, -EEXIST. */
    struct json_object *dup = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                      "\"metadata\":{\"name\":\"c\"}}");
    CU_ASSERT_EQUAL(kube_create(admin, &r, dup, NULL, &err), -EEXIST);
    CU_ASSERT_EQUAL(err.http, 409);
    CU_ASSERT_STRING_EQUAL(err.reason, "AlreadyExists");
    CU_ASSERT(contains(err.message, "configmaps \"c\" already exists"));
    json_object_put(dup);
    json_object_put(v1);
    json_object_put(v2);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- delete: preconditions, propagation ---- */

/* Creates "<owner>" and "<owner>-child" owned by it (blockOwnerDeletion). */
static void owner_and_child(const char *ns, const char *owner)
{
    struct json_object *o = cm_create(ns, owner, NULL, NULL);
    const char *uid = jx_str(o, "metadata.uid");
    CU_ASSERT_PTR_NOT_NULL_FATAL(uid);
    struct json_object *child =
        it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s-child\","
                "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":"
                "\"%s\",\"uid\":\"%s\",\"blockOwnerDeletion\":true}]}}",
                owner, owner, uid);
    struct kube_ref r = cm_ref(ns, NULL);
    struct kube_err err;
    CHECK_OK(kube_create(admin, &r, child, NULL, &err), err);
    json_object_put(child);
    json_object_put(o);
}

static void test_delete(void)
{
    it_test_begin("delete: UID precondition, propagation policies");
    char *ns = it_ns_new(admin, "it-kube-delete");
    struct kube_err err;
    struct kube_ref r = cm_ref(ns, "victim");
    struct json_object *v = cm_create(ns, "victim", NULL, NULL);
    const char *uid = jx_str(v, "metadata.uid");
    CU_ASSERT_PTR_NOT_NULL_FATAL(uid);

    /* Another incarnation's uid: 409 with the precondition message, still there. */
    struct kube_delete_opts wrong = {.uid = "00000000-0000-0000-0000-000000000000",
                                     .grace_seconds = -1};
    CU_ASSERT_EQUAL(kube_delete(admin, &r, &wrong, NULL, &err), -ESTALE);
    CU_ASSERT_EQUAL(err.http, 409);
    CU_ASSERT_STRING_EQUAL(err.reason, "Conflict");
    CU_ASSERT(contains(err.message, "the UID in the precondition"));
    CU_ASSERT(contains(err.message, uid));
    fprintf(stderr, "  wrong uid: %s\n", err.message);
    struct json_object *still = get(&r);
    CU_ASSERT_PTR_NOT_NULL(still);
    json_object_put(still);
    /* A stale resourceVersion precondition is refused the same way. */
    struct kube_delete_opts stale = {.resource_version = "1", .grace_seconds = -1};
    CU_ASSERT_EQUAL(kube_delete(admin, &r, &stale, NULL, &err), -ESTALE);
    CU_ASSERT(contains(err.message, "the ResourceVersion in the precondition"));

    /* The right uid deletes; then 404, and a second delete is 404 too. */
    struct kube_delete_opts right = {.uid = uid, .grace_seconds = 0};
    CHECK_OK(kube_delete(admin, &r, &right, NULL, &err), err);
    CU_ASSERT_EQUAL(kube_get(admin, &r, NULL, &err), -ENOENT);
    CU_ASSERT_EQUAL(err.http, 404);
    CU_ASSERT_EQUAL(kube_delete(admin, &r, &right, NULL, &err), -ENOENT);
    json_object_put(v);

    /* Foreground: the owner stays (deletionTimestamp, foregroundDeletion
     * finalizer) until the garbage collector has removed the child. */
    owner_and_child(ns, "fg");
    struct kube_ref fg = cm_ref(ns, "fg"), fgc = cm_ref(ns, "fg-child");
    struct kube_delete_opts fore = {.propagation = "Foreground", .grace_seconds = -1};
    struct json_object *out = NULL;
    CHECK_OK(kube_delete(admin, &fg, &fore, &out, &err), err);
    CU_ASSERT_PTR_NOT_NULL(jx_str(out, "metadata.deletionTimestamp"));
    CU_ASSERT(it_jeq(out, "metadata.finalizers", "[\"foregroundDeletion\"]"));
    json_object_put(out);
    int64_t t0 = it_now_ms();
    CU_ASSERT(it_wait_gone(admin, &fgc, 30000));
    CU_ASSERT(it_wait_gone(admin, &fg, 30000));
    fprintf(stderr, "  Foreground: owner and child gone in %lld ms\n",
            (long long)(it_now_ms() - t0));

    /* Background: the owner goes at once, the child after it. */
    owner_and_child(ns, "bg");
    struct kube_ref bg = cm_ref(ns, "bg"), bgc = cm_ref(ns, "bg-child");
    struct kube_delete_opts back = {.propagation = "Background", .grace_seconds = -1};
    CHECK_OK(kube_delete(admin, &bg, &back, NULL, &err), err);
    CU_ASSERT_EQUAL(kube_get(admin, &bg, NULL, &err), -ENOENT);
    t0 = it_now_ms();
    CU_ASSERT(it_wait_gone(admin, &bgc, 30000));
    fprintf(stderr, "  Background: child gone in %lld ms\n", (long long)(it_now_ms() - t0));

    /* Orphan: the child stays, its ownerReference removed. */
    owner_and_child(ns, "or");
    struct kube_ref orr = cm_ref(ns, "or"), orc = cm_ref(ns, "or-child");
    struct kube_delete_opts orphan = {.propagation = "Orphan", .grace_seconds = -1};
    CHECK_OK(kube_delete(admin, &orr, &orphan, NULL, &err), err);
    CU_ASSERT(it_wait_gone(admin, &orr, 30000));
    struct json_object *child = get(&orc);
    CU_ASSERT_PTR_NULL(jx_get(child, "metadata.ownerReferences"));
    json_object_put(child);

    /* Eviction (policy/v1): the pod goes; an absent pod is 404. */
    json_object_put(pod_create(ns, "ev"));
    struct kube_ref ev = {.gv = "v1", .plural = "pods", .ns = ns, .name = "ev"};
    CHECK_OK(kube_evict(admin, ns, "ev", NULL, &err), err);
    CU_ASSERT_EQUAL(err.http, 201);
    t0 = it_now_ms();
    CU_ASSERT(it_wait_gone(admin, &ev, 30000));
    fprintf(stderr, "  evicted pod gone in %lld ms\n", (long long)(it_now_ms() - t0));
    CU_ASSERT_EQUAL(kube_evict(admin, ns, "ev", NULL, &err), -ENOENT);
    CU_ASSERT_EQUAL(err.http, 404);

    /* An unknown policy is a typed 400/422 from the server. */
    struct kube_delete_opts bad = {.propagation = "Sideways", .grace_seconds = -1};
    CU_ASSERT_EQUAL(kube_delete(admin, &orc, &bad, NULL, &err), -EINVAL);
    CU_ASSERT(err.http == 400 || err.http == 422);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- the status subresource of an OMJob ---- */

static void test_omjob_status(void)
{
    it_test_begin("OMJob status subresource");
    char *ns = it_ns_new(admin, "it-kube-status");
    struct kube_err err;
    struct kube_ref r = omj_ref(ns, "job"), rs = r;
    rs.sub = "status";
    struct json_object *job = omj_create(ns, "job");
    CU_ASSERT_PTR_NOT_NULL_FATAL(job);
    CU_ASSERT(it_jeq(job, "metadata.generation", "1"));

    struct json_object *p = it_json("{\"status\":{\"phase\":\"Running\",\"message\":\"itest\"}}");
    struct json_object *out = NULL;
    CHECK_OK(kube_patch(admin, &rs, KUBE_PATCH_MERGE, p, &out, &err), err);
    CU_ASSERT(it_jeq(out, "status.phase", "\"Running\""));
    json_object_put(out);
    json_object_put(p);
    out = get(&r);
    CU_ASSERT(it_jeq(out, "status.phase", "\"Running\""));
    CU_ASSERT(it_jeq(out, "status.message", "\"itest\""));
    CU_ASSERT(it_jeq(out, "metadata.generation", "1")); /* status is no spec change */

    /* PUT to /status from the read object. */
    json_object_object_add(json_object_object_get(out, "status"), "phase",
                           json_object_new_string("Succeeded"));
    struct json_object *put = NULL;
    CHECK_OK(kube_update(admin, &rs, out, &put, &err), err);
    CU_ASSERT(it_jeq(put, "status.phase", "\"Succeeded\""));
    json_object_put(put);
    json_object_put(out);

    /* Status written through the main resource is ignored. */
    p = it_json("{\"status\":{\"phase\":\"Failed\"}}");
    CHECK_OK(kube_patch(admin, &r, KUBE_PATCH_MERGE, p, NULL, &err), err);
    json_object_put(p);
    out = get(&r);
    CU_ASSERT(it_jeq(out, "status.phase", "\"Succeeded\""));
    json_object_put(out);

    /* The CRD's schema applies to status: a bad phase is 422 Invalid. */
    p = it_json("{\"status\":{\"phase\":\"Bogus\"}}");
    CU_ASSERT_EQUAL(kube_patch(admin, &rs, KUBE_PATCH_MERGE, p, NULL, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.http, 422);
    CU_ASSERT_STRING_EQUAL(err.reason, "Invalid");
    CU_ASSERT(contains(err.message, "Unsupported value: \"Bogus\""));
    json_object_put(p);
    json_object_put(job);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- watch: order, resume, cancel, stop ---- */

#define EV_MAX 32

struct evlog {
    int n, bookmarks;
    char ev[EV_MAX][80]; /* "ADDED name" */
    int stop_at;         /* > 0: the callback returns 1 at this event */
};

static int ev_cb(void *ctx, const struct kube_event *ev)
{
    struct evlog *l = ctx;
    if (ev->type == KUBE_EV_BOOKMARK) {
        l->bookmarks++;
        CU_ASSERT_PTR_NOT_NULL(ev->resource_version);
        return 0;
    }
    const char *name = jx_str(ev->object, "metadata.name");
    if (l->n < EV_MAX)
        snprintf(l->ev[l->n++], sizeof(l->ev[0]), "%s %s", kube_ev_type_str(ev->type),
                 name ? name : "?");
    return l->stop_at > 0 && l->n >= l->stop_at;
}

/* True when the log is exactly want[0..n) (bookmarks aside). */
static bool evlog_is(const struct evlog *l, const char *const *want, int n)
{
    bool ok = l->n == n;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(l->ev[i], want[i]) == 0;
    if (!ok) {
        fprintf(stderr, "  events:");
        for (int i = 0; i < l->n; i++)
            fprintf(stderr, " [%s]", l->ev[i]);
        fprintf(stderr, "\n  wanted:");
        for (int i = 0; i < n; i++)
            fprintf(stderr, " [%s]", want[i]);
        fprintf(stderr, "\n");
    }
    return ok;
}

static enum kube_watch_end watch_finish(struct kube_watch *w, struct kube_err *err)
{
    enum kube_watch_end end = KUBE_WATCH_RUNNING;
    while (end == KUBE_WATCH_RUNNING)
        end = kube_watch_step(w, 200, err);
    return end;
}

struct canceller {
    struct kube_watch *w;
    const char *ns;
    int patch_rc;
};

/* Another thread: a change the watch must see, then the cancellation. */
static void *cancel_main(void *arg)
{
    struct canceller *c = arg;
    struct kube_ref r = cm_ref(c->ns, "c");
    struct json_object *p = json_tokener_parse("{\"data\":{\"n\":\"2\"}}");
    c->patch_rc = kube_patch(admin, &r, KUBE_PATCH_MERGE, p, NULL, NULL);
    json_object_put(p);
    it_sleep_ms(1500);
    kube_watch_cancel(c->w);
    return NULL;
}

static void test_watch_resume(void)
{
    it_test_begin("watch: order, resume, cancel, stop");
    char *ns = it_ns_new(admin, "it-kube-watch");
    struct kube_err err;
    const char *w1 = "{\"w\":\"1\"}";
    struct kube_ref coll = cm_ref(ns, NULL);
    struct kube_list_opts lo = {.label_selector = "w=1"};
    struct names none = {0};
    char rv0[64] = "";
    CHECK_OK(kube_list(admin, &coll, &lo, collect, &none, rv0, sizeof(rv0), &err), err);
    CU_ASSERT_EQUAL(none.n, 0);

    struct kube_watch *w = NULL, *w2 = NULL, *w3 = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(admin, &w), 0);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w, rv0), 0);
    struct kube_watch_params p = {.ref = coll, .label_selector = "w=1", .timeout_seconds = 5};

    /* 1. Changes made while the watch runs arrive in order; the server ends it. */
    struct evlog l1 = {0};
    CU_ASSERT_EQUAL(kube_watch_start(w, &p, ev_cb, &l1, &err), KUBE_WATCH_RUNNING);
    json_object_put(cm_create(ns, "a", w1, NULL));
    cm_merge(ns, "a", "{\"data\":{\"n\":\"1\"}}");
    json_object_put(cm_create(ns, "b", w1, NULL));
    cm_delete(ns, "a");
    int64_t t0 = it_now_ms();
    CU_ASSERT_EQUAL(watch_finish(w, &err), KUBE_WATCH_TIMEOUT);
    int64_t took = it_now_ms() - t0;
    static const char *const want1[] = {"ADDED a", "MODIFIED a", "ADDED b", "DELETED a"};
    CU_ASSERT(evlog_is(&l1, want1, 4));
    CU_ASSERT(took > 3000 && took < 15000);
    char rv1[64];
    snprintf(rv1, sizeof(rv1), "%s", kube_watch_resource_version(w));
    CU_ASSERT(rv1[0] != '\0' && strcmp(rv1, rv0) != 0);

    /* 2. Changes while nobody watches; resuming from the last resourceVersion
     * delivers exactly those: nothing lost, nothing repeated. */
    cm_merge(ns, "b", "{\"data\":{\"n\":\"1\"}}");
    json_object_put(cm_create(ns, "c", w1, NULL));
    cm_create_big(ns, "big", w1, 600 * 1000, NULL); /* one event line of 600 KB */
    cm_delete(ns, "b");
    struct evlog l2 = {0};
    p.timeout_seconds = 3;
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &l2, &err), KUBE_WATCH_TIMEOUT);
    static const char *const want2[] = {"MODIFIED b", "ADDED c", "ADDED big", "DELETED b"};
    CU_ASSERT(evlog_is(&l2, want2, 4));

    /* 3. Cancelled from another thread while idle in a long watch; cancellation
     * is final for that watch, and a new one resumes where it stopped. */
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(admin, &w2), 0);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w2, kube_watch_resource_version(w)), 0);
    struct canceller cc = {.w = w2, .ns = ns};
    struct evlog l3 = {0};
    pthread_t th;
    p.timeout_seconds = 120;
    t0 = it_now_ms();
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_main, &cc), 0);
    CU_ASSERT_EQUAL(kube_watch_run(w2, &p, ev_cb, &l3, &err), KUBE_WATCH_CANCELLED);
    took = it_now_ms() - t0;
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(cc.patch_rc, 0);
    static const char *const want3[] = {"MODIFIED c"};
    CU_ASSERT(evlog_is(&l3, want3, 1));
    CU_ASSERT(took >= 1400 && took < 5000);
    fprintf(stderr, "  cancelled after %lld ms\n", (long long)took);
    CU_ASSERT_EQUAL(kube_watch_run(w2, &p, ev_cb, &l3, &err), KUBE_WATCH_CANCELLED);

    cm_delete(ns, "c");
    json_object_put(cm_create(ns, "d", w1, NULL));
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(admin, &w3), 0);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w3, kube_watch_resource_version(w2)), 0);

    /* 4. A callback that stops the run: its event is not recorded, so the next
     * run delivers it again. */
    char rv3[64];
    snprintf(rv3, sizeof(rv3), "%s", kube_watch_resource_version(w3));
    struct evlog l4 = {.stop_at = 1};
    p.timeout_seconds = 30;
    CU_ASSERT_EQUAL(kube_watch_run(w3, &p, ev_cb, &l4, &err), KUBE_WATCH_STOPPED);
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w3), rv3);
    struct evlog l5 = {0};
    p.timeout_seconds = 3;
    CU_ASSERT_EQUAL(kube_watch_run(w3, &p, ev_cb, &l5, &err), KUBE_WATCH_TIMEOUT);
    static const char *const want5[] = {"DELETED c", "ADDED d"};
    CU_ASSERT(evlog_is(&l4, want5, 1));
    CU_ASSERT(evlog_is(&l5, want5, 2));

    /* Bookmarks: the API server sends one about 2 s before a watch's deadline. */
    int bm = l1.bookmarks + l2.bookmarks + l3.bookmarks + l5.bookmarks;
    fprintf(stderr, "  bookmarks seen: %d (runs of 5 s: %d, 3 s: %d and %d)\n", bm, l1.bookmarks,
            l2.bookmarks, l5.bookmarks);
    CU_ASSERT(kube_watch_event_count(w) >= 8);

    /* A run abandoned half-way is released by kube_watch_free. */
    struct kube_watch *w4 = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(admin, &w4), 0);
    struct evlog l6 = {0};
    if (kube_watch_start(w4, &p, ev_cb, &l6, &err) == KUBE_WATCH_RUNNING)
        CU_ASSERT_EQUAL(kube_watch_step(w4, 500, &err), KUBE_WATCH_RUNNING);
    kube_watch_free(w4);
    kube_watch_free(w);
    kube_watch_free(w2);
    kube_watch_free(w3);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- 410 Gone and the relist ---- */

static void test_watch_expired(void)
{
    it_test_begin("watch: 410 Gone, then relist");
    char *ns = it_ns_new(admin, "it-kube-expired");
    struct kube_err err;
    json_object_put(omj_create(ns, "before"));

    /* OMJobs' watch cache began when the CRD was installed, long after revision 1:
     * a watch from "1" is "too old resource version" (an ERROR event, 410). */
    struct kube_watch *w = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(admin, &w), 0);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w, "1"), 0);
    struct kube_watch_params p = {.ref = omj_ref(ns, NULL), .timeout_seconds = 10};
    struct evlog l = {0};
    int64_t t0 = it_now_ms();
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &l, &err), KUBE_WATCH_EXPIRED);
    fprintf(stderr, "  watch from \"1\": %d %s: %s (%lld ms)\n", err.http, err.reason, err.message,
            (long long)(it_now_ms() - t0));
    CU_ASSERT_EQUAL(err.http, 410);
    CU_ASSERT_STRING_EQUAL(err.reason, "Expired");
    CU_ASSERT(contains(err.message, "too old resource version"));
    CU_ASSERT(kube_err_is_expired(&err));
    CU_ASSERT_EQUAL(kube_err_errno(&err), -ESTALE);
    CU_ASSERT_EQUAL(l.n, 0);
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w), ""); /* forgotten */

    /* The relist: LIST, watch from its resourceVersion, see the next change only. */
    struct names items = {0};
    char rv[64] = "";
    struct kube_ref coll = omj_ref(ns, NULL);
    CHECK_OK(kube_list(admin, &coll, NULL, collect, &items, rv, sizeof(rv), &err), err);
    CU_ASSERT_EQUAL(items.n, 1);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w, rv), 0);
    p.timeout_seconds = 3;
    CU_ASSERT_EQUAL(kube_watch_start(w, &p, ev_cb, &l, &err), KUBE_WATCH_RUNNING);
    json_object_put(omj_create(ns, "after"));
    CU_ASSERT_EQUAL(watch_finish(w, &err), KUBE_WATCH_TIMEOUT);
    static const char *const want[] = {"ADDED after"};
    CU_ASSERT(evlog_is(&l, want, 1));

    /* Without a resourceVersion (as after EXPIRED), a run starts with the current
     * state: a synthetic ADDED per object, then the changes. */
    struct evlog all = {0};
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w, ""), 0);
    p.timeout_seconds = 1;
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &all, &err), KUBE_WATCH_TIMEOUT);
    bool fwd = all.n == 2 && strcmp(all.ev[0], "ADDED after") == 0;
    bool rev = all.n == 2 && strcmp(all.ev[0], "ADDED before") == 0; /* order unspecified */
    CU_ASSERT(fwd ? strcmp(all.ev[1], "ADDED before") == 0
                  : rev && strcmp(all.ev[1], "ADDED after") == 0);

    /* Any other refusal ends the run with HTTP_ERROR and the server's Status. */
    p.label_selector = "a in (";
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &all, &err), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(err.http, 400);
    CU_ASSERT_STRING_EQUAL(err.reason, "BadRequest");
    fprintf(stderr, "  bad selector: %s\n", err.message);
    kube_watch_free(w);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- the restricted identity ---- */

static void test_restricted(void)
{
    it_test_begin("restricted identity: 403 Forbidden, pods allowed");
    char *ns = it_ns_new(admin, "it-kube-rbac");
    const char *path = getenv("OMJOB_TEST_KUBECONFIG");
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    struct kube_client *op = it_client(path, NULL);
    struct kube_err err;
    struct names seen = {0};

    struct kube_ref secrets = {.gv = "v1", .plural = "secrets", .ns = ns};
    CU_ASSERT_EQUAL(kube_list(op, &secrets, NULL, collect, &seen, NULL, 0, &err), -EPERM);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_HTTP);
    CU_ASSERT_EQUAL(err.http, 403);
    CU_ASSERT_STRING_EQUAL(err.reason, "Forbidden");
    CU_ASSERT(contains(err.message, "cannot list resource \"secrets\""));
    CU_ASSERT(contains(err.message, "system:serviceaccount:omjob-system:omjob-operator"));
    CU_ASSERT_EQUAL(err.attempts, 1);
    fprintf(stderr, "  %s\n", err.message);

    struct json_object *cm = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                     "\"metadata\":{\"name\":\"nope\"}}");
    struct kube_ref cms = cm_ref(ns, NULL);
    CU_ASSERT_EQUAL(kube_create(op, &cms, cm, NULL, &err), -EPERM);
    CU_ASSERT_EQUAL(err.http, 403);
    CU_ASSERT_STRING_EQUAL(err.reason, "Forbidden");
    CU_ASSERT(contains(err.message, "cannot create resource \"configmaps\""));
    json_object_put(cm);

    /* Pods are allowed: list and watch. A watch on secrets is a typed 403 end. */
    struct kube_ref pods = {.gv = "v1", .plural = "pods", .ns = ns};
    char rv[64] = "";
    CHECK_OK(kube_list(op, &pods, NULL, collect, &seen, rv, sizeof(rv), &err), err);
    CU_ASSERT_EQUAL(seen.n, 0);
    CU_ASSERT(rv[0] != '\0');
    struct kube_watch *w = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(op, &w), 0);
    struct kube_watch_params p = {.ref = pods, .timeout_seconds = 1};
    struct evlog l = {0};
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &l, &err), KUBE_WATCH_TIMEOUT);
    p.ref = secrets;
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, ev_cb, &l, &err), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(err.http, 403);
    CU_ASSERT_STRING_EQUAL(err.reason, "Forbidden");
    CU_ASSERT(contains(err.message, "cannot watch resource \"secrets\""));
    kube_watch_free(w);
    kube_client_free(op);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- TLS verification ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* A request with a client made from the kubeconfig at path; returns its error. */
static int probe(const char *path, const char *ns, struct kube_err *err)
{
    struct kube_client_opts o = {.max_attempts = 3};
    struct kube_client *c = it_client(path, &o);
    struct kube_ref r = {.gv = "v1", .plural = "namespaces", .name = ns};
    int rc = kube_get(c, &r, NULL, err);
    if (rc != 0)
        fprintf(stderr, "  %s: %s http %d attempts %d: %s\n", strrchr(path, '/') + 1,
                kube_errkind_str(err->kind), err->http, err->attempts, err->message);
    kube_client_free(c);
    return rc;
}

/* The machine's host name when it resolves to 127.0.0.1 and is none of the
 * serving certificate's names; else NULL. */
static const char *mismatched_host(char *buf, size_t cap)
{
    struct addrinfo hints = {.ai_family = AF_INET}, *ai = NULL;
    if (gethostname(buf, cap) != 0 || strcmp(buf, "localhost") == 0 || strchr(buf, '.'))
        return NULL;
    if (getaddrinfo(buf, NULL, &hints, &ai) != 0)
        return NULL;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
    bool lo = sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    freeaddrinfo(ai);
    return lo ? buf : NULL;
}

static void test_tls(void)
{
    it_test_begin("TLS verification");
    char *ns = it_ns_new(admin, "it-kube-tls");
    char *dir = it_tmpdir_new();
    const char *kc = getenv("KUBECONFIG");
    CU_ASSERT_PTR_NOT_NULL_FATAL(kc);
    struct kube_err err;
    static const char *const ca_keys[] = {"certificate-authority", "insecure-skip-tls-verify"};

    /* An unrelated CA: a TLS error, not retried, no HTTP code. */
    char ca[512], line[600];
    snprintf(ca, sizeof(ca), "%s/unrelated-ca.crt", dir);
    write_file(ca, unrelated_ca);
    snprintf(line, sizeof(line), "certificate-authority: %s", ca);
    char *bad = it_kubeconfig_variant(kc, dir, "bad-ca.kubeconfig", ca_keys, 2, line);
    CU_ASSERT_EQUAL(probe(bad, ns, &err), -EPROTO);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_TLS);
    CU_ASSERT_EQUAL(err.http, 0);
    CU_ASSERT_EQUAL(err.attempts, 1);

    /* The same for a watch: it ends DISCONNECTED with the TLS kind. */
    struct kube_client *bc = it_client(bad, NULL);
    struct kube_watch *w = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(bc, &w), 0);
    struct kube_watch_params p = {.ref = cm_ref(ns, NULL), .timeout_seconds = 5};
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, NULL, NULL, &err), KUBE_WATCH_DISCONNECTED);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_TLS);
    kube_watch_free(w);
    kube_client_free(bc);

    /* The right CA but a host name the certificate does not name. */
    char host[256], srv[600];
    struct kube_client *probe_admin = it_client(kc, NULL);
    const char *url = kube_config_server(kube_client_config(probe_admin));
    const char *port = strrchr(url, ':');
    if (mismatched_host(host, sizeof(host)) != NULL && port != NULL) {
        static const char *const srv_key[] = {"server"};
        snprintf(srv, sizeof(srv), "server: https://%s%s", host, port);
        char *other = it_kubeconfig_variant(kc, dir, "host.kubeconfig", srv_key, 1, srv);
        CU_ASSERT_EQUAL(probe(other, ns, &err), -EPROTO);
        CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_TLS);
        free(other);
    } else {
        fprintf(stderr, "  host name check skipped: no other name for 127.0.0.1\n");
    }
    kube_client_free(probe_admin);

    /* insecure-skip-tls-verify: true works (no CA at all). */
    char *insecure = it_kubeconfig_variant(kc, dir, "insecure.kubeconfig", ca_keys, 2,
                                           "insecure-skip-tls-verify: true");
    struct kube_client *ic = it_client(insecure, NULL);
    CU_ASSERT(kube_config_insecure(kube_client_config(ic)));
    kube_client_free(ic);
    CU_ASSERT_EQUAL(probe(insecure, ns, &err), 0);
    CU_ASSERT_EQUAL(err.http, 200);
    free(insecure);
    free(bad);
    it_tmpdir_free(dir);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- a token file re-read after a 401 ---- */

/* The inline token of the kubeconfig at path (a secret: never printed). */
static bool kubeconfig_token(const char *path, char *tok, size_t cap)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t lcap = 0;
    bool found = false;
    while (f != NULL && !found && getline(&line, &lcap, f) >= 0) {
        char *p = line + strspn(line, " ");
        if (strncmp(p, "token:", 6) == 0) {
            p += 6 + strspn(p + 6, " ");
            p[strcspn(p, " \r\n")] = '\0';
            found = *p != '\0' && strlen(p) < cap;
            if (found)
                snprintf(tok, cap, "%s", p);
        }
    }
    if (line != NULL)
        explicit_bzero(line, lcap);
    free(line);
    if (f != NULL)
        fclose(f);
    return found;
}

static void test_token_file(void)
{
    it_test_begin("token file re-read after a 401");
    char *ns = it_ns_new(admin, "it-kube-token");
    char *dir = it_tmpdir_new();
    const char *kc = getenv("KUBECONFIG");
    char tok[512], tf[300], line[400];
    struct kube_err err;
    CU_ASSERT_FATAL(kubeconfig_token(kc, tok, sizeof(tok)));
    snprintf(tf, sizeof(tf), "%s/token", dir);
    write_file(tf, "not-the-token\n");
    snprintf(line, sizeof(line), "tokenFile: %s", tf);
    static const char *const keys[] = {"token"};
    char *path = it_kubeconfig_variant(kc, dir, "tokenfile.kubeconfig", keys, 1, line);
    struct kube_client *c = it_client(path, NULL), *cw = it_client(path, NULL);
    struct kube_ref r = {.gv = "v1", .plural = "namespaces", .name = ns};

    /* A wrong token: a typed 401; the file, re-read, has not changed: no retry. */
    CU_ASSERT_EQUAL(kube_get(c, &r, NULL, &err), -EACCES);
    CU_ASSERT_EQUAL(err.http, 401);
    CU_ASSERT_STRING_EQUAL(err.reason, "Unauthorized");
    CU_ASSERT_EQUAL(err.attempts, 1);
    struct kube_watch *w = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(cw, &w), 0);
    struct kube_watch_params p = {.ref = cm_ref(ns, NULL), .timeout_seconds = 1};
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, NULL, NULL, &err), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(err.http, 401);

    /* Rotated: the next request meets 401, re-reads the file and retries at once. */
    char good[600];
    snprintf(good, sizeof(good), "%s\n", tok);
    write_file(tf, good);
    explicit_bzero(good, sizeof(good));
    explicit_bzero(tok, sizeof(tok));
    CHECK_OK(kube_get(c, &r, NULL, &err), err);
    CU_ASSERT_EQUAL(err.attempts, 2);
    /* A watch's 401 re-reads the file too, for its next run. */
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, NULL, NULL, &err), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(err.http, 401);
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, NULL, NULL, &err), KUBE_WATCH_TIMEOUT);
    kube_watch_free(w);
    kube_client_free(c);
    kube_client_free(cw);
    free(path);
    it_tmpdir_free(dir);
    it_ns_delete(admin, ns);
    it_test_end();
}

/* ---- the observer ---- */

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_observer(void)
{
    it_test_begin("observer: method and code of every request");
    char *ns = it_ns_new(admin, "it-kube-obs");
    struct kube_client *c = it_client(NULL, NULL);
    struct it_obs obs = {0};
    kube_client_set_observer(c, it_obs_fn, &obs);
    struct kube_err err;
    struct kube_ref r = cm_ref(ns, "o");
    struct json_object *cm = it_json("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                                     "\"metadata\":{\"name\":\"o\"}}");
    struct json_object *p = it_json("{\"data\":{\"x\":\"1\"}}");
    struct json_object *got = NULL;
    struct names seen = {0};

    CU_ASSERT_EQUAL(kube_get(c, &r, NULL, &err), -ENOENT);
    CHECK_OK(kube_create(c, &r, cm, NULL, &err), err);
    CU_ASSERT_EQUAL(kube_create(c, &r, cm, NULL, &err), -EEXIST);
    CHECK_OK(kube_get(c, &r, &got, &err), err);
    CHECK_OK(kube_patch(c, &r, KUBE_PATCH_MERGE, p, NULL, &err), err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    /* Without a resourceVersion: an unconditional update. */
    json_object_object_add(got, "metadata", it_json("{\"name\":\"o\"}"));
    CHECK_OK(kube_update(c, &r, got, NULL, &err), err);
    struct kube_ref coll = cm_ref(ns, NULL);
    CHECK_OK(kube_list(c, &coll, NULL, collect, &seen, NULL, 0, &err), err);
    struct kube_watch *w = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_watch_new(c, &w), 0);
    struct kube_watch_params wp = {.ref = coll, .timeout_seconds = 1};
    CU_ASSERT_EQUAL(kube_watch_run(w, &wp, NULL, NULL, &err), KUBE_WATCH_TIMEOUT);
    kube_watch_free(w);
    CHECK_OK(kube_delete(c, &r, NULL, NULL, &err), err);

    static const struct {
        const char *method;
        int code;
    } want[] = {{"GET", 404}, {"POST", 201}, {"POST", 409}, {"GET", 200},   {"PATCH", 200},
                {"PUT", 200}, {"GET", 200},  {"GET", 200},  {"DELETE", 200}};
    size_t nwant = sizeof(want) / sizeof(want[0]);
    CU_ASSERT_EQUAL(obs.n, (int)nwant);
    for (size_t i = 0; i < nwant && i < (size_t)obs.n; i++) {
        bool ok = strcmp(obs.rec[i].method, want[i].method) == 0 && obs.rec[i].code == want[i].code;
        if (!ok)
            fprintf(stderr, "  request %zu: %s %d, wanted %s %d\n", i, obs.rec[i].method,
                    obs.rec[i].code, want[i].method, want[i].code);
        CU_ASSERT(ok);
        CU_ASSERT(obs.rec[i].seconds >= 0 && obs.rec[i].seconds < 30);
    }
    json_object_put(got);
    json_object_put(p);
    json_object_put(cm);
    kube_client_free(c);

    /* No answer at all: code 0, once per attempt (connection errors are retried). */
    char *dir = it_tmpdir_new(), srv[128];
    static const char *const srv_key[] = {"server"};
    snprintf(srv, sizeof(srv), "server: https://127.0.0.1:%d", closed_port());
    char *kc =
        it_kubeconfig_variant(getenv("KUBECONFIG"), dir, "closed.kubeconfig", srv_key, 1, srv);
    struct kube_client_opts o = {.max_attempts = 3};
    c = it_client(kc, &o);
    struct it_obs obs0 = {0};
    kube_client_set_observer(c, it_obs_fn, &obs0);
    int64_t t0 = it_now_ms();
    CU_ASSERT_EQUAL(kube_get(c, &r, NULL, &err), -ECONNREFUSED);
    CU_ASSERT_EQUAL(err.kind, KUBE_ERRK_CONNECT);
    CU_ASSERT_EQUAL(err.attempts, 3);
    CU_ASSERT_EQUAL(it_obs_count(&obs0, "GET", 0), 3);
    fprintf(stderr, "  connection refused, 3 attempts in %lld ms: %s\n",
            (long long)(it_now_ms() - t0), err.message);
    kube_client_free(c);
    free(kc);
    it_tmpdir_free(dir);
    it_ns_delete(admin, ns);
    it_test_end();
}

int main(void)
{
    it_deadline(DEADLINE_SECONDS);
    if (getenv("KUBECONFIG") == NULL || getenv("OMJOB_TEST_KUBECONFIG") == NULL) {
        fprintf(stderr, "itest_kube: run under tests/cluster/with-cluster "
                        "(KUBECONFIG and OMJOB_TEST_KUBECONFIG unset)\n");
        return 2;
    }
    admin = it_client(getenv("KUBECONFIG"), NULL);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_integration", NULL, NULL);
    CU_add_test(su, "create, get, list with pages", test_create_get_list);
    CU_add_test(su, "merge patch, JSON patch, server-side apply", test_patches);
    CU_add_test(su, "409 Conflict and AlreadyExists", test_conflicts);
    CU_add_test(su, "delete: preconditions and propagation", test_delete);
    CU_add_test(su, "OMJob status subresource", test_omjob_status);
    CU_add_test(su, "watch: order, resume, cancel, stop", test_watch_resume);
    CU_add_test(su, "watch: 410 Gone, then relist", test_watch_expired);
    CU_add_test(su, "restricted identity", test_restricted);
    CU_add_test(su, "TLS verification", test_tls);
    CU_add_test(su, "token file re-read after a 401", test_token_file);
    CU_add_test(su, "observer", test_observer);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    it_ns_cleanup_all(admin);
    kube_client_free(admin);
    return rc;
}

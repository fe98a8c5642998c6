/* Unit tests of the watcher's cache: OMJob and pod compaction from recorded
 * objects, upsert/delete with hints, pods filed under their OMJob's key, the
 * relist sweep, the GET_KEY and LIST_SHARD bodies and the truth handler, bad
 * objects skipped; and the measured size of a cache entry. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "roles/watcher/cache.h"
#include "model/objects.h"
#include "roles/watcher/truth.h"

#define MAX_HINTS 64

static struct {
    enum ipc_kind kind;
    char key[IPC_KEY_MAX + 1];
    char ns[64];
    uint64_t rev;
    bool finished;
    bool urgent;
    bool has_ttl;       /* an OMJob hint: the TTL facts of the OMJob after the change */
    struct ipc_ttl ttl; /* (wc_obj_ttl; flags 0 when it is gone) */
} hints[MAX_HINTS];
static int nhints;

static void record(void *ctx, enum ipc_kind kind, const char *key, const char *ns, const char *name,
                   uint64_t rev, unsigned flags, const struct wc_obj *omjob)
{
    (void)ctx;
    (void)name;
    if (nhints == MAX_HINTS)
        return;
    hints[nhints].kind = kind;
    util_strlcpy(hints[nhints].key, key, sizeof(hints[nhints].key));
    util_strlcpy(hints[nhints].ns, ns, sizeof(hints[nhints].ns));
    hints[nhints].rev = rev;
    hints[nhints].finished = (flags & WC_HINT_FINISHED) != 0;
    hints[nhints].urgent = (flags & WC_HINT_URGENT) != 0;
    hints[nhints].has_ttl = kind == IPC_KIND_OMJOB;
    if (kind == IPC_KIND_OMJOB) {
        CU_ASSERT(wc_obj_ttl(omjob, &hints[nhints].ttl) == 0);
    } else {
        CU_ASSERT_PTR_NULL(omjob);
    }
    nhints++;
}

static struct wcache *new_cache(void)
{
    struct wcache *c = wcache_new();
    CU_ASSERT_FATAL(c != NULL);
    wcache_set_hint(c, record, NULL);
    nhints = 0;
    return c;
}

/* A recorded object from tests/unit/data/watcher (new reference). */
static struct json_object *load(const char *name)
{
    char path[1024], buf[65536];
    const char *dir = getenv("OMJOB_TEST_DATA");
    struct json_object *o = NULL;
    snprintf(path, sizeof(path), "%s/watcher/%s", dir ? dir : "tests/unit/data", name);
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CU_ASSERT_FATAL(jx_parse(buf, n, &o, NULL, 0) == 0 && o != NULL);
    return o;
}

static struct json_object *parse(const char *s)
{
    struct json_object *o = NULL;
    CU_ASSERT_FATAL(jx_parse(s, strlen(s), &o, NULL, 0) == 0);
    return o;
}

/* A minimal object: kind "omjob" (also CronOMJob) or "pod" filed under owner. */
static struct json_object *mk(const char *ns, const char *name, const char *uid, const char *rv,
                              const char *owner)
{
    char s[1024];
    if (owner != NULL)
        snprintf(s, sizeof(s),
                 "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
                 "\"resourceVersion\":\"%s\",\"labels\":{\"omjob.pipelines.openmetadata.org/"
                 "name\":\"%s\"}},\"status\":{\"phase\":\"Running\"}}",
                 ns, name, uid, rv, owner);
    else
        snprintf(s, sizeof(s),
                 "{\"metadata\":{\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
                 "\"resourceVersion\":\"%s\"},\"spec\":{\"x\":1}}",
                 ns, name, uid, rv);
    return parse(s);
}

static int upsert(struct wcache *c, enum wc_kind k, struct json_object *o, uint32_t stamp)
{
    int rc = wcache_upsert(c, k, o, stamp);
    json_object_put(o);
    return rc;
}

/* The GET_KEY body as JSON (new reference). */
static struct json_object *get_key(struct wcache *c, const char *key, bool cron)
{
    char *out = NULL;
    size_t len = 0;
    struct json_object *o = NULL;
    CU_ASSERT_FATAL(wcache_render_key(c, key, strlen(key), cron, &out, &len) == 0);
    CU_ASSERT(strlen(out) == len);
    CU_ASSERT_FATAL(jx_parse(out, len, &o, NULL, 0) == 0);
    free(out);
    return o;
}

/* The LIST_SHARD body of a synced cache (before the sync it holds no keys). */
static struct json_object *list(struct wcache *c, enum wc_kind k, int shard, int shards)
{
    wcache_set_synced(c, true);
    struct wc_listq q = {.lq_kind = k, .lq_shard = shard, .lq_shards = shards};
    char *out = NULL;
    size_t len = 0;
    struct json_object *o = NULL;
    CU_ASSERT_FATAL(wcache_render_list(c, &q, &out, &len) == 0);
    CU_ASSERT_FATAL(jx_parse(out, len, &o, NULL, 0) == 0);
    free(out);
    return o;
}

static void test_omjob_upsert_delete(void)
{
    struct wcache *c = new_cache();
    struct json_object *o = load("omjob.json");
    const char *key = "crd-277a4bcb/om-job-mysql-metadata-ingestion-3f9c2a1b";
    CU_ASSERT(upsert(c, WC_OMJOB, o, 1) == 0);
    CU_ASSERT(nhints == 1 && hints[0].kind == IPC_KIND_OMJOB && strcmp(hints[0].key, key) == 0 &&
              strcmp(hints[0].ns, "crd-277a4bcb") == 0 && hints[0].rev == 1);
    CU_ASSERT(wcache_count(c, WC_OMJOB) == 1 && wcache_revision(c) == 1);

    struct json_object *r = get_key(c, key, false);
    struct json_object *j = jx_obj(r, "omjob");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "key", ""), key);
    CU_ASSERT(jx_i64_or(r, "cacheRevision", -1) == 1);
    CU_ASSERT(jx_bool_or(r, "synced", true) == false);
    CU_ASSERT(jx_get(j, "metadata.managedFields") == NULL);
    CU_ASSERT(jx_get(j, "metadata.annotations.kubectl\\.kubernetes\\.io/"
                        "last-applied-configuration") == NULL);
    CU_ASSERT_STRING_EQUAL(jx_str_or(j, "metadata.annotations.keep", ""), "me");
    CU_ASSERT_STRING_EQUAL(jx_str_or(j, "spec.mainPodSpec.image", ""),
                           "openmetadata/ingestion-base:1.12.0");
    CU_ASSERT(jx_i64_or(j, "spec.ttlSecondsAfterFinished", 0) == 604800);
    CU_ASSERT(jx_arr_len(r, "pods") == 0);
    json_object_put(r);

    /* The same resourceVersion again (a relist): no hint. A new one: a hint. */
    o = load("omjob.json");
    CU_ASSERT(upsert(c, WC_OMJOB, o, 2) == 0);
    CU_ASSERT(nhints == 1);
    o = load("omjob.json");
    jx_set_str(o, "metadata.resourceVersion", "999999");
    jx_set_str(o, "status.phase", "Running");
    CU_ASSERT(upsert(c, WC_OMJOB, o, 2) == 0);
    CU_ASSERT(nhints == 2 && hints[1].rev == 2);
    r = get_key(c, key, false);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjob.status.phase", ""), "Running");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjob.metadata.resourceVersion", ""), "999999");
    json_object_put(r);

    /* DELETED of another incarnation (uid) is ignored; of this one removes it. */
    o = load("omjob.json");
    jx_set_str(o, "metadata.uid", "other");
    CU_ASSERT(wcache_delete(c, WC_OMJOB, o) == 0);
    json_object_put(o);
    o = load("omjob.json");
    CU_ASSERT(wcache_delete(c, WC_OMJOB, o) == 1);
    CU_ASSERT(wcache_delete(c, WC_OMJOB, o) == 0);
    json_object_put(o);
    CU_ASSERT(nhints == 3 && hints[2].kind == IPC_KIND_OMJOB && hints[2].rev == 3);
    CU_ASSERT(wcache_count(c, WC_OMJOB) == 0);
    r = get_key(c, key, false);
    CU_ASSERT(jx_get(r, "omjob") == NULL && json_object_object_get_ex(r, "omjob", NULL));
    json_object_put(r);
    wcache_free(c);
}

static void test_obj_fields(void)
{
    struct wc_obj *o = NULL;
    struct json_object *j = load("omjob.json");
    jx_set_str(j, "metadata.deletionTimestamp", "2026-11-25T10:00:00Z");
    jx_set_i64(j, "metadata.generation", 7);
    CU_ASSERT_FATAL(wc_obj_parse(j, &o) == 0);
    CU_ASSERT_STRING_EQUAL(o->o_ns, "crd-277a4bcb");
    CU_ASSERT_STRING_EQUAL(o->o_key + strlen(o->o_ns) + 1,
                           "om-job-mysql-metadata-ingestion-3f9c2a1b");
    CU_ASSERT_STRING_EQUAL(o->o_uid, jx_str_or(j, "metadata.uid", ""));
    CU_ASSERT(o->o_generation == 7);
    CU_ASSERT(o->o_deletion_ts == 1795600800); /* 2026-11-25T10:00:00Z */
    CU_ASSERT(o->o_nfinalizers == 1);
    CU_ASSERT_STRING_EQUAL(o->o_finalizers, "omjob.pipelines.openmetadata.org/finalizer");
    CU_ASSERT(o->o_owner_cron == NULL);
    CU_ASSERT(strlen(o->o_json) == o->o_json_len);
    struct sbuf sb = {0}; /* what GET_KEY answers: the stored text decoded */
    wc_obj_put_json(&sb, o);
    CU_ASSERT_EQUAL(sb.sb_err, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(sbuf_str(&sb), "\"metadata\":{"));
    CU_ASSERT(strstr(sbuf_str(&sb), "managedFields") == NULL);
    CU_ASSERT(strstr(sbuf_str(&sb), "last-applied") == NULL);
    sbuf_free(&sb);
    free(o);
    json_object_put(j);
}

/* deletedAfterEnd: what the pod was when the cache first saw its deletion. */
static void pod_phase(struct wcache *c, const char *rv, const char *phase, bool deleted)
{
    struct json_object *p = mk("ns", "p", "u", rv, "j");
    jx_set_str(p, "status.phase", phase);
    if (deleted)
        jx_set_str(p, "metadata.deletionTimestamp", "2026-11-25T10:00:00Z");
    CU_ASSERT(upsert(c, WC_POD, p, 1) == 0);
}

static const char *deleted_after_end(struct wcache *c)
{
    static char buf[16];
    struct json_object *o = get_key(c, "ns/j", false);
    struct json_object *v = jx_get(o, "pods.0.deletedAfterEnd");
    snprintf(buf, sizeof(buf), "%s", v == NULL ? "null" : json_object_to_json_string(v));
    json_object_put(o);
    return buf;
}

static void test_deleted_after_end(void)
{
    struct wcache *c = wcache_new();
    CU_ASSERT_FATAL(c != NULL);
    pod_phase(c, "1", "Running", false);
    CU_ASSERT_STRING_EQUAL(deleted_after_end(c), "null");
    pod_phase(c, "2", "Running", true);
    CU_ASSERT_STRING_EQUAL(deleted_after_end(c), "false");
    pod_phase(c, "3", "Failed", true); /* killed by the deletion: still false */
    CU_ASSERT_STRING_EQUAL(deleted_after_end(c), "false");
    wcache_free(c);

    c = wcache_new();
    pod_phase(c, "1", "Failed", false);
    pod_phase(c, "2", "Failed", true); /* the garbage collector, say */
    CU_ASSERT_STRING_EQUAL(deleted_after_end(c), "true");
    wcache_free(c);

    c = wcache_new();
    pod_phase(c, "1", "Failed", true); /* first seen deleted: unknown */
    CU_ASSERT_STRING_EQUAL(deleted_after_end(c), "null");
    wcache_free(c);
}

static void test_pod_terminated(void)
{
    struct wc_pod *p = NULL;
    struct json_object *j = load("pod-terminated.json");
    struct json_object *ann = json_object_new_object();
    json_object_object_add(ann, "omjob.pipelines.openmetadata.org/main-reason",
                           json_object_new_string("OOMKilled"));
    json_object_object_add(ann, "omjob.pipelines.openmetadata.org/main-exit-code",
                           json_object_new_string("137"));
    json_object_object_add(jx_obj(j, "metadata"), "annotations", ann);
    CU_ASSERT_FATAL(wc_pod_parse(j, &p) == 0);
    CU_ASSERT_STRING_EQUAL(p->p_id, "crd-277a4bcb/om-job-mysql-metadata-ingestion-3f9c2a1b-main");
    CU_ASSERT_STRING_EQUAL(p->p_key, "crd-277a4bcb/om-job-mysql-metadata-ingestion-3f9c2a1b");
    CU_ASSERT_STRING_EQUAL(p->p_owner_name, "om-job-mysql-metadata-ingestion-3f9c2a1b");
    CU_ASSERT_STRING_EQUAL(p->p_pod_type, "main");
    CU_ASSERT_STRING_EQUAL(p->p_phase, "Failed");
    CU_ASSERT_STRING_EQUAL(p->p_node_name, "kwok-node-0");
    CU_ASSERT(p->p_ctr.cs_state == WC_CTR_TERMINATED && p->p_ctr.cs_exit_code == 3);
    CU_ASSERT(p->p_grace == 30 && p->p_deletion_ts == 1795600800);

    struct sbuf sb = {0};
    struct json_object *r = NULL;
    wc_pod_render(&sb, p);
    CU_ASSERT_FATAL(jx_parse(sbuf_str(&sb), sbuf_len(&sb), &r, NULL, 0) == 0);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "name", ""),
                           "om-job-mysql-metadata-ingestion-3f9c2a1b-main");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "namespace", ""), "crd-277a4bcb");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "uid", ""), jx_str_or(j, "metadata.uid", "x"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "resourceVersion", ""),
                           jx_str_or(j, "metadata.resourceVersion", "x"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "ownerUid", ""),
                           jx_str_or(j, "metadata.ownerReferences.0.uid", "x"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "ownerName", ""),
                           "om-job-mysql-metadata-ingestion-3f9c2a1b");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobLabel", ""),
                           "om-job-mysql-metadata-ingestion-3f9c2a1b");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podType", ""), "main");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "phase", ""), "Failed");
    CU_ASSERT(jx_get(r, "reason") == NULL && jx_get(r, "message") == NULL);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "nodeName", ""), "kwok-node-0");
    CU_ASSERT(jx_arr_len(r, "finalizers") == 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "finalizers.0", ""),
                           "omjob.pipelines.openmetadata.org/tracking");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "creationTimestamp", ""),
                           jx_str_or(j, "metadata.creationTimestamp", "x"));
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "startTime", ""), "2026-11-25T09:46:38Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "deletionTimestamp", ""), "2026-11-25T10:00:00Z");
    CU_ASSERT(jx_i64_or(r, "deletionGracePeriodSeconds", -1) == 30);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.state", ""), "terminated");
    CU_ASSERT(jx_i64_or(r, "container.exitCode", -1) == 3);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.reason", ""), "Error");
    CU_ASSERT(jx_get(r, "container.message") == NULL);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.startedAt", ""), "2026-11-25T09:46:39Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.finishedAt", ""), "2026-11-25T09:46:39Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "disruptionTarget.status", ""), "True");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "disruptionTarget.reason", ""), "EvictionByEvictionAPI");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "disruptionTarget.message", ""), "Eviction API: evicting");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podScheduled.status", ""), "True");
    CU_ASSERT(jx_get(r, "podScheduled.reason") == NULL);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podScheduled.lastTransitionTime", ""),
                           "2026-11-25T09:46:38Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "mainReason", ""), "OOMKilled");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "mainExitCode", ""), "137");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "ready.status", ""), "False");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "ready.reason", ""), "PodCompleted");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "ready.lastTransitionTime", ""), "2026-11-25T09:46:39Z");
    json_object_put(r);
    sbuf_free(&sb);
    free(p);
    json_object_put(j);
}

static void test_pod_waiting(void)
{
    struct wc_pod *p = NULL;
    struct json_object *j = load("pod-waiting.json"), *r = NULL;
    struct sbuf sb = {0};
    jx_set_str(j, "status.reason", "Evicted");
    jx_set_str(j, "status.message", "The node was low on resource: memory. \"quoted\"\n");
    CU_ASSERT_FATAL(wc_pod_parse(j, &p) == 0);
    CU_ASSERT_STRING_EQUAL(p->p_key, "crd-277a4bcb/other-job"); /* from the label */
    wc_pod_render(&sb, p);
    CU_ASSERT_FATAL(jx_parse(sbuf_str(&sb), sbuf_len(&sb), &r, NULL, 0) == 0);
    CU_ASSERT(jx_get(r, "ownerUid") == NULL && jx_get(r, "ownerName") == NULL);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podType", ""), "exit-handler");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "reason", ""), "Evicted");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "message", ""),
                           "The node was low on resource: memory. \"quoted\"\n");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.state", ""), "waiting");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.reason", ""), "ImagePullBackOff");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "container.message", ""), "Back-off pulling image");
    CU_ASSERT(jx_get(r, "container.exitCode") == NULL);
    CU_ASSERT(json_object_object_get_ex(r, "container", NULL));
    CU_ASSERT(jx_get(r, "deletionTimestamp") == NULL &&
              jx_get(r, "deletionGracePeriodSeconds") == NULL);
    CU_ASSERT(jx_get(r, "disruptionTarget") == NULL &&
              json_object_object_get_ex(r, "disruptionTarget", NULL));
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podScheduled.status", ""), "False");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podScheduled.reason", ""), "Unschedulable");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "podScheduled.message", ""), "0/3 nodes are available");
    CU_ASSERT(jx_arr_len(r, "finalizers") == 0 && jx_arr(r, "finalizers") != NULL);
    json_object_put(r);
    sbuf_free(&sb);
    free(p);
    json_object_put(j);
}

/* wc_pod_parse of a pod built with only wc_pod_keep's members (as the watcher
 * lists and watches pods) gives the same cached pod as of the whole pod: the same
 * compact JSON, key, finalizers and times. */
static void pod_keep_same(const char *text, size_t len)
{
    struct jx_parser *jp = NULL;
    struct json_object *whole = NULL, *kept = NULL;
    struct wc_pod *a = NULL, *b = NULL;
    CU_ASSERT_FATAL(jx_parser_new(&jp) == 0);
    CU_ASSERT_FATAL(jx_parse(text, len, &whole, NULL, 0) == 0);
    CU_ASSERT_FATAL(jx_parser_parse_keep(jp, text, len, wc_pod_keep, &kept, NULL, 0) == 0);
    /* what it keeps is smaller: the spec's env, volumes, ... are gone */
    CU_ASSERT(strlen(json_object_to_json_string(kept)) < strlen(json_object_to_json_string(whole)));
    CU_ASSERT_PTR_NULL(jx_get(kept, "spec.containers.0.env"));
    CU_ASSERT_PTR_NULL(jx_get(kept, "metadata.managedFields"));
    int ra = wc_pod_parse(whole, &a), rb = wc_pod_parse(kept, &b);
    CU_ASSERT_EQUAL(ra, rb);
    if (ra == 0 && rb == 0) {
        struct sbuf sa = {0}, sb = {0};
        wc_pod_render(&sa, a);
        wc_pod_render(&sb, b);
        CU_ASSERT_STRING_EQUAL(sbuf_str(&sa), sbuf_str(&sb));
        CU_ASSERT_STRING_EQUAL(a->p_key, b->p_key);
        CU_ASSERT_STRING_EQUAL(a->p_node_name ? a->p_node_name : "",
                               b->p_node_name ? b->p_node_name : "");
        CU_ASSERT(a->p_created == b->p_created && a->p_started == b->p_started &&
                  a->p_deletion_ts == b->p_deletion_ts && a->p_grace == b->p_grace &&
                  a->p_nfinalizers == b->p_nfinalizers && a->p_ctr.cs_state == b->p_ctr.cs_state &&
                  a->p_ctr.cs_exit_code == b->p_ctr.cs_exit_code &&
                  a->p_ctr.cs_finished_at == b->p_ctr.cs_finished_at);
        sbuf_free(&sa);
        sbuf_free(&sb);
    }
    free(a);
    free(b);
    json_object_put(whole);
    json_object_put(kept);
    jx_parser_free(jp);
}

static void test_pod_keep(void)
{
    static const char *const files[] = {"pod-terminated.json", "pod-waiting.json",
                                        "scale-pod-main.json", "scale-pod-exit.json",
                                        "pod-apiserver.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct json_object *o = load(files[i]);
        /* with a deletion, finalizers and a controller, as the reconciler sees them */
        struct json_object *m = jx_obj(o, "metadata");
        json_object_object_add(m, "deletionTimestamp",
                               json_object_new_string("2026-11-25T09:00:00Z"));
        json_object_object_add(m, "deletionGracePeriodSeconds", json_object_new_int(30));
        struct json_object *f = json_object_new_array();
        json_object_array_add(f,
                              json_object_new_string("omjob.pipelines.openmetadata.org/finalizer"));
        json_object_object_add(m, "finalizers", f);
        for (int twice = 0; twice < 2; twice++) {
            const char *t = json_object_to_json_string_ext(o, twice ? JSON_C_TO_STRING_PRETTY
                                                                    : JSON_C_TO_STRING_PLAIN);
            pod_keep_same(t, strlen(t));
        }
        json_object_put(o);
    }
}

static void test_pods_under_key(void)
{
    struct wcache *c = new_cache();
    struct json_object *pod = load("pod-terminated.json");
    const char *key = "crd-277a4bcb/om-job-mysql-metadata-ingestion-3f9c2a1b";
    /* Pods first (watch order across resources is not guaranteed). */
    CU_ASSERT(upsert(c, WC_POD, pod, 1) == 0);
    CU_ASSERT(nhints == 1 && hints[0].kind == IPC_KIND_POD && strcmp(hints[0].key, key) == 0);
    /* An exit pod filed by its label; one whose owner name wins over its label. */
    CU_ASSERT(
        upsert(c, WC_POD,
               mk("crd-277a4bcb", "a-exit", "u2", "5", "om-job-mysql-metadata-ingestion-3f9c2a1b"),
               1) == 0);
    pod = mk("crd-277a4bcb", "b-main", "u3", "6", "shortened-label-abc12345");
    jx_set(pod, "metadata.ownerReferences",
           parse("[{\"kind\":\"OMJob\",\"name\":\"om-job-mysql-metadata-ingestion-3f9c2a1b\","
                 "\"uid\":\"x\",\"controller\":true}]"));
    CU_ASSERT(upsert(c, WC_POD, pod, 1) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, load("omjob.json"), 1) == 0);
    CU_ASSERT(wcache_count(c, WC_POD) == 3 && wcache_count(c, WC_OMJOB) == 1);

    struct json_object *r = get_key(c, key, false);
    CU_ASSERT(jx_get(r, "omjob") != NULL);
    CU_ASSERT_FATAL(jx_arr_len(r, "pods") == 3);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "pods.0.name", ""), "a-exit"); /* sorted by name */
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "pods.1.name", ""), "b-main");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "pods.2.name", ""),
                           "om-job-mysql-metadata-ingestion-3f9c2a1b-main");
    json_object_put(r);

    /* A pod in another namespace with the same OMJob name is another key. */
    CU_ASSERT(upsert(c, WC_POD,
                     mk("other", "a-exit", "u4", "7", "om-job-mysql-metadata-ingestion-3f9c2a1b"),
                     1) == 0);
    r = get_key(c, key, false);
    CU_ASSERT(jx_arr_len(r, "pods") == 3);
    json_object_put(r);

    /* Deleting the OMJob leaves its pods under the key (the reconciler must
     * still release their finalizers); deleting the pods empties it. */
    struct json_object *o = load("omjob.json");
    CU_ASSERT(wcache_delete(c, WC_OMJOB, o) == 1);
    json_object_put(o);
    r = list(c, WC_OMJOB, 0, 0);
    CU_ASSERT_FATAL(jx_arr_len(r, "keys") == 2);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "keys.0.key", ""), key);
    CU_ASSERT(jx_get(r, "keys.0.resourceVersion") == NULL && jx_i64_or(r, "keys.0.pods", 0) == 3);
    json_object_put(r);
    o = mk("crd-277a4bcb", "a-exit", "u2", "8", "x");
    CU_ASSERT(wcache_delete(c, WC_POD, o) == 1);
    json_object_put(o);
    o = mk("crd-277a4bcb", "b-main", "u3", "8", "x");
    CU_ASSERT(wcache_delete(c, WC_POD, o) == 1);
    json_object_put(o);
    o = load("pod-terminated.json");
    CU_ASSERT(wcache_delete(c, WC_POD, o) == 1);
    json_object_put(o);
    r = list(c, WC_OMJOB, 0, 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "keys.0.key", ""),
                           "other/om-job-mysql-metadata-ingestion-3f9c2a1b");
    json_object_put(r);
    CU_ASSERT(hints[nhints - 1].kind == IPC_KIND_POD && strcmp(hints[nhints - 1].key, key) == 0);
    wcache_free(c);
}

static void test_pod_refiled(void)
{
    struct wcache *c = new_cache();
    CU_ASSERT(upsert(c, WC_POD, mk("ns", "p", "u", "1", "a"), 1) == 0);
    CU_ASSERT(upsert(c, WC_POD, mk("ns", "p", "u", "2", "b"), 1) == 0);
    CU_ASSERT(nhints == 3);
    CU_ASSERT_STRING_EQUAL(hints[1].key, "ns/a"); /* lost it */
    CU_ASSERT_STRING_EQUAL(hints[2].key, "ns/b");
    CU_ASSERT(wcache_count(c, WC_POD) == 1);
    struct json_object *r = list(c, WC_OMJOB, 0, 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 1);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "keys.0.key", ""), "ns/b");
    json_object_put(r);
    /* A same-key update (the common case) keeps one pod, one hint. */
    CU_ASSERT(upsert(c, WC_POD, mk("ns", "p", "u", "3", "b"), 1) == 0);
    CU_ASSERT(nhints == 4 && wcache_count(c, WC_POD) == 1);
    wcache_free(c);
}

static void test_relist_sweep(void)
{
    struct wcache *c = new_cache();
    CU_ASSERT(upsert(c, WC_OMJOB, mk("a", "j1", "u1", "1", NULL), 1) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, mk("a", "j2", "u2", "2", NULL), 1) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, mk("b", "j3", "u3", "3", NULL), 1) == 0);
    CU_ASSERT(upsert(c, WC_POD, mk("a", "j1-main", "p1", "4", "j1"), 1) == 0);
    CU_ASSERT(upsert(c, WC_POD, mk("a", "j2-main", "p2", "5", "j2"), 1) == 0);
    CU_ASSERT(upsert(c, WC_CRONOMJOB, mk("a", "c1", "c1", "6", NULL), 1) == 0);
    CU_ASSERT(wcache_sweep(c, WC_OMJOB, NULL, 1) == 0);
    CU_ASSERT(nhints == 6);

    /* Relist of namespace a (stamp 2): j1 unchanged, j2 gone; b untouched. */
    CU_ASSERT(upsert(c, WC_OMJOB, mk("a", "j1", "u1", "1", NULL), 2) == 0);
    CU_ASSERT(nhints == 6);
    CU_ASSERT(wcache_sweep(c, WC_OMJOB, "a", 2) == 1);
    CU_ASSERT(nhints == 7 && hints[6].kind == IPC_KIND_OMJOB && strcmp(hints[6].key, "a/j2") == 0);
    CU_ASSERT(wcache_count(c, WC_OMJOB) == 2);

    /* Pods relist in all namespaces: j2-main gone; j1-main changed. */
    CU_ASSERT(upsert(c, WC_POD, mk("a", "j1-main", "p1", "9", "j1"), 3) == 0);
    CU_ASSERT(wcache_sweep(c, WC_POD, NULL, 3) == 1);
    CU_ASSERT(nhints == 9);
    CU_ASSERT(hints[7].kind == IPC_KIND_POD && strcmp(hints[7].key, "a/j1") == 0);
    CU_ASSERT(hints[8].kind == IPC_KIND_POD && strcmp(hints[8].key, "a/j2") == 0);
    CU_ASSERT(wcache_count(c, WC_POD) == 1);
    struct json_object *r = list(c, WC_OMJOB, 0, 0); /* a/j2 had only these: gone */
    CU_ASSERT(jx_arr_len(r, "keys") == 2);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "keys.0.key", ""), "a/j1");
    CU_ASSERT(jx_i64_or(r, "keys.0.revision", 0) == 8); /* its pod's change */
    CU_ASSERT(jx_i64_or(r, "keys.1.revision", 0) == 3); /* b/j3's creation */
    json_object_put(r);

    /* CronOMJobs: an empty relist removes c1. */
    CU_ASSERT(wcache_sweep(c, WC_CRONOMJOB, NULL, 4) == 1);
    CU_ASSERT(hints[9].kind == IPC_KIND_CRONOMJOB && strcmp(hints[9].key, "a/c1") == 0);
    CU_ASSERT(wcache_count(c, WC_CRONOMJOB) == 0);
    CU_ASSERT(wcache_revision(c) == 10);
    wcache_free(c);
}

static void test_list_shard(void)
{
    struct wcache *c = new_cache();
    char name[32];
    int seen[5] = {0}, total = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "job-%d", i);
        CU_ASSERT(upsert(c, WC_OMJOB, mk(i % 2 ? "ns1" : "ns2", name, name, "1", NULL), 1) == 0);
    }
    wcache_set_synced(c, true);
    for (int s = 0; s < 5; s++) {
        struct json_object *r = list(c, WC_OMJOB, s, 5);
        size_t n = jx_arr_len(r, "keys");
        CU_ASSERT(jx_bool_or(r, "synced", false) == true);
        CU_ASSERT(jx_i64_or(r, "cacheRevision", 0) == 40);
        for (size_t i = 0; i < n; i++) {
            struct json_object *k = json_object_array_get_idx(jx_arr(r, "keys"), i);
            char buf[IPC_KEY_MAX + 1];
            util_strlcpy(buf, jx_str_or(k, "key", ""), sizeof(buf));
            char *slash = strchr(buf, '/');
            CU_ASSERT_FATAL(slash != NULL);
            *slash = '\0';
            CU_ASSERT(util_shard_of(buf, slash + 1, 5) == s);
            CU_ASSERT_STRING_EQUAL(jx_str_or(k, "resourceVersion", ""), "1");
            CU_ASSERT(jx_i64_or(k, "pods", -1) == 0);
            if (i > 0)
                CU_ASSERT(strcmp(jx_str_or(json_object_array_get_idx(jx_arr(r, "keys"), i - 1),
                                           "key", ""),
                                 jx_str_or(k, "key", "")) < 0);
        }
        seen[s] = (int)n;
        total += (int)n;
        json_object_put(r);
    }
    CU_ASSERT(total == 40);
    CU_ASSERT(seen[0] + seen[1] + seen[2] + seen[3] + seen[4] == 40);
    struct wc_listq bad = {.lq_kind = WC_OMJOB, .lq_shard = 5, .lq_shards = 5};
    char *out = NULL;
    size_t len;
    CU_ASSERT(wcache_render_list(c, &bad, &out, &len) == -EINVAL);
    bad.lq_kind = WC_POD;
    bad.lq_shard = 0;
    CU_ASSERT(wcache_render_list(c, &bad, &out, &len) == -EINVAL);
    wcache_free(c);
}

/* A request through the handler; the reply body as JSON or NULL. */
static int call(struct wcache *c, enum ipc_type type, const char *body, struct json_object **out)
{
    struct ipc_msg m = {
        .topic = "req", .type = type, .body = (const uint8_t *)body, .body_len = strlen(body)};
    struct ipc_reply rep = {0};
    int rc = watcher_truth_handle(c, &m, &rep);
    *out = NULL;
    if (rc == 0) {
        CU_ASSERT(rep.type ==
                  (type == IPC_REQ_GET_KEY ? IPC_REQ_GET_KEY_REPLY : IPC_REQ_LIST_SHARD_REPLY));
        CU_ASSERT(jx_parse(rep.body, rep.len, out, NULL, 0) == 0);
    }
    free(rep.body);
    return rc;
}

static void test_truth_handler(void)
{
    struct wcache *c = new_cache();
    struct json_object *r, *job;
    CU_ASSERT(upsert(c, WC_CRONOMJOB, mk("ns", "nightly", "c1", "1", NULL), 1) == 0);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "nightly-%d", 1000 + i);
        job = mk(i == 2 ? "other" : "ns", name, name, "2", NULL);
        jx_set(job, "metadata.ownerReferences",
               parse("[{\"kind\":\"CronOMJob\",\"name\":\"nightly\",\"uid\":\"c1\","
                     "\"controller\":true}]"));
        CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    }
    CU_ASSERT(upsert(c, WC_POD, mk("ns", "nightly-1000-main", "p", "3", "nightly-1000"), 1) == 0);

    CU_ASSERT(call(c, IPC_REQ_GET_KEY, "ns/nightly-1000", &r) == 0);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjob.metadata.name", ""), "nightly-1000");
    CU_ASSERT(jx_arr_len(r, "pods") == 1);
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_GET_KEY, "OMJOB ns/nightly-1000", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "pods") == 1);
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_GET_KEY, "CRONOMJOB ns/nightly", &r) == 0);
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "cronomjob.metadata.name", ""), "nightly");
    CU_ASSERT(jx_arr_len(r, "omjobs") == 2); /* not the one in another namespace */
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.0.key", ""), "ns/nightly-1000");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.1.resourceVersion", ""), "2");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.1.name", ""), "nightly-1001");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.1.uid", ""), "nightly-1001");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.1.ownerUid", ""), "c1");
    CU_ASSERT(jx_get(r, "omjobs.1.phase") == NULL); /* no status yet */
    CU_ASSERT(json_object_object_get_ex(jx_obj(r, "omjobs.1"), "completionTime", NULL) &&
              jx_get(r, "omjobs.1.completionTime") == NULL);
    CU_ASSERT(jx_get(r, "omjobs.1.scheduledAt") == NULL);
    CU_ASSERT(jx_bool_or(r, "omjobs.1.deleting", true) == false);
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_GET_KEY, "CRONOMJOB ns/absent", &r) == 0);
    CU_ASSERT(jx_get(r, "cronomjob") == NULL && jx_arr_len(r, "omjobs") == 0);
    json_object_put(r);

    /* Before the sync: no keys (every reader asks again until synced). */
    CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, "{\"shard\":0,\"shards\":1}", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 0 && jx_bool_or(r, "synced", true) == false);
    CU_ASSERT(jx_i64_or(r, "cacheRevision", 0) == (int64_t)wcache_revision(c));
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, "{\"kind\":\"CRONOMJOB\"}", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 0 && jx_bool_or(r, "synced", true) == false);
    json_object_put(r);
    wcache_set_synced(c, true);
    CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, "{\"shard\":0,\"shards\":1}", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 3 && jx_bool_or(r, "synced", false) == true);
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, "", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 3);
    json_object_put(r);
    CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, "{\"kind\":\"CRONOMJOB\"}", &r) == 0);
    CU_ASSERT(jx_arr_len(r, "keys") == 1 && jx_get(r, "keys.0.pods") == NULL);
    json_object_put(r);

    static const char *const bad_keys[] = {"",      "ns",     "ns/",      "/x",
                                           "a/b/c", "ns/a b", "POD ns/x", "CRONOMJOB "};
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
        CU_ASSERT(call(c, IPC_REQ_GET_KEY, bad_keys[i], &r) == -EINVAL);
    static const char *const bad_lists[] = {"x",
                                            "[]",
                                            "{\"shard\":1}",
                                            "{\"shard\":1,\"shards\":1}",
                                            "{\"shard\":-1,\"shards\":2}",
                                            "{\"shard\":0,\"shards\":0}",
                                            "{\"shard\":\"0\",\"shards\":2}",
                                            "{\"kind\":\"POD\"}",
                                            "{\"kind\":3}",
                                            "{} x",
                                            "null"};
    for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++)
        CU_ASSERT(call(c, IPC_REQ_LIST_SHARD, bad_lists[i], &r) == -EINVAL);
    CU_ASSERT(call(c, IPC_CTL_HEALTH, "", &r) == -EOPNOTSUPP);
    wcache_free(c);
}

static void test_bad_objects(void)
{
    struct wcache *c = new_cache();
    static const char *const bad[] = {
        "{}",
        "{\"metadata\":{}}",
        "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\"}}",
        "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\",\"resourceVersion\":\"1\"}}",
        "{\"metadata\":{\"namespace\":7,\"name\":\"b\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
        "{\"metadata\":{\"namespace\":\"a/"
        "b\",\"name\":\"c\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
        "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b "
        "c\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
        "{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"resourceVersion\":\"1\","
        "\"deletionTimestamp\":\"yesterday\"}}",
        "{\"metadata\":[1,2]}",
        "[]",
    };
    int saved = dup(2);
    FILE *devnull = freopen("/dev/null", "w", stderr); /* the warnings are expected */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        for (enum wc_kind k = 0; k < WC_NKINDS; k++)
            CU_ASSERT(upsert(c, k, parse(bad[i]), 1) < 0);
    /* A pod with identity but no OMJob owner nor label: -ENOENT. */
    CU_ASSERT(upsert(c, WC_POD,
                     parse("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\","
                           "\"resourceVersion\":\"1\",\"ownerReferences\":[{\"kind\":\"Job\","
                           "\"name\":\"j\",\"controller\":true}]}}"),
                     1) == -ENOENT);
    /* DELETED without identity. */
    struct json_object *o = parse("{\"metadata\":{\"name\":\"b\"}}");
    CU_ASSERT(wcache_delete(c, WC_OMJOB, o) == -EINVAL);
    json_object_put(o);
    fflush(stderr);
    if (devnull != NULL)
        dup2(saved, 2);
    close(saved);
    CU_ASSERT(nhints == 0 && wcache_revision(c) == 0);
    for (enum wc_kind k = 0; k < WC_NKINDS; k++)
        CU_ASSERT(wcache_count(c, k) == 0);
    /* Odd but valid types are tolerated: a non-string finalizer, a non-integer
     * exit code, a malformed startTime (absent). */
    CU_ASSERT(upsert(c, WC_POD,
                     parse("{\"metadata\":{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\","
                           "\"resourceVersion\":\"1\",\"finalizers\":[3,\"f\"],\"labels\":"
                           "{\"omjob.pipelines.openmetadata.org/name\":\"j\"}},\"status\":{"
                           "\"startTime\":\"never\",\"containerStatuses\":[{\"name\":\"x\","
                           "\"state\":{\"terminated\":{\"exitCode\":\"x\"}}}]}}"),
                     1) == 0);
    struct json_object *r = get_key(c, "a/j", false);
    CU_ASSERT(jx_arr_len(r, "pods.0.finalizers") == 1);
    CU_ASSERT(jx_get(r, "pods.0.startTime") == NULL);
    CU_ASSERT(jx_i64_or(r, "pods.0.container.exitCode", -1) == 0);
    json_object_put(r);
    wcache_free(c);
}

/* Bytes the cache grows by per entry: allocator figures around n upserts, with
 * every temporary freed (hash tables included). */
/* wcache_set_max_json: an OMJob whose compact JSON is over the limit is refused
 * (-E2BIG), nothing cached, no hint; at the limit it is taken; pods are not
 * limited. */
static void test_max_json(void)
{
    struct wcache *c = new_cache();
    struct json_object *o = mk("ns", "big", "u1", "1", NULL);
    size_t len = strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    wcache_set_max_json(c, len - 1);
    int saved = dup(2);
    FILE *devnull = freopen("/dev/null", "w", stderr); /* the warning is expected */
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, o, 1), -E2BIG);
    CU_ASSERT_EQUAL(upsert(c, WC_CRONOMJOB, mk("ns", "big", "u2", "1", NULL), 1), -E2BIG);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    (void)devnull;
    CU_ASSERT_EQUAL(wcache_count(c, WC_OMJOB), 0);
    CU_ASSERT_EQUAL(wcache_count(c, WC_CRONOMJOB), 0);
    CU_ASSERT_EQUAL(nhints, 0);
    wcache_set_max_json(c, len);
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, mk("ns", "big", "u1", "1", NULL), 1), 0);
    CU_ASSERT_EQUAL(wcache_count(c, WC_OMJOB), 1);
    wcache_set_max_json(c, 16);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, mk("ns", "big-main", "p1", "1", "big"), 1), 0);
    CU_ASSERT_EQUAL(wcache_count(c, WC_POD), 1);
    wcache_free(c);
}

static double bytes_per_entry(struct wcache *c, enum wc_kind k, int n)
{
    char name[64];
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < n; i++) {
        struct json_object *o = k == WC_POD ? load("pod-terminated.json") : load("omjob.json");
        snprintf(name, sizeof(name), "entry-%d", i);
        jx_set_str(o, "metadata.name", name);
        if (k == WC_POD)
            jx_set_str(o, "metadata.ownerReferences.0.name", name);
        CU_ASSERT(upsert(c, k, o, 1) == 0);
    }
    return (double)(mallinfo2().uordblks - before) / n;
}

static void test_entry_size(void)
{
    if (getenv("OMJOB_UNDER_VALGRIND") != NULL)
        return; /* valgrind's allocator has no mallinfo */
    struct wcache *c = new_cache();
    struct json_object *o = load("omjob.json");
    struct wc_obj *obj = NULL;
    CU_ASSERT_FATAL(wc_obj_parse(o, &obj) == 0);
    size_t json_len = obj->o_json_len;
    free(obj);
    json_object_put(o);
    mallinfo2(); /* warm up */
    double omjob = bytes_per_entry(c, WC_OMJOB, 200);
    double pod = bytes_per_entry(c, WC_POD, 200);
    printf("\n  cache entry sizes (allocator bytes, tables included): OMJob %.0f (its compact "
           "JSON %zu, struct %zu), pod %.0f (struct %zu)\n",
           omjob, json_len, sizeof(struct wc_obj), pod, sizeof(struct wc_pod));
    CU_ASSERT(omjob < (double)json_len + 800);
    CU_ASSERT(pod < 1200);
    wcache_free(c);
}

/* The decoded compact JSON of an OMJob parsed with omit (WC_OMIT_*). */
static char *decoded(struct json_object *j, unsigned omit, struct wc_obj **out)
{
    struct sbuf sb = {0};
    CU_ASSERT_FATAL(wc_obj_parse_omit(j, omit, 0, out) == 0);
    wc_obj_put_json(&sb, *out);
    CU_ASSERT_FATAL(sb.sb_err == 0);
    return (char *)sbuf_str(&sb);
}

/* What the cache keeps of an OMJob is dictionary-coded (objects.c) and answered
 * decoded: the very bytes of the object as served (stripped), with the templates
 * it left out as stand-ins; shorter to keep; values that look like the
 * dictionary's entries or hold control characters come back as they were. */
static void test_coded_json(void)
{
    static const char *const files[] = {"omjob.json", "scale-omjob.json"};
    for (size_t f = 0; f < 2; f++) {
        struct json_object *j = load(files[f]);
        struct wc_obj *o = NULL;
        char *got = decoded(j, 0, &o);
        char *want = jx_dump(j, NULL); /* stripped in place by the parse */
        CU_ASSERT_STRING_EQUAL(got, want);
        CU_ASSERT(o->o_coded && o->o_json_len < strlen(want));
        CU_ASSERT(strlen(o->o_json) == o->o_json_len);
        free(got);
        free(want);
        free(o);
        /* The templates left out: as the stand-ins. */
        got = decoded(j, WC_OMIT_ALL, &o);
        jx_set(j, "spec.mainPodSpec", parse("{\"" WC_OMITTED_FIELD "\":true}"));
        jx_set(j, "spec.exitHandlerSpec", parse("{\"" WC_OMITTED_FIELD "\":true}"));
        want = jx_dump(j, NULL);
        CU_ASSERT_STRING_EQUAL(got, want);
        if (f == 1) /* the scale bench's shape: 1,493 bytes kept in 570 */
            CU_ASSERT(o->o_json_len * 2 < strlen(want));
        free(got);
        free(want);
        free(o);
        json_object_put(j);
    }
    struct json_object *j = load("scale-omjob.json");
    jx_set_str(j, "metadata.labels.tricky", "\"name\":\"x\x01\x1f\"app.kubernetes.io/\"");
    jx_set_str(j, "status.message", "\"message\":\"main pod \\\" \n\t");
    struct wc_obj *o = NULL;
    char *got = decoded(j, 0, &o);
    char *want = jx_dump(j, NULL);
    CU_ASSERT_STRING_EQUAL(got, want);
    struct json_object *back = parse(got);
    CU_ASSERT_STRING_EQUAL(jx_str_or(back, "status.message", ""),
                           "\"message\":\"main pod \\\" \n\t");
    json_object_put(back);
    free(got);
    free(want);
    free(o);
    json_object_put(j);
}

/* Strings most pods share are not copied into each pod's block (the interned
 * table), nor one the same pod holds twice; the pod renders as before. The kwok
 * pods of bench_scale.sh: 680 allocator bytes each before. */
static void test_pod_shared_strings(void)
{
    struct wc_pod *m = NULL, *e = NULL, *m2 = NULL;
    struct json_object *jm = load("scale-pod-main.json"), *je = load("scale-pod-exit.json");
    struct json_object *jm2 = load("scale-pod-main.json");
    jx_set_str(jm2, "metadata.name", "s-00001-main");
    CU_ASSERT_FATAL(wc_pod_parse(jm, &m) == 0 && wc_pod_parse(je, &e) == 0 &&
                    wc_pod_parse(jm2, &m2) == 0);
    CU_ASSERT_STRING_EQUAL(m->p_owner_name, "s-00000");
    CU_ASSERT_PTR_EQUAL(m->p_owner_name, m->p_label_name);
    CU_ASSERT_PTR_EQUAL(m->p_phase, m2->p_phase);
    CU_ASSERT_PTR_EQUAL(m->p_pod_type, m2->p_pod_type);
    CU_ASSERT_PTR_EQUAL(m->p_finalizers, e->p_finalizers);
    CU_ASSERT_STRING_EQUAL(e->p_pod_type, "exit-handler");
    CU_ASSERT_STRING_EQUAL(e->p_main_reason, "Completed");
    CU_ASSERT_STRING_EQUAL(e->p_finalizers, "omjob.pipelines.openmetadata.org/tracking");
    if (getenv("OMJOB_UNDER_VALGRIND") == NULL) {
        CU_ASSERT(malloc_usable_size(m) < 600);
        CU_ASSERT(malloc_usable_size(e) < 600);
    }
    struct sbuf sb = {0};
    wc_pod_render(&sb, m);
    CU_ASSERT_STRING_EQUAL(
        sbuf_str(&sb),
        "{\"name\":\"s-00000-main\",\"namespace\":\"bs-scale-1077544c\",\"uid\":\"c88976f4-b46c-"
        "4caf-bdaa-22e20499ba72\",\"resourceVersion\":\"6065\",\"ownerUid\":\"4ba6bc7d-f4c4-48a9-"
        "841b-6c663c4afc4e\",\"ownerName\":\"s-00000\",\"omjobLabel\":\"s-00000\",\"podType\":"
        "\"main\",\"phase\":\"Succeeded\",\"reason\":null,\"message\":null,\"nodeName\":\"kwok-"
        "node-0\",\"mainReason\":null,\"mainExitCode\":null,\"finalizers\":[\"omjob.pipelines."
        "openmetadata.org/tracking\"],\"creationTimestamp\":\"2026-12-05T07:23:06Z\",\"startTime\""
        ":\"2026-12-05T07:23:06Z\",\"deletionTimestamp\":\"2026-12-05T07:23:36Z\",\"deletion"
        "GracePeriodSeconds\":0,\"container\":{\"state\":\"terminated\",\"reason\":\"Completed\","
        "\"message\":null,\"exitCode\":0,\"startedAt\":\"2026-12-05T07:23:07Z\",\"finishedAt\":"
        "\"2026-12-05T07:23:07Z\"},\"disruptionTarget\":null,\"podScheduled\":{\"status\":\"True\""
        ",\"reason\":null,\"message\":null,\"lastTransitionTime\":\"2026-12-05T07:23:06Z\"},"
        "\"ready\":{\"status\":\"False\",\"reason\":\"PodCompleted\",\"message\":null,\"last"
        "TransitionTime\":\"2026-12-05T07:23:07Z\"},\"deletedAfterEnd\":null}");
    sbuf_free(&sb);
    free(m);
    free(e);
    free(m2);
    json_object_put(jm);
    json_object_put(je);
    json_object_put(jm2);
}

/* An OMJob a CronOMJob controls: its changes are hinted a second time under the
 * CronOMJob's key (kind CRONOMJOB, the same revision), also when it loses that
 * controller or is deleted; the GET_KEY cron entry carries its run fields. */
static void test_cron_children(void)
{
    struct wcache *c = new_cache();
    struct json_object *job = mk("ns", "nightly-1795600800", "j1", "5", NULL), *r;
    jx_set(job, "metadata.ownerReferences",
           parse("[{\"kind\":\"CronOMJob\",\"name\":\"nightly\",\"uid\":\"c1\","
                 "\"controller\":true}]"));
    jx_set_str(job, "metadata.creationTimestamp", "2026-11-25T10:00:01Z");
    jx_set_str(job, "metadata.annotations.pipelines\\.openmetadata\\.org/scheduled-at",
               "2026-11-25T10:00:00Z");
    jx_set_str(job, "metadata.deletionTimestamp", "2026-11-25T10:05:00Z");
    jx_set_str(job, "status.phase", "Succeeded");
    jx_set_str(job, "status.completionTime", "2026-11-25T10:03:00Z");
    struct json_object *copy = NULL;
    CU_ASSERT_FATAL(json_object_deep_copy(job, &copy, NULL) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT_FATAL(nhints == 2);
    CU_ASSERT(hints[0].kind == IPC_KIND_OMJOB &&
              strcmp(hints[0].key, "ns/nightly-1795600800") == 0);
    CU_ASSERT(hints[1].kind == IPC_KIND_CRONOMJOB && strcmp(hints[1].key, "ns/nightly") == 0 &&
              strcmp(hints[1].ns, "ns") == 0 && hints[1].rev == hints[0].rev);
    r = get_key(c, "ns/nightly", true);
    CU_ASSERT(jx_get(r, "cronomjob") == NULL); /* the CronOMJob itself is not cached */
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.0.creationTimestamp", ""), "2026-11-25T10:00:01Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.0.scheduledAt", ""), "2026-11-25T10:00:00Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.0.completionTime", ""), "2026-11-25T10:03:00Z");
    CU_ASSERT_STRING_EQUAL(jx_str_or(r, "omjobs.0.phase", ""), "Succeeded");
    CU_ASSERT(jx_bool_or(r, "omjobs.0.deleting", false) == true);
    json_object_put(r);
    /* Orphaned (its ownerReference removed): the CronOMJob's key hears of it. */
    jx_set_str(copy, "metadata.resourceVersion", "6");
    jx_set(copy, "metadata.ownerReferences", json_object_new_array());
    jx_set_str(copy, "metadata.annotations.pipelines\\.openmetadata\\.org/scheduled-at", "bad");
    CU_ASSERT(upsert(c, WC_OMJOB, copy, 1) == 0);
    CU_ASSERT(nhints == 4 && hints[3].kind == IPC_KIND_CRONOMJOB &&
              strcmp(hints[3].key, "ns/nightly") == 0);
    r = get_key(c, "ns/nightly", true);
    CU_ASSERT(jx_arr_len(r, "omjobs") == 0);
    json_object_put(r);
    /* A plain OMJob: one hint. Deleting a controlled one: two. */
    CU_ASSERT(upsert(c, WC_OMJOB, mk("ns", "plain", "p1", "7", NULL), 1) == 0);
    CU_ASSERT(nhints == 5);
    job = mk("ns", "nightly-1795604400", "j2", "8", NULL);
    jx_set(job, "metadata.ownerReferences",
           parse("[{\"kind\":\"CronOMJob\",\"name\":\"nightly\",\"uid\":\"c1\","
                 "\"controller\":true}]"));
    copy = NULL; /* the first copy went to upsert */
    CU_ASSERT_FATAL(json_object_deep_copy(job, &copy, NULL) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT(nhints == 7);
    CU_ASSERT(wcache_delete(c, WC_OMJOB, copy) == 1);
    json_object_put(copy);
    CU_ASSERT(nhints == 9 && hints[8].kind == IPC_KIND_CRONOMJOB &&
              strcmp(hints[8].key, "ns/nightly") == 0 && hints[8].rev == hints[7].rev);
    wcache_free(c);
}

/* The child index (GET_KEY of a CronOMJob reads its OMJobs from it): after each
 * of 3,000 random upserts (new OMJobs, a controller changed, added or removed),
 * deletions and a relist sweep, every CronOMJob key's "omjobs" are exactly the
 * OMJobs of the same namespace whose controller has its name, sorted by key, as
 * a model kept here says (an OMJob of ns n1 controlled by "a" is not one of
 * n2/a's). */
#define IDX_JOBS 40
static void idx_expect(struct wcache *c, const int owner[IDX_JOBS], const bool live[IDX_JOBS])
{
    static const char *const ns[] = {"n1", "n2"}, *const cron[] = {"a", "b", "c"};
    for (int n = 0; n < 2; n++) {
        for (int o = 0; o < 3; o++) {
            char key[32], want[2048] = "", got[2048] = "";
            snprintf(key, sizeof(key), "%s/%s", ns[n], cron[o]);
            for (int j = 0; j < IDX_JOBS; j++) /* names sort as their numbers: j%02d */
                if (live[j] && j % 2 == n && owner[j] == o)
                    snprintf(want + strlen(want), sizeof(want) - strlen(want), "j%02d,", j);
            struct json_object *r = get_key(c, key, true);
            for (size_t i = 0; i < jx_arr_len(r, "omjobs"); i++) {
                struct json_object *e = json_object_array_get_idx(jx_arr(r, "omjobs"), i);
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s,",
                         jx_str_or(e, "name", "?"));
            }
            json_object_put(r);
            CU_ASSERT_STRING_EQUAL(got, want);
        }
    }
}

static struct json_object *idx_job(int j, int owner, int rv)
{
    static const char *const cron[] = {"a", "b", "c"};
    char name[16], uid[16], rvs[16];
    snprintf(name, sizeof(name), "j%02d", j);
    snprintf(uid, sizeof(uid), "u%02d", j);
    snprintf(rvs, sizeof(rvs), "%d", rv);
    struct json_object *o = mk(j % 2 == 0 ? "n1" : "n2", name, uid, rvs, NULL);
    if (owner >= 0) {
        char refs[256];
        snprintf(refs, sizeof(refs),
                 "[{\"kind\":\"CronOMJob\",\"name\":\"%s\",\"uid\":\"c%d\","
                 "\"controller\":true}]",
                 cron[owner], owner);
        jx_set(o, "metadata.ownerReferences", parse(refs));
    }
    return o;
}

static void test_cron_child_index(void)
{
    struct wcache *c = new_cache();
    int owner[IDX_JOBS], rv = 1;
    bool live[IDX_JOBS] = {false};
    uint32_t seed = 12345, stamp = 1;
    for (int j = 0; j < IDX_JOBS; j++)
        owner[j] = -1;
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % IDX_JOBS), what = (int)((seed >> 20) % 10);
        if (what < 7) { /* create, or change its controller (-1: none) */
            int o = (int)((seed >> 24) % 4) - 1;
            CU_ASSERT(upsert(c, WC_OMJOB, idx_job(j, o, ++rv), stamp) == 0);
            owner[j] = o;
            live[j] = true;
        } else if (what < 9) {
            struct json_object *d = idx_job(j, owner[j], rv);
            CU_ASSERT(wcache_delete(c, WC_OMJOB, d) == (live[j] ? 1 : 0));
            json_object_put(d);
            live[j] = false;
        } else { /* a relist of n1 that finds only its even half */
            stamp++;
            for (int k = 0; k < IDX_JOBS; k += 4)
                if (live[k])
                    CU_ASSERT(upsert(c, WC_OMJOB, idx_job(k, owner[k], ++rv), stamp) == 0);
            wcache_sweep(c, WC_OMJOB, "n1", stamp);
            for (int k = 0; k < IDX_JOBS; k += 2)
                if (k % 4 != 0)
                    live[k] = false;
        }
        if (step % 10 == 0 || step > 2990)
            idx_expect(c, owner, live);
    }
    wcache_free(c);
}

static void test_hint_topics(void)
{
    char t[2][WATCHER_TOPIC_MAX], want[32];
    snprintf(want, sizeof(want), "shard.%d", util_shard_of("ns", "job", 5));
    CU_ASSERT(watcher_hint_topics(IPC_KIND_OMJOB, "ns", "job", 5, true, t) == 2);
    CU_ASSERT_STRING_EQUAL(t[0], want);
    CU_ASSERT_STRING_EQUAL(t[1], "ttl");
    /* An OMJob not finished: the cleaner has nothing to do with it. */
    CU_ASSERT(watcher_hint_topics(IPC_KIND_OMJOB, "ns", "job", 5, false, t) == 1);
    CU_ASSERT_STRING_EQUAL(t[0], want);
    CU_ASSERT(watcher_hint_topics(IPC_KIND_POD, "ns", "job", 5, false, t) == 1);
    CU_ASSERT_STRING_EQUAL(t[0], want);
    CU_ASSERT(watcher_hint_topics(IPC_KIND_CRONOMJOB, "ns", "job", 5, false, t) == 1);
    CU_ASSERT_STRING_EQUAL(t[0], "cron"); /* the scheduler's; no longer the cleaner's */
    CU_ASSERT(watcher_hint_topics(IPC_KIND_POD, "ns", "job", 1, false, t) == 1);
    CU_ASSERT_STRING_EQUAL(t[0], "shard.0");
    CU_ASSERT(watcher_hint_topics(IPC_KIND_OMJOB, "ns", "job", 0, true, t) == -EINVAL);
}

/* "finished" on an OMJob's hint: set when the OMJob had or has a completionTime
 * (so the cleaner hears of it finishing, of every later change and of its
 * deletion), never before. */
static void test_hint_finished(void)
{
    struct wcache *c = new_cache();
    struct json_object *job = mk("ns", "job", "u1", "1", NULL), *copy = NULL;
    jx_set_str(job, "status.phase", "Running");
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT(nhints == 1 && !hints[0].finished);
    /* Every OMJob hint carries the TTL facts of the OMJob after the change. */
    CU_ASSERT(hints[0].has_ttl && hints[0].ttl.flags == IPC_TTL_PRESENT);
    CU_ASSERT_STRING_EQUAL(hints[0].ttl.uid, "u1");
    CU_ASSERT_STRING_EQUAL(hints[0].ttl.rv, "1");
    job = mk("ns", "job", "u1", "2", NULL);
    jx_set_str(job, "status.phase", "Succeeded");
    jx_set_str(job, "status.completionTime", "2026-11-25T10:03:00Z");
    json_object_object_add(jx_obj(job, "spec"), "ttlSecondsAfterFinished", json_object_new_int(30));
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT(nhints == 2 && hints[1].finished);
    CU_ASSERT(hints[1].ttl.flags == (IPC_TTL_PRESENT | IPC_TTL_SET | IPC_TTL_FINISHED));
    CU_ASSERT(hints[1].ttl.ttl_s == 30 && hints[1].ttl.completion_ms == 1795600980000LL);
    CU_ASSERT_STRING_EQUAL(hints[1].ttl.rv, "2");
    job = mk("ns", "job", "u1", "3", NULL); /* completionTime gone: still the cleaner's */
    json_object_object_add(jx_obj(job, "spec"), "ttlSecondsAfterFinished",
                           json_object_new_string("soon"));
    jx_set_str(job, "metadata.deletionTimestamp", "2026-11-25T10:04:00Z");
    CU_ASSERT_FATAL(json_object_deep_copy(job, &copy, NULL) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT(nhints == 3 && hints[2].finished);
    CU_ASSERT(hints[2].ttl.flags == (IPC_TTL_PRESENT | IPC_TTL_BAD | IPC_TTL_DELETING));
    CU_ASSERT(hints[2].ttl.ttl_s == 0 && hints[2].ttl.completion_ms == 0);
    CU_ASSERT(wcache_delete(c, WC_OMJOB, copy) == 1); /* deleted unfinished: not */
    CU_ASSERT(nhints == 4 && !hints[3].finished);
    CU_ASSERT(hints[3].has_ttl && hints[3].ttl.flags == 0 && hints[3].ttl.uid[0] == '\0');
    json_object_put(copy);
    copy = NULL;
    job = mk("ns", "job2", "u2", "4", NULL);
    jx_set_str(job, "status.completionTime", "2026-11-25T10:03:00Z");
    CU_ASSERT_FATAL(json_object_deep_copy(job, &copy, NULL) == 0);
    CU_ASSERT(upsert(c, WC_OMJOB, job, 1) == 0);
    CU_ASSERT(wcache_delete(c, WC_OMJOB, copy) == 1); /* deleted finished: yes */
    CU_ASSERT(nhints == 6 && hints[4].finished && hints[5].finished);
    json_object_put(copy);
    wcache_free(c);
}

/* Applies o at resourceVersion rv (a change of kind k): asserts it gave want new
 * hints and returns how many of them were urgent. */
static int urgent_of(struct wcache *c, enum wc_kind k, struct json_object *o, const char *rv,
                     int want)
{
    int before = nhints, n = 0;
    jx_set_str(o, "metadata.resourceVersion", rv);
    CU_ASSERT(wcache_upsert(c, k, o, 1) == 0);
    CU_ASSERT_EQUAL(nhints - before, want);
    for (int i = before; i < nhints; i++)
        n += hints[i].urgent;
    return n;
}

/* Urgent hints (WC_HINT_URGENT: sent when the loop waits) and those that may be
 * held (docs/PROTOCOL.md, "Held hints"), through one OMJob's life: what starts or
 * ends something is urgent, the echoes of the operator's own writes are not. An
 * OMJob a CronOMJob controls gives two hints per change (its own, the CronOMJob's),
 * both with the change's urgency. */
static void test_hint_urgent(void)
{
    struct wcache *c = new_cache();
    struct json_object *job = mk("ns", "job", "u1", "1", NULL);
    jx_set(job, "metadata.generation", json_object_new_int(1));
    jx_set(job, "metadata.ownerReferences",
           parse("[{\"kind\":\"CronOMJob\",\"name\":\"nightly\",\"uid\":\"c1\","
                 "\"controller\":true}]"));
    CU_ASSERT(urgent_of(c, WC_OMJOB, job, "1", 2) == 2); /* new */
    CU_ASSERT(hints[0].kind == IPC_KIND_OMJOB && hints[1].kind == IPC_KIND_CRONOMJOB);
    /* Our finalizer and status writes: same generation, held. */
    jx_set(job, "metadata.finalizers", parse("[\"omjob.pipelines.openmetadata.org/finalizer\"]"));
    jx_set_str(job, "status.phase", "Pending");
    CU_ASSERT(urgent_of(c, WC_OMJOB, job, "2", 2) == 0);
    /* A spec change (the API server bumps metadata.generation): urgent. */
    jx_set(job, "metadata.generation", json_object_new_int(2));
    CU_ASSERT(urgent_of(c, WC_OMJOB, job, "3", 2) == 2);

    /* The main pod: created, scheduled, running are echoes or progress (held);
     * its end is urgent, once; our finalizer's release after it is held; its
     * deletion beginning is urgent, a change while it is being deleted held, its
     * removal urgent. */
    struct json_object *pod = mk("ns", "job-main", "p1", "10", "job");
    jx_set_str(pod, "status.phase", "Pending");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "10", 1) == 0);
    CU_ASSERT(hints[nhints - 1].kind == IPC_KIND_POD);
    jx_set_str(pod, "status.phase", "Running");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "11", 1) == 0);
    jx_set_str(pod, "status.phase", "Succeeded");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "12", 1) == 1);
    jx_set(pod, "metadata.finalizers", json_object_new_array());
    CU_ASSERT(urgent_of(c, WC_POD, pod, "13", 1) == 0);
    jx_set_str(pod, "metadata.deletionTimestamp", "2026-12-05T10:00:00Z");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "14", 1) == 1);
    jx_set_str(pod, "status.reason", "x");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "15", 1) == 0);
    int before = nhints;
    CU_ASSERT(wcache_delete(c, WC_POD, pod) == 1);
    CU_ASSERT(nhints == before + 1 && hints[before].urgent);
    json_object_put(pod);
    /* A pod first seen already ended (a relist, a takeover): urgent. */
    pod = mk("ns", "job-exit", "p2", "16", "job");
    jx_set_str(pod, "status.phase", "Failed");
    CU_ASSERT(urgent_of(c, WC_POD, pod, "16", 1) == 1);
    json_object_put(pod);

    /* The OMJob's deletion beginning, an echo while it is held, its removal. */
    jx_set_str(job, "metadata.deletionTimestamp", "2026-12-05T10:00:00Z");
    CU_ASSERT(urgent_of(c, WC_OMJOB, job, "20", 2) == 2);
    jx_set_str(job, "status.phase", "Failed");
    CU_ASSERT(urgent_of(c, WC_OMJOB, job, "21", 2) == 0);
    before = nhints;
    CU_ASSERT(wcache_delete(c, WC_OMJOB, job) == 1);
    CU_ASSERT(nhints == before + 2 && hints[before].urgent && hints[before + 1].urgent);
    json_object_put(job);

    /* A CronOMJob: new and deleted urgent, a status write held, a spec edit urgent. */
    struct json_object *cron = mk("ns", "nightly", "c1", "30", NULL);
    jx_set(cron, "metadata.generation", json_object_new_int(1));
    CU_ASSERT(urgent_of(c, WC_CRONOMJOB, cron, "30", 1) == 1);
    CU_ASSERT(hints[nhints - 1].kind == IPC_KIND_CRONOMJOB);
    jx_set_str(cron, "status.lastScheduleTime", "2026-12-05T10:00:00Z");
    CU_ASSERT(urgent_of(c, WC_CRONOMJOB, cron, "31", 1) == 0);
    jx_set(cron, "metadata.generation", json_object_new_int(2));
    CU_ASSERT(urgent_of(c, WC_CRONOMJOB, cron, "32", 1) == 1);
    before = nhints;
    CU_ASSERT(wcache_delete(c, WC_CRONOMJOB, cron) == 1);
    CU_ASSERT(nhints == before + 1 && hints[before].urgent);
    json_object_put(cron);
    wcache_free(c);
}

int main(void)
{
    CU_pSuite s;
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("watcher_cache", NULL, NULL);
    CU_add_test(s, "OMJob upsert, unchanged, update, delete", test_omjob_upsert_delete);
    CU_add_test(s, "OMJob compact fields", test_obj_fields);
    CU_add_test(s, "pod compaction: terminated, DisruptionTarget", test_pod_terminated);
    CU_add_test(s, "pods: deletedAfterEnd", test_deleted_after_end);
    CU_add_test(s, "pod compaction: waiting, unschedulable", test_pod_waiting);
    CU_add_test(s, "pods filed under their OMJob's key", test_pods_under_key);
    CU_add_test(s, "pods built from wc_pod_keep's members only", test_pod_keep);
    CU_add_test(s, "pod refiled under another key", test_pod_refiled);
    CU_add_test(s, "relist sweep emits deletions", test_relist_sweep);
    CU_add_test(s, "LIST_SHARD bodies", test_list_shard);
    CU_add_test(s, "truth handler: GET_KEY, LIST_SHARD, errors", test_truth_handler);
    CU_add_test(s, "bad objects skipped", test_bad_objects);
    CU_add_test(s, "objects over the JSON limit refused", test_max_json);
    CU_add_test(s, "CronOMJob children: hints and GET_KEY fields", test_cron_children);
    CU_add_test(s, "CronOMJob child index against a model", test_cron_child_index);
    CU_add_test(s, "hint topics", test_hint_topics);
    CU_add_test(s, "hints: finished OMJobs flagged for the cleaner", test_hint_finished);
    CU_add_test(s, "hints: urgent or held", test_hint_urgent);
    CU_add_test(s, "entry sizes", test_entry_size);
    CU_add_test(s, "OMJob compact JSON coded, answered as served", test_coded_json);
    CU_add_test(s, "pods: shared strings not copied", test_pod_shared_strings);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    int err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}

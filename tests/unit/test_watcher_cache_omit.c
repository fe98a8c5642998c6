/* Unit tests of what the watcher's cache keeps of an OMJob: its pod templates
 * (spec.mainPodSpec, spec.exitHandlerSpec) are replaced by the stand-in once the
 * pods they describe are cached, once the OMJob is finished, and always for a
 * large OMJob; the rest of the object, the GET_KEY body and the object handed
 * to the cache stay whole; and the measured size of an entry either way. */
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
#include "model/objects.h"
#include "roles/watcher/cache.h"

static int nhints;
static struct ipc_ttl last_ttl; /* the TTL facts of the last OMJob hint */

static void count_hint(void *ctx, enum ipc_kind kind, const char *key, const char *ns,
                       const char *name, uint64_t rev, unsigned flags, const struct wc_obj *omjob)
{
    (void)ctx, (void)key, (void)ns, (void)name, (void)rev, (void)flags;
    if (kind == IPC_KIND_OMJOB)
        CU_ASSERT(wc_obj_ttl(omjob, &last_ttl) == 0);
    nhints++;
}

static struct wcache *new_cache(void)
{
    struct wcache *c = wcache_new();
    CU_ASSERT_FATAL(c != NULL);
    wcache_set_hint(c, count_hint, NULL);
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

/* The recorded OMJob named name, resourceVersion rv. */
static struct json_object *omjob(const char *name, const char *rv)
{
    struct json_object *o = load("omjob.json");
    jx_set_str(o, "metadata.name", name);
    jx_set_str(o, "metadata.resourceVersion", rv);
    return o;
}

/* A pod of type (POD_TYPE_*) filed under the OMJob name, controlled by owner_uid. */
static struct json_object *pod(const char *omjob_name, const char *type, const char *owner_uid,
                               const char *uid)
{
    char name[128];
    struct json_object *o = load("pod-terminated.json");
    snprintf(name, sizeof(name), "%s-%s", omjob_name, type);
    jx_set_str(o, "metadata.name", name);
    jx_set_str(o, "metadata.uid", uid);
    jx_set_str(o, "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/name", omjob_name);
    jx_set_str(o, "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/pod-type", type);
    struct json_object *ref = json_object_array_get_idx(jx_arr(o, "metadata.ownerReferences"), 0);
    CU_ASSERT_FATAL(ref != NULL);
    jx_set_str(ref, "name", omjob_name);
    jx_set_str(ref, "uid", owner_uid);
    return o;
}

static int upsert(struct wcache *c, enum wc_kind k, struct json_object *o)
{
    int rc = wcache_upsert(c, k, o, 1);
    json_object_put(o);
    return rc;
}

/* The "omjob" of the GET_KEY body for ns/name (new reference, NULL when none). */
static struct json_object *cached(struct wcache *c, const char *name)
{
    char key[128], *out = NULL;
    size_t len = 0;
    struct json_object *body = NULL, *o;
    snprintf(key, sizeof(key), "crd-277a4bcb/%s", name);
    CU_ASSERT_FATAL(wcache_render_key(c, key, strlen(key), false, &out, &len) == 0);
    CU_ASSERT_FATAL(jx_parse(out, len, &body, NULL, 0) == 0);
    free(out);
    o = jx_obj(body, "omjob");
    if (o != NULL)
        json_object_get(o);
    json_object_put(body);
    return o;
}

static const char *UID = "4c1c2c58-55a5-41ad-ba95-e3fed4b28a4f"; /* the recording's */

/* Which templates the cached OMJob has left out: WC_OMIT_* bits. */
static unsigned omitted(struct wcache *c, const char *name)
{
    struct json_object *o = cached(c, name);
    CU_ASSERT_FATAL(o != NULL);
    unsigned m = (wc_template_omitted(o, false) ? WC_OMIT_MAIN : 0) |
                 (wc_template_omitted(o, true) ? WC_OMIT_EXIT : 0);
    /* The rest of the spec and the identity stay. */
    CU_ASSERT_EQUAL(jx_i64_or(o, "spec.ttlSecondsAfterFinished", -1), 604800);
    CU_ASSERT_STRING_EQUAL(jx_str_or(o, "metadata.uid", ""), UID);
    CU_ASSERT_PTR_NOT_NULL(jx_obj(o, "spec.mainPodSpec"));
    CU_ASSERT_PTR_NOT_NULL(jx_obj(o, "spec.exitHandlerSpec"));
    if ((m & WC_OMIT_MAIN) == 0)
        CU_ASSERT_PTR_NOT_NULL(jx_str(o, "spec.mainPodSpec.image"));
    if ((m & WC_OMIT_EXIT) == 0)
        CU_ASSERT_PTR_NOT_NULL(jx_str(o, "spec.exitHandlerSpec.image"));
    json_object_put(o);
    return m;
}

/* The main pod's template goes once the main pod is cached, the exit pod's once
 * an exit pod is; neither is a change (no hint beyond the pod's own); a later
 * version of the OMJob is compacted without them at once. */
static void test_omit_after_pods(void)
{
    struct wcache *c = new_cache();
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("job", "1")), 0);
    CU_ASSERT_EQUAL(omitted(c, "job"), 0);
    CU_ASSERT_EQUAL(nhints, 1);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("job", "main", UID, "p1")), 0);
    CU_ASSERT_EQUAL(nhints, 2);
    CU_ASSERT_EQUAL(omitted(c, "job"), WC_OMIT_MAIN);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 1);
    /* A status write: the new version is parsed without the main template. */
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("job", "2")), 0);
    CU_ASSERT_EQUAL(omitted(c, "job"), WC_OMIT_MAIN);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 1);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("job", "exit-handler", UID, "p2")), 0);
    CU_ASSERT_EQUAL(omitted(c, "job"), WC_OMIT_ALL);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 2);
    /* More pod changes re-compact nothing. */
    struct json_object *p = pod("job", "main", UID, "p1");
    jx_set_str(p, "metadata.resourceVersion", "99");
    CU_ASSERT_EQUAL(upsert(c, WC_POD, p), 0);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 2);
    CU_ASSERT_EQUAL(nhints, 5);
    wcache_free(c);
}

/* Pods of an earlier OMJob of the same name (another uid) leave the templates. */
static void test_other_uid_keeps(void)
{
    struct wcache *c = new_cache();
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("job", "main", "earlier-uid", "p1")), 0);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("job", "exit-handler", "earlier-uid", "p2")), 0);
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("job", "1")), 0);
    CU_ASSERT_EQUAL(omitted(c, "job"), 0);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 0);
    /* The pods already cached when the OMJob comes: left out at parse. */
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("other", "main", UID, "p3")), 0);
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("other", "1")), 0);
    CU_ASSERT_EQUAL(omitted(c, "other"), WC_OMIT_MAIN);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 0);
    wcache_free(c);
}

/* Finished (Succeeded or Failed with a completionTime): both go, pods or not; a
 * terminal phase without completionTime (the original operator's, not adopted
 * yet) keeps them. */
static void test_finished(void)
{
    struct wcache *c = new_cache();
    struct json_object *o = omjob("done", "1");
    jx_set_str(o, "status.phase", "Failed");
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, o), 0);
    CU_ASSERT_EQUAL(omitted(c, "done"), 0);
    o = omjob("done", "2");
    jx_set_str(o, "status.phase", "Failed");
    jx_set_str(o, "status.completionTime", "2026-11-25T10:03:00Z");
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, o), 0);
    CU_ASSERT_EQUAL(omitted(c, "done"), WC_OMIT_ALL);
    wcache_free(c);
}

/* Large: longer than the template limit, no template is kept even without pods;
 * the object limit (wcache_set_max_json) still counts the templates; the object
 * handed to the cache keeps them (the watcher measures it for the Event). */
static void test_large(void)
{
    struct wcache *c = new_cache();
    struct json_object *o = omjob("big", "1");
    size_t full = 0;
    json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &full);
    wcache_set_template_max(c, 1024);
    CU_ASSERT_EQUAL(wcache_upsert(c, WC_OMJOB, o, 1), 0);
    CU_ASSERT_PTR_NOT_NULL(jx_str(o, "spec.mainPodSpec.image"));
    CU_ASSERT_PTR_NOT_NULL(jx_str(o, "spec.exitHandlerSpec.image"));
    CU_ASSERT_EQUAL(omitted(c, "big"), WC_OMIT_ALL);
    json_object_put(o);

    struct wc_obj *w = NULL;
    o = omjob("big", "2");
    CU_ASSERT_EQUAL_FATAL(wc_obj_parse_omit(o, 0, 1024, &w), 0);
    CU_ASSERT_EQUAL(w->o_omitted, WC_OMIT_ALL);
    CU_ASSERT_EQUAL(w->o_templates, WC_OMIT_ALL);
    CU_ASSERT(w->o_json_len + 2500 < w->o_full_len);
    wcache_set_max_json(c, w->o_full_len - 1);
    int saved = dup(2);
    FILE *devnull = freopen("/dev/null", "w", stderr); /* the warning is expected */
    CU_ASSERT_EQUAL(wcache_upsert(c, WC_OMJOB, o, 1), -E2BIG);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    (void)devnull;
    wcache_set_max_json(c, w->o_full_len);
    CU_ASSERT_EQUAL(wcache_upsert(c, WC_OMJOB, o, 1), 0);
    free(w);
    json_object_put(o);
    /* Under the limit: kept. */
    wcache_set_max_json(c, 0);
    wcache_set_template_max(c, 1024 * 1024);
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("small", "1")), 0);
    CU_ASSERT_EQUAL(omitted(c, "small"), 0);
    wcache_free(c);
}

/* An OMJob without an exitHandlerSpec: the exit pod's arrival compacts nothing
 * (no template to leave out; no re-parse on every pod change). */
static void test_absent_template(void)
{
    struct wcache *c = new_cache();
    struct json_object *o = omjob("noexit", "1");
    json_object_object_del(jx_obj(o, "spec"), "exitHandlerSpec");
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, o), 0);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("noexit", "exit-handler", UID, "p1")), 0);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 0);
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("noexit", "main", UID, "p2")), 0);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 1);
    struct json_object *p = pod("noexit", "exit-handler", UID, "p1");
    jx_set_str(p, "metadata.resourceVersion", "77");
    CU_ASSERT_EQUAL(upsert(c, WC_POD, p), 0);
    CU_ASSERT_EQUAL(wcache_omit_count(c), 1);
    struct json_object *j = cached(c, "noexit");
    CU_ASSERT_TRUE(wc_template_omitted(j, false));
    CU_ASSERT_PTR_NULL(jx_get(j, "spec.exitHandlerSpec"));
    json_object_put(j);
    wcache_free(c);
}

/* wc_obj_omit keeps what the cache set and leaves the rest of the JSON as it was. */
static void test_obj_omit(void)
{
    struct json_object *o = omjob("job", "1");
    struct wc_obj *w = NULL, *n = NULL, *n2 = NULL;
    CU_ASSERT_EQUAL_FATAL(wc_obj_parse_omit(o, WC_OMIT_EXIT, 0, &w), 0);
    CU_ASSERT_EQUAL(w->o_omitted, WC_OMIT_EXIT);
    w->o_stamp = 7;
    CU_ASSERT_EQUAL_FATAL(wc_obj_omit(w, WC_OMIT_MAIN, &n), 0);
    CU_ASSERT_EQUAL(n->o_omitted, WC_OMIT_ALL);
    CU_ASSERT_EQUAL(n->o_stamp, 7);
    CU_ASSERT_EQUAL(n->o_full_len, w->o_full_len);
    CU_ASSERT_STRING_EQUAL(n->o_rv, "1");
    CU_ASSERT_EQUAL_FATAL(wc_obj_parse_omit(o, WC_OMIT_ALL, 0, &n2), 0);
    CU_ASSERT_EQUAL(n->o_json_len, n2->o_json_len);
    CU_ASSERT_EQUAL(memcmp(n->o_json, n2->o_json, n->o_json_len), 0);
    free(w);
    free(n);
    free(n2);
    json_object_put(o);
}

/* wc_obj_omit (templates replaced in the spec's text) and wc_obj_omit_parsed
 * (the whole object parsed again) make the same block. */
static void same_omit(struct json_object *o, unsigned first, unsigned then)
{
    struct wc_obj *w = NULL, *a = NULL, *b = NULL;
    struct sbuf ja = {0}, jb = {0};
    CU_ASSERT_EQUAL_FATAL(wc_obj_parse_omit(o, first, 0, &w), 0);
    w->o_stamp = 9;
    CU_ASSERT_EQUAL_FATAL(wc_obj_omit(w, then, &a), 0);
    CU_ASSERT_EQUAL_FATAL(wc_obj_omit_parsed(w, then, &b), 0);
    wc_obj_put_json(&ja, a);
    wc_obj_put_json(&jb, b);
    CU_ASSERT_STRING_EQUAL(sbuf_str(&ja), sbuf_str(&jb));
    CU_ASSERT_EQUAL(a->o_json_len, b->o_json_len);
    CU_ASSERT_EQUAL(memcmp(a->o_json, b->o_json, a->o_json_len), 0);
    CU_ASSERT_EQUAL(a->o_spec_off, b->o_spec_off);
    CU_ASSERT_EQUAL(a->o_coded, b->o_coded);
    CU_ASSERT_EQUAL(a->o_omitted, b->o_omitted);
    CU_ASSERT_EQUAL(a->o_templates, b->o_templates);
    CU_ASSERT_EQUAL(a->o_full_len, b->o_full_len);
    CU_ASSERT_EQUAL(a->o_spec_full, b->o_spec_full);
    CU_ASSERT_EQUAL(a->o_stamp, 9);
    CU_ASSERT_EQUAL(b->o_stamp, 9);
    CU_ASSERT_EQUAL(a->o_ttl, b->o_ttl);
    CU_ASSERT_EQUAL(a->o_ttl_s, b->o_ttl_s);
    CU_ASSERT_EQUAL(a->o_terminal, b->o_terminal);
    CU_ASSERT_EQUAL(a->o_generation, b->o_generation);
    CU_ASSERT_EQUAL(a->o_nfinalizers, b->o_nfinalizers);
    CU_ASSERT_STRING_EQUAL(a->o_key, b->o_key);
    CU_ASSERT_STRING_EQUAL(a->o_rv, b->o_rv);
    CU_ASSERT_STRING_EQUAL(a->o_uid, b->o_uid);
    sbuf_free(&ja);
    sbuf_free(&jb);
    free(w);
    free(a);
    free(b);
}

/* The spec of o rebuilt with its members in reverse order. */
static void reverse_spec(struct json_object *o)
{
    struct json_object *spec = jx_obj(o, "spec"), *rev = json_object_new_object();
    const char *keys[32];
    size_t n = 0;
    json_object_object_foreach(spec, k, v)
    {
        (void)v;
        if (n < 32)
            keys[n++] = k;
    }
    while (n-- > 0)
        json_object_object_add(rev, keys[n], json_object_get(jx_get(spec, keys[n])));
    json_object_object_add(o, "spec", rev);
}

static void test_omit_text(void)
{
    static const unsigned steps[][2] = {{0, WC_OMIT_MAIN},
                                        {0, WC_OMIT_EXIT},
                                        {0, WC_OMIT_ALL},
                                        {WC_OMIT_MAIN, WC_OMIT_EXIT},
                                        {WC_OMIT_EXIT, WC_OMIT_MAIN},
                                        {WC_OMIT_ALL, WC_OMIT_ALL}};
    for (int shape = 0; shape < 5; shape++) {
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            struct json_object *o = omjob("job", "1");
            if (shape == 1) /* mainPodSpec before exitHandlerSpec */
                reverse_spec(o);
            if (shape == 2) /* a template that is not an object */
                json_object_object_add(jx_obj(o, "spec"), "exitHandlerSpec",
                                       json_object_new_string("x"));
            if (shape == 3) /* no templates at all */
                json_object_object_del(jx_obj(o, "spec"), "mainPodSpec"),
                    json_object_object_del(jx_obj(o, "spec"), "exitHandlerSpec");
            if (shape == 4) /* a template holding the stand-in's field itself: is one */
                jx_set_bool(o, "spec.mainPodSpec." WC_OMITTED_FIELD, false);
            same_omit(o, steps[i][0], steps[i][1]);
            json_object_put(o);
        }
    }
}

/* o into the cache as the watcher puts a watch event's object: its spec cut
 * unparsed (the text json-c writes of it: compact, as the API server's). */
static int upsert_cut(struct wcache *c, enum wc_kind k, struct json_object *o, bool *kept)
{
    struct json_object *spec = jx_obj(o, "spec");
    size_t len = 0;
    char *text = spec != NULL ? jx_dump(spec, &len) : NULL;
    json_object_object_del(o, "spec");
    int rc = wcache_upsert_cut(c, k, o, text, len, NULL, 1, kept);
    free(text);
    json_object_put(o);
    return rc;
}

/* c's GET_KEY object for name equals ref's (the same versions upserted whole). */
static void same_as(struct wcache *c, struct wcache *ref, const char *name)
{
    struct json_object *a = cached(c, name), *b = cached(ref, name);
    CU_ASSERT_FATAL(a != NULL && b != NULL);
    CU_ASSERT(json_object_equal(a, b));
    json_object_put(a);
    json_object_put(b);
}

/* The OMJob o through the spec cut into c and whole into ref: whether c kept its
 * cached spec; c then answers GET_KEY for it exactly as ref does. */
static bool kept_of(struct wcache *c, struct wcache *ref, struct json_object *o)
{
    char name[128];
    bool kept = false;
    util_strlcpy(name, jx_str_or(o, "metadata.name", ""), sizeof(name));
    CU_ASSERT_EQUAL(upsert(ref, WC_OMJOB, json_object_get(o)), 0);
    CU_ASSERT_EQUAL(upsert_cut(c, WC_OMJOB, o, &kept), 0);
    same_as(c, ref, name);
    return kept;
}

/* omjob("job", rv) at generation gen with spec.ttlSecondsAfterFinished ttl. */
static struct json_object *respec(const char *rv, int64_t gen, int64_t ttl)
{
    struct json_object *o = omjob("job", rv);
    jx_set_i64(o, "metadata.generation", gen);
    jx_set_i64(o, "spec.ttlSecondsAfterFinished", ttl);
    return o;
}

/* The watcher's spec cut (wcache_upsert_cut): a version of the same uid,
 * generation and spec text keeps the cached spec (templates left out included)
 * and answers GET_KEY exactly as the version upserted whole; any other version
 * (new, respecified, recreated, only listed before, a changed text under the same
 * generation) parses its spec; a spec that is not JSON is refused and the cached
 * version stays. */
static void test_spec_kept(void)
{
    struct wcache *c = new_cache(), *ref = wcache_new();
    struct json_object *o;
    bool kept = true;
    CU_ASSERT(!kept_of(c, ref, omjob("job", "1"))); /* nothing cached */
    /* A status write. */
    o = omjob("job", "2");
    jx_set_str(o, "status.phase", "Running");
    CU_ASSERT(kept_of(c, ref, o));
    CU_ASSERT_EQUAL(nhints, 2);
    CU_ASSERT(last_ttl.flags & IPC_TTL_SET);
    CU_ASSERT_EQUAL(last_ttl.ttl_s, 604800);
    /* The main pod: its template left out; the next version keeps it out. */
    CU_ASSERT_EQUAL(upsert(c, WC_POD, pod("job", "main", UID, "p1")), 0);
    CU_ASSERT_EQUAL(upsert(ref, WC_POD, pod("job", "main", UID, "p1")), 0);
    o = omjob("job", "3");
    jx_set_str(o, "status.phase", "Succeeded");
    jx_set_str(o, "status.completionTime", "2026-11-25T10:03:00Z");
    CU_ASSERT(kept_of(c, ref, o));
    CU_ASSERT_EQUAL(omitted(c, "job"), WC_OMIT_ALL); /* finished: both out */
    CU_ASSERT(last_ttl.flags & IPC_TTL_FINISHED);
    CU_ASSERT(last_ttl.flags & IPC_TTL_SET);
    /* Respecified (a new generation): parsed. */
    CU_ASSERT(!kept_of(c, ref, respec("4", 2, 60)));
    CU_ASSERT_EQUAL(last_ttl.ttl_s, 60);
    /* The same generation with another spec text (never from a conforming API
     * server): parsed all the same. */
    CU_ASSERT(!kept_of(c, ref, respec("5", 2, 61)));
    CU_ASSERT_EQUAL(last_ttl.ttl_s, 61);
    /* Recreated: another uid (the generation as before: the uid alone tells). */
    o = respec("6", 2, 61);
    jx_set_str(o, "metadata.uid", "another");
    CU_ASSERT(!kept_of(c, ref, o));
    /* Listed (upserted whole: the spec text unknown), then watched: parsed once. */
    CU_ASSERT_EQUAL(upsert(c, WC_OMJOB, omjob("listed", "1")), 0);
    CU_ASSERT_EQUAL(upsert(ref, WC_OMJOB, omjob("listed", "1")), 0);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(upsert_cut(c, WC_OMJOB, omjob("listed", i ? "3" : "2"), &kept), 0);
        CU_ASSERT(kept == (i == 1));
    }
    CU_ASSERT_EQUAL(upsert(ref, WC_OMJOB, omjob("listed", "3")), 0);
    same_as(c, ref, "listed");
    /* A spec that is not JSON: refused, the cached version stays. */
    o = omjob("listed", "4");
    jx_set_i64(o, "metadata.generation", 9);
    json_object_object_del(o, "spec");
    int saved = dup(2);
    FILE *devnull = freopen("/dev/null", "w", stderr); /* the warning is expected */
    CU_ASSERT_EQUAL(wcache_upsert_cut(c, WC_OMJOB, o, "{\"a\":", 5, NULL, 1, &kept), -EBADMSG);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    (void)devnull;
    json_object_put(o);
    struct json_object *now = cached(c, "listed");
    CU_ASSERT_STRING_EQUAL(jx_str_or(now, "metadata.resourceVersion", ""), "3");
    json_object_put(now);
    /* Without a spec at all: kept as having none. */
    for (int i = 0; i < 2; i++) {
        o = omjob("bare", i ? "2" : "1");
        json_object_object_del(o, "spec");
        CU_ASSERT(kept_of(c, ref, o) == (i == 1));
    }
    /* A CronOMJob: the same rule; a pod is not for this call. */
    for (int i = 0; i < 2; i++) {
        o = omjob("cron", i ? "2" : "1");
        jx_set_str(o, "kind", "CronOMJob");
        CU_ASSERT_EQUAL(upsert_cut(c, WC_CRONOMJOB, o, &kept), 0);
        CU_ASSERT(kept == (i == 1));
    }
    o = pod("job", "main", UID, "p9");
    CU_ASSERT_EQUAL(wcache_upsert_cut(c, WC_POD, o, NULL, 0, NULL, 1, &kept), -EINVAL);
    json_object_put(o);
    wcache_free(ref);
    wcache_free(c);
}

static double bytes_per_omjob(struct wcache *c, int n, bool with_pods)
{
    char name[64], uid[80], pu[64];
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s-%d", with_pods ? "p" : "n", i);
        snprintf(uid, sizeof(uid), "uid-%s", name);
        struct json_object *o = omjob(name, "1");
        jx_set_str(o, "metadata.uid", uid);
        CU_ASSERT(upsert(c, WC_OMJOB, o) == 0);
        if (!with_pods)
            continue;
        snprintf(pu, sizeof(pu), "pm-%d", i);
        CU_ASSERT(upsert(c, WC_POD, pod(name, "main", uid, pu)) == 0);
        snprintf(pu, sizeof(pu), "pe-%d", i);
        CU_ASSERT(upsert(c, WC_POD, pod(name, "exit-handler", uid, pu)) == 0);
    }
    return (double)(mallinfo2().uordblks - before) / n;
}

/* An OMJob with its two pods against one without pods (templates kept). */
static void test_entry_size(void)
{
    if (getenv("OMJOB_UNDER_VALGRIND") != NULL)
        return; /* valgrind's allocator has no mallinfo */
    struct wcache *c = new_cache();
    mallinfo2(); /* warm up */
    double whole = bytes_per_omjob(c, 200, false);
    double slim = bytes_per_omjob(c, 200, true);
    if (whole <= 0) { /* ASan's allocator: mallinfo2 says 0 */
        printf("\n  sizes not measured: the allocator does not fill mallinfo2\n");
        wcache_free(c);
        return;
    }
    printf("\n  cache bytes per OMJob (allocator bytes, tables included): whole, no pods %.0f; "
           "with its 2 pods, templates left out %.0f\n",
           whole, slim);
    CU_ASSERT(slim < whole);
    CU_ASSERT(slim < 3 * 1024);
    wcache_free(c);
}

int main(void)
{
    log_init("test");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("watcher_cache_omit", NULL, NULL);
    CU_add_test(s, "templates left out once their pods are cached", test_omit_after_pods);
    CU_add_test(s, "pods of another uid keep the templates", test_other_uid_keeps);
    CU_add_test(s, "finished OMJobs keep no template", test_finished);
    CU_add_test(s, "large OMJobs keep no template", test_large);
    CU_add_test(s, "an absent template is never re-compacted for", test_absent_template);
    CU_add_test(s, "wc_obj_omit", test_obj_omit);
    CU_add_test(s, "wc_obj_omit in the text as parsed", test_omit_text);
    CU_add_test(s, "specs kept across versions of the same spec", test_spec_kept);
    CU_add_test(s, "entry sizes", test_entry_size);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}

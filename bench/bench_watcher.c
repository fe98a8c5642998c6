/* Benchmark of the watcher's OMJob events: the watch events of 2,000 OMJob lives
 * (OpenMetadata's recorded OMJob, managedFields included, as the API server sends
 * it: ADDED, the finalizer, then six status writes to Succeeded, with the main and
 * the exit pod cached between them as in a run) go through the event parser and
 * the cache, twice: each object parsed whole (wcache_upsert: before issue 14's
 * session 11) and with its spec cut unparsed and kept from the cached version
 * when it is the same (kube_evparser_cut, wcache_upsert_cut: what the watcher
 * does). Prints the thread CPU time per OMJob life each way and their ratio, and
 * checks that both caches answer GET_KEY with the same objects. Then the two
 * templates left out of each OMJob as its pods arrive, in the spec's text and by
 * parsing the whole object again: the same blocks, the CPU each way. */
#include "lib/kube/watchevent.h"

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "model/objects.h"
#include "roles/watcher/cache.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVES 2000
#define VERSIONS 8
#define REPS 3

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct json_object *load(const char *path)
{
    static char buf[1 << 16];
    struct json_object *o = NULL;
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f != NULL)
        fclose(f);
    if (n == 0 || jx_parse(buf, n, &o, NULL, 0) != 0) {
        fprintf(stderr, "bench_watcher: cannot read %s\n", path);
        exit(1);
    }
    return o;
}

/* Version v (0..VERSIONS-1) of OMJob i as a watch event line (malloc'd). */
static char *event(struct json_object *tmpl, int i, int v, size_t *len)
{
    static const char *const phase[VERSIONS] = {
        NULL, NULL, "Pending", "Running", "Running", "ExitHandlerRunning", "Running", "Succeeded"};
    char name[64], rv[32];
    struct json_object *o = NULL, *ev = json_object_new_object();
    json_object_deep_copy(tmpl, &o, NULL);
    snprintf(name, sizeof(name), "ingest-%05d", i);
    snprintf(rv, sizeof(rv), "%d", 1000 + i * VERSIONS + v);
    jx_set_str(o, "metadata.name", name);
    jx_set_str(o, "metadata.resourceVersion", rv);
    if (v == 0)
        json_object_object_del(jx_obj(o, "metadata"), "finalizers");
    if (phase[v] != NULL) {
        jx_set_str(o, "status.phase", phase[v]);
        jx_set_str(o, "status.mainPodName", name);
        jx_set_str(o, "status.startTime", "2026-12-05T10:00:01Z");
        jx_set_i64(o, "status.observedGeneration", 1);
    }
    if (v >= 5)
        jx_set_str(o, "status.exitHandlerPodName", "exit");
    if (v == VERSIONS - 1)
        jx_set_str(o, "status.completionTime", "2026-12-05T10:00:09Z");
    json_object_object_add(ev, "type", json_object_new_string(v == 0 ? "ADDED" : "MODIFIED"));
    json_object_object_add(ev, "object", o);
    char *text = jx_dump(ev, len);
    json_object_put(ev);
    return text;
}

/* A pod of OMJob i of type (main or exit-handler), its uid as the OMJob's. */
static struct json_object *pod(struct json_object *tmpl, const char *uid, int i, const char *type)
{
    char name[96], omjob[64];
    struct json_object *p = NULL;
    json_object_deep_copy(tmpl, &p, NULL);
    snprintf(omjob, sizeof(omjob), "ingest-%05d", i);
    snprintf(name, sizeof(name), "%s-%s", omjob, type);
    jx_set_str(p, "metadata.name", name);
    jx_set_str(p, "metadata.namespace", "crd-277a4bcb");
    jx_set_str(p, "metadata.uid", name);
    jx_set_str(p, "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/name", omjob);
    jx_set_str(p, "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/pod-type", type);
    struct json_object *ref = json_object_array_get_idx(jx_arr(p, "metadata.ownerReferences"), 0);
    jx_set_str(ref, "name", omjob);
    jx_set_str(ref, "uid", uid);
    return p;
}

static void no_hint(void *ctx, enum ipc_kind kind, const char *key, const char *ns,
                    const char *name, uint64_t rev, unsigned flags, const struct wc_obj *omjob)
{
    (void)ctx, (void)kind, (void)key, (void)ns, (void)name, (void)rev, (void)flags, (void)omjob;
}

int main(void)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/watcher/omjob.json", dir ? dir : "tests/unit/data");
    struct json_object *tmpl = load(path);
    snprintf(path, sizeof(path), "%s/watcher/pod-terminated.json", dir ? dir : "tests/unit/data");
    struct json_object *ptmpl = load(path);
    const char *uid = jx_str(tmpl, "metadata.uid");
    static char *lines[LIVES][VERSIONS];
    static size_t lens[LIVES][VERSIONS];
    size_t bytes = 0;
    for (int i = 0; i < LIVES; i++)
        for (int v = 0; v < VERSIONS; v++) {
            lines[i][v] = event(tmpl, i, v, &lens[i][v]);
            bytes += lens[i][v];
        }
    printf("stream: %d OMJob lives of %d events, %.0f bytes/event\n", LIVES, VERSIONS,
           (double)bytes / (LIVES * VERSIONS));
    double cpu[2] = {0, 0};
    unsigned long kept = 0;
    struct wcache *caches[2] = {NULL, NULL};
    for (int cut = 0; cut < 2; cut++) {
        struct kube_evparser *p = NULL;
        struct jx_parser *jp = NULL;
        if (kube_evparser_new(&p) != 0 || jx_parser_new(&jp) != 0)
            return 1;
        kube_evparser_drop_managed_fields(p, true);
        kube_evparser_cut(p, cut ? "spec" : NULL);
        for (int rep = 0; rep < REPS; rep++) {
            struct wcache *c = wcache_new();
            wcache_set_hint(c, no_hint, NULL);
            double c0 = cpu_s();
            for (int i = 0; i < LIVES; i++) {
                for (int v = 0; v < VERSIONS; v++) {
                    struct kube_event ev;
                    bool k = false;
                    if (kube_evparser_parse(p, lines[i][v], lens[i][v], &ev) != 0)
                        return 1;
                    int rc = cut ? wcache_upsert_cut(c, WC_OMJOB, ev.object, ev.cut, ev.cut_len, jp,
                                                     1, &k)
                                 : wcache_upsert(c, WC_OMJOB, ev.object, 1);
                    kube_event_clear(&ev);
                    if (rc != 0)
                        return 1;
                    kept += k;
                    if (v == 2 || v == 5) { /* the main pod, then the exit pod, cached */
                        struct json_object *po =
                            pod(ptmpl, uid, i, v == 2 ? "main" : "exit-handler");
                        double p0 = cpu_s();
                        wcache_upsert(c, WC_POD, po, 1);
                        json_object_put(po);
                        c0 += cpu_s() - p0; /* the pods' own cost is the same either way */
                    }
                }
            }
            cpu[cut] += cpu_s() - c0;
            if (rep == REPS - 1)
                caches[cut] = c;
            else
                wcache_free(c);
        }
        kube_evparser_free(p);
        jx_parser_free(jp);
    }
    /* Both caches answer every key with the same object. */
    for (int i = 0; i < LIVES; i += 97) {
        char key[96];
        struct json_object *o[2] = {NULL, NULL};
        snprintf(key, sizeof(key), "crd-277a4bcb/ingest-%05d", i);
        for (int k = 0; k < 2; k++) {
            char *out = NULL;
            size_t len = 0;
            if (wcache_render_key(caches[k], key, strlen(key), false, &out, &len) != 0 ||
                jx_parse(out, len, &o[k], NULL, 0) != 0)
                return 1;
            free(out);
        }
        json_object_object_del(o[0], "cacheRevision");
        json_object_object_del(o[1], "cacheRevision");
        if (!json_object_equal(o[0], o[1])) {
            fprintf(stderr, "bench_watcher: %s differs between the two ways\n", key);
            return 1;
        }
        json_object_put(o[0]);
        json_object_put(o[1]);
    }
    /* The templates left out as the pods arrive: the main pod's, then the exit
     * pod's (cache.c omit_now, under the cache's write lock), in the spec's text
     * (wc_obj_omit) and by parsing the whole object again (wc_obj_omit_parsed, the
     * way before session 12): the same blocks, the CPU per OMJob each way. */
    double ocpu[2] = {0, 0};
    {
        struct kube_evparser *p = NULL;
        struct wc_obj **w = calloc(LIVES, sizeof(*w));
        if (w == NULL || kube_evparser_new(&p) != 0)
            return 1;
        kube_evparser_drop_managed_fields(p, true);
        for (int i = 0; i < LIVES; i++) {
            struct kube_event ev;
            if (kube_evparser_parse(p, lines[i][1], lens[i][1], &ev) != 0 ||
                wc_obj_parse(ev.object, &w[i]) != 0)
                return 1;
            kube_event_clear(&ev);
        }
        for (int rep = 0; rep < REPS; rep++) {
            for (int way = 0; way < 2; way++) {
                int (*omit)(const struct wc_obj *, unsigned, struct wc_obj **) =
                    way == 0 ? wc_obj_omit_parsed : wc_obj_omit;
                double c0 = cpu_s();
                for (int i = 0; i < LIVES; i++) {
                    struct wc_obj *a = NULL, *b = NULL;
                    if (omit(w[i], WC_OMIT_MAIN, &a) != 0 || omit(a, WC_OMIT_EXIT, &b) != 0)
                        return 1;
                    free(a);
                    free(b);
                }
                ocpu[way] += cpu_s() - c0;
            }
        }
        for (int i = 0; i < LIVES; i++) {
            struct wc_obj *a[2] = {NULL, NULL}, *b[2] = {NULL, NULL};
            if (wc_obj_omit_parsed(w[i], WC_OMIT_MAIN, &a[0]) != 0 ||
                wc_obj_omit_parsed(a[0], WC_OMIT_EXIT, &b[0]) != 0 ||
                wc_obj_omit(w[i], WC_OMIT_MAIN, &a[1]) != 0 ||
                wc_obj_omit(a[1], WC_OMIT_EXIT, &b[1]) != 0)
                return 1;
            if (b[0]->o_json_len != b[1]->o_json_len ||
                memcmp(b[0]->o_json, b[1]->o_json, b[0]->o_json_len) != 0 ||
                b[0]->o_omitted != WC_OMIT_ALL || b[1]->o_omitted != WC_OMIT_ALL) {
                fprintf(stderr, "bench_watcher: OMJob %d left out differently\n", i);
                return 1;
            }
            free(a[0]), free(a[1]), free(b[0]), free(b[1]), free(w[i]);
        }
        free(w);
        kube_evparser_free(p);
    }
    double per[2] = {cpu[0] * 1e6 / (LIVES * REPS), cpu[1] * 1e6 / (LIVES * REPS)};
    double oper[2] = {ocpu[0] * 1e6 / (LIVES * REPS), ocpu[1] * 1e6 / (LIVES * REPS)};
    printf("specs kept: %.2f of %d events per OMJob life\n", (double)kept / (LIVES * REPS),
           VERSIONS);
    printf("BENCH watcher_omjob_events_cpu_us_per_omjob_whole %.1f us\n", per[0]);
    printf("BENCH watcher_omjob_events_cpu_us_per_omjob_spec_cut %.1f us\n", per[1]);
    printf("BENCH watcher_omjob_events_spec_cut_vs_whole_cpu_ratio %.3f ratio\n", per[1] / per[0]);
    printf("BENCH watcher_template_omit_cpu_us_per_omjob_parsed %.1f us\n", oper[0]);
    printf("BENCH watcher_template_omit_cpu_us_per_omjob_text %.1f us\n", oper[1]);
    printf("BENCH watcher_template_omit_text_vs_parsed_cpu_ratio %.3f ratio\n", oper[1] / oper[0]);
    wcache_free(caches[0]);
    wcache_free(caches[1]);
    for (int i = 0; i < LIVES; i++)
        for (int v = 0; v < VERSIONS; v++)
            free(lines[i][v]);
    json_object_put(tmpl);
    json_object_put(ptmpl);
    return 0;
}

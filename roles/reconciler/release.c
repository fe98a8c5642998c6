/* `omjob-operator release`: the way back to the original operator (README,
 * "Rolling back"). Removes this operator's finalizers from every pod and OMJob
 * in the watched namespaces, so that nothing is left for a process that no
 * longer runs: deleting an OMJob or a pod then completes at once. Run it with the
 * operator stopped (a running one takes the pods on again). */
#include <errno.h>
#include <sysexits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "lib/kube/client.h"
#include "model/labels.h"
#include "roles/reconciler/decide.h"
#include "roles/reconciler/reconciler.h"
#include "runtime/kclient.h"
#include "runtime/role.h"

#define RELEASE_TRIES 5 /* a conflict re-reads the object and tries again */

struct release {
    struct kube_client *kc;
    bool dry_run;
    int released[2], failed; /* released: pods, OMJobs */
};

/* One kind of object: which finalizer is ours and how to select them. */
struct rkind {
    const char *gv, *plural, *what, *finalizer, *selector;
    int idx;
};

static const struct rkind KINDS[] = {
    {POD_GROUP_VERSION, POD_PLURAL, "pod", FINALIZER_TRACKING, LABEL_SELECTOR_PODS, 0},
    {OMJOB_GROUP_VERSION, OMJOB_PLURAL, "OMJob", FINALIZER_OMJOB, NULL, 1},
};

static bool has_ours(struct json_object *obj, const char *fin)
{
    struct json_object *f = jx_arr(obj, "metadata.finalizers");
    for (size_t i = 0; f != NULL && i < json_object_array_length(f); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(f, i)), fin) == 0)
            return true;
    return false;
}

/* {"metadata":{"resourceVersion":rv,"finalizers":[the others]}}, or NULL. */
static struct json_object *patch_without(struct json_object *obj, const char *fin)
{
    struct json_object *p = json_object_new_object(), *keep = json_object_new_array();
    struct json_object *f = jx_arr(obj, "metadata.finalizers");
    if (p == NULL || keep == NULL) {
        json_object_put(p);
        json_object_put(keep);
        return NULL;
    }
    for (size_t i = 0; f != NULL && i < json_object_array_length(f); i++) {
        struct json_object *v = json_object_array_get_idx(f, i);
        if (strcmp(json_object_get_string(v), fin) != 0)
            json_object_array_add(keep, json_object_get(v));
    }
    jx_set_str(p, "metadata.resourceVersion", jx_str_or(obj, "metadata.resourceVersion", ""));
    jx_set(p, "metadata.finalizers", keep);
    return p;
}

/* Removes our finalizer from obj (borrowed), re-reading it after a conflict. */
static void release_one(struct release *r, const struct rkind *k, struct json_object *obj)
{
    const char *ns = jx_str_or(obj, "metadata.namespace", ""),
               *name = jx_str_or(obj, "metadata.name", "");
    struct kube_ref ref = {.gv = k->gv, .plural = k->plural, .ns = ns, .name = name};
    struct json_object *cur = json_object_get(obj);
    struct kube_err e;
    int rc = 0;
    if (r->dry_run) {
        printf("would release %s %s/%s\n", k->what, ns, name);
        r->released[k->idx]++;
        json_object_put(cur);
        return;
    }
    for (int t = 0; t < RELEASE_TRIES && cur != NULL && has_ours(cur, k->finalizer); t++) {
        struct json_object *patch = patch_without(cur, k->finalizer), *out = NULL;
        rc = patch == NULL ? -ENOMEM : kube_patch(r->kc, &ref, KUBE_PATCH_MERGE, patch, &out, &e);
        json_object_put(patch);
        json_object_put(cur);
        cur = NULL;
        if (rc == 0) {
            json_object_put(out);
            printf("released %s %s/%s\n", k->what, ns, name);
            r->released[k->idx]++;
            return;
        }
        if (rc != -ESTALE)
            break;
        rc = kube_get(r->kc, &ref, &cur, &e); /* changed meanwhile: look again */
        if (rc != 0)
            break;
    }
    json_object_put(cur);
    if (rc == -ENOENT || rc == 0)
        return; /* gone meanwhile, or no longer ours */
    fprintf(stderr, "omjob-operator release: %s %s/%s: %s\n", k->what, ns, name,
            rc == -ENOMEM ? "out of memory" : e.message);
    r->failed++;
}

struct collect {
    struct json_object *items;
    const char *fin;
};

static int collect(void *ctx, struct json_object *item)
{
    struct collect *c = ctx;
    if (has_ours(item, c->fin))
        json_object_array_add(c->items, json_object_get(item));
    return 0;
}

/* Every object of kind k in namespace ns (NULL: all) holding our finalizer: the
 * list first, then the patches (one at a time, in list order). */
static int release_kind(struct release *r, const struct rkind *k, const char *ns)
{
    struct kube_ref ref = {.gv = k->gv, .plural = k->plural, .ns = ns};
    struct kube_list_opts o = {.label_selector = k->selector};
    struct collect c = {.items = json_object_new_array(), .fin = k->finalizer};
    struct kube_err e;
    if (c.items == NULL)
        return -ENOMEM;
    int rc = kube_list(r->kc, &ref, &o, collect, &c, NULL, 0, &e);
    if (rc != 0) {
        fprintf(stderr, "omjob-operator release: cannot list %ss%s%s: %s\n", k->what,
                ns != NULL ? " in " : "", ns != NULL ? ns : "", e.message);
        r->failed++;
    }
    for (size_t i = 0; rc == 0 && i < json_object_array_length(c.items); i++)
        release_one(r, k, json_object_array_get_idx(c.items, i));
    json_object_put(c.items);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: omjob-operator release [--dry-run]\n"
            "Removes this operator's finalizers from every pod and OMJob in WATCH_NAMESPACES\n"
            "(pods first), for rolling back to the original operator. Stop this operator\n"
            "first: a running one takes the pods on again. Exit status 0 when every one\n"
            "was released, 1 otherwise.\n");
    return ROLE_EX_USAGE;
}

int reconciler_release_command(int argc, char **argv)
{
    struct release r = {0};
    struct cfg cfg;
    struct kube_client_opts ko = {.request_timeout_ms = 10000, .max_attempts = 3};
    char err[512] = "";
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--dry-run") != 0))
        return usage();
    r.dry_run = argc == 2;
    cfg_load_or_exit(&cfg);
    int rc = kclient_new(&cfg, NULL, &ko, &r.kc, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "omjob-operator release: no API client: %s\n",
                err[0] ? err : strerror(-rc));
        cfg_free(&cfg);
        return rc == -ENOMEM ? 1 : EX_CONFIG;
    }
    /* Pods first: an OMJob released first could go, and its pods with it, before
     * their own finalizer is removed (they would then wait for this command). */
    for (size_t k = 0; k < sizeof(KINDS) / sizeof(KINDS[0]); k++) {
        if (cfg.watch_all)
            release_kind(&r, &KINDS[k], NULL);
        for (size_t i = 0; i < cfg.n_watch_namespaces; i++)
            release_kind(&r, &KINDS[k], cfg.watch_namespaces[i]);
    }
    printf("%s %d pod(s) and %d OMJob(s); %d failed\n", r.dry_run ? "would release" : "released",
           r.released[0], r.released[1], r.failed);
    kube_client_free(r.kc);
    cfg_free(&cfg);
    return r.failed > 0 ? 1 : 0;
}

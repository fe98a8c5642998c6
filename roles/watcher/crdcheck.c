/* The installed CRDs against the fields this operator writes (crdcheck.h): which
 * an older schema prunes, said once at start. */
#include "roles/watcher/crdcheck.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/kube/client.h"
#include "runtime/ctl.h"
#include "runtime/kclient.h"
#include "runtime/rundir.h"

#define UPGRADE_HINT "kubectl apply -f deploy/crd"

static const char *const OMJOB_FIELDS[] = {
    "spec.mainPodSpec",
    "spec.exitHandlerSpec",
    "spec.ttlSecondsAfterFinished",
    "status.phase",
    "status.message",
    "status.mainPodName",
    "status.exitHandlerPodName",
    "status.startTime",
    "status.completionTime",
    "status.mainPodExitCode",
    "status.mainPodReason",
    "status.exitHandlerExitCode",
    "status.exitHandlerReason",
    "status.exitHandlerAttempts",
    "status.lastTransitionTime",
    "status.observedGeneration",
    "status.conditions",
};

static const char *const CRON_FIELDS[] = {
    "spec.schedule",
    "spec.timeZone",
    "spec.suspend",
    "spec.startingDeadlineSeconds",
    "spec.successfulJobsHistoryLimit",
    "spec.failedJobsHistoryLimit",
    "spec.concurrencyPolicy",
    "spec.omJobSpec",
    "status.lastScheduleTime",
    "status.lastOMJobName",
    "status.lastSuccessfulTime",
    "status.lastMissedTime",
    "status.nextScheduleTime",
    "status.active",
    "status.observedGeneration",
    "status.message",
    "status.conditions",
};

static const struct {
    const char *name;
    const char *const *fields;
    size_t n;
} CRDS[] = {
    {"omjobs.pipelines.openmetadata.org", OMJOB_FIELDS,
     sizeof(OMJOB_FIELDS) / sizeof(OMJOB_FIELDS[0])},
    {"cronomjobs.pipelines.openmetadata.org", CRON_FIELDS,
     sizeof(CRON_FIELDS) / sizeof(CRON_FIELDS[0])},
};

/* The schema of the version objects are stored as (else "v1", else the first). */
static struct json_object *storage_schema(struct json_object *crd)
{
    struct json_object *vs = jx_arr(crd, "spec.versions"), *pick = NULL;
    size_t n = vs != NULL ? json_object_array_length(vs) : 0;
    for (size_t i = 0; i < n && pick == NULL; i++) {
        struct json_object *v = json_object_array_get_idx(vs, i), *st = NULL;
        if (json_object_object_get_ex(v, "storage", &st) && json_object_get_boolean(st))
            pick = v;
    }
    for (size_t i = 0; i < n && pick == NULL; i++)
        if (strcmp(jx_str_or(json_object_array_get_idx(vs, i), "name", ""), "v1") == 0)
            pick = json_object_array_get_idx(vs, i);
    if (pick == NULL && n > 0)
        pick = json_object_array_get_idx(vs, 0);
    return pick != NULL ? jx_obj(pick, "schema.openAPIV3Schema") : NULL;
}

static bool preserves(struct json_object *level)
{
    struct json_object *p = NULL;
    return json_object_object_get_ex(level, "x-kubernetes-preserve-unknown-fields", &p) &&
           json_object_get_boolean(p);
}

/* True when the schema keeps path ("a.b"): every level declares the next, or a
 * level preserves unknown fields. */
static bool kept(struct json_object *schema, const char *path)
{
    struct json_object *level = schema;
    char seg[128];
    const char *p = path;
    while (*p != '\0') {
        if (preserves(level))
            return true;
        size_t len = strcspn(p, ".");
        if (len >= sizeof(seg))
            return false;
        memcpy(seg, p, len);
        seg[len] = '\0';
        struct json_object *props = jx_obj(level, "properties"), *next = NULL;
        if (props == NULL || !json_object_object_get_ex(props, seg, &next))
            return false;
        level = next;
        p += len + (p[len] == '.');
    }
    return true;
}

int crdcheck_pruned(struct json_object *crd, const char *const *fields, size_t n,
                    struct json_object *out)
{
    struct json_object *schema = storage_schema(crd);
    int count = 0;
    if (schema == NULL)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (kept(schema, fields[i]))
            continue;
        json_object_array_add(out, json_object_new_string(fields[i]));
        count++;
    }
    return count;
}

/* The list as "a, b, c" for the log. */
static void joined(struct json_object *arr, char *buf, size_t sz)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(arr) && off < sz; i++) {
        int w = snprintf(buf + off, sz - off, "%s%s", i > 0 ? ", " : "",
                         json_object_get_string(json_object_array_get_idx(arr, i)));
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* One CRD: its entry in the report, the log line and the gauge. */
static struct json_object *check_one(struct kube_client *kc, size_t k, struct metrics_family *g)
{
    struct kube_ref ref = {.gv = "apiextensions.k8s.io/v1",
                           .plural = "customresourcedefinitions",
                           .name = CRDS[k].name};
    struct json_object *crd = NULL, *e = json_object_new_object(), *pr = json_object_new_array();
    struct kube_err err;
    char list[1024];
    int n = -1;
    int rc = kube_get(kc, &ref, &crd, &err);
    if (rc == 0)
        n = crdcheck_pruned(crd, CRDS[k].fields, CRDS[k].n, pr);
    json_object_put(crd);
    json_object_object_add(e, "read", json_object_new_boolean(n >= 0));
    if (n < 0) {
        log_warn("cannot read the installed CRD: which of our fields it prunes is unknown", "crd",
                 CRDS[k].name, "error", rc != 0 ? err.message : "no schema", "rule",
                 "get customresourcedefinitions (apiextensions.k8s.io) in deploy/rbac", NULL);
        json_object_object_add(e, "error",
                               json_object_new_string(rc != 0 ? err.message : "no schema"));
        json_object_put(pr);
    } else {
        joined(pr, list, sizeof(list));
        if (n > 0)
            log_warn("the installed CRD is older than this operator: its schema prunes fields "
                     "the operator writes (it stays correct; those fields stay empty)",
                     "crd", CRDS[k].name, "pruned", list, "upgrade", UPGRADE_HINT, NULL);
        else
            log_info("the installed CRD keeps every field the operator writes", "crd", CRDS[k].name,
                     NULL);
        json_object_object_add(e, "pruned", pr);
        if (n > 0)
            json_object_object_add(e, "upgrade", json_object_new_string(UPGRADE_HINT));
    }
    metrics_gauge_set(g, (double)n, CRDS[k].name);
    return e;
}

/* <run dir>/crds.json, written whole (a temporary file renamed). */
static void write_report(const struct cfg *c, struct json_object *report)
{
    char path[512], tmp[520];
    if (rundir_path(path, sizeof(path), c->run_dir, RUNDIR_CRD_REPORT) != 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_object_to_file_ext(tmp, report, JSON_C_TO_STRING_PLAIN) != 0 ||
        rename(tmp, path) != 0) {
        log_warn("cannot write the CRD report for /info", "path", path, NULL);
        unlink(tmp);
    }
}

/* ---- the rules that only make things better ---- */

/* A rule the operator works without, and what it loses then. */
static const struct {
    const char *group, *resource, *verb, *desc, *loss;
    bool lease; /* only with LEADER_ELECTION=true, in OPERATOR_NAMESPACE */
} OPTIONAL[] = {
    {"", "events", "list", "list events",
     "the Events a crashed process did not post are not posted after its restart", false},
    {"", "events", "get", "get events", "a repeated Event may be posted again instead of counted",
     false},
    {"apiextensions.k8s.io", "customresourcedefinitions", "get", "get customresourcedefinitions",
     "the installed CRDs are not checked", false},
    {"coordination.k8s.io", "leases", "update", "get/create/update leases",
     "no leader election: run one replica", true},
};

/* 1 allowed, 0 denied, -errno when the review itself failed. */
static int allowed(struct kube_client *kc, const char *group, const char *resource,
                   const char *verb, const char *ns)
{
    struct kube_ref ref = {.gv = "authorization.k8s.io/v1", .plural = "selfsubjectaccessreviews"};
    struct json_object *rv = json_object_new_object(), *out = NULL, *a = NULL;
    struct kube_err err;
    if (rv == NULL)
        return -ENOMEM;
    jx_set_str(rv, "apiVersion", "authorization.k8s.io/v1");
    jx_set_str(rv, "kind", "SelfSubjectAccessReview");
    jx_set_str(rv, "spec.resourceAttributes.group", group);
    jx_set_str(rv, "spec.resourceAttributes.resource", resource);
    jx_set_str(rv, "spec.resourceAttributes.verb", verb);
    if (ns != NULL)
        jx_set_str(rv, "spec.resourceAttributes.namespace", ns);
    int rc = kube_create(kc, &ref, rv, &out, &err);
    json_object_put(rv);
    if (rc == 0)
        rc = json_object_object_get_ex(jx_obj(out, "status"), "allowed", &a) &&
                     json_object_get_boolean(a)
                 ? 1
                 : 0;
    json_object_put(out);
    return rc;
}

/* One warning at start naming every optional rule the identity lacks (an RBAC
 * such as the original's Helm chart): the operator runs every OMJob without
 * them. */
static void check_access(const struct cfg *c, struct kube_client *kc)
{
    char missing[1024] = "", losses[1024] = "";
    size_t m = 0, l = 0;
    for (size_t i = 0; i < sizeof(OPTIONAL) / sizeof(OPTIONAL[0]); i++) {
        if (OPTIONAL[i].lease && !c->leader_election)
            continue;
        int ok = allowed(kc, OPTIONAL[i].group, OPTIONAL[i].resource, OPTIONAL[i].verb,
                         OPTIONAL[i].lease ? c->namespace : NULL);
        if (ok != 0) /* allowed, or cannot tell (said by the request's own error) */
            continue;
        int w =
            snprintf(missing + m, sizeof(missing) - m, "%s%s", m > 0 ? "; " : "", OPTIONAL[i].desc);
        m += w > 0 && (size_t)w < sizeof(missing) - m ? (size_t)w : 0;
        w = snprintf(losses + l, sizeof(losses) - l, "%s%s", l > 0 ? "; " : "", OPTIONAL[i].loss);
        l += w > 0 && (size_t)w < sizeof(losses) - l ? (size_t)w : 0;
    }
    if (m > 0)
        log_warn("RBAC lacks rules the operator can do without: every OMJob still runs and its "
                 "exit handler exactly once (deploy/rbac has them)",
                 "missing", missing, "degraded", losses, NULL);
}

void crdcheck_run(const struct cfg *c, struct ctl *ctl)
{
    static const char *const lab[] = {"crd"};
    struct kube_client_opts ko = {.request_timeout_ms = 5000, .max_attempts = 2};
    struct kube_client *kc = NULL;
    struct metrics_family *g = NULL;
    char err[512] = "";
    if (metrics_gauge_new(ctl_metrics(ctl), "omjob_crd_pruned_fields",
                          "Fields the operator writes that the installed CRD's schema prunes "
                          "(0: up to date; -1: the CRD could not be read)",
                          lab, 1, &g) != 0)
        return;
    struct json_object *report = json_object_new_object();
    if (report == NULL)
        return;
    if (kclient_new(c, ctl, &ko, &kc, err, sizeof(err)) != 0) {
        log_warn("cannot check the installed CRDs", "error", err, NULL);
    } else {
        check_access(c, kc);
        for (size_t k = 0; k < sizeof(CRDS) / sizeof(CRDS[0]); k++)
            json_object_object_add(report, CRDS[k].name, check_one(kc, k, g));
        write_report(c, report);
    }
    kube_client_free(kc);
    json_object_put(report);
}

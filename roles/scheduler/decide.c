/* The CronOMJob controller's decision (docs/LIFECYCLE.md, "CronOMJob: runs, status
 * and history"): one write per call. Read it from sc_decide at the bottom: the
 * CronOMJob is read and judged once into struct pass; then the due time (due), the
 * history limits (history) and the status (status_step) may each claim the call, in
 * that order; what none claims is SC_NONE until the next time (requeue).
 *
 * A scheduled time is dealt with exactly once, and each way of dealing with it
 * leaves a mark the next call reads: a run (the OMJob's scheduled-at annotation),
 * a skip (status.lastScheduleTime: Forbid, FailedCreate), or a miss
 * (status.lastMissedTime: past startingDeadlineSeconds, or passed while the
 * CronOMJob was suspended or invalid). The times still to deal with are those after
 * the latest mark. */
#include "roles/scheduler/decide.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "lib/cron/cron.h"
#include "lib/cron/tz.h"
#include "model/labels.h"
#include "model/objects.h"

#define PH_SUCCEEDED "Succeeded"
#define PH_FAILED "Failed"
#define COND_SCHEDULED "Scheduled"
#define COND_LAST_RUN "LastRunSucceeded"
#define DEFAULT_HISTORY 3
/* Replace waits for the runs it deleted to be gone; the OMJobs' changes hint the
 * CronOMJob, this is only the safety net. */
#define REPLACE_RETRY_MS 5000
/* startingDeadlineSeconds beyond this are this (about a century). */
#define DEADLINE_MAX (INT64_C(100) * 366 * 86400)
#define NO_TIME INT64_MIN

enum policy { POL_FORBID, POL_ALLOW, POL_REPLACE };

struct pass {
    const struct sc_input *in;
    struct sc_action *out;
    struct json_object *cron, *spec, *status;
    const char *name, *ns, *uid;
    int64_t now_s;
    /* The spec, judged: bad_reason NULL when it can run. */
    const char *bad_reason;
    char bad_msg[SC_MSG_MAX];
    const char *schedule, *zone_name;
    struct cron_sched sched;
    const struct tz_zone *zone;
    bool suspended;
    enum policy policy;
    int64_t deadline_s; /* startingDeadlineSeconds, -1 none */
    int64_t keep_ok, keep_failed;
    /* The children this CronOMJob controls (others, of an earlier CronOMJob of the
     * same name, are only name holders). */
    const struct sc_child **mine;
    size_t nmine;
    /* The status as it is (unix seconds, NO_TIME absent). */
    int64_t cur_sched, cur_missed, cur_success;
    /* What the due time asks of the status. */
    int64_t set_sched, set_missed;
    bool waiting; /* Replace: the runs it deleted are not gone yet */
    bool oom;     /* a JSON constructor failed while building the status */
    struct sc_event pend[SC_MAX_EVENTS];
    int npend;
};

const char *sc_kind_str(enum sc_kind k)
{
    switch (k) {
    case SC_NONE:
        return "none";
    case SC_CREATE:
        return "create-omjob";
    case SC_DELETE:
        return "delete-omjob";
    case SC_STATUS:
        return "write-status";
    }
    return "unknown";
}

void sc_action_free(struct sc_action *a)
{
    if (a == NULL)
        return;
    if (a->body != NULL)
        json_object_put(a->body);
    memset(a, 0, sizeof(*a));
}

int sc_run_name(const char *cron_name, int64_t t, char *out, size_t outsz)
{
    char suffix[32];
    if (cron_name == NULL || *cron_name == '\0' || out == NULL || t < 0)
        return -EINVAL;
    snprintf(suffix, sizeof(suffix), "-%lld", (long long)t);
    return util_k8s_name(out, outsz, cron_name, suffix, UTIL_K8S_LABEL_MAX) == 0 ? 0 : -EINVAL;
}

/* ---- small helpers ---- */

static void why(struct sc_action *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct sc_action *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, sizeof(a->why), fmt, ap);
    va_end(ap);
}

static void vevent(struct sc_event *ev, int *n, enum sc_ev_type type, const char *reason,
                   const char *fmt, va_list ap)
{
    if (*n >= SC_MAX_EVENTS)
        return;
    struct sc_event *e = &ev[(*n)++];
    e->type = type;
    e->reason = reason;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

/* An Event that goes with whichever write deals with the due time (or the status). */
static void pend(struct pass *p, enum sc_ev_type type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void pend(struct pass *p, enum sc_ev_type type, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vevent(p->pend, &p->npend, type, reason, fmt, ap);
    va_end(ap);
}

/* An Event of the action itself. */
static void event(struct sc_action *a, enum sc_ev_type type, const char *reason, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static void event(struct sc_action *a, enum sc_ev_type type, const char *reason, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vevent(a->ev, &a->nev, type, reason, fmt, ap);
    va_end(ap);
}

static void take_pending(struct pass *p)
{
    for (int i = 0; i < p->npend && p->out->nev < SC_MAX_EVENTS; i++)
        p->out->ev[p->out->nev++] = p->pend[i];
}

static bool str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

static int64_t max_t(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t clamp_t(int64_t t)
{
    return t < CRON_TIME_MIN ? CRON_TIME_MIN : t > CRON_TIME_MAX ? CRON_TIME_MAX : t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-(a + 1)) / b) - 1;
}

/* Unix ms to seconds, rounding down (NO_TIME for 0, "unknown" in struct sc_child). */
static int64_t ms_to_s(int64_t ms)
{
    return ms == 0 ? NO_TIME : floor_div(ms, 1000);
}

/* An RFC 3339 time at path, in unix seconds (rounded down), or NO_TIME. */
static int64_t time_at(struct json_object *obj, const char *path)
{
    int64_t ns;
    const char *s = jx_str(obj, path);
    if (s == NULL || util_rfc3339_parse(s, &ns) != 0)
        return NO_TIME;
    return floor_div(ns, 1000000000);
}

/* Kubernetes' metav1.Time of unix second t; "" when it has none (out of range). */
static void fmt_time(int64_t t, char *buf, size_t sz)
{
    if (t == NO_TIME || t > INT64_MAX / 1000000000 || t < INT64_MIN / 1000000000 ||
        util_rfc3339_format(t * 1000000000, 0, buf, sz) != 0)
        buf[0] = '\0';
}

/* A constructor's result, noting a failure in p->oom. */
static struct json_object *chk(struct pass *p, struct json_object *o)
{
    if (o == NULL)
        p->oom = true;
    return o;
}

/* The time as JSON; NULL when it has none. */
static struct json_object *time_json(struct pass *p, int64_t t)
{
    char buf[UTIL_RFC3339_MAX];
    fmt_time(t, buf, sizeof(buf));
    return buf[0] != '\0' ? chk(p, json_object_new_string(buf)) : NULL;
}

/* ---- the children ---- */

static bool finished(const struct sc_child *c)
{
    return str_eq(c->phase, PH_SUCCEEDED) || str_eq(c->phase, PH_FAILED);
}

/* Running and not being deleted: what concurrencyPolicy counts. */
static bool active(const struct sc_child *c)
{
    return !finished(c) && !c->deleting;
}

static const char *cname(const struct sc_child *c)
{
    return c->name != NULL ? c->name : "";
}

static int by_name(const void *a, const void *b)
{
    return strcmp(cname(*(const struct sc_child *const *)a),
                  cname(*(const struct sc_child *const *)b));
}

/* Finished earlier: by completion, then creation, then name. */
static bool older(const struct sc_child *a, const struct sc_child *b)
{
    if (a->completed_ms != b->completed_ms)
        return a->completed_ms < b->completed_ms;
    if (a->created_ms != b->created_ms)
        return a->created_ms < b->created_ms;
    return strcmp(cname(a), cname(b)) < 0;
}

/* The children this CronOMJob controls, sorted by name: those whose controller
 * uid is this CronOMJob's or unknown. */
static int collect_mine(struct pass *p)
{
    const struct sc_input *in = p->in;
    if (in->children == NULL || in->nchildren == 0)
        return 0;
    p->mine = calloc(in->nchildren, sizeof(*p->mine));
    if (p->mine == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < in->nchildren; i++) {
        const struct sc_child *c = &in->children[i];
        if (c->name == NULL || (nonempty(c->owner_uid) && strcmp(c->owner_uid, p->uid) != 0))
            continue;
        p->mine[p->nmine++] = c;
    }
    qsort(p->mine, p->nmine, sizeof(*p->mine), by_name);
    return 0;
}

static const struct sc_child *mine_named(const struct pass *p, const char *name)
{
    for (size_t i = 0; i < p->nmine; i++)
        if (str_eq(p->mine[i]->name, name))
            return p->mine[i];
    return NULL;
}

static int64_t newest_run(const struct pass *p)
{
    int64_t t = NO_TIME;
    for (size_t i = 0; i < p->nmine; i++)
        if (p->mine[i]->scheduled_ms > 0)
            t = max_t(t, ms_to_s(p->mine[i]->scheduled_ms));
    return t;
}

/* ---- the spec ---- */

static void bad(struct pass *p, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(struct pass *p, const char *reason, const char *fmt, ...)
{
    va_list ap;
    p->bad_reason = reason;
    va_start(ap, fmt);
    vsnprintf(p->bad_msg, sizeof(p->bad_msg), fmt, ap);
    va_end(ap);
}

static void read_schedule(struct pass *p)
{
    char err[CRON_ERR_MAX];
    struct json_object *v = json_object_object_get(p->spec, "schedule");
    if (v == NULL || !json_object_is_type(v, json_type_string)) {
        bad(p, "InvalidSchedule", "spec.schedule is %s", v == NULL ? "missing" : "not a string");
        return;
    }
    p->schedule = json_object_get_string(v);
    if (cron_parse(p->schedule, &p->sched, err, sizeof(err)) != 0)
        bad(p, "InvalidSchedule", "invalid schedule \"%.80s\": %s", p->schedule, err);
}

static void read_zone(struct pass *p)
{
    char err[TZ_ERR_MAX];
    struct json_object *v = json_object_object_get(p->spec, "timeZone");
    p->zone_name = "UTC";
    if (v != NULL && !json_object_is_type(v, json_type_string)) {
        bad(p, "UnknownTimeZone", "spec.timeZone is not a string");
        return;
    }
    if (v != NULL && json_object_get_string_len(v) > 0)
        p->zone_name = json_object_get_string(v);
    err[0] = '\0';
    if (tz_get(p->zone_name, &p->zone, err, sizeof(err)) != 0)
        bad(p, "UnknownTimeZone", "%s",
            err[0] != '\0' ? err : "unknown time zone (no zone of that name)");
}

static void read_policy(struct pass *p)
{
    struct json_object *v = json_object_object_get(p->spec, "concurrencyPolicy");
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    p->policy = POL_FORBID;
    if (v == NULL || str_eq(s, "") || str_eq(s, "Forbid"))
        return;
    if (str_eq(s, "Allow"))
        p->policy = POL_ALLOW;
    else if (str_eq(s, "Replace"))
        p->policy = POL_REPLACE;
    else if (s != NULL)
        bad(p, "InvalidSpec", "spec.concurrencyPolicy \"%.40s\" is not Allow, Forbid or Replace",
            s);
    else
        bad(p, "InvalidSpec", "spec.concurrencyPolicy is not a string");
}

/* An optional integer >= 0; def when absent or anything else (the schema refuses
 * those at admission). */
static int64_t count_or(struct json_object *spec, const char *k, int64_t def)
{
    int64_t v;
    return jx_i64(spec, k, &v) == 0 && v >= 0 ? v : def;
}

static void read_spec(struct pass *p)
{
    p->spec = jx_obj(p->cron, "spec");
    p->deadline_s = -1;
    p->keep_ok = p->keep_failed = DEFAULT_HISTORY;
    if (p->spec == NULL || !json_object_is_type(p->spec, json_type_object)) {
        p->spec = NULL;
        bad(p, "InvalidSpec", "spec is missing or not an object");
        return;
    }
    p->suspended = jx_bool_or(p->spec, "suspend", false);
    p->deadline_s = count_or(p->spec, "startingDeadlineSeconds", -1);
    if (p->deadline_s > DEADLINE_MAX)
        p->deadline_s = DEADLINE_MAX;
    p->keep_ok = count_or(p->spec, "successfulJobsHistoryLimit", DEFAULT_HISTORY);
    p->keep_failed = count_or(p->spec, "failedJobsHistoryLimit", DEFAULT_HISTORY);
    read_schedule(p);
    if (p->bad_reason == NULL)
        read_zone(p);
    if (p->bad_reason == NULL &&
        !json_object_is_type(jx_get(p->spec, "omJobSpec"), json_type_object))
        bad(p, "InvalidSpec",
            "spec.omJobSpec is missing or not an object (an older CronOMJob CRD, such as one "
            "defining jobTemplate.spec, prunes it: kubectl apply -f deploy/crd)");
    if (p->bad_reason == NULL)
        read_policy(p);
}

static struct json_object *cur_cond(const struct pass *p, const char *type)
{
    struct json_object *conds = jx_arr(p->status, "conditions");
    size_t n = conds != NULL ? json_object_array_length(conds) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(conds, i);
        if (str_eq(jx_str(c, "type"), type))
            return c;
    }
    return NULL;
}

/* The status said the CronOMJob could not run (suspended or invalid): the times
 * that passed meanwhile are missed, not caught up. */
static bool was_stopped(const struct pass *p)
{
    return str_eq(jx_str(cur_cond(p, COND_SCHEDULED), "status"), "False");
}

/* ---- the OMJob of a run ---- */

/* Every env value exactly a placeholder becomes the run's id or name. */
static int fill_env(struct json_object *podspec, const char *run_id, const char *name)
{
    struct json_object *env = jx_arr(podspec, "env");
    size_t n = env != NULL ? json_object_array_length(env) : 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct json_object *e = json_object_array_get_idx(env, i), *v = NULL;
        if (!json_object_is_type(e, json_type_object) ||
            !json_object_object_get_ex(e, "value", &v) || !json_object_is_type(v, json_type_string))
            continue;
        if (strcmp(json_object_get_string(v), PLACEHOLDER_RUN_ID) == 0)
            rc = jx_add_str(e, "value", run_id);
        else if (strcmp(json_object_get_string(v), PLACEHOLDER_NAME) == 0)
            rc = jx_add_str(e, "value", name);
    }
    return rc;
}

static int omjob_spec(struct pass *p, const char *name, struct json_object **out)
{
    struct json_object *spec = NULL;
    if (json_object_deep_copy(jx_get(p->spec, "omJobSpec"), &spec, NULL) != 0)
        return -ENOMEM;
    int rc = fill_env(jx_obj(spec, "mainPodSpec"), p->in->run_id, name);
    if (rc == 0)
        rc = fill_env(jx_obj(spec, "exitHandlerSpec"), p->in->run_id, name);
    if (rc != 0) {
        json_object_put(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

/* The CronOMJob's labels (strings), then the run's id. */
static struct json_object *omjob_labels(struct pass *p)
{
    struct json_object *labels = json_object_new_object(),
                       *src = jx_obj(p->cron, "metadata.labels");
    int rc = labels == NULL ? -ENOMEM : 0;
    if (rc == 0 && src != NULL && json_object_is_type(src, json_type_object)) {
        json_object_object_foreach(src, k, v)
        {
            if (rc == 0 && json_object_is_type(v, json_type_string))
                rc = jx_add(labels, k, json_object_get(v));
        }
    }
    if (rc == 0)
        rc = jx_add_str(labels, LABEL_RUN_ID, p->in->run_id);
    if (rc != 0) {
        json_object_put(labels);
        return NULL;
    }
    return labels;
}

static struct json_object *omjob_meta(struct pass *p, const char *name, int64_t t)
{
    struct json_object *meta = json_object_new_object(), *ann = json_object_new_object();
    int rc = meta == NULL || ann == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add_str(meta, "name", name);
    if (rc == 0 && nonempty(p->ns))
        rc = jx_add_str(meta, "namespace", p->ns);
    if (rc == 0)
        rc = jx_add(meta, "labels", omjob_labels(p));
    if (rc == 0)
        rc = jx_add(ann, ANNOTATION_SCHEDULED_AT, time_json(p, t));
    if (rc == 0) {
        rc = jx_add(meta, "annotations", ann);
        ann = NULL;
    }
    if (rc == 0)
        rc = jx_add(meta, "ownerReferences", wc_controller_refs(CRONOMJOB_KIND, p->name, p->uid));
    json_object_put(ann);
    if (rc != 0) {
        json_object_put(meta);
        return NULL;
    }
    return meta;
}

static int build_omjob(struct pass *p, const char *name, int64_t t, struct json_object **out)
{
    struct json_object *o = json_object_new_object(), *spec = NULL;
    int rc = o == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add_str(o, "apiVersion", OMJOB_GROUP_VERSION);
    if (rc == 0)
        rc = jx_add_str(o, "kind", OMJOB_KIND);
    if (rc == 0)
        rc = jx_add(o, "metadata", omjob_meta(p, name, t));
    if (rc == 0)
        rc = omjob_spec(p, name, &spec);
    if (rc == 0)
        rc = jx_add(o, "spec", spec);
    if (rc != 0) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- the due time ---- */

/* cron_missed over (since, now], clamped to the times it knows; false on error. */
static bool times_in(const struct pass *p, int64_t since, int64_t now, int64_t *latest, unsigned *n)
{
    since = clamp_t(since);
    now = clamp_t(now);
    *n = 0;
    if (since >= now)
        return true;
    return cron_missed(&p->sched, p->zone, since, now, latest, n) == 0;
}

/* The latest mark: the newest run, skip or miss; else the creation; else (no
 * creationTimestamp: never from an API server) the second before now, so that a
 * time due at the very second of a pass runs. */
static int64_t base_time(const struct pass *p)
{
    int64_t b = max_t(max_t(p->cur_sched, p->cur_missed), newest_run(p));
    if (b == NO_TIME)
        b = time_at(p->cron, "metadata.creationTimestamp");
    return b == NO_TIME ? p->now_s - 1 : b;
}

static int create(struct pass *p, const char *name, int64_t t)
{
    struct sc_action *a = p->out;
    char ts[UTIL_RFC3339_MAX];
    if (!nonempty(p->in->run_id)) {
        why(a, "no run id given for the run of %lld", (long long)t);
        return 0;
    }
    int rc = build_omjob(p, name, t, &a->body);
    if (rc != 0)
        return rc;
    fmt_time(t, ts, sizeof(ts));
    a->kind = SC_CREATE;
    a->scheduled_ms = t * 1000;
    util_strlcpy(a->name, name, sizeof(a->name));
    event(a, SC_EV_NORMAL, "SuccessfulCreate", "created OMJob %s for %s", name, ts);
    take_pending(p);
    why(a, "run of %s due: create OMJob %s", ts, name);
    return 1;
}

/* Replace: the active runs go first, one per call; the new one waits until they
 * are gone. */
static int replace(struct pass *p, const char *ts)
{
    for (size_t i = 0; i < p->nmine; i++) {
        const struct sc_child *c = p->mine[i];
        if (!active(c))
            continue;
        struct sc_action *a = p->out;
        a->kind = SC_DELETE;
        util_strlcpy(a->name, c->name, sizeof(a->name));
        util_strlcpy(a->uid, c->uid != NULL ? c->uid : "", sizeof(a->uid));
        event(a, SC_EV_NORMAL, "SuccessfulDelete", "deleted OMJob %s: replaced by the run of %s",
              c->name, ts);
        why(a, "concurrencyPolicy Replace: delete active OMJob %s for the run of %s", c->name, ts);
        return 1;
    }
    for (size_t i = 0; i < p->nmine; i++)
        if (!finished(p->mine[i]))
            p->waiting = true; /* deleting, not finished */
    return 0;
}

static const char *holder(const struct pass *p, const char *name)
{
    if (str_eq(p->in->name_taken, name))
        return name;
    for (size_t i = 0; i < p->in->nchildren && p->in->children != NULL; i++)
        if (str_eq(p->in->children[i].name, name))
            return name; /* not mine: another CronOMJob's (mine were looked at first) */
    return NULL;
}

/* The time t is due: create its run, or skip it (status), or wait (Replace). */
static int run(struct pass *p, int64_t t)
{
    char name[SC_NAME_MAX], ts[UTIL_RFC3339_MAX];
    fmt_time(t, ts, sizeof(ts));
    if (ts[0] == '\0' || sc_run_name(p->name, t, name, sizeof(name)) != 0) {
        why(p->out, "no run for time %lld: out of range", (long long)t);
        return 0;
    }
    if (mine_named(p, name) != NULL) {
        p->set_sched = t; /* already created (its annotation aside) */
        return 0;
    }
    if (holder(p, name) != NULL) {
        pend(p, SC_EV_WARNING, "FailedCreate",
             "the run of %s is skipped: OMJob %s exists and is not controlled by this CronOMJob",
             ts, name);
        p->set_sched = t;
        return 0;
    }
    const struct sc_child *busy = NULL;
    for (size_t i = 0; i < p->nmine && busy == NULL; i++)
        if (active(p->mine[i]))
            busy = p->mine[i];
    if (busy != NULL && p->policy == POL_FORBID) {
        pend(p, SC_EV_NORMAL, "JobAlreadyActive",
             "the run of %s is skipped: OMJob %s is still active (concurrencyPolicy Forbid)", ts,
             busy->name);
        p->set_sched = t;
        return 0;
    }
    if (p->policy == POL_REPLACE) {
        int rc = replace(p, ts);
        if (rc != 0 || p->waiting)
            return rc;
    }
    return create(p, name, t);
}

/* Times missed by more than startingDeadlineSeconds, in (base, from]. */
static void late(struct pass *p, int64_t base, int64_t from)
{
    int64_t t;
    unsigned n;
    char ts[UTIL_RFC3339_MAX];
    if (!times_in(p, base, from, &t, &n) || n == 0)
        return;
    fmt_time(t, ts, sizeof(ts));
    p->set_missed = t;
    pend(p, SC_EV_WARNING, "MissSchedule",
         "missed the run of %s%s: more than startingDeadlineSeconds (%llds) ago, not run", ts,
         n > 1 ? " and earlier ones" : "", (long long)p->deadline_s);
}

static int due(struct pass *p)
{
    int64_t base, from, t;
    unsigned n;
    if (p->bad_reason != NULL || p->suspended)
        return 0;
    base = from = base_time(p);
    if (was_stopped(p)) {
        if (times_in(p, base, p->now_s, &t, &n) && n > 0)
            p->set_missed = t;
        return 0;
    }
    /* t qualifies while t >= now - deadline, i.e. t > now - deadline - 1. */
    if (p->deadline_s >= 0 && p->now_s - p->deadline_s - 1 > from)
        from = p->now_s - p->deadline_s - 1;
    if (!times_in(p, from, p->now_s, &t, &n))
        return 0;
    if (n == 0) {
        if (from > base)
            late(p, base, from);
        return 0;
    }
    if (n > CRON_MISSED_CAP) {
        char ts[UTIL_RFC3339_MAX];
        fmt_time(t, ts, sizeof(ts));
        pend(p, SC_EV_WARNING, "TooManyMissedTimes",
             "more than %d scheduled times were missed; only the latest, %s, runs", CRON_MISSED_CAP,
             ts);
    }
    return run(p, t);
}

/* ---- history ---- */

static const struct sc_child *oldest_beyond(const struct pass *p, const char *phase, int64_t keep)
{
    const struct sc_child *old = NULL;
    int64_t n = 0;
    for (size_t i = 0; i < p->nmine; i++) {
        const struct sc_child *c = p->mine[i];
        if (!str_eq(c->phase, phase) || c->deleting)
            continue;
        n++;
        if (nonempty(c->uid) && (old == NULL || older(c, old)))
            old = c;
    }
    return n > keep ? old : NULL;
}

static int history(struct pass *p)
{
    static const char *const phase[2] = {PH_SUCCEEDED, PH_FAILED};
    static const char *const limit[2] = {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"};
    int64_t keep[2] = {p->keep_ok, p->keep_failed};
    for (int i = 0; i < 2; i++) {
        const struct sc_child *c = oldest_beyond(p, phase[i], keep[i]);
        if (c == NULL)
            continue;
        struct sc_action *a = p->out;
        a->kind = SC_DELETE;
        util_strlcpy(a->name, c->name, sizeof(a->name));
        util_strlcpy(a->uid, c->uid, sizeof(a->uid));
        event(a, SC_EV_NORMAL, "SuccessfulDelete", "deleted OMJob %s: %s beyond %s (%lld)", c->name,
              phase[i], limit[i], (long long)keep[i]);
        why(a, "history: delete %s OMJob %s beyond %s %lld", phase[i], c->name, limit[i],
            (long long)keep[i]);
        return 1;
    }
    return 0;
}

/* ---- status ---- */

struct seen {
    const struct sc_child **c; /* children the status listed active that finished */
    size_t n;
};

/* Sets key k of patch to val (taken; NULL: absent) when it differs from the status. */
static int diff(struct pass *p, struct json_object *patch, const char *k, struct json_object *val)
{
    struct json_object *cur = jx_get(p->status, k);
    if (json_object_is_type(cur, json_type_null))
        cur = NULL;
    if ((cur == NULL && val == NULL) ||
        (cur != NULL && val != NULL && json_object_equal(cur, val))) {
        json_object_put(val);
        return 0;
    }
    if (json_object_object_add(patch, k, val) != 0) {
        json_object_put(val);
        return -ENOMEM;
    }
    return 0;
}

static const struct sc_child *mine_by_ref(const struct pass *p, struct json_object *ref)
{
    const char *uid = jx_str(ref, "uid"), *name = jx_str(ref, "name");
    for (size_t i = 0; i < p->nmine; i++) {
        const struct sc_child *c = p->mine[i];
        if (nonempty(uid) ? str_eq(c->uid, uid) : str_eq(c->name, name))
            return c;
    }
    return NULL;
}

/* The runs the status lists active that are now finished: their SawCompletedJob
 * goes with the write that takes them out of active, hence once. */
static int find_seen(struct pass *p, struct seen *s)
{
    struct json_object *act = jx_arr(p->status, "active");
    size_t n = act != NULL ? json_object_array_length(act) : 0;
    s->n = 0;
    s->c = n > 0 ? calloc(n, sizeof(*s->c)) : NULL;
    if (n > 0 && s->c == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct sc_child *c = mine_by_ref(p, json_object_array_get_idx(act, i));
        bool dup = false;
        for (size_t j = 0; j < s->n; j++)
            dup = dup || s->c[j] == c;
        if (c != NULL && finished(c) && !dup)
            s->c[s->n++] = c;
    }
    return 0;
}

static struct json_object *active_refs(struct pass *p)
{
    struct json_object *arr = NULL;
    for (size_t i = 0; i < p->nmine; i++) {
        const struct sc_child *c = p->mine[i];
        if (finished(c))
            continue;
        struct json_object *ref = json_object_new_object();
        if (arr == NULL)
            arr = json_object_new_array();
        int rc = ref == NULL || arr == NULL ? -ENOMEM : 0;
        if (rc == 0)
            rc = jx_add_str(ref, "apiVersion", OMJOB_GROUP_VERSION);
        if (rc == 0)
            rc = jx_add_str(ref, "kind", OMJOB_KIND);
        if (rc == 0)
            rc = jx_add_str(ref, "name", c->name);
        if (rc == 0 && nonempty(c->uid))
            rc = jx_add_str(ref, "uid", c->uid);
        if (rc == 0) {
            rc = jx_push(arr, ref);
            ref = NULL;
        }
        json_object_put(ref);
        if (rc != 0) {
            json_object_put(arr);
            p->oom = true;
            return NULL;
        }
    }
    return arr;
}

/* A condition; lastTransitionTime kept from the status while its status holds. */
static struct json_object *condition(struct pass *p, const char *type, bool ok, const char *reason,
                                     const char *msg)
{
    struct json_object *now = NULL;
    struct json_object *c = json_object_new_object(), *old = cur_cond(p, type);
    const char *st = ok ? "True" : "False", *since = jx_str(old, "lastTransitionTime");
    int rc = c == NULL ? -ENOMEM : 0;
    if (rc == 0)
        rc = jx_add_str(c, "type", type);
    if (rc == 0)
        rc = jx_add_str(c, "status", st);
    if (rc == 0)
        rc = jx_add_str(c, "reason", reason);
    if (rc == 0)
        rc = jx_add_str(c, "message", msg);
    if (rc == 0 && since != NULL && str_eq(jx_str(old, "status"), st))
        rc = jx_add_str(c, "lastTransitionTime", since);
    else if (rc == 0 && (now = time_json(p, p->now_s)) != NULL)
        rc = jx_add(c, "lastTransitionTime", now);
    if (rc != 0) {
        json_object_put(c);
        p->oom = true;
        return NULL;
    }
    return c;
}

static struct json_object *scheduled_cond(struct pass *p, char *msg, size_t sz)
{
    if (p->bad_reason != NULL) {
        util_strlcpy(msg, p->bad_msg, sz);
        return condition(p, COND_SCHEDULED, false, p->bad_reason, msg);
    }
    if (p->suspended) {
        util_strlcpy(msg, "suspended (spec.suspend is true): no new runs", sz);
        return condition(p, COND_SCHEDULED, false, "Suspended", msg);
    }
    snprintf(msg, sz, "runs on schedule \"%s\" in %s", p->schedule, p->zone_name);
    struct json_object *c = condition(p, COND_SCHEDULED, true, "Scheduled", msg);
    msg[0] = '\0';
    return c;
}

/* From the newest of the runs seen finishing in this write; else as it is. */
static struct json_object *last_run_cond(struct pass *p, const struct seen *s)
{
    const struct sc_child *last = NULL;
    char msg[SC_MSG_MAX], ts[UTIL_RFC3339_MAX];
    for (size_t i = 0; i < s->n; i++)
        if (last == NULL || older(last, s->c[i]))
            last = s->c[i];
    if (last == NULL) {
        struct json_object *old = cur_cond(p, COND_LAST_RUN);
        return old != NULL ? json_object_get(old) : NULL;
    }
    bool ok = str_eq(last->phase, PH_SUCCEEDED);
    fmt_time(ms_to_s(last->completed_ms), ts, sizeof(ts));
    snprintf(msg, sizeof(msg), "OMJob %s %s%s%s", last->name, ok ? "succeeded" : "failed",
             ts[0] != '\0' ? " at " : "", ts);
    return condition(p, COND_LAST_RUN, ok, ok ? PH_SUCCEEDED : PH_FAILED, msg);
}

static struct json_object *conditions(struct pass *p, const struct seen *s, char *msg, size_t sz)
{
    struct json_object *arr = json_object_new_array(), *cur = jx_arr(p->status, "conditions");
    int rc = arr == NULL ? -ENOMEM : jx_push(arr, scheduled_cond(p, msg, sz));
    struct json_object *lr = rc == 0 ? last_run_cond(p, s) : NULL;
    if (rc == 0 && lr != NULL)
        rc = jx_push(arr, lr);
    size_t n = cur != NULL ? json_object_array_length(cur) : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct json_object *c = json_object_array_get_idx(cur, i);
        const char *type = jx_str(c, "type");
        if (!str_eq(type, COND_SCHEDULED) && !str_eq(type, COND_LAST_RUN))
            rc = jx_push(arr, json_object_get(c)); /* someone else's */
    }
    if (rc != 0) {
        json_object_put(arr);
        p->oom = true;
        return NULL;
    }
    return arr;
}

static int64_t last_success(const struct pass *p)
{
    int64_t t = p->cur_success;
    for (size_t i = 0; i < p->nmine; i++)
        if (str_eq(p->mine[i]->phase, PH_SUCCEEDED) && p->mine[i]->completed_ms > 0)
            t = max_t(t, ms_to_s(p->mine[i]->completed_ms));
    return t;
}

/* The run of the last scheduled time (by annotation or name), when it has one;
 * else as the status says. */
static struct json_object *last_name(struct pass *p, int64_t last)
{
    char name[SC_NAME_MAX];
    if (last == NO_TIME || sc_run_name(p->name, last, name, sizeof(name)) != 0)
        name[0] = '\0';
    for (size_t i = 0; i < p->nmine; i++)
        if ((p->mine[i]->scheduled_ms > 0 && ms_to_s(p->mine[i]->scheduled_ms) == last) ||
            str_eq(p->mine[i]->name, name))
            return chk(p, json_object_new_string(p->mine[i]->name));
    struct json_object *cur = jx_get(p->status, "lastOMJobName");
    return cur != NULL ? json_object_get(cur) : NULL;
}

static struct json_object *next_time(struct pass *p)
{
    int64_t t;
    if (p->bad_reason != NULL || p->suspended ||
        cron_next(&p->sched, p->zone, clamp_t(p->now_s), &t) != 0)
        return NULL;
    return time_json(p, t);
}

static struct json_object *generation(struct pass *p)
{
    int64_t g;
    return jx_i64(p->cron, "metadata.generation", &g) == 0 ? chk(p, json_object_new_int64(g))
                                                           : NULL;
}

static int status_patch(struct pass *p, const struct seen *s, struct json_object *patch)
{
    char msg[SC_MSG_MAX];
    int64_t last = max_t(max_t(p->cur_sched, newest_run(p)), p->set_sched);
    int rc = diff(p, patch, "conditions", conditions(p, s, msg, sizeof(msg)));
    if (rc == 0)
        rc = diff(p, patch, "lastScheduleTime", time_json(p, last));
    if (rc == 0)
        rc = diff(p, patch, "lastOMJobName", last_name(p, last));
    if (rc == 0)
        rc = diff(p, patch, "lastSuccessfulTime", time_json(p, last_success(p)));
    if (rc == 0)
        rc = diff(p, patch, "lastMissedTime", time_json(p, max_t(p->cur_missed, p->set_missed)));
    if (rc == 0)
        rc = diff(p, patch, "nextScheduleTime", next_time(p));
    if (rc == 0)
        rc = diff(p, patch, "active", active_refs(p));
    if (rc == 0)
        rc = diff(p, patch, "observedGeneration", generation(p));
    if (rc == 0)
        rc = diff(p, patch, "message", msg[0] != '\0' ? chk(p, json_object_new_string(msg)) : NULL);
    return rc == 0 && p->oom ? -ENOMEM : rc;
}

/* The Warning of a bad spec goes with the write that first records it. */
static void bad_event(struct pass *p)
{
    struct json_object *c = cur_cond(p, COND_SCHEDULED);
    if (p->bad_reason == NULL ||
        (str_eq(jx_str(c, "status"), "False") && str_eq(jx_str(c, "reason"), p->bad_reason) &&
         str_eq(jx_str(c, "message"), p->bad_msg)))
        return;
    event(p->out, SC_EV_WARNING, p->bad_reason, "%s", p->bad_msg);
}

static void seen_events(struct pass *p, const struct seen *s)
{
    struct sc_action *a = p->out;
    for (size_t i = 0; i < s->n; i++) {
        if (a->nev == SC_MAX_EVENTS - 1 && s->n - i > 1) {
            event(a, SC_EV_NORMAL, "SawCompletedJob",
                  "saw completed OMJob %s, status: %s, and %zu more", s->c[i]->name, s->c[i]->phase,
                  s->n - i - 1);
            return;
        }
        event(a, SC_EV_NORMAL, "SawCompletedJob", "saw completed OMJob %s, status: %s",
              s->c[i]->name, s->c[i]->phase);
    }
}

static int status_step(struct pass *p)
{
    struct seen s = {0};
    struct json_object *patch = json_object_new_object(), *body = NULL;
    int rc = patch == NULL ? -ENOMEM : find_seen(p, &s);
    if (rc == 0)
        rc = status_patch(p, &s, patch);
    if (rc == 0 && json_object_object_length(patch) > 0) {
        body = json_object_new_object();
        rc = body == NULL ? -ENOMEM : jx_add(body, "status", patch);
        patch = NULL;
        if (rc == 0) {
            p->out->kind = SC_STATUS;
            p->out->body = body;
            body = NULL;
            bad_event(p);
            take_pending(p);
            seen_events(p, &s);
            why(p->out, "status changed");
            rc = 1;
        }
    }
    json_object_put(body);
    json_object_put(patch);
    free(s.c);
    return rc;
}

/* ---- nothing to write ---- */

/* The next scheduled time after now (unix ms), 0 when none (suspended, invalid). */
static int64_t next_ms(struct pass *p)
{
    int64_t t;
    if (p->bad_reason == NULL && !p->suspended &&
        cron_next(&p->sched, p->zone, clamp_t(p->now_s), &t) == 0)
        return t * 1000;
    return 0;
}

static void requeue(struct pass *p)
{
    struct sc_action *a = p->out;
    int64_t at = next_ms(p);
    if (p->waiting && (at == 0 || p->in->now_ms + REPLACE_RETRY_MS < at))
        at = p->in->now_ms + REPLACE_RETRY_MS;
    a->kind = SC_NONE;
    a->requeue_at_ms = at;
    if (a->why[0] == '\0')
        why(a, "%s",
            p->bad_reason != NULL ? p->bad_reason
            : p->suspended        ? "suspended"
            : p->waiting          ? "waiting for replaced runs to go"
                                  : "nothing due");
}

static void read_status(struct pass *p)
{
    p->status = jx_obj(p->cron, "status");
    if (p->status != NULL && !json_object_is_type(p->status, json_type_object))
        p->status = NULL;
    p->cur_sched = time_at(p->status, "lastScheduleTime");
    p->cur_missed = time_at(p->status, "lastMissedTime");
    p->cur_success = time_at(p->status, "lastSuccessfulTime");
    p->set_sched = p->set_missed = NO_TIME;
}

int sc_decide(const struct sc_input *in, struct sc_action *out)
{
    struct pass p = {.in = in, .out = out};
    int rc = 0;
    memset(out, 0, sizeof(*out));
    p.cron = in != NULL ? in->cron : NULL;
    if (p.cron == NULL || !json_object_is_type(p.cron, json_type_object)) {
        why(out, "no CronOMJob");
        return 0;
    }
    p.name = jx_str(p.cron, "metadata.name");
    p.ns = jx_str(p.cron, "metadata.namespace");
    p.uid = jx_str(p.cron, "metadata.uid");
    if (!nonempty(p.name) || !nonempty(p.uid)) {
        why(out, "CronOMJob without a name or uid");
        return 0;
    }
    if (jx_get(p.cron, "metadata.deletionTimestamp") != NULL) {
        why(out, "CronOMJob being deleted: its runs go with it");
        return 0;
    }
    p.now_s = floor_div(in->now_ms, 1000);
    read_spec(&p);
    read_status(&p);
    rc = collect_mine(&p);
    if (rc == 0)
        rc = due(&p);
    if (rc == 0)
        rc = history(&p);
    if (rc == 0)
        rc = status_step(&p);
    if (rc == 0)
        requeue(&p);
    else if (rc > 0) /* a write: when to look again if it has to wait (exec.c) */
        out->requeue_at_ms = next_ms(&p);
    free(p.mine);
    if (rc < 0) {
        sc_action_free(out);
        return rc;
    }
    return 0;
}

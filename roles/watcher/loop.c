/* The watcher's list+watch loops and metrics (see loop.h). */
#include "roles/watcher/loop.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "lib/kube/retry.h"
#include "lib/kube/watch.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "model/labels.h"
#include "model/objects.h"

/* A repeated error is logged again (at its level) at most this often. */
#define ERR_RELOG_MS 300000
/* Items per LIST page. Memory does not depend on it: pages are split while they
 * arrive and parsed one item at a time (kube_list). */
#define LIST_PAGE 500
/* How often the LIST of a missing optional resource is tried again. */
#define MISSING_RETRY_MS 5000
/* Bytes of a skipped item searched for its identity. */
#define SKIP_PEEK ((size_t)64 << 10)

struct wloop {
    struct wshared *wl_sh;
    enum wc_kind wl_kind;
    char *wl_ns; /* NULL: all namespaces */
    struct kube_client *wl_client;
    struct kube_watch *wl_watch;
    pthread_t wl_thread;
    bool wl_started;
    atomic_bool wl_synced;
    atomic_int wl_missing; /* optional resource: HTTP 403/404 of its last LIST, else 0 */
    atomic_bool wl_done;
    uint32_t wl_serial; /* LIST stamp */
    unsigned wl_seed;
    struct kube_backoff wl_backoff;
    char wl_errsig[160]; /* the last error logged; "" after a success */
    int64_t wl_errlog_ms;
    unsigned long wl_errrepeats;
    struct ev_recorder *wl_ev; /* Warnings on skipped objects; NULL for pods */
    struct jx_parser *wl_jp;   /* the specs cut from watch events, when read */
};

/* ---- metrics ---- */

int wstats_init(struct wstats *s, struct ctl *ctl)
{
    static const char *const rt[] = {"resource", "type"},
                             *const rrr[] = {"resource", "reason", "result"},
                             *const re[] = {"resource", "end"}, *const r[] = {"resource"},
                             *const kr[] = {"kind", "result"}, *const rca[] = {"result", "cause"},
                             *const m[] = {"method"}, *const rsrc[] = {"resource", "source"};
    int rc;
    memset(s, 0, sizeof(*s));
    s->ws_ctl = ctl;
    s->ws_reg = ctl_metrics(ctl);
    rc = metrics_counter_new(s->ws_reg, "omjob_watcher_events_total",
                             "Watch events received, by resource and event type", rt, 2,
                             &s->ws_events);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_lists_total",
                                 "LISTs (initial, after 410 expired, after a lost event, after "
                                 "an error), by result",
                                 rrr, 3, &s->ws_lists);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_watch_ends_total",
                                 "Watch requests ended, by reason", re, 2, &s->ws_watch_ends);
    if (rc == 0)
        rc = metrics_gauge_new(s->ws_reg, "omjob_watcher_cache_objects",
                               "Objects in the watcher's cache", r, 1, &s->ws_objects);
    if (rc == 0)
        rc = metrics_gauge_new(s->ws_reg, "omjob_watcher_synced", "1 once every initial LIST is in",
                               NULL, 0, &s->ws_synced);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_hints_total",
                                 "Change hints published, by object kind and result", kr, 2,
                                 &s->ws_hints);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_hints_held_total",
                                 "Change hints that could wait (held up to the hold time or the "
                                 "next urgent hint of their topic), by object kind",
                                 kr, 1, &s->ws_hints_held);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_hint_messages_total",
                                 "Pub/sub messages carrying change hints (a batch of hints per "
                                 "topic each), by result and cause (wait: an urgent hint and its "
                                 "loop about to wait; stream: an urgent hint 1 ms old; full; "
                                 "hold: the hold time)",
                                 rca, 2, &s->ws_hint_msgs);
    if (rc == 0)
        rc = metrics_counter_new(s->ws_reg, "omjob_watcher_specs_total",
                                 "OMJob and CronOMJob watch events by how their spec was built: "
                                 "kept (the cached version's: same uid, generation and text) or "
                                 "parsed",
                                 rsrc, 2, &s->ws_specs);
    if (rc == 0)
        rc = metrics_histogram_new(s->ws_reg, "rest_client_request_duration_seconds",
                                   "API request latency (watches: to the response headers)", m, 1,
                                   NULL, 0, &s->ws_latency);
    return rc;
}

void wstats_observe(void *ctx, const char *method, int code, double seconds)
{
    struct wstats *s = ctx;
    ctl_kube_observer(s->ws_ctl, method, code, seconds);
    metrics_observe(s->ws_latency, seconds, method);
}

static void count_objects(struct wloop *l)
{
    struct wshared *sh = l->wl_sh;
    metrics_gauge_set(sh->ws_stats->ws_objects, (double)wcache_count(sh->ws_cache, l->wl_kind),
                      wc_kind_str(l->wl_kind));
}

/* ---- shared state ---- */

int wshared_init(struct wshared *sh)
{
    memset(sh, 0, sizeof(*sh));
    if ((sh->ws_notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -errno;
    int rc = util_mono_cond_init(&sh->ws_cv);
    if (rc != 0) {
        close(sh->ws_notify_fd);
        sh->ws_notify_fd = -1;
        return rc;
    }
    pthread_mutex_init(&sh->ws_mu, NULL);
    return 0;
}

void wshared_fini(struct wshared *sh)
{
    if (sh->ws_notify_fd >= 0)
        close(sh->ws_notify_fd);
    pthread_cond_destroy(&sh->ws_cv);
    pthread_mutex_destroy(&sh->ws_mu);
    sh->ws_notify_fd = -1;
}

void wshared_stop(struct wshared *sh)
{
    pthread_mutex_lock(&sh->ws_mu);
    sh->ws_stopping = true;
    pthread_cond_broadcast(&sh->ws_cv);
    pthread_mutex_unlock(&sh->ws_mu);
}

static bool stopping(struct wshared *sh)
{
    bool s;
    pthread_mutex_lock(&sh->ws_mu);
    s = sh->ws_stopping;
    pthread_mutex_unlock(&sh->ws_mu);
    return s;
}

/* Sleeps ms unless the watcher stops first. */
static void pause_ms(struct wshared *sh, int64_t ms)
{
    struct timespec ts = util_mono_deadline(ms);
    pthread_mutex_lock(&sh->ws_mu);
    while (!sh->ws_stopping && pthread_cond_timedwait(&sh->ws_cv, &sh->ws_mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&sh->ws_mu);
}

static void backoff(struct wloop *l)
{
    double r = (double)(rand_r(&l->wl_seed) % 1000000) / 1000000.0;
    pause_ms(l->wl_sh, kube_backoff_next(&l->wl_backoff, util_mono_ms(), r));
}

/* ---- logging ---- */

static const char *ns_label(const struct wloop *l)
{
    return l->wl_ns != NULL ? l->wl_ns : "(all)";
}

static const char *error_hint(const struct wloop *l, const struct kube_err *e)
{
    if (e->http == 403 && wloop_optional(l))
        return "the operator's identity may not list/watch CronOMJobs: check its RBAC "
               "(deploy/rbac/rbac.yaml); CronOMJobs are not run until it can, OMJobs are";
    if (e->http == 403)
        return "the operator's identity may not list/watch this resource: check its RBAC "
               "(deploy/rbac/rbac.yaml); not ready until it can";
    if (e->http == 404 && wloop_optional(l))
        return "CronOMJob CRD not installed (deploy/crd/cronomjobs.yaml): CronOMJobs are not "
               "run until it is, OMJobs are";
    if (e->http == 404)
        return l->wl_kind == WC_POD ? "pods not found: namespace missing?"
                                    : "resource not found: is the CRD installed (deploy/crds)?";
    if (e->http == 401)
        return "credentials rejected: check KUBECONFIG or the service account token";
    return "retrying with backoff";
}

/* Logs a failed LIST or WATCH: each distinct error at once, a repeat only every
 * ERR_RELOG_MS (at debug level in between), so a missing CRD or RBAC rule is
 * clear without flooding the log. */
static void report_error(struct wloop *l, const char *op, const char *end, const struct kube_err *e)
{
    char sig[sizeof(l->wl_errsig)], code[16], rep[24];
    int64_t now = util_mono_ms();
    /* A LIST's reason (initial, error, ...) changes between retries: not part of
     * the error's identity; a watch's end is. */
    snprintf(sig, sizeof(sig), "%s %s %d %s %s", op, op[0] == 'w' ? end : "", e->http,
             kube_errkind_str(e->kind), e->reason);
    bool again = strcmp(sig, l->wl_errsig) == 0;
    enum log_level lvl =
        e->http == 401 || e->http == 403 || e->http == 404 ? LOG_LVL_ERROR : LOG_LVL_WARN;
    l->wl_errrepeats = again ? l->wl_errrepeats + 1 : 0;
    if (again && now - l->wl_errlog_ms < ERR_RELOG_MS)
        lvl = LOG_LVL_DEBUG;
    else
        l->wl_errlog_ms = now;
    util_strlcpy(l->wl_errsig, sig, sizeof(l->wl_errsig));
    snprintf(code, sizeof(code), "%d", e->http);
    snprintf(rep, sizeof(rep), "%lu", l->wl_errrepeats);
    log_kv(lvl, op[0] == 'l' ? "LIST failed" : "WATCH failed", "resource", wc_kind_str(l->wl_kind),
           "namespace", ns_label(l), "end", end, "http", code, "kind", kube_errkind_str(e->kind),
           "reason", e->reason, "error", e->message, "hint", error_hint(l, e), "repeats", rep,
           NULL);
}

static void report_recovered(struct wloop *l)
{
    if (l->wl_errsig[0] == '\0')
        return;
    log_info("list/watch recovered", "resource", wc_kind_str(l->wl_kind), "namespace", ns_label(l),
             "after", l->wl_errsig, NULL);
    l->wl_errsig[0] = '\0';
    l->wl_errrepeats = 0;
}

/* ---- list and watch ---- */

static struct kube_ref loop_ref(const struct wloop *l)
{
    struct kube_ref r = {0};
    r.gv = l->wl_kind == WC_POD ? POD_GROUP_VERSION : OMJOB_GROUP_VERSION;
    r.plural = l->wl_kind == WC_POD     ? POD_PLURAL
               : l->wl_kind == WC_OMJOB ? OMJOB_PLURAL
                                        : CRONOMJOB_PLURAL;
    r.ns = l->wl_ns;
    return r;
}

/* ---- objects that cannot be cached ---- */

/* Copies the JSON string value that follows `"field":"` in raw[0..len) into out
 * (no unescaping: identity fields need none). A lenient look into an item that
 * could not be parsed; "" when not found. */
static void peek_str(const char *raw, size_t len, const char *field, char *out, size_t outsz)
{
    char pat[32];
    int n = snprintf(pat, sizeof(pat), "\"%s\":\"", field);
    out[0] = '\0';
    if (len > SKIP_PEEK)
        len = SKIP_PEEK;
    const char *md = memmem(raw, len, "\"metadata\":{", 12);
    if (n <= 0 || md == NULL)
        return;
    const char *p = memmem(md, len - (size_t)(md - raw), pat, (size_t)n);
    if (p == NULL)
        return;
    p += n;
    size_t i = 0;
    while (p < raw + len && *p != '"' && *p != '\\' && i + 1 < outsz)
        out[i++] = *p++;
    out[p < raw + len && *p == '"' ? i : 0] = '\0';
}

/* The Warning Event and log line for an OMJob or CronOMJob that is not cached. */
static void warn_skipped(struct wloop *l, const char *ns, const char *name, const char *uid,
                         const char *why, size_t bytes)
{
    char sz[24], max[24];
    snprintf(sz, sizeof(sz), "%zu", bytes);
    snprintf(max, sizeof(max), "%zu", l->wl_sh->ws_max_object);
    log_warn("object skipped: not cached, not reconciled", "resource", wc_kind_str(l->wl_kind),
             "namespace", ns, "name", name, "uid", uid, "why", why, "bytes", sz, "limit", max,
             NULL);
    if (l->wl_ev == NULL || ns == NULL || name == NULL || uid == NULL || *ns == '\0' ||
        *name == '\0' || *uid == '\0')
        return;
    struct ev_object eo = {OMJOB_GROUP_VERSION,
                           l->wl_kind == WC_OMJOB ? OMJOB_KIND : CRONOMJOB_KIND,
                           ns,
                           name,
                           uid,
                           NULL};
    if (strcmp(why, "oversize") == 0)
        ev_emitf(
            l->wl_ev, &eo, EV_WARNING, "ObjectTooLarge",
            "The operator skips this %s: %zu bytes, over its limit of %zu (OMJOB_MAX_OBJECT_BYTES)",
            eo.kind, bytes, l->wl_sh->ws_max_object);
    else
        ev_emitf(l->wl_ev, &eo, EV_WARNING, "ObjectMalformed",
                 "The operator skips this %s: it cannot be read (%s)", eo.kind, why);
}

/* kube_list's skipped callback: an item too long for the splitter, or not JSON. */
static void on_skipped(void *ctx, const char *why, const char *raw, size_t len)
{
    struct wloop *l = ctx;
    char ns[64], name[254], uid[64];
    peek_str(raw, len, "namespace", ns, sizeof(ns));
    peek_str(raw, len, "name", name, sizeof(name));
    peek_str(raw, len, "uid", uid, sizeof(uid));
    warn_skipped(l, ns, name, uid, why, len);
}

/* A Warning for an OMJob or CronOMJob the cache refused with rc (logged there);
 * extra: bytes of it not in obj (its spec, cut unparsed). */
static void refused(struct wloop *l, struct json_object *obj, int rc, size_t extra)
{
    if (l->wl_kind == WC_POD || (rc != -E2BIG && rc != -EINVAL && rc != -EBADMSG))
        return;
    size_t len = 0;
    if (rc == -E2BIG)
        json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
    warn_skipped(l, jx_str(obj, "metadata.namespace"), jx_str(obj, "metadata.name"),
                 jx_str(obj, "metadata.uid"),
                 rc == -E2BIG     ? "oversize"
                 : rc == -EBADMSG ? "malformed spec"
                                  : "bad identity",
                 len + extra);
}

/* Into the cache; an OMJob or CronOMJob the cache refuses gets a Warning. */
static void upsert(struct wloop *l, struct json_object *obj)
{
    refused(l, obj, wcache_upsert(l->wl_sh->ws_cache, l->wl_kind, obj, l->wl_serial), 0);
}

/* An OMJob or CronOMJob event, its spec cut unparsed (watch_once): the cached
 * spec kept when it is the same, else parsed. */
static void upsert_cut(struct wloop *l, const struct kube_event *ev)
{
    bool kept = false;
    int rc = wcache_upsert_cut(l->wl_sh->ws_cache, l->wl_kind, ev->object, ev->cut, ev->cut_len,
                               l->wl_jp, l->wl_serial, &kept);
    if (rc == 0)
        metrics_counter_add(l->wl_sh->ws_stats->ws_specs, 1.0, wc_kind_str(l->wl_kind),
                            kept ? "kept" : "parsed");
    refused(l, ev->object, rc, jx_obj(ev->object, "spec") == NULL ? ev->cut_len : 0);
}

static int on_item(void *ctx, struct json_object *item)
{
    upsert(ctx, item);
    return 0;
}

static int on_event(void *ctx, const struct kube_event *ev)
{
    struct wloop *l = ctx;
    struct wcache *c = l->wl_sh->ws_cache;
    switch (ev->type) {
    case KUBE_EV_ADDED:
    case KUBE_EV_MODIFIED:
        if (l->wl_kind == WC_POD)
            upsert(l, ev->object);
        else
            upsert_cut(l, ev);
        break;
    case KUBE_EV_DELETED:
        wcache_delete(c, l->wl_kind, ev->object);
        break;
    default:
        break;
    }
    metrics_counter_add(l->wl_sh->ws_stats->ws_events, 1.0, wc_kind_str(l->wl_kind),
                        kube_ev_type_str(ev->type));
    if (ev->type != KUBE_EV_BOOKMARK)
        count_objects(l);
    return 0;
}

/* kube_watch_params.idle and after every LIST or watch run: the hints collected
 * from what was read go out before the loop waits. */
static void flush_hints(void *ctx)
{
    struct wshared *sh = ((struct wloop *)ctx)->wl_sh;
    if (sh->ws_flush != NULL)
        sh->ws_flush(sh->ws_flush_ctx);
}

static void mark_synced(struct wloop *l)
{
    uint64_t one = 1;
    if (atomic_exchange(&l->wl_synced, true))
        return;
    if (write(l->wl_sh->ws_notify_fd, &one, sizeof(one)) < 0)
        log_warn("readiness notification failed", "error", strerror(errno), NULL);
}

/* One complete LIST: apply, sweep, set the watch's starting point. */
static int relist(struct wloop *l, const char *reason)
{
    struct kube_ref r = loop_ref(l);
    struct kube_list_opts o = {.limit = LIST_PAGE, .skipped = on_skipped};
    struct kube_err err;
    char rv[256], n[24], gone[24];
    kube_err_clear(&err);
    o.label_selector = l->wl_kind == WC_POD ? LABEL_SELECTOR_PODS : NULL;
    o.keep = l->wl_kind == WC_POD ? wc_pod_keep : NULL;
    l->wl_serial++;
    int rc = kube_list(l->wl_client, &r, &o, on_item, l, rv, sizeof(rv), &err);
    flush_hints(l);
    metrics_counter_add(l->wl_sh->ws_stats->ws_lists, 1.0, wc_kind_str(l->wl_kind), reason,
                        rc == 0 ? "success" : "error");
    if (rc != 0) {
        report_error(l, "list", reason, &err);
        if (wloop_optional(l) && (err.http == 403 || err.http == 404))
            atomic_store(&l->wl_missing, err.http);
        return rc;
    }
    atomic_store(&l->wl_missing, 0);
    size_t swept = wcache_sweep(l->wl_sh->ws_cache, l->wl_kind, l->wl_ns, l->wl_serial);
    flush_hints(l);
    kube_watch_set_resource_version(l->wl_watch, rv);
    report_recovered(l);
    count_objects(l);
    snprintf(n, sizeof(n), "%zu", wcache_count(l->wl_sh->ws_cache, l->wl_kind));
    snprintf(gone, sizeof(gone), "%zu", swept);
    log_kv(LOG_LVL_INFO, "listed", "resource", wc_kind_str(l->wl_kind), "namespace", ns_label(l),
           "reason", reason, "resourceVersion", rv, "cached", n, "vanished", gone, NULL);
    mark_synced(l);
    return 0;
}

/* Runs one watch request; returns the LIST reason when a relist is needed, or
 * NULL. */
static const char *watch_once(struct wloop *l, enum kube_watch_end *endp)
{
    struct kube_watch_params p = {0};
    struct kube_err err;
    kube_err_clear(&err);
    p.ref = loop_ref(l);
    p.label_selector = l->wl_kind == WC_POD ? LABEL_SELECTOR_PODS : NULL;
    p.keep = l->wl_kind == WC_POD ? wc_pod_keep : NULL;
    p.cut = l->wl_kind == WC_POD ? NULL : "spec";
    p.idle = flush_hints;
    enum kube_watch_end end = kube_watch_run(l->wl_watch, &p, on_event, l, &err);
    flush_hints(l);
    *endp = end;
    metrics_counter_add(l->wl_sh->ws_stats->ws_watch_ends, 1.0, wc_kind_str(l->wl_kind),
                        kube_watch_end_str(end));
    switch (end) {
    case KUBE_WATCH_TIMEOUT:
    case KUBE_WATCH_CANCELLED:
        return NULL;
    case KUBE_WATCH_EXPIRED:
        log_info("watch expired (410): relisting", "resource", wc_kind_str(l->wl_kind), "namespace",
                 ns_label(l), NULL);
        return "expired";
    case KUBE_WATCH_BAD_STREAM:
        report_error(l, "watch", kube_watch_end_str(end), &err);
        return "bad_stream";
    default:
        report_error(l, "watch", kube_watch_end_str(end), &err);
        backoff(l);
        return end == KUBE_WATCH_FAILED ? "error" : NULL;
    }
}

static void *loop_main(void *arg)
{
    struct wloop *l = arg;
    const char *reason = "initial";
    enum kube_watch_end end = KUBE_WATCH_RUNNING;
    while (!stopping(l->wl_sh) && end != KUBE_WATCH_CANCELLED) {
        if (reason != NULL && relist(l, reason) != 0) {
            reason = "error";
            /* A missing optional resource is looked for again every few seconds,
             * so that it is used soon after it is installed. */
            if (atomic_load(&l->wl_missing) != 0)
                pause_ms(l->wl_sh, MISSING_RETRY_MS);
            else
                backoff(l);
            continue;
        }
        reason = watch_once(l, &end);
    }
    atomic_store(&l->wl_done, true);
    return NULL;
}

/* ---- life cycle ---- */

int wloop_new(struct wshared *sh, enum wc_kind k, const char *ns, struct wloop **out, char *errbuf,
              size_t errlen)
{
    /* The cache drops managedFields anyway: never parse them. */
    struct kube_client_opts o = {
        .qps = sh->ws_qps, .burst = sh->ws_burst, .drop_managed_fields = true};
    struct kube_backoff b = KUBE_BACKOFF_WATCH_DEFAULT;
    struct kube_config *cfg = NULL;
    struct wloop *l = calloc(1, sizeof(*l));
    int rc = -ENOMEM;
    if (l == NULL || (ns != NULL && (l->wl_ns = strdup(ns)) == NULL))
        goto fail;
    l->wl_sh = sh;
    l->wl_kind = k;
    l->wl_backoff = b;
    l->wl_seed = (unsigned)(util_wall_ns() ^ (int64_t)getpid() ^ (int64_t)(uintptr_t)l);
    if ((rc = kube_config_load(&cfg, errbuf, errlen)) != 0)
        goto fail;
    if ((rc = kube_client_new(cfg, &o, &l->wl_client)) != 0) {
        snprintf(errbuf, errlen, "API client: %s", strerror(-rc));
        goto fail;
    }
    cfg = NULL; /* the client's now */
    kube_client_set_observer(l->wl_client, wstats_observe, sh->ws_stats);
    if ((rc = kube_watch_new(l->wl_client, &l->wl_watch)) != 0 ||
        (rc = jx_parser_new(&l->wl_jp)) != 0)
        goto fail;
    if (k != WC_POD) {
        char host[64] = "", instance[96];
        gethostname(host, sizeof(host) - 1);
        snprintf(instance, sizeof(instance), "watcher@%s", host[0] ? host : "unknown");
        if ((rc = ev_recorder_new(l->wl_client, "omjob-operator", instance, 64, &l->wl_ev)) != 0)
            goto fail;
    }
    *out = l;
    return 0;
fail:
    kube_config_free(cfg);
    wloop_free(l);
    return rc;
}

int wloop_start(struct wloop *l)
{
    int rc = pthread_create(&l->wl_thread, NULL, loop_main, l);
    if (rc != 0)
        return -rc;
    l->wl_started = true;
    return 0;
}

bool wloop_synced(struct wloop *l)
{
    return atomic_load(&l->wl_synced);
}

bool wloop_optional(const struct wloop *l)
{
    return l->wl_kind == WC_CRONOMJOB;
}

int wloop_missing(struct wloop *l)
{
    return atomic_load(&l->wl_missing);
}

const char *wloop_namespace(const struct wloop *l)
{
    return ns_label(l);
}

void wloop_cancel(struct wloop *l)
{
    if (l != NULL && l->wl_watch != NULL)
        kube_watch_cancel(l->wl_watch);
}

int wloop_join(struct wloop *l, int64_t deadline_ms)
{
    if (!l->wl_started)
        return 0;
    while (!atomic_load(&l->wl_done) && util_mono_ms() < deadline_ms)
        usleep(10000);
    if (!atomic_load(&l->wl_done))
        return -ETIMEDOUT;
    pthread_join(l->wl_thread, NULL);
    l->wl_started = false;
    return 0;
}

void wloop_free(struct wloop *l)
{
    if (l == NULL)
        return;
    kube_watch_free(l->wl_watch);
    jx_parser_free(l->wl_jp);
    ev_recorder_free(l->wl_ev);
    kube_client_free(l->wl_client);
    free(l->wl_ns);
    free(l);
}

/* The watcher role: LIST+WATCH of OMJobs, CronOMJobs and operator-owned pods, in
 * all namespaces or in each of WATCH_NAMESPACES (one loop thread per resource and
 * namespace, loop.c); the cache (cache.c); change hints on pub/sub; the truth
 * server on req/rep (truth.c). Ready once every initial LIST is in. */
#include "roles/watcher/watcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "runtime/ctl.h"
#include "runtime/role.h"
#include "runtime/rundir.h"
#include "model/objects.h"
#include "roles/watcher/cache.h"
#include "roles/watcher/crdcheck.h"
#include "roles/watcher/loop.h"
#include "roles/watcher/truth.h"

#define TRUTH_WORKERS 4
#define JOIN_GRACE_MS 5000
/* A topic's batch is sent when full (some 60 hints), when it holds an urgent hint
 * and the loop that read it is about to wait (or that hint is HINT_STREAM_NS old
 * as another comes: a stream that never lets its loop wait), or when its oldest
 * hint is HINT_HOLD_MS old (the hold timer). */
#define HINT_BATCH_BYTES 4096
#define HINT_STREAM_NS 1000000 /* 1 ms */
#define HINT_HOLD_MS 50

/* Hints not sent yet, one IPC_EV_CHANGES body per publisher (docs/PROTOCOL.md,
 * "Hints"): a burst of watch events costs one message per topic instead of one per
 * change, and each message wakes the NNG threads of both sides. Filled by the hint
 * callback (under the cache's write lock). A topic with an urgent hint goes out
 * when a loop is about to wait (wshared.ws_flush); the other hints (held: the
 * echoes of the operator's own writes, a pod scheduled or started) wait for the
 * next urgent hint of their topic or the hold timer, whichever comes first
 * (docs/PROTOCOL.md, "Held hints"). */
struct hint_batch {
    pthread_mutex_t hb_mu;
    uint8_t (*hb_buf)[HINT_BATCH_BYTES]; /* per publisher */
    size_t *hb_len;                      /* bytes in hb_buf[i]; 0: empty */
    bool *hb_urgent;                     /* hb_buf[i] holds an urgent hint */
    /* ns: when the oldest pending urgent hint came; 0: none (written under
     * hb_mu, read without it by batch_flush) */
    _Atomic int64_t hb_urgent_since;
    int hb_timer;  /* timerfd (CLOCK_MONOTONIC); -1: hold nothing */
    bool hb_armed; /* hb_timer set and not yet handled */
};

struct watcher_ctx {
    struct cfg w_cfg;
    struct ctl *w_ctl;
    struct wstats w_stats;
    struct wshared w_sh;
    bool w_sh_init;
    struct wcache *w_cache;
    /* One publisher per topic (docs/PROTOCOL.md, "Endpoints"): shard.0 .. shard.N-1,
     * then ttl, then cron. NNG's SUB filters on the subscriber's side, so one
     * publisher for every topic made every subscriber receive (and wake for)
     * every hint. */
    struct ipc_pub **w_pubs;
    int w_npubs;
    struct hint_batch w_batch;
    bool w_batch_init;
    struct ipc_rep *w_rep;
    struct wloop **w_loops;
    size_t w_nloops;
    bool w_stuck;         /* a loop thread did not end: leave shared memory alone */
    char w_degraded[256]; /* what optional resource is missing, as last reported */
};

/* The publisher index of a topic: TTL, CRON, or shard.<i> of a watcher_hint_topics;
 * -EINVAL for another. */
static int topic_index(const struct watcher_ctx *w, const char *topic)
{
    int n = w->w_npubs - 2; /* shards */
    if (strcmp(topic, IPC_TOPIC_TTL) == 0)
        return n;
    if (strcmp(topic, IPC_TOPIC_CRON) == 0)
        return n + 1;
    long long i;
    if (strncmp(topic, IPC_TOPIC_SHARD_PREFIX, strlen(IPC_TOPIC_SHARD_PREFIX)) != 0 ||
        util_parse_i64(topic + strlen(IPC_TOPIC_SHARD_PREFIX), 0, n - 1, &i) != 0)
        return -EINVAL;
    return (int)i;
}

/* The topic of publisher i, into buf (WATCHER_TOPIC_MAX). */
static void pub_topic(const struct watcher_ctx *w, int i, char *buf)
{
    int n = w->w_npubs - 2;
    if (i < n)
        ipc_topic_shard(buf, WATCHER_TOPIC_MAX, (unsigned)i);
    else
        util_strlcpy(buf, i == n ? IPC_TOPIC_TTL : IPC_TOPIC_CRON, WATCHER_TOPIC_MAX);
}

/* Sets (ms > 0) or clears (0) the hold timer; under hb_mu. False when it could
 * not be set (the caller sends its hint as an urgent one). */
static bool hold_timer_set(struct hint_batch *b, int ms)
{
    struct itimerspec t = {.it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}};
    if (timerfd_settime(b->hb_timer, 0, &t, NULL) != 0) {
        log_warn("hold timer unusable", "error", strerror(errno), NULL);
        return false;
    }
    b->hb_armed = ms > 0;
    return true;
}

/* Sends publisher i's pending hints as one message (under hb_mu); why: the
 * metric's "cause" label. */
static void batch_send(struct watcher_ctx *w, int i, const char *why)
{
    struct hint_batch *b = &w->w_batch;
    if (b->hb_len[i] == 0)
        return;
    char topic[WATCHER_TOPIC_MAX];
    pub_topic(w, i, topic);
    int rc = ipc_pub_send(w->w_pubs[i], topic, IPC_EV_CHANGES, b->hb_buf[i], b->hb_len[i]);
    metrics_counter_add(w->w_stats.ws_hint_msgs, 1.0, rc == 0 ? "sent" : "error", why);
    if (rc != 0) /* its number is taken: the subscriber sees a gap and resyncs */
        log_warn("hints not published", "topic", topic, "error", strerror(-rc), NULL);
    b->hb_len[i] = 0;
    b->hb_urgent[i] = false;
}

/* Sends the topics that hold an urgent hint (every pending topic when all), then
 * clears the hold timer when nothing is left; under hb_mu. */
static void batch_send_due(struct watcher_ctx *w, bool all, const char *why)
{
    struct hint_batch *b = &w->w_batch;
    bool left = false;
    for (int i = 0; i < w->w_npubs; i++) {
        if (all || b->hb_urgent[i])
            batch_send(w, i, why);
        left |= b->hb_len[i] != 0;
    }
    atomic_store(&b->hb_urgent_since, 0);
    if (!left && b->hb_armed)
        hold_timer_set(b, 0);
}

/* wshared.ws_flush (a loop is about to wait): every topic with an urgent hint out,
 * one message each; the others stay for the hold timer. */
static void batch_flush(void *ctx)
{
    struct watcher_ctx *w = ctx;
    struct hint_batch *b = &w->w_batch;
    if (atomic_load(&b->hb_urgent_since) == 0)
        return;
    pthread_mutex_lock(&b->hb_mu);
    batch_send_due(w, false, "wait");
    pthread_mutex_unlock(&b->hb_mu);
}

/* The hold timer fired (the main thread): every pending hint out. */
static void batch_hold_expired(struct watcher_ctx *w)
{
    struct hint_batch *b = &w->w_batch;
    uint64_t n;
    if (read(b->hb_timer, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("hold timer unreadable", "error", strerror(errno), NULL);
    pthread_mutex_lock(&b->hb_mu);
    b->hb_armed = false; /* one-shot: expired (or just set again: early is harmless) */
    batch_send_due(w, true, "hold");
    pthread_mutex_unlock(&b->hb_mu);
}

/* h into publisher i's batch; a full batch is sent first. Urgent, or with no hold
 * timer: sent when the loop waits; else held (the timer set if it is not). */
static int batch_add(struct watcher_ctx *w, int i, const struct ipc_hint *h, bool urgent)
{
    struct hint_batch *b = &w->w_batch;
    pthread_mutex_lock(&b->hb_mu);
    int64_t now = util_mono_ns();
    urgent |= b->hb_timer < 0;
    int64_t since = atomic_load(&b->hb_urgent_since);
    if (since != 0 && now - since >= HINT_STREAM_NS)
        batch_send_due(w, false, "stream"); /* a stream that never lets its loop wait */
    int rc = ipc_hints_add(b->hb_buf[i], HINT_BATCH_BYTES, &b->hb_len[i], h);
    if (rc == -ENOSPC) {
        batch_send(w, i, "full");
        rc = ipc_hints_add(b->hb_buf[i], HINT_BATCH_BYTES, &b->hb_len[i], h);
    }
    if (rc == 0 && !urgent && !b->hb_armed)
        urgent = !hold_timer_set(b, HINT_HOLD_MS);
    if (rc == 0 && urgent) {
        b->hb_urgent[i] = true;
        if (atomic_load(&b->hb_urgent_since) == 0)
            atomic_store(&b->hb_urgent_since, now);
    }
    pthread_mutex_unlock(&b->hb_mu);
    return rc;
}

/* The hint callback (under the cache's write lock): OMJob and pod changes go to
 * the key's shard topic, changes of finished OMJobs also to "ttl" (the cleaner); CronOMJob
 * hints (a CronOMJob's changes and those of the OMJobs it controls, keyed by the
 * CronOMJob: cache.c) go to "cron" only (the scheduler). Batched (hint_batch):
 * urgent ones sent when the loop that made the change is about to wait, the others
 * held up to HINT_HOLD_MS. The "ttl" hints carry the OMJob's TTL facts
 * (wc_obj_ttl): the cleaner needs no GET_KEY for them; one whose uid or
 * resourceVersion is too long to carry goes without (GET_KEY then). */
static void publish(void *ctx, enum ipc_kind kind, const char *key, const char *ns,
                    const char *name, uint64_t rev, unsigned flags, const struct wc_obj *omjob)
{
    struct watcher_ctx *w = ctx;
    /* None before every initial LIST is in: every subscriber resyncs in full with a
     * new publisher (docs/PROTOCOL.md) and that resync waits for the sync anyway,
     * while each hint would bring its key back to a GET_KEY answered "not synced"
     * (rendered all the same, and asked again 500 ms later): at 5,000 OMJobs and
     * 10,000 pods those answers took the CPU the sync needed. */
    if (!wcache_synced(w->w_cache)) {
        metrics_counter_add(w->w_stats.ws_hints, 1.0, ipc_kind_str(kind), "before_sync");
        return;
    }
    struct ipc_hint h = {.kind = kind, .seq = rev};
    char topics[2][WATCHER_TOPIC_MAX];
    bool urgent = (flags & WC_HINT_URGENT) != 0;
    int rc = util_strlcpy(h.key, key, sizeof(h.key));
    int n = rc == 0 ? watcher_hint_topics(kind, ns, name, w->w_cfg.reconcile_threads,
                                          (flags & WC_HINT_FINISHED) != 0, topics)
                    : rc;
    rc = n < 0 ? n : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int t = topic_index(w, topics[i]);
        if (t >= 0 && kind == IPC_KIND_OMJOB && strcmp(topics[i], IPC_TOPIC_TTL) == 0) {
            struct ipc_hint th = h;
            th.has_ttl = wc_obj_ttl(omjob, &th.ttl) == 0;
            rc = batch_add(w, t, &th, urgent);
        } else {
            rc = t < 0 ? t : batch_add(w, t, &h, urgent);
        }
    }
    metrics_counter_add(w->w_stats.ws_hints, 1.0, ipc_kind_str(kind), rc == 0 ? "sent" : "error");
    if (rc == 0 && !urgent && w->w_batch.hb_timer >= 0)
        metrics_counter_add(w->w_stats.ws_hints_held, 1.0, ipc_kind_str(kind));
    if (rc != 0)
        log_warn("hint not published", "key", key, "kind", ipc_kind_str(kind), "error",
                 strerror(-rc), NULL);
}

/* One numbered tick per topic: pub/sub loses messages silently, and a subscriber
 * only sees a gap when the next message arrives; with a tick every second a lost
 * hint costs at most a second before the subscriber resyncs. */
static void tick(struct watcher_ctx *w)
{
    char topic[WATCHER_TOPIC_MAX];
    for (int i = 0; i < w->w_npubs; i++) {
        pub_topic(w, i, topic);
        ipc_pub_send(w->w_pubs[i], topic, IPC_EV_TICK, NULL, 0);
    }
}

static int open_ipc(struct watcher_ctx *w)
{
    char url[IPC_URL_MAX];
    const char *dir = w->w_cfg.run_dir;
    char err[512];
    int rc = rundir_prepare(dir, err, sizeof(err));
    if (rc != 0) {
        log_error("run directory unusable", "dir", dir, "error", err, NULL);
        return EX_CONFIG;
    }
    w->w_npubs = w->w_cfg.reconcile_threads + 2;
    if ((w->w_pubs = calloc((size_t)w->w_npubs, sizeof(*w->w_pubs))) == NULL ||
        (w->w_batch.hb_buf = calloc((size_t)w->w_npubs, sizeof(*w->w_batch.hb_buf))) == NULL ||
        (w->w_batch.hb_len = calloc((size_t)w->w_npubs, sizeof(*w->w_batch.hb_len))) == NULL ||
        (w->w_batch.hb_urgent = calloc((size_t)w->w_npubs, sizeof(*w->w_batch.hb_urgent))) == NULL)
        return 1;
    for (int i = 0; i < w->w_npubs && rc == 0; i++) {
        char topic[WATCHER_TOPIC_MAX];
        pub_topic(w, i, topic);
        rc = ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_HINTS, topic);
        if (rc == 0)
            rc = ipc_pub_open(&w->w_pubs[i], url);
    }
    if (rc == 0)
        rc = ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_TRUTH, NULL);
    if (rc == 0)
        rc = ipc_rep_open(&w->w_rep, url, TRUTH_WORKERS, watcher_truth_handle, w->w_cache);
    if (rc != 0) {
        log_error("cannot listen", "url", url, "error", strerror(-rc), "hint",
                  rc == -EADDRINUSE ? "another watcher runs with this OMJOB_RUN_DIR" : NULL, NULL);
        return 1;
    }
    return 0;
}

/* One loop per resource and namespace: WATCH_NAMESPACES=a,b means exactly a and b. */
static int make_loops(struct watcher_ctx *w)
{
    static const enum wc_kind kinds[] = {WC_OMJOB, WC_CRONOMJOB, WC_POD};
    size_t nns = w->w_cfg.watch_all ? 1 : w->w_cfg.n_watch_namespaces;
    char err[512] = "";
    w->w_loops = calloc(3 * nns, sizeof(*w->w_loops));
    if (w->w_loops == NULL)
        return 1;
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < nns; i++) {
            const char *ns = w->w_cfg.watch_all ? NULL : w->w_cfg.watch_namespaces[i];
            int rc = wloop_new(&w->w_sh, kinds[k], ns, &w->w_loops[w->w_nloops], err, sizeof(err));
            if (rc != 0) {
                log_error("no API client", "error", err[0] ? err : strerror(-rc), NULL);
                return rc == -ENOMEM ? 1 : EX_CONFIG;
            }
            w->w_nloops++;
        }
    }
    return 0;
}

/* Extra fields of the control socket's STATUS reply. */
static void status_fields(void *arg, struct json_object *obj)
{
    struct watcher_ctx *w = arg;
    jx_set_bool(obj, "synced", wcache_synced(w->w_cache));
    jx_set_i64(obj, "cacheRevision", (int64_t)wcache_revision(w->w_cache));
    for (enum wc_kind k = 0; k < WC_NKINDS; k++)
        jx_set_i64(obj, wc_kind_str(k), (int64_t)wcache_count(w->w_cache, k));
}

static int setup(struct watcher_ctx *w)
{
    int rc = ctl_open("watcher", &w->w_cfg, &w->w_ctl);
    if (rc != 0) {
        log_error("control socket unusable", "error", strerror(-rc), NULL);
        return rc == -EADDRINUSE ? 1 : EX_CONFIG;
    }
    if (wstats_init(&w->w_stats, w->w_ctl) != 0 || (w->w_cache = wcache_new()) == NULL ||
        wshared_init(&w->w_sh) != 0)
        return 1;
    ctl_set_status_fn(w->w_ctl, status_fields, w);
    w->w_sh_init = true;
    pthread_mutex_init(&w->w_batch.hb_mu, NULL);
    w->w_batch_init = true;
    /* Without it every hint is sent as an urgent one is: no worse than before. */
    if ((w->w_batch.hb_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
        log_warn("no hold timer: every hint sent at once", "error", strerror(errno), NULL);
    wcache_set_hint(w->w_cache, publish, w);
    w->w_sh.ws_flush = batch_flush;
    w->w_sh.ws_flush_ctx = w;
    w->w_sh.ws_cache = w->w_cache;
    w->w_sh.ws_stats = &w->w_stats;
    w->w_sh.ws_qps = w->w_cfg.kube_qps;
    w->w_sh.ws_burst = w->w_cfg.kube_burst;
    /* Once, before the loops: at most two short GETs (crdcheck.h). */
    crdcheck_run(&w->w_cfg, w->w_ctl);
    w->w_sh.ws_max_object = (size_t)w->w_cfg.max_object_bytes;
    wcache_set_max_json(w->w_cache, w->w_sh.ws_max_object);
    if ((rc = make_loops(w)) != 0 || (rc = open_ipc(w)) != 0)
        return rc;
    for (size_t i = 0; i < w->w_nloops; i++)
        if (wloop_start(w->w_loops[i]) != 0)
            return 1;
    return 0;
}

/* Every initial LIST is in, an optional resource that cannot be listed aside:
 * OMJobs do not wait for CronOMJobs. */
static bool all_synced(struct watcher_ctx *w)
{
    for (size_t i = 0; i < w->w_nloops; i++)
        if (!wloop_synced(w->w_loops[i]) && wloop_missing(w->w_loops[i]) == 0)
            return false;
    return true;
}

/* Reports a change of what optional resource is missing in the health reply
 * (httpd's /readyz shows it) and the log. */
static void update_degraded(struct watcher_ctx *w)
{
    char note[sizeof(w->w_degraded)] = "";
    for (size_t i = 0; i < w->w_nloops; i++) {
        int http = wloop_missing(w->w_loops[i]);
        if (http == 0 || note[0] != '\0')
            continue;
        const char *ns = wloop_namespace(w->w_loops[i]);
        bool all = strcmp(ns, "(all)") == 0;
        snprintf(note, sizeof(note),
                 "cronomjobs%s%s unavailable (%s): CronOMJobs are not run, "
                 "OMJobs are",
                 all ? "" : " of namespace ", all ? "" : ns,
                 http == 404 ? "HTTP 404: the CronOMJob CRD is not installed"
                             : "HTTP 403: the operator may not list them, check its RBAC");
    }
    if (strcmp(note, w->w_degraded) == 0)
        return;
    if (note[0] != '\0')
        log_warn("running without an optional resource", "what", note, NULL);
    else
        log_info("optional resource available again", "was", w->w_degraded, NULL);
    util_strlcpy(w->w_degraded, note, sizeof(w->w_degraded));
    ctl_set_degraded(w->w_ctl, note[0] != '\0' ? note : NULL);
}

static void became_ready(struct watcher_ctx *w)
{
    char o[24], p[24], c[24];
    snprintf(o, sizeof(o), "%zu", wcache_count(w->w_cache, WC_OMJOB));
    snprintf(p, sizeof(p), "%zu", wcache_count(w->w_cache, WC_POD));
    snprintf(c, sizeof(c), "%zu", wcache_count(w->w_cache, WC_CRONOMJOB));
    wcache_set_synced(w->w_cache, true);
    metrics_gauge_set(w->w_stats.ws_synced, 1.0);
    ctl_set_ready(w->w_ctl, true);
    log_info("synced: every initial LIST is in", "omjobs", o, "pods", p, "cronomjobs", c, NULL);
    role_ready();
}

/* Until a stop signal (0) or the supervisor's death (1). */
static int run(struct watcher_ctx *w)
{
    /* A negative fd (no hold timer, no parent) is left out by poll. */
    struct pollfd fds[4] = {{.fd = role_stop_fd(), .events = POLLIN},
                            {.fd = w->w_sh.ws_notify_fd, .events = POLLIN},
                            {.fd = w->w_batch.hb_timer, .events = POLLIN},
                            {.fd = role_parent_fd(), .events = POLLIN}};
    bool ready = false;
    int64_t last_tick = 0;
    for (;;) {
        uint64_t v;
        ctl_heartbeat(w->w_ctl);
        if (poll(fds, 4, 1000) < 0 && errno != EINTR) {
            log_error("poll failed", "error", strerror(errno), NULL);
            return 1;
        }
        if (fds[0].revents != 0 && role_handle_stop() == 0)
            return 0;
        if (fds[3].revents != 0) {
            role_log_parent_gone();
            return 1;
        }
        if (fds[2].revents != 0)
            batch_hold_expired(w);
        if (fds[1].revents != 0 && read(fds[1].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_warn("readiness notification unreadable", "error", strerror(errno), NULL);
        update_degraded(w);
        if (!ready && all_synced(w)) {
            ready = true;
            became_ready(w);
        }
        int64_t now = util_mono_ms();
        if (ready && now - last_tick >= 1000) {
            tick(w);
            last_tick = now;
        }
    }
}

static void stop_loops(struct watcher_ctx *w)
{
    int64_t deadline = util_mono_ms() + JOIN_GRACE_MS;
    if (w->w_sh_init)
        wshared_stop(&w->w_sh);
    for (size_t i = 0; i < w->w_nloops; i++)
        wloop_cancel(w->w_loops[i]);
    for (size_t i = 0; i < w->w_nloops; i++) {
        if (wloop_join(w->w_loops[i], deadline) != 0) {
            log_warn("a list+watch thread did not stop in time (request in flight); exiting "
                     "without freeing",
                     NULL);
            w->w_stuck = true;
            return;
        }
    }
}

static void teardown(struct watcher_ctx *w)
{
    ipc_stop_accepting();
    stop_loops(w);
    if (w->w_stuck)
        return; /* threads still use the cache and the publisher: just exit */
    ipc_rep_close(w->w_rep);
    for (int i = 0; w->w_pubs != NULL && i < w->w_npubs; i++)
        ipc_pub_close(w->w_pubs[i]);
    free(w->w_pubs);
    free(w->w_batch.hb_buf);
    free(w->w_batch.hb_len);
    free(w->w_batch.hb_urgent);
    if (w->w_batch_init) {
        pthread_mutex_destroy(&w->w_batch.hb_mu);
        if (w->w_batch.hb_timer >= 0)
            close(w->w_batch.hb_timer);
    }
    ctl_close(w->w_ctl);
    for (size_t i = 0; i < w->w_nloops; i++)
        wloop_free(w->w_loops[i]);
    free(w->w_loops);
    wcache_free(w->w_cache);
    if (w->w_sh_init)
        wshared_fini(&w->w_sh);
    ipc_fini();
}

int watcher(int argc, char **argv)
{
    struct watcher_ctx w = {0};
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator watcher: unexpected argument '%s' (the watcher takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("watcher");
    cfg_load_or_exit(&w.w_cfg);
    int rc = setup(&w);
    if (rc == 0) {
        log_info("watcher started", "namespaces", w.w_cfg.watch_all ? "ALL" : "listed", "run_dir",
                 w.w_cfg.run_dir, NULL);
        rc = run(&w);
    }
    teardown(&w);
    role_fini();
    cfg_free(&w.w_cfg);
    return rc;
}

/* The cleaner role: deletes each finished OMJob (Succeeded or Failed, with a
 * completionTime) at completionTime + spec.ttlSecondsAfterFinished, after a fresh
 * GET, with a UID precondition (docs/LIFECYCLE.md, "TTL").
 *
 * It learns about OMJobs from the watcher: "ttl" hints (sync.c: each carries the
 * OMJob's TTL facts, so no GET_KEY), and a LIST_SHARD resync at start, after any lost hint, new
 * publisher or reconnect, and every OMJOB_RESYNC_SECONDS. The finished ones wait
 * in a min-heap (ttl.c) and the loop sleeps exactly until the next one is due
 * (at most a second, for heartbeats) or a deletion finishes; expire.c hands them
 * to a few worker threads (pool.c), which delete several at once. CronOMJob history
 * limits are the scheduler's (roles/scheduler/). */
#include "roles/cleaner/cleaner.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "roles/cleaner/internal.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "lib/kube/client.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "runtime/kclient.h"
#include "runtime/role.h"

#define LOOP_MAX_WAIT_MS 1000
/* A resync the watcher answered "not synced yet" is asked again this soon. */
#define RESYNC_UNSYNCED_MS 200
#define RESYNC_BACKOFF_MAX_MS 30000
/* At most one asked-for resync a second: a burst of gaps costs one. */
#define RESYNC_MIN_GAP_MS 1000
/* The API client: short enough that one stuck request does not stall the loop
 * past its health deadline for long. */
#define KUBE_TIMEOUT_MS 10000
#define KUBE_ATTEMPTS 3
#define KUBE_TOTAL_MS 15000
/* Deletions in flight at once (pool.h). Each is one DELETE and one Event POST
 * (about 10 ms each here), so 8 keep well ahead of the client's default 50 QPS and
 * of a raised limit of a few hundred; the rate limiter, shared, bounds them all. */
#define CLEANER_WORKERS 8

static const double delay_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1,     2.5,  5,     10,   30,  60,   300};

static int register_metrics(struct cleaner_ctx *c)
{
    struct metrics *m = ctl_metrics(c->cl_ctl);
    int rc = metrics_counter_new(m, "omjob_ttl_deletions_total",
                                 "Finished OMJobs deleted after ttlSecondsAfterFinished.", NULL, 0,
                                 &c->cl_deletions);
    if (rc == 0)
        rc = metrics_histogram_new(
            m, "omjob_ttl_delay_seconds",
            "Time from an OMJob's expiry (completionTime + ttlSecondsAfterFinished) to its "
            "deletion.",
            NULL, 0, delay_buckets, sizeof(delay_buckets) / sizeof(delay_buckets[0]), &c->cl_delay);
    if (rc == 0)
        rc = metrics_gauge_new(m, "omjob_ttl_scheduled",
                               "Finished OMJobs waiting for their TTL to expire.", NULL, 0,
                               &c->cl_scheduled);
    static const char *const src[] = {"source"};
    if (rc == 0)
        rc = metrics_counter_new(
            m, "omjob_ttl_hints_total",
            "OMJob changes the cleaner took from \"ttl\" hints, by where it read "
            "the OMJob: the TTL facts the hint carries (hint) or a GET_KEY to "
            "the watcher (get_key: a hint without them)",
            src, 1, &c->cl_hints);
    return rc;
}

static void status_fields(void *arg, struct json_object *obj)
{
    struct cleaner_ctx *c = arg;
    jx_set_i64(obj, "known", (int64_t)atomic_load(&c->cl_known));
    jx_set_i64(obj, "scheduled", (int64_t)atomic_load(&c->cl_nsched));
    jx_set_i64(obj, "nextAtMs", atomic_load(&c->cl_next_ms));
    jx_set_i64(obj, "deleted", (int64_t)atomic_load(&c->cl_deleted));
}

static int open_ipc(struct cleaner_ctx *c)
{
    char url[IPC_URL_MAX];
    int rc = ipc_endpoint_url(url, sizeof(url), c->cl_cfg.run_dir, IPC_EP_HINTS, IPC_TOPIC_TTL);
    if (rc == 0)
        rc = ipc_sub_open(&c->cl_sub, url);
    if (rc == 0)
        rc = ipc_sub_subscribe(c->cl_sub, IPC_TOPIC_TTL);
    if (rc == 0)
        rc = ipc_endpoint_url(url, sizeof(url), c->cl_cfg.run_dir, IPC_EP_TRUTH, NULL);
    if (rc == 0)
        rc = ipc_req_open(&c->cl_req, url);
    if (rc != 0)
        log_error("cannot dial the watcher", "url", url, "error", strerror(-rc), NULL);
    return rc;
}

static int setup(struct cleaner_ctx *c)
{
    /* One request, its retries and backoff included, holds a worker for at most
     * KUBE_TOTAL_MS (as a reconciler's key); the wait hook keeps /healthz green. */
    struct kube_client_opts ko = {.request_timeout_ms = KUBE_TIMEOUT_MS,
                                  .total_timeout_ms = KUBE_TOTAL_MS,
                                  .max_attempts = KUBE_ATTEMPTS,
                                  /* a connection for each worker and the loop */
                                  .max_idle = CLEANER_WORKERS + 1};
    char err[512] = "", instance[128], host[64] = "";
    int rc = ctl_open("cleaner", &c->cl_cfg, &c->cl_ctl);
    if (rc != 0) {
        log_error("control socket unusable", "error", strerror(-rc), NULL);
        return rc == -EADDRINUSE ? 1 : EX_CONFIG;
    }
    if (register_metrics(c) != 0 || ttl_table_new(&c->cl_tab) != 0)
        return 1;
    ctl_set_status_fn(c->cl_ctl, status_fields, c);
    if ((rc = kclient_new(&c->cl_cfg, c->cl_ctl, &ko, &c->cl_kc, err, sizeof(err))) != 0) {
        log_error("no API client", "error", err[0] ? err : strerror(-rc), NULL);
        return rc == -ENOMEM ? 1 : EX_CONFIG;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(instance, sizeof(instance), "cleaner@%s", host[0] ? host : "unknown");
    if (ev_recorder_new(c->cl_kc, "omjob-operator", instance, 0, &c->cl_ev) != 0 ||
        open_ipc(c) != 0)
        return 1;
    if ((rc = cleaner_pool_start(c, CLEANER_WORKERS)) != 0) {
        log_error("cannot start the deletion workers", "error", strerror(-rc), NULL);
        return 1;
    }
    c->cl_need_resync = true;
    return 0;
}

/* The resync, when asked for (a gap, a new watcher: at once, or after a failure's
 * backoff) or periodically due. The two times are kept apart: one timer for both
 * held an asked-for resync back until the periodic one, 300 s (a lost TTL hint
 * waited that long; the scheduler had the same bug). */
static void maybe_resync(struct cleaner_ctx *c)
{
    int64_t now = util_mono_ms();
    bool asked = c->cl_need_resync && now >= c->cl_try_at_ms;
    if (!asked && now < c->cl_resync_at_ms)
        return;
    int rc = cleaner_resync(c);
    if (rc == 0) {
        c->cl_need_resync = false;
        c->cl_resync_failures = 0;
        c->cl_resync_at_ms = util_mono_ms() + (int64_t)c->cl_cfg.resync_s * 1000;
        c->cl_try_at_ms = util_mono_ms() + RESYNC_MIN_GAP_MS;
        if (!c->cl_synced_once || c->cl_new_watcher) {
            char n[24];
            snprintf(n, sizeof(n), "%zu", ttl_nscheduled(c->cl_tab));
            log_info(c->cl_synced_once ? "resync with a new watcher done"
                                       : "first resync with the watcher done",
                     "scheduled", n, NULL);
            c->cl_synced_once = true;
            c->cl_new_watcher = false;
        }
        return;
    }
    c->cl_need_resync = true;
    int64_t wait = RESYNC_UNSYNCED_MS;
    if (rc != -EAGAIN) {
        wait = ttl_backoff_ms(++c->cl_resync_failures);
        if (wait > RESYNC_BACKOFF_MAX_MS)
            wait = RESYNC_BACKOFF_MAX_MS;
    }
    /* Neither the asked-for nor the periodic resync before the backoff is over. */
    c->cl_try_at_ms = now + wait;
    if (c->cl_resync_at_ms < c->cl_try_at_ms)
        c->cl_resync_at_ms = c->cl_try_at_ms;
    if (rc == -EAGAIN)
        return;
    if (c->cl_resync_failures == 1 || c->cl_resync_failures % 10 == 0)
        log_warn("resync with the watcher failed; retrying", "error", strerror(-rc), NULL);
}

/* Milliseconds until the loop has something to do, at most LOOP_MAX_WAIT_MS. */
static int wait_ms(struct cleaner_ctx *c)
{
    int64_t w = LOOP_MAX_WAIT_MS;
    struct ttl_entry *e = ttl_peek(c->cl_tab);
    /* Every worker busy: the pool's fd wakes the loop when one is done. */
    if (cleaner_saturated(c))
        e = NULL;
    if (e != NULL && e->te_at_ms - util_wall_ms() < w)
        w = e->te_at_ms - util_wall_ms();
    if (c->cl_need_resync && c->cl_try_at_ms - util_mono_ms() < w)
        w = c->cl_try_at_ms - util_mono_ms();
    if (c->cl_resync_at_ms - util_mono_ms() < w)
        w = c->cl_resync_at_ms - util_mono_ms();
    return w < 0 ? 0 : (int)w;
}

/* Until a stop signal (0) or the supervisor's death (1). */
static int run(struct cleaner_ctx *c)
{
    int fds[2] = {-1, cleaner_pool_fd(c)};
    if (ipc_sub_fd(c->cl_sub, &fds[0]) != 0)
        fds[0] = -1; /* then hints are read every loop */
    for (;;) {
        ctl_heartbeat(c->cl_ctl);
        cleaner_drain_hints(c);
        maybe_resync(c);
        cleaner_run_due(c);
        int rc = role_poll_fds(fds, 2, wait_ms(c));
        if (rc != ROLE_POLL_GO_ON)
            return rc;
    }
}

static void teardown(struct cleaner_ctx *c)
{
    ipc_stop_accepting();
    cleaner_pool_stop(c); /* its jobs use the client and the recorder */
    ipc_sub_close(c->cl_sub);
    ipc_req_close(c->cl_req);
    ev_recorder_free(c->cl_ev);
    kube_client_free(c->cl_kc);
    ttl_table_free(c->cl_tab);
    ctl_close(c->cl_ctl);
    ipc_fini();
}

int cleaner(int argc, char **argv)
{
    static struct cleaner_ctx c;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator cleaner: unexpected argument '%s' (the cleaner takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("cleaner");
    cfg_load_or_exit(&c.cl_cfg);
    int rc = setup(&c);
    if (rc == 0) {
        log_info("cleaner started", "run_dir", c.cl_cfg.run_dir, NULL);
        ctl_set_ready(c.cl_ctl, true);
        role_ready();
        rc = run(&c);
    }
    teardown(&c);
    role_fini();
    cfg_free(&c.cl_cfg);
    return rc;
}

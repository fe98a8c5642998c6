/* The scheduler role: runs every CronOMJob (docs/LIFECYCLE.md, "CronOMJob: runs,
 * status and history"). One process, one thread.
 *
 * It learns about CronOMJobs from the watcher (sync.c): "cron" hints, each naming
 * a CronOMJob whose object or whose OMJobs changed, and a LIST_SHARD resync at
 * start, after a lost hint, a new publisher or a reconnect, and every
 * OMJOB_RESYNC_SECONDS. The keys wait in a work queue (lib/workq) whose timers
 * are each CronOMJob's next look (its next scheduled time, a history deadline, a
 * backoff); the workers take the keys due and make a pass over each (exec.c):
 * the pure decision (decide.c), and what it returns executed, several passes in
 * flight at once within the client's rate limit, creates first. READY for the supervisor once
 * initialised; ready in its health reply (/readyz) once the first resync is in. */
#include "roles/scheduler/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "roles/scheduler/internal.h"
#include "roles/scheduler/pool.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "lib/kube/client.h"
#include "lib/workq/workq.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "runtime/kclient.h"
#include "runtime/role.h"

#define LOOP_MAX_WAIT_MS 1000
/* Passes in flight at once (threads sharing the API client and its token
 * bucket): enough that the bucket, not one request's latency, bounds a busy
 * second; the local API server took 50 creates from 16 at once in two thirds of
 * the time it took from 8 (docs/ARCHITECTURE.md, "The workers, and creates
 * first"). */
#define SCHED_WORKERS 16
/* The API client: short enough that one stuck request does not stall the loop
 * past its health deadline for long. */
#define KUBE_TIMEOUT_MS 10000
#define KUBE_ATTEMPTS 3
#define KUBE_TOTAL_MS 15000

/* Creation time minus scheduled time. */
static const double lateness_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5,  5,     10,   30,  60,   300};

static int register_metrics(struct sched *s)
{
    static const char *const reason[] = {"reason"};
    struct metrics *m = ctl_metrics(s->s_ctl);
    int rc = metrics_counter_new(m, "omjob_cron_runs_created_total",
                                 "OMJobs created for CronOMJob runs.", NULL, 0, &s->s_created);
    if (rc == 0)
        rc = metrics_histogram_new(m, "omjob_cron_lateness_seconds",
                                   "Time from a run's scheduled time to the creation of its OMJob.",
                                   NULL, 0, lateness_buckets,
                                   sizeof(lateness_buckets) / sizeof(lateness_buckets[0]),
                                   &s->s_lateness);
    if (rc == 0)
        rc = metrics_gauge_new(m, "omjob_cron_scheduled", "CronOMJobs with a next scheduled time.",
                               NULL, 0, &s->s_scheduled);
    if (rc == 0)
        rc = metrics_counter_new(m, "omjob_cron_skipped_total",
                                 "Scheduled times not run: Forbid (a run was active), missed "
                                 "(past startingDeadlineSeconds), invalid (schedule or zone).",
                                 reason, 1, &s->s_skipped);
    return rc;
}

static void status_fields(void *arg, struct json_object *obj)
{
    struct sched *s = arg;
    jx_set_i64(obj, "known", (int64_t)atomic_load(&s->s_nkeys));
    jx_set_i64(obj, "scheduled", (int64_t)atomic_load(&s->s_nscheduled));
    jx_set_i64(obj, "runsCreated", (int64_t)atomic_load(&s->s_runs));
}

/* The work queue's hooks: the workqueue_* families, name="scheduler". */
static void wq_added(void *arg)
{
    struct sched *s = arg;
    metrics_counter_add(s->s_fam->wq_adds, 1.0, "scheduler");
}

static void wq_depth(void *arg, size_t pending)
{
    struct sched *s = arg;
    metrics_gauge_set(s->s_fam->wq_depth, (double)pending, "scheduler");
}

static void wq_waited(void *arg, int64_t ms)
{
    struct sched *s = arg;
    metrics_observe(s->s_fam->wq_queue_duration, (double)ms / 1000.0, "scheduler");
}

/* workq's fini: frees what a key's state points to. */
static void key_fini(void *data)
{
    struct sched_key *k = data;
    free(k->sk_name_taken);
}

static int open_ipc(struct sched *s)
{
    char url[IPC_URL_MAX];
    int rc = ipc_endpoint_url(url, sizeof(url), s->s_cfg.run_dir, IPC_EP_HINTS, IPC_TOPIC_CRON);
    if (rc == 0)
        rc = ipc_sub_open(&s->s_sub, url);
    if (rc == 0)
        rc = ipc_sub_subscribe(s->s_sub, IPC_TOPIC_CRON);
    if (rc == 0)
        rc = ipc_endpoint_url(url, sizeof(url), s->s_cfg.run_dir, IPC_EP_TRUTH, NULL);
    if (rc == 0)
        rc = ipc_req_open(&s->s_req, url);
    if (rc != 0)
        log_error("cannot dial the watcher", "url", url, "error", strerror(-rc), NULL);
    return rc;
}

static int setup(struct sched *s)
{
    /* One request, its retries and backoff included, holds a worker for at most
     * KUBE_TOTAL_MS (as a reconciler's key); the wait hook keeps /healthz green. */
    struct kube_client_opts ko = {.request_timeout_ms = KUBE_TIMEOUT_MS,
                                  .total_timeout_ms = KUBE_TOTAL_MS,
                                  .max_attempts = KUBE_ATTEMPTS,
                                  .field_manager = "omjob-operator",
                                  /* a connection for each worker and the loop */
                                  .max_idle = SCHED_WORKERS + 1};
    char err[512] = "", instance[128], host[64] = "";
    int rc = ctl_open("scheduler", &s->s_cfg, &s->s_ctl);
    if (rc != 0) {
        log_error("control socket unusable", "error", strerror(-rc), NULL);
        return rc == -EADDRINUSE ? 1 : EX_CONFIG;
    }
    s->s_fam = ctl_families(s->s_ctl);
    if (register_metrics(s) != 0)
        return 1;
    ctl_set_status_fn(s->s_ctl, status_fields, s);
    struct workq_opts wo = {
        .data_size = sizeof(struct sched_key),
        .fini = key_fini,
        .hooks = {.added = wq_added, .depth = wq_depth, .waited = wq_waited, .arg = s}};
    if (workq_new(&wo, &s->s_wq) != 0 || pthread_mutex_init(&s->s_evq_mu, NULL) != 0)
        return 1;
    if ((rc = kclient_new(&s->s_cfg, s->s_ctl, &ko, &s->s_kc, err, sizeof(err))) != 0) {
        log_error("no API client", "error", err[0] ? err : strerror(-rc), NULL);
        return rc == -ENOMEM ? 1 : EX_CONFIG;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(instance, sizeof(instance), "scheduler@%s", host[0] ? host : "unknown");
    if (ev_recorder_new(s->s_kc, "omjob-operator", instance, 0, &s->s_ev) != 0 ||
        /* kept when the API server does not take them, as the reconcilers' */
        ev_retry_setup_metrics(s->s_ev, ctl_metrics(s->s_ctl), sched_ev_exists, s) != 0 ||
        open_ipc(s) != 0)
        return 1;
    sched_resync_init(&s->s_rs);
    struct sched_pool_ops po = {.pass = sched_pass,
                                .resume = sched_resume,
                                .drop = sched_drop,
                                .forget = sched_forget,
                                .idle = sched_idle,
                                .slot = sched_slot,
                                .arg = s};
    if ((rc = sched_pool_start(s->s_wq, SCHED_WORKERS, &po, &s->s_pool)) != 0) {
        log_error("cannot start the workers", "error", strerror(-rc), NULL);
        return 1;
    }
    return 0;
}

static void became_ready(struct sched *s)
{
    char n[24];
    snprintf(n, sizeof(n), "%zu", sched_pool_nkeys(s->s_pool));
    log_info("scheduler ready: first resync with the watcher done", "cronomjobs", n, NULL);
    s->s_synced_once = true;
    sched_pool_open(s->s_pool); /* keys wait for the first resync: the watcher's cache */
    ctl_set_ready(s->s_ctl, true);
}

/* The resync, when asked for or due (sched_resync_due); a failed one is retried
 * after a backoff. */
static void maybe_resync(struct sched *s)
{
    int64_t now = util_mono_ms();
    if (!sched_resync_due(&s->s_rs, now))
        return;
    int rc = sched_resync(s);
    sched_resync_done(&s->s_rs, util_mono_ms(), rc, (int64_t)s->s_cfg.resync_s * 1000);
    if (rc == 0) {
        if (!s->s_synced_once)
            became_ready(s);
        return;
    }
    int f = s->s_rs.sr_failures;
    if (rc != -EAGAIN && (f == 1 || f % 10 == 0))
        log_warn("resync with the watcher failed; retrying", "error", strerror(-rc), NULL);
}

/* The Events the API server did not take yet (kept by the recorder, by any
 * worker), those due: every turn (a lock and a look when none is due), so that
 * one kept meanwhile waits for no later time. */
static void retry_events(struct sched *s)
{
    int64_t now = util_mono_ms();
    s->s_ev_retry_at = ev_retry(s->s_ev, now);
    ev_expire_due(s->s_ev, now); /* Events quiet for their aggregation window */
}

/* Milliseconds the loop may sleep: until a resync or an Event retry, at most
 * LOOP_MAX_WAIT_MS (heartbeats). The workers wait for the keys' timers. */
static int wait_ms(struct sched *s)
{
    int64_t w = LOOP_MAX_WAIT_MS, now = util_mono_ms();
    int64_t r = sched_resync_wait_ms(&s->s_rs, now);
    if (r < w)
        w = r;
    if (s->s_ev_retry_at > 0 && s->s_ev_retry_at - now < w)
        w = s->s_ev_retry_at - now;
    return w < 0 ? 0 : (int)w;
}

/* Until a stop signal (0) or the supervisor's death (1). */
static int run(struct sched *s)
{
    int subfd = -1;
    if (ipc_sub_fd(s->s_sub, &subfd) != 0)
        subfd = -1; /* then hints are read every loop */
    for (;;) {
        ctl_heartbeat(s->s_ctl);
        sched_drain_hints(s);
        maybe_resync(s);
        retry_events(s);
        atomic_store(&s->s_nkeys, sched_pool_nkeys(s->s_pool));
        int rc = role_poll(subfd, s->s_synced_once ? wait_ms(s) : SCHED_RESYNC_UNSYNCED_MS);
        if (rc != ROLE_POLL_GO_ON)
            return rc;
    }
}

static void teardown(struct sched *s)
{
    ipc_stop_accepting();
    sched_pool_stop(s->s_pool); /* the workers use everything below */
    s->s_pool = NULL;
    sched_evq_free(s);
    ipc_sub_close(s->s_sub);
    ipc_req_close(s->s_req);
    ev_recorder_free(s->s_ev);
    kube_client_free(s->s_kc);
    workq_free(s->s_wq);
    ctl_close(s->s_ctl);
    ipc_fini();
}

int scheduler(int argc, char **argv)
{
    static struct sched s;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator scheduler: unexpected argument '%s' (the scheduler takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("scheduler");
    cfg_load_or_exit(&s.s_cfg);
    int rc = setup(&s);
    if (rc == 0) {
        /* READY for the supervisor once initialised, like the reconcilers and the
         * cleaner; ready for /readyz (ctl) once the first resync is in. */
        role_ready();
        log_info("scheduler started", "run_dir", s.s_cfg.run_dir, NULL);
        rc = run(&s);
    }
    teardown(&s);
    role_fini();
    cfg_free(&s.s_cfg);
    return rc;
}

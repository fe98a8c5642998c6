/* The per-role control socket (ipc://<rundir>/ctl-<role>.rep), used by every role:
 * answers health, metrics and status for httpd, and stop for a tool (the
 * supervisor has no NNG and stops roles with signals), and holds the role's
 * metrics registry with the families every role shares.
 * Message bodies are in docs/PROTOCOL.md ("Control message bodies"). */
#ifndef OMJOB_RUNTIME_CTL_H
#define OMJOB_RUNTIME_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/common/metrics.h"
#include "lib/common/util.h"

struct cfg;
struct ctl;

/* A role is unhealthy when its main loop has not called ctl_heartbeat() for longer
 * than this (ctl_set_stall_ms changes it, for tests), unless it is waiting on the
 * API server within a bounded request (ctl_waiting) whose deadline has not passed:
 * waiting is not wedged. */
#define CTL_STALL_MS_DEFAULT 10000

/* The metric families any role may touch, registered by ctl_open in every role's
 * registry with the same HELP, TYPE, labels and buckets, so that metrics_merge in
 * httpd sees one definition. Every sample also carries role="<instance>". All
 * pointers are borrowed from the registry and valid until ctl_close. */
struct ctl_families {
    struct metrics_family *reconciliations; /* omjob_reconciliations_total{status} */
    struct metrics_family *duration;        /* omjob_duration_seconds{phase}, histogram */
    struct metrics_family *pods_created;    /* omjob_pods_created_total{type} */
    struct metrics_family
        *status_transitions;             /* omjob_status_transitions_total{from_phase,to_phase} */
    struct metrics_family *cr_reconcile; /* controller_runtime_reconcile_total{controller,result} */
    struct metrics_family
        *cr_reconcile_errors; /* controller_runtime_reconcile_errors_total{controller} */
    struct metrics_family
        *cr_reconcile_time;          /* controller_runtime_reconcile_time_seconds{controller} */
    struct metrics_family *wq_depth; /* workqueue_depth{name}, gauge */
    struct metrics_family *wq_adds;  /* workqueue_adds_total{name} */
    struct metrics_family *wq_queue_duration; /* workqueue_queue_duration_seconds{name} */
    struct metrics_family *rest_requests;     /* rest_client_requests_total{code,method} */
};

/* Registers the shared families in m (idempotent: the same pointers again) and
 * fills *out. The one place their HELP and TYPE are defined. 0 or negative errno. */
int ctl_register_standard_families(struct metrics *m, struct ctl_families *out);

/* HELP and TYPE of omjob_component_restarts_total{role}: exported by httpd only,
 * from the supervisor's status file (it cannot live in a registry whose constant
 * label is role). */
#define CTL_RESTARTS_FAMILY "omjob_component_restarts_total"
#define CTL_RESTARTS_HELP "Restarts of each operator role process by the supervisor."

/* Opens the control socket of role instance `role` ("watcher", "reconciler-2") on
 * the CTL endpoint under c->run_dir, with a new registry whose constant label is
 * role=<role> and the standard families registered. Call after role_init (no NNG
 * before fork), before role_ready. Answers:
 *   IPC_CTL_HEALTH  -> IPC_CTL_HEALTH_REPLY  JSON {"role","pid","healthy","ready",
 *                      "loopAgeMs","reason"?}
 *   IPC_CTL_METRICS -> IPC_CTL_METRICS_REPLY Prometheus text 0.0.4: the registry
 *                      and process_* metrics read from /proc/self at scrape time
 *   IPC_CTL_STATUS  -> IPC_CTL_STATUS_REPLY  JSON {"role","pid","uptimeMs","ready",
 *                      "healthy", ...fields of the status callback}
 *   IPC_CTL_STOP    -> IPC_CTL_ACK, and SIGTERM to this process (role_stop_fd fires)
 * *out is written on success; the caller closes it with ctl_close. Negative errno:
 * -EINVAL (bad role), -ENAMETOOLONG, -EADDRINUSE (another process serves it), ... */
int ctl_open(const char *role, const struct cfg *c, struct ctl **out);
/* Stops answering and frees. NULL is a no-op. */
void ctl_close(struct ctl *ctl);

/* The role's registry (borrowed): register role-specific families in it. */
struct metrics *ctl_metrics(struct ctl *ctl);
/* The shared families (borrowed). */
const struct ctl_families *ctl_families(struct ctl *ctl);
const char *ctl_role(const struct ctl *ctl);

/* The role's main loop calls this at least every few seconds (every iteration of
 * its poll loop, with a poll timeout of at most a second or two). Thread-safe.
 * Every 10 s it also returns malloc's free pages (a burst's memory) to the kernel
 * (malloc_trim), when malloc holds 256 KiB or more free. */
void ctl_heartbeat(struct ctl *ctl);
/* Readiness as reported in the health reply: a role sets it when it serves (the
 * watcher: once its first LIST is in). Thread-safe. Starts false. */
void ctl_set_ready(struct ctl *ctl, bool ready);
/* The loop is blocked in a bounded wait (an API request attempt, a retry's
 * backoff) that ends by until_mono_ms (util_mono_ms); 0: it no longer is. While
 * that time has not passed the role is healthy however old its heartbeat; past
 * it, the heartbeat's age decides again. One value per role: for the loop's own
 * thread. Thread-safe. */
void ctl_waiting(struct ctl *ctl, int64_t until_mono_ms);
/* What the role works without right now (an optional resource it cannot use),
 * reported as "degraded" in the health reply and shown by /readyz, which stays
 * 200; NULL or "" clears it. Copied (at most 255 bytes). Thread-safe. */
void ctl_set_degraded(struct ctl *ctl, const char *note);
void ctl_set_stall_ms(struct ctl *ctl, int64_t ms);

/* Optional: fn adds role-specific fields to the STATUS reply object `obj` (called on
 * a server thread, must be thread-safe). */
typedef void (*ctl_status_fn)(void *arg, struct json_object *obj);
void ctl_set_status_fn(struct ctl *ctl, ctl_status_fn fn, void *arg);

/* For roles without a loop of their own (placeholders, and httpd's main thread):
 * heartbeats every second until a stop signal (returns 0) or the supervisor's
 * death (returns 1). */
int ctl_wait_stop(struct ctl *ctl);

/* A kube_observer_fn (lib/kube/client.h) counting rest_client_requests_total{code,
 * method}; ctx is the struct ctl. Use: kube_client_set_observer(kc,
 * ctl_kube_observer, ctl). */
void ctl_kube_observer(void *ctx, const char *method, int code, double seconds);

/* A kube_wait_fn (lib/kube/client.h) calling ctl_waiting; ctx is the struct ctl.
 * Use: kube_client_set_wait_hook(kc, ctl_kube_wait, ctl) on the client of the
 * role's main loop. */
void ctl_kube_wait(void *ctx, int64_t until_mono_ms);

/* ---- pure pieces, exposed for tests ---- */

/* Process figures from /proc. */
struct ctl_proc {
    double cpu_seconds;  /* utime + stime */
    double start_time_s; /* unix seconds */
    double rss_bytes;
    double vsize_bytes;
    double open_fds; /* -1 when unknown */
    double max_fds;  /* -1 when unknown */
};
/* Parses the text of /proc/<pid>/stat. ticks: sysconf(_SC_CLK_TCK); page: page
 * size; boot_time_s: btime from /proc/stat. 0 or -EINVAL. */
int ctl_proc_parse_stat(const char *stat, long ticks, long page, double boot_time_s,
                        struct ctl_proc *out);
/* btime from the text of /proc/stat. 0 or -EINVAL. */
int ctl_proc_parse_btime(const char *procstat, double *out);
/* "Max open files" soft limit from the text of /proc/<pid>/limits; -1 unlimited. */
int ctl_proc_parse_max_fds(const char *limits, double *out);
/* Reads /proc/self. 0 or negative errno. */
int ctl_proc_read(struct ctl_proc *out);
/* Appends the process_* families of p with label role=<role> to sb. */
void ctl_proc_render(const struct ctl_proc *p, const char *role, struct sbuf *sb);

/* The health body for these values; malloc'd JSON text the caller frees, NULL on
 * ENOMEM. wait_left_ms: how long the bounded wait the loop is in may still last
 * (< 0: in none, or past its deadline by that much; INT64_MIN: in none). healthy
 * is loop_age_ms <= stall_ms or wait_left_ms >= 0; a wait is reported as
 * "waitingMs" (left), an overrun one in the reason. degraded (NULL or "": none)
 * is added as "degraded". */
char *ctl_health_json(const char *role, long pid, bool ready, int64_t loop_age_ms, int64_t stall_ms,
                      int64_t wait_left_ms, const char *degraded);

#endif

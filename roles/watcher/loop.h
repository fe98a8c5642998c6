/* The watcher's list+watch loops: one thread per (resource, namespace), each with
 * its own API client (curl handles are not shared between threads). A loop LISTs
 * (paged), applies the items to the cache and sweeps what vanished, then WATCHes
 * from the list's resourceVersion, relisting on 410 or a lost event and
 * reconnecting with client-go's reflector backoff. Also the watcher's metrics. */
#ifndef OMJOB_ROLES_WATCHER_LOOP_H
#define OMJOB_ROLES_WATCHER_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/common/metrics.h"
#include "roles/watcher/cache.h"

struct ctl;

/* The watcher's metric families, in the registry of its control socket
 * (runtime/ctl.h; thread-safe). rest_client_requests_total is ctl's. */
struct wstats {
    struct ctl *ws_ctl;
    struct metrics *ws_reg;
    struct metrics_family *ws_events;     /* omjob_watcher_events_total{resource,type} */
    struct metrics_family *ws_lists;      /* omjob_watcher_lists_total{resource,reason,result} */
    struct metrics_family *ws_watch_ends; /* omjob_watcher_watch_ends_total{resource,end} */
    struct metrics_family *ws_objects;    /* omjob_watcher_cache_objects{resource} */
    struct metrics_family *ws_synced;     /* omjob_watcher_synced */
    struct metrics_family *ws_hints;      /* omjob_watcher_hints_total{kind,result} */
    struct metrics_family *ws_hints_held; /* omjob_watcher_hints_held_total{kind} */
    struct metrics_family *ws_hint_msgs;  /* omjob_watcher_hint_messages_total{result,cause} */
    struct metrics_family *ws_specs;      /* omjob_watcher_specs_total{resource,source} */
    struct metrics_family *ws_latency;    /* rest_client_request_duration_seconds{method} */
};

/* Registers the families in ctl's registry. 0, -ENOMEM (or -EINVAL on a
 * registration bug). */
int wstats_init(struct wstats *s, struct ctl *ctl);
/* kube_observer_fn with ctx a struct wstats *: ctl_kube_observer, and latency. */
void wstats_observe(void *ctx, const char *method, int code, double seconds);

/* What every loop shares. ws_notify_fd (an eventfd) is written when a loop has
 * completed its first LIST, so the main thread can tell readiness. */
struct wshared {
    pthread_mutex_t ws_mu;
    pthread_cond_t ws_cv; /* CLOCK_MONOTONIC; broadcast on stop */
    bool ws_stopping;
    int ws_notify_fd;
    struct wcache *ws_cache;
    struct wstats *ws_stats;
    double ws_qps;
    int ws_burst;
    size_t ws_max_object; /* OMJOB_MAX_OBJECT_BYTES, for messages */
    /* Sends the hints collected so far (the cache's hint callback batches them,
     * watcher.c); NULL: none. A loop calls it whenever it is about to wait for
     * the API server (kube_watch_params.idle), after each watch run and after each
     * LIST, so a hint is never held while its loop sleeps. */
    void (*ws_flush)(void *ctx);
    void *ws_flush_ctx;
};

/* Initialises the lock, condition and eventfd; the caller sets the other fields.
 * 0 or a negative errno. */
int wshared_init(struct wshared *sh);
void wshared_fini(struct wshared *sh);
/* Sets ws_stopping and wakes every loop that is backing off. */
void wshared_stop(struct wshared *sh);

struct wloop;

/* A loop for resource k in namespace ns (NULL: all namespaces), with its own
 * client from kube_config_load. 0, or a negative errno with a message in errbuf
 * (bad credentials: the caller exits with EX_CONFIG). */
int wloop_new(struct wshared *sh, enum wc_kind k, const char *ns, struct wloop **out, char *errbuf,
              size_t errlen);
/* Starts the thread. 0 or a negative errno. */
int wloop_start(struct wloop *l);
/* True once the first LIST has completed. */
bool wloop_synced(struct wloop *l);
/* True for a resource the operator works without (CronOMJobs): while its LIST is
 * refused with 404 (CRD not installed) or 403 (RBAC), wloop_missing says which,
 * and readiness does not wait for it. */
bool wloop_optional(const struct wloop *l);
/* 403 or 404 while an optional resource cannot be listed, else 0. Thread-safe. */
int wloop_missing(struct wloop *l);
/* The loop's namespace, "(all)" for every namespace. */
const char *wloop_namespace(const struct wloop *l);
/* Ends the running watch (after wshared_stop); the thread then exits. */
void wloop_cancel(struct wloop *l);
/* Waits for the thread until deadline (monotonic ms). 0, or -ETIMEDOUT: the
 * thread is stuck in a request; do not free the loop then. */
int wloop_join(struct wloop *l, int64_t deadline_ms);
/* Frees a loop whose thread was joined or never started. NULL is a no-op. */
void wloop_free(struct wloop *l);

#endif

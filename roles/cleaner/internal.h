/* The cleaner role's shared state, between its loop (cleaner.c), its view of the
 * watcher's cache (sync.c) and the deletions (expire.c). One thread uses it; the
 * atomics are read by the control socket's STATUS handler. */
#ifndef OMJOB_ROLES_CLEANER_INTERNAL_H
#define OMJOB_ROLES_CLEANER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "roles/cleaner/ttl.h"
#include "lib/common/cfg.h"

struct ctl;
struct kube_client;
struct ev_recorder;
struct ipc_sub;
struct ipc_req;
struct metrics_family;
struct cl_pool;
struct cl_job;

struct cleaner_ctx {
    struct cfg cl_cfg;
    struct ctl *cl_ctl;
    struct kube_client *cl_kc;
    struct ev_recorder *cl_ev;
    struct ipc_sub *cl_sub;
    struct ipc_req *cl_req;
    struct ttl_table *cl_tab;
    struct cl_pool *cl_pool;                /* the deletions' workers (pool.h) */
    unsigned cl_nworkers;                   /* 0: deletions run in the loop's thread (unit tests) */
    struct cl_job *cl_ev_head, *cl_ev_tail; /* Events of deletions done, waiting */
    struct metrics_family *cl_deletions;    /* omjob_ttl_deletions_total */
    struct metrics_family *cl_delay;        /* omjob_ttl_delay_seconds */
    struct metrics_family *cl_scheduled;    /* omjob_ttl_scheduled */
    struct metrics_family *cl_hints;        /* omjob_ttl_hints_total */
    bool cl_need_resync;
    int64_t cl_resync_at_ms; /* monotonic: the next periodic resync */
    int64_t cl_try_at_ms;    /* monotonic: the earliest resync asked for (a gap, a new
                                watcher) may run: after a failure's backoff, else 1 s
                                after the last one */
    int cl_resync_failures;
    bool cl_new_watcher;  /* a new watcher since the last resync: logged when done */
    unsigned cl_connects; /* ipc_sub_connects last seen */
    uint32_t cl_stamp;    /* resync sweep mark */
    bool cl_synced_once;
    /* For the STATUS reply (read on another thread). */
    _Atomic size_t cl_known;
    _Atomic size_t cl_nsched;
    _Atomic int64_t cl_next_ms;
    _Atomic unsigned long cl_deleted;
};

/* sync.c: the watcher's view. */
/* LIST_SHARD {} and GET_KEY of every key whose revision changed; forgets keys
 * gone. 0, or a negative errno (-EAGAIN: the watcher is not synced yet). */
int cleaner_resync(struct cleaner_ctx *c);
/* Handles the hints waiting on the subscriber (at most a batch); sets
 * cl_need_resync on loss, a new publisher, or a reconnect. */
void cleaner_drain_hints(struct cleaner_ctx *c);

/* expire.c: the deletions' workers (after the client and the recorder exist;
 * stopped before they are freed). 0 or a negative errno. */
int cleaner_pool_start(struct cleaner_ctx *c, unsigned nworkers);
void cleaner_pool_stop(struct cleaner_ctx *c);
/* Readable when finished deletions wait for cleaner_run_due; -1 without workers. */
int cleaner_pool_fd(const struct cleaner_ctx *c);
/* True while as many deletions are in flight as may be at once. */
bool cleaner_saturated(const struct cleaner_ctx *c);
/* Takes back finished deletions, and hands the entries whose time has come to
 * the workers (at most one per worker in flight; for at most about a second). */
void cleaner_run_due(struct cleaner_ctx *c);
/* Schedules, reschedules or unschedules e from an OMJob's JSON (NULL: gone). */
void cleaner_consider(struct cleaner_ctx *c, struct ttl_entry *e, struct json_object *omj);
/* The same from the TTL facts of a "ttl" hint (no GET_KEY). */
void cleaner_consider_hint(struct cleaner_ctx *c, struct ttl_entry *e, const struct ipc_ttl *t);
/* Keeps the gauges and status figures in step with the table. */
void cleaner_update_figures(struct cleaner_ctx *c);

#endif

/* The scheduler role's shared state, between its loop (scheduler.c), its view of
 * the watcher's cache (sync.c), its workers (pool.c) and the execution of
 * decisions (exec.c). The loop's thread owns the resync state and the IPC
 * subscriber; the work queue is the pool's (its lock); the Events to retry have
 * their own lock; a key's payload belongs to the worker making its pass; the
 * atomics are read by the control socket's STATUS handler. */
#ifndef OMJOB_ROLES_SCHEDULER_INTERNAL_H
#define OMJOB_ROLES_SCHEDULER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/common/cfg.h"
#include "roles/scheduler/decide.h"
#include "roles/scheduler/pool.h"
#include "runtime/events.h"

struct ctl;
struct json_object;
struct ctl_families;
struct kube_client;
struct ipc_sub;
struct ipc_req;
struct metrics_family;
struct sched_pool;
struct workq;
struct workq_key;

/* A CronOMJob key's state: the payload of its key in the work queue (lib/workq),
 * as long as the queue knows the key. Kept small: one per CronOMJob. */
struct sched_key {
    /* A create answered 409 by an OMJob this CronOMJob does not control: its name
     * (sc_input.name_taken) until another run's name is taken. */
    char *sk_name_taken;
    /* Our last status write replaced this resourceVersion (its hash; 0 none): a
     * view still at it is older than our write, and waits for the cache rather
     * than writing again (a 409 and a token lost). */
    uint64_t sk_base_rv;
    void *sk_follow; /* the pool's: the key's deferred continuation (pool.h) */
    int sk_fails;    /* consecutive failed passes, for backoff */
    bool sk_counted; /* counted in omjob_cron_scheduled (decide gave a next time) */
};

/* When the scheduler resyncs with the watcher (sync.c; pure, monotonic ms). Two
 * clocks, kept apart: the periodic resync (OMJOB_RESYNC_SECONDS), and a resync
 * asked for (a lost hint, a new publisher, a reconnect, IPC_EV_RESYNC), which runs
 * as soon as the floor allows: the backoff after a failed one, or a short interval
 * after the last one so that a burst of gaps costs one resync per interval. One
 * clock for both was the bug of a lost hint waiting for the periodic resync. */
struct sched_resync {
    bool sr_needed;
    int64_t sr_periodic_at; /* the next periodic resync */
    int64_t sr_retry_at;    /* the floor: no resync before it */
    int sr_failures;        /* consecutive failed ones (-EAGAIN excluded) */
};
/* Resync timing constants (ms). */
#define SCHED_RESYNC_MIN_MS 1000     /* between two resyncs asked for */
#define SCHED_RESYNC_UNSYNCED_MS 200 /* the watcher answered "not synced yet" */
#define SCHED_RESYNC_FIRST_MS 200    /* failures: backoff from ... */
#define SCHED_RESYNC_MAX_MS 30000    /* ... doubling to */

/* An Event to post on a CronOMJob. */
struct sched_ev {
    char ns[64], name[254], uid[64];
    enum ev_type type;
    const char *reason; /* static strings from decide.c or exec.c */
    char message[SC_MSG_MAX];
};
/* The runs' Events waiting for the workers' idle time (pool.h), at most. */
#define SCHED_EVQ_MAX 4096
struct sched_evq {
    struct sched_evq *q_next;
    struct sched_ev q_ev;
};

struct sched {
    struct cfg s_cfg;
    struct ctl *s_ctl;
    const struct ctl_families *s_fam;
    struct kube_client *s_kc;
    struct ev_recorder *s_ev;
    struct ipc_sub *s_sub;
    struct ipc_req *s_req;
    struct workq *s_wq;                 /* guarded by s_pool */
    struct sched_pool *s_pool;          /* the workers */
    struct metrics_family *s_created;   /* omjob_cron_runs_created_total */
    struct metrics_family *s_lateness;  /* omjob_cron_lateness_seconds */
    struct metrics_family *s_scheduled; /* omjob_cron_scheduled */
    struct metrics_family *s_skipped;   /* omjob_cron_skipped_total{reason} */
    struct sched_resync s_rs;
    bool s_synced_once;
    unsigned s_connects;                       /* ipc_sub_connects last seen */
    pthread_mutex_t s_evq_mu;                  /* s_evq* */
    struct sched_evq *s_evq_head, *s_evq_tail; /* the runs' Events, last of all */
    size_t s_nevq;
    int64_t s_ev_retry_at; /* the loop's: when ev_retry has one due (0: none) */
    /* For the STATUS reply (read on another thread). */
    _Atomic size_t s_nkeys;
    _Atomic size_t s_nscheduled;
    _Atomic unsigned long s_runs;
};

/* sync.c: the watcher's view. */
/* A resync is needed from the start: r zeroed, sr_needed set. */
void sched_resync_init(struct sched_resync *r);
/* Asks for a resync (it runs at the floor, sr_retry_at). */
void sched_resync_ask(struct sched_resync *r);
/* True when a resync is to run at now: asked for or periodic, and the floor past. */
bool sched_resync_due(const struct sched_resync *r, int64_t now);
/* Ms from now until sched_resync_due (0 when due). */
int64_t sched_resync_wait_ms(const struct sched_resync *r, int64_t now);
/* Records the outcome rc of a resync that ran at now (0, -EAGAIN, or another
 * negative errno: backoff); period_ms until the next periodic one. */
void sched_resync_done(struct sched_resync *r, int64_t now, int rc, int64_t period_ms);
/* LIST_SHARD {"kind":"CRONOMJOB"}: queues every CronOMJob key. 0, or a negative
 * errno (-EAGAIN: the watcher is not synced yet). */
int sched_resync(struct sched *s);
/* Handles the hints waiting on the subscriber (at most a batch); asks for a
 * resync (s_rs) on loss, a new publisher or a reconnect. */
void sched_drain_hints(struct sched *s);
/* GET_KEY "CRONOMJOB key": *root gets the reply (caller puts). -EAGAIN when the
 * watcher is not synced yet, or a negative errno. */
int sched_fetch(struct sched *s, const char *key, struct json_object **root);

/* exec.c: passes over keys and what they write. */
/* Queues key for a pass (its state created when new). */
void sched_mark(struct sched *s, const char *key);
/* The pool's operations (pool.h): a first pass, the rest of a deferred one, a
 * deferred one dropped, a key forgotten (locked). */
enum sp_result sched_pass(void *arg, struct workq_key *wk, void **cont);
enum sp_result sched_resume(void *arg, struct workq_key *wk, void *cont);
void sched_drop(void *arg, struct workq_key *wk, void *cont);
void sched_forget(void *arg, struct workq *q, struct workq_key *wk);
bool sched_idle(void *arg);
void **sched_slot(void *arg, struct workq_key *wk);
/* Frees the Events still queued for idle time (at stop: they are lost). */
void sched_evq_free(struct sched *s);
/* ev_retry_setup's exists: the CronOMJob o (same uid) is in the watcher's cache:
 * 1, 0, or a negative errno when the watcher cannot tell. */
int sched_ev_exists(void *ctx, const struct ev_object *o);
/* A version 4 UUID (RFC 9562) from getrandom(2) into out (37 bytes). 0 or -errno. */
int sched_uuid4(char out[37]);

#endif

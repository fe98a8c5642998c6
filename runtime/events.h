/* Kubernetes Events (core/v1) about OMJobs, with aggregation: the first occurrence of
 * (object uid, type, reason, message) is created, repeats PATCH its count and
 * lastTimestamp instead of creating duplicates. The name is deterministic
 * (<object>.<hash of the four>), so neither a retried POST nor a restarted process
 * makes a second one. One recorder per process; thread-safe.
 * Failures to record are logged and counted, never returned to the caller's logic:
 * an Event is information, not state. Contract: docs/LIFECYCLE.md ("Events"). */
#ifndef OMJOB_RUNTIME_EVENTS_H
#define OMJOB_RUNTIME_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

struct kube_client;
struct ev_recorder;
struct metrics_family;

/* The object an Event is about (strings borrowed for the call). */
struct ev_object {
    const char *api_version; /* "pipelines.openmetadata.org/v1" */
    const char *kind;        /* "OMJob" */
    const char *ns;
    const char *name;
    const char *uid;
    const char *resource_version; /* may be NULL */
};

enum ev_type {
    EV_NORMAL,
    EV_WARNING,
};

/* "Normal" or "Warning": the Event's type field. */
const char *ev_type_str(enum ev_type t);

/* component: source.component and reportingComponent ("omjob-operator");
 * instance: reportingInstance (e.g. "reconciler-2@<hostname>"). kc is borrowed
 * and must outlive the recorder. Remembers at most `cap` distinct events for
 * aggregation (least recently used forgotten first; 0 means 4096). */
int ev_recorder_new(struct kube_client *kc, const char *component, const char *instance,
                    unsigned cap, struct ev_recorder **out);
void ev_recorder_free(struct ev_recorder *r);

/* Records one occurrence, synchronously (one POST, or one PATCH of a known event;
 * a PATCH answered 404 falls back to a new POST). message is cut at 1024 bytes.
 * Returns 0 when recorded, a negative errno otherwise (already logged). */
int ev_emit(struct ev_recorder *r, const struct ev_object *obj, enum ev_type type,
            const char *reason, const char *message);
/* printf-style message. */
int ev_emitf(struct ev_recorder *r, const struct ev_object *obj, enum ev_type type,
             const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- Forgetting ----
 *
 * What the recorder remembers for aggregation (an entry per distinct Event: its
 * name and count) is only worth keeping while the Event may repeat. A forgotten
 * Event that occurs again is POSTed under its deterministic name: 409, then its
 * count is read and PATCHed (two requests more), so forgetting never loses or
 * duplicates an Event. */

/* Forgets every entry about the object ns/name (not one being written): its
 * object is gone. Returns how many. */
unsigned ev_forget(struct ev_recorder *r, const char *ns, const char *name);
/* Forgets the entries not used for idle_ms or longer by now_ms (util_mono_ms),
 * least recently used first. Returns how many. */
unsigned ev_expire(struct ev_recorder *r, int64_t now_ms, int64_t idle_ms);
/* How many entries it remembers now. */
unsigned ev_remembered(struct ev_recorder *r);

/* How long an Event is remembered without occurring again (ev_expire): client-go's
 * aggregation window. */
#define EV_AGGREGATE_WINDOW_MS (10 * 60 * 1000)
/* ev_expire of the entries quiet for EV_AGGREGATE_WINDOW_MS, at most once per
 * EV_EXPIRE_EVERY_MS (the recorder keeps the time): for a role's loop to call at
 * every turn. */
#define EV_EXPIRE_EVERY_MS 60000
void ev_expire_due(struct ev_recorder *r, int64_t now_ms);

/* Counters since creation, for tests and metrics. */
struct ev_stats {
    unsigned long created;      /* POSTs that succeeded */
    unsigned long aggregated;   /* PATCHes that succeeded */
    unsigned long failed;       /* attempts that could not record (kept ones included) */
    unsigned long waiting;      /* now in the waiting queue (ev_emit_keep) */
    unsigned long late;         /* waiting occurrences recorded at last */
    unsigned long dropped_full; /* pushed out of a full waiting queue (the oldest) */
    unsigned long dropped_gone; /* dropped: their object no longer exists */
};
void ev_stats_get(struct ev_recorder *r, struct ev_stats *out);

/* ---- Events the API server did not take ----
 *
 * An Event that could not be posted for a reason that passes (ev_retryable: no
 * connection, a timeout, 5xx, 429, and 403, which an API server gives while its
 * authorizer's caches sync after a restart) is kept in a bounded queue and tried
 * again, each with its own backoff (2 s doubling to 30 s), for as long as its
 * object exists: not for a fixed time. A full queue pushes out its oldest entry.
 * Every drop is counted (ev_stats, and the metric given to ev_retry_setup). */

/* Whether obj still exists: 1 yes, 0 no (its waiting Events are dropped), a
 * negative errno when it cannot be told (kept). Called from ev_retry only. */
typedef int (*ev_exists_fn)(void *ctx, const struct ev_object *obj);

/* Configures the waiting queue: at most cap entries (0: 512), exists (NULL: every
 * object exists), and optional metrics: dropped, a counter with one label
 * (cause: "queue_full", "object_gone"), waiting, a gauge without labels. */
void ev_retry_setup(struct ev_recorder *r, unsigned cap, ev_exists_fn exists, void *ctx,
                    struct metrics_family *dropped, struct metrics_family *waiting);

/* ev_retry_setup with the default cap and the waiting queue's metrics, the same
 * in every role that records Events (the reconcilers, the scheduler; a role
 * label apart): omjob_events_dropped_total{cause} and omjob_events_waiting,
 * registered in m. 0, or the negative errno of a registration (logged). */
struct metrics;
int ev_retry_setup_metrics(struct ev_recorder *r, struct metrics *m, ev_exists_fn exists,
                           void *ctx);

/* True when rc (from ev_emit) may pass: the occurrence is worth keeping. */
bool ev_retryable(int rc);

/* Queues an occurrence without trying it now (the caller knows the API server
 * does not answer: a post just timed out). */
void ev_keep(struct ev_recorder *r, const struct ev_object *obj, enum ev_type type,
             const char *reason, const char *message);

/* ev_emit; an occurrence that failed for a transient reason is kept (and 0 is
 * not returned: the rc of the failed attempt is). */
int ev_emit_keep(struct ev_recorder *r, const struct ev_object *obj, enum ev_type type,
                 const char *reason, const char *message);

/* Tries the waiting Events that are due at now_ms (monotonic ms), oldest first;
 * a round stops early after 3 failures without a connection (the API server is
 * down: the rest waits). Returns when the next one is due (monotonic ms), or 0
 * when none waits. A round also stops at the first timeout (each would hold the
 * caller as long). Not concurrently with itself. */
int64_t ev_retry(struct ev_recorder *r, int64_t now_ms);

/* True when an occurrence for the object uid with this reason (and a message
 * containing part, unless NULL) is waiting: not missing, only late. */
bool ev_waiting(struct ev_recorder *r, const char *uid, const char *reason, const char *part);

#endif

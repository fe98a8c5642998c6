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

struct kube_client;
struct ev_recorder;

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

/* Counters since creation, for tests and metrics. */
struct ev_stats {
    unsigned long created;    /* POSTs that succeeded */
    unsigned long aggregated; /* PATCHes that succeeded */
    unsigned long failed;     /* occurrences that could not be recorded */
};
void ev_stats_get(struct ev_recorder *r, struct ev_stats *out);

#endif

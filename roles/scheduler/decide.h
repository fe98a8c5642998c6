/* The CronOMJob controller's decision as a pure function: from a CronOMJob, the
 * OMJobs it controls (as the watcher's cache shows them) and the time, the one
 * next write to make (create a run's OMJob, delete an OMJob, write status) or
 * nothing until a given time. Level-triggered, like the reconciler's dc_decide:
 * the scheduler executes the action, waits for the cache to show it and asks
 * again. The contract it implements: docs/LIFECYCLE.md, "CronOMJob: schedule and
 * time zone" and "CronOMJob: runs, status and history". No I/O but reading a zone
 * file once per zone (lib/cron/tz.h). */
#ifndef OMJOB_ROLES_SCHEDULER_DECIDE_H
#define OMJOB_ROLES_SCHEDULER_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* One OMJob whose controller ownerReference names this CronOMJob (GET_KEY
 * "CRONOMJOB ns/name" reply, "omjobs"). Strings are borrowed for the call. */
struct sc_child {
    const char *name;
    const char *uid;
    const char *owner_uid; /* its controller ownerReference's uid ("" unknown) */
    const char *phase;     /* status.phase, NULL before the first status */
    int64_t created_ms;    /* metadata.creationTimestamp, unix ms; 0 unknown */
    int64_t completed_ms;  /* status.completionTime, unix ms; 0 not finished */
    int64_t scheduled_ms;  /* annotation pipelines.openmetadata.org/scheduled-at; 0 none */
    bool deleting;         /* metadata.deletionTimestamp is set */
};

/* What the decision reads. */
struct sc_input {
    struct json_object *cron;        /* the CronOMJob as cached (borrowed, not changed) */
    const struct sc_child *children; /* the OMJobs it controls, any order */
    size_t nchildren;
    int64_t now_ms;     /* wall clock, unix ms */
    const char *run_id; /* a fresh UUID the pass may give a new run */
    /* Facts the scheduler learnt from the API server, not in the cache: */
    const char *name_taken; /* a create got 409 AlreadyExists and the OMJob of
                               that name is not controlled by this CronOMJob
                               (checked with a GET): that run is skipped */
};

enum sc_kind {
    SC_NONE,   /* nothing to write: wake at requeue_at_ms (0: only on a change) */
    SC_CREATE, /* POST body (an OMJob) to the CronOMJob's namespace */
    SC_DELETE, /* DELETE the OMJob name, precondition uid, propagation Background */
    SC_STATUS, /* merge-PATCH body onto the CronOMJob's status subresource */
};
const char *sc_kind_str(enum sc_kind k);

enum sc_ev_type { SC_EV_NORMAL, SC_EV_WARNING };

#define SC_MAX_EVENTS 4
#define SC_NAME_MAX 254
#define SC_MSG_MAX 512

struct sc_event {
    enum sc_ev_type type;
    const char *reason; /* static string: SuccessfulCreate, MissSchedule, ... */
    char message[SC_MSG_MAX];
};

struct sc_action {
    enum sc_kind kind;
    struct json_object *body; /* SC_CREATE: the OMJob; SC_STATUS: {"status":{...}};
                                 owned by the action (sc_action_free) */
    char name[SC_NAME_MAX];   /* SC_CREATE, SC_DELETE: the OMJob's name */
    char uid[64];             /* SC_DELETE: its uid (the precondition) */
    int64_t scheduled_ms;     /* SC_CREATE: the scheduled time it runs (lateness metric) */
    int64_t requeue_at_ms;    /* SC_NONE: wall-clock time to decide again; 0 none.
                                 A write: the next scheduled time after now (0 none),
                                 for a write the scheduler defers (creates first) */
    struct sc_event ev[SC_MAX_EVENTS];
    int nev;
    char why[256]; /* one line for the DEBUG log */
};

/* Decides. 0 with *out filled (free with sc_action_free), or -ENOMEM. Never
 * fails on bad input: a bad schedule, zone or template is a Warning and a status
 * condition in *out. */
int sc_decide(const struct sc_input *in, struct sc_action *out);
void sc_action_free(struct sc_action *a);

/* The name of the run scheduled at unix second t: "<cron name, shortened with a
 * hash>-<t>", at most 63 characters, deterministic. 0 or -EINVAL. */
int sc_run_name(const char *cron_name, int64_t t, char *out, size_t outsz);

#endif

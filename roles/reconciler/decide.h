/* The OMJob state machine as a pure function: from the OMJob and its pods as the
 * watcher's cache shows them (plus the few facts the loop learnt from the API
 * server), the one next write to make. Level-triggered: it never trusts memory of
 * earlier steps; the loop executes the action, updates its view from the reply and
 * asks again. The contract it implements: docs/LIFECYCLE.md. No I/O. */
#ifndef OMJOB_ROLES_RECONCILER_DECIDE_H
#define OMJOB_ROLES_RECONCILER_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "roles/reconciler/podspec.h"
#include "runtime/events.h"

#define FINALIZER_OMJOB "omjob.pipelines.openmetadata.org/finalizer"
#define ANNOTATION_SKIP_EXIT_HANDLER "omjob.pipelines.openmetadata.org/skip-exit-handler"

/* Operator defaults (from struct cfg). */
struct dc_cfg {
    int start_timeout_s;   /* OMJOB_START_TIMEOUT_SECONDS, unless spec.startTimeoutSeconds */
    int cancel_deadline_s; /* OMJOB_CANCEL_DEADLINE_SECONDS */
    int exit_max_attempts; /* OMJOB_EXIT_HANDLER_MAX_ATTEMPTS */
    int node_lost_s;       /* OMJOB_NODE_LOST_TIMEOUT_SECONDS: Running but not Ready this long */
};

/* What the loop knows beyond the cache, for one key. */
struct dc_input {
    struct json_object *omjob; /* the OMJob (GET_KEY "omjob"), or NULL */
    struct json_object *pods;  /* array of compact pods (GET_KEY "pods"), or NULL */
    int64_t now_ms;            /* wall clock, unix ms */
    const struct dc_cfg *cfg;
    /* The last rejection of the main pod's creation by the API server (its
     * message), or NULL: with the start deadline passed it becomes CreateFailed. */
    const char *create_error;
    /* The API server rejected the last creation of an exit pod: the outcome is
     * then recorded first (the exit pod follows when it can be created). */
    bool exit_create_rejected;
    /* The API server refuses new pods because the namespace is being deleted:
     * the exit handler can never run (finish instead of waiting for the cancel
     * deadline, which would hold the namespace for 15 minutes). */
    bool ns_terminating;
    /* A pod name whose creation the API server kept answering AlreadyExists
     * while the cache shows no such pod (a pod the watcher does not see: no
     * OMJob label), or NULL: a PodNameConflict wait. */
    const char *name_taken;
    /* Pods the loop checked with a GET and found gone (404), by name. */
    const char *const *gone;
    int ngone;
};

enum dc_kind {
    DC_NONE,          /* nothing to write; look again at requeue_at_ms (0: on change) */
    DC_ADD_FINALIZER, /* merge-patch the OMJob with patch (our finalizer added) */
    DC_CREATE_MAIN,   /* create pod_obj (the main pod) */
    DC_STATUS,        /* merge-patch the OMJob's status subresource with patch */
    DC_CREATE_EXIT,   /* create pod_obj (an exit pod) */
    DC_DELETE_POD,    /* delete pod `pod` (uid precondition pod_uid) */
    DC_RELEASE_POD,   /* merge-patch pod `pod` with patch (our finalizer removed) */
    DC_RELEASE_OMJOB, /* merge-patch the OMJob with patch (our finalizer removed) */
    DC_VERIFY_GONE,   /* GET pod `pod`: the cache does not show it but status says it exists */
    DC_ADOPT_POD,     /* merge-patch pod `pod` with patch (our finalizer and labels added) */
};

const char *dc_kind_str(enum dc_kind k);

struct dc_event {
    enum ev_type type;
    const char *reason;
    char message[640];
};

#define DC_MAX_EVENTS 3

struct dc_action {
    enum dc_kind kind;
    char pod[PODSPEC_NAME_BUF + 8]; /* pod actions */
    char pod_uid[64];
    const char *pod_type;              /* POD_TYPE_MAIN or POD_TYPE_EXIT_HANDLER for creations */
    struct json_object *patch;         /* the merge patch (owned) */
    struct json_object *pod_obj;       /* the pod to create (owned) */
    struct dc_event ev[DC_MAX_EVENTS]; /* to emit once the action succeeded */
    int nev;
    const char *from_phase;   /* DC_STATUS: the phase before ("" when none) */
    const char *to_phase;     /* DC_STATUS: the phase after */
    int64_t requeue_at_ms;    /* DC_NONE: when to look again (unix ms, 0: only on change) */
    char why[160];            /* one line for the log */
    struct json_object *hold; /* the OMJob as decided on, when restored (owned) */
    /* dc_decide returned -EAGAIN: the pod to create needs a template the watcher's
     * cache left out (wc_template_omitted); decide again on the OMJob as the API
     * server has it. */
    bool need_template;
};

/* The OMJob's start timeout in ms: spec.startTimeoutSeconds, else the operator's. */
int64_t dc_start_timeout_ms(struct json_object *omjob, const struct dc_cfg *cfg);
/* When a main pod still not created becomes CreateFailed (unix ms): the OMJob's
 * creation plus its start timeout; 0 when the creation time is unknown. */
int64_t dc_create_deadline_ms(struct json_object *omjob, const struct dc_cfg *cfg);

/* Fills *out with the next action. 0, -ENOMEM, or -EAGAIN with out->need_template
 * (the pod to create needs a template the cache left out). out is overwritten;
 * release it with dc_action_clear. */
int dc_decide(const struct dc_input *in, struct dc_action *out);
void dc_action_clear(struct dc_action *a);

/* ---- pure pieces, exposed for tests ---- */

/* How a pod ended, from its compact form. */
struct dc_outcome {
    bool ended;
    bool disrupted; /* ended by deletion, eviction, node loss (not on its own) */
    bool code_known;
    int code;
    char reason[64];
    char message[400];
};
/* Classifies a compact pod (see docs/LIFECYCLE.md, "Main pod outcome"). */
void dc_classify(struct json_object *pod, struct dc_outcome *out);

#endif

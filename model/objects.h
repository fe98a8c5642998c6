/* The compact forms of the cached objects: an OMJob or CronOMJob (identity,
 * finalizers and the object as one compact JSON string) and a pod (only the
 * fields the reconciler reads, as C fields). Each is one heap block holding the
 * struct and its strings; parsed from a json-c object, freed with free(). Also
 * the compact pod JSON of the GET_KEY reply (docs/PROTOCOL.md). */
#ifndef OMJOB_MODEL_OBJECTS_H
#define OMJOB_MODEL_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/json.h" /* struct jx_keep */

struct json_object;
struct sbuf;
struct ipc_ttl;

/* Intrusive hash-table link (cache.c); key is borrowed from the entry. */
struct wc_hnode {
    struct wc_hnode *hn_next;
    const char *hn_key;
    uint64_t hn_hash;
};

/* The pod templates of an OMJob the watcher's cache may leave out of its compact
 * JSON (struct wc_obj o_omitted, a mask): spec.mainPodSpec, spec.exitHandlerSpec.
 * A left-out template is replaced by the object {WC_OMITTED_FIELD:true}, so that
 * its presence still shows; a reader that needs it GETs the OMJob
 * (docs/ARCHITECTURE.md, "What the cache keeps of an OMJob"). */
enum { WC_OMIT_MAIN = 1, WC_OMIT_EXIT = 2, WC_OMIT_ALL = 3 };
#define WC_OMITTED_FIELD "omjobOmittedByCache"

/* An object's spec as the API server sent it (the text of a watch event's
 * "spec", kube_event.cut): its length and a 64-bit hash, to know it again in the
 * next event without parsing it. */
enum { WC_SPEC_UNKNOWN = 0, WC_SPEC_ABSENT = 1, WC_SPEC_TEXT = 2 };
struct wc_spec_id {
    uint64_t si_hash;
    uint32_t si_len;
    uint8_t si_state; /* WC_SPEC_*: unknown (read from a LIST or a tree), no spec, text */
};
/* The id of the spec text[0, len); text NULL: the object has no spec. */
void wc_spec_id_of(const char *text, size_t len, struct wc_spec_id *id);
/* Both known and the same. */
bool wc_spec_id_same(const struct wc_spec_id *a, const struct wc_spec_id *b);

/* An OMJob or CronOMJob. Strings point into the same block; NULL when absent. */
struct wc_obj {
    struct wc_hnode o_node; /* CronOMJob map (cache.c); unused for OMJobs */
    const char *o_key;      /* "ns/name" */
    const char *o_ns;       /* name is o_key + strlen(o_ns) + 1 */
    const char *o_uid;
    const char *o_rv;         /* metadata.resourceVersion */
    const char *o_finalizers; /* o_nfinalizers NUL-separated names */
    const char *o_owner_cron; /* name of the controlling CronOMJob, if any */
    /* For the CronOMJob GET_KEY reply (docs/PROTOCOL.md), set only on an OMJob
     * that o_owner_cron names: */
    const char *o_owner_cron_uid; /* that ownerReference's uid */
    const char *o_phase;          /* status.phase */
    /* The compact object (managedFields and last-applied dropped), dictionary-coded
     * when o_coded (objects.c): read it with wc_obj_put_json. Its spec is its last
     * member: o_json + o_spec_off is ",\"spec\":{...}}" (or "}" without a spec),
     * the part wc_obj_graft carries to the object's next version. */
    const char *o_json;
    size_t o_json_len;        /* bytes at o_json (coded) */
    size_t o_spec_off;        /* where the spec part begins (coded) */
    size_t o_spec_full;       /* the spec part's length with every template in it */
    struct wc_spec_id o_spec; /* the spec it was built from, when known */
    int64_t o_generation;
    int64_t o_deletion_ts; /* metadata.deletionTimestamp, unix seconds; 0: none */
    int64_t o_created;     /* metadata.creationTimestamp, unix seconds; 0: unknown */
    int64_t o_completed;   /* status.completionTime, unix seconds; 0: none (every OMJob) */
    int64_t o_scheduled;   /* annotation ANNOTATION_SCHEDULED_AT, unix seconds; 0: none */
    size_t o_full_len;     /* length of the compact JSON with every template in it */
    /* What the cleaner schedules on (the watcher's "ttl" hints carry it): */
    int64_t o_ttl_s;         /* spec.ttlSecondsAfterFinished, with WC_TTL_SET */
    int64_t o_completion_ms; /* status.completionTime, unix ms, with WC_TTL_FINISHED */
    uint32_t o_nfinalizers;
    uint32_t o_stamp;    /* LIST stamp (cache.c) */
    uint8_t o_omitted;   /* WC_OMIT_* left out of o_json */
    uint8_t o_templates; /* WC_OMIT_* of the templates it has (objects, left out or not) */
    uint8_t o_terminal;  /* status.phase Succeeded or Failed with status.completionTime */
    uint8_t o_coded;     /* o_json is dictionary-coded */
    uint8_t o_ttl;       /* WC_TTL_* */
};

/* wc_obj.o_ttl: spec.ttlSecondsAfterFinished an integer (o_ttl_s), or there but not
 * one; finished (phase Succeeded or Failed, and a completionTime that parses:
 * o_completion_ms). Read exactly as the cleaner's ttl_eval reads an OMJob. */
enum { WC_TTL_SET = 1, WC_TTL_BAD = 2, WC_TTL_FINISHED = 4 };

/* The TTL facts of a "ttl" hint (lib/ipc/msg.h) from the cached OMJob o, NULL when
 * it is gone. 0, or -E2BIG when its uid or resourceVersion cannot be carried (too
 * long, or not printable ASCII without spaces). */
int wc_obj_ttl(const struct wc_obj *o, struct ipc_ttl *t);

/* Appends the object's compact JSON (o_json decoded): what GET_KEY answers. */
void wc_obj_put_json(struct sbuf *sb, const struct wc_obj *o);

/* What the cache knows of the pod's phase when its deletion was first seen:
 * unknown (not deleted, or first seen already deleted), while it ran or waited,
 * or after it had ended (Succeeded/Failed: the pod garbage collector, say). */
enum { WC_DEL_UNKNOWN = 0, WC_DEL_WHILE_ACTIVE = 1, WC_DEL_AFTER_END = 2 };

/* The pod container's state (the container named like spec.containers[0]). */
enum wc_ctr_state { WC_CTR_NONE, WC_CTR_WAITING, WC_CTR_RUNNING, WC_CTR_TERMINATED };
const char *wc_ctr_state_str(enum wc_ctr_state s); /* "none", "waiting", ... */

/* A pod condition; status NULL when the pod does not have it. */
struct wc_cond {
    const char *c_status, *c_reason, *c_message, *c_since; /* c_since: lastTransitionTime */
};

struct wc_key;

struct wc_pod {
    struct wc_hnode p_node; /* pod map, keyed by p_id */
    struct wc_pod *p_knext; /* next pod of the same OMJob key (cache.c) */
    struct wc_key *p_okey;  /* the key entry it is filed under (cache.c) */
    const char *p_id;       /* "ns/podname" */
    const char *p_ns;       /* pod name is p_id + strlen(p_ns) + 1 */
    const char *p_key;      /* "ns/<OMJob name>": where the pod is filed */
    const char *p_uid, *p_rv;
    const char *p_owner_uid, *p_owner_name;       /* controller ownerReference of kind OMJob */
    const char *p_label_name, *p_pod_type;        /* LABEL_OMJOB_NAME, LABEL_POD_TYPE */
    const char *p_main_reason, *p_main_exit_code; /* exit pods: ANNOTATION_MAIN_* */
    const char *p_phase, *p_reason, *p_message;   /* status.phase, .reason, .message */
    const char *p_node_name;
    const char *p_finalizers;                    /* p_nfinalizers NUL-separated names */
    int64_t p_created, p_started, p_deletion_ts; /* unix seconds; 0: absent */
    int64_t p_grace;                             /* deletionGracePeriodSeconds; -1: absent */
    struct {
        enum wc_ctr_state cs_state;
        const char *cs_reason, *cs_message;
        int32_t cs_exit_code; /* terminated only */
        int64_t cs_started_at, cs_finished_at;
    } p_ctr;
    struct wc_cond p_disruption; /* DisruptionTarget */
    struct wc_cond p_scheduled;  /* PodScheduled */
    struct wc_cond p_ready;      /* Ready (False on a node that stopped answering) */
    uint32_t p_nfinalizers;
    uint32_t p_stamp;
    /* When the cache first saw deletionTimestamp set (cache.c): WC_DEL_* */
    uint8_t p_deleted_when;
};

/* Parses an OMJob or CronOMJob. A malformed creationTimestamp, completionTime or
 * scheduled-at annotation leaves its field 0 (it is information, not identity). Deletes
 * metadata.managedFields and the last-applied annotation from obj in place (see wcache_upsert).
 * *out is one block the caller free()s. 0, -EINVAL (missing namespace, name, uid or
 * resourceVersion, a malformed key or deletionTimestamp), -ENOMEM. */
int wc_obj_parse(struct json_object *obj, struct wc_obj **out);

/* wc_obj_parse leaving the templates of omit (WC_OMIT_*) out of o_json, and every
 * template when the whole compact JSON would be longer than keep_max (0: no such
 * limit). A template absent or not an object is never marked omitted. obj is
 * unchanged apart from what wc_obj_parse strips. */
int wc_obj_parse_omit(struct json_object *obj, unsigned omit, size_t keep_max, struct wc_obj **out);

/* The next version of old, an object of the same uid and spec (the caller
 * compared metadata.generation and wc_spec_id), from obj: that version without
 * its spec (cut from the watch event unparsed). The spec part of old's o_json,
 * and what old read of its spec (o_spec, o_templates, o_omitted, o_spec_full, the
 * TTL), are carried over; the rest is read from obj as wc_obj_parse reads it.
 * 0 with *out a new block; -EAGAIN when it must be built from the whole object
 * instead (its compact JSON cannot be coded like old's, or it grew over keep_max
 * with templates still in it); -EINVAL (a bad identity, or obj has a spec),
 * -ENOMEM. */
int wc_obj_graft(struct json_object *obj, const struct wc_obj *old, size_t keep_max,
                 struct wc_obj **out);

/* The block of o again with the templates of omit left out as well; the fields
 * the cache keeps (o_stamp, o_full_len, o_spec_full, o_spec) are carried over.
 * Only the head of o_json (metadata, status) is parsed: the templates are found
 * in the spec's compact text and replaced there (a template holding the
 * stand-in's field name itself is done by wc_obj_omit_parsed).
 * 0 with *out a new block (o is not freed), -ENOMEM, -EINVAL. */
int wc_obj_omit(const struct wc_obj *o, unsigned omit, struct wc_obj **out);
/* The same by parsing the whole o_json and building the block again (its
 * fallback; the tests and bench_watcher compare the two). */
int wc_obj_omit_parsed(const struct wc_obj *o, unsigned omit, struct wc_obj **out);

/* Whether the OMJob's template of kind exit (false: spec.mainPodSpec, true:
 * spec.exitHandlerSpec) is the cache's stand-in rather than the template. */
bool wc_template_omitted(struct json_object *omjob, bool exit);

/* The members of a pod wc_pod_parse reads (and a Status's, for a watch's ERROR
 * event): the watcher builds only these of each pod it lists or watches
 * (jx_parser_parse_keep); the spec's templates, env and volumes and managedFields
 * are cut from the text unparsed. A field wc_pod_parse reads must be named here. */
extern const struct jx_keep wc_pod_keep[];

/* Parses a pod. 0, -EINVAL (bad identity), -ENOENT (names no OMJob), -ENOMEM. */
int wc_pod_parse(struct json_object *obj, struct wc_pod **out);

/* Appends the pod's compact JSON (docs/PROTOCOL.md, "Compact pod"). */
void wc_pod_render(struct sbuf *sb, const struct wc_pod *p);

/* Appends the entry of an OMJob in the CronOMJob GET_KEY reply's "omjobs":
 * {"key","resourceVersion","name","uid","ownerUid","phase","creationTimestamp",
 *  "completionTime","scheduledAt","deleting"}, null when unknown. */
void wc_obj_render_child(struct sbuf *sb, const struct wc_obj *o);

/* Identity of a (possibly bad) object for logs: "ns/name" or what exists of it,
 * with "?" for missing parts. */
void wc_identity(struct json_object *obj, char *buf, size_t bufsz);

/* A new ownerReferences array holding one controller reference (apiVersion
 * OMJOB_GROUP_VERSION, kind, name, uid, controller and blockOwnerDeletion true):
 * how the operator's pods point at their OMJob and a run's OMJob at its
 * CronOMJob. NULL on ENOMEM. */
struct json_object *wc_controller_refs(const char *kind, const char *name, const char *uid);

/* Why a create was refused over blockOwnerDeletion (wc_block_owner_refused). The
 * OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift and in
 * the test cluster) allows it only to who may update the owner's finalizers,
 * which OpenMetadata's chart does not grant: WC_BLOCK_DENIED, for the life of
 * the process. It also refuses it while the API server cannot map the owner's
 * kind to a resource (its discovery lags a CRD just installed or re-created):
 * WC_BLOCK_UNMAPPED, a passing state. */
enum wc_block { WC_BLOCK_OK = 0, WC_BLOCK_DENIED, WC_BLOCK_UNMAPPED };
/* The wc_block of a create's HTTP status and message: WC_BLOCK_OK for any other
 * answer. */
enum wc_block wc_block_owner_refused(int http, const char *message);
/* Removes blockOwnerDeletion from every metadata.ownerReferences entry of obj
 * (the create is then admitted; a foreground deletion of the owner no longer
 * waits for this object). Returns how many were removed. */
int wc_drop_block_owner(struct json_object *obj);

#endif

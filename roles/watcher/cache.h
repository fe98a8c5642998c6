/* The watcher's cache: OMJobs, CronOMJobs and operator-owned pods as compact C
 * structs (one allocation per object; OMJobs and CronOMJobs keep the object as one
 * compact JSON string without managedFields, the last-applied annotation and the
 * pod templates no longer needed (wcache_set_template_max)), the
 * pods indexed under their OMJob's key, change hints for every change, and the
 * JSON bodies of the truth queries (docs/PROTOCOL.md, "Watcher bodies").
 *
 * Thread-safe: one rwlock; updates come from the list+watch threads, renders from
 * the truth server's workers. The hint callback runs under the write lock, in
 * change order, and must not call back into the cache. */
#ifndef OMJOB_ROLES_WATCHER_CACHE_H
#define OMJOB_ROLES_WATCHER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ipc/msg.h"

struct json_object;
struct wc_obj;

/* The three resources, also the index of per-resource arrays. */
enum wc_kind { WC_OMJOB, WC_CRONOMJOB, WC_POD, WC_NKINDS };

/* "omjobs", "cronomjobs", "pods" (the resource names, used as metric labels). */
const char *wc_kind_str(enum wc_kind k);
/* The hint kind of a resource. */
enum ipc_kind wc_kind_hint(enum wc_kind k);

/* A change: kind of the object that changed, the key it is filed under
 * ("ns/name" of the OMJob for pods) split into ns and name, and the cache
 * revision after the change (the hint's seq). All borrowed for the call. A change
 * of an OMJob whose controller is a CronOMJob (before or after the change) comes
 * a second time, as kind IPC_KIND_CRONOMJOB with the CronOMJob's key. flags:
 * WC_HINT_*. omjob: for a change of kind IPC_KIND_OMJOB, the OMJob after it
 * (NULL: gone; borrowed for the call); NULL for every other change. */
typedef void (*wc_hint_fn)(void *ctx, enum ipc_kind kind, const char *key, const char *ns,
                           const char *name, uint64_t rev, unsigned flags,
                           const struct wc_obj *omjob);

/* WC_HINT_FINISHED: an OMJob change where the OMJob had or has a
 * status.completionTime (the only ones the cleaner needs).
 * WC_HINT_URGENT: a change someone acts on at once (docs/PROTOCOL.md, "Held
 * hints"): an object new or gone, its deletion begun or its spec changed
 * (metadata.generation); a pod that ended (phase Succeeded or Failed), whose
 * deletion began, that is new already so, or that moved to another key. Every
 * other change (echoes of the operator's own writes: status, finalizers; a pod
 * created, scheduled, started) may wait a little for company. The CronOMJob hint
 * of an OMJob change has the OMJob change's flags. */
enum { WC_HINT_FINISHED = 1, WC_HINT_URGENT = 2 };

struct wcache;

/* NULL on ENOMEM. Free with wcache_free. */
struct wcache *wcache_new(void);
void wcache_free(struct wcache *c);
/* Set before any update. fn NULL: no hints. */
void wcache_set_hint(struct wcache *c, wc_hint_fn fn, void *ctx);

/* Whether every initial LIST is in (reported in the query replies). */
void wcache_set_synced(struct wcache *c, bool synced);
bool wcache_synced(struct wcache *c);

/* Applies obj (an ADDED or MODIFIED watch event's object, or a LIST item) of
 * kind k. stamp marks it as seen by the current LIST (wcache_sweep). An object
 * whose resourceVersion is already cached only gets the stamp: no hint.
 * obj is borrowed; metadata.managedFields and the last-applied annotation are
 * deleted from it in place (the caller drops it after the call; this saves a
 * deep copy). 0 (applied, or unchanged), -EINVAL for a bad object (missing or
 * malformed identity), -ENOENT for a pod that names no OMJob (no controller
 * ownerReference of kind OMJob and no name label), -ENOMEM. Bad objects are
 * logged with whatever identity they have and change nothing. */
int wcache_upsert(struct wcache *c, enum wc_kind k, struct json_object *obj, uint32_t stamp);
/* wcache_upsert of an OMJob or CronOMJob whose spec was cut from its watch event
 * unparsed (kube_evparser_cut): spec its text (NULL: it has none). When the
 * cached version has the same uid, metadata.generation and spec text
 * (wc_spec_id), the new version keeps its compact spec (wc_obj_graft: nothing of
 * the spec is parsed or written again) and *kept is true; otherwise the text is
 * parsed (with jp, NULL: a parser of its own) and put back, and it is
 * wcache_upsert. Returns as wcache_upsert; -EBADMSG (logged) when the spec text
 * is not JSON; -EINVAL for a pod. */
struct jx_parser;
int wcache_upsert_cut(struct wcache *c, enum wc_kind k, struct json_object *obj, const char *spec,
                      size_t spec_len, struct jx_parser *jp, uint32_t stamp, bool *kept);
/* OMJobs and CronOMJobs whose compact JSON is longer than bytes are refused by
 * wcache_upsert with -E2BIG (and logged; an older cached version stays until the
 * next LIST sweeps it). 0: no limit (the default). */
void wcache_set_max_json(struct wcache *c, size_t bytes);

/* What the cache keeps of an OMJob (docs/ARCHITECTURE.md, "What the cache keeps
 * of an OMJob"): its pod templates (spec.mainPodSpec, spec.exitHandlerSpec, the
 * bulk: the inline workflow config) are replaced by {WC_OMITTED_FIELD:true} once
 * they are no longer needed: the main pod's once a main pod of the OMJob (its
 * uid in the pod's controller ownerReference) is cached, the exit pod's once an
 * exit pod is, both once the OMJob is finished (phase Succeeded or Failed with a
 * completionTime), and both always for an OMJob whose compact JSON is longer than
 * bytes (WCACHE_TEMPLATE_MAX_DEFAULT; 0: no such limit). A reconciler that needs
 * a left-out template GETs the OMJob. The limit of wcache_set_max_json applies to
 * the whole object, templates included. */
#define WCACHE_TEMPLATE_MAX_DEFAULT (64 * 1024)
void wcache_set_template_max(struct wcache *c, size_t bytes);
/* How many cached OMJobs were compacted again because a pod appeared. */
uint64_t wcache_omit_count(struct wcache *c);

/* Removes the object identified by obj's metadata (a DELETED event's object).
 * 1 removed (hint sent), 0 not cached, -EINVAL for a bad object. */
int wcache_delete(struct wcache *c, enum wc_kind k, struct json_object *obj);

/* After a complete LIST of kind k in namespace ns (NULL: all namespaces) whose
 * items were applied with stamp: removes every cached object of that scope with
 * another stamp (it vanished while the watch was not looking) and sends a hint
 * for each. Returns the number removed. */
size_t wcache_sweep(struct wcache *c, enum wc_kind k, const char *ns, uint32_t stamp);

/* Objects of kind k in the cache. */
size_t wcache_count(struct wcache *c, enum wc_kind k);
/* The cache revision: incremented by every change. */
uint64_t wcache_revision(struct wcache *c);

/* GET_KEY: the JSON reply body for the OMJob key "ns/name" (len bytes):
 *   {"key":..,"synced":b,"cacheRevision":n,"omjob":<object>|null,"pods":[<pod>...]}
 * or with cron true for a CronOMJob:
 *   {"key":..,"synced":b,"cacheRevision":n,"cronomjob":<object>|null,
 *    "omjobs":[wc_obj_render_child...]}   (the OMJobs it controls, by key)
 * *out is malloc'd for the caller. 0, -EINVAL (not a key), -ENOMEM. */
int wcache_render_key(struct wcache *c, const char *key, size_t len, bool cron, char **out,
                      size_t *outlen);

/* LIST_SHARD: which keys. shards 0 means every key. */
struct wc_listq {
    enum wc_kind lq_kind; /* WC_OMJOB (OMJob keys, pod-only keys included) or WC_CRONOMJOB */
    int lq_shard;
    int lq_shards;
};
/* {"keys":[{"key":..,"resourceVersion":..|null,"pods":n}...],"synced":b,
 *  "cacheRevision":n}; "pods" only for OMJob keys, resourceVersion null for a key
 * that has pods but no OMJob. Keys sorted. 0, -EINVAL, -ENOMEM. */
int wcache_render_list(struct wcache *c, const struct wc_listq *q, char **out, size_t *outlen);

#endif

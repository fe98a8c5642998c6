/* The API server client: one handle per process (safe to share between threads),
 * holding the configuration, a pool of reusable connections, the client-side rate
 * limiter and the credentials; and the requests: get, list (paged), create,
 * update, patch, server-side apply, delete, and a generic request for
 * subresources. Every request retries according to retry.h and fills a kube_err.
 *
 * Return values: 0 on a 2xx answer, else the negative errno of kube_err_errno()
 * (-ENOENT for 404, -EEXIST for 409 AlreadyExists, -ESTALE for 409 Conflict and
 * 410, ...). err may be NULL. out (when not NULL) receives the decoded response
 * body on success only, as a new json-c reference the caller json_object_put()s
 * (NULL when the body was empty). */
#ifndef OMJOB_LIB_KUBE_CLIENT_H
#define OMJOB_LIB_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/kube/err.h"
#include "lib/kube/kubeconfig.h"
#include "lib/kube/path.h"
#include "lib/kube/retry.h"

struct json_object;
struct jx_keep;
struct kube_client;

/* Zero fields mean the default. */
struct kube_client_opts {
    double qps;              /* token bucket refill; default 50; < 0 disables */
    int burst;               /* default 100 */
    int max_attempts;        /* per request, first included; default 5 */
    long connect_timeout_ms; /* default 10000 */
    long request_timeout_ms; /* one attempt of a request, not watches; default 60000 */
    /* The whole request, its retries and their backoff included: no attempt or
     * backoff runs past it (an attempt's timeout is shortened to what is left).
     * 0: only max_attempts bounds it. A single-threaded loop sets it so that one
     * slow request never holds its other work up for longer than this. */
    long total_timeout_ms;
    const char *user_agent;    /* default "omjob-operator/<version>" */
    const char *field_manager; /* fieldManager of writes when set (copied) */
    /* Objects this client decodes (responses, LIST items, watch events) come
     * without metadata.managedFields: cut from the text before json-c parses it
     * (jx_find_member), so it costs neither parsing nor memory. Off by default. */
    bool drop_managed_fields;
    /* Connections kept open between requests (idle libcurl handles); default 8,
     * at most 256. A request that finds none idle opens one (a TLS handshake),
     * and one returned to a full pool is closed: set it to the number of threads
     * that share the client, so that each keeps its connection. */
    int max_idle;
};

/* Takes ownership of cfg on success (freed by kube_client_free); on failure cfg
 * is still the caller's. opts may be NULL. 0, -ENOMEM or -EIO (libcurl init). */
/* Initialises libcurl and the process-wide state of its TLS library now: curl's
 * global init, and OpenSSL's random generator with the algorithm tables it
 * fetches (~250 KiB of small blocks, otherwise built by every process at its
 * first connection). Meant for a process that forks its workers afterwards: they
 * share these pages copy-on-write instead of each building its own (OpenSSL
 * reseeds its generator in a child by itself). Starts no thread and touches no
 * network. 0, or -EIO when curl's global init failed. */
int kube_global_init(void);

int kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                    struct kube_client **out);
/* No request may be running. NULL is a no-op. */
void kube_client_free(struct kube_client *c);

/* The configuration in use (borrowed). */
const struct kube_config *kube_client_config(const struct kube_client *c);

/* Called after every HTTP attempt, from the thread that made it: method is
 * "GET", "POST", "PUT", "PATCH" or "DELETE" (LIST and WATCH are GETs, as in
 * client-go's rest_client_requests_total{code,method}); code the HTTP status, or 0
 * when no response came (client-go's "<error>"); seconds the attempt's latency
 * (for a watch, the time to its response headers). Set before sharing the
 * client between threads. fn NULL disables. */
typedef void (*kube_observer_fn)(void *ctx, const char *method, int code, double seconds);
void kube_client_set_observer(struct kube_client *c, kube_observer_fn fn, void *ctx);

/* Called from the thread making a request, before each attempt and each backoff
 * sleep, with the monotonic time (util_mono_ms) by which that bounded wait ends,
 * and with 0 once the request returns: a caller's watchdog can so tell "waiting on
 * the API server within a bounded request" from "wedged". Set before sharing the
 * client between threads. fn NULL disables. */
typedef void (*kube_wait_fn)(void *ctx, int64_t until_mono_ms);
void kube_client_set_wait_hook(struct kube_client *c, kube_wait_fn fn, void *ctx);

/* GET one object. */
int kube_get(struct kube_client *c, const struct kube_ref *r, struct json_object **out,
             struct kube_err *err);

/* POST obj to the collection r (r->name is ignored). Retried only when the server
 * cannot have acted (see retry.h); 409 AlreadyExists after a retry (err->attempts
 * > 1) may be our own first attempt. */
int kube_create(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                struct json_object **out, struct kube_err *err);

/* A 2xx answer as its text, for a caller that builds only part of it (a jx_keep
 * projection, a member left out): body NUL-terminated (NULL when the answer was
 * empty), the caller frees it. */
struct kube_text {
    char *body;
    size_t len;
};

/* kube_create with the created object as text. */
int kube_create_text(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                     struct kube_text *text, struct kube_err *err);

/* PUT obj to r (r->sub "status" for the status subresource). Put
 * metadata.resourceVersion in obj to get 409 Conflict instead of overwriting a
 * newer object. */
int kube_update(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                struct json_object **out, struct kube_err *err);

enum kube_patch_type {
    KUBE_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386); retried */
    KUBE_PATCH_JSON,      /* application/json-patch+json (RFC 6902); not retried */
    KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json (built-in kinds) */
};

const char *kube_patch_type_str(enum kube_patch_type t);

int kube_patch(struct kube_client *c, const struct kube_ref *r, enum kube_patch_type type,
               struct json_object *patch, struct json_object **out, struct kube_err *err);
/* kube_patch with the patched object as text. */
int kube_patch_text(struct kube_client *c, const struct kube_ref *r, enum kube_patch_type type,
                    struct json_object *patch, struct kube_text *text, struct kube_err *err);

/* Server-side apply (PATCH application/apply-patch+yaml with a JSON body, which is
 * valid YAML). field_manager NULL uses the client's; one of them is required
 * (-EINVAL). force takes over fields owned by other managers. */
int kube_apply(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
               const char *field_manager, bool force, struct json_object **out,
               struct kube_err *err);

/* DeleteOptions; NULL or zeroed fields are left out (grace_seconds < 0). */
struct kube_delete_opts {
    const char *uid;              /* precondition: delete only this incarnation */
    const char *resource_version; /* precondition: only if unchanged */
    const char *propagation;      /* "Background", "Foreground" or "Orphan" */
    long grace_seconds;           /* gracePeriodSeconds when >= 0 */
};

/* DELETE r. A failed precondition is 409 Conflict (-ESTALE). After a retry
 * (err->attempts > 1), 404 may mean our first attempt succeeded. */
int kube_delete(struct kube_client *c, const struct kube_ref *r, const struct kube_delete_opts *o,
                struct json_object **out, struct kube_err *err);

/* POST an Eviction (policy/v1) for a pod: honours PodDisruptionBudgets (429 when
 * one blocks it, which is retried like any 429). o may carry preconditions. */
int kube_evict(struct kube_client *c, const char *ns, const char *pod,
               const struct kube_delete_opts *o, struct kube_err *err);

/* Any request: method, resource (with r->sub for subresources), query params, a
 * raw body (may be NULL) with its content type, and whether replays are safe. */
struct kube_req {
    const char *method;
    const struct kube_ref *ref;
    const struct kube_param *params;
    size_t nparams;
    const char *body;
    size_t body_len;
    const char *content_type; /* default application/json when body is set */
    enum kube_idem idem;
};

int kube_request(struct kube_client *c, const struct kube_req *req, struct json_object **out,
                 struct kube_err *err);
/* kube_request with the answer as text. */
int kube_request_text(struct kube_client *c, const struct kube_req *req, struct kube_text *text,
                      struct kube_err *err);

struct kube_list_opts {
    const char *label_selector;
    const char *field_selector;
    /* NULL or "": the latest state (quorum read); "0": any state, served from the
     * API server's watch cache (cheap; client-go's first LIST). */
    const char *resource_version;
    int limit; /* page size; default 500; < 0 means no paging */
    /* Longest item accepted; 0: KUBE_LSPLIT_ITEM_MAX_DEFAULT (16 MiB). */
    size_t max_item;
    /* Called (with kube_list's ctx) for an item that is skipped: why is
     * "malformed" (not JSON) or "oversize" (longer than max_item); raw/len its
     * text (of an oversize item only the first max_item bytes). NULL: skipped
     * without a word. Either way the list goes on. */
    void (*skipped)(void *ctx, const char *why, const char *raw, size_t len);
    /* Optional: only these members of each item are built (see
     * jx_parser_parse_keep; what is not named is cut, managedFields included). */
    const struct jx_keep *keep;
};

/* Called once per item, in order; item is borrowed for the call (json_object_get
 * it to keep it). Return 0 to go on, nonzero to stop: kube_list returns it. */
typedef int (*kube_list_cb)(void *ctx, struct json_object *item);

/* LIST the collection r (r->ns NULL for all namespaces), following continue
 * tokens. Each page is split while it arrives (listsplit.h) and each item parsed
 * on its own and freed after cb: memory is bounded by one item (and its parse),
 * not by a page. On success writes the list's resourceVersion (where a watch
 * starts) to rv (rvlen bytes; may be NULL). An expired continue token gives
 * -ESTALE (410): items already passed to cb came from an abandoned snapshot; list
 * again. A page cut short or broken (-EBADMSG, KUBE_ERRK_DECODE) is not retried
 * inside: items of it were already passed to cb; list again. */
int kube_list(struct kube_client *c, const struct kube_ref *r, const struct kube_list_opts *o,
              kube_list_cb cb, void *ctx, char *rv, size_t rvlen, struct kube_err *err);

#endif

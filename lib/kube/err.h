/* Typed errors of the kube library: the transport error kind, the HTTP code and
 * the reason and message of the Kubernetes Status object the server sent. */
#ifndef OMJOB_LIB_KUBE_ERR_H
#define OMJOB_LIB_KUBE_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum kube_errkind {
    KUBE_ERRK_NONE,      /* success */
    KUBE_ERRK_HTTP,      /* the server answered with a non-2xx code (see http) */
    KUBE_ERRK_CONNECT,   /* no connection; nothing of the request was sent */
    KUBE_ERRK_TLS,       /* TLS verification or certificate problem (not retried) */
    KUBE_ERRK_TRANSPORT, /* connection broke after the request may have been sent */
    KUBE_ERRK_TIMEOUT,   /* the client-side request timeout expired */
    KUBE_ERRK_DECODE,    /* the response could not be decoded (or was too large) */
    KUBE_ERRK_CANCELLED, /* cancelled by the caller */
    KUBE_ERRK_CONFIG,    /* bad client configuration (token file unreadable, ...) */
    KUBE_ERRK_INVALID,   /* bad arguments (path too long, missing name, ...) */
    KUBE_ERRK_NOMEM,
};

/* Filled by every request. http is 0 when no response was received. retry_after is
 * the Retry-After of the last response in seconds, or -1. attempts counts the HTTP
 * attempts made, retries included. unanswered: an attempt of this write (any method
 * but GET) reached the server and got no answer (TRANSPORT, TIMEOUT, HTTP 500 or
 * 504), so the write may have been applied whatever the last attempt says: a retry
 * answered 409 Conflict or AlreadyExists by its own earlier attempt, or a retry that
 * found the server gone (see kube_err_maybe_applied). */
struct kube_err {
    enum kube_errkind kind;
    int http;
    int attempts;
    int retry_after;
    bool unanswered;
    char reason[64];
    char message[512];
};

const char *kube_errkind_str(enum kube_errkind kind);

/* Resets e to success. NULL is a no-op. */
void kube_err_clear(struct kube_err *e);

/* Sets kind and a printf-style message (http untouched). NULL e is a no-op. */
void kube_err_set(struct kube_err *e, enum kube_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills e from an HTTP response: kind HTTP, http, and reason/message/code from the
 * body when it is a Kubernetes Status object ({"kind":"Status",...}); otherwise the
 * reason is derived from the code (404 -> NotFound, ...) and the message is the
 * start of the body with control characters replaced. Never fails. */
void kube_err_from_response(struct kube_err *e, int http, const char *body, size_t len);

/* The reason Kubernetes uses for an HTTP code ("NotFound", "Conflict", ...), or
 * "Unknown". */
const char *kube_http_reason(int http);

/* The negative errno-style code for an error, used as the return value of every
 * request function:
 *   HTTP 400, 422 -EINVAL     401 -EACCES          403 -EPERM      404 -ENOENT
 *   409 AlreadyExists -EEXIST 409 other (Conflict) and 410 Gone -ESTALE
 *   408 -ETIMEDOUT            429 -EAGAIN          5xx -EIO        other -EPROTO
 *   CONNECT -ECONNREFUSED TRANSPORT -ECONNRESET TLS -EPROTO TIMEOUT -ETIMEDOUT
 *   DECODE -EBADMSG CANCELLED -ECANCELED CONFIG/INVALID -EINVAL NOMEM -ENOMEM
 * NONE gives 0. */
int kube_err_errno(const struct kube_err *e);

/* True when the failed write e describes may have been applied all the same: its
 * last attempt broke after sending (TRANSPORT), timed out (TIMEOUT) or got HTTP 500
 * or 504, or an earlier attempt did (unanswered). Whoever acts on the write's
 * success (its Events, say) must then check rather than assume it failed. */
bool kube_err_maybe_applied(const struct kube_err *e);

#endif

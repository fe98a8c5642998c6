/* The HTTP layer shared by client.c, api.c and watch.c: private to kube/ (it is
 * the only header that includes <curl/curl.h>; nothing outside kube/ includes it). */
#ifndef OMJOB_LIB_KUBE_HTTP_INT_H
#define OMJOB_LIB_KUBE_HTTP_INT_H

#include <curl/curl.h>
#include <stdint.h>

#include "lib/kube/client.h"

/* Largest response body we keep whole. LIST pages are streamed (kube_http_req's
 * stream) and not bound by it. */
#define KUBE_BODY_MAX ((size_t)128 << 20)

/* One HTTP exchange. path includes the query string. */
struct kube_http_req {
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
    const char *content_type;
    enum kube_idem idem;
    /* When set, a 2xx body is passed to stream as it arrives (resp->body stays
     * NULL) instead of being kept whole: memory is the consumer's. A nonzero
     * return aborts the transfer and is returned by kube_http_do. Once bytes were
     * passed, a failed attempt is not retried (the consumer saw part of a body). */
    int (*stream)(void *ctx, const char *data, size_t len);
    void *stream_ctx;
};

struct kube_http_resp {
    int http;
    char *body; /* NUL-terminated, caller frees */
    size_t len;
};

/* Runs req with rate limiting, authentication and retries. Returns 0 on 2xx (resp
 * filled; free resp->body) or a negative errno with err filled. err is not NULL. */
int kube_http_do(struct kube_client *c, const struct kube_http_req *req,
                 struct kube_http_resp *resp, struct kube_err *err);

/* For watch.c: a new easy handle configured for method/path with TLS, timeouts
 * (no overall timeout when request_timeout is false) and headers (*hdrs, free with
 * kube_http_headers_free after the transfer). */
int kube_http_setup(struct kube_client *c, CURL *easy, const char *method, const char *path,
                    const char *content_type, int request_timeout, struct curl_slist **hdrs,
                    struct kube_err *err);
void kube_http_headers_free(struct curl_slist *h);
/* Blocks until the rate limiter admits one request. */
void kube_http_ratelimit(struct kube_client *c);
/* Reports one attempt to the observer. */
void kube_http_observe(struct kube_client *c, const char *method, int code, double seconds);
/* After a 401: re-read the token file and look at the TLS files now. 1 when the
 * token or the TLS material changed, else 0. */
int kube_http_token_refresh(struct kube_client *c);
/* After a TLS failure: look at the TLS files now (a rotated CA). */
void kube_http_tls_recheck(struct kube_client *c);
/* The error kind of a failed transfer. */
enum kube_errkind kube_http_kind(CURLcode rc, CURL *easy);
/* The client's default fieldManager, or NULL. */
const char *kube_http_field_manager(const struct kube_client *c);
/* Whether decoded objects drop metadata.managedFields (kube_client_opts). */
bool kube_http_drop_managed_fields(const struct kube_client *c);
/* jx_parse of a Kubernetes object, without metadata.managedFields when drop. */
int kube_http_parse_object(bool drop, const char *buf, size_t len, struct json_object **out);
/* A uniform random number in [0, 1), thread-safe. */
double kube_http_rand01(void);

#endif

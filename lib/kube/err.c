/* Typed errors: HTTP code plus the reason and message of a Kubernetes Status
 * object, the transport error kind, and their errno-style mapping. */
#include "lib/kube/err.h"
#include "lib/kube/internal.h"

#include "lib/common/json.h"
#include "lib/common/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {
    [KUBE_ERRK_NONE] = "none",           [KUBE_ERRK_HTTP] = "http",
    [KUBE_ERRK_CONNECT] = "connect",     [KUBE_ERRK_TLS] = "tls",
    [KUBE_ERRK_TRANSPORT] = "transport", [KUBE_ERRK_TIMEOUT] = "timeout",
    [KUBE_ERRK_DECODE] = "decode",       [KUBE_ERRK_CANCELLED] = "cancelled",
    [KUBE_ERRK_CONFIG] = "config",       [KUBE_ERRK_INVALID] = "invalid",
    [KUBE_ERRK_NOMEM] = "nomem",
};

const char *kube_errkind_str(enum kube_errkind kind)
{
    if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "unknown";
    return kind_names[kind];
}

void kube_err_clear(struct kube_err *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof(*e));
    e->retry_after = -1;
}

void kube_err_set(struct kube_err *e, enum kube_errkind kind, const char *fmt, ...)
{
    if (e == NULL)
        return;
    e->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

const char *kube_http_reason(int http)
{
    switch (http) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 406:
        return "NotAcceptable";
    case 408:
        return "Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Expired";
    case 413:
        return "RequestEntityTooLarge";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return "Unknown";
    }
}

/* Copies at most cap-1 bytes of s, replacing control characters so that a
 * message is always safe to log. */
static void copy_clean(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[n] = '\0';
}

int kube_err_from_status_json(struct kube_err *e, struct json_object *st)
{
    const char *kind = jx_str(st, "kind");
    if (kind == NULL || strcmp(kind, "Status") != 0)
        return -1;
    const char *reason = jx_str(st, "reason");
    const char *msg = jx_str(st, "message");
    struct json_object *code = jx_get(st, "code");
    if (e->http == 0 && code != NULL && json_object_is_type(code, json_type_int)) {
        int64_t c = json_object_get_int64(code);
        if (c > 0 && c < 1000)
            e->http = (int)c;
    }
    copy_clean(e->reason, sizeof(e->reason), reason ? reason : kube_http_reason(e->http),
               strlen(reason ? reason : kube_http_reason(e->http)));
    if (msg != NULL)
        copy_clean(e->message, sizeof(e->message), msg, strlen(msg));
    return 0;
}

void kube_err_from_response(struct kube_err *e, int http, const char *body, size_t len)
{
    if (e == NULL)
        return;
    e->kind = KUBE_ERRK_HTTP;
    e->http = http;
    e->reason[0] = '\0';
    e->message[0] = '\0';
    struct json_object *st = NULL;
    if (body == NULL || len == 0 || jx_parse(body, len, &st, NULL, 0) != 0 || st == NULL ||
        kube_err_from_status_json(e, st) != 0) {
        util_strlcpy(e->reason, kube_http_reason(http), sizeof(e->reason));
        if (body != NULL)
            copy_clean(e->message, sizeof(e->message), body, len);
    }
    json_object_put(st);
}

static int http_errno(const struct kube_err *e)
{
    int h = e->http;
    if (h == 400 || h == 422)
        return -EINVAL;
    if (h == 401)
        return -EACCES;
    if (h == 403)
        return -EPERM;
    if (h == 404)
        return -ENOENT;
    if (h == 409)
        return strcmp(e->reason, "AlreadyExists") == 0 ? -EEXIST : -ESTALE;
    if (h == 410)
        return -ESTALE;
    if (h == 408)
        return -ETIMEDOUT;
    if (h == 429)
        return -EAGAIN;
    if (h >= 500 && h <= 599)
        return -EIO;
    return -EPROTO;
}

int kube_err_errno(const struct kube_err *e)
{
    switch (e->kind) {
    case KUBE_ERRK_NONE:
        return 0;
    case KUBE_ERRK_HTTP:
        return http_errno(e);
    case KUBE_ERRK_CONNECT:
        return -ECONNREFUSED;
    case KUBE_ERRK_TRANSPORT:
        return -ECONNRESET;
    case KUBE_ERRK_TLS:
        return -EPROTO;
    case KUBE_ERRK_TIMEOUT:
        return -ETIMEDOUT;
    case KUBE_ERRK_DECODE:
        return -EBADMSG;
    case KUBE_ERRK_CANCELLED:
        return -ECANCELED;
    case KUBE_ERRK_NOMEM:
        return -ENOMEM;
    case KUBE_ERRK_CONFIG:
    case KUBE_ERRK_INVALID:
        return -EINVAL;
    }
    return -EPROTO;
}

bool kube_err_maybe_applied(const struct kube_err *e)
{
    return e->unanswered || e->kind == KUBE_ERRK_TRANSPORT || e->kind == KUBE_ERRK_TIMEOUT ||
           (e->kind == KUBE_ERRK_HTTP && (e->http == 500 || e->http == 504));
}

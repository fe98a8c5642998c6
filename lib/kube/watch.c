/* The watch stream: a curl multi handle drives one easy handle so that a run can
 * be stepped, woken (curl_multi_wakeup) and cancelled from another thread; bytes
 * go through the splitter and the event parser straight from the write callback,
 * so memory stays bounded by the longest line. */
#include "lib/kube/watch.h"
#include "lib/kube/http_int.h"
#include "lib/kube/internal.h"
#include "lib/kube/watchsplit.h"

#include "lib/common/util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RV_MAX 256
#define ERRBODY_MAX ((size_t)64 << 10)
/* Client-side cap on one run beyond the server's timeoutSeconds. */
#define CAP_SLACK_NS (60LL * 1000000000)

struct kube_watch {
    struct kube_client *c;
    CURLM *multi;
    CURL *easy;
    struct kube_wsplit *split;
    struct kube_evparser *parser;
    atomic_bool cancelled;
    char rv[RV_MAX];
    unsigned long events;

    /* The current run. */
    bool active;
    struct curl_slist *hdrs;
    kube_watch_cb cb;
    void *ctx;
    struct kube_watch_params p;
    size_t max_line;
    enum kube_watch_end end;
    struct kube_err err; /* detail for end */
    int http;
    char *errbody;
    size_t errlen;
    int64_t t0_ns, last_byte_ns, stall_ns, deadline_ns;
};

static const char *const end_names[] = {
    "RUNNING",    "TIMEOUT",    "EXPIRED",   "STALLED", "DISCONNECTED",
    "HTTP_ERROR", "BAD_STREAM", "CANCELLED", "STOPPED", "FAILED",
};

const char *kube_watch_end_str(enum kube_watch_end e)
{
    if ((unsigned)e > KUBE_WATCH_FAILED)
        return "UNKNOWN";
    return end_names[e];
}

int kube_watch_new(struct kube_client *c, struct kube_watch **out)
{
    struct kube_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->c = c;
    atomic_init(&w->cancelled, false);
    w->multi = curl_multi_init();
    w->easy = curl_easy_init();
    if (w->multi == NULL || w->easy == NULL || kube_evparser_new(&w->parser) != 0) {
        kube_watch_free(w);
        return -ENOMEM;
    }
    kube_evparser_drop_managed_fields(w->parser, kube_http_drop_managed_fields(c));
    *out = w;
    return 0;
}

static void run_cleanup(struct kube_watch *w)
{
    if (w->active)
        curl_multi_remove_handle(w->multi, w->easy);
    w->active = false;
    curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, NULL);
    kube_http_headers_free(w->hdrs);
    w->hdrs = NULL;
    free(w->errbody);
    w->errbody = NULL;
    w->errlen = 0;
    kube_wsplit_free(w->split);
    w->split = NULL;
}

void kube_watch_free(struct kube_watch *w)
{
    if (w == NULL)
        return;
    run_cleanup(w);
    if (w->easy != NULL)
        curl_easy_cleanup(w->easy);
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    kube_evparser_free(w->parser);
    free(w);
}

int kube_watch_set_resource_version(struct kube_watch *w, const char *rv)
{
    if (rv == NULL)
        rv = "";
    if (strlen(rv) >= sizeof(w->rv))
        return -EINVAL;
    util_strlcpy(w->rv, rv, sizeof(w->rv));
    return 0;
}

const char *kube_watch_resource_version(const struct kube_watch *w)
{
    return w->rv;
}

unsigned long kube_watch_event_count(const struct kube_watch *w)
{
    return w->events;
}

void kube_watch_cancel(struct kube_watch *w)
{
    atomic_store(&w->cancelled, true);
    curl_multi_wakeup(w->multi);
}

/* Ends the run from inside a callback (the first end wins). */
static void set_end(struct kube_watch *w, enum kube_watch_end end)
{
    if (w->end == KUBE_WATCH_RUNNING)
        w->end = end;
}

static int handle_error_event(struct kube_watch *w, const struct kube_event *ev)
{
    w->err = ev->status;
    if (kube_event_is_expired(ev)) {
        w->rv[0] = '\0';
        set_end(w, KUBE_WATCH_EXPIRED);
    } else {
        set_end(w, KUBE_WATCH_HTTP_ERROR);
    }
    return 1;
}

static int handle_event(struct kube_watch *w, const struct kube_event *ev)
{
    if (ev->type == KUBE_EV_ERROR)
        return handle_error_event(w, ev);
    w->events++;
    if (w->cb != NULL && w->cb(w->ctx, ev) != 0) {
        set_end(w, KUBE_WATCH_STOPPED);
        return 1;
    }
    if (ev->resource_version != NULL && strlen(ev->resource_version) < sizeof(w->rv))
        util_strlcpy(w->rv, ev->resource_version, sizeof(w->rv));
    return 0;
}

static int on_line(void *ctx, enum kube_wsplit_what what, const char *line, size_t len)
{
    struct kube_watch *w = ctx;
    if (what == KUBE_WSPLIT_OVERSIZE) {
        kube_err_set(&w->err, KUBE_ERRK_DECODE, "watch event longer than %zu bytes", len);
        set_end(w, KUBE_WATCH_BAD_STREAM);
        return 1;
    }
    struct kube_event ev;
    if (kube_evparser_parse(w->parser, line, len, &ev) != 0) {
        kube_err_set(&w->err, KUBE_ERRK_DECODE, "undecodable watch event (%zu bytes)", len);
        set_end(w, KUBE_WATCH_BAD_STREAM);
        return 1;
    }
    int rc = handle_event(w, &ev);
    kube_event_clear(&ev);
    return rc;
}

static void keep_errbody(struct kube_watch *w, const char *p, size_t len)
{
    if (w->errlen + len > ERRBODY_MAX)
        len = ERRBODY_MAX - w->errlen;
    if (len == 0)
        return;
    char *nb = realloc(w->errbody, w->errlen + len + 1);
    if (nb == NULL)
        return;
    memcpy(nb + w->errlen, p, len);
    w->errbody = nb;
    w->errlen += len;
    nb[w->errlen] = '\0';
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct kube_watch *w = ud;
    size_t len = sz * n;
    w->last_byte_ns = util_mono_ns();
    if (w->http != 200) {
        keep_errbody(w, p, len);
        return len;
    }
    if (kube_wsplit_feed(w->split, p, len, on_line, w) != 0) {
        if (w->end == KUBE_WATCH_RUNNING) {
            kube_err_set(&w->err, KUBE_ERRK_NOMEM, "out of memory");
            w->end = KUBE_WATCH_FAILED;
        }
        return 0; /* aborts the transfer */
    }
    return len;
}

/* The end of the response headers tells the status code; that is when a watch
 * counts as answered for the observer. */
static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct kube_watch *w = ud;
    size_t len = sz * n;
    w->last_byte_ns = util_mono_ns();
    /* Once: a blank line also ends the trailers of a chunked body. */
    if (w->http == 0 && len <= 2 && (len == 0 || p[0] == '\r' || p[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200) {
            w->http = (int)code;
            kube_http_observe(w->c, "GET", w->http, (double)(w->last_byte_ns - w->t0_ns) / 1e9);
        }
    }
    return len;
}

static int build_path(struct kube_watch *w, char *path, size_t cap)
{
    char to[16];
    snprintf(to, sizeof(to), "%d", w->p.timeout_seconds);
    struct kube_param q[] = {
        {"watch", "1"},
        {"allowWatchBookmarks", "true"},
        {"labelSelector", w->p.label_selector},
        {"fieldSelector", w->p.field_selector},
        {"resourceVersion", w->rv[0] ? w->rv : NULL},
        {"timeoutSeconds", to},
    };
    struct kube_ref r = w->p.ref;
    r.name = NULL;
    r.sub = NULL;
    return kube_path(path, cap, &r, q, sizeof(q) / sizeof(q[0]));
}

static void params_fill(struct kube_watch *w, const struct kube_watch_params *p)
{
    w->p = *p;
    kube_evparser_keep(w->parser, p->keep);
    kube_evparser_cut(w->parser, p->cut);
    if (w->p.timeout_seconds <= 0)
        w->p.timeout_seconds =
            KUBE_WATCH_TIMEOUT_MIN_S + (int)(kube_http_rand01() * KUBE_WATCH_TIMEOUT_SPREAD_S);
    if (w->p.stall_seconds <= 0)
        w->p.stall_seconds = w->p.timeout_seconds + KUBE_WATCH_STALL_SLACK_S;
    w->stall_ns = (int64_t)w->p.stall_seconds * 1000000000;
}

static enum kube_watch_end fail_start(struct kube_watch *w, enum kube_watch_end end,
                                      struct kube_err *err)
{
    if (err != NULL)
        *err = w->err;
    run_cleanup(w);
    return end;
}

static int easy_setup(struct kube_watch *w, const char *path)
{
    int rc = kube_http_setup(w->c, w->easy, "GET", path, NULL, 0, &w->hdrs, &w->err);
    if (rc != 0)
        return rc;
    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
    if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK) {
        kube_err_set(&w->err, KUBE_ERRK_NOMEM, "curl_multi_add_handle failed");
        return -ENOMEM;
    }
    w->active = true;
    return 0;
}

enum kube_watch_end kube_watch_start(struct kube_watch *w, const struct kube_watch_params *p,
                                     kube_watch_cb cb, void *ctx, struct kube_err *err)
{
    char path[KUBE_PATH_MAX];
    run_cleanup(w);
    kube_err_clear(&w->err);
    kube_err_clear(err);
    if (atomic_load(&w->cancelled))
        return KUBE_WATCH_CANCELLED;
    params_fill(w, p);
    w->cb = cb;
    w->ctx = ctx;
    w->end = KUBE_WATCH_RUNNING;
    w->http = 0;
    if (build_path(w, path, sizeof(path)) < 0) {
        kube_err_set(&w->err, KUBE_ERRK_INVALID, "bad watch resource or path too long");
        return fail_start(w, KUBE_WATCH_FAILED, err);
    }
    if (kube_wsplit_new(p->max_line, &w->split) != 0) {
        kube_err_set(&w->err, KUBE_ERRK_NOMEM, "out of memory");
        return fail_start(w, KUBE_WATCH_FAILED, err);
    }
    kube_http_ratelimit(w->c);
    w->t0_ns = w->last_byte_ns = util_mono_ns();
    w->deadline_ns = w->t0_ns + (int64_t)w->p.timeout_seconds * 1000000000 + CAP_SLACK_NS;
    if (easy_setup(w, path) != 0)
        return fail_start(w, KUBE_WATCH_FAILED, err);
    return KUBE_WATCH_RUNNING;
}

/* The transfer completed (rc): decide the end if no callback did. */
static void on_done(struct kube_watch *w, CURLcode rc)
{
    if (w->end != KUBE_WATCH_RUNNING)
        return;
    if (rc == CURLE_OK && w->http == 200) {
        w->end = KUBE_WATCH_TIMEOUT;
    } else if (rc == CURLE_OK) {
        kube_err_from_response(&w->err, w->http, w->errbody, w->errlen);
        if (w->http == 401)
            kube_http_token_refresh(w->c);
        if (kube_err_is_expired(&w->err))
            w->rv[0] = '\0';
        w->end = kube_err_is_expired(&w->err) ? KUBE_WATCH_EXPIRED : KUBE_WATCH_HTTP_ERROR;
    } else {
        if (w->http == 0)
            kube_http_observe(w->c, "GET", 0, (double)(util_mono_ns() - w->t0_ns) / 1e9);
        kube_err_set(&w->err, kube_http_kind(rc, w->easy), "watch: %s", curl_easy_strerror(rc));
        w->end = KUBE_WATCH_DISCONNECTED;
    }
}

static void check_done(struct kube_watch *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == w->easy)
            on_done(w, m->data.result);
    }
}

static void check_timers(struct kube_watch *w)
{
    int64_t now = util_mono_ns();
    if (atomic_load(&w->cancelled))
        set_end(w, KUBE_WATCH_CANCELLED);
    else if (now - w->last_byte_ns >= w->stall_ns)
        set_end(w, KUBE_WATCH_STALLED);
    else if (now >= w->deadline_ns)
        set_end(w, KUBE_WATCH_TIMEOUT);
}

static int wait_ms(struct kube_watch *w, int timeout_ms)
{
    int64_t left = (w->last_byte_ns + w->stall_ns - util_mono_ns()) / 1000000 + 1;
    if (left < timeout_ms)
        timeout_ms = left < 0 ? 0 : (int)left;
    return timeout_ms;
}

enum kube_watch_end kube_watch_step(struct kube_watch *w, int timeout_ms, struct kube_err *err)
{
    int running = 0;
    if (!w->active)
        return KUBE_WATCH_FAILED;
    CURLMcode mc = curl_multi_perform(w->multi, &running);
    if (mc == CURLM_OK && w->end == KUBE_WATCH_RUNNING && running > 0) {
        if (w->p.idle != NULL)
            w->p.idle(w->ctx);
        mc = curl_multi_poll(w->multi, NULL, 0, wait_ms(w, timeout_ms), NULL);
    }
    if (mc == CURLM_OK && w->end == KUBE_WATCH_RUNNING)
        mc = curl_multi_perform(w->multi, &running);
    check_done(w);
    if (mc != CURLM_OK && w->end == KUBE_WATCH_RUNNING) {
        kube_err_set(&w->err, KUBE_ERRK_TRANSPORT, "curl multi: %s", curl_multi_strerror(mc));
        w->end = KUBE_WATCH_FAILED;
    }
    check_timers(w);
    if (w->end == KUBE_WATCH_RUNNING)
        return KUBE_WATCH_RUNNING;
    enum kube_watch_end end = w->end;
    if (err != NULL)
        *err = w->err;
    run_cleanup(w);
    return end;
}

enum kube_watch_end kube_watch_run(struct kube_watch *w, const struct kube_watch_params *p,
                                   kube_watch_cb cb, void *ctx, struct kube_err *err)
{
    enum kube_watch_end end = kube_watch_start(w, p, cb, ctx, err);
    while (end == KUBE_WATCH_RUNNING)
        end = kube_watch_step(w, 1000, err);
    return end;
}

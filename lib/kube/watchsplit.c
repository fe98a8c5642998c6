/* Watch stream splitter: bytes in, complete lines out, bounded memory. */
#include "lib/kube/watchsplit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A buffer that grew past this is released once its line is delivered, so one
 * large object does not pin its memory for the rest of a long watch. */
#define KEEP_CAP ((size_t)1 << 20)

struct kube_wsplit {
    size_t max;
    char *buf;
    size_t len, cap;
    bool skipping; /* inside an oversize line: drop bytes up to the next newline */
    unsigned long oversize;
};

const char *kube_wsplit_what_str(enum kube_wsplit_what w)
{
    return w == KUBE_WSPLIT_LINE ? "line" : w == KUBE_WSPLIT_OVERSIZE ? "oversize" : "unknown";
}

int kube_wsplit_new(size_t max_line, struct kube_wsplit **out)
{
    struct kube_wsplit *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->max = max_line == 0 ? KUBE_WSPLIT_MAX_DEFAULT : max_line;
    *out = s;
    return 0;
}

void kube_wsplit_free(struct kube_wsplit *s)
{
    if (s == NULL)
        return;
    free(s->buf);
    free(s);
}

void kube_wsplit_reset(struct kube_wsplit *s)
{
    s->len = 0;
    s->skipping = false;
    if (s->cap > KEEP_CAP) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

size_t kube_wsplit_pending(const struct kube_wsplit *s)
{
    return s->len;
}

unsigned long kube_wsplit_oversize_count(const struct kube_wsplit *s)
{
    return s->oversize;
}

static int emit(const char *line, size_t len, kube_wsplit_cb cb, void *ctx)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    return cb(ctx, KUBE_WSPLIT_LINE, line, len);
}

static int oversize(struct kube_wsplit *s, kube_wsplit_cb cb, void *ctx)
{
    s->oversize++;
    s->skipping = true;
    s->len = 0;
    return cb(ctx, KUBE_WSPLIT_OVERSIZE, NULL, s->max);
}

static int append(struct kube_wsplit *s, const char *data, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap == 0 ? 4096 : s->cap;
        while (cap < s->len + n)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (nb == NULL)
            return -ENOMEM;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return 0;
}

/* Bytes without a newline: buffer them, or enter oversize mode. The limit counts
 * the line's bytes before its newline. */
static int partial(struct kube_wsplit *s, const char *data, size_t n, kube_wsplit_cb cb, void *ctx)
{
    if (s->skipping)
        return 0;
    if (s->len + n > s->max)
        return oversize(s, cb, ctx);
    int rc = append(s, data, n);
    if (rc != 0)
        kube_wsplit_reset(s);
    return rc;
}

/* data[0..n) ends a line (the newline is at data[n]). */
static int complete(struct kube_wsplit *s, const char *data, size_t n, kube_wsplit_cb cb, void *ctx)
{
    if (s->skipping) {
        s->skipping = false;
        return 0;
    }
    if (s->len + n > s->max) {
        int rc = oversize(s, cb, ctx);
        s->skipping = false; /* the newline is here: the next line is clean */
        return rc;
    }
    if (s->len == 0)
        return emit(data, n, cb, ctx);
    int rc = append(s, data, n);
    if (rc != 0) {
        kube_wsplit_reset(s);
        return rc;
    }
    size_t len = s->len;
    s->len = 0;
    rc = emit(s->buf, len, cb, ctx);
    if (s->cap > KEEP_CAP) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
    return rc;
}

int kube_wsplit_feed(struct kube_wsplit *s, const char *data, size_t len, kube_wsplit_cb cb,
                     void *ctx)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        if (nl == NULL)
            return partial(s, data, len, cb, ctx);
        size_t n = (size_t)(nl - data);
        int rc = complete(s, data, n, cb, ctx);
        if (rc != 0)
            return rc;
        data = nl + 1;
        len -= n + 1;
    }
    return 0;
}

int kube_wsplit_finish(struct kube_wsplit *s, kube_wsplit_cb cb, void *ctx)
{
    int rc = 0;
    if (!s->skipping && s->len > 0) {
        size_t len = s->len;
        s->len = 0;
        rc = emit(s->buf, len, cb, ctx);
    }
    kube_wsplit_reset(s);
    return rc;
}

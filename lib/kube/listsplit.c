/* LIST body splitter: bytes in, one "items" element at a time out, bounded memory. */
#include "lib/kube/listsplit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An item buffer that grew past this is released after its item, so that one
 * large object does not pin its memory for the rest of the list. */
#define KEEP_CAP ((size_t)1 << 20)
/* Deepest nesting followed (objects and arrays); deeper is a broken document. */
#define DEPTH_MAX 1024

enum phase { PH_BEFORE, PH_DOC, PH_AFTER, PH_FAILED };

struct buf {
    char *p;
    size_t len, cap;
};

struct kube_lsplit {
    size_t max_item, max_rest;
    enum phase phase;
    int depth;                      /* open objects and arrays */
    uint8_t closers[DEPTH_MAX / 8]; /* bit set: that level is an array */
    bool in_str, esc;               /* inside a string, after a backslash */
    bool want_key;                  /* depth 1: the next string is a key */
    bool in_key, key_items;         /* collecting a depth-1 key; it was "items" */
    char key[8];                    /* its first bytes */
    size_t key_len;
    bool in_items;            /* inside the top-level items array */
    bool capturing, skipping; /* inside an item; it is oversize */
    struct buf item, rest;
    unsigned long items, oversize;
};

const char *kube_lsplit_what_str(enum kube_lsplit_what w)
{
    return w == KUBE_LSPLIT_ITEM ? "item" : w == KUBE_LSPLIT_OVERSIZE ? "oversize" : "unknown";
}

int kube_lsplit_new(size_t max_item, size_t max_rest, struct kube_lsplit **out)
{
    struct kube_lsplit *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->max_item = max_item == 0 ? KUBE_LSPLIT_ITEM_MAX_DEFAULT : max_item;
    s->max_rest = max_rest == 0 ? KUBE_LSPLIT_REST_MAX_DEFAULT : max_rest;
    *out = s;
    return 0;
}

void kube_lsplit_free(struct kube_lsplit *s)
{
    if (s == NULL)
        return;
    free(s->item.p);
    free(s->rest.p);
    free(s);
}

static void buf_trim(struct buf *b)
{
    b->len = 0;
    if (b->cap > KEEP_CAP) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

void kube_lsplit_reset(struct kube_lsplit *s)
{
    struct buf item = s->item, rest = s->rest;
    size_t mi = s->max_item, mr = s->max_rest;
    memset(s, 0, sizeof(*s));
    s->item = item;
    s->rest = rest;
    s->max_item = mi;
    s->max_rest = mr;
    buf_trim(&s->item);
    buf_trim(&s->rest);
}

unsigned long kube_lsplit_items(const struct kube_lsplit *s)
{
    return s->items;
}

unsigned long kube_lsplit_oversize(const struct kube_lsplit *s)
{
    return s->oversize;
}

size_t kube_lsplit_held(const struct kube_lsplit *s)
{
    return s->item.cap + s->rest.cap;
}

/* Appends n bytes (room for a NUL kept). 0 or -ENOMEM. */
static int buf_add(struct buf *b, const char *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *nb = realloc(b->p, cap);
        if (nb == NULL)
            return -ENOMEM;
        b->p = nb;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int fail(struct kube_lsplit *s, int rc)
{
    s->phase = PH_FAILED;
    return rc;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int push(struct kube_lsplit *s, bool array)
{
    if (s->depth >= DEPTH_MAX)
        return -EBADMSG;
    if (array)
        s->closers[s->depth / 8] |= (uint8_t)(1u << (s->depth % 8));
    else
        s->closers[s->depth / 8] &= (uint8_t) ~(1u << (s->depth % 8));
    s->depth++;
    return 0;
}

/* Closes the innermost level with c ('}' or ']'): -EBADMSG on a mismatch. */
static int pop(struct kube_lsplit *s, char c)
{
    if (s->depth == 0)
        return -EBADMSG;
    s->depth--;
    bool array = (s->closers[s->depth / 8] >> (s->depth % 8)) & 1u;
    return array == (c == ']') ? 0 : -EBADMSG;
}

/* Adds n bytes to the item, or reports it oversize once they would not fit (its
 * first max_item bytes) and drops the rest. */
static int item_add(struct kube_lsplit *s, const char *d, size_t n, kube_lsplit_cb cb, void *ctx)
{
    if (s->skipping)
        return 0;
    size_t room = s->max_item - s->item.len;
    if (buf_add(&s->item, d, n <= room ? n : room) != 0)
        return fail(s, -ENOMEM);
    if (n <= room)
        return 0;
    s->skipping = true;
    s->oversize++;
    return cb(ctx, KUBE_LSPLIT_OVERSIZE, s->item.p, s->item.len);
}

/* One byte of an item (s->capturing). */
static int item_byte(struct kube_lsplit *s, char c, kube_lsplit_cb cb, void *ctx)
{
    int rc = 0;
    if (!s->in_str) {
        if (c == '{' || c == '[')
            rc = push(s, c == '[');
        else if (c == '}' || c == ']')
            rc = pop(s, c);
        else if (c == '"')
            s->in_str = true;
        if (rc != 0)
            return fail(s, rc);
    } else if (s->esc) {
        s->esc = false;
    } else if (c == '\\') {
        s->esc = true;
    } else if (c == '"') {
        s->in_str = false;
    }
    if ((rc = item_add(s, &c, 1, cb, ctx)) != 0)
        return rc;
    if (s->depth == 2) { /* the item closed */
        bool whole = !s->skipping;
        s->capturing = s->skipping = false;
        if (whole) {
            s->items++;
            rc = cb(ctx, KUBE_LSPLIT_ITEM, s->item.p, s->item.len);
        }
        buf_trim(&s->item);
    }
    return rc;
}

static int rest_byte(struct kube_lsplit *s, char c)
{
    if (s->rest.len + 1 > s->max_rest)
        return fail(s, -E2BIG);
    return buf_add(&s->rest, &c, 1) == 0 ? 0 : fail(s, -ENOMEM);
}

/* One byte outside the items (the rest of the document). */
static int doc_byte(struct kube_lsplit *s, char c)
{
    int rc = 0;
    if (s->in_str) {
        if (s->esc) {
            s->esc = false;
        } else if (c == '\\') {
            s->esc = true;
        } else if (c == '"') {
            s->in_str = false;
            if (s->in_key) {
                s->in_key = false;
                s->key_items = s->key_len == 5 && memcmp(s->key, "items", 5) == 0;
            }
            return rest_byte(s, c);
        }
        if (s->in_key && s->key_len < sizeof(s->key))
            s->key[s->key_len++] = c;
        return rest_byte(s, c);
    }
    if (is_ws(c))
        return 0;
    switch (c) {
    case '{':
    case '[':
        if (c == '[' && s->depth == 1 && s->key_items && !s->in_items)
            s->in_items = true;
        rc = push(s, c == '[');
        s->want_key = c == '{' && s->depth == 1;
        break;
    case '}':
    case ']':
        rc = pop(s, c);
        if (rc == 0 && s->depth == 0)
            s->phase = PH_AFTER;
        break;
    case ',':
        if (s->depth == 1) {
            s->want_key = true;
            s->key_items = false;
        }
        break;
    case '"':
        s->in_str = true;
        if (s->depth == 1 && s->want_key) {
            s->want_key = false;
            s->in_key = true;
            s->key_len = 0;
        }
        break;
    default:
        break;
    }
    if (rc != 0)
        return fail(s, rc);
    return rest_byte(s, c);
}

int kube_lsplit_feed(struct kube_lsplit *s, const char *data, size_t len, kube_lsplit_cb cb,
                     void *ctx)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        int rc = 0;
        switch (s->phase) {
        case PH_FAILED:
            return -EBADMSG;
        case PH_AFTER:
            if (!is_ws(c))
                return fail(s, -EBADMSG);
            continue;
        case PH_BEFORE:
            if (is_ws(c))
                continue;
            if (c != '{')
                return fail(s, -EBADMSG);
            s->phase = PH_DOC;
            rc = doc_byte(s, c);
            break;
        case PH_DOC:
            if (s->capturing && s->in_str && !s->esc && c != '"' && c != '\\') {
                /* the body of a string, often most of an item: in one piece */
                size_t j = i + 1;
                while (j < len && data[j] != '"' && data[j] != '\\')
                    j++;
                rc = item_add(s, data + i, j - i, cb, ctx);
                i = j - 1;
            } else if (s->capturing) {
                rc = item_byte(s, c, cb, ctx);
            } else if (s->in_items && s->depth == 2) {
                /* between items: separators, the first byte of the next, or the end */
                if (is_ws(c) || c == ',')
                    continue;
                if (c == ']') {
                    s->in_items = false;
                    s->key_items = false;
                    rc = doc_byte(s, c);
                } else if (c == '{') {
                    s->capturing = true;
                    rc = item_byte(s, c, cb, ctx);
                } else {
                    return fail(s, -EBADMSG); /* items are objects */
                }
            } else {
                rc = doc_byte(s, c);
            }
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int kube_lsplit_finish(struct kube_lsplit *s, const char **rest, size_t *rest_len)
{
    if (s->phase != PH_AFTER)
        return fail(s, -EBADMSG);
    *rest = s->rest.p;
    *rest_len = s->rest.len;
    return 0;
}

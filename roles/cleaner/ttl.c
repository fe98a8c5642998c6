/* The cleaner's pure part: expiry of an OMJob, the key table and its min-heap
 * (see ttl.h). */
#include "roles/cleaner/ttl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/util.h"

#define TTL_MAX_S 2147483647LL

/* ---- expiry ---- */

static bool terminal(const char *phase)
{
    return phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

int ttl_eval(struct json_object *omj, struct ttl_state *out)
{
    struct ttl_state s = {.ttl_s = TTL_DEFAULT_S};
    int64_t ns;
    s.uid = jx_str(omj, "metadata.uid");
    if (s.uid == NULL || s.uid[0] == '\0')
        return -EINVAL;
    int rc = jx_i64(omj, "spec.ttlSecondsAfterFinished", &s.ttl_s);
    if (rc == -ENOENT)
        s.ttl_s = TTL_DEFAULT_S;
    else if (rc != 0 || s.ttl_s < 0 || s.ttl_s > TTL_MAX_S)
        return -EINVAL;
    s.deleting = jx_get(omj, "metadata.deletionTimestamp") != NULL;
    s.completion = jx_str(omj, "status.completionTime");
    if (terminal(jx_str(omj, "status.phase")) && s.completion != NULL &&
        util_rfc3339_parse(s.completion, &ns) == 0) {
        s.finished = true;
        s.completion_ms = ns / 1000000;
        s.expiry_ms = s.completion_ms + s.ttl_s * 1000;
    }
    *out = s;
    return 0;
}

int ttl_eval_hint(const struct ipc_ttl *t, struct ttl_state *out)
{
    struct ttl_state s = {.ttl_s = TTL_DEFAULT_S, .uid = t->uid};
    if (!(t->flags & IPC_TTL_PRESENT) || t->uid[0] == '\0' || (t->flags & IPC_TTL_BAD))
        return -EINVAL;
    if (t->flags & IPC_TTL_SET) {
        if (t->ttl_s < 0 || t->ttl_s > TTL_MAX_S)
            return -EINVAL;
        s.ttl_s = t->ttl_s;
    }
    s.deleting = (t->flags & IPC_TTL_DELETING) != 0;
    if (t->flags & IPC_TTL_FINISHED) {
        s.finished = true;
        s.completion_ms = t->completion_ms;
        s.expiry_ms = s.completion_ms + s.ttl_s * 1000;
    }
    *out = s;
    return 0;
}

bool ttl_due(const struct ttl_state *s)
{
    return s->finished && !s->deleting;
}

void ttl_set_rv(struct ttl_entry *e, const char *rv)
{
    if (rv == NULL || strlen(rv) >= sizeof(e->te_rv))
        rv = "";
    memcpy(e->te_rv, rv, strlen(rv) + 1);
}

int64_t ttl_backoff_ms(int failures)
{
    int64_t ms = TTL_BACKOFF_MIN_MS;
    for (int i = 1; i < failures && ms < TTL_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < TTL_BACKOFF_MAX_MS ? ms : TTL_BACKOFF_MAX_MS;
}

void ttl_message(char *buf, size_t cap, int64_t completion_ms, int64_t now_ms, int64_t ttl_s)
{
    int64_t d = now_ms - completion_ms;
    if (d < 0)
        d = 0;
    snprintf(buf, cap, "deleted %lld.%lld s after completion (ttlSecondsAfterFinished=%lld)",
             (long long)(d / 1000), (long long)(d % 1000 / 100), (long long)ttl_s);
}

/* ---- the table: a chained hash map of every key, and a binary min-heap of the
 * scheduled entries (each knows its heap position, so moving one is O(log n)) ---- */

struct ttl_table {
    struct ttl_entry **t_buckets;
    size_t t_nbuckets; /* a power of two */
    size_t t_count;
    struct ttl_entry **t_heap;
    size_t t_heap_len;
    size_t t_heap_cap;
};

int ttl_table_new(struct ttl_table **out)
{
    struct ttl_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->t_nbuckets = 64;
    if ((t->t_buckets = calloc(t->t_nbuckets, sizeof(*t->t_buckets))) == NULL) {
        free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

static void entry_free(struct ttl_entry *e)
{
    free(e->te_key);
    free(e);
}

void ttl_table_free(struct ttl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->t_nbuckets; i++) {
        struct ttl_entry *e = t->t_buckets[i];
        while (e != NULL) {
            struct ttl_entry *next = e->te_next;
            entry_free(e);
            e = next;
        }
    }
    free(t->t_buckets);
    free(t->t_heap);
    free(t);
}

static size_t bucket(const struct ttl_table *t, const char *key)
{
    return (size_t)util_fnv1a64(key, strlen(key)) & (t->t_nbuckets - 1);
}

struct ttl_entry *ttl_find(struct ttl_table *t, const char *key)
{
    for (struct ttl_entry *e = t->t_buckets[bucket(t, key)]; e != NULL; e = e->te_next)
        if (strcmp(e->te_key, key) == 0)
            return e;
    return NULL;
}

/* Doubles the bucket array when the chains get long; on ENOMEM keeps the old one. */
static void grow(struct ttl_table *t)
{
    size_t n = t->t_nbuckets * 2;
    struct ttl_entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i < t->t_nbuckets; i++) {
        struct ttl_entry *e = t->t_buckets[i];
        while (e != NULL) {
            struct ttl_entry *next = e->te_next;
            size_t j = (size_t)util_fnv1a64(e->te_key, strlen(e->te_key)) & (n - 1);
            e->te_next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(t->t_buckets);
    t->t_buckets = b;
    t->t_nbuckets = n;
}

struct ttl_entry *ttl_add(struct ttl_table *t, const char *key)
{
    struct ttl_entry *e = ttl_find(t, key);
    if (e != NULL)
        return e;
    if ((e = calloc(1, sizeof(*e))) == NULL || (e->te_key = strdup(key)) == NULL) {
        free(e);
        return NULL;
    }
    e->te_heap = TTL_UNSCHEDULED;
    if (t->t_count >= t->t_nbuckets * 2)
        grow(t);
    size_t b = bucket(t, key);
    e->te_next = t->t_buckets[b];
    t->t_buckets[b] = e;
    t->t_count++;
    return e;
}

void ttl_forget(struct ttl_table *t, struct ttl_entry *e)
{
    ttl_unschedule(t, e);
    struct ttl_entry **p = &t->t_buckets[bucket(t, e->te_key)];
    while (*p != NULL && *p != e)
        p = &(*p)->te_next;
    if (*p == e) {
        *p = e->te_next;
        t->t_count--;
    }
    entry_free(e);
}

/* ---- heap ---- */

static void heap_set(struct ttl_table *t, size_t i, struct ttl_entry *e)
{
    t->t_heap[i] = e;
    e->te_heap = i;
}

static void sift_up(struct ttl_table *t, size_t i)
{
    struct ttl_entry *e = t->t_heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->t_heap[parent]->te_at_ms <= e->te_at_ms)
            break;
        heap_set(t, i, t->t_heap[parent]);
        i = parent;
    }
    heap_set(t, i, e);
}

static void sift_down(struct ttl_table *t, size_t i)
{
    struct ttl_entry *e = t->t_heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->t_heap_len)
            break;
        if (c + 1 < t->t_heap_len && t->t_heap[c + 1]->te_at_ms < t->t_heap[c]->te_at_ms)
            c++;
        if (e->te_at_ms <= t->t_heap[c]->te_at_ms)
            break;
        heap_set(t, i, t->t_heap[c]);
        i = c;
    }
    heap_set(t, i, e);
}

int ttl_schedule(struct ttl_table *t, struct ttl_entry *e, int64_t at_ms)
{
    if (ttl_scheduled(e)) {
        int64_t old = e->te_at_ms;
        e->te_at_ms = at_ms;
        if (at_ms < old)
            sift_up(t, e->te_heap);
        else
            sift_down(t, e->te_heap);
        return 0;
    }
    if (t->t_heap_len == t->t_heap_cap) {
        size_t cap = t->t_heap_cap ? t->t_heap_cap * 2 : 64;
        struct ttl_entry **h = realloc(t->t_heap, cap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
        t->t_heap = h;
        t->t_heap_cap = cap;
    }
    e->te_at_ms = at_ms;
    heap_set(t, t->t_heap_len++, e);
    sift_up(t, e->te_heap);
    return 0;
}

void ttl_unschedule(struct ttl_table *t, struct ttl_entry *e)
{
    size_t i = e->te_heap;
    if (i == TTL_UNSCHEDULED)
        return;
    e->te_heap = TTL_UNSCHEDULED;
    struct ttl_entry *last = t->t_heap[--t->t_heap_len];
    if (i == t->t_heap_len)
        return;
    heap_set(t, i, last);
    if (i > 0 && t->t_heap[(i - 1) / 2]->te_at_ms > last->te_at_ms)
        sift_up(t, i);
    else
        sift_down(t, i);
}

struct ttl_entry *ttl_peek(const struct ttl_table *t)
{
    return t->t_heap_len > 0 ? t->t_heap[0] : NULL;
}

size_t ttl_count(const struct ttl_table *t)
{
    return t->t_count;
}

size_t ttl_nscheduled(const struct ttl_table *t)
{
    return t->t_heap_len;
}

void ttl_invalidate(struct ttl_table *t)
{
    for (size_t i = 0; i < t->t_nbuckets; i++)
        for (struct ttl_entry *e = t->t_buckets[i]; e != NULL; e = e->te_next)
            e->te_revision = 0;
}

size_t ttl_sweep(struct ttl_table *t, uint32_t stamp)
{
    size_t n = 0;
    for (size_t i = 0; i < t->t_nbuckets; i++) {
        struct ttl_entry **p = &t->t_buckets[i];
        while (*p != NULL) {
            struct ttl_entry *e = *p;
            if (e->te_stamp == stamp) {
                p = &e->te_next;
                continue;
            }
            *p = e->te_next;
            ttl_unschedule(t, e);
            entry_free(e);
            t->t_count--;
            n++;
        }
    }
    return n;
}

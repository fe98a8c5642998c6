/* The keyed work queue (workq.h): a chained hash table of keys, an intrusive FIFO
 * through them, and a binary min-heap of (time, key) entries with lazy deletion.
 * Each key is one allocation: the struct, the name, then the payload at the next
 * offset aligned for any type (no pointers to either: one per key counts at
 * 10,000 CronOMJobs). */
#include "lib/workq/workq.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/util.h"

#define DEFAULT_BUCKETS 256
#define FIRST_HEAP 64
/* The heap is rebuilt without its stale entries when a release finds at least this
 * many and they are over half of it (amortised O(1) per stale entry). */
#define COMPACT_MIN 32

struct workq_key {
    struct workq_key *wk_hnext; /* hash chain */
    struct workq_key *wk_qnext; /* FIFO */
    uint64_t wk_hash;
    int64_t wk_added;     /* when it became pending */
    int64_t wk_timer;     /* the current timer, when wk_timed */
    unsigned wk_heaprefs; /* heap entries pointing here, current or stale */
    bool wk_pending;      /* added, not yet taken by workq_get: in the FIFO unless processing */
    bool wk_processing;   /* between workq_get and workq_done */
    bool wk_timed;
    bool wk_released; /* freed when its last heap entry goes */
    bool wk_has_data; /* a payload follows the name */
    char wk_name[];   /* then the payload (data_off) */
};

struct timer {
    int64_t at;
    struct workq_key *k;
};

struct workq {
    struct workq_opts q_opts;
    struct workq_key **q_tab;
    size_t q_nbuckets, q_nkeys;
    struct workq_key *q_head, *q_tail;
    size_t q_len;     /* in the FIFO */
    size_t q_pending; /* in the FIFO or waiting for their workq_done */
    struct timer *q_heap;
    size_t q_nheap, q_capheap;
    size_t q_nstale; /* heap entries no longer current (their key's timer moved earlier) */
};

static int64_t now_ms(const struct workq *q)
{
    return q->q_opts.clock != NULL ? q->q_opts.clock(q->q_opts.clock_arg) : util_mono_ms();
}

static size_t round_pow2(size_t n)
{
    size_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

int workq_new(const struct workq_opts *o, struct workq **out)
{
    if (o == NULL)
        return -EINVAL;
    struct workq *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    q->q_opts = *o;
    q->q_nbuckets = round_pow2(o->buckets != 0 ? o->buckets : DEFAULT_BUCKETS);
    if ((q->q_tab = calloc(q->q_nbuckets, sizeof(*q->q_tab))) == NULL) {
        free(q);
        return -ENOMEM;
    }
    *out = q;
    return 0;
}

/* The payload's offset in a key named name: after it, aligned for any type. */
static size_t data_off(size_t name_len)
{
    size_t a = alignof(max_align_t);
    return (offsetof(struct workq_key, wk_name) + name_len + 1 + a - 1) / a * a;
}

static void key_free(struct workq *q, struct workq_key *k)
{
    if (k->wk_has_data && q->q_opts.fini != NULL)
        q->q_opts.fini(workq_key_data(k));
    free(k);
}

void workq_free(struct workq *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->q_nbuckets; i++) {
        struct workq_key *k = q->q_tab[i], *nx;
        for (; k != NULL; k = nx) {
            nx = k->wk_hnext;
            key_free(q, k);
        }
    }
    free(q->q_tab);
    free(q->q_heap);
    free(q);
}

/* ---- the set of keys ---- */

static uint64_t hash(const char *key)
{
    return util_fnv1a64(key, strlen(key));
}

static struct workq_key **bucket(const struct workq *q, uint64_t h)
{
    return &q->q_tab[(size_t)h & (q->q_nbuckets - 1)];
}

struct workq_key *workq_find(struct workq *q, const char *key)
{
    uint64_t h = hash(key);
    for (struct workq_key *k = *bucket(q, h); k != NULL; k = k->wk_hnext)
        if (k->wk_hash == h && strcmp(k->wk_name, key) == 0)
            return k;
    return NULL;
}

/* Doubles the table; on ENOMEM the old one stays (longer chains, still correct). */
static void grow(struct workq *q)
{
    size_t n = q->q_nbuckets * 2;
    struct workq_key **tab = calloc(n, sizeof(*tab));
    if (tab == NULL)
        return;
    for (size_t i = 0; i < q->q_nbuckets; i++) {
        struct workq_key *k = q->q_tab[i], *nx;
        for (; k != NULL; k = nx) {
            nx = k->wk_hnext;
            struct workq_key **b = &tab[(size_t)k->wk_hash & (n - 1)];
            k->wk_hnext = *b;
            *b = k;
        }
    }
    free(q->q_tab);
    q->q_tab = tab;
    q->q_nbuckets = n;
}

/* One allocation: the struct, the name, the payload at an offset aligned for any
 * type. */
static struct workq_key *key_alloc(const struct workq *q, const char *key)
{
    size_t dsz = q->q_opts.data_size, len = strlen(key);
    size_t sz = dsz != 0 ? data_off(len) + dsz : offsetof(struct workq_key, wk_name) + len + 1;
    struct workq_key *k = calloc(1, sz);
    if (k == NULL)
        return NULL;
    k->wk_has_data = dsz != 0;
    memcpy(k->wk_name, key, len + 1);
    return k;
}

int workq_insert(struct workq *q, const char *key, struct workq_key **out)
{
    struct workq_key *k = workq_find(q, key);
    if (k != NULL) {
        *out = k;
        return 0;
    }
    if (q->q_nkeys + 1 > q->q_nbuckets)
        grow(q);
    if ((k = key_alloc(q, key)) == NULL)
        return -ENOMEM;
    k->wk_hash = hash(key);
    struct workq_key **b = bucket(q, k->wk_hash);
    k->wk_hnext = *b;
    *b = k;
    q->q_nkeys++;
    *out = k;
    return 1;
}

const char *workq_key_str(const struct workq_key *k)
{
    return k->wk_name;
}

void *workq_key_data(struct workq_key *k)
{
    return k->wk_has_data ? (char *)k + data_off(strlen(k->wk_name)) : NULL;
}

bool workq_key_timer(const struct workq_key *k, int64_t *at)
{
    if (!k->wk_timed)
        return false;
    *at = k->wk_timer;
    return true;
}

static void unlink_free(struct workq *q, struct workq_key *k)
{
    for (struct workq_key **pp = bucket(q, k->wk_hash); *pp != NULL; pp = &(*pp)->wk_hnext) {
        if (*pp == k) {
            *pp = k->wk_hnext;
            q->q_nkeys--;
            key_free(q, k);
            return;
        }
    }
}

static void heap_compact(struct workq *q);

int workq_release(struct workq *q, struct workq_key *k)
{
    if (k->wk_pending || k->wk_processing || k->wk_timed)
        return -EBUSY;
    /* A stale entry lives until its time, which can be far (a deadline moved
     * earlier): without this, every key dropped after a burst would stay, payload
     * and all, until then. */
    if (k->wk_heaprefs != 0 && q->q_nstale >= COMPACT_MIN && q->q_nstale * 2 > q->q_nheap)
        heap_compact(q);
    if (k->wk_heaprefs != 0) {
        k->wk_released = true; /* a stale heap entry still points here: workq_fire frees it */
        return 1;
    }
    unlink_free(q, k);
    return 0;
}

size_t workq_nkeys(const struct workq *q)
{
    return q->q_nkeys;
}

/* ---- the FIFO ---- */

static void push(struct workq *q, struct workq_key *k)
{
    k->wk_qnext = NULL;
    if (q->q_tail != NULL)
        q->q_tail->wk_qnext = k;
    else
        q->q_head = k;
    q->q_tail = k;
    q->q_len++;
}

static void depth_hook(const struct workq *q)
{
    const struct workq_hooks *h = &q->q_opts.hooks;
    if (h->depth != NULL)
        h->depth(h->arg, q->q_pending);
}

bool workq_add(struct workq *q, struct workq_key *k)
{
    const struct workq_hooks *h = &q->q_opts.hooks;
    k->wk_released = false;
    if (k->wk_pending)
        return false;
    k->wk_pending = true;
    k->wk_added = now_ms(q);
    q->q_pending++;
    if (!k->wk_processing)
        push(q, k);
    if (h->added != NULL)
        h->added(h->arg);
    depth_hook(q);
    return true;
}

struct workq_key *workq_get(struct workq *q)
{
    const struct workq_hooks *h = &q->q_opts.hooks;
    struct workq_key *k = q->q_head;
    if (k == NULL)
        return NULL;
    q->q_head = k->wk_qnext;
    if (q->q_head == NULL)
        q->q_tail = NULL;
    q->q_len--;
    q->q_pending--;
    k->wk_qnext = NULL;
    k->wk_pending = false;
    k->wk_processing = true;
    if (h->waited != NULL)
        h->waited(h->arg, now_ms(q) - k->wk_added);
    depth_hook(q);
    return k;
}

void workq_done(struct workq *q, struct workq_key *k)
{
    if (!k->wk_processing)
        return;
    k->wk_processing = false;
    if (k->wk_pending)
        push(q, k);
}

int workq_claim(struct workq *q, struct workq_key *k)
{
    (void)q;
    if (k->wk_processing || k->wk_pending)
        return -EBUSY;
    k->wk_processing = true;
    k->wk_released = false;
    return 0;
}

size_t workq_len(const struct workq *q)
{
    return q->q_len;
}

/* ---- delayed adds: a min-heap on time with lazy deletion ---- */

static void heap_swap(struct workq *q, size_t a, size_t b)
{
    struct timer t = q->q_heap[a];
    q->q_heap[a] = q->q_heap[b];
    q->q_heap[b] = t;
}

int workq_add_at(struct workq *q, struct workq_key *k, int64_t at)
{
    if (k->wk_timed && k->wk_timer <= at)
        return 0; /* the earlier stays (a timed key is never released) */
    if (q->q_nheap == q->q_capheap) {
        size_t nc = q->q_capheap != 0 ? q->q_capheap * 2 : FIRST_HEAP;
        struct timer *nh = realloc(q->q_heap, nc * sizeof(*nh));
        if (nh == NULL)
            return -ENOMEM;
        q->q_heap = nh;
        q->q_capheap = nc;
    }
    if (k->wk_timed)
        q->q_nstale++; /* its entry at the later time */
    k->wk_released = false;
    k->wk_timed = true;
    k->wk_timer = at;
    k->wk_heaprefs++;
    size_t i = q->q_nheap++;
    q->q_heap[i] = (struct timer){at, k};
    while (i > 0 && q->q_heap[(i - 1) / 2].at > q->q_heap[i].at) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

bool workq_cancel_timer(struct workq *q, struct workq_key *k)
{
    if (!k->wk_timed)
        return false;
    k->wk_timed = false;
    q->q_nstale++; /* its entry: dropped by workq_fire or a compaction */
    return true;
}

static void sift_down(struct workq *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->q_nheap && q->q_heap[l].at < q->q_heap[m].at)
            m = l;
        if (r < q->q_nheap && q->q_heap[r].at < q->q_heap[m].at)
            m = r;
        if (m == i)
            break;
        heap_swap(q, i, m);
        i = m;
    }
}

static void heap_pop(struct workq *q)
{
    q->q_heap[0].k->wk_heaprefs--;
    q->q_heap[0] = q->q_heap[--q->q_nheap];
    sift_down(q, 0);
}

/* An entry is current while its key's timer is set to its time. */
static bool current(const struct timer *t)
{
    return t->k->wk_timed && t->k->wk_timer == t->at;
}

/* Drops every stale entry (freeing the released keys they kept) and heapifies the
 * rest. */
static void heap_compact(struct workq *q)
{
    size_t j = 0;
    for (size_t i = 0; i < q->q_nheap; i++) {
        struct timer t = q->q_heap[i];
        if (current(&t)) {
            q->q_heap[j++] = t;
            continue;
        }
        t.k->wk_heaprefs--;
        if (t.k->wk_released && t.k->wk_heaprefs == 0)
            unlink_free(q, t.k);
    }
    q->q_nheap = j;
    q->q_nstale = 0;
    for (size_t i = j / 2; i-- > 0;)
        sift_down(q, i);
}

int64_t workq_fire(struct workq *q)
{
    int64_t now = now_ms(q);
    while (q->q_nheap > 0) {
        struct timer t = q->q_heap[0];
        if (!current(&t)) {
            heap_pop(q);
            if (q->q_nstale > 0)
                q->q_nstale--;
            if (t.k->wk_released && t.k->wk_heaprefs == 0)
                unlink_free(q, t.k);
            continue;
        }
        if (t.at > now)
            return t.at - now;
        heap_pop(q);
        t.k->wk_timed = false;
        workq_add(q, t.k);
    }
    return -1;
}

size_t workq_nheap(const struct workq *q)
{
    return q->q_nheap;
}

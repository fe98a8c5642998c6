/* A keyed work queue for one thread: a set of keys each carrying the caller's
 * payload, a deduplicating FIFO of the keys to process, and a timer heap of delayed
 * adds. The reconciler's queue (roles/reconciler/reconciler.c); no NNG, no I/O.
 *
 * Why it is shaped so:
 *
 * - client-go's workqueue semantics where they fit: a key is queued once however
 *   many times it is added before it is taken (hints come in bursts); a key added
 *   while it is being processed (between workq_get and workq_done) is not handed
 *   out twice at once, but queued again at workq_done; a delayed add keeps the
 *   earlier of its time and a time already set (client-go's AddAfter "only sooner").
 * - One owner, no locks, and workq_get never blocks: the reconciler is one thread
 *   that polls its hint socket, so it asks workq_fire how long it may sleep rather
 *   than sleeping in the queue. Rate limiting stays with the caller, whose delays
 *   depend on what failed (a conflict, a rejection, a lost reply).
 * - Keys carry a payload (opts.data_size bytes, zeroed, stored with the key): the
 *   caller's per-key state (backoff counts, a creation whose reply was lost) lives
 *   exactly as long as the queue knows the key, and one lookup finds both. The
 *   payload's contents are the caller's; opts.fini frees what they point to.
 * - Timers use lazy deletion: moving a key's timer earlier pushes a new entry and
 *   leaves the old one in the heap, stale, instead of a decrease-key that would need
 *   every key to know its heap index. An entry counts only while its time is its
 *   key's current timer; stale entries are dropped when they reach the top.
 * - Safe key lifetime: a stale entry still points at its key, so a key is freed only
 *   once no heap entry refers to it (each key counts its entries). A key released
 *   while stale entries remain stays in the set, findable, until workq_fire pops the
 *   last of them and frees it; an add before then takes it back, payload and all.
 *   Freeing it at once was the heap-use-after-free of commit 390ee2d.
 * - Metrics through hooks (client-go's MetricsProvider): the queue does not know
 *   the metrics registry, and the workqueue_* families move exactly as before.
 * - Times are milliseconds of the clock in opts (util_mono_ms by default), so that
 *   tests drive time by hand. */
#ifndef OMJOB_LIB_WORKQ_WORKQ_H
#define OMJOB_LIB_WORKQ_WORKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workq;
/* One key: borrowed from its queue, valid until the key is freed (see
 * workq_release); find it again by name after that. */
struct workq_key;

/* Called by the queue, each optional; arg is the hooks' arg. */
struct workq_hooks {
    void (*added)(void *arg);                 /* a key became pending (not a duplicate) */
    void (*depth)(void *arg, size_t pending); /* after each change of the pending count */
    void (*waited)(void *arg, int64_t ms);    /* at workq_get: ms since the key's add */
    void *arg;
};

struct workq_opts {
    size_t data_size;            /* payload bytes per key (0: none) */
    void (*fini)(void *data);    /* frees what a payload points to; optional */
    size_t buckets;              /* initial hash buckets, rounded up to a power of 2; 0: 256 */
    int64_t (*clock)(void *arg); /* ms; NULL: util_mono_ms */
    void *clock_arg;
    struct workq_hooks hooks;
};

/* 0 with *out, -EINVAL (NULL opts) or -ENOMEM. Caller frees with workq_free. */
int workq_new(const struct workq_opts *o, struct workq **out);
/* Frees every key (calling fini on each payload), the heap and q. NULL is a no-op. */
void workq_free(struct workq *q);

/* ---- the set of keys ---- */

/* The key named key, or NULL. */
struct workq_key *workq_find(struct workq *q, const char *key);
/* The key named key, created (idle, payload zeroed) when absent: 1 with *out when
 * created, 0 with *out when it existed, -ENOMEM. The table doubles when it has more
 * keys than buckets (it stays as it is when that allocation fails). */
int workq_insert(struct workq *q, const char *key, struct workq_key **out);
/* The key's name, NUL-terminated, as long as the key lives. */
const char *workq_key_str(const struct workq_key *k);
/* The key's payload (data_size bytes, aligned for any type), or NULL when
 * data_size is 0. */
void *workq_key_data(struct workq_key *k);
/* True with *at when a delayed add of k is pending. */
bool workq_key_timer(const struct workq_key *k, int64_t *at);
/* The caller needs k no more. An idle key (not pending, not processing, no timer)
 * leaves the set: 0 when freed now; 1 when stale heap entries still point at it (it
 * is freed by the workq_fire that pops the last; an add before then keeps it, with
 * its payload). -EBUSY, and nothing changes, when k is not idle. */
int workq_release(struct workq *q, struct workq_key *k);
/* Keys in the set (released ones not yet freed included). */
size_t workq_nkeys(const struct workq *q);

/* ---- the FIFO ---- */

/* Makes k pending: queued at the tail, or, when it is being processed, queued at
 * workq_done. True when k became pending; false when it already was (a duplicate:
 * its place and its add time stay). Cancels a release. */
bool workq_add(struct workq *q, struct workq_key *k);
/* The oldest queued key, now processing until workq_done, or NULL when none. */
struct workq_key *workq_get(struct workq *q);
/* Ends the processing of k (from workq_get); k is queued again when it was added
 * meanwhile. A no-op when k is not processing. */
void workq_done(struct workq *q, struct workq_key *k);
/* Makes k processing (as workq_get would) without its being queued: for work on
 * a key that the caller has kept aside rather than queued. 0; -EBUSY, and
 * nothing changes, when k is processing or queued already (take it with
 * workq_get then). Its timer, if any, stays; workq_done ends it as usual (an
 * add meanwhile queues it then). Cancels a release. */
int workq_claim(struct workq *q, struct workq_key *k);
/* Keys queued, i.e. that workq_get would return one by one. */
size_t workq_len(const struct workq *q);

/* ---- delayed adds ---- */

/* Adds k at time at (ms of the queue's clock): k's timer becomes at unless one is
 * set at or before at already. A time already past fires at the next workq_fire.
 * Cancels a release. 0, or -ENOMEM with nothing changed. */
int workq_add_at(struct workq *q, struct workq_key *k, int64_t at);
/* Cancels k's timer (its heap entry becomes stale): true when one was set. For a
 * key whose object is gone, so that a far deadline does not keep it (and its
 * payload) until then. */
bool workq_cancel_timer(struct workq *q, struct workq_key *k);
/* Adds the keys whose time has come (in the order of their times), drops the stale
 * entries met on the way, and returns the ms until the next timer, or -1 when none
 * is set. */
int64_t workq_fire(struct workq *q);
/* Heap entries, current and stale (for tests and debugging). */
size_t workq_nheap(const struct workq *q);

#endif

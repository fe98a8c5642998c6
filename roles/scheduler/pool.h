/* The scheduler's workers: a few threads that take CronOMJob keys from the work
 * queue (lib/workq, which is for one thread: the pool's lock guards it) and make
 * their passes, so that several requests are in flight at once within the API
 * client's rate limit (its token bucket is shared by every thread of the process).
 *
 * Creates first: a first pass that creates a run's OMJob stops there, and while
 * other keys wait or run (sched_pool_contended) writes nothing but creates; what
 * else it has to write (the status, a deletion) it hands back as a continuation
 * (SP_DEFER),
 * which waits in a FIFO and is resumed only when no key is queued and no first
 * pass is running; the runs' Events come last of all (ops.idle). A deferred key
 * is not "processing": a hint or a timer for it (its next scheduled time) queues
 * it as any other, and its first pass takes the continuation over (pass gets it
 * in *cont) instead of waiting behind it, so a run due while the key's last
 * status write still waits is created first, and the status write, when it
 * comes, covers both. A resumed continuation claims its key (workq_claim): never
 * two passes of one key at once. So when many runs are due at the same second
 * every due run's OMJob is created (its token reserved) before any status write,
 * and every status write before any Event (docs/ARCHITECTURE.md, "The workers,
 * and creates first").
 *
 * Keys are handed out only once the pool is opened (sched_pool_open: the first
 * resync with the watcher is in). Timers (workq_add_at) fire in the workers. */
#ifndef OMJOB_ROLES_SCHEDULER_POOL_H
#define OMJOB_ROLES_SCHEDULER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct workq;
struct workq_key;
struct sched_pool;

enum sp_result {
    SP_DONE,  /* the pass is over */
    SP_GONE,  /* the pass is over and the key may be forgotten (no CronOMJob) */
    SP_DEFER, /* resume later with *cont (after every queued first pass) */
};

/* Called on the workers' threads, never two at once for the same key. */
struct sched_pool_ops {
    /* A first pass. *cont is the key's continuation still deferred (NULL when
     * none), now the pass's: it frees it, or hands it (or a new one) back in
     * *cont with SP_DEFER. */
    enum sp_result (*pass)(void *arg, struct workq_key *wk, void **cont);
    enum sp_result (*resume)(void *arg, struct workq_key *wk, void *cont);
    /* A continuation not resumed when the pool stops (frees it). */
    void (*drop)(void *arg, struct workq_key *wk, void *cont);
    /* The key's pass ended with SP_GONE; called with the pool locked, after
     * workq_done (the key may have been added again meanwhile). */
    void (*forget)(void *arg, struct workq *q, struct workq_key *wk);
    /* Optional: work of the lowest priority (the runs' Events), called once the
     * pool is open when no key is queued and no first pass, deferred one or
     * resumed one waits or runs. True when it did something (it is called
     * again), false when it had nothing. */
    bool (*idle)(void *arg);
    /* Where the pool keeps the key's deferred continuation (a pointer in the
     * key's payload, NULL while none: the pool's, called with the pool locked). */
    void **(*slot)(void *arg, struct workq_key *wk);
    void *arg;
};

/* Starts nworkers threads (1..16) over q, which the pool then guards: touch it
 * only through sched_pool_* or between sched_pool_lock and sched_pool_unlock.
 * 0 with *out, -EINVAL or a negative errno. */
int sched_pool_start(struct workq *q, int nworkers, const struct sched_pool_ops *ops,
                     struct sched_pool **out);
/* Stops the workers (each ends its pass), drops the continuations left, frees
 * the pool (not q). NULL is a no-op. */
void sched_pool_stop(struct sched_pool *p);
/* From now on keys are handed out. */
void sched_pool_open(struct sched_pool *p);

void sched_pool_lock(struct sched_pool *p);
/* Unlocks and wakes the workers (something may have been queued). */
void sched_pool_unlock(struct sched_pool *p);
/* Wakes the workers (idle work was queued). */
void sched_pool_kick(struct sched_pool *p);

/* The state of the key named key, created when create is set: its workq key
 * (NULL when absent or out of memory). Queues it when add is set. Locks. */
struct workq_key *sched_pool_key(struct sched_pool *p, const char *key, bool create, bool add);
/* workq_add_at (then workq_add when that fails). Locks. */
void sched_pool_add_at(struct sched_pool *p, struct workq_key *wk, int64_t at);
/* True when other work competes with the caller's first pass: a key queued, or
 * another first pass running (a create may be waiting). Locks. */
bool sched_pool_contended(struct sched_pool *p);
/* workq_nkeys. Locks. */
size_t sched_pool_nkeys(struct sched_pool *p);

/* Counters for tests: passes begun, continuations resumed, continuations taken
 * over by a first pass, idle calls that did something, and the most passes
 * (first, resumed, idle) seen running at once. */
struct sched_pool_stats {
    unsigned long passes, resumed, taken_over, idle;
    int max_busy;
};
void sched_pool_stats(struct sched_pool *p, struct sched_pool_stats *out);

#endif

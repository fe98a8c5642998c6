/* Worker threads over the caller's own work (the cleaner's deletions, the
 * scheduler's passes): the threads, one mutex, a condition variable on the
 * monotonic clock, and the stop; what the work is, and in which order it goes,
 * stays with the caller, who keeps it under the pool's lock.
 *
 * A worker, with the lock held, asks take() for work; when there is some it runs
 * it (run, unlocked) and reports it (done, locked again); when there is none it
 * sleeps until woken (wpool_unlock with a wake, wpool_wake) or until the time
 * take() gave. Each worker has an index (0 .. nworkers - 1): the caller keeps
 * what a worker took in a slot of its own per index, so take, run and done need
 * no allocation and no shared "current job" between them.
 *
 * Why one implementation: both roles had the same threads, lock, condition
 * variable, stop and join (roles/cleaner/pool.c, roles/scheduler/pool.c); what
 * differs, a FIFO of jobs with an eventfd for the loop versus a keyed queue with
 * deferred passes and idle work, is the take/done pair. */
#ifndef OMJOB_LIB_WORKQ_POOL_H
#define OMJOB_LIB_WORKQ_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wpool;

#define WPOOL_MAX_WORKERS 64

struct wpool_ops {
    /* Locked: claims work for worker w (a slot of the caller's): true; or false
     * with *wait_ms, how long the worker may sleep before asking again (-1: until
     * woken). Not called once the pool stops. */
    bool (*take)(void *arg, unsigned w, int64_t *wait_ms);
    /* Unlocked: does worker w's claimed work. */
    void (*run)(void *arg, unsigned w);
    /* Locked: worker w's work is over (optional). */
    void (*done)(void *arg, unsigned w);
    void *arg;
};

/* Starts nworkers threads (1..WPOOL_MAX_WORKERS), each with a stack of
 * stack_size bytes (0: the system's default). 0 with *out, -EINVAL, -ENOMEM or
 * the negative error of a thread's creation (the threads started are stopped). */
int wpool_start(unsigned nworkers, size_t stack_size, const struct wpool_ops *ops,
                struct wpool **out);
/* Stops the workers: each ends the work it runs (run and done), none takes more;
 * joins them and frees the pool. Work not taken is the caller's. NULL is a no-op. */
void wpool_stop(struct wpool *p);

unsigned wpool_workers(const struct wpool *p);

void wpool_lock(struct wpool *p);
/* Unlocks; wakes one sleeping worker (wake 1), all of them (wake > 1), or none
 * (0): wake them for what was queued under the lock. */
void wpool_unlock(struct wpool *p, int wake);
/* Wakes every sleeping worker (locks). */
void wpool_wake(struct wpool *p);
/* The same with the lock held (from take or done: more work may be taken). */
void wpool_wake_locked(struct wpool *p);

#endif

/* A small pool of worker threads for the cleaner's deletions: the loop submits
 * jobs, workers run them (each job a few API requests, sharing the process's one
 * API client and so its rate limiter), and the loop takes the finished ones back
 * when the pool's fd is readable. The table and the metrics stay with the loop's
 * thread: a worker touches only its job. With 0 workers a job runs at once in the
 * submitting thread (the unit tests' deterministic mode). The threads, their lock
 * and their stop are lib/workq/pool.h's (shared with the scheduler's workers). */
#ifndef OMJOB_ROLES_CLEANER_POOL_H
#define OMJOB_ROLES_CLEANER_POOL_H

#include <stddef.h>

/* The first member of every job: the pool links jobs through it. */
struct cl_job {
    struct cl_job *j_next;
};

/* Runs one job, on a worker (or the submitter with 0 workers). */
typedef void (*cl_pool_fn)(void *arg, struct cl_job *job);

struct cl_pool;

/* At most CL_POOL_MAX_WORKERS. 0, -EINVAL, -ENOMEM or the error of a thread's
 * creation. */
#define CL_POOL_MAX_WORKERS 64
int cl_pool_new(unsigned nworkers, cl_pool_fn fn, void *arg, struct cl_pool **out);
/* Stops the workers once the jobs they run are done; jobs not started and
 * finished jobs not taken are passed to drop (may be NULL). NULL is a no-op. */
void cl_pool_free(struct cl_pool *p, void (*drop)(struct cl_job *job));

/* Queues job (the pool holds it until cl_pool_take returns it). */
void cl_pool_submit(struct cl_pool *p, struct cl_job *job);
/* A finished job, or NULL when none is waiting. Never blocks. */
struct cl_job *cl_pool_take(struct cl_pool *p);
/* Jobs submitted and not taken back yet. */
size_t cl_pool_pending(const struct cl_pool *p);
/* Readable while finished jobs wait to be taken (an eventfd); -1 with 0 workers. */
int cl_pool_fd(const struct cl_pool *p);

#endif

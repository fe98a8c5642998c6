/* Views older than this process's own writes. The watcher's streams are separate
 * per resource, so a pass may see a pod's latest change with an OMJob the cache
 * has not yet brought up to the status write this process made a moment ago: a
 * finished OMJob still "ExitHandlerRunning" next to its exit pod, gone since the
 * write released it, reads as "exit pod not created yet" and would run the exit
 * handler a second time. A merge patch with a precondition replaces exactly one
 * resourceVersion; a view that shows one this process replaced is behind its own
 * writes, and the pass waits for the cache (the OMJob's change is on its way as
 * a hint). Exact matches only: resourceVersions are opaque, never ordered. Pure;
 * no I/O. A key holds a struct behind only while its writes are in flight (from
 * behind_note until a view has caught up): 336 bytes that every idle key, 10,000 of
 * them at scale, would otherwise carry for nothing; NULL stands for the empty set. */
#ifndef OMJOB_ROLES_RECONCILER_BEHIND_H
#define OMJOB_ROLES_RECONCILER_BEHIND_H

#include <stdbool.h>
#include <stdint.h>

/* How many replaced resourceVersions one key remembers: a pass writes the OMJob
 * a few times at most (status, then its finalizer), and the set is emptied once
 * a view shows none of them. */
#define BEHIND_MAX 8
#define BEHIND_RV_BUF 40

/* How long a key waits for the cache to catch up before deciding on the view it
 * has anyway (stale views stay safe for every other write: preconditions and
 * deterministic names), with a warning. */
#define BEHIND_GIVE_UP_MS 10000

struct behind {
    char rv[BEHIND_MAX][BEHIND_RV_BUF];
    int n;            /* entries in use; the oldest is dropped when full */
    int64_t since_ms; /* when the current wait began (0: not waiting) */
};

/* A write based on resourceVersion rv was applied: a view showing rv is behind.
 * Allocates *b when it is NULL (out of memory: nothing is remembered, the pass
 * decides on the view it gets, as before this guard existed). Ignored when rv is
 * NULL, empty or too long to keep. */
void behind_note(struct behind **b, const char *rv);

enum behind_verdict {
    BEHIND_FRESH,   /* decide on this view */
    BEHIND_WAIT,    /* the view shows a version this process replaced: wait */
    BEHIND_GIVE_UP, /* waited BEHIND_GIVE_UP_MS: decide on it anyway (once) */
};

/* Judges a view whose OMJob has resourceVersion rv (NULL: no OMJob) at now_ms
 * (*b NULL: nothing in flight, BEHIND_FRESH). A view showing none of the replaced
 * versions has caught up (or the OMJob is gone): the set is emptied and freed, *b
 * NULL again; so it is after BEHIND_GIVE_UP. */
enum behind_verdict behind_check(struct behind **b, const char *rv, int64_t now_ms);

/* Frees *b (may be NULL) and sets it to NULL. */
void behind_free(struct behind **b);

#endif

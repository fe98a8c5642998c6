/* The cleaner's pure part: when a finished OMJob expires (status and
 * ttlSecondsAfterFinished read from its JSON), and the table of every OMJob key
 * the cleaner knows, with a min-heap of the scheduled ones ordered by the time to
 * act. No I/O, no clock: the caller passes times in. Single-threaded. */
#ifndef OMJOB_ROLES_CLEANER_TTL_H
#define OMJOB_ROLES_CLEANER_TTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/ipc/msg.h"

/* spec.ttlSecondsAfterFinished when absent (the CRD's default). */
#define TTL_DEFAULT_S 86400
/* Retry backoff after a failed GET or DELETE: 1 s doubling to 30 s. */
#define TTL_BACKOFF_MIN_MS 1000
#define TTL_BACKOFF_MAX_MS 30000

/* What an OMJob says about its expiry. Strings are borrowed from the object. */
struct ttl_state {
    const char *uid;
    const char *completion; /* status.completionTime as written; NULL when absent */
    bool finished;          /* phase Succeeded or Failed, and a valid completionTime */
    bool deleting;          /* metadata.deletionTimestamp set: already going */
    int64_t completion_ms;  /* unix ms of completionTime (when finished) */
    int64_t ttl_s;          /* spec.ttlSecondsAfterFinished, TTL_DEFAULT_S when absent */
    int64_t expiry_ms;      /* completion_ms + ttl_s * 1000 (when finished) */
};

/* Reads omj (an OMJob as the API server or the watcher serves it). 0; -EINVAL
 * without metadata.uid or with a ttlSecondsAfterFinished that is not an integer
 * from 0 to 2^31-1 (the CRD rejects those; never deleted then). *out is written
 * on success only. */
int ttl_eval(struct json_object *omj, struct ttl_state *out);

/* The same from the TTL facts a watcher's "ttl" hint carries (lib/ipc/msg.h,
 * read from the cached OMJob as ttl_eval reads it): the same checks and answer.
 * s->uid points into t; s->completion is NULL. -EINVAL also for an OMJob gone
 * (no IPC_TTL_PRESENT). */
int ttl_eval_hint(const struct ipc_ttl *t, struct ttl_state *out);

/* True when the cleaner must delete it at s->expiry_ms: finished, not deleting. */
bool ttl_due(const struct ttl_state *s);

/* The wait before retry number `failures` (1, 2, ...): 1 s, 2 s, 4 s ... 30 s. */
int64_t ttl_backoff_ms(int failures);

/* The ResourcesCleanedUp message: "deleted 3.2 s after completion
 * (ttlSecondsAfterFinished=3)". */
void ttl_message(char *buf, size_t cap, int64_t completion_ms, int64_t now_ms, int64_t ttl_s);

/* ---- the table ---- */

#define TTL_UID_MAX 64
/* A resourceVersion (etcd's: a decimal int64) with its NUL; a longer one is not
 * kept, and the deletion reads the object first. */
#define TTL_RV_MAX 24

/* One OMJob key the cleaner knows. The table owns it; fields are the caller's to
 * read and write except te_key and the heap position. */
struct ttl_entry {
    char *te_key;              /* "namespace/name" */
    uint64_t te_revision;      /* watcher cache revision handled; 0: GET it again */
    uint32_t te_stamp;         /* resync sweep mark */
    int64_t te_at_ms;          /* scheduled: when to act (expiry, or a retry) */
    int64_t te_expiry_ms;      /* the OMJob's expiry (for the delay metric) */
    int64_t te_ttl_s;          /* its ttlSecondsAfterFinished */
    int te_failures;           /* failed attempts in a row */
    bool te_inflight;          /* a deletion job runs for it (expire.c) */
    bool te_dirty;             /* rescheduled while that job ran */
    char te_uid[TTL_UID_MAX];  /* of the incarnation scheduled */
    char te_rv[TTL_RV_MAX];    /* resourceVersion of the version judged; "" unknown */
    size_t te_heap;            /* position in the heap; TTL_UNSCHEDULED when not in it */
    struct ttl_entry *te_next; /* hash chain */
};
#define TTL_UNSCHEDULED ((size_t)-1)

struct ttl_table;

int ttl_table_new(struct ttl_table **out);
/* Frees every entry. NULL is a no-op. */
void ttl_table_free(struct ttl_table *t);

/* The entry of key, or NULL. */
struct ttl_entry *ttl_find(struct ttl_table *t, const char *key);
/* The entry of key, created (unscheduled, revision 0) when absent; NULL on ENOMEM. */
struct ttl_entry *ttl_add(struct ttl_table *t, const char *key);
/* Unschedules, removes and frees e. */
void ttl_forget(struct ttl_table *t, struct ttl_entry *e);

/* Keeps rv in e->te_rv, or "" when it is NULL or too long. */
void ttl_set_rv(struct ttl_entry *e, const char *rv);

/* Puts e in the heap at at_ms, or moves it there. 0 or -ENOMEM. */
int ttl_schedule(struct ttl_table *t, struct ttl_entry *e, int64_t at_ms);
/* Takes e out of the heap (no-op when not in it). */
void ttl_unschedule(struct ttl_table *t, struct ttl_entry *e);
static inline bool ttl_scheduled(const struct ttl_entry *e)
{
    return e->te_heap != TTL_UNSCHEDULED;
}
/* The scheduled entry with the smallest te_at_ms, or NULL. */
struct ttl_entry *ttl_peek(const struct ttl_table *t);

size_t ttl_count(const struct ttl_table *t);
size_t ttl_nscheduled(const struct ttl_table *t);

/* Sets every entry's te_revision to 0 (the watcher restarted: its revisions mean
 * nothing any more). */
void ttl_invalidate(struct ttl_table *t);
/* Forgets every entry whose te_stamp differs from stamp (keys gone from the
 * watcher's list). Returns how many. */
size_t ttl_sweep(struct ttl_table *t, uint32_t stamp);

#endif

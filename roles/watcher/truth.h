/* The watcher's truth server: the REP handler answering GET_KEY and LIST_SHARD
 * from the cache (bodies in docs/PROTOCOL.md, "Watcher bodies"). Pure over the
 * cache, so unit tests call it without NNG. */
#ifndef OMJOB_ROLES_WATCHER_TRUTH_H
#define OMJOB_ROLES_WATCHER_TRUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ipc/reqrep.h"
#include "roles/watcher/cache.h"

/* Largest shard count a LIST_SHARD may name. */
#define WATCHER_SHARDS_MAX 1024

/* ipc_rep_fn with arg a struct wcache *. Answers GET_KEY_REPLY, LIST_SHARD_REPLY,
 * or a negative errno (-EINVAL for a malformed body, -EOPNOTSUPP for another
 * request type). Idempotent: it only reads. */
int watcher_truth_handle(void *arg, const struct ipc_msg *req, struct ipc_reply *rep);

/* A GET_KEY body: "ns/name", or "OMJOB ns/name", or "CRONOMJOB ns/name". Writes
 * the key's offset and length in body and whether it names a CronOMJob.
 * 0 or -EINVAL. */
int watcher_parse_get_key(const char *body, size_t len, size_t *off, size_t *klen, bool *cron);

/* A LIST_SHARD body: a JSON object with optional "kind" ("OMJOB" default, or
 * "CRONOMJOB") and optional "shard" and "shards" (both or neither; neither: every
 * key). An empty body means {}. 0 or -EINVAL. */
int watcher_parse_list(const char *body, size_t len, struct wc_listq *q);

/* The topics of a change hint (docs/PROTOCOL.md, "Watcher bodies"): OMJob ->
 * shard.<i>, and ttl when finished (it had or has a completionTime: the cleaner
 * needs no other); pod -> shard.<i> (i of its OMJob's key); CronOMJob (a
 * CronOMJob's change, or one of an OMJob it controls, keyed by the CronOMJob) ->
 * cron.
 * Writes up to two NUL-terminated topics; returns how many, or -EINVAL. */
#define WATCHER_TOPIC_MAX 32
int watcher_hint_topics(enum ipc_kind kind, const char *ns, const char *name, int shards,
                        bool finished, char topics[2][WATCHER_TOPIC_MAX]);

#endif

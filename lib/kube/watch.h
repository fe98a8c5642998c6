/* WATCH as a stream: one long GET ?watch=1 whose newline-delimited JSON events are
 * split (watchsplit.h), decoded (watchevent.h) and handed to a callback, tracking
 * the last resourceVersion (bookmarks included) so that the next run resumes from
 * it. A run ends with a reason that tells the caller what to do:
 *
 *   TIMEOUT       the server closed the stream (timeoutSeconds) or the client cap
 *                 hit: run again at once (resumes from the last resourceVersion).
 *   EXPIRED       410 Gone (HTTP or an ERROR event), or "Too large resource
 *                 version": the resourceVersion was forgotten; LIST again, set the
 *                 list's resourceVersion, run again.
 *   STALLED       no byte for stall_seconds: run again after a backoff.
 *   DISCONNECTED  transport error (err says which): run again after a backoff.
 *   HTTP_ERROR    other non-200 answer or ERROR event (err: code, reason,
 *                 message): back off; 401 re-reads the token file first.
 *   BAD_STREAM    an event could not be decoded or exceeded max_line: one event is
 *                 lost, so relist (resuming would hit the same event again).
 *   CANCELLED     kube_watch_cancel() was called.
 *   STOPPED       the callback returned nonzero.
 *   FAILED        local error (bad parameters, out of memory, configuration).
 *
 * Retrying and backing off are the caller's (see kube_backoff in retry.h, which
 * has client-go's reflector numbers). */
#ifndef OMJOB_LIB_KUBE_WATCH_H
#define OMJOB_LIB_KUBE_WATCH_H

#include <stddef.h>

#include "lib/kube/client.h"
#include "lib/kube/watchevent.h"

enum kube_watch_end {
    KUBE_WATCH_RUNNING, /* kube_watch_start/step only: not ended */
    KUBE_WATCH_TIMEOUT,
    KUBE_WATCH_EXPIRED,
    KUBE_WATCH_STALLED,
    KUBE_WATCH_DISCONNECTED,
    KUBE_WATCH_HTTP_ERROR,
    KUBE_WATCH_BAD_STREAM,
    KUBE_WATCH_CANCELLED,
    KUBE_WATCH_STOPPED,
    KUBE_WATCH_FAILED,
};

const char *kube_watch_end_str(enum kube_watch_end e);

/* A connection that stays open but delivers nothing (a dead peer, a stuck proxy:
 * TCP keepalive does not see a peer whose kernel still answers) is noticed only
 * by the client's clocks: the API server need not send anything on a quiet watch
 * (bookmarks come about once a minute) and HTTP/1.1 has no pings. So by default
 * the server is asked to end every watch within [30, 45) s (client-go asks for
 * 5-10 min; resuming from the last resourceVersion costs one request), and a run
 * that has received no byte for timeoutSeconds + 15 s ends as STALLED: a silent
 * connection is restarted within 60 s. */
#define KUBE_WATCH_TIMEOUT_MIN_S 30
#define KUBE_WATCH_TIMEOUT_SPREAD_S 15
#define KUBE_WATCH_STALL_SLACK_S 15

struct kube_watch_params {
    /* The collection: gv, plural, ns (NULL: all namespaces); name and sub unset.
     * To watch one object use field_selector "metadata.name=<name>". */
    struct kube_ref ref;
    const char *label_selector;
    const char *field_selector;
    /* Server-side timeoutSeconds; 0: random in [KUBE_WATCH_TIMEOUT_MIN_S,
     * + KUBE_WATCH_TIMEOUT_SPREAD_S). */
    int timeout_seconds;
    /* No byte for this long ends the run with STALLED; 0: timeout_seconds +
     * KUBE_WATCH_STALL_SLACK_S. */
    int stall_seconds;
    /* Longest event line; 0: KUBE_WSPLIT_MAX_DEFAULT (16 MiB). */
    size_t max_line;
    /* Optional: called with the callback's ctx, on the run's thread, each time
     * the run is about to wait for more data (every event read so far has been
     * delivered), so a caller can flush what it collected from a burst of events
     * (the watcher's hints) without a timer. */
    void (*idle)(void *ctx);
    /* Optional: only these members of each event's object are built (see
     * jx_parser_parse_keep; what is not named is cut, managedFields included). */
    const struct jx_keep *keep;
    /* Optional, not with keep: this member of each event's object is cut unparsed
     * and its text handed to the callback (kube_evparser_cut, kube_event.cut). */
    const char *cut;
};

/* Called for every ADDED, MODIFIED, DELETED and BOOKMARK event (ERROR events end
 * the run instead), from inside kube_watch_run/step, on their thread. ev and its
 * object are borrowed for the call. The callback may make other requests on the
 * same client. Return 0 to go on; nonzero ends the run with STOPPED (the event's
 * resourceVersion is then not recorded). */
typedef int (*kube_watch_cb)(void *ctx, const struct kube_event *ev);

struct kube_watch;

/* A watch on client c (which must outlive it). 0 or -ENOMEM. */
int kube_watch_new(struct kube_client *c, struct kube_watch **out);
/* No run may be in progress. NULL is a no-op. */
void kube_watch_free(struct kube_watch *w);

/* Where the next run starts: usually the resourceVersion of the LIST that filled
 * the cache. NULL or "" sends none: the API server then starts with the current
 * state, one synthetic ADDED event per existing object, before the changes (as
 * for "0", which may serve an older state from its cache). -EINVAL when too
 * long. */
int kube_watch_set_resource_version(struct kube_watch *w, const char *rv);
/* The last resourceVersion seen (list, event or bookmark); "" when none. Borrowed;
 * read it between runs (or from the callback). */
const char *kube_watch_resource_version(const struct kube_watch *w);

/* Runs one watch request until it ends; blocking. err (may be NULL) is filled for
 * DISCONNECTED, HTTP_ERROR, EXPIRED, BAD_STREAM and FAILED. */
enum kube_watch_end kube_watch_run(struct kube_watch *w, const struct kube_watch_params *p,
                                   kube_watch_cb cb, void *ctx, struct kube_err *err);

/* The same, in steps, for callers that interleave other work on one thread:
 * kube_watch_start sends the request (it may wait for the rate limiter) and
 * returns RUNNING or an end; then call kube_watch_step until it returns something
 * else than RUNNING. Each step waits at most timeout_ms for data. p is copied. */
enum kube_watch_end kube_watch_start(struct kube_watch *w, const struct kube_watch_params *p,
                                     kube_watch_cb cb, void *ctx, struct kube_err *err);
enum kube_watch_end kube_watch_step(struct kube_watch *w, int timeout_ms, struct kube_err *err);

/* Ends the current run with CANCELLED as soon as possible; every later run or
 * start returns CANCELLED at once (cancellation is final). Thread-safe: meant to
 * be called from another thread than the one running the watch. */
void kube_watch_cancel(struct kube_watch *w);

/* Events delivered (bookmarks included) over the watch's life. */
unsigned long kube_watch_event_count(const struct kube_watch *w);

#endif

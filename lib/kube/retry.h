/* Retry decisions, the Retry-After parser, jittered exponential backoff and the
 * client-side token-bucket rate limiter, all pure functions of their inputs (time
 * and randomness are arguments) so that they are tested without sleeping.
 *
 * Retry policy (kube_retry_delay_ms):
 *  - Safe requests (KUBE_IDEM_SAFE): GET and LIST, PUT (an update carries
 *    metadata.resourceVersion, so a replay after a lost response fails with 409
 *    Conflict instead of overwriting; a full PUT without it is idempotent anyway),
 *    DELETE (a replay gets 404 or a failed precondition, never a second deletion),
 *    merge patches and server-side apply (applying the same patch twice gives the
 *    same object). Retried on connection errors, client timeouts, 429, 500, 502,
 *    503 and 504.
 *  - Unsafe requests (KUBE_IDEM_UNSAFE): POST (create, eviction) and JSON patch
 *    (its "add" to an array is not idempotent). Retried only when the server cannot
 *    have acted: the connection failed before anything was sent (KUBE_ERRK_CONNECT),
 *    or the answer was 429, or 5xx with a Retry-After header (the API server's
 *    way of saying "not processed, come back"; client-go retries exactly those).
 *    A create that does get retried may still meet 409 AlreadyExists when the first
 *    attempt was applied after all: that is the caller's concern (kube_err.attempts
 *    tells it a retry happened; the operator's deterministic names and owner UIDs
 *    make "AlreadyExists and ours" mean "done").
 *  - Nothing else is retried (4xx, TLS, decode, config errors).
 *  - The delay is the Retry-After value when the server sent one (capped at
 *    max_retry_after_ms), else base_ms * 2^(attempt-1), capped at max_ms, times a
 *    jitter factor in [1, 2).
 */
#ifndef OMJOB_LIB_KUBE_RETRY_H
#define OMJOB_LIB_KUBE_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/kube/err.h"

enum kube_idem { KUBE_IDEM_SAFE, KUBE_IDEM_UNSAFE };

const char *kube_idem_str(enum kube_idem i);

struct kube_retry_policy {
    int max_attempts; /* attempts in all, the first included; 1 = never retry */
    int64_t base_ms;
    int64_t max_ms;
    int64_t max_retry_after_ms;
};

#define KUBE_RETRY_POLICY_DEFAULT                                                                  \
    {                                                                                              \
        5, 250, 30000, 60000                                                                       \
    }

/* Given the error of attempt number `attempts` (1-based), returns how long to wait
 * before the next attempt in milliseconds, or -1 not to retry. rand01 in [0, 1). */
int64_t kube_retry_delay_ms(const struct kube_retry_policy *p, enum kube_idem idem,
                            const struct kube_err *e, int attempts, double rand01);

/* Parses a Retry-After header value: delta-seconds ("120") or an IMF-fixdate
 * ("Wed, 21 Oct 2015 07:28:00 GMT", relative to now; a past date gives 0).
 * 0 and *secs, or -EINVAL. Values are capped at 86400. */
int kube_retry_after_parse(const char *value, time_t now, int *secs);

/* client-go's reflector backoff for LIST/WATCH failures: initial 800 ms, factor 2,
 * max 30 s, jitter 1.0 (so delays end in [30, 60) s), reset after 2 min without a
 * failure. Use KUBE_BACKOFF_WATCH_DEFAULT or fill the fields. */
struct kube_backoff {
    int64_t initial_ms;
    int64_t max_ms;
    int64_t reset_ms;
    double factor;
    double jitter;
    int64_t cur_ms;  /* next un-jittered delay; 0 before the first */
    int64_t last_ms; /* time of the last kube_backoff_next() */
};

#define KUBE_BACKOFF_WATCH_DEFAULT                                                                 \
    {                                                                                              \
        800, 30000, 120000, 2.0, 1.0, 0, 0                                                         \
    }

/* The delay before the next try, at time now_ms (any monotonic origin). */
int64_t kube_backoff_next(struct kube_backoff *b, int64_t now_ms, double rand01);
/* Forgets past failures. */
void kube_backoff_reset(struct kube_backoff *b);

/* Token bucket: burst tokens, refilled at qps per second. Reservations may take
 * the bucket negative, so concurrent callers queue fairly (like Go's
 * x/time/rate Reserve). qps <= 0 disables limiting. */
struct kube_ratelimit {
    double qps;
    double burst;
    double tokens;
    int64_t last_ns;
};

/* Starts with a full bucket at time now_ns. */
void kube_ratelimit_init(struct kube_ratelimit *rl, double qps, int burst, int64_t now_ns);
/* Takes one token at now_ns; returns how many ns the caller must wait before
 * proceeding (0 when a token was available). */
int64_t kube_ratelimit_reserve(struct kube_ratelimit *rl, int64_t now_ns);

#endif

/* Retry decisions, Retry-After parsing, backoff and rate limiting: pure functions
 * (see retry.h for the policy). */
#include "lib/kube/retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *kube_idem_str(enum kube_idem i)
{
    return i == KUBE_IDEM_SAFE ? "safe" : i == KUBE_IDEM_UNSAFE ? "unsafe" : "unknown";
}

static bool retryable_http(enum kube_idem idem, const struct kube_err *e)
{
    if (e->http == 429)
        return true;
    bool gateway = e->http == 500 || e->http == 502 || e->http == 503 || e->http == 504;
    if (!gateway)
        return false;
    return idem == KUBE_IDEM_SAFE || e->retry_after >= 0;
}

static bool retryable(enum kube_idem idem, const struct kube_err *e)
{
    switch (e->kind) {
    case KUBE_ERRK_CONNECT:
        return true;
    case KUBE_ERRK_TRANSPORT:
    case KUBE_ERRK_TIMEOUT:
        return idem == KUBE_IDEM_SAFE;
    case KUBE_ERRK_HTTP:
        return retryable_http(idem, e);
    default:
        return false;
    }
}

int64_t kube_retry_delay_ms(const struct kube_retry_policy *p, enum kube_idem idem,
                            const struct kube_err *e, int attempts, double rand01)
{
    if (attempts >= p->max_attempts || !retryable(idem, e))
        return -1;
    if (e->kind == KUBE_ERRK_HTTP && e->retry_after >= 0) {
        int64_t ms = (int64_t)e->retry_after * 1000;
        return ms < p->max_retry_after_ms ? ms : p->max_retry_after_ms;
    }
    int64_t d = p->base_ms;
    for (int i = 1; i < attempts && d < p->max_ms; i++)
        d *= 2;
    if (d > p->max_ms)
        d = p->max_ms;
    return d + (int64_t)((double)d * rand01);
}

static int parse_delta(const char *s, int *secs)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno != 0 || v < 0)
        return -EINVAL;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -EINVAL;
    *secs = v > 86400 ? 86400 : (int)v;
    return 0;
}

static int parse_date(const char *s, time_t now, int *secs)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL)
        return -EINVAL;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    long long d = (long long)t - (long long)now;
    *secs = d < 0 ? 0 : d > 86400 ? 86400 : (int)d;
    return 0;
}

int kube_retry_after_parse(const char *value, time_t now, int *secs)
{
    if (value == NULL)
        return -EINVAL;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9')
        return parse_delta(value, secs);
    return parse_date(value, now, secs);
}

int64_t kube_backoff_next(struct kube_backoff *b, int64_t now_ms, double rand01)
{
    if (b->cur_ms == 0 || now_ms - b->last_ms > b->reset_ms)
        b->cur_ms = b->initial_ms;
    b->last_ms = now_ms;
    int64_t d = b->cur_ms;
    int64_t next = (int64_t)((double)d * b->factor);
    b->cur_ms = next > b->max_ms ? b->max_ms : next;
    return d + (int64_t)((double)d * b->jitter * rand01);
}

void kube_backoff_reset(struct kube_backoff *b)
{
    b->cur_ms = 0;
}

void kube_ratelimit_init(struct kube_ratelimit *rl, double qps, int burst, int64_t now_ns)
{
    rl->qps = qps;
    rl->burst = burst < 1 ? 1 : burst;
    rl->tokens = rl->burst;
    rl->last_ns = now_ns;
}

int64_t kube_ratelimit_reserve(struct kube_ratelimit *rl, int64_t now_ns)
{
    if (rl->qps <= 0)
        return 0;
    if (now_ns > rl->last_ns) {
        rl->tokens += (double)(now_ns - rl->last_ns) * rl->qps / 1e9;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last_ns = now_ns;
    }
    rl->tokens -= 1;
    if (rl->tokens >= 0)
        return 0;
    return (int64_t)(-rl->tokens / rl->qps * 1e9 + 0.5);
}

/* Unit tests of the kube library's pure parts: path building and URL escaping,
 * Status error parsing and the whole errno and reason mapping, retry decisions,
 * Retry-After, backoff and the token-bucket rate limiter (as functions of time). */
#include "lib/kube/err.h"
#include "lib/kube/internal.h"
#include "lib/kube/path.h"
#include "lib/kube/retry.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path_of(const struct kube_ref *r, const struct kube_param *p, size_t n)
{
    static char buf[KUBE_PATH_MAX];
    int rc = kube_path(buf, sizeof(buf), r, p, n);
    return rc < 0 ? "<error>" : buf;
}

static void test_paths(void)
{
    struct kube_ref pods = {"v1", "pods", "ns1", NULL, NULL};
    CU_ASSERT_STRING_EQUAL(path_of(&pods, NULL, 0), "/api/v1/namespaces/ns1/pods");
    struct kube_ref all = {"v1", "pods", NULL, NULL, NULL};
    CU_ASSERT_STRING_EQUAL(path_of(&all, NULL, 0), "/api/v1/pods");
    struct kube_ref st = {"v1", "pods", "ns1", "p-1", "status"};
    CU_ASSERT_STRING_EQUAL(path_of(&st, NULL, 0), "/api/v1/namespaces/ns1/pods/p-1/status");
    struct kube_ref om = {"pipelines.openmetadata.org/v1", "omjobs", "ns", "job", NULL};
    CU_ASSERT_STRING_EQUAL(path_of(&om, NULL, 0),
                           "/apis/pipelines.openmetadata.org/v1/namespaces/ns/omjobs/job");
    struct kube_ref crd = {"apiextensions.k8s.io/v1", "customresourcedefinitions", "",
                           "omjobs.pipelines.openmetadata.org", ""};
    CU_ASSERT_STRING_EQUAL(path_of(&crd, NULL, 0),
                           "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                           "omjobs.pipelines.openmetadata.org");
    struct kube_ref ev = {"v1", "pods", "ns", "p", "eviction"};
    CU_ASSERT_STRING_EQUAL(path_of(&ev, NULL, 0), "/api/v1/namespaces/ns/pods/p/eviction");
    struct kube_ref odd = {"v1", "configmaps", "n s", "a/b?c", NULL};
    CU_ASSERT_STRING_EQUAL(path_of(&odd, NULL, 0), "/api/v1/namespaces/n%20s/configmaps/a%2Fb%3Fc");
}

static void test_query(void)
{
    struct kube_ref pods = {"v1", "pods", "ns", NULL, NULL};
    struct kube_param p[] = {
        {"labelSelector", "app in (a,b),tier!=x"},
        {"fieldSelector", NULL},
        {"limit", "500"},
        {"continue", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ=="},
        {"x", "\xc3\xa9&=+#%"},
    };
    CU_ASSERT_STRING_EQUAL(path_of(&pods, p, 5),
                           "/api/v1/namespaces/ns/pods?labelSelector=app%20in%20%28a%2Cb%29%2C"
                           "tier%21%3Dx&limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6"
                           "MTIzfQ%3D%3D&x=%C3%A9%26%3D%2B%23%25");
    struct kube_param none[] = {{"a", NULL}, {"b", "1"}};
    CU_ASSERT_STRING_EQUAL(path_of(&pods, none, 2), "/api/v1/namespaces/ns/pods?b=1");
    char small[8];
    CU_ASSERT_EQUAL(kube_url_escape(small, sizeof(small), "abcdefg"), 7);
    CU_ASSERT_EQUAL(kube_url_escape(small, sizeof(small), "abcdefgh"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(kube_url_escape(small, sizeof(small), "abcde/"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(kube_url_escape(small, sizeof(small), "abcd/"), 7);
    CU_ASSERT_STRING_EQUAL(small, "abcd%2F");
    CU_ASSERT_EQUAL(kube_url_escape(small, sizeof(small), "-._~"), 4);
}

static void test_bad_refs(void)
{
    char buf[64];
    struct kube_ref bad[] = {
        {NULL, "pods", NULL, NULL, NULL},    {"v1", NULL, NULL, NULL, NULL},
        {"/v1", "pods", NULL, NULL, NULL},   {"g/", "pods", NULL, NULL, NULL},
        {"a/b/c", "pods", NULL, NULL, NULL}, {"v1", "pods", "ns", NULL, "status"},
        {"v1", "pods", "..", "x", NULL},     {"v1", "pods", "ns", ".", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(kube_path(buf, sizeof(buf), &bad[i], NULL, 0), -EINVAL);
    struct kube_ref ok = {"v1", "pods", "a-long-namespace-name", "a-long-pod-name-too", NULL};
    CU_ASSERT_EQUAL(kube_path(buf, 20, &ok, NULL, 0), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(kube_path(buf, 0, &ok, NULL, 0), -ENAMETOOLONG);
}

static void test_status_parse(void)
{
    struct kube_err e;
    const char *body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                       "\"Failure\",\"message\":\"pods \\\"x\\\" already exists\",\"reason\":"
                       "\"AlreadyExists\",\"details\":{\"name\":\"x\",\"kind\":\"pods\"},"
                       "\"code\":409}";
    kube_err_clear(&e);
    kube_err_from_response(&e, 409, body, strlen(body));
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_HTTP);
    CU_ASSERT_EQUAL(e.http, 409);
    CU_ASSERT_STRING_EQUAL(e.reason, "AlreadyExists");
    CU_ASSERT_STRING_EQUAL(e.message, "pods \"x\" already exists");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EEXIST);
    const char *conflict = "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"the "
                           "object has been modified\",\"code\":409}";
    kube_err_from_response(&e, 409, conflict, strlen(conflict));
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ESTALE);
    /* Not a Status: reason from the code, message from the body, sanitized. */
    kube_err_from_response(&e, 503, "upstream\nconnect error", 22);
    CU_ASSERT_STRING_EQUAL(e.reason, "ServiceUnavailable");
    CU_ASSERT_STRING_EQUAL(e.message, "upstream connect error");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EIO);
    kube_err_from_response(&e, 404, NULL, 0);
    CU_ASSERT_STRING_EQUAL(e.reason, "NotFound");
    CU_ASSERT_STRING_EQUAL(e.message, "");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ENOENT);
    /* A huge message is truncated, not overflowed. */
    char big[2000];
    int n = snprintf(big, sizeof(big),
                     "{\"kind\":\"Status\",\"reason\":\"%0100d\",\"message\":\"%01000d\"}", 0, 0);
    kube_err_from_response(&e, 422, big, (size_t)n);
    CU_ASSERT_EQUAL(strlen(e.reason), sizeof(e.reason) - 1);
    CU_ASSERT_EQUAL(strlen(e.message), sizeof(e.message) - 1);
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EINVAL);
    struct {
        int http;
        int err;
    } map[] = {{401, -EACCES},    {403, -EPERM},  {410, -ESTALE}, {429, -EAGAIN},
               {408, -ETIMEDOUT}, {418, -EPROTO}, {504, -EIO}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        kube_err_from_response(&e, map[i].http, "", 0);
        CU_ASSERT_EQUAL(kube_err_errno(&e), map[i].err);
    }
    kube_err_clear(&e);
    CU_ASSERT_EQUAL(kube_err_errno(&e), 0);
    CU_ASSERT_EQUAL(e.retry_after, -1);
    e.kind = KUBE_ERRK_CONNECT;
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ECONNREFUSED);
    CU_ASSERT_STRING_EQUAL(kube_errkind_str(KUBE_ERRK_TLS), "tls");
}

/* The documented mapping, whole: every HTTP reason, every kind's errno and name. */
static void test_err_tables(void)
{
    static const struct {
        int http;
        const char *reason;
    } reasons[] = {{400, "BadRequest"},
                   {401, "Unauthorized"},
                   {403, "Forbidden"},
                   {404, "NotFound"},
                   {405, "MethodNotAllowed"},
                   {406, "NotAcceptable"},
                   {408, "Timeout"},
                   {409, "Conflict"},
                   {410, "Expired"},
                   {413, "RequestEntityTooLarge"},
                   {415, "UnsupportedMediaType"},
                   {422, "Invalid"},
                   {429, "TooManyRequests"},
                   {500, "InternalError"},
                   {503, "ServiceUnavailable"},
                   {504, "Timeout"},
                   {418, "Unknown"},
                   {0, "Unknown"}};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        CU_ASSERT_STRING_EQUAL(kube_http_reason(reasons[i].http), reasons[i].reason);
    static const struct {
        enum kube_errkind kind;
        int err;
        const char *name;
    } kinds[] = {{KUBE_ERRK_NONE, 0, "none"},
                 {KUBE_ERRK_CONNECT, -ECONNREFUSED, "connect"},
                 {KUBE_ERRK_TLS, -EPROTO, "tls"},
                 {KUBE_ERRK_TRANSPORT, -ECONNRESET, "transport"},
                 {KUBE_ERRK_TIMEOUT, -ETIMEDOUT, "timeout"},
                 {KUBE_ERRK_DECODE, -EBADMSG, "decode"},
                 {KUBE_ERRK_CANCELLED, -ECANCELED, "cancelled"},
                 {KUBE_ERRK_CONFIG, -EINVAL, "config"},
                 {KUBE_ERRK_INVALID, -EINVAL, "invalid"},
                 {KUBE_ERRK_NOMEM, -ENOMEM, "nomem"}};
    struct kube_err e;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        kube_err_clear(&e);
        e.kind = kinds[i].kind;
        e.http = 404; /* only an HTTP error looks at it */
        CU_ASSERT_EQUAL(kube_err_errno(&e), kinds[i].err);
        CU_ASSERT_STRING_EQUAL(kube_errkind_str(kinds[i].kind), kinds[i].name);
    }
    CU_ASSERT_STRING_EQUAL(kube_errkind_str(KUBE_ERRK_HTTP), "http");
    CU_ASSERT_STRING_EQUAL(kube_errkind_str((enum kube_errkind)99), "unknown");
    e.kind = (enum kube_errkind)99;
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EPROTO);
}

/* kube_err_set keeps the HTTP code; NULL is a no-op for every setter. */
static void test_err_set(void)
{
    struct kube_err e;
    kube_err_clear(&e);
    e.http = 503;
    kube_err_set(&e, KUBE_ERRK_TIMEOUT, "after %d ms", 250);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TIMEOUT);
    CU_ASSERT_STRING_EQUAL(e.message, "after 250 ms");
    CU_ASSERT_EQUAL(e.http, 503);
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ETIMEDOUT);
    kube_err_set(NULL, KUBE_ERRK_TIMEOUT, "x");
    kube_err_clear(NULL);
    kube_err_from_response(NULL, 500, "x", 1);
}

/* The code in a Status body counts when no response code is known, and only when
 * it is a plausible HTTP code; a JSON body that is not a Status is kept as text;
 * a Status without a reason takes the code's. */
static void test_err_status_edges(void)
{
    struct kube_err e;
    const char *st = "{\"kind\":\"Status\",\"reason\":\"Gone\",\"code\":410}";
    kube_err_clear(&e);
    kube_err_from_response(&e, 0, st, strlen(st));
    CU_ASSERT_EQUAL(e.http, 410);
    CU_ASSERT_STRING_EQUAL(e.reason, "Gone");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ESTALE);
    const char *big = "{\"kind\":\"Status\",\"code\":1000}";
    kube_err_from_response(&e, 0, big, strlen(big));
    CU_ASSERT_EQUAL(e.http, 0);
    CU_ASSERT_STRING_EQUAL(e.reason, "Unknown");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EPROTO);
    const char *str = "{\"kind\":\"Status\",\"code\":\"404\"}";
    kube_err_from_response(&e, 0, str, strlen(str));
    CU_ASSERT_EQUAL(e.http, 0);
    const char *noreason = "{\"kind\":\"Status\",\"message\":\"m\",\"code\":409}";
    kube_err_from_response(&e, 409, noreason, strlen(noreason));
    CU_ASSERT_STRING_EQUAL(e.reason, "Conflict");
    CU_ASSERT_STRING_EQUAL(e.message, "m");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -ESTALE);
    const char *pod = "{\"kind\":\"Pod\"}";
    kube_err_from_response(&e, 400, pod, strlen(pod));
    CU_ASSERT_STRING_EQUAL(e.reason, "BadRequest");
    CU_ASSERT_STRING_EQUAL(e.message, pod);
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EINVAL);
    kube_err_from_response(&e, 502,
                           "\x7f\x01"
                           "bad gateway",
                           13);
    CU_ASSERT_STRING_EQUAL(e.reason, "Unknown");
    CU_ASSERT_STRING_EQUAL(e.message, "  bad gateway");
    CU_ASSERT_EQUAL(kube_err_errno(&e), -EIO);
}

static struct kube_err err_of(enum kube_errkind k, int http, int retry_after)
{
    struct kube_err e;
    kube_err_clear(&e);
    e.kind = k;
    e.http = http;
    e.retry_after = retry_after;
    return e;
}

/* A failed write that may have been applied: its last attempt lost the answer, or
 * an earlier one did (unanswered), whatever the last one says. */
static void test_maybe_applied(void)
{
    struct {
        enum kube_errkind kind;
        int http;
        bool unanswered, want;
    } t[] = {
        {KUBE_ERRK_CONNECT, 0, false, false}, {KUBE_ERRK_TRANSPORT, 0, false, true},
        {KUBE_ERRK_TIMEOUT, 0, false, true},  {KUBE_ERRK_TLS, 0, false, false},
        {KUBE_ERRK_HTTP, 409, false, false},  {KUBE_ERRK_HTTP, 500, false, true},
        {KUBE_ERRK_HTTP, 503, false, false},  {KUBE_ERRK_HTTP, 504, false, true},
        {KUBE_ERRK_HTTP, 409, true, true},    {KUBE_ERRK_HTTP, 403, true, true},
        {KUBE_ERRK_CONNECT, 0, true, true},   {KUBE_ERRK_NONE, 200, false, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct kube_err e;
        kube_err_clear(&e);
        e.kind = t[i].kind;
        e.http = t[i].http;
        e.unanswered = t[i].unanswered;
        CU_ASSERT_EQUAL(kube_err_maybe_applied(&e), t[i].want);
        if (kube_err_maybe_applied(&e) != t[i].want)
            fprintf(stderr, "case %zu\n", i);
    }
    struct kube_err e;
    kube_err_clear(&e);
    CU_ASSERT_FALSE(e.unanswered);
}

static void test_retry_decisions(void)
{
    struct kube_retry_policy p = KUBE_RETRY_POLICY_DEFAULT;
    struct kube_err e;
    /* Safe requests: transport errors, 429, 5xx. */
    e = err_of(KUBE_ERRK_TRANSPORT, 0, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0), 250);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 2, 0.0), 500);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 3, 0.5), 1500);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 5, 0.0), -1); /* max 5 */
    e = err_of(KUBE_ERRK_HTTP, 500, -1);
    CU_ASSERT(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0) == 250);
    e = err_of(KUBE_ERRK_HTTP, 429, 3);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.9), 3000);
    e = err_of(KUBE_ERRK_HTTP, 429, 1000);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.9), 60000);
    e = err_of(KUBE_ERRK_TIMEOUT, 0, -1);
    CU_ASSERT(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0) > 0);
    /* Unsafe (POST): only when the server cannot have acted. */
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 1, 0.0), -1);
    e = err_of(KUBE_ERRK_TRANSPORT, 0, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 1, 0.0), -1);
    e = err_of(KUBE_ERRK_CONNECT, 0, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 1, 0.0), 250);
    e = err_of(KUBE_ERRK_HTTP, 500, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 1, 0.0), -1);
    e = err_of(KUBE_ERRK_HTTP, 503, 2);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 1, 0.0), 2000);
    e = err_of(KUBE_ERRK_HTTP, 429, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_UNSAFE, &e, 2, 0.0), 500);
    /* Never: client errors, TLS, decode. */
    int never[] = {400, 401, 403, 404, 409, 410, 422, 501};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        e = err_of(KUBE_ERRK_HTTP, never[i], 1);
        CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0), -1);
    }
    e = err_of(KUBE_ERRK_TLS, 0, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0), -1);
    e = err_of(KUBE_ERRK_DECODE, 200, -1);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 1, 0.0), -1);
    /* The cap. */
    e = err_of(KUBE_ERRK_CONNECT, 0, -1);
    p.max_attempts = 100;
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 60, 0.0), 30000);
    CU_ASSERT_EQUAL(kube_retry_delay_ms(&p, KUBE_IDEM_SAFE, &e, 60, 0.999), 59970);
}

static void test_retry_after(void)
{
    int s = -5;
    CU_ASSERT_EQUAL(kube_retry_after_parse("120", 0, &s), 0);
    CU_ASSERT_EQUAL(s, 120);
    CU_ASSERT_EQUAL(kube_retry_after_parse("  7 ", 0, &s), 0);
    CU_ASSERT_EQUAL(s, 7);
    CU_ASSERT_EQUAL(kube_retry_after_parse("0", 0, &s), 0);
    CU_ASSERT_EQUAL(s, 0);
    CU_ASSERT_EQUAL(kube_retry_after_parse("99999999999", 0, &s), 0);
    CU_ASSERT_EQUAL(s, 86400);
    /* 2015-10-21 07:28:00 UTC = 1445412480 */
    CU_ASSERT_EQUAL(kube_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470, &s), 0);
    CU_ASSERT_EQUAL(s, 10);
    CU_ASSERT_EQUAL(kube_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490, &s), 0);
    CU_ASSERT_EQUAL(s, 0);
    s = -5;
    const char *bad[] = {
        "", "-1", "1.5", "12abc", "soon", "Wed, 21 Oct 2015", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(kube_retry_after_parse(bad[i], 0, &s), -EINVAL);
    CU_ASSERT_EQUAL(kube_retry_after_parse(NULL, 0, &s), -EINVAL);
    CU_ASSERT_EQUAL(s, -5);
}

static void test_backoff(void)
{
    struct kube_backoff b = KUBE_BACKOFF_WATCH_DEFAULT;
    int64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
    int64_t t = 1000;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++, t += 1000)
        CU_ASSERT_EQUAL(kube_backoff_next(&b, t, 0.0), want[i]);
    /* Jitter 1.0: [d, 2d). */
    CU_ASSERT_EQUAL(kube_backoff_next(&b, t, 0.5), 45000);
    /* Two minutes without failure: back to the start. */
    CU_ASSERT_EQUAL(kube_backoff_next(&b, t + 120001, 0.0), 800);
    CU_ASSERT_EQUAL(kube_backoff_next(&b, t + 120002, 0.0), 1600);
    kube_backoff_reset(&b);
    CU_ASSERT_EQUAL(kube_backoff_next(&b, t + 120003, 0.0), 800);
}

static void test_ratelimit(void)
{
    struct kube_ratelimit rl;
    const int64_t s = 1000000000;
    kube_ratelimit_init(&rl, 50, 100, 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 0), 0);
    /* Bucket empty: the 101st waits 1/50 s, the 102nd 2/50 s (reservations queue). */
    CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 0), s / 50);
    CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 0), 2 * s / 50);
    /* After 1 s, 50 tokens came back, 2 were owed. */
    for (int i = 0; i < 48; i++)
        CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, s), 0);
    CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, s), s / 50);
    /* A long pause refills to burst, not beyond. */
    kube_ratelimit_init(&rl, 10, 3, 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 100 * s), 0);
    CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 100 * s), s / 10);
    /* Time going backwards (another thread's earlier now) does not add tokens. */
    CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 50 * s), 2 * s / 10);
    /* Disabled. */
    kube_ratelimit_init(&rl, -1, 1, 0);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(kube_ratelimit_reserve(&rl, 0), 0);
}

static void test_base64(void)
{
    unsigned char *out;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(kube_base64_decode("aGVs\nbG8=", 9, &out, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_STRING_EQUAL((char *)out, "hello");
    free(out);
    CU_ASSERT_EQUAL_FATAL(kube_base64_decode("aGk", 3, &out, &n), 0);
    CU_ASSERT_STRING_EQUAL((char *)out, "hi");
    free(out);
    CU_ASSERT_EQUAL_FATAL(kube_base64_decode("", 0, &out, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(out);
    const char *bad[] = {"a", "aGk*", "aGk=x", "a===", "aG=k", "aGVsbG8==="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(kube_base64_decode(bad[i], strlen(bad[i]), &out, &n), -EINVAL);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_pure", NULL, NULL);
    CU_add_test(su, "paths", test_paths);
    CU_add_test(su, "query escaping", test_query);
    CU_add_test(su, "bad refs", test_bad_refs);
    CU_add_test(su, "Status parsing and errno", test_status_parse);
    CU_add_test(su, "write maybe applied", test_maybe_applied);
    CU_add_test(su, "error tables", test_err_tables);
    CU_add_test(su, "error setters", test_err_set);
    CU_add_test(su, "Status edge cases", test_err_status_edges);
    CU_add_test(su, "retry decisions", test_retry_decisions);
    CU_add_test(su, "Retry-After", test_retry_after);
    CU_add_test(su, "backoff", test_backoff);
    CU_add_test(su, "rate limiter", test_ratelimit);
    CU_add_test(su, "base64", test_base64);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    return rc;
}

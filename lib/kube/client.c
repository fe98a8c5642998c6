/* The client handle and its HTTP engine: a pool of libcurl easy handles (each
 * keeps its connection alive between requests) sharing DNS and TLS session caches,
 * the token bucket, the bearer token (re-read from its file every 60 s and after
 * a 401), the TLS files (CA, client certificate and key: re-read when they change,
 * looked at every 2 s and after a 401 or a TLS error), and the retry loop. */
#include "lib/kube/http_int.h"
#include "lib/kube/internal.h"

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/common/version.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Idle connections kept by default (kube_client_opts.max_idle), and the most. */
#define POOL_DEFAULT 8
#define POOL_LIMIT 256
#define TOKEN_REFRESH_NS (60LL * 1000000000)
/* After a failed re-read, try again this soon rather than on every request. */
#define TOKEN_RETRY_NS (10LL * 1000000000)
/* How often the TLS files are looked at (three stat calls). */
#define TLS_CHECK_NS (2LL * 1000000000)
/* A replaced CA, certificate or key is freed (wiped) this long after: an easy
 * handle set up just before the swap points at it (CURL_BLOB_NOCOPY) until its
 * connection's handshake, which comes within the connect timeout of the setup. */
#define TLS_RETIRE_NS (600LL * 1000000000)
#define TLS_PEM_MAX ((size_t)4 << 20)

enum { TF_CA, TF_CERT, TF_KEY, TF_N };

/* One TLS file: where it is and what it looked like when last read. */
struct tls_file {
    const char *path; /* borrowed from the config; NULL: inline or absent */
    struct stat sig;
    bool have_sig;
};

/* A replaced buffer, kept until no handshake can still read it. */
struct retired {
    void *buf;
    size_t len;
    int64_t at_ns;
    struct retired *next;
};

struct kube_client {
    struct kube_config *cfg;
    struct kube_client_opts opts;
    char *ua;
    char *field_manager;
    struct kube_retry_policy policy;

    pthread_mutex_t mu; /* pool, rate limiter, token */
    CURL **pool;        /* opts.max_idle idle easy handles, each with its connection */
    int npool;
    struct kube_ratelimit rl;
    char *token; /* current bearer token (secret) */
    int64_t token_read_ns;
    struct tls_file tls[TF_N]; /* their bytes: cfg->kc_ca, kc_cert, kc_key */
    int64_t tls_check_ns;
    struct retired *retired;
    unsigned tls_gen; /* bumped by every swap: older idle handles are dropped */

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

    kube_observer_fn obs;
    void *obs_ctx;
    kube_wait_fn wait;
    void *wait_ctx;
};

/* Added to an attempt's own timeout in what the wait hook is told: curl's timers
 * are checked about once a second, and the answer is still to be handled. */
#define WAIT_SLACK_MS 2000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kube_global_init(void)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return -EIO;
    /* A MIME part's boundary is drawn from curl's TLS random source: the cheapest
     * public way to have OpenSSL instantiate its generator (which fetches every
     * cipher of the default provider into its tables) without a connection. */
    CURL *e = curl_easy_init();
    if (e != NULL) {
        curl_mime_free(curl_mime_init(e));
        curl_easy_cleanup(e);
    }
    return 0;
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
    struct kube_client *c = ud;
    pthread_mutex_lock(&c->share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
    struct kube_client *c = ud;
    pthread_mutex_unlock(&c->share_mu[d]);
}

/* DNS and TLS sessions are shared; connections stay with their easy handle (the
 * shared connection cache is not used across threads on purpose: it has had
 * locking bugs, and a small pool gives the same reuse). */
static int share_new(struct kube_client *c)
{
    c->share = curl_share_init();
    if (c->share == NULL)
        return -ENOMEM;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

static void opts_fill(struct kube_client_opts *o, const struct kube_client_opts *in)
{
    memset(o, 0, sizeof(*o));
    if (in != NULL)
        *o = *in;
    if (o->qps == 0)
        o->qps = 50;
    if (o->burst <= 0)
        o->burst = 100;
    if (o->max_attempts <= 0)
        o->max_attempts = 5;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 10000;
    if (o->request_timeout_ms <= 0)
        o->request_timeout_ms = 60000;
    if (o->max_idle <= 0)
        o->max_idle = POOL_DEFAULT;
    if (o->max_idle > POOL_LIMIT)
        o->max_idle = POOL_LIMIT;
}

int kube_client_new(struct kube_config *cfg, const struct kube_client_opts *opts,
                    struct kube_client **out)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return -EIO;
    struct kube_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    opts_fill(&c->opts, opts);
    struct kube_retry_policy pol = KUBE_RETRY_POLICY_DEFAULT;
    pol.max_attempts = c->opts.max_attempts;
    c->policy = pol;
    pthread_mutex_init(&c->mu, NULL);
    kube_ratelimit_init(&c->rl, c->opts.qps, c->opts.burst, util_mono_ns());
    c->ua = strdup(c->opts.user_agent ? c->opts.user_agent : "omjob-operator/" OMJOB_VERSION);
    c->field_manager = c->opts.field_manager ? strdup(c->opts.field_manager) : NULL;
    c->opts.user_agent = NULL;
    c->opts.field_manager = NULL;
    int rc = -ENOMEM;
    c->pool = calloc((size_t)c->opts.max_idle, sizeof(*c->pool));
    if (c->pool == NULL || c->ua == NULL ||
        (opts && opts->field_manager && c->field_manager == NULL))
        goto fail;
    if (cfg->kc_token != NULL && (c->token = strdup(cfg->kc_token)) == NULL)
        goto fail;
    c->token_read_ns = util_mono_ns();
    /* No signature yet: the first look (TLS_CHECK_NS from now) compares contents,
     * so a rotation between the parse and now is not missed. */
    c->tls[TF_CA].path = cfg->kc_ca_file;
    c->tls[TF_CERT].path = cfg->kc_cert_file;
    c->tls[TF_KEY].path = cfg->kc_key_file;
    c->tls_check_ns = util_mono_ns();
    if ((rc = share_new(c)) != 0)
        goto fail;
    c->cfg = cfg;
    *out = c;
    return 0;
fail:
    kube_client_free(c);
    return rc;
}

void kube_client_free(struct kube_client *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    free(c->pool);
    if (c->share != NULL) {
        curl_share_cleanup(c->share);
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&c->share_mu[i]);
    }
    pthread_mutex_destroy(&c->mu);
    while (c->retired != NULL) {
        struct retired *r = c->retired;
        c->retired = r->next;
        util_free_secret_n(r->buf, r->len);
        free(r);
    }
    util_free_secret(c->token);
    free(c->ua);
    free(c->field_manager);
    kube_config_free(c->cfg);
    free(c);
}

const struct kube_config *kube_client_config(const struct kube_client *c)
{
    return c->cfg;
}

void kube_client_set_wait_hook(struct kube_client *c, kube_wait_fn fn, void *ctx)
{
    c->wait = fn;
    c->wait_ctx = ctx;
}

static void wait_until(struct kube_client *c, int64_t until_ms)
{
    if (c->wait != NULL)
        c->wait(c->wait_ctx, until_ms);
}

void kube_client_set_observer(struct kube_client *c, kube_observer_fn fn, void *ctx)
{
    c->obs = fn;
    c->obs_ctx = ctx;
}

const char *kube_http_field_manager(const struct kube_client *c)
{
    return c->field_manager;
}

bool kube_http_drop_managed_fields(const struct kube_client *c)
{
    return c->opts.drop_managed_fields;
}

int kube_http_parse_object(bool drop, const char *buf, size_t len, struct json_object **out)
{
    static const char *const mf[] = {"metadata", "managedFields"};
    return drop ? jx_parse_without(buf, len, mf, 2, out, NULL, 0)
                : jx_parse(buf, len, out, NULL, 0);
}

void kube_http_observe(struct kube_client *c, const char *method, int code, double seconds)
{
    if (c->obs != NULL)
        c->obs(c->obs_ctx, method, code, seconds);
}

double kube_http_rand01(void)
{
    static _Thread_local uint64_t s;
    if (s == 0)
        s = (uint64_t)util_mono_ns() ^ ((uint64_t)(uintptr_t)&s << 16) ^ (uint64_t)getpid();
    s ^= s << 13; /* xorshift64: jitter only, not security */
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / (double)(1ULL << 53);
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void kube_http_ratelimit(struct kube_client *c)
{
    pthread_mutex_lock(&c->mu);
    int64_t wait = kube_ratelimit_reserve(&c->rl, util_mono_ns());
    pthread_mutex_unlock(&c->mu);
    if (wait > 0)
        sleep_ns(wait);
}

/* Re-reads the token file (mu held). 1 when the token changed. */
static int token_reload(struct kube_client *c, int64_t now)
{
    char *t = NULL;
    int rc = kube_token_read(c->cfg->kc_token_file, &t);
    if (rc != 0) {
        c->token_read_ns = now - TOKEN_REFRESH_NS + TOKEN_RETRY_NS;
        log_warn("cannot re-read the API token file; keeping the old token", "file",
                 c->cfg->kc_token_file, "error", strerror(-rc), NULL);
        return 0;
    }
    c->token_read_ns = now;
    int changed = c->token == NULL || strcmp(c->token, t) != 0;
    util_free_secret(c->token);
    c->token = t;
    return changed;
}

static int tls_reload(struct kube_client *c, int64_t now, bool force);

int kube_http_token_refresh(struct kube_client *c)
{
    pthread_mutex_lock(&c->mu);
    int64_t now = util_mono_ns();
    int changed = c->cfg->kc_token_file != NULL ? token_reload(c, now) : 0;
    /* An expired or replaced client certificate is a 401 too. */
    if (tls_reload(c, now, true))
        changed = 1;
    pthread_mutex_unlock(&c->mu);
    return changed;
}

void kube_http_tls_recheck(struct kube_client *c)
{
    pthread_mutex_lock(&c->mu);
    tls_reload(c, util_mono_ns(), true);
    pthread_mutex_unlock(&c->mu);
}

/* Appends "Authorization: Bearer <token>" (mu taken here). The temporary copy is
 * wiped; libcurl's own copy is wiped by kube_http_headers_free. */
static int auth_header(struct kube_client *c, struct curl_slist **hdrs)
{
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    int64_t now = util_mono_ns();
    if (c->cfg->kc_token_file != NULL && now - c->token_read_ns >= TOKEN_REFRESH_NS)
        token_reload(c, now);
    if (c->token != NULL) {
        size_t n = strlen(c->token) + 32;
        char *h = malloc(n);
        if (h == NULL) {
            rc = -ENOMEM;
        } else {
            snprintf(h, n, "Authorization: Bearer %s", c->token);
            struct curl_slist *l = curl_slist_append(*hdrs, h);
            if (l == NULL)
                rc = -ENOMEM;
            else
                *hdrs = l;
            util_free_secret_n(h, n);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void kube_http_headers_free(struct curl_slist *h)
{
    for (struct curl_slist *l = h; l != NULL; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(h);
}

static int add_header(struct curl_slist **hdrs, const char *h)
{
    struct curl_slist *l = curl_slist_append(*hdrs, h);
    if (l == NULL)
        return -ENOMEM;
    *hdrs = l;
    return 0;
}

static int headers(struct kube_client *c, const char *content_type, struct curl_slist **out)
{
    struct curl_slist *h = NULL;
    char ct[128];
    /* Expect: would add a round trip (100-continue) to every body over 1 KiB. */
    int rc = add_header(&h, "Accept: application/json");
    if (rc == 0)
        rc = add_header(&h, "Expect:");
    if (rc == 0 && content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        rc = add_header(&h, ct);
    }
    if (rc == 0)
        rc = auth_header(c, &h);
    if (rc != 0) {
        kube_http_headers_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The config's buffer of TLS file i. */
static void tls_slot(struct kube_client *c, int i, unsigned char ***buf, size_t **len)
{
    struct kube_config *k = c->cfg;
    unsigned char **b[TF_N] = {&k->kc_ca, &k->kc_cert, &k->kc_key};
    size_t *l[TF_N] = {&k->kc_ca_len, &k->kc_cert_len, &k->kc_key_len};
    *buf = b[i];
    *len = l[i];
}

/* Frees the retired buffers no handshake can read any more (mu held). */
static void retired_sweep(struct kube_client *c, int64_t now)
{
    for (struct retired **p = &c->retired; *p != NULL;) {
        struct retired *r = *p;
        if (now - r->at_ns < TLS_RETIRE_NS) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        util_free_secret_n(r->buf, r->len);
        free(r);
    }
}

/* Reads every TLS file that changed since it was last read (stat signature) into
 * nb[i] (NULL: unchanged). 1 when some did, 0 when none, negative when one
 * cannot be read (logged; nothing kept, looked at again at the next check). */
static int tls_read_changed(struct kube_client *c, char *nb[TF_N], size_t nl[TF_N],
                            struct stat st[TF_N])
{
    static const char *const what[TF_N] = {"certificate-authority", "client-certificate",
                                           "client-key"};
    int changed = 0, rc = 0;
    for (int i = 0; i < TF_N && rc == 0; i++) {
        nb[i] = NULL;
        if (c->tls[i].path == NULL)
            continue;
        if (stat(c->tls[i].path, &st[i]) != 0) {
            rc = -errno;
        } else if (!c->tls[i].have_sig || !same_file(&st[i], &c->tls[i].sig)) {
            rc = util_file_read(c->tls[i].path, TLS_PEM_MAX, &nb[i], &nl[i]);
            if (rc == 0 && nl[i] == 0)
                rc = -ENODATA;
            changed = 1;
        }
        if (rc != 0)
            log_warn("cannot re-read a TLS file; keeping the old one", "field", what[i], "file",
                     c->tls[i].path, "error", strerror(-rc), NULL);
    }
    if (rc == 0)
        return changed;
    for (int i = 0; i < TF_N; i++)
        util_free_secret_n(nb[i], nb[i] ? nl[i] : 0);
    return rc;
}

/* Swaps in the new bytes of the files that changed (mu held): the old ones are
 * retired, the idle handles (kept-alive connections made with the old ones)
 * dropped. 1 when some content changed. */
static int tls_swap(struct kube_client *c, char *nb[TF_N], const size_t nl[TF_N], int64_t now)
{
    static const char *const what[TF_N] = {"certificate-authority", "client-certificate",
                                           "client-key"};
    char names[80] = "";
    for (int i = 0; i < TF_N; i++) {
        unsigned char **buf;
        size_t *len;
        tls_slot(c, i, &buf, &len);
        if (nb[i] == NULL)
            continue;
        struct retired *r = NULL;
        if (*len == nl[i] && memcmp(*buf, nb[i], nl[i]) == 0) {
            util_free_secret_n(nb[i], nl[i]); /* touched, same bytes */
            continue;
        }
        if ((r = calloc(1, sizeof(*r))) == NULL) {
            util_free_secret_n(nb[i], nl[i]);
            continue;
        }
        *r = (struct retired){.buf = *buf, .len = *len, .at_ns = now, .next = c->retired};
        c->retired = r;
        *buf = (unsigned char *)nb[i];
        *len = nl[i];
        size_t n = strlen(names);
        snprintf(names + n, sizeof(names) - n, "%s%s", n ? "," : "", what[i]);
    }
    if (names[0] == '\0')
        return 0;
    while (c->npool > 0)
        curl_easy_cleanup(c->pool[--c->npool]);
    c->tls_gen++;
    log_info("TLS files changed: new connections use them", "reloaded", names, NULL);
    return 1;
}

/* Looks at the TLS files when due (or now: force) and swaps in those that
 * changed (mu held). 1 when the material changed. */
static int tls_reload(struct kube_client *c, int64_t now, bool force)
{
    if (c->tls[TF_CA].path == NULL && c->tls[TF_CERT].path == NULL && c->tls[TF_KEY].path == NULL)
        return 0;
    if (!force && now - c->tls_check_ns < TLS_CHECK_NS)
        return 0;
    c->tls_check_ns = now;
    retired_sweep(c, now);
    char *nb[TF_N];
    size_t nl[TF_N];
    struct stat st[TF_N];
    if (tls_read_changed(c, nb, nl, st) <= 0)
        return 0;
    for (int i = 0; i < TF_N; i++) {
        if (nb[i] != NULL) {
            c->tls[i].sig = st[i];
            c->tls[i].have_sig = true;
        }
    }
    return tls_swap(c, nb, nl, now);
}

/* Every setopt below is supported by libcurl >= 7.85 with OpenSSL; a failure means
 * a libcurl built without them, reported as a configuration error. The TLS
 * buffers are read under mu: tls_reload may replace them. */
static int tls_setup(struct kube_client *c, CURL *e)
{
    struct kube_config kc;
    const struct kube_config *k = &kc;
    pthread_mutex_lock(&c->mu);
    tls_reload(c, util_mono_ns(), false);
    kc = *c->cfg;
    pthread_mutex_unlock(&c->mu);
    CURLcode rc = CURLE_OK;
    if (k->kc_insecure) {
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* NOCOPY: the bytes stay in the config, which outlives every handle and is
     * wiped when freed; libcurl would free its copies without wiping them. */
    if (k->kc_ca != NULL) {
        struct curl_blob b = {k->kc_ca, k->kc_ca_len, CURL_BLOB_NOCOPY};
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    }
    if (k->kc_cert != NULL) {
        struct curl_blob b = {k->kc_cert, k->kc_cert_len, CURL_BLOB_NOCOPY};
        rc |= curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
        rc |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (k->kc_key != NULL) {
        struct curl_blob b = {k->kc_key, k->kc_key_len, CURL_BLOB_NOCOPY};
        rc |= curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
        rc |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return rc == CURLE_OK ? 0 : -EINVAL;
}

static void method_setup(CURL *e, const char *method)
{
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
}

int kube_http_setup(struct kube_client *c, CURL *e, const char *method, const char *path,
                    const char *content_type, int request_timeout, struct curl_slist **hdrs,
                    struct kube_err *err)
{
    size_t n = strlen(c->cfg->kc_server) + strlen(path) + 1;
    char *url = malloc(n);
    if (url == NULL) {
        kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
        return -ENOMEM;
    }
    snprintf(url, n, "%s%s", c->cfg->kc_server, path);
    curl_easy_reset(e);
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    rc |= curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, c->ua);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    if (request_timeout)
        rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.request_timeout_ms);
    /* Detects dead peers on idle watches (HTTP/1.1 has no pings). */
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    method_setup(e, method);
    if (rc != CURLE_OK || tls_setup(c, e) != 0) {
        kube_err_set(err, KUBE_ERRK_CONFIG, "libcurl lacks a needed option (TLS blobs?)");
        return -EINVAL;
    }
    int hrc = headers(c, content_type, hdrs);
    if (hrc != 0) {
        kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
        return hrc;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
    return 0;
}

/* Nothing of the request went out during this curl_easy_perform. CURLINFO_REQUEST_SIZE
 * adds up every request curl sent in it, the one it silently sends again on a fresh
 * connection when a reused connection dies before the answer included: an error
 * of that second connection (refused, handshake reset) is then no proof that the
 * server never saw the request. */
static bool nothing_sent(CURL *e)
{
    long sent = 0;
    return curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
}

/* A handshake the peer cut (reset, closed) rather than refused on TLS grounds. */
static bool handshake_cut(CURL *e)
{
    long os = 0;
    return curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os) == CURLE_OK &&
           (os == ECONNRESET || os == EPIPE || os == ECONNABORTED);
}

enum kube_errkind kube_http_kind(CURLcode rc, CURL *e)
{
    switch (rc) {
    case CURLE_OK:
        return KUBE_ERRK_NONE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        /* Sent on a reused connection that died, then refused on the fresh one
         * curl tried next: the server may have applied it. */
        return nothing_sent(e) ? KUBE_ERRK_CONNECT : KUBE_ERRK_TRANSPORT;
    case CURLE_SSL_CONNECT_ERROR:
        /* An API server restarting accepts and then resets the handshake ("Recv
         * failure: Connection reset by peer"): a connection failure, retried as
         * one, not a TLS misconfiguration; unless it is the handshake of curl's
         * second try after the request went out on a reused connection (seen in
         * it_test_apiserver_outage: a status write applied, "retried" as a
         * connection failure into a 409, its MainPodCompleted Event lost). */
        if (!handshake_cut(e))
            return KUBE_ERRK_TLS;
        return nothing_sent(e) ? KUBE_ERRK_CONNECT : KUBE_ERRK_TRANSPORT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return KUBE_ERRK_TLS;
    case CURLE_OPERATION_TIMEDOUT:
        return nothing_sent(e) ? KUBE_ERRK_CONNECT : KUBE_ERRK_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return KUBE_ERRK_NOMEM;
    case CURLE_ABORTED_BY_CALLBACK:
        return KUBE_ERRK_CANCELLED;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return KUBE_ERRK_CONFIG;
    default:
        return nothing_sent(e) ? KUBE_ERRK_CONNECT : KUBE_ERRK_TRANSPORT;
    }
}

/* Response collection for one attempt. */
struct sink {
    char *buf;
    size_t len, cap;
    int retry_after;
    bool too_big;
    CURL *easy;                     /* for the prerequest callback */
    bool no_resend;                 /* a write: curl must not send it a second time */
    bool resend_cut;                /* ... and it was about to: the attempt was stopped */
    int sends;                      /* prerequest callbacks: requests about to go out */
    const struct kube_http_req *rq; /* for a streamed body */
    bool streamed;                  /* bytes went to rq->stream */
    int stream_rc;                  /* rq->stream's nonzero return */
};

/* Called by curl before each request it sends on an established connection. A
 * second call in one perform is curl's silent retry: the reused connection died
 * after the request went out and before any answer. For a write that retry is
 * refused (the attempt ends as TRANSPORT: maybe applied), so that kube_http_do's
 * policy decides, and a 409 of the second copy never hides that the first one
 * was applied. A first copy that never left (its send failed) may go again. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    struct sink *s = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    if (s->sends++ == 0 || !s->no_resend || nothing_sent(s->easy))
        return CURL_PREREQFUNC_OK;
    s->resend_cut = true;
    return CURL_PREREQFUNC_ABORT;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = sz * n;
    long code = 0;
    if (s->rq != NULL && s->rq->stream != NULL &&
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200 &&
        code < 300) {
        s->streamed = true;
        s->stream_rc = s->rq->stream(s->rq->stream_ctx, p, add);
        return s->stream_rc == 0 ? add : 0;
    }
    if (s->len + add > KUBE_BODY_MAX) {
        s->too_big = true;
        return 0;
    }
    if (s->len + add + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + add + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (nb == NULL)
            return 0;
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = sz * n;
    static const char key[] = "retry-after:";
    if (len > sizeof(key) - 1 && len < 256 && strncasecmp(p, key, sizeof(key) - 1) == 0) {
        char v[256];
        memcpy(v, p + sizeof(key) - 1, len - (sizeof(key) - 1));
        v[len - (sizeof(key) - 1)] = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        int secs;
        if (kube_retry_after_parse(v, time(NULL), &secs) == 0)
            s->retry_after = secs;
    } else if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        s->retry_after = -1; /* a new response (after a 100 Continue, say) */
    }
    return len;
}

static void sink_reset(struct sink *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
    s->retry_after = -1;
}

static double since(int64_t t0)
{
    return (double)(util_mono_ns() - t0) / 1e9;
}

/* One attempt. 0 on 2xx, else fills err (kind, http, reason, message). */
static int attempt(struct kube_client *c, CURL *e, const struct kube_http_req *rq, struct sink *s,
                   long timeout_ms, struct kube_err *err)
{
    struct curl_slist *hdrs = NULL;
    char ebuf[CURL_ERROR_SIZE] = "";
    int rc = kube_http_setup(c, e, rq->method, rq->path, rq->body ? rq->content_type : NULL, 1,
                             &hdrs, err);
    if (rc != 0)
        return rc;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (rq->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
    s->easy = e;
    s->rq = rq;
    s->no_resend = strcmp(rq->method, "GET") != 0;
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, s);
    int64_t t0 = util_mono_ns();
    CURLcode cr = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    kube_http_headers_free(hdrs);
    kube_http_observe(c, rq->method, cr == CURLE_OK ? (int)code : 0, since(t0));
    err->retry_after = s->retry_after;
    if (cr != CURLE_OK && s->stream_rc != 0) {
        err->http = (int)code;
        if (err->kind == KUBE_ERRK_NONE)
            kube_err_set(err, KUBE_ERRK_DECODE, "%s %s: response body rejected by its consumer",
                         rq->method, rq->path);
        return s->stream_rc;
    }
    if (cr != CURLE_OK) {
        enum kube_errkind k = s->too_big      ? KUBE_ERRK_DECODE
                              : s->resend_cut ? KUBE_ERRK_TRANSPORT
                                              : kube_http_kind(cr, e);
        err->http = 0;
        kube_err_set(err, k, "%s %s: %s", rq->method, rq->path,
                     s->too_big      ? "response body too large"
                     : s->resend_cut ? "connection closed after the request was sent, no answer"
                     : ebuf[0]       ? ebuf
                                     : curl_easy_strerror(cr));
        return kube_err_errno(err);
    }
    if (code >= 200 && code < 300) {
        err->http = (int)code;
        return 0;
    }
    kube_err_from_response(err, (int)code, s->buf, s->len);
    return kube_err_errno(err);
}

static CURL *pool_get(struct kube_client *c, unsigned *gen)
{
    CURL *e = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->npool > 0)
        e = c->pool[--c->npool];
    *gen = c->tls_gen;
    pthread_mutex_unlock(&c->mu);
    return e != NULL ? e : curl_easy_init();
}

/* A handle taken before the TLS material changed is not kept: its connection
 * was made with the old certificate. */
static void pool_put(struct kube_client *c, CURL *e, unsigned gen)
{
    pthread_mutex_lock(&c->mu);
    if (c->npool < c->opts.max_idle && gen == c->tls_gen) {
        c->pool[c->npool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    curl_easy_cleanup(e);
}

static int attempt_pooled(struct kube_client *c, const struct kube_http_req *rq, struct sink *s,
                          long timeout_ms, struct kube_err *err)
{
    unsigned gen;
    CURL *e = pool_get(c, &gen);
    if (e == NULL) {
        kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
        return -ENOMEM;
    }
    int rc = attempt(c, e, rq, s, timeout_ms, err);
    pool_put(c, e, gen);
    return rc;
}

/* The timeout of the next attempt: the request timeout, or what is left of the
 * whole request's (end_ms, 0 when unbounded), at least a second. */
static long attempt_timeout(const struct kube_client *c, int64_t end_ms)
{
    long t = c->opts.request_timeout_ms;
    if (end_ms > 0) {
        int64_t left = end_ms - util_mono_ms();
        if (left < t)
            t = left > 1000 ? (long)left : 1000;
    }
    return t;
}

int kube_http_do(struct kube_client *c, const struct kube_http_req *rq, struct kube_http_resp *resp,
                 struct kube_err *err)
{
    struct sink s = {.retry_after = -1};
    bool reauth = false;
    int64_t end_ms = c->opts.total_timeout_ms > 0 ? util_mono_ms() + c->opts.total_timeout_ms : 0;
    int rc;
    kube_err_clear(err);
    for (;;) {
        sink_reset(&s);
        kube_http_ratelimit(c);
        err->attempts++;
        long tmo = attempt_timeout(c, end_ms);
        wait_until(c, util_mono_ms() + tmo + WAIT_SLACK_MS);
        rc = attempt_pooled(c, rq, &s, tmo, err);
        if (rc == 0 || s.streamed)
            break; /* a consumer that saw part of a body cannot take it again */
        if (strcmp(rq->method, "GET") != 0 && kube_err_maybe_applied(err))
            err->unanswered = true; /* sticks: a retry's 409 must not hide it */
        /* A rotated token or client certificate: re-read them and try again at
         * once, once. A TLS failure may be a rotated CA: look at the files now. */
        if (err->http == 401 && !reauth) {
            reauth = true;
            if (kube_http_token_refresh(c))
                continue;
        }
        if (err->kind == KUBE_ERRK_TLS)
            kube_http_tls_recheck(c);
        double r = kube_http_rand01();
        int64_t d = kube_retry_delay_ms(&c->policy, rq->idem, err, err->attempts, r);
        if (d < 0 || (end_ms > 0 && util_mono_ms() + d >= end_ms))
            break;
        log_debug("retrying API request", "method", rq->method, "path", rq->path, "reason",
                  err->kind == KUBE_ERRK_HTTP ? err->reason : kube_errkind_str(err->kind), NULL);
        wait_until(c, util_mono_ms() + d + WAIT_SLACK_MS);
        sleep_ns(d * 1000000);
    }
    wait_until(c, 0);
    if (rc == 0) {
        err->kind = KUBE_ERRK_NONE;
        err->reason[0] = '\0'; /* from an earlier failed attempt */
        err->message[0] = '\0';
        resp->http = err->http;
        resp->body = s.buf;
        resp->len = s.len;
        return 0;
    }
    free(s.buf);
    return rc;
}

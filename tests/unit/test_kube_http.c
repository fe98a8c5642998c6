/* Unit tests of the kube client and watch end to end against a fake API server: a
 * thread on a loopback socket answering canned responses (429 with Retry-After,
 * 500 then 200, 401 and token rotation, a chunked watch stream cut at odd places,
 * 410, stalls, disconnects), plus TLS against `openssl s_server` with the test CA
 * and client certificate given inline. The real API server is exercised by the
 * integration tests. */
#include "lib/kube/client.h"
#include "lib/kube/internal.h"
#include "lib/kube/kubeconfig.h"
#include "lib/kube/watch.h"

#include "lib/common/json.h"
#include "lib/common/util.h"

#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake server ---- */

#define MAX_REPLIES 32
#define MAX_PIECES 600
#define REQ_MAX 16384

struct piece {
    char *data;
    size_t len;
    int delay_ms; /* before sending */
};

struct reply {
    struct piece pieces[MAX_PIECES];
    int n;
    bool close; /* close the connection after the reply */
    bool hang;  /* after the pieces, wait until the client goes away */
};

static struct {
    int lfd, port;
    pthread_t th;
    pthread_mutex_t mu;
    struct reply replies[MAX_REPLIES];
    int nreplies, next;
    char reqs[MAX_REPLIES][REQ_MAX];
    int nreqs;
    int accepts;
    atomic_bool stop;
    atomic_bool busy; /* sending a reply: the replies must not be freed */
} srv;

static unsigned seed;

static int64_t now_ms(void)
{
    return util_mono_ns() / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static struct reply *reply_new(void)
{
    pthread_mutex_lock(&srv.mu);
    CU_ASSERT_FATAL(srv.nreplies < MAX_REPLIES);
    struct reply *r = &srv.replies[srv.nreplies++];
    memset(r, 0, sizeof(*r));
    pthread_mutex_unlock(&srv.mu);
    return r;
}

static void piece_add(struct reply *r, const char *data, size_t len, int delay_ms)
{
    CU_ASSERT_FATAL(r->n < MAX_PIECES);
    r->pieces[r->n].data = malloc(len + 1);
    memcpy(r->pieces[r->n].data, data, len);
    r->pieces[r->n].len = len;
    r->pieces[r->n].delay_ms = delay_ms;
    r->n++;
}

/* A complete response with Content-Length. */
static void reply_simple(int code, const char *headers, const char *body)
{
    char buf[8192];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: "
                     "%zu\r\n\r\n%s",
                     code, headers ? headers : "", strlen(body), body);
    piece_add(reply_new(), buf, (size_t)n, 0);
}

static void reply_status(int code, const char *reason, const char *msg)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
             msg, reason, code);
    reply_simple(code, NULL, body);
}

/* A chunked 200 response carrying stream, cut into random pieces (inside chunk
 * headers too), some sent after a short delay so they arrive as separate reads. */
static struct reply *reply_chunked(const char *stream, size_t len, bool end)
{
    size_t cap = len * 2 + 4096, n = 0;
    char *raw = malloc(cap);
    n += (size_t)snprintf(raw, cap,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0; off < len;) {
        size_t c = 1 + (size_t)(rand_r(&seed) % 900);
        if (c > len - off)
            c = len - off;
        n += (size_t)snprintf(raw + n, cap - n, "%zx\r\n", c);
        memcpy(raw + n, stream + off, c);
        n += c;
        memcpy(raw + n, "\r\n", 2);
        n += 2;
        off += c;
    }
    if (end)
        n += (size_t)snprintf(raw + n, cap - n, "0\r\n\r\n");
    struct reply *r = reply_new();
    for (size_t off = 0; off < n;) {
        size_t c = 1 + (size_t)(rand_r(&seed) % 400);
        if (c > n - off)
            c = n - off;
        if (r->n == MAX_PIECES - 1)
            c = n - off;
        piece_add(r, raw + off, c, rand_r(&seed) % 8 == 0 ? 1 : 0);
        off += c;
    }
    free(raw);
    return r;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Reads one request (headers and Content-Length body). 0, or -1 on EOF/stop. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    char *end = NULL;
    long body = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (atomic_load(&srv.stop))
            return -1;
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            body = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
        if (end != NULL && n >= (size_t)(end + 4 - buf) + (size_t)body)
            return 0;
        if (n >= cap - 1)
            return 0;
    }
}

static void hang(int fd)
{
    char b[256];
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0 && recv(fd, b, sizeof(b), 0) <= 0)
            return;
    }
}

/* Serves requests on one connection; returns when it is closed. */
static void serve(int fd)
{
    static char req[REQ_MAX];
    for (;;) {
        if (read_request(fd, req, sizeof(req)) != 0)
            return;
        pthread_mutex_lock(&srv.mu);
        if (srv.nreqs < MAX_REPLIES)
            memcpy(srv.reqs[srv.nreqs++], req, sizeof(req));
        struct reply *r = srv.next < srv.nreplies ? &srv.replies[srv.next++] : NULL;
        atomic_store(&srv.busy, r != NULL);
        pthread_mutex_unlock(&srv.mu);
        if (r == NULL) {
            static const char none[] = "HTTP/1.1 599 No Script\r\nContent-Length: 0\r\n\r\n";
            send_all(fd, none, sizeof(none) - 1);
            return;
        }
        int rc = 0;
        for (int i = 0; i < r->n && rc == 0; i++) {
            if (r->pieces[i].delay_ms > 0)
                sleep_ms(r->pieces[i].delay_ms);
            rc = send_all(fd, r->pieces[i].data, r->pieces[i].len);
        }
        bool done = rc != 0 || r->close || r->hang;
        if (rc == 0 && r->hang)
            hang(fd);
        atomic_store(&srv.busy, false);
        if (done)
            return;
    }
}

static void *server_main(void *arg)
{
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {srv.lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        srv.accepts++;
        serve(fd);
        close(fd);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void srv_reset(void)
{
    for (int i = 0; i < 500 && atomic_load(&srv.busy); i++)
        sleep_ms(10);
    pthread_mutex_lock(&srv.mu);
    for (int i = 0; i < srv.nreplies; i++)
        for (int j = 0; j < srv.replies[i].n; j++)
            free(srv.replies[i].pieces[j].data);
    srv.nreplies = srv.next = srv.nreqs = 0;
    srv.accepts = 0;
    pthread_mutex_unlock(&srv.mu);
}

static int srv_start(void)
{
    pthread_mutex_init(&srv.mu, NULL);
    srv.lfd = listen_any(&srv.port);
    if (srv.lfd < 0)
        return -1;
    atomic_store(&srv.stop, false);
    return pthread_create(&srv.th, NULL, server_main, NULL);
}

static void srv_stop(void)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
    srv_reset();
}

static const char *req_n(int i)
{
    return i < srv.nreqs ? srv.reqs[i] : "";
}

/* ---- the client under test ---- */

struct obs {
    char method[16][8];
    int code[16];
    int n;
};

static struct obs seen;

static void observe(void *ctx, const char *method, int code, double seconds)
{
    struct obs *o = ctx;
    CU_ASSERT(seconds >= 0);
    if (o->n < 16) {
        snprintf(o->method[o->n], sizeof(o->method[0]), "%s", method);
        o->code[o->n++] = code;
    }
}

static char tmpdir[] = "/tmp/test_kube_http.XXXXXX";
static char tokfile[1200];

static struct kube_client *client_with(int port, const char *user_yaml,
                                       const struct kube_client_opts *o);

static struct kube_client *client_for(int port, const char *user_yaml, int max_attempts)
{
    struct kube_client_opts o = {.max_attempts = max_attempts, .field_manager = "omjob"};
    return client_with(port, user_yaml, &o);
}

static struct kube_client *client_with(int port, const char *user_yaml,
                                       const struct kube_client_opts *o)
{
    char yaml[2048], err[512];
    snprintf(yaml, sizeof(yaml),
             "current-context: t\ncontexts: [{name: t, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: %s}]\n",
             port, user_yaml);
    struct kube_config *cfg = NULL;
    int rc = kube_config_parse(yaml, strlen(yaml), tmpdir, "test", &cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "config: %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    struct kube_client *c = NULL;
    CU_ASSERT_FATAL(kube_client_new(cfg, o, &c) == 0);
    memset(&seen, 0, sizeof(seen));
    kube_client_set_observer(c, observe, &seen);
    return c;
}

static struct kube_client *client(void)
{
    srv_reset();
    return client_for(srv.port, "{token: test-token}", 5);
}

static const struct kube_ref pod = {"v1", "pods", "ns", "p", NULL};

static void test_get_ok(void)
{
    struct kube_client *c = client();
    reply_simple(200, NULL, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}");
    struct json_object *o = NULL;
    struct kube_err e;
    CU_ASSERT_EQUAL_FATAL(kube_get(c, &pod, &o, &e), 0);
    CU_ASSERT_STRING_EQUAL(jx_str(o, "metadata.name"), "p");
    CU_ASSERT_EQUAL(e.http, 200);
    CU_ASSERT_EQUAL(e.attempts, 1);
    json_object_put(o);
    CU_ASSERT(strncmp(req_n(0), "GET /api/v1/namespaces/ns/pods/p HTTP/1.1\r\n", 42) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "\r\nAuthorization: Bearer test-token\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "\r\nAccept: application/json\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "\r\nUser-Agent: omjob-operator/"));
    CU_ASSERT_EQUAL(seen.n, 1);
    CU_ASSERT_STRING_EQUAL(seen.method[0], "GET");
    CU_ASSERT_EQUAL(seen.code[0], 200);
    kube_client_free(c);
}

static void test_errors_typed(void)
{
    struct kube_client *c = client();
    reply_status(404, "NotFound", "pods \\\"p\\\" not found");
    struct json_object *o = (struct json_object *)&o;
    struct kube_err e;
    CU_ASSERT_EQUAL(kube_get(c, &pod, &o, &e), -ENOENT);
    CU_ASSERT_PTR_EQUAL(o, (struct json_object *)&o); /* untouched on failure */
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_HTTP);
    CU_ASSERT_EQUAL(e.http, 404);
    CU_ASSERT_STRING_EQUAL(e.reason, "NotFound");
    CU_ASSERT_STRING_EQUAL(e.message, "pods \"p\" not found");
    CU_ASSERT_EQUAL(e.attempts, 1);
    /* A body that is not JSON on success. */
    reply_simple(200, NULL, "<html>");
    CU_ASSERT_EQUAL(kube_get(c, &pod, &o, &e), -EBADMSG);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_DECODE);
    kube_client_free(c);
}

static void test_retry_500_then_200(void)
{
    struct kube_client *c = client();
    reply_status(500, "InternalError", "etcd");
    reply_status(503, "ServiceUnavailable", "later");
    reply_simple(200, NULL, "{}");
    struct kube_err e;
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(e.attempts, 3);
    CU_ASSERT_EQUAL(seen.n, 3);
    CU_ASSERT_EQUAL(seen.code[0], 500);
    CU_ASSERT_EQUAL(seen.code[1], 503);
    CU_ASSERT_EQUAL(seen.code[2], 200);
    /* Connection reuse: one connection for all. */
    CU_ASSERT_EQUAL(srv.accepts, 1);
    kube_client_free(c);
}

static void test_retry_after_429(void)
{
    struct kube_client *c = client();
    reply_simple(429, "Retry-After: 1\r\n", "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}");
    reply_simple(200, NULL, "{}");
    struct kube_err e;
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    int64_t took = now_ms() - t0;
    CU_ASSERT(took >= 950);
    CU_ASSERT(took < 5000);
    CU_ASSERT_EQUAL(e.attempts, 2);
    kube_client_free(c);
}

static void test_create_retry_rules(void)
{
    struct kube_client *c = client();
    struct json_object *obj = json_tokener_parse("{\"metadata\":{\"name\":\"p\"}}");
    struct json_object *out = NULL;
    struct kube_err e;
    /* 500 without Retry-After: the create may have happened, not retried. */
    reply_status(500, "InternalError", "boom");
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, &out, &e), -EIO);
    CU_ASSERT_EQUAL(e.attempts, 1);
    CU_ASSERT(strncmp(req_n(0), "POST /api/v1/namespaces/ns/pods?fieldManager=omjob HTTP", 55) ==
              0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "\r\nContent-Type: application/json\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "\r\n\r\n{\"metadata\":{\"name\":\"p\"}}"));
    /* 429 and 503 with Retry-After: not processed, retried. */
    reply_simple(429, "Retry-After: 0\r\n", "{}");
    reply_simple(503, "Retry-After: 0\r\n", "{}");
    reply_simple(201, NULL, "{\"metadata\":{\"uid\":\"u1\"}}");
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, &out, &e), 0);
    CU_ASSERT_EQUAL(e.attempts, 3);
    CU_ASSERT_EQUAL(e.http, 201);
    CU_ASSERT_STRING_EQUAL(jx_str(out, "metadata.uid"), "u1");
    json_object_put(out);
    /* AlreadyExists is typed. */
    reply_status(409, "AlreadyExists", "pods \\\"p\\\" already exists");
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, NULL, &e), -EEXIST);
    /* The connection breaks after the request was sent: not retried for POST. */
    static const char partial[] = "HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{\"a\"";
    struct reply *r = reply_new();
    piece_add(r, partial, sizeof(partial) - 1, 0);
    r->close = true;
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, NULL, &e), -ECONNRESET);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TRANSPORT);
    CU_ASSERT_EQUAL(e.attempts, 1);
    /* ... but retried for GET. */
    r = reply_new();
    piece_add(r, partial, sizeof(partial) - 1, 0);
    r->close = true;
    reply_simple(200, NULL, "{}");
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(e.attempts, 2);
    json_object_put(obj);
    kube_client_free(c);
}

static void test_connect_refused(void)
{
    int port;
    int fd = listen_any(&port);
    close(fd); /* nobody listens there now */
    struct kube_client *c = client_for(port, "{token: t}", 2);
    struct json_object *obj = json_object_new_object();
    struct kube_err e;
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, NULL, &e), -ECONNREFUSED);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_CONNECT);
    CU_ASSERT_EQUAL(e.attempts, 2); /* nothing was sent: retried even for POST */
    CU_ASSERT_EQUAL(seen.n, 2);
    CU_ASSERT_EQUAL(seen.code[0], 0);
    json_object_put(obj);
    kube_client_free(c);
}

/* The wait hook's calls (test_total_timeout). */
static struct {
    int n;
    int64_t first_until, last_until, max_until;
} waits;

static void on_wait(void *ctx, int64_t until)
{
    (void)ctx;
    if (waits.n++ == 0)
        waits.first_until = until;
    waits.last_until = until;
    if (until > waits.max_until)
        waits.max_until = until;
}

/* A server that accepts connections (the kernel's backlog) and never answers, like
 * a stopped API server: one request, its retries included, ends within
 * total_timeout_ms, not after max_attempts request timeouts; and the wait hook
 * says until when each wait may last, then 0. */
static void test_total_timeout(void)
{
    int port;
    int fd = listen_any(&port); /* never accepted, never answered */
    char yaml[1024], err[256];
    snprintf(yaml, sizeof(yaml),
             "current-context: t\ncontexts: [{name: t, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {token: t}}]\n",
             port);
    struct kube_config *cfg = NULL;
    CU_ASSERT_FATAL(kube_config_parse(yaml, strlen(yaml), tmpdir, "test", &cfg, err, sizeof(err)) ==
                    0);
    struct kube_client_opts o = {
        .max_attempts = 5, .request_timeout_ms = 1000, .total_timeout_ms = 2500};
    struct kube_client *c = NULL;
    CU_ASSERT_FATAL(kube_client_new(cfg, &o, &c) == 0);
    memset(&waits, 0, sizeof(waits));
    kube_client_set_wait_hook(c, on_wait, NULL);
    struct json_object *out = NULL;
    struct kube_err e;
    int64_t t0 = now_ms();
    int rc = kube_get(c, &pod, &out, &e);
    int64_t took = now_ms() - t0;
    CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TIMEOUT);
    CU_ASSERT(e.attempts >= 2 && e.attempts < 5);
    CU_ASSERT(took >= 1900 && took < 4000); /* 5 attempts would take over 6 s */
    CU_ASSERT(waits.n >= 3);                /* attempts and backoff, then 0 */
    CU_ASSERT(waits.first_until >= t0 + 1000 && waits.first_until <= t0 + 4000);
    CU_ASSERT(waits.max_until <= t0 + 2500 + 3000);
    CU_ASSERT_EQUAL(waits.last_until, 0);
    kube_client_free(c);
    close(fd);
}

/* A write sent on a reused connection that dies before the answer (an API server
 * killed mid-request): curl would silently send it again on a fresh connection.
 * It must not: the first copy may have been applied, and the second one's 409
 * (Conflict for a status write with its resourceVersion, AlreadyExists for a
 * create) or a refused connection would hide that. The attempt ends TRANSPORT,
 * the retry policy decides, and the error remembers the unanswered attempt. */
static void test_write_on_dead_reused_connection(void)
{
    struct kube_client *c = client();
    struct json_object *obj = json_tokener_parse("{\"status\":{\"phase\":\"Failed\"}}");
    struct kube_ref st = {"pipelines.openmetadata.org/v1", "omjobs", "ns", "j", "status"};
    struct kube_err e;
    /* Merge patch: retried by the policy (not by curl), the 409 flagged. */
    reply_simple(200, NULL, "{}"); /* a GET leaves a connection to reuse */
    reply_new()->close = true;     /* the PATCH is read, no answer */
    reply_status(409, "Conflict", "the object has been modified");
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_FALSE(e.unanswered);
    CU_ASSERT_EQUAL(kube_patch(c, &st, KUBE_PATCH_MERGE, obj, NULL, &e), -ESTALE);
    CU_ASSERT_EQUAL(e.attempts, 2);
    CU_ASSERT_TRUE(e.unanswered);
    CU_ASSERT_TRUE(kube_err_maybe_applied(&e));
    CU_ASSERT_EQUAL(srv.nreqs, 3);
    /* Create: sent once, not retried, TRANSPORT (the 201 queued stays unused). */
    srv_reset();
    reply_simple(200, NULL, "{}");
    reply_new()->close = true;
    reply_simple(201, NULL, "{}");
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(kube_create(c, &pod, obj, NULL, &e), -ECONNRESET);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TRANSPORT);
    CU_ASSERT_EQUAL(e.attempts, 1);
    CU_ASSERT_TRUE(kube_err_maybe_applied(&e));
    CU_ASSERT_EQUAL(srv.nreqs, 2);
    /* A GET on a dead reused connection is sent again by curl, as before. */
    srv_reset();
    reply_simple(200, NULL, "{}");
    reply_new()->close = true;
    reply_simple(200, NULL, "{}");
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(e.attempts, 1);
    CU_ASSERT_EQUAL(srv.nreqs, 3);
    json_object_put(obj);
    kube_client_free(c);
}

/* A server that answers one GET, reads the next request and dies (listener
 * too): curl's fresh connection is then refused. */
static void *answer_once_then_die(void *arg)
{
    int lfd = *(int *)arg;
    char *buf = malloc(REQ_MAX);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0 && read_request(fd, buf, REQ_MAX) == 0 && send_all(fd, ok, sizeof(ok) - 1) == 0)
        read_request(fd, buf, REQ_MAX);
    close(lfd);
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

/* Refused after the request went out is not "nothing sent" (KUBE_ERRK_CONNECT,
 * retried even for a create): the create is TRANSPORT and not retried; a merge
 * patch is retried and its final CONNECT carries the unanswered attempt. */
static void test_refused_after_sending(void)
{
    for (int i = 0; i < 2; i++) {
        int port;
        int lfd = listen_any(&port);
        pthread_t th;
        CU_ASSERT_FATAL(lfd >= 0);
        CU_ASSERT_FATAL(pthread_create(&th, NULL, answer_once_then_die, &lfd) == 0);
        struct kube_client *c = client_for(port, "{token: t}", 3);
        struct json_object *obj = json_object_new_object();
        struct kube_err e;
        CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
        if (i == 0) {
            CU_ASSERT_EQUAL(kube_create(c, &pod, obj, NULL, &e), -ECONNRESET);
            CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TRANSPORT);
            CU_ASSERT_EQUAL(e.attempts, 1);
        } else {
            CU_ASSERT_EQUAL(kube_patch(c, &pod, KUBE_PATCH_MERGE, obj, NULL, &e), -ECONNREFUSED);
            CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_CONNECT);
            CU_ASSERT_EQUAL(e.attempts, 3);
            CU_ASSERT_TRUE(e.unanswered);
        }
        CU_ASSERT_TRUE(kube_err_maybe_applied(&e));
        pthread_join(th, NULL);
        json_object_put(obj);
        kube_client_free(c);
    }
}

static void test_writes(void)
{
    struct kube_client *c = client();
    struct json_object *obj = json_tokener_parse("{\"status\":{\"phase\":\"Running\"}}");
    struct kube_ref st = {"pipelines.openmetadata.org/v1", "omjobs", "ns", "j", "status"};
    for (int i = 0; i < 6; i++)
        reply_simple(200, NULL, "{}");
    CU_ASSERT_EQUAL(kube_update(c, &st, obj, NULL, NULL), 0);
    CU_ASSERT_EQUAL(kube_patch(c, &st, KUBE_PATCH_MERGE, obj, NULL, NULL), 0);
    CU_ASSERT_EQUAL(kube_apply(c, &st, obj, "omjob-reconciler", true, NULL, NULL), 0);
    struct kube_delete_opts d = {.uid = "u-1", .propagation = "Foreground", .grace_seconds = -1};
    CU_ASSERT_EQUAL(kube_delete(c, &pod, &d, NULL, NULL), 0);
    CU_ASSERT_EQUAL(kube_evict(c, "ns", "p", NULL, NULL), 0);
    struct json_object *jp = json_tokener_parse("[{\"op\":\"remove\",\"path\":\"/metadata/"
                                                "finalizers/0\"}]");
    CU_ASSERT_EQUAL(kube_patch(c, &pod, KUBE_PATCH_JSON, jp, NULL, NULL), 0);
    const char *p = "/apis/pipelines.openmetadata.org/v1/namespaces/ns/omjobs/j/status";
    char want[512];
    snprintf(want, sizeof(want), "PUT %s?fieldManager=omjob HTTP/1.1", p);
    CU_ASSERT(strncmp(req_n(0), want, strlen(want)) == 0);
    snprintf(want, sizeof(want), "PATCH %s?fieldManager=omjob HTTP/1.1", p);
    CU_ASSERT(strncmp(req_n(1), want, strlen(want)) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(1), "Content-Type: application/merge-patch+json\r\n"));
    snprintf(want, sizeof(want), "PATCH %s?fieldManager=omjob-reconciler&force=true HTTP", p);
    CU_ASSERT(strncmp(req_n(2), want, strlen(want)) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(2), "Content-Type: application/apply-patch+yaml\r\n"));
    CU_ASSERT(strncmp(req_n(3), "DELETE /api/v1/namespaces/ns/pods/p HTTP", 40) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(3), "\"preconditions\":{\"uid\":\"u-1\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(3), "\"propagationPolicy\":\"Foreground\""));
    CU_ASSERT_PTR_NULL(strstr(req_n(3), "gracePeriodSeconds"));
    CU_ASSERT(strncmp(req_n(4), "POST /api/v1/namespaces/ns/pods/p/eviction HTTP", 47) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(4), "\"kind\":\"Eviction\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(5), "Content-Type: application/json-patch+json\r\n"));
    CU_ASSERT_EQUAL(seen.n, 6);
    CU_ASSERT_STRING_EQUAL(seen.method[3], "DELETE");
    /* Apply needs a field manager: the client's is used when none is given. */
    reply_simple(200, NULL, "{}");
    CU_ASSERT_EQUAL(kube_apply(c, &st, obj, NULL, false, NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(6), "?fieldManager=omjob HTTP"));
    json_object_put(jp);
    json_object_put(obj);
    kube_client_free(c);
}

/* kube_create_text / kube_patch_text: the same requests, the answer handed over
 * as its text (NUL-terminated, managedFields and all: the caller builds what it
 * needs); an empty answer is no text; an error is the same error. */
static void test_writes_text(void)
{
    struct kube_client *c = client();
    struct json_object *obj = json_tokener_parse("{\"status\":{\"phase\":\"Running\"}}");
    struct kube_ref st = {"pipelines.openmetadata.org/v1", "omjobs", "ns", "j", "status"};
    const char *answer = "{\"metadata\":{\"name\":\"j\",\"managedFields\":[{}]},\"x\":1}";
    struct kube_text t = {(char *)"stale", 1};
    struct kube_err e;
    reply_simple(200, NULL, answer);
    CU_ASSERT_EQUAL(kube_patch_text(c, &st, KUBE_PATCH_MERGE, obj, &t, &e), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t.body);
    CU_ASSERT_EQUAL(t.len, strlen(answer));
    CU_ASSERT_STRING_EQUAL(t.body, answer);
    free(t.body);
    CU_ASSERT(strncmp(req_n(0),
                      "PATCH /apis/pipelines.openmetadata.org/v1/namespaces/ns/omjobs/j/"
                      "status?fieldManager=omjob HTTP",
                      90) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "Content-Type: application/merge-patch+json\r\n"));
    reply_simple(201, NULL, answer);
    CU_ASSERT_EQUAL(kube_create_text(c, &pod, obj, &t, &e), 0);
    CU_ASSERT(t.body != NULL && strcmp(t.body, answer) == 0);
    free(t.body);
    CU_ASSERT(strncmp(req_n(1), "POST /api/v1/namespaces/ns/pods?fieldManager=omjob HTTP", 55) ==
              0);
    reply_simple(200, NULL, "");
    CU_ASSERT_EQUAL(kube_patch_text(c, &st, KUBE_PATCH_MERGE, obj, &t, &e), 0);
    CU_ASSERT(t.body == NULL && t.len == 0);
    reply_simple(409, NULL,
                 "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409,\"message\":"
                 "\"pods \\\"p\\\" already exists\"}");
    CU_ASSERT_EQUAL(kube_create_text(c, &pod, obj, &t, &e), -EEXIST);
    CU_ASSERT(t.body == NULL && e.http == 409);
    json_object_put(obj);
    kube_client_free(c);
}

static int count_items(void *ctx, struct json_object *item)
{
    int *n = ctx;
    (*n)++;
    return jx_str(item, "metadata.name") == NULL ? -1 : 0;
}

static int stop_items(void *ctx, struct json_object *item)
{
    return 42;
}

static void test_list_pages(void)
{
    struct kube_client *c = client();
    reply_simple(200, NULL,
                 "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"77\","
                 "\"continue\":\"tok/1=\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},"
                 "{\"metadata\":{\"name\":\"b\"}}]}");
    reply_simple(200, NULL,
                 "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"77\"},"
                 "\"items\":[{\"metadata\":{\"name\":\"c\"}}]}");
    struct kube_ref pods = {"v1", "pods", NULL, NULL, NULL};
    struct kube_list_opts o = {.label_selector = "app=x", .resource_version = "0", .limit = 2};
    char rv[64] = "";
    int n = 0;
    struct kube_err e;
    CU_ASSERT_EQUAL(kube_list(c, &pods, &o, count_items, &n, rv, sizeof(rv), &e), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(rv, "77");
    CU_ASSERT(strncmp(req_n(0),
                      "GET /api/v1/pods?labelSelector=app%3Dx&limit=2&resourceVersion=0 HTTP",
                      69) == 0);
    CU_ASSERT(strncmp(req_n(1),
                      "GET /api/v1/pods?labelSelector=app%3Dx&limit=2&continue=tok%2F1%3D HTTP",
                      71) == 0);
    /* The callback stops the list; an expired continue token is typed. */
    reply_simple(200, NULL, "{\"metadata\":{\"continue\":\"x\"},\"items\":[{}]}");
    CU_ASSERT_EQUAL(kube_list(c, &pods, NULL, stop_items, NULL, NULL, 0, NULL), 42);
    reply_simple(200, NULL, "{\"metadata\":{\"continue\":\"x\"},\"items\":[]}");
    reply_status(410, "Expired", "The provided continue parameter is too old");
    CU_ASSERT_EQUAL(kube_list(c, &pods, NULL, count_items, &n, rv, sizeof(rv), &e), -ESTALE);
    CU_ASSERT_EQUAL(e.http, 410);
    CU_ASSERT_STRING_EQUAL(rv, "77"); /* untouched on failure */
    kube_client_free(c);
}

static void write_token(const char *t)
{
    char tmp[1300];
    snprintf(tmp, sizeof(tmp), "%s.new", tokfile);
    FILE *f = fopen(tmp, "w");
    fputs(t, f);
    fclose(f);
    rename(tmp, tokfile);
}

static void test_token_rotation_401(void)
{
    srv_reset();
    write_token("old-token\n");
    struct kube_client *c = client_for(srv.port, "{tokenFile: token}", 5);
    write_token("new-token\n"); /* rotated under the client's feet */
    reply_status(401, "Unauthorized", "Unauthorized");
    reply_simple(200, NULL, "{}");
    struct kube_err e;
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), 0);
    CU_ASSERT_EQUAL(e.attempts, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(0), "Authorization: Bearer old-token\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(1), "Authorization: Bearer new-token\r\n"));
    /* An unchanged token after a 401 is a plain error. */
    reply_status(401, "Unauthorized", "Unauthorized");
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), -EACCES);
    CU_ASSERT_EQUAL(e.attempts, 1);
    kube_client_free(c);
}

static void test_rate_limited(void)
{
    srv_reset();
    char yaml[512], err[256];
    snprintf(yaml, sizeof(yaml),
             "current-context: t\ncontexts: [{name: t, context: {cluster: k}}]\n"
             "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\n",
             srv.port);
    struct kube_config *cfg = NULL;
    CU_ASSERT_FATAL(kube_config_parse(yaml, strlen(yaml), NULL, "t", &cfg, err, sizeof(err)) == 0);
    struct kube_client_opts o = {.qps = 10, .burst = 2};
    struct kube_client *c = NULL;
    CU_ASSERT_FATAL(kube_client_new(cfg, &o, &c) == 0);
    for (int i = 0; i < 5; i++)
        reply_simple(200, NULL, "{}");
    int64_t t0 = now_ms();
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, NULL), 0);
    /* Burst 2 goes at once, the next 3 at 10/s. */
    int64_t took = now_ms() - t0;
    CU_ASSERT(took >= 280);
    CU_ASSERT(took < 3000);
    CU_ASSERT_PTR_NULL(strstr(req_n(0), "Authorization:")); /* anonymous */
    kube_client_free(c);
}

/* ---- watch ---- */

struct wctx {
    int n;
    enum kube_ev_type types[32];
    char rvs[32][16];
    int stop_after;
};

static int on_event(void *ctx, const struct kube_event *ev)
{
    struct wctx *w = ctx;
    if (w->n < 32) {
        w->types[w->n] = ev->type;
        snprintf(w->rvs[w->n], sizeof(w->rvs[0]), "%s",
                 ev->resource_version ? ev->resource_version : "");
    }
    w->n++;
    return w->stop_after != 0 && w->n >= w->stop_after;
}

static char *stream;
static size_t stream_len;

static const struct kube_watch_params wparams = {
    .ref = {"v1", "pods", "ns", NULL, NULL},
    .label_selector = "omjob.role",
    .timeout_seconds = 30,
    .stall_seconds = 10,
};

static void test_watch_stream(void)
{
    struct kube_client *c = client();
    /* The recorded stream without its final ERROR event, then a clean end. */
    size_t cut = (size_t)(strstr(stream, "{\"type\":\"ERROR\"") - stream);
    reply_chunked(stream, cut, true);
    struct kube_watch *w;
    CU_ASSERT_FATAL(kube_watch_new(c, &w) == 0);
    CU_ASSERT_EQUAL(kube_watch_set_resource_version(w, "1000"), 0);
    struct wctx x = {0};
    struct kube_err e;
    enum kube_watch_end end = kube_watch_run(w, &wparams, on_event, &x, &e);
    CU_ASSERT_EQUAL(end, KUBE_WATCH_TIMEOUT);
    CU_ASSERT_EQUAL_FATAL(x.n, 8);
    CU_ASSERT_EQUAL(x.types[0], KUBE_EV_ADDED);
    CU_ASSERT_EQUAL(x.types[2], KUBE_EV_BOOKMARK);
    CU_ASSERT_EQUAL(x.types[6], KUBE_EV_DELETED);
    CU_ASSERT_STRING_EQUAL(x.rvs[7], "1020");
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w), "1020");
    CU_ASSERT_EQUAL(kube_watch_event_count(w), 8);
    const char *want = "GET /api/v1/namespaces/ns/pods?watch=1&allowWatchBookmarks=true&"
                       "labelSelector=omjob.role&resourceVersion=1000&timeoutSeconds=30 HTTP";
    CU_ASSERT(strncmp(req_n(0), want, strlen(want)) == 0);
    CU_ASSERT_EQUAL(seen.n, 1);
    CU_ASSERT_EQUAL(seen.code[0], 200);
    /* Resume from the last bookmark; the server says 410 in an ERROR event. */
    reply_chunked(stream + cut, stream_len - cut, false)->hang = true;
    memset(&x, 0, sizeof(x));
    end = kube_watch_run(w, &wparams, on_event, &x, &e);
    CU_ASSERT_EQUAL(end, KUBE_WATCH_EXPIRED);
    CU_ASSERT_EQUAL(e.http, 410);
    CU_ASSERT_STRING_EQUAL(e.reason, "Expired");
    CU_ASSERT_EQUAL(x.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(req_n(1), "&resourceVersion=1020&"));
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w), "");
    kube_watch_free(w);
    kube_client_free(c);
}

static void test_watch_http_errors(void)
{
    struct kube_client *c = client();
    struct kube_watch *w;
    CU_ASSERT_FATAL(kube_watch_new(c, &w) == 0);
    kube_watch_set_resource_version(w, "5");
    struct wctx x = {0};
    struct kube_err e;
    reply_status(410, "Expired", "too old resource version: 5 (9)");
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_EXPIRED);
    CU_ASSERT_EQUAL(e.http, 410);
    CU_ASSERT_STRING_EQUAL(e.message, "too old resource version: 5 (9)");
    reply_status(403, "Forbidden", "pods is forbidden");
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(e.http, 403);
    CU_ASSERT_STRING_EQUAL(e.reason, "Forbidden");
    /* ERROR event other than 410. */
    const char *ev500 = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                        "\"reason\":\"InternalError\",\"message\":\"etcd\"}}\n";
    reply_chunked(ev500, strlen(ev500), true);
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_HTTP_ERROR);
    CU_ASSERT_EQUAL(e.http, 500);
    /* Undecodable line, oversize line. */
    const char *bad = "{\"type\":\"ADDED\",\"object\":{}}\nnot json\n";
    reply_chunked(bad, strlen(bad), true);
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_BAD_STREAM);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_DECODE);
    CU_ASSERT_EQUAL(x.n, 1);
    struct kube_watch_params small = wparams;
    small.max_line = 1000;
    reply_chunked(stream, stream_len, true);
    CU_ASSERT_EQUAL(kube_watch_run(w, &small, on_event, &x, &e), KUBE_WATCH_BAD_STREAM);
    /* Disconnect in the middle of the stream. */
    struct reply *r = reply_chunked(stream, 3000, false);
    r->close = true;
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_DISCONNECTED);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TRANSPORT);
    /* The callback stops the watch. */
    memset(&x, 0, sizeof(x));
    x.stop_after = 2;
    reply_chunked(stream, stream_len, true);
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, &e), KUBE_WATCH_STOPPED);
    CU_ASSERT_EQUAL(x.n, 2);
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w), "1001");
    kube_watch_free(w);
    kube_client_free(c);
}

static void test_watch_stall(void)
{
    struct kube_client *c = client();
    struct kube_watch *w;
    CU_ASSERT_FATAL(kube_watch_new(c, &w) == 0);
    const char *one =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"3\"}}}\n";
    reply_chunked(one, strlen(one), false)->hang = true;
    struct kube_watch_params p = wparams;
    p.stall_seconds = 1;
    struct wctx x = {0};
    int64_t t0 = now_ms();
    CU_ASSERT_EQUAL(kube_watch_run(w, &p, on_event, &x, NULL), KUBE_WATCH_STALLED);
    int64_t took = now_ms() - t0;
    CU_ASSERT(took >= 950 && took < 4000);
    CU_ASSERT_EQUAL(x.n, 1);
    CU_ASSERT_STRING_EQUAL(kube_watch_resource_version(w), "3");
    kube_watch_free(w);
    kube_client_free(c);
}

static void *canceller(void *arg)
{
    sleep_ms(300);
    kube_watch_cancel(arg);
    return NULL;
}

static void test_watch_cancel(void)
{
    struct kube_client *c = client();
    struct kube_watch *w;
    CU_ASSERT_FATAL(kube_watch_new(c, &w) == 0);
    reply_chunked(stream, 10, false)->hang = true;
    pthread_t th;
    int64_t t0 = now_ms();
    pthread_create(&th, NULL, canceller, w);
    struct wctx x = {0};
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, NULL), KUBE_WATCH_CANCELLED);
    CU_ASSERT(now_ms() - t0 < 3000);
    pthread_join(th, NULL);
    /* Final: the next run does not even connect. */
    int before = srv.nreqs;
    CU_ASSERT_EQUAL(kube_watch_run(w, &wparams, on_event, &x, NULL), KUBE_WATCH_CANCELLED);
    CU_ASSERT_EQUAL(srv.nreqs, before);
    kube_watch_free(w);
    kube_client_free(c);
}

static void test_watch_steps(void)
{
    struct kube_client *c = client();
    struct kube_watch *w;
    CU_ASSERT_FATAL(kube_watch_new(c, &w) == 0);
    struct reply *r = reply_chunked(stream, stream_len, true);
    r->pieces[r->n / 2].delay_ms = 100; /* more than one 10 ms step */
    struct wctx x = {0};
    struct kube_err e;
    enum kube_watch_end end = kube_watch_start(w, &wparams, on_event, &x, &e);
    int steps = 0;
    while (end == KUBE_WATCH_RUNNING && steps++ < 100000)
        end = kube_watch_step(w, 10, &e);
    CU_ASSERT_EQUAL(end, KUBE_WATCH_EXPIRED);
    CU_ASSERT_EQUAL(x.n, 8);
    CU_ASSERT(steps > 1);
    kube_watch_free(w);
    kube_client_free(c);
}

/* ---- TLS against openssl s_server ---- */

static pid_t s_server(int port, const char *tls)
{
    char accept[16], cert[1200], key[1200], ca[1200];
    snprintf(accept, sizeof(accept), "%d", port);
    snprintf(cert, sizeof(cert), "%s/server.pem", tls);
    snprintf(key, sizeof(key), "%s/server-key.pem", tls);
    snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept, "-cert", cert, "-key",
               key, "-CAfile", ca, "-Verify", "1", "-www", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static char *b64_file(const char *tls, const char *name)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char path[1200], *in = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", tls, name);
    CU_ASSERT_FATAL(util_file_read(path, 1 << 20, &in, &len) == 0);
    char *out = malloc(len / 3 * 4 + 5), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)(unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)(unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        *o++ = t[v >> 18];
        *o++ = t[(v >> 12) & 63];
        *o++ = i + 1 < len ? t[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? t[v & 63] : '=';
    }
    *o = '\0';
    free(in);
    return out;
}

static struct kube_client *tls_client(int port, const char *ca, bool insecure, const char *cert,
                                      const char *key)
{
    char yaml[8192], user[4096] = "", err[512];
    if (cert[0] != '\0')
        snprintf(user, sizeof(user),
                 ", user: u}}]\nusers: [{name: u, user: {client-certificate-data: '%s', "
                 "client-key-data: '%s'}}]\n",
                 cert, key);
    else
        snprintf(user, sizeof(user), "}}]\n");
    snprintf(yaml, sizeof(yaml),
             "current-context: t\nclusters: [{name: k, cluster: {server: 'https://127.0.0.1:%d', "
             "certificate-authority-data: '%s', insecure-skip-tls-verify: %s}}]\n"
             "contexts: [{name: t, context: {cluster: k%s",
             port, ca, insecure ? "true" : "false", user);
    struct kube_config *cfg = NULL;
    int rc = kube_config_parse(yaml, strlen(yaml), NULL, "tls", &cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "tls config: %s\n", err);
    CU_ASSERT_FATAL(rc == 0);
    struct kube_client_opts o = {.max_attempts = 1};
    struct kube_client *c = NULL;
    CU_ASSERT_FATAL(kube_client_new(cfg, &o, &c) == 0);
    return c;
}

static void test_tls_inline_material(void)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        printf("(openssl not found: TLS test skipped) ");
        return;
    }
    const char *data = getenv("OMJOB_TEST_DATA");
    char tls[1024];
    snprintf(tls, sizeof(tls), "%s/kube/tls", data ? data : "tests/unit/data");
    int port;
    close(listen_any(&port));
    pid_t pid = s_server(port, tls);
    for (int i = 0; i < 200 && !port_open(port); i++)
        sleep_ms(25);
    char *ca = b64_file(tls, "ca.pem"), *other = b64_file(tls, "other-ca.pem");
    char *cert = b64_file(tls, "client.pem"), *key = b64_file(tls, "client-key.pem");
    struct kube_err e;
    struct json_object *o = NULL;
    /* Verified with the inline CA, inline client certificate accepted: the HTML
     * status page of s_server -www comes back (200, not JSON). */
    struct kube_client *c = tls_client(port, ca, false, cert, key);
    CU_ASSERT_EQUAL(kube_get(c, &pod, &o, &e), -EBADMSG);
    CU_ASSERT_EQUAL(e.http, 200);
    kube_client_free(c);
    /* The supervisor's order: the global init (OpenSSL's random generator
     * instantiated), then a fork whose child makes its first TLS connection with
     * the inherited state: the same answer there. */
    CU_ASSERT_EQUAL(kube_global_init(), 0);
    CU_ASSERT_EQUAL(kube_global_init(), 0);
    pid_t child = fork();
    if (child == 0) {
        struct kube_client *cc = tls_client(port, ca, false, cert, key);
        struct kube_err ce;
        struct json_object *co = NULL;
        int crc = kube_get(cc, &pod, &co, &ce);
        if (crc != -EBADMSG || ce.http != 200)
            fprintf(stderr, "child: rc %d http %d: %s\n", crc, ce.http, ce.message);
        json_object_put(co);
        kube_client_free(cc);
        free(ca);
        free(other);
        free(cert);
        free(key);
        _exit(crc == -EBADMSG && ce.http == 200 ? 0 : 1);
    }
    int st = -1;
    CU_ASSERT_FATAL(child > 0);
    CU_ASSERT_EQUAL(waitpid(child, &st, 0), child);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Wrong CA: verification fails, not retried. */
    c = tls_client(port, other, false, cert, key);
    CU_ASSERT_EQUAL(kube_get(c, &pod, NULL, &e), -EPROTO);
    CU_ASSERT_EQUAL(e.kind, KUBE_ERRK_TLS);
    kube_client_free(c);
    /* insecure-skip-tls-verify accepts the server anyway. */
    c = tls_client(port, other, true, cert, key);
    CU_ASSERT_EQUAL(kube_get(c, &pod, &o, &e), -EBADMSG);
    kube_client_free(c);
    /* No client certificate: the server (-Verify 1) refuses. */
    c = tls_client(port, ca, false, "", "");
    CU_ASSERT(kube_get(c, &pod, NULL, &e) < 0);
    CU_ASSERT_NOT_EQUAL(e.http, 200);
    kube_client_free(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(ca);
    free(other);
    free(cert);
    free(key);
}

/* ---- idle connections (kube_client_opts.max_idle) ---- */

/* A keep-alive server with a thread per connection: a request is answered (200)
 * once `target` requests have arrived in all (or after 5 s), so that a round's
 * requests are all in flight at once; counts connections. */
static struct {
    int lfd;
    atomic_int accepts, arrived, target;
    atomic_bool stop;
} ka;

static void *ka_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    size_t have = 0;
    while (!atomic_load(&ka.stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) { /* GETs: no body */
            atomic_fetch_add(&ka.arrived, 1);
            for (int i = 0; i < 5000 && atomic_load(&ka.arrived) < atomic_load(&ka.target); i++)
                sleep_ms(1);
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 2\r\n\r\n{}";
            if (write(fd, ok, sizeof(ok) - 1) != (ssize_t)sizeof(ok) - 1)
                goto out;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, buf + used, have - used + 1);
            have -= used;
        }
    }
out:
    close(fd);
    return NULL;
}

static void *ka_main(void *arg)
{
    pthread_t th[64];
    int nth = 0;
    while (!atomic_load(&ka.stop)) {
        struct pollfd p = {ka.lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(ka.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&ka.accepts, 1);
        if (nth == 64 || pthread_create(&th[nth], NULL, ka_conn, (void *)(intptr_t)fd) != 0)
            close(fd);
        else
            nth++;
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    return NULL;
}

struct ka_user {
    struct kube_client *c;
    pthread_barrier_t *bar;
    int rc;
};

static void *ka_user_main(void *arg)
{
    struct ka_user *u = arg;
    struct kube_err e;
    pthread_barrier_wait(u->bar);
    u->rc = kube_get(u->c, &pod, NULL, &e);
    return NULL;
}

/* Rounds of nthreads requests at once through a client keeping max_idle idle
 * connections (0: the default): the connections the server saw. */
static int ka_connections(int nthreads, int max_idle, int rounds)
{
    int port;
    ka.lfd = listen_any(&port);
    CU_ASSERT_FATAL(ka.lfd >= 0);
    atomic_store(&ka.accepts, 0);
    atomic_store(&ka.arrived, 0);
    atomic_store(&ka.stop, false);
    pthread_t srv_th;
    CU_ASSERT_FATAL(pthread_create(&srv_th, NULL, ka_main, NULL) == 0);
    struct kube_client_opts o = {.qps = -1, .max_idle = max_idle};
    struct kube_client *c = client_with(port, "{token: t}", &o);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
    struct ka_user u[32];
    pthread_t th[32];
    CU_ASSERT_FATAL(nthreads <= 32);
    for (int r = 0; r < rounds; r++) {
        atomic_store(&ka.target, nthreads * (r + 1));
        for (int i = 0; i < nthreads; i++) {
            u[i] = (struct ka_user){.c = c, .bar = &bar, .rc = -1};
            CU_ASSERT_FATAL(pthread_create(&th[i], NULL, ka_user_main, &u[i]) == 0);
        }
        for (int i = 0; i < nthreads; i++) {
            pthread_join(th[i], NULL);
            CU_ASSERT_EQUAL(u[i].rc, 0);
        }
    }
    pthread_barrier_destroy(&bar);
    kube_client_free(c);
    atomic_store(&ka.stop, true);
    pthread_join(srv_th, NULL);
    close(ka.lfd);
    return atomic_load(&ka.accepts);
}

static void test_idle_connections(void)
{
    /* Twelve threads at once, three rounds: with twelve kept each opens one
     * connection once; with the default eight, four are closed after every
     * round and opened again in the next. */
    CU_ASSERT_EQUAL(ka_connections(12, 12, 3), 12);
    int dflt = ka_connections(12, 0, 3);
    CU_ASSERT_EQUAL(dflt, 12 + 2 * 4);
}

int main(void)
{
    /* The test server speaks plain HTTP on loopback (kubeconfig.h). */
    setenv("OMJOB_ALLOW_INSECURE_HTTP", "true", 1);
    const char *s = getenv("OMJOB_TEST_SEED");
    seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    printf("test_kube_http: seed %u (set OMJOB_TEST_SEED to repeat)\n", seed);
    const char *data = getenv("OMJOB_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/kube/watch_pods.jsonl", data ? data : "tests/unit/data");
    if (util_file_read(path, 1 << 20, &stream, &stream_len) != 0 || mkdtemp(tmpdir) == NULL)
        return 2;
    snprintf(tokfile, sizeof(tokfile), "%s/token", tmpdir);
    if (srv_start() != 0 || CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_http", NULL, NULL);
    CU_add_test(su, "get", test_get_ok);
    CU_add_test(su, "typed errors", test_errors_typed);
    CU_add_test(su, "500, 503 then 200", test_retry_500_then_200);
    CU_add_test(su, "429 with Retry-After", test_retry_after_429);
    CU_add_test(su, "create retry rules", test_create_retry_rules);
    CU_add_test(su, "connection refused", test_connect_refused);
    CU_add_test(su, "a silent server: one request ends within total_timeout_ms",
                test_total_timeout);
    CU_add_test(su, "write on a dead reused connection", test_write_on_dead_reused_connection);
    CU_add_test(su, "refused after sending", test_refused_after_sending);
    CU_add_test(su, "update, patch, apply, delete, evict", test_writes);
    CU_add_test(su, "create and patch answered as text", test_writes_text);
    CU_add_test(su, "list pages", test_list_pages);
    CU_add_test(su, "token rotation on 401", test_token_rotation_401);
    CU_add_test(su, "client-side rate limit", test_rate_limited);
    CU_add_test(su, "watch stream and resume", test_watch_stream);
    CU_add_test(su, "watch errors", test_watch_http_errors);
    CU_add_test(su, "watch stall", test_watch_stall);
    CU_add_test(su, "watch cancel from a thread", test_watch_cancel);
    CU_add_test(su, "watch in steps", test_watch_steps);
    CU_add_test(su, "TLS with inline CA, cert and key", test_tls_inline_material);
    CU_add_test(su, "idle connections kept: max_idle", test_idle_connections);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    srv_stop();
    free(stream);
    unlink(tokfile);
    rmdir(tmpdir);
    return rc;
}

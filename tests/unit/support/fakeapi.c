/* The fake API server of the unit tests (see fakeapi.h). */
#include "support/fakeapi.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_CAP 16384

struct fakeapi {
    int fa_lfd, fa_port;
    pthread_t fa_th;
    atomic_bool fa_stop;
    pthread_mutex_t fa_mu; /* guards everything below */
    char *fa_replies[FAKEAPI_MAX];
    int fa_nreplies, fa_next;
    char fa_lines[FAKEAPI_MAX][512];
    char *fa_bodies[FAKEAPI_MAX];
    int fa_nreqs;
};

/* Reads one request (headers and a Content-Length body) into buf. The length,
 * or -1 on EOF or stop. */
static int read_request(struct fakeapi *f, int fd, char *buf, size_t cap, char **body)
{
    size_t n = 0;
    char *end = NULL;
    long blen = 0;
    while (!atomic_load(&f->fa_stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            blen = cl != NULL && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
        if ((end != NULL && n >= (size_t)(end + 4 - buf) + (size_t)blen) || n >= cap - 1) {
            *body = end != NULL ? end + 4 : buf + n;
            return (int)n;
        }
    }
    return -1;
}

static void record(struct fakeapi *f, const char *req, const char *body)
{
    if (f->fa_nreqs >= FAKEAPI_MAX)
        return;
    size_t l = strcspn(req, "\r\n");
    const char *sp = memrchr(req, ' ', l); /* drop " HTTP/1.1" */
    if (sp != NULL)
        l = (size_t)(sp - req);
    snprintf(f->fa_lines[f->fa_nreqs], sizeof(f->fa_lines[0]), "%.*s", (int)l, req);
    f->fa_bodies[f->fa_nreqs++] = strdup(body);
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

static void serve(struct fakeapi *f, int fd)
{
    static char req[REQ_CAP];
    char *body;
    while (read_request(f, fd, req, sizeof(req), &body) >= 0) {
        pthread_mutex_lock(&f->fa_mu);
        record(f, req, body);
        char *r = f->fa_next < f->fa_nreplies ? strdup(f->fa_replies[f->fa_next++]) : NULL;
        pthread_mutex_unlock(&f->fa_mu);
        if (r == NULL) {
            static const char none[] = "HTTP/1.1 599 No Reply Queued\r\nContent-Length: 0\r\n\r\n";
            send_all(fd, none, sizeof(none) - 1);
        } else {
            send_all(fd, r, strlen(r));
            free(r);
        }
    }
}

static void *server_main(void *arg)
{
    struct fakeapi *f = arg;
    while (!atomic_load(&f->fa_stop)) {
        struct pollfd p = {f->fa_lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->fa_lfd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

int fakeapi_start(struct fakeapi **out)
{
    struct fakeapi *f = calloc(1, sizeof(*f));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (f == NULL)
        return -1;
    pthread_mutex_init(&f->fa_mu, NULL);
    f->fa_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->fa_lfd < 0 || bind(f->fa_lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(f->fa_lfd, 16) != 0 || getsockname(f->fa_lfd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&f->fa_th, NULL, server_main, f) != 0) {
        if (f->fa_lfd >= 0)
            close(f->fa_lfd);
        pthread_mutex_destroy(&f->fa_mu);
        free(f);
        return -1;
    }
    f->fa_port = ntohs(a.sin_port);
    *out = f;
    return 0;
}

void fakeapi_reset(struct fakeapi *f)
{
    pthread_mutex_lock(&f->fa_mu);
    for (int i = 0; i < f->fa_nreplies; i++)
        free(f->fa_replies[i]);
    for (int i = 0; i < f->fa_nreqs; i++)
        free(f->fa_bodies[i]);
    f->fa_nreplies = f->fa_next = f->fa_nreqs = 0;
    pthread_mutex_unlock(&f->fa_mu);
}

void fakeapi_stop(struct fakeapi *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->fa_stop, true);
    pthread_join(f->fa_th, NULL);
    close(f->fa_lfd);
    fakeapi_reset(f);
    pthread_mutex_destroy(&f->fa_mu);
    free(f);
}

int fakeapi_port(const struct fakeapi *f)
{
    return f->fa_port;
}

void fakeapi_kubeconfig(const struct fakeapi *f, char *buf, size_t cap)
{
    /* The fake speaks plain HTTP on loopback: the token may go in the clear. */
    setenv("OMJOB_ALLOW_INSECURE_HTTP", "true", 1);
    snprintf(buf, cap,
             "current-context: t\ncontexts: [{name: t, context: {cluster: k, user: u}}]\n"
             "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
             "users: [{name: u, user: {token: fake-token}}]\n",
             f->fa_port);
}

void fakeapi_reply(struct fakeapi *f, int code, const char *body)
{
    size_t cap = strlen(body) + 256;
    char *r = malloc(cap);
    if (r == NULL)
        return;
    snprintf(r, cap,
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             code, strlen(body), body);
    pthread_mutex_lock(&f->fa_mu);
    if (f->fa_nreplies < FAKEAPI_MAX)
        f->fa_replies[f->fa_nreplies++] = r;
    else
        free(r);
    pthread_mutex_unlock(&f->fa_mu);
}

void fakeapi_status(struct fakeapi *f, int code, const char *reason, const char *message)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
             "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
             message, reason, code);
    fakeapi_reply(f, code, body);
}

int fakeapi_nreqs(struct fakeapi *f)
{
    pthread_mutex_lock(&f->fa_mu);
    int n = f->fa_nreqs;
    pthread_mutex_unlock(&f->fa_mu);
    return n;
}

/* The strings stay valid until the next reset: the server only appends. */
const char *fakeapi_line(struct fakeapi *f, int i)
{
    pthread_mutex_lock(&f->fa_mu);
    const char *s = i >= 0 && i < f->fa_nreqs ? f->fa_lines[i] : "";
    pthread_mutex_unlock(&f->fa_mu);
    return s;
}

const char *fakeapi_body(struct fakeapi *f, int i)
{
    pthread_mutex_lock(&f->fa_mu);
    const char *s = i >= 0 && i < f->fa_nreqs && f->fa_bodies[i] != NULL ? f->fa_bodies[i] : "";
    pthread_mutex_unlock(&f->fa_mu);
    return s;
}

/* IPC benchmark over ipc:// between processes (forked before any NNG use, as in
 * the operator): req/rep round-trip latency, and a pub/sub burst measuring how
 * much arrives and whether every loss shows up as a detected gap.
 * Prints "BENCH <name> <value> <unit>" lines; ends by itself within a minute. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/ipc/ipc.h"

#define RTT_WARMUP 2000
#define RTT_CALLS 20000
#define BURST 100000
#define TOPIC "shard.0"

struct sub_result {
    uint64_t delivered; /* burst messages received */
    uint64_t gaps;      /* GAP events */
    uint64_t missed;    /* burst messages lost, from gaps and the first seq */
    uint64_t first_seq; /* seq of the first message received */
    int trailer_seen;   /* a message after the burst arrived, closing the count */
    double span_s;      /* first to last burst message received */
};

static atomic_bool stop_server;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int echo(void *arg, const struct ipc_msg *req, struct ipc_reply *rep)
{
    if (req->type == IPC_CTL_STOP) {
        atomic_store(&stop_server, true);
        rep->type = IPC_CTL_ACK;
        return 0;
    }
    rep->type = IPC_REQ_GET_KEY_REPLY;
    rep->len = req->body_len;
    rep->body = malloc(req->body_len ? req->body_len : 1);
    if (rep->body == NULL)
        return -ENOMEM;
    memcpy(rep->body, req->body, req->body_len);
    return 0;
}

static void server_child(const char *url, int ready_fd)
{
    struct ipc_rep *r = NULL;
    if (ipc_rep_open(&r, url, 2, echo, NULL) != 0)
        _exit(1);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    while (!atomic_load(&stop_server))
        usleep(10000);
    usleep(20000); /* let the ACK go out */
    ipc_rep_close(r);
    ipc_fini();
    _exit(0);
}

static void sub_count(struct sub_result *res, const struct ipc_sub_event *ev, double *t0,
                      double *t1)
{
    if (ev->se_status == IPC_SEQ_FIRST)
        res->first_seq = ev->se_msg.seq;
    if (ev->se_msg.seq > BURST) {
        /* The first trailer: a gap here may include lost trailers, not burst messages. */
        if (ev->se_status == IPC_SEQ_GAP)
            res->missed += ev->se_missed - (ev->se_msg.seq - BURST - 1);
        res->trailer_seen = 1;
        return;
    }
    if (res->delivered == 0)
        *t0 = now_s();
    *t1 = now_s();
    res->delivered++;
    if (ev->se_status == IPC_SEQ_GAP) {
        res->gaps++;
        res->missed += ev->se_missed;
    }
}

static void sub_child(const char *url, int ready_fd, int result_fd)
{
    struct ipc_sub *s = NULL;
    struct sub_result res = {0};
    if (ipc_sub_open(&s, url) != 0 || ipc_sub_subscribe(s, TOPIC) != 0)
        _exit(1);
    if (write(ready_fd, "s", 1) != 1)
        _exit(1);
    struct ipc_sub_event ev;
    double t0 = 0, t1 = 0;
    /* Wait up to 40 s for the burst, then stop at the first trailer or 3 s of quiet. */
    int timeout = 40000;
    while (!res.trailer_seen && ipc_sub_recv(s, timeout, &ev) == 0) {
        timeout = 3000;
        sub_count(&res, &ev, &t0, &t1);
    }
    if (res.first_seq > 1 && res.first_seq <= BURST)
        res.missed += res.first_seq - 1; /* lost before the first; FIRST means resync */
    res.span_s = t1 - t0;
    ssize_t n = write(result_fd, &res, sizeof(res));
    ipc_sub_close(s);
    ipc_fini();
    _exit(n == (ssize_t)sizeof(res) ? 0 : 1);
}

static pid_t spawn(void (*fn)(const char *, int, int), const char *url, int ready_fd, int result_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(55);
        fn(url, ready_fd, result_fd);
    }
    return pid;
}

static void server_trampoline(const char *url, int ready_fd, int result_fd)
{
    server_child(url, ready_fd);
}

static int wait_byte(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, ms) == 1 && read(fd, &c, 1) == 1 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_rtt(const char *url, int ready_fd)
{
    static double us[RTT_CALLS];
    struct ipc_req *c = NULL;
    struct ipc_msg *m;
    const char body[] = "openmetadata/ingest-0123456789";
    if (wait_byte(ready_fd, 10000) != 0 || ipc_req_open(&c, url) != 0)
        return -1;
    for (int i = 0; i < RTT_WARMUP + RTT_CALLS; i++) {
        double t = now_s();
        if (ipc_req_call(c, IPC_REQ_GET_KEY, body, sizeof(body) - 1, 5000, &m) != 0) {
            ipc_req_close(c);
            return -1;
        }
        if (i >= RTT_WARMUP)
            us[i - RTT_WARMUP] = (now_s() - t) * 1e6;
        ipc_msg_free(m);
    }
    if (ipc_req_call(c, IPC_CTL_STOP, NULL, 0, 5000, &m) == 0)
        ipc_msg_free(m);
    ipc_req_close(c);
    qsort(us, RTT_CALLS, sizeof(us[0]), cmp_double);
    printf("BENCH ipc_reqrep_rtt_p50 %.1f us\n", us[RTT_CALLS / 2]);
    printf("BENCH ipc_reqrep_rtt_p99 %.1f us\n", us[RTT_CALLS * 99 / 100]);
    return 0;
}

/* Publishes the burst, then trailers until the subscriber reports. */
static int bench_burst(const char *url, int ready_fd, int result_fd)
{
    struct ipc_pub *p = NULL;
    if (wait_byte(ready_fd, 10000) != 0 || ipc_pub_open(&p, url) != 0)
        return -1;
    for (int i = 0; i < 1000 && ipc_pub_subscribers(p) < 1; i++)
        usleep(5000);
    usleep(100000);
    struct ipc_hint h = {.kind = IPC_KIND_OMJOB};
    double t0 = now_s();
    for (uint64_t i = 1; i <= BURST; i++) {
        h.seq = i;
        snprintf(h.key, sizeof(h.key), "openmetadata/ingest-%llu", (unsigned long long)i);
        ipc_pub_send_hint(p, TOPIC, &h);
    }
    double pub_s = now_s() - t0;
    struct sub_result res;
    struct pollfd pfd = {.fd = result_fd, .events = POLLIN};
    for (int i = 0; i < 200 && poll(&pfd, 1, 50) == 0; i++)
        ipc_pub_send(p, TOPIC, IPC_EV_RESYNC, NULL, 0);
    ssize_t n = read(result_fd, &res, sizeof(res));
    ipc_pub_close(p);
    if (n != (ssize_t)sizeof(res))
        return -1;
    printf("BENCH ipc_pubsub_burst_published %d msgs\n", BURST);
    printf("BENCH ipc_pubsub_burst_delivered %.3f fraction\n", (double)res.delivered / BURST);
    printf("BENCH ipc_pubsub_gaps_detected %llu count\n", (unsigned long long)res.gaps);
    printf("BENCH ipc_pubsub_gaps_detected_all %d bool\n",
           res.trailer_seen && res.delivered + res.missed == BURST);
    printf("BENCH ipc_pubsub_publish_rate %.0f msgs/s\n", BURST / pub_s);
    printf("BENCH ipc_pubsub_delivered_rate %.0f msgs/s\n",
           res.span_s > 0 ? (double)res.delivered / res.span_s : 0.0);
    return 0;
}

/* Removes the run directory: socket files are gone once closed, lock files stay. */
static void rm_rundir(const char *dir)
{
    static const char *names[] = {"hints.pub", "hints.pub.lock", "truth.rep", "truth.rep.lock"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench_ipc: could not remove %s: %s\n", dir, strerror(errno));
}

int main(void)
{
    alarm(58);
    char dir[] = "/tmp/omjob-bench-XXXXXX", rep_url[IPC_URL_MAX], pub_url[IPC_URL_MAX];
    int srv_ready[2], sub_ready[2], result[2];
    if (mkdtemp(dir) == NULL || /* 0700, ours: a private run directory */
        ipc_endpoint_url(rep_url, sizeof(rep_url), dir, IPC_EP_TRUTH, NULL) != 0 ||
        ipc_endpoint_url(pub_url, sizeof(pub_url), dir, IPC_EP_HINTS, NULL) != 0 ||
        pipe(srv_ready) != 0 || pipe(sub_ready) != 0 || pipe(result) != 0) {
        fprintf(stderr, "bench_ipc: setup failed\n");
        return 1;
    }
    /* Fork every child before this process touches NNG (NNG does not survive fork). */
    fflush(stdout);
    pid_t srv = spawn(server_trampoline, rep_url, srv_ready[1], -1);
    pid_t sub = spawn(sub_child, pub_url, sub_ready[1], result[1]);
    int rc = bench_rtt(rep_url, srv_ready[0]);
    if (rc == 0)
        rc = bench_burst(pub_url, sub_ready[0], result[0]);
    kill(srv, SIGTERM);
    kill(sub, SIGTERM);
    waitpid(srv, NULL, 0);
    waitpid(sub, NULL, 0);
    ipc_fini();
    rm_rundir(dir);
    if (rc != 0)
        fprintf(stderr, "bench_ipc: failed\n");
    return rc == 0 ? 0 : 1;
}

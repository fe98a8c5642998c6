/* Unit tests of the httpd role as a process (roles/httpd/httpd.c): httpd() runs in
 * a forked child on free loopback ports with a private run directory and a status
 * file written here, and is asked over HTTP: /info (with and without a status
 * file), /healthz, /readyz, /metrics on both ports, unknown paths and methods;
 * then stopped with SIGTERM. A bad bind address exits 78, a port in use or an
 * unusable run directory 1.
 * No role answers a control socket here: the integration tests run the real ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "support/unit.h"

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "lib/common/util.h"
#include "roles/httpd/httpd.h"
#include "runtime/role.h"
#include "runtime/statusfile.h"

static char rundir[64];
static int hport, mport;

static int wait_limit_ms(void)
{
    return getenv("OMJOB_UNDER_VALGRIND") != NULL ? 60000 : 10000;
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int connect_to(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

struct resp {
    int code;
    char head[2048];
    char body[16384];
};

/* One HTTP/1.0 request; 0 with *r, or -1. */
static int request(int port, const char *method, const char *path, struct resp *r)
{
    char buf[sizeof(r->head) + sizeof(r->body)];
    size_t n = 0;
    int fd = connect_to(port);
    memset(r, 0, sizeof(*r));
    if (fd < 0)
        return -1;
    int len = snprintf(buf, sizeof(buf), "%s %s HTTP/1.0\r\nHost: test\r\n\r\n", method, path);
    if (send(fd, buf, (size_t)len, MSG_NOSIGNAL) != len) {
        close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait_limit_ms()) <= 0)
            break;
        ssize_t got = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->code) != 1)
        return -1;
    snprintf(r->head, sizeof(r->head), "%.*s", (int)(end - buf), buf);
    snprintf(r->body, sizeof(r->body), "%s", end + 4);
    return 0;
}

/* Runs httpd() in a child with these environment settings; returns its pid. */
static pid_t spawn(const char *bind, int health, int metrics)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char h[16], m[16];
    snprintf(h, sizeof(h), "%d", health);
    snprintf(m, sizeof(m), "%d", metrics);
    setenv("OMJOB_RUN_DIR", rundir, 1);
    setenv("HEALTH_CHECK_PORT", h, 1);
    setenv("METRICS_PORT", m, 1);
    setenv("LOG_LEVEL", "ERROR", 1);
    if (bind != NULL)
        setenv("OMJOB_HTTP_BIND_ADDRESS", bind, 1);
    else
        unsetenv("OMJOB_HTTP_BIND_ADDRESS");
    char *argv[] = {"httpd", NULL};
    exit(httpd(1, argv)); /* exit, not _exit: coverage and leak checks see it end */
}

/* Waits until port accepts connections (or the child died). */
static int wait_listening(pid_t pid, int port)
{
    int64_t end = util_mono_ms() + wait_limit_ms();
    while (util_mono_ms() < end) {
        int fd = connect_to(port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(10000);
    }
    return -1;
}

/* The child's exit status, after SIGTERM when term is set; -1 if it did not end
 * in time (it is then killed). */
static int finish(pid_t pid, bool term)
{
    int st;
    if (term)
        kill(pid, SIGTERM);
    int64_t end = util_mono_ms() + wait_limit_ms();
    while (util_mono_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* The supervisor's status file: this process as the supervisor, and three rows:
 * httpd itself, a reconciler still starting, and a disabled cleaner. */
static void write_status(pid_t httpd_pid)
{
    int64_t now = util_wall_ms();
    struct status_row rows[] = {
        {.name = "httpd",
         .pid = httpd_pid,
         .started_ms = now,
         .last_status = -1,
         .state = ROLE_READY},
        {.name = "reconciler-0",
         .pid = 1234567,
         .restarts = 2,
         .started_ms = now - 5000,
         .last_status = -1,
         .state = ROLE_STARTING},
        {.name = "cleaner", .disabled = 1, .last_status = -1, .state = ROLE_STOPPED},
    };
    struct status_file sf = {
        .pid = getpid(), .started_ms = now - 60000, .ready_ms = -1, .rows = rows, .n = 3};
    CU_ASSERT_EQUAL_FATAL(status_write(rundir, &sf), 0);
}

static struct json_object *parse_body(const struct resp *r)
{
    struct json_object *o = NULL;
    CU_ASSERT_EQUAL(jx_parse(r->body, strlen(r->body), &o, NULL, 0), 0);
    return o;
}

/* /info, /metrics and the probes before the supervisor wrote its status file. */
static void check_without_status(void)
{
    struct resp r;
    CU_ASSERT_EQUAL_FATAL(request(hport, "GET", "/info", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.head, "Content-Type: application/json"));
    struct json_object *o = parse_body(&r);
    CU_ASSERT_PTR_NOT_NULL(jx_str(o, "version"));
    CU_ASSERT_STRING_EQUAL(jx_str(o, "supervisor.error"), strerror(ENOENT));
    CU_ASSERT_EQUAL(json_object_array_length(jx_get(o, "roles")), 0);
    CU_ASSERT_STRING_EQUAL(jx_str(o, "config.OMJOB_HTTP_BIND_ADDRESS"), "127.0.0.1");
    CU_ASSERT_STRING_EQUAL(jx_str(o, "config.OMJOB_RUN_DIR"), rundir);
    json_object_put(o);
    CU_ASSERT_EQUAL(request(hport, "GET", "/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "supervisor: status file unreadable"));
    CU_ASSERT_EQUAL(request(mport, "GET", "/metrics", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.head, "text/plain; version=0.0.4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "# TYPE omjob_component_restarts_total counter"));
}

static void check_with_status(void)
{
    struct resp r;
    CU_ASSERT_EQUAL_FATAL(request(hport, "GET", "/info", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    struct json_object *o = parse_body(&r);
    CU_ASSERT_EQUAL(jx_i64_or(o, "supervisor.pid", -1), getpid());
    CU_ASSERT_EQUAL(jx_bool_or(o, "supervisor.alive", false), true);
    CU_ASSERT_EQUAL(jx_bool_or(o, "supervisor.ready", true), false);
    CU_ASSERT_PTR_NOT_NULL(jx_str(o, "supervisor.startedAt"));
    double up = json_object_get_double(jx_get(o, "supervisor.uptimeSeconds"));
    CU_ASSERT(up >= 59.0 && up < 600.0);
    struct json_object *roles = jx_get(o, "roles");
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(roles), 3);
    struct json_object *rec = json_object_array_get_idx(roles, 1);
    CU_ASSERT_STRING_EQUAL(jx_str(rec, "name"), "reconciler-0");
    CU_ASSERT_STRING_EQUAL(jx_str(rec, "state"), "STARTING");
    CU_ASSERT_EQUAL(jx_i64_or(rec, "pid", -1), 1234567);
    CU_ASSERT_EQUAL(jx_i64_or(rec, "restarts", -1), 2);
    up = json_object_get_double(jx_get(rec, "uptimeSeconds"));
    CU_ASSERT(up >= 4.0 && up < 600.0);
    struct json_object *cl = json_object_array_get_idx(roles, 2);
    CU_ASSERT_EQUAL(jx_bool_or(cl, "disabled", false), true);
    CU_ASSERT_PTR_NULL(jx_get(cl, "pid")); /* not running: null, not 0 */
    CU_ASSERT_PTR_NULL(jx_get(cl, "startedAt"));
    CU_ASSERT_PTR_NULL(jx_get(cl, "uptimeSeconds"));
    json_object_put(o);
    /* Alive: the roles not running yet are restarting; not ready: one is starting. */
    CU_ASSERT_EQUAL(request(hport, "GET", "/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "ok\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.head, "Cache-Control: no-store"));
    CU_ASSERT_EQUAL(request(hport, "GET", "/readyz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 503);
    CU_ASSERT_STRING_EQUAL(r.body, "reconciler-0: STARTING in the supervisor's table\n");
    CU_ASSERT_EQUAL(request(hport, "GET", "/metrics", &r), 0); /* on the health port too */
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(r.body, "omjob_component_restarts_total{role=\"reconciler-0\"} 2\n"));
}

static void check_routes(void)
{
    struct resp r;
    CU_ASSERT_EQUAL_FATAL(request(hport, "GET", "/nope", &r), 0);
    CU_ASSERT_EQUAL(r.code, 404);
    CU_ASSERT_STRING_EQUAL(r.body, "not found\n");
    CU_ASSERT_EQUAL(request(hport, "POST", "/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 405);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.head, "\r\nAllow: GET, HEAD"));
    CU_ASSERT_EQUAL(request(hport, "HEAD", "/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "");
    /* METRICS_PORT serves /metrics alone. */
    CU_ASSERT_EQUAL(request(mport, "GET", "/healthz", &r), 0);
    CU_ASSERT_EQUAL(r.code, 404);
    CU_ASSERT_EQUAL(request(mport, "GET", "/info", &r), 0);
    CU_ASSERT_EQUAL(r.code, 404);
}

static void test_serves(void)
{
    hport = free_port();
    mport = free_port();
    CU_ASSERT_FATAL(hport > 0 && mport > 0 && hport != mport);
    pid_t pid = spawn("127.0.0.1", hport, mport);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(wait_listening(pid, hport), 0);
    CU_ASSERT_EQUAL(wait_listening(pid, mport), 0);
    check_without_status();
    write_status(pid);
    check_with_status();
    check_routes();
    CU_ASSERT_EQUAL(finish(pid, true), 0);
    status_remove(rundir);
}

/* HEALTH_CHECK_PORT and METRICS_PORT the same: one listener serving everything,
 * on every interface when no bind address is set. */
static void test_one_port_any_address(void)
{
    struct resp r;
    hport = free_port();
    pid_t pid = spawn(NULL, hport, hport);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL_FATAL(wait_listening(pid, hport), 0);
    CU_ASSERT_EQUAL(request(hport, "GET", "/metrics", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    CU_ASSERT_EQUAL(request(hport, "GET", "/info", &r), 0);
    CU_ASSERT_EQUAL(r.code, 200);
    struct json_object *o = parse_body(&r);
    CU_ASSERT_PTR_NOT_NULL(jx_get(o, "config"));
    CU_ASSERT_PTR_NULL(jx_get(o, "config.OMJOB_HTTP_BIND_ADDRESS")); /* null: unset */
    json_object_put(o);
    CU_ASSERT_EQUAL(finish(pid, true), 0);
}

/* An address that is neither IPv4 nor IPv6 is bad configuration (78, not
 * restarted in a loop); a port taken by someone else is an ordinary failure (1). */
static void test_cannot_listen(void)
{
    CU_ASSERT_EQUAL(finish(spawn("localhost", free_port(), free_port()), false), EX_CONFIG);
    CU_ASSERT_EQUAL(finish(spawn("not an address", free_port(), free_port()), false), EX_CONFIG);
    /* The metrics port is taken: the health listener that did start is stopped. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                    listen(fd, 1) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    int taken = ntohs(a.sin_port);
    CU_ASSERT_EQUAL(finish(spawn("127.0.0.1", free_port(), taken), false), 1);
    CU_ASSERT_EQUAL(finish(spawn("127.0.0.1", taken, free_port()), false), 1);
    close(fd);
}

/* A run directory that is not one: no control socket, exit 1 before listening. */
static void test_cannot_start(void)
{
    char saved[sizeof(rundir)], file[sizeof(rundir)];
    snprintf(saved, sizeof(saved), "%s", rundir);
    int n = snprintf(file, sizeof(file), "%s/f", rundir);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(file));
    FILE *f = fopen(file, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    snprintf(rundir, sizeof(rundir), "%s", file);
    hport = free_port();
    pid_t pid = spawn("127.0.0.1", hport, hport);
    snprintf(rundir, sizeof(rundir), "%s", saved);
    CU_ASSERT_EQUAL(finish(pid, false), 1);
    CU_ASSERT_EQUAL(connect_to(hport), -1);
    unlink(file);
}

/* Over IPv6 when the host has it (an address it lacks fails like a port in use). */
static void test_ipv6(void)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool have = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    hport = free_port();
    pid_t pid = spawn("::1", hport, hport);
    CU_ASSERT_FATAL(pid > 0);
    if (!have) {
        CU_ASSERT_EQUAL(finish(pid, false), 1);
        return;
    }
    struct sockaddr_in6 to = {.sin6_family = AF_INET6,
                              .sin6_addr = in6addr_loopback,
                              .sin6_port = htons((uint16_t)hport)};
    int64_t end = util_mono_ms() + wait_limit_ms();
    int connected = -1;
    while (connected != 0 && util_mono_ms() < end) {
        fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        connected = connect(fd, (struct sockaddr *)&to, sizeof(to));
        close(fd);
        if (connected != 0)
            usleep(10000);
    }
    CU_ASSERT_EQUAL(connected, 0);
    CU_ASSERT_EQUAL(connect_to(hport), -1); /* not on IPv4 */
    CU_ASSERT_EQUAL(finish(pid, true), 0);
}

static void test_usage(void)
{
    char *argv[] = {"httpd", "extra", NULL};
    CU_ASSERT_EQUAL(httpd(2, argv), ROLE_EX_USAGE);
}

static int init(void)
{
    snprintf(rundir, sizeof(rundir), "/tmp/omjob-httpd-test-XXXXXX");
    return mkdtemp(rundir) != NULL ? 0 : -1;
}

static int clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"serves /info, probes, /metrics, routes", test_serves},
        {"one port, any address", test_one_port_any_address},
        {"cannot listen: bad address 78, port in use 1", test_cannot_listen},
        {"cannot start: run directory unusable", test_cannot_start},
        {"IPv6 bind address", test_ipv6},
        {"usage", test_usage},
        {NULL, NULL},
    };
    return unit_run("httpd_role", init, clean, tests);
}

/* Role side of the supervisor protocol: the readiness pipe, stop signals via
 * signalfd, the parent-liveness pipe, and the test knobs that make a role
 * misbehave on purpose (OMJOB_TEST_ROLE_EXIT, _HANG, _ORPHAN). */
#include "runtime/role.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/common/log.h"
#include "lib/common/util.h"

static struct {
    char name[32];
    int ready_fd;  /* write end of the readiness pipe, or -1 */
    int parent_fd; /* read end of the parent-liveness pipe, or -1 */
    int stop_fd;   /* signalfd for SIGTERM and SIGINT, or -1 */
    bool hang;     /* OMJOB_TEST_ROLE_HANG: ignore stop signals */
} rs = {"", -1, -1, -1, false};

/* True when a knob's value names this role: its instance name ("reconciler-2")
 * or its kind ("reconciler", every shard). */
static bool knob_matches(const char *v, size_t vlen, const char *name)
{
    if (vlen == strlen(name) && strncmp(v, name, vlen) == 0)
        return true;
    return strncmp(name, v, vlen) == 0 && name[vlen] == '-';
}

/* Takes an inherited descriptor named by the environment variable var, or -1.
 * It is made close-on-exec so that nothing the role runs holds it. */
static int take_fd(const char *var)
{
    const char *v = getenv(var);
    long long fd;
    if (v == NULL)
        return -1;
    if (util_parse_i64(v, 0, INT_MAX, &fd) != 0 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0) {
        log_warn("ignoring a bad inherited descriptor", "variable", var, "value", v, NULL);
        fd = -1;
    }
    unsetenv(var);
    return (int)fd;
}

/* OMJOB_TEST_ROLE_EXIT=<role>:<code>: exit with code right away. */
static void knob_exit(void)
{
    const char *v = getenv("OMJOB_TEST_ROLE_EXIT");
    const char *colon = v != NULL ? strchr(v, ':') : NULL;
    long long code;
    if (colon == NULL || !knob_matches(v, (size_t)(colon - v), rs.name))
        return;
    if (util_parse_i64(colon + 1, 0, 255, &code) != 0) {
        log_error("bad OMJOB_TEST_ROLE_EXIT, expected <role>:<code 0-255>", "value", v, NULL);
        return;
    }
    log_warn("exiting at start as OMJOB_TEST_ROLE_EXIT asks", "code", colon + 1, NULL);
    role_fini();
    exit((int)code);
}

/* OMJOB_TEST_ROLE_ORPHAN=<role>: leave a grandchild that outlives its parent
 * for 200 ms, so that the supervisor (subreaper or PID 1) has to reap it. */
static void knob_orphan(void)
{
    const char *v = getenv("OMJOB_TEST_ROLE_ORPHAN");
    if (v == NULL || !knob_matches(v, strlen(v), rs.name))
        return;
    pid_t child = fork();
    if (child == 0) {
        if (fork() == 0) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    if (child > 0)
        waitpid(child, NULL, 0);
    log_warn("left an orphan process as OMJOB_TEST_ROLE_ORPHAN asks", NULL);
}

static int open_stop_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd >= 0 ? fd : -errno;
}

/* NNG 1.5 sizes two thread pools when it initialises (at a process's first socket)
 * from sysconf(_SC_NPROCESSORS_ONLN): 2 task threads and 1 timer-expiry thread per
 * CPU, 16 at most. Debian's libnng has no other knob: NNG_NUM_TASKQ_THREADS and
 * NNG_NUM_EXPIRE_THREADS are compile time, nng_init_params came with NNG 2.0 (its
 * 4 resolver threads, poller, timer and reaper are fixed). A role's IPC is a few
 * messages per OMJob, so one CPU's worth is plenty: once role_init has run, this
 * executable's sysconf, which libnng binds to, answers 1 for the online CPUs, and a
 * role on 2 CPUs runs 3 threads fewer (~10 KiB of touched stack each; 27 threads in
 * the operator with 5 reconcilers). OMJOB_NNG_CPUS=N (1-64) sizes them for N CPUs,
 * 0 for the machine's. Every other name, and this one before role_init or in the
 * supervisor and the commands, goes to glibc. */
static atomic_int nng_cpus; /* 0: the machine's */

#if defined(__SANITIZE_THREAD__)
#define OMJOB_NO_SYSCONF 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OMJOB_NO_SYSCONF 1
#endif
#endif
/* Not under ThreadSanitizer: its runtime intercepts sysconf and reached this one
 * again (every command segfaulted in the TSan build); there NNG keeps its pools. */
#ifndef OMJOB_NO_SYSCONF
extern long __sysconf(int name);

long sysconf(int name)
{
    int n = atomic_load_explicit(&nng_cpus, memory_order_relaxed);
    if (name == _SC_NPROCESSORS_ONLN && n > 0)
        return n;
    return __sysconf(name);
}
#endif

/* OMJOB_NNG_CPUS, validated with the rest of the configuration by the supervisor
 * (lib/common/cfg.c: 0-64, default 1); a role run by hand with a bad value warns. */
static void size_nng(void)
{
    const char *v = getenv("OMJOB_NNG_CPUS");
    long n = 1;
    if (v != NULL && *v != '\0') {
        char *end;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || n < 0 || n > 64) {
            log_warn("OMJOB_NNG_CPUS must be 0 (the machine's CPUs) to 64: using 1", "value", v,
                     NULL);
            n = 1;
        }
    }
    atomic_store(&nng_cpus, (int)n);
}

void role_init(const char *name)
{
    util_strlcpy(rs.name, name, sizeof(rs.name));
    log_init(name);
    signal(SIGPIPE, SIG_IGN);
    rs.stop_fd = open_stop_fd();
    if (rs.stop_fd < 0) {
        log_error("cannot receive stop signals", "error", strerror(-rs.stop_fd), NULL);
        exit(1);
    }
    rs.ready_fd = take_fd("OMJOB_READY_FD");
    rs.parent_fd = take_fd("OMJOB_PARENT_FD");
    const char *hang = getenv("OMJOB_TEST_ROLE_HANG");
    rs.hang = hang != NULL && knob_matches(hang, strlen(hang), rs.name);
    knob_exit();
    knob_orphan();
    size_nng();
}

void role_ready(void)
{
    static const char msg[] = "READY\n";
    if (rs.ready_fd < 0)
        return;
    ssize_t w;
    do
        w = write(rs.ready_fd, msg, sizeof(msg) - 1);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof(msg) - 1)
        log_warn("could not tell the supervisor we are ready", "error", strerror(errno), NULL);
    close(rs.ready_fd);
    rs.ready_fd = -1;
}

int role_report(const char *line)
{
    size_t n = strlen(line);
    ssize_t w;
    if (rs.ready_fd < 0)
        return 0;
    if (n > PIPE_BUF)
        return -EMSGSIZE;
    do
        w = write(rs.ready_fd, line, n);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)n ? 0 : w < 0 ? -errno : -EIO;
}

int role_stop_fd(void)
{
    return rs.stop_fd;
}

int role_take_stop(void)
{
    struct signalfd_siginfo si;
    ssize_t n = read(rs.stop_fd, &si, sizeof(si));
    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

int role_parent_fd(void)
{
    return rs.parent_fd;
}

bool role_supervised(void)
{
    return rs.parent_fd >= 0;
}

/* "SIGTERM" for SIGTERM: the name people type. */
static const char *sig_name(int sig, char *buf, size_t bufsz)
{
    const char *abbrev = sigabbrev_np(sig);
    snprintf(buf, bufsz, "SIG%s", abbrev != NULL ? abbrev : "?");
    return buf;
}

int role_handle_stop(void)
{
    char name[24];
    int sig = role_take_stop();
    if (sig == 0)
        return -1;
    if (rs.hang) {
        log_warn("ignoring a stop signal as OMJOB_TEST_ROLE_HANG asks", "signal",
                 sig_name(sig, name, sizeof(name)), NULL);
        return -1;
    }
    log_info("stopping", "signal", sig_name(sig, name, sizeof(name)), NULL);
    return 0;
}

void role_log_parent_gone(void)
{
    log_warn("the supervisor is gone; exiting", NULL);
}

int role_poll(int fd, int timeout_ms)
{
    return role_poll_fds(&fd, 1, timeout_ms);
}

int role_poll_fds(const int *fd, int nfd, int timeout_ms)
{
    struct pollfd fds[2 + ROLE_POLL_MAX_FDS] = {{.fd = rs.stop_fd, .events = POLLIN},
                                                {.fd = rs.parent_fd, .events = POLLIN}};
    if (nfd > ROLE_POLL_MAX_FDS)
        nfd = ROLE_POLL_MAX_FDS;
    for (int i = 0; i < nfd; i++)
        fds[2 + i] = (struct pollfd){.fd = fd[i], .events = POLLIN};
    if (poll(fds, (nfds_t)(2 + nfd), timeout_ms) < 0 && errno != EINTR) {
        log_error("poll failed", "error", strerror(errno), NULL);
        return ROLE_POLL_EXIT;
    }
    if (fds[0].revents != 0 && role_handle_stop() == 0)
        return ROLE_POLL_STOP;
    if (fds[1].fd >= 0 && fds[1].revents != 0) {
        role_log_parent_gone();
        return ROLE_POLL_EXIT;
    }
    return ROLE_POLL_GO_ON;
}

int role_wait_stop(void)
{
    struct pollfd p[2] = {{.fd = rs.stop_fd, .events = POLLIN},
                          {.fd = rs.parent_fd, .events = POLLIN}};
    nfds_t n = rs.parent_fd >= 0 ? 2 : 1;
    for (;;) {
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll failed", "error", strerror(errno), NULL);
            return 1;
        }
        if (p[0].revents != 0 && role_handle_stop() == 0)
            return 0;
        if (n == 2 && p[1].revents != 0) {
            role_log_parent_gone();
            return 1;
        }
    }
}

void role_fini(void)
{
    int *fds[] = {&rs.ready_fd, &rs.parent_fd, &rs.stop_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* The supervisor process: one poll() loop over a signalfd (SIGCHLD, SIGTERM,
 * SIGINT) and the roles' readiness pipes, with timers for restarts and for the
 * stop sequence. It stays free of NNG and threads, so fork is safe; of libcurl it
 * runs only the global init (kube_global_init: no thread, no connection), whose
 * pages the roles then share instead of each building its own. */
#include "roles/supervisor/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "roles/supervisor/proc.h"
#include "runtime/role.h"
#include "runtime/rundir.h"
#include "runtime/statusfile.h"

extern char **environ;

/* With leader election, how long the roles that write get to stop on SIGTERM
 * before SIGKILL (they are crash-safe): the elector releases the Lease only once
 * they are gone, and the next replica should lead within a retry period after. */
#define SUP_ELECT_WRITERS_GRACE_MS 1000

/* After SIGKILL, how long to wait for the kernel to finish the stragglers. */
#define SUP_KILL_WAIT_MS 2000

enum sup_phase {
    SUP_RUNNING,
    SUP_STOP_WRITERS, /* SIGTERM sent to reconcilers and cleaner */
    SUP_STOP_ALL,     /* ... and to watcher and httpd */
    SUP_KILLED,       /* grace over: SIGKILL sent to what was left */
};

static const char *sup_phase_str(enum sup_phase p)
{
    static const char *const names[] = {"running", "stopping writers", "stopping all", "killed"};
    return (unsigned)p <= SUP_KILLED ? names[p] : "unknown";
}

struct sup {
    struct cfg s_cfg;
    struct proc_table s_t;
    struct proc_spawn_ctx s_ctx;
    int s_sigfd;
    int s_lock_fd;
    int s_exe_fd;      /* our own executable, which every role runs */
    int s_parent[2];   /* parent-liveness pipe: children hold [0], we hold [1] */
    int64_t s_t0_mono; /* main() began */
    int64_t s_t0_wall;
    int64_t s_ready_ms; /* start to all READY, -1 until then */
    bool s_ready;       /* every enabled role READY */
    bool s_dirty;       /* the status file is behind */
    enum sup_phase s_phase;
    int64_t s_phase_t0; /* when the stop (phase 1) or the kill (phase 3) began */
    int64_t s_grace_ms;
    /* Leader election (LEADER_ELECTION=true): the roles that write run only while
     * the elector's last "LEADER <ms>" line allows, until s_lead_until. */
    bool s_elect;
    int64_t s_lead_until; /* monotonic; 0 when not leading */
    char s_holder[256];   /* as the elector last reported it */
};

/* "SIGTERM" for SIGTERM: the name people type. */
static const char *sig_name(int sig, char *buf, size_t bufsz)
{
    const char *abbrev = sigabbrev_np(sig);
    snprintf(buf, bufsz, "SIG%s", abbrev != NULL ? abbrev : "?");
    return buf;
}

static void sig_noop(int sig)
{
    (void)sig;
}

/* The signals come through a signalfd. Handlers are installed as well because
 * the kernel drops default-action signals sent to PID 1 of a pid namespace. */
static int signals_open(void)
{
    static const int sigs[] = {SIGCHLD, SIGTERM, SIGINT};
    struct sigaction sa;
    sigset_t set;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_noop;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(&set, sigs[i]);
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

static void set_state(struct sup *s, struct proc_role *r, enum role_state st)
{
    r->pr_state = st;
    s->s_dirty = true;
}

static void start_role(struct sup *s, struct proc_role *r)
{
    int64_t now = util_mono_ms();
    char pid[24];
    bool restart = r->pr_state != ROLE_STOPPED && r->pr_state != ROLE_STANDBY;
    s->s_ctx.ps_environ = environ;
    int rc = proc_spawn(r, &s->s_ctx, now, util_wall_ms());
    r->pr_restarts += restart;
    s->s_dirty = true;
    if (rc != 0) {
        log_error("cannot start role", "role", r->pr_name, "error", strerror(-rc), NULL);
        r->pr_next_start_ms = now + r->pr_backoff_ms;
        r->pr_backoff_ms = proc_backoff_next(r->pr_backoff_ms);
        r->pr_state = ROLE_BACKOFF;
        return;
    }
    snprintf(pid, sizeof(pid), "%ld", (long)r->pr_pid);
    log_info(restart ? "role restarted" : "role started", "role", r->pr_name, "pid", pid, NULL);
}

static void start_due(struct sup *s)
{
    int64_t now = util_mono_ms();
    for (int i = 0; i < s->s_t.pt_n && s->s_phase == SUP_RUNNING; i++) {
        struct proc_role *r = &s->s_t.pt_roles[i];
        if ((r->pr_state == ROLE_BACKOFF || r->pr_state == ROLE_FAILED_CONFIG) &&
            r->pr_next_start_ms <= now)
            start_role(s, r);
    }
}

/* ---- leader election (docs/ARCHITECTURE.md, "Leader election") ---- */

/* Stops leading: no new start of a role that writes, and SIGKILL to the running
 * ones (they are crash-safe by design, and must stop before another replica may
 * take over: a graceful stop could outlast the margin). */
static void lead_stop(struct sup *s, const char *why)
{
    bool was = s->s_lead_until != 0;
    s->s_lead_until = 0;
    s->s_dirty = true;
    for (int i = 0; i < s->s_t.pt_n; i++) {
        struct proc_role *r = &s->s_t.pt_roles[i];
        if (!proc_writes(r) || r->pr_disabled)
            continue;
        if (r->pr_pid > 0)
            kill(r->pr_pid, SIGKILL);
        else if (r->pr_state == ROLE_BACKOFF || r->pr_state == ROLE_FAILED_CONFIG)
            r->pr_state = ROLE_STANDBY;
    }
    if (was)
        log_warn("not leading: stopped the roles that write", "reason", why, NULL);
}

static void lead_start(struct sup *s)
{
    log_info("leading: starting the roles that write", NULL);
    for (int i = 0; i < s->s_t.pt_n; i++) {
        struct proc_role *r = &s->s_t.pt_roles[i];
        if (proc_writes(r) && r->pr_state == ROLE_STANDBY && !r->pr_disabled)
            start_role(s, r);
    }
}

/* The holder as the status file shows it: no tabs or control bytes. */
static void set_holder(struct sup *s, const char *h)
{
    size_t n = strcspn(h, "\n");
    if (n >= sizeof(s->s_holder))
        n = sizeof(s->s_holder) - 1;
    for (size_t i = 0; i < n; i++)
        s->s_holder[i] = (unsigned char)h[i] < 0x21 || h[i] == 0x7f ? '?' : h[i];
    s->s_holder[n] = '\0';
    if (strcmp(s->s_holder, "-") == 0)
        s->s_holder[0] = '\0';
    s->s_dirty = true;
}

/* "LEADER <ms> <holder>" or "FOLLOWER <holder>" from the elector. */
static void on_elector_line(struct sup *s, const char *line)
{
    long long ms = 0;
    char *end = NULL;
    if (strncmp(line, "FOLLOWER ", 9) == 0) {
        set_holder(s, line + 9);
        lead_stop(s, "the elector does not hold the Lease");
        return;
    }
    if (strncmp(line, "LEADER ", 7) != 0)
        return;
    errno = 0;
    ms = strtoll(line + 7, &end, 10);
    if (errno != 0 || end == line + 7 || *end != ' ' || ms <= 0)
        return;
    set_holder(s, end + 1);
    if (s->s_phase != SUP_RUNNING)
        return;
    bool was = s->s_lead_until != 0;
    s->s_lead_until = util_mono_ms() + ms;
    if (!was)
        lead_start(s);
}

/* The deadline the elector gave passed without a renewal (it hangs, or the API
 * server does not answer): stop writing now, before another replica may lead. */
static void lead_check(struct sup *s)
{
    if (s->s_lead_until != 0 && util_mono_ms() >= s->s_lead_until)
        lead_stop(s, "renew deadline passed without a renewal from the elector");
}

/* The role wrote to (or closed) its readiness pipe: "READY", and from the elector
 * its leadership, one line per write (each under PIPE_BUF, so never split; the
 * elector writes at most one per retry period, so they never pile up past buf). */
static void on_ready_fd(struct sup *s, struct proc_role *r)
{
    char buf[4096], ms[24];
    ssize_t n = read(r->pr_ready_fd, buf, sizeof(buf) - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* closed: the role is exiting or has said all it will */
        close(r->pr_ready_fd);
        r->pr_ready_fd = -1;
        return;
    }
    buf[n] = '\0';
    for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        if (strcmp(line, "READY") != 0) {
            if (proc_elector(r) && s->s_elect)
                on_elector_line(s, line);
            continue;
        }
        if (r->pr_state != ROLE_STARTING)
            continue;
        set_state(s, r, ROLE_READY);
        snprintf(ms, sizeof(ms), "%lld", (long long)(util_mono_ms() - r->pr_start_mono_ms));
        log_info("role ready", "role", r->pr_name, "ms_since_start", ms, NULL);
    }
}

static void log_exit(const struct proc_role *r, pid_t pid, int64_t now)
{
    char how[96], p[24], in[24];
    proc_status_str(r->pr_last_status, how, sizeof(how));
    snprintf(p, sizeof(p), "%ld", (long)pid);
    snprintf(in, sizeof(in), "%lld", (long long)(r->pr_next_start_ms - now));
    if (r->pr_state == ROLE_STOPPED)
        log_info("role stopped", "role", r->pr_name, "pid", p, "status", how, NULL);
    else if (r->pr_state == ROLE_STANDBY)
        log_info("role stopped: this replica does not lead", "role", r->pr_name, "pid", p, "status",
                 how, NULL);
    else if (r->pr_state == ROLE_FAILED_CONFIG)
        log_error("role exited with status 78: its configuration is bad (see its log); not "
                  "restarting it in a loop",
                  "role", r->pr_name, "pid", p, "status", how, "retry_in_ms", in, NULL);
    else
        log_warn("role exited", "role", r->pr_name, "pid", p, "status", how, "restart_in_ms", in,
                 NULL);
}

/* Collects every child that has ended, roles or not (as subreaper or PID 1 we
 * inherit orphans, which must not stay zombies). */
static void reap(struct sup *s)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        struct proc_role *r = proc_by_pid(&s->s_t, pid);
        int64_t now = util_mono_ms();
        if (r == NULL) {
            char p[24], how[96];
            snprintf(p, sizeof(p), "%ld", (long)pid);
            proc_status_str(st, how, sizeof(how));
            log_info("reaped a process that is not a role", "pid", p, "status", how, NULL);
            continue;
        }
        proc_exited(r, st, now, s->s_phase != SUP_RUNNING);
        s->s_dirty = true;
        /* Not leading: a role that writes waits for leadership, not for a restart. */
        if (s->s_elect && s->s_phase == SUP_RUNNING && proc_writes(r) && s->s_lead_until == 0)
            r->pr_state = ROLE_STANDBY;
        log_exit(r, pid, now);
        if (s->s_elect && proc_elector(r))
            lead_stop(s, "the elector exited");
    }
}

/* Sends sig to the running roles that write (writers) or do not. */
static void signal_roles(struct sup *s, bool writers, int sig)
{
    for (int i = 0; i < s->s_t.pt_n; i++) {
        struct proc_role *r = &s->s_t.pt_roles[i];
        if (r->pr_pid <= 0 || proc_writes(r) != writers)
            continue;
        char p[24];
        snprintf(p, sizeof(p), "%ld", (long)r->pr_pid);
        if (sig == SIGKILL)
            log_warn("role did not stop in time; killing it", "role", r->pr_name, "pid", p, NULL);
        else
            log_info("stopping role", "role", r->pr_name, "pid", p, NULL);
        kill(r->pr_pid, sig);
    }
}

static void set_phase(struct sup *s, enum sup_phase p)
{
    s->s_phase = p;
    s->s_dirty = true;
    log_debug("stop phase", "phase", sup_phase_str(p), NULL);
}

static void kill_all(struct sup *s)
{
    signal_roles(s, true, SIGKILL);
    signal_roles(s, false, SIGKILL);
    set_phase(s, SUP_KILLED);
    s->s_phase_t0 = util_mono_ms();
}

static void begin_stop(struct sup *s, int sig)
{
    char grace[24], name[24];
    snprintf(grace, sizeof(grace), "%lld", (long long)s->s_grace_ms);
    if (s->s_phase != SUP_RUNNING) {
        if (s->s_phase != SUP_KILLED) {
            log_warn("second stop signal: killing the roles now", "signal",
                     sig_name(sig, name, sizeof(name)), NULL);
            kill_all(s);
        }
        return;
    }
    log_info("stopping the roles", "signal", sig_name(sig, name, sizeof(name)), "grace_ms", grace,
             NULL);
    for (int i = 0; i < s->s_t.pt_n; i++)
        if (s->s_t.pt_roles[i].pr_pid <= 0)
            set_state(s, &s->s_t.pt_roles[i], ROLE_STOPPED);
    s->s_phase_t0 = util_mono_ms();
    s->s_lead_until = 0;
    set_phase(s, SUP_STOP_WRITERS);
    signal_roles(s, true, SIGTERM);
}

static bool any_running(const struct sup *s, bool writers_only)
{
    for (int i = 0; i < s->s_t.pt_n; i++) {
        const struct proc_role *r = &s->s_t.pt_roles[i];
        if (r->pr_pid > 0 && (!writers_only || proc_writes(r)))
            return true;
    }
    return false;
}

static int64_t writers_grace(const struct sup *s)
{
    int64_t g = s->s_grace_ms / 2;
    return s->s_elect && g > SUP_ELECT_WRITERS_GRACE_MS ? SUP_ELECT_WRITERS_GRACE_MS : g;
}

/* Writers get the first half of the grace period to themselves (1 s with leader
 * election); the readers
 * they depend on are asked to stop when the writers are gone or half of it is
 * over; at the end, SIGKILL. */
static void stop_progress(struct sup *s)
{
    int64_t t = util_mono_ms() - s->s_phase_t0;
    if (s->s_phase == SUP_STOP_WRITERS && (!any_running(s, true) || t >= writers_grace(s))) {
        /* The elector releases the Lease when it stops: no writer may outlive that. */
        if (s->s_elect && any_running(s, true))
            signal_roles(s, true, SIGKILL);
        set_phase(s, SUP_STOP_ALL);
        signal_roles(s, false, SIGTERM);
    }
    if (s->s_phase == SUP_STOP_ALL && t >= s->s_grace_ms)
        kill_all(s);
}

static int64_t next_deadline(const struct sup *s)
{
    int64_t d = INT64_MAX;
    if (s->s_phase == SUP_STOP_WRITERS)
        return s->s_phase_t0 + writers_grace(s);
    if (s->s_phase == SUP_STOP_ALL)
        return s->s_phase_t0 + s->s_grace_ms;
    if (s->s_phase == SUP_KILLED)
        return s->s_phase_t0 + SUP_KILL_WAIT_MS;
    for (int i = 0; i < s->s_t.pt_n; i++) {
        const struct proc_role *r = &s->s_t.pt_roles[i];
        if ((r->pr_state == ROLE_BACKOFF || r->pr_state == ROLE_FAILED_CONFIG) &&
            r->pr_next_start_ms < d)
            d = r->pr_next_start_ms;
    }
    if (s->s_lead_until != 0 && s->s_lead_until < d)
        d = s->s_lead_until;
    return d;
}

static void on_signals(struct sup *s)
{
    struct signalfd_siginfo si;
    while (read(s->s_sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            begin_stop(s, (int)si.ssi_signo);
}

/* The operator is ready when every enabled role is READY. */
static void update_ready(struct sup *s)
{
    const struct proc_role *bad = NULL;
    for (int i = 0; i < s->s_t.pt_n && bad == NULL; i++) {
        const struct proc_role *r = &s->s_t.pt_roles[i];
        if (!r->pr_disabled && r->pr_state != ROLE_READY && r->pr_state != ROLE_STANDBY)
            bad = r;
    }
    bool ready = bad == NULL && s->s_phase == SUP_RUNNING;
    if (ready == s->s_ready)
        return;
    if (s->s_phase != SUP_RUNNING) { /* begin_stop said why */
        s->s_ready = false;
        s->s_dirty = true;
        return;
    }
    s->s_ready = ready;
    s->s_dirty = true;
    char ms[24];
    snprintf(ms, sizeof(ms), "%lld", (long long)(util_mono_ms() - s->s_t0_mono));
    if (ready && s->s_ready_ms < 0) {
        s->s_ready_ms = util_mono_ms() - s->s_t0_mono;
        log_info("all roles ready", "ms_since_start", ms, NULL);
    } else if (ready) {
        log_info("all roles ready again", NULL);
    } else if (bad != NULL) {
        log_warn("operator not ready", "role", bad->pr_name, "state", role_state_str(bad->pr_state),
                 NULL);
    }
}

/* The table as the status file says it: next starts in wall-clock time. */
static void status_rows(const struct sup *s, struct status_row *rows, int n, int64_t mono,
                        int64_t wall)
{
    for (int i = 0; i < n; i++) {
        const struct proc_role *r = &s->s_t.pt_roles[i];
        bool waiting = r->pr_state == ROLE_BACKOFF || r->pr_state == ROLE_FAILED_CONFIG;
        rows[i] = (struct status_row){
            .pid = r->pr_pid,
            .restarts = r->pr_restarts,
            .started_ms = r->pr_pid > 0 ? r->pr_start_wall_ms : 0,
            .next_ms = waiting ? wall + (r->pr_next_start_ms - mono) : 0,
            .disabled = r->pr_disabled,
            .last_status = r->pr_last_status,
            .state = r->pr_state,
        };
        util_strlcpy(rows[i].name, r->pr_name, sizeof(rows[i].name));
    }
}

static void flush_status(struct sup *s)
{
    struct status_row rows[CFG_THREADS_MAX + 4];
    struct status_file sf = {
        .pid = s->s_ctx.ps_supervisor,
        .started_ms = s->s_t0_wall,
        .stopping = s->s_phase != SUP_RUNNING,
        .election = s->s_elect,
        .leading = s->s_lead_until != 0,
        .ready = s->s_ready,
        .ready_ms = s->s_ready_ms,
        .rows = rows,
        .n = s->s_t.pt_n < (int)(sizeof(rows) / sizeof(rows[0]))
                 ? s->s_t.pt_n
                 : (int)(sizeof(rows) / sizeof(rows[0])),
    };
    util_strlcpy(sf.holder, s->s_holder, sizeof(sf.holder));
    status_rows(s, rows, sf.n, util_mono_ms(), util_wall_ms());
    int rc = status_write(s->s_cfg.run_dir, &sf);
    if (rc != 0)
        log_warn("cannot write the status file", "error", strerror(-rc), NULL);
    s->s_dirty = false;
}

static int poll_once(struct sup *s)
{
    struct pollfd pfd[CFG_THREADS_MAX + 4];
    struct proc_role *who[CFG_THREADS_MAX + 4];
    nfds_t n = 1;
    pfd[0] = (struct pollfd){.fd = s->s_sigfd, .events = POLLIN};
    for (int i = 0; i < s->s_t.pt_n; i++) {
        struct proc_role *r = &s->s_t.pt_roles[i];
        if (r->pr_ready_fd >= 0) {
            who[n] = r;
            pfd[n++] = (struct pollfd){.fd = r->pr_ready_fd, .events = POLLIN};
        }
    }
    int64_t d = next_deadline(s), now = util_mono_ms();
    int timeout = d == INT64_MAX ? -1 : d <= now ? 0 : d - now > INT_MAX ? INT_MAX : (int)(d - now);
    if (poll(pfd, n, timeout) < 0 && errno != EINTR)
        return -errno;
    for (nfds_t i = 1; i < n; i++)
        if (pfd[i].revents != 0)
            on_ready_fd(s, who[i]);
    if (pfd[0].revents != 0)
        on_signals(s);
    return 0;
}

static int run(struct sup *s)
{
    for (;;) {
        int rc = poll_once(s);
        if (rc != 0) {
            log_error("poll failed", "error", strerror(-rc), NULL);
            return 1;
        }
        reap(s);
        lead_check(s);
        if (s->s_phase == SUP_RUNNING)
            start_due(s);
        else
            stop_progress(s);
        update_ready(s);
        if (s->s_dirty)
            flush_status(s);
        if (s->s_phase != SUP_RUNNING && !any_running(s, false))
            return 0;
        if (s->s_phase == SUP_KILLED && util_mono_ms() - s->s_phase_t0 >= SUP_KILL_WAIT_MS) {
            log_error("roles survived SIGKILL; exiting without them", NULL);
            return 1;
        }
    }
}

static int disable_roles(struct sup *s, const struct sup_opts *o)
{
    char names[1024];
    for (int i = 0; i < o->so_ndisabled; i++) {
        if (proc_disable(&s->s_t, o->so_disabled[i]) == 0) {
            log_info("role disabled: run it by hand", "role", o->so_disabled[i], NULL);
            continue;
        }
        proc_names(&s->s_t, names, sizeof(names));
        fprintf(stderr, "omjob-operator: --disable-role: unknown role '%s' (roles: %s)\n",
                o->so_disabled[i], names);
        return ROLE_EX_USAGE;
    }
    return 0;
}

static int take_run_dir(struct sup *s)
{
    char err[512] = "cannot set OMJOB_RUN_DIR in the environment";
    pid_t holder = 0;
    const char *dir = s->s_cfg.run_dir;
    if (setenv("OMJOB_RUN_DIR", dir, 1) != 0 || rundir_prepare(dir, err, sizeof(err)) != 0) {
        log_error("bad run directory (OMJOB_RUN_DIR)", "error", err, NULL);
        fprintf(stderr, "omjob-operator: %s\n", err);
        return EX_CONFIG;
    }
    int rc = rundir_lock(dir, &s->s_lock_fd, &holder);
    if (rc == 0) {
        status_remove(dir); /* a dead supervisor's: status must not show it */
        return 0;
    }
    if (rc == -EAGAIN)
        fprintf(stderr, "omjob-operator: another supervisor (pid %ld) runs in %s\n", (long)holder,
                dir);
    else
        fprintf(stderr, "omjob-operator: cannot lock %s/supervisor.lock: %s\n", dir, strerror(-rc));
    return 1;
}

/* The API server configuration as the roles will load it: a kubeconfig that would
 * send credentials over plain http:// is bad configuration (EX_CONFIG), refused
 * here once rather than by every role in a restart loop; insecure-skip-tls-verify
 * is allowed, with one warning. Other load errors are the roles' to report (the
 * file may appear later). */
static int check_kubeconfig(void)
{
    char err[1024] = "";
    struct kube_config *kc = NULL;
    int rc = kube_config_load(&kc, err, sizeof(err));
    if (rc == -EACCES) {
        log_error("refusing to send credentials over plain http", "error", err, NULL);
        fprintf(stderr, "omjob-operator: %s\n", err);
        return EX_CONFIG;
    }
    if (rc == 0 && kube_config_insecure(kc))
        log_warn("insecure-skip-tls-verify is on: the API server's certificate is not "
                 "verified, so anyone on the path can impersonate it",
                 "kubeconfig", kube_config_source(kc), "server", kube_config_server(kc), NULL);
    if (rc == 0 && kube_config_allow_insecure_http() &&
        strncmp(kube_config_server(kc), "http://", 7) == 0)
        log_warn("credentials may go over plain http (" KUBE_ALLOW_INSECURE_HTTP_ENV "=true)",
                 "server", kube_config_server(kc), NULL);
    kube_config_free(kc);
    return 0;
}

/* Every process of the operator SCHED_BATCH (OMJOB_SCHED_BATCH, on by default; =false keeps
 * the default policy; the roles and their threads inherit it): a thread another
 * wakes does not preempt the waker, which runs on to its next wait. Each IPC message wakes a chain
 * of NNG threads in both processes; without preemption at each wake-up the chain costs fewer
 * context switches (bench_lifecycle part 2 at 1,000 OMJobs: 15-19% fewer per OMJob, 8-11% less
 * CPU; exit-handler dispatch p50/p99 unchanged: ARCHITECTURE.md, "The scheduling policy"). A
 * non-realtime policy: no privilege needed. */
static void sched_batch(const struct sup *s)
{
    struct sched_param sp = {.sched_priority = 0};
    if (!s->s_cfg.sched_batch)
        return;
    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
        log_warn("cannot run SCHED_BATCH; the default policy stays", "error", strerror(errno),
                 NULL);
}

/* Everything before the first fork. 0, or the exit status. */
static int setup(struct sup *s, const struct sup_opts *o)
{
    int rc;
    cfg_load_or_exit(&s->s_cfg);
    log_set_level(s->s_cfg.log_level);
    s->s_grace_ms = (int64_t)s->s_cfg.role_grace_s * 1000;
    if (proc_table_init(&s->s_t, o->so_roles, o->so_nroles, s->s_cfg.reconcile_threads) != 0)
        return 1;
    s->s_elect = s->s_cfg.leader_election;
    if (!s->s_elect)
        proc_table_drop(&s->s_t, PROC_DEF_ELECTOR);
    if ((rc = disable_roles(s, o)) != 0 || (rc = check_kubeconfig()) != 0 ||
        (rc = take_run_dir(s)) != 0)
        return rc;
    /* An open descriptor, not the path "/proc/self/exe": the roles run the very
     * image the supervisor runs even if the file is replaced meanwhile, and under
     * valgrind (whose own binary /proc/self/exe would name) too. */
    s->s_exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    s->s_sigfd = signals_open();
    if (s->s_exe_fd < 0 || s->s_sigfd < 0 || pipe2(s->s_parent, O_CLOEXEC) != 0) {
        log_error("cannot set up signals, pipes or our executable", "error", strerror(errno), NULL);
        return 1;
    }
    /* Orphans of our roles come to us, not to init, so they are reaped here. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        log_warn("cannot become a child subreaper", "error", strerror(errno), NULL);
    s->s_ctx = (struct proc_spawn_ctx){.ps_argv0 = o->so_argv0,
                                       .ps_exe_fd = s->s_exe_fd,
                                       .ps_parent_rd = s->s_parent[0],
                                       .ps_supervisor = getpid(),
                                       .ps_run = o->so_run};
    /* A debugging knob: every role a fresh exec of our image (own ASLR layout, own
     * /proc/<pid>/cmdline), at ~1.2 MiB more memory per role. */
    const char *ex = getenv("OMJOB_ROLE_EXEC");
    if (ex != NULL && strcmp(ex, "1") == 0)
        s->s_ctx.ps_run = NULL;
    /* curl's and OpenSSL's process-wide state, built once here and shared
     * copy-on-write by every forked role (~300 KiB each would build its own at its
     * first request). A failure is the roles' to report: they init again. */
    if (kube_global_init() != 0)
        log_warn("cannot initialise libcurl before starting the roles", NULL);
    sched_batch(s);
    return 0;
}

static void log_start(const struct sup *s)
{
    char n[16], g[16];
    snprintf(n, sizeof(n), "%d", s->s_t.pt_n);
    snprintf(g, sizeof(g), "%d", s->s_cfg.role_grace_s);
    log_info("supervisor starting", "run_dir", s->s_cfg.run_dir, "roles", n, "grace_s", g, NULL);
}

static void teardown(struct sup *s, bool clean_exit)
{
    if (clean_exit)
        status_remove(s->s_cfg.run_dir);
    int fds[] = {s->s_sigfd, s->s_lock_fd, s->s_exe_fd, s->s_parent[0], s->s_parent[1]};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    proc_table_free(&s->s_t);
    cfg_free(&s->s_cfg);
}

int supervisor(const struct sup_opts *o)
{
    struct sup s = {
        .s_sigfd = -1, .s_lock_fd = -1, .s_exe_fd = -1, .s_parent = {-1, -1}, .s_ready_ms = -1};
    s.s_t0_mono = o->so_t0_mono_ms;
    s.s_t0_wall = util_wall_ms() - (util_mono_ms() - o->so_t0_mono_ms);
    log_init("supervisor");
    int rc = setup(&s, o);
    if (rc == 0) {
        log_start(&s);
        for (int i = 0; i < s.s_t.pt_n; i++) {
            struct proc_role *r = &s.s_t.pt_roles[i];
            if (r->pr_disabled)
                continue;
            if (s.s_elect && proc_writes(r)) /* until the elector says LEADER */
                r->pr_state = ROLE_STANDBY;
            else
                start_role(&s, r);
        }
        flush_status(&s);
        rc = run(&s);
        log_info("supervisor exiting", "status", rc == 0 ? "0" : "1", NULL);
    }
    teardown(&s, s.s_lock_fd >= 0);
    return rc;
}

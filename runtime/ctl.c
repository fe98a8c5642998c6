/* The per-role control socket: a REP server on ctl-<role>.rep answering health,
 * metrics, status and stop, the role's metrics registry, and process metrics read
 * from /proc/self at scrape time. */
#include "runtime/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/reqrep.h"
#include "runtime/role.h"

/* Two workers: a health probe is answered while a scrape renders. */
#define CTL_WORKERS 2

/* Memory a burst freed goes back to the kernel. malloc returns only the top of its
 * heap by itself; what the burst's objects left free below live ones stays resident
 * (see ARCHITECTURE.md, "Idle memory"). Every CTL_TRIM_EVERY_MS the heartbeat looks
 * at malloc's free bytes and, when they are CTL_TRIM_MIN_FREE or more,
 * malloc_trim(0) hands the free pages back (madvise: a later allocation faults them
 * in again, zeroed). Pages already handed back still count as free, so this repeats
 * while they are: one pass over the free lists and a madvise per free run of pages
 * every 10 s. (Trimming only when the free bytes grew since the last look missed
 * most of a burst: they were already high at the look during it.) */
#define CTL_TRIM_EVERY_MS 10000
#define CTL_TRIM_MIN_FREE (256u << 10)

struct ctl {
    char c_role[IPC_ROLE_MAX + 1];
    struct metrics *c_metrics;
    struct ctl_families c_fam;
    struct ipc_rep *c_rep;
    int64_t c_start_mono_ms;
    double c_boot_time_s;
    _Atomic int64_t c_heartbeat_ms;
    _Atomic int64_t c_trim_at_ms;    /* next look at malloc's free memory */
    _Atomic int64_t c_wait_until_ms; /* 0: not in a bounded wait */
    pthread_mutex_t c_mu;            /* c_degraded */
    char c_degraded[256];
    _Atomic int64_t c_stall_ms;
    atomic_bool c_ready;
    _Atomic(ctl_status_fn) c_status_fn;
    _Atomic(void *) c_status_arg;
};

/* ---- the shared families ---- */

static const double duration_buckets[] = {1,   5,    10,   30,   60,    300,
                                          600, 1800, 3600, 7200, 21600, 86400};
static const double queue_buckets[] = {0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                       0.25,   0.5,   1,     2.5,  5,     10,   60};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

int ctl_register_standard_families(struct metrics *m, struct ctl_families *out)
{
    static const char *const status[] = {"status"}, *const phase[] = {"phase"},
                             *const type[] = {"type"}, *const trans[] = {"from_phase", "to_phase"},
                             *const cres[] = {"controller", "result"},
                             *const ctrl[] = {"controller"}, *const name[] = {"name"},
                             *const rest[] = {"code", "method"};
    struct ctl_families f;
    int rc =
        metrics_counter_new(m, "omjob_reconciliations_total", "OMJob reconciliations by outcome.",
                            status, 1, &f.reconciliations);
    if (rc == 0)
        rc = metrics_histogram_new(m, "omjob_duration_seconds",
                                   "Time OMJobs spent in each phase, observed when they leave it.",
                                   phase, 1, duration_buckets, NB(duration_buckets), &f.duration);
    if (rc == 0)
        rc = metrics_counter_new(m, "omjob_pods_created_total",
                                 "Pods created by the operator, by type (main, exit-handler).",
                                 type, 1, &f.pods_created);
    if (rc == 0)
        rc = metrics_counter_new(m, "omjob_status_transitions_total", "OMJob phase transitions.",
                                 trans, 2, &f.status_transitions);
    if (rc == 0)
        rc = metrics_counter_new(m, "controller_runtime_reconcile_total",
                                 "Total number of reconciliations per controller.", cres, 2,
                                 &f.cr_reconcile);
    if (rc == 0)
        rc = metrics_counter_new(m, "controller_runtime_reconcile_errors_total",
                                 "Total number of reconciliation errors per controller.", ctrl, 1,
                                 &f.cr_reconcile_errors);
    if (rc == 0)
        rc = metrics_histogram_new(m, "controller_runtime_reconcile_time_seconds",
                                   "Length of time per reconciliation per controller.", ctrl, 1,
                                   NULL, 0, &f.cr_reconcile_time);
    if (rc == 0)
        rc = metrics_gauge_new(m, "workqueue_depth", "Current depth of workqueue.", name, 1,
                               &f.wq_depth);
    if (rc == 0)
        rc = metrics_counter_new(m, "workqueue_adds_total",
                                 "Total number of adds handled by workqueue.", name, 1, &f.wq_adds);
    if (rc == 0)
        rc = metrics_histogram_new(m, "workqueue_queue_duration_seconds",
                                   "How long in seconds an item stays in workqueue before being "
                                   "requested.",
                                   name, 1, queue_buckets, NB(queue_buckets), &f.wq_queue_duration);
    if (rc == 0)
        rc = metrics_counter_new(m, "rest_client_requests_total",
                                 "Number of HTTP requests, partitioned by status code and method.",
                                 rest, 2, &f.rest_requests);
    if (rc == 0)
        *out = f;
    return rc;
}

/* ---- process metrics ---- */

int ctl_proc_parse_stat(const char *stat, long ticks, long page, double boot_time_s,
                        struct ctl_proc *out)
{
    /* The command may hold spaces and parentheses: fields resume after the last ')'. */
    const char *p = stat != NULL ? strrchr(stat, ')') : NULL;
    unsigned long long ut, st, start, vsize;
    long long rss;
    if (p == NULL || ticks <= 0 || page <= 0)
        return -EINVAL;
    /* Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime(14) stime(15) cutime cstime priority nice threads itreal
     * starttime(22) vsize(23) rss(24). */
    if (sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
               "%*d %llu %llu %lld",
               &ut, &st, &start, &vsize, &rss) != 5)
        return -EINVAL;
    out->cpu_seconds = (double)(ut + st) / (double)ticks;
    out->start_time_s = boot_time_s + (double)start / (double)ticks;
    out->vsize_bytes = (double)vsize;
    out->rss_bytes = (double)(rss < 0 ? 0 : rss) * (double)page;
    return 0;
}

int ctl_proc_parse_btime(const char *procstat, double *out)
{
    const char *p = procstat;
    while (p != NULL && *p != '\0') {
        if (strncmp(p, "btime ", 6) == 0) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p + 6, &end, 10);
            if (errno != 0 || end == p + 6 || (*end != '\n' && *end != '\0'))
                return -EINVAL;
            *out = (double)v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -EINVAL;
}

int ctl_proc_parse_max_fds(const char *limits, double *out)
{
    const char *p = limits != NULL ? strstr(limits, "Max open files") : NULL;
    char soft[32];
    long long v;
    if (p == NULL || sscanf(p + 14, " %31s", soft) != 1)
        return -EINVAL;
    if (strcmp(soft, "unlimited") == 0) {
        *out = -1;
        return 0;
    }
    if (util_parse_i64(soft, 0, INT64_MAX, &v) != 0)
        return -EINVAL;
    *out = (double)v;
    return 0;
}

/* Reads a small /proc file into buf (NUL-terminated). 0 or negative errno. */
static int read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    size_t n = fread(buf, 1, cap - 1, f);
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    buf[n] = '\0';
    return err;
}

static double count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static int proc_read_btime(double *out)
{
    char *buf = malloc(65536);
    int rc = buf != NULL ? read_small("/proc/stat", buf, 65536) : -ENOMEM;
    if (rc == 0)
        rc = ctl_proc_parse_btime(buf, out);
    free(buf);
    return rc;
}

static int proc_read(double boot_time_s, struct ctl_proc *out)
{
    char buf[4096];
    struct ctl_proc p;
    int rc = read_small("/proc/self/stat", buf, sizeof(buf));
    if (rc == 0)
        rc = ctl_proc_parse_stat(buf, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time_s, &p);
    if (rc != 0)
        return rc;
    p.open_fds = count_fds();
    if (read_small("/proc/self/limits", buf, sizeof(buf)) != 0 ||
        ctl_proc_parse_max_fds(buf, &p.max_fds) != 0)
        p.max_fds = -1;
    *out = p;
    return 0;
}

int ctl_proc_read(struct ctl_proc *out)
{
    double btime;
    int rc = proc_read_btime(&btime);
    return rc == 0 ? proc_read(btime, out) : rc;
}

static void render_one(struct sbuf *sb, const char *name, const char *type, const char *help,
                       const char *role, double v)
{
    sbuf_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n%s{role=\"%s\"} %.17g\n", name, help, name, type,
                 name, role, v);
}

void ctl_proc_render(const struct ctl_proc *p, const char *role, struct sbuf *sb)
{
    render_one(sb, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", role, p->cpu_seconds);
    if (p->max_fds >= 0)
        render_one(sb, "process_max_fds", "gauge", "Maximum number of open file descriptors.", role,
                   p->max_fds);
    if (p->open_fds >= 0)
        render_one(sb, "process_open_fds", "gauge", "Number of open file descriptors.", role,
                   p->open_fds);
    render_one(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", role,
               p->rss_bytes);
    render_one(sb, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", role, p->start_time_s);
    render_one(sb, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", role,
               p->vsize_bytes);
}

/* ---- replies ---- */

char *ctl_health_json(const char *role, long pid, bool ready, int64_t loop_age_ms, int64_t stall_ms,
                      int64_t wait_left_ms, const char *degraded)
{
    struct json_object *o = json_object_new_object();
    bool healthy = loop_age_ms <= stall_ms || wait_left_ms >= 0;
    char reason[160], *out = NULL;
    if (o == NULL)
        return NULL;
    json_object_object_add(o, "role", json_object_new_string(role));
    json_object_object_add(o, "pid", json_object_new_int64(pid));
    json_object_object_add(o, "healthy", json_object_new_boolean(healthy));
    json_object_object_add(o, "ready", json_object_new_boolean(ready));
    json_object_object_add(o, "loopAgeMs", json_object_new_int64(loop_age_ms));
    if (wait_left_ms >= 0)
        json_object_object_add(o, "waitingMs", json_object_new_int64(wait_left_ms));
    if (degraded != NULL && degraded[0] != '\0')
        json_object_object_add(o, "degraded", json_object_new_string(degraded));
    if (!healthy && wait_left_ms != INT64_MIN) {
        snprintf(reason, sizeof(reason),
                 "main loop stalled for %lld ms (limit %lld ms), in an API request %lld ms past "
                 "its deadline",
                 (long long)loop_age_ms, (long long)stall_ms, (long long)-wait_left_ms);
        json_object_object_add(o, "reason", json_object_new_string(reason));
    } else if (!healthy) {
        snprintf(reason, sizeof(reason), "main loop stalled for %lld ms (limit %lld ms)",
                 (long long)loop_age_ms, (long long)stall_ms);
        json_object_object_add(o, "reason", json_object_new_string(reason));
    }
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (s != NULL)
        out = strdup(s);
    json_object_put(o);
    return out;
}

static int64_t loop_age(const struct ctl *ctl)
{
    return util_mono_ms() - atomic_load(&ctl->c_heartbeat_ms);
}

/* What is left of the bounded wait the loop is in; INT64_MIN when in none. */
static int64_t wait_left(const struct ctl *ctl)
{
    int64_t until = atomic_load(&ctl->c_wait_until_ms);
    return until != 0 ? until - util_mono_ms() : INT64_MIN;
}

static bool is_healthy(const struct ctl *ctl)
{
    return loop_age(ctl) <= atomic_load(&ctl->c_stall_ms) || wait_left(ctl) >= 0;
}

static int reply_health(struct ctl *ctl, struct ipc_reply *rep)
{
    char deg[sizeof(ctl->c_degraded)];
    pthread_mutex_lock(&ctl->c_mu);
    memcpy(deg, ctl->c_degraded, sizeof(deg));
    pthread_mutex_unlock(&ctl->c_mu);
    char *body = ctl_health_json(ctl->c_role, (long)getpid(), atomic_load(&ctl->c_ready),
                                 loop_age(ctl), atomic_load(&ctl->c_stall_ms), wait_left(ctl), deg);
    if (body == NULL)
        return -ENOMEM;
    rep->type = IPC_CTL_HEALTH_REPLY;
    rep->body = body;
    rep->len = strlen(body);
    return 0;
}

static int reply_metrics(struct ctl *ctl, struct ipc_reply *rep)
{
    struct sbuf sb = {0};
    char *reg = NULL;
    size_t len = 0;
    struct ctl_proc p;
    int rc = metrics_render(ctl->c_metrics, &reg, &len);
    if (rc != 0)
        return rc;
    sbuf_append(&sb, reg, len);
    free(reg);
    if (proc_read(ctl->c_boot_time_s, &p) == 0)
        ctl_proc_render(&p, ctl->c_role, &sb);
    rep->body = sbuf_detach(&sb, &rep->len);
    if (rep->body == NULL)
        return -ENOMEM;
    rep->type = IPC_CTL_METRICS_REPLY;
    return 0;
}

static int reply_status(struct ctl *ctl, struct ipc_reply *rep)
{
    struct json_object *o = json_object_new_object();
    ctl_status_fn fn = atomic_load(&ctl->c_status_fn);
    const char *s;
    int rc = -ENOMEM;
    if (o == NULL)
        return -ENOMEM;
    json_object_object_add(o, "role", json_object_new_string(ctl->c_role));
    json_object_object_add(o, "pid", json_object_new_int64(getpid()));
    json_object_object_add(o, "uptimeMs",
                           json_object_new_int64(util_mono_ms() - ctl->c_start_mono_ms));
    json_object_object_add(o, "ready", json_object_new_boolean(atomic_load(&ctl->c_ready)));
    json_object_object_add(o, "healthy", json_object_new_boolean(is_healthy(ctl)));
    if (fn != NULL)
        fn(atomic_load(&ctl->c_status_arg), o);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (s != NULL && (rep->body = strdup(s)) != NULL) {
        rep->type = IPC_CTL_STATUS_REPLY;
        rep->len = strlen(s);
        rc = 0;
    }
    json_object_put(o);
    return rc;
}

/* STOP: acknowledged, then delivered as SIGTERM so that it takes the same path as
 * the supervisor's signal (role_stop_fd; SIGTERM is blocked in every thread). */
static int reply_stop(struct ctl *ctl, struct ipc_reply *rep)
{
    log_info("stop requested on the control socket", NULL);
    kill(getpid(), SIGTERM);
    rep->type = IPC_CTL_ACK;
    return 0;
}

static int ctl_handle(void *arg, const struct ipc_msg *req, struct ipc_reply *rep)
{
    struct ctl *ctl = arg;
    switch (req->type) {
    case IPC_CTL_HEALTH:
        return reply_health(ctl, rep);
    case IPC_CTL_METRICS:
        return reply_metrics(ctl, rep);
    case IPC_CTL_STATUS:
        return reply_status(ctl, rep);
    case IPC_CTL_STOP:
        return reply_stop(ctl, rep);
    default:
        return -EOPNOTSUPP;
    }
}

/* ---- the handle ---- */

int ctl_open(const char *role, const struct cfg *c, struct ctl **out)
{
    char url[IPC_URL_MAX];
    struct ctl *ctl = NULL;
    int rc = ipc_role_check(role);
    if (rc == 0)
        rc = ipc_endpoint_url(url, sizeof(url), c->run_dir, IPC_EP_CTL, role);
    if (rc != 0)
        goto fail;
    rc = -ENOMEM;
    if ((ctl = calloc(1, sizeof(*ctl))) == NULL || (ctl->c_metrics = metrics_new()) == NULL)
        goto fail;
    util_strlcpy(ctl->c_role, role, sizeof(ctl->c_role));
    ctl->c_start_mono_ms = util_mono_ms();
    atomic_init(&ctl->c_heartbeat_ms, ctl->c_start_mono_ms);
    atomic_init(&ctl->c_trim_at_ms, ctl->c_start_mono_ms + CTL_TRIM_EVERY_MS);
    atomic_init(&ctl->c_stall_ms, CTL_STALL_MS_DEFAULT);
    atomic_init(&ctl->c_wait_until_ms, 0);
    pthread_mutex_init(&ctl->c_mu, NULL);
    atomic_init(&ctl->c_ready, false);
    if (proc_read_btime(&ctl->c_boot_time_s) != 0)
        ctl->c_boot_time_s = 0;
    if ((rc = metrics_const_label(ctl->c_metrics, "role", role)) != 0 ||
        (rc = ctl_register_standard_families(ctl->c_metrics, &ctl->c_fam)) != 0)
        goto fail;
    if ((rc = ipc_rep_open(&ctl->c_rep, url, CTL_WORKERS, ctl_handle, ctl)) != 0) {
        log_error("cannot open the control socket", "url", url, "error", strerror(-rc), NULL);
        goto fail;
    }
    *out = ctl;
    return 0;
fail:
    ctl_close(ctl);
    return rc;
}

void ctl_close(struct ctl *ctl)
{
    if (ctl == NULL)
        return;
    ipc_rep_close(ctl->c_rep);
    metrics_free(ctl->c_metrics);
    free(ctl);
}

struct metrics *ctl_metrics(struct ctl *ctl)
{
    return ctl->c_metrics;
}

const struct ctl_families *ctl_families(struct ctl *ctl)
{
    return &ctl->c_fam;
}

const char *ctl_role(const struct ctl *ctl)
{
    return ctl->c_role;
}

static void trim_freed(struct ctl *ctl, int64_t now)
{
    int64_t due = atomic_load(&ctl->c_trim_at_ms);
    if (now < due ||
        !atomic_compare_exchange_strong(&ctl->c_trim_at_ms, &due, now + CTL_TRIM_EVERY_MS))
        return; /* not due, or another thread is looking */
    if (mallinfo2().fordblks >= CTL_TRIM_MIN_FREE)
        malloc_trim(0);
}

void ctl_heartbeat(struct ctl *ctl)
{
    int64_t now = util_mono_ms();
    atomic_store(&ctl->c_heartbeat_ms, now);
    trim_freed(ctl, now);
}

void ctl_set_ready(struct ctl *ctl, bool ready)
{
    atomic_store(&ctl->c_ready, ready);
}

void ctl_waiting(struct ctl *ctl, int64_t until_mono_ms)
{
    atomic_store(&ctl->c_wait_until_ms, until_mono_ms);
}

void ctl_set_degraded(struct ctl *ctl, const char *note)
{
    pthread_mutex_lock(&ctl->c_mu);
    util_strlcpy(ctl->c_degraded, note != NULL ? note : "", sizeof(ctl->c_degraded));
    pthread_mutex_unlock(&ctl->c_mu);
}

void ctl_kube_wait(void *ctx, int64_t until_mono_ms)
{
    ctl_waiting(ctx, until_mono_ms);
}

void ctl_set_stall_ms(struct ctl *ctl, int64_t ms)
{
    atomic_store(&ctl->c_stall_ms, ms);
}

void ctl_set_status_fn(struct ctl *ctl, ctl_status_fn fn, void *arg)
{
    atomic_store(&ctl->c_status_arg, arg);
    atomic_store(&ctl->c_status_fn, fn);
}

int ctl_wait_stop(struct ctl *ctl)
{
    struct pollfd p[2] = {{.fd = role_stop_fd(), .events = POLLIN},
                          {.fd = role_parent_fd(), .events = POLLIN}};
    nfds_t n = p[1].fd >= 0 ? 2 : 1;
    for (;;) {
        ctl_heartbeat(ctl);
        int r = poll(p, n, 1000);
        if (r < 0 && errno != EINTR) {
            log_error("poll failed", "error", strerror(errno), NULL);
            return 1;
        }
        /* role_wait_stop logs, honours OMJOB_TEST_ROLE_HANG, and returns at once
         * for a pending stop signal or a dead parent. */
        if (r > 0)
            return role_wait_stop();
    }
}

void ctl_kube_observer(void *ctx, const char *method, int code, double seconds)
{
    struct ctl *ctl = ctx;
    char c[16] = "<error>";
    if (code > 0)
        snprintf(c, sizeof(c), "%d", code);
    metrics_counter_add(ctl->c_fam.rest_requests, 1.0, c, method != NULL ? method : "UNKNOWN");
}

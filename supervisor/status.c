/* The status file (one line per role, tab-separated, written atomically by the
 * supervisor) and the `omjob-operator status` command that prints it as a table.
 *
 * Format, version 1:
 *   omjob-status 1
 *   supervisor <pid> <started unix ms> running|stopping <ready 0|1> <ready after ms|-1>
 *   role <name> <pid|0> <state> <restarts> <started unix ms|0> <next start unix ms|0>
 *        <disabled 0|1> <last waitpid status|-1>
 */
#include "supervisor/status.h"
#include "ipc/endpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/util.h"
#include "supervisor/role.h"
#include "supervisor/rundir.h"

#define STATUS_MAGIC "omjob-status 1"
#define STATUS_FIELDS_MAX 12

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void format_status(struct sbuf *sb, const struct status_sup *s, const struct proc_table *t)
{
    sbuf_appendf(sb, "%s\nsupervisor\t%ld\t%lld\t%s\t%d\t%lld\n", STATUS_MAGIC, (long)s->ss_pid,
                 (long long)s->ss_started_wall_ms, s->ss_stopping ? "stopping" : "running",
                 s->ss_ready ? 1 : 0, (long long)s->ss_ready_ms);
    for (int i = 0; i < t->pt_n; i++) {
        const struct proc_role *r = &t->pt_roles[i];
        bool waiting = r->pr_state == PROC_BACKOFF || r->pr_state == PROC_FAILED_CONFIG;
        int64_t next = waiting ? s->ss_now_wall_ms + (r->pr_next_start_ms - s->ss_now_mono_ms) : 0;
        sbuf_appendf(sb, "role\t%s\t%ld\t%s\t%u\t%lld\t%lld\t%d\t%d\n", r->pr_name, (long)r->pr_pid,
                     proc_state_str(r->pr_state), r->pr_restarts,
                     (long long)(r->pr_pid > 0 ? r->pr_start_wall_ms : 0), (long long)next,
                     r->pr_disabled ? 1 : 0, r->pr_last_status);
    }
}

int status_write(const char *dir, const struct status_sup *s, const struct proc_table *t)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    struct sbuf sb = {0};
    int fd = -1;
    int rc = rundir_path(tmp, sizeof(tmp), dir, "status.tmp");
    if (rc == 0)
        rc = rundir_path(path, sizeof(path), dir, "status");
    if (rc != 0)
        goto out;
    format_status(&sb, s, t);
    if ((rc = sb.sb_err) != 0)
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = write_all(fd, sbuf_str(&sb), sbuf_len(&sb));
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
out:
    sbuf_free(&sb);
    return rc;
}

void status_remove(const char *dir)
{
    char path[PATH_MAX];
    if (rundir_path(path, sizeof(path), dir, "status") == 0)
        unlink(path);
}

/* ---- reading ---- */

/* Splits line at tabs in place (the newline goes). The number of fields. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    while (n < max) {
        f[n++] = line;
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        line = tab + 1;
    }
    return n;
}

static int parse_supervisor(char **f, int n, struct status_file *sf)
{
    if (n != 6 || util_parse_i64(f[1], 1, INT_MAX, &sf->pid) != 0 ||
        util_parse_i64(f[2], 0, LLONG_MAX, &sf->started_ms) != 0 ||
        util_parse_i64(f[4], 0, 1, &sf->ready) != 0 ||
        util_parse_i64(f[5], -1, LLONG_MAX, &sf->ready_ms) != 0)
        return -EINVAL;
    sf->stopping = strcmp(f[3], "stopping") == 0;
    return 0;
}

static int parse_role(char **f, int n, struct status_row *r)
{
    /* The name ends up in label values and socket paths: only what ipc_role_check allows. */
    if (n != 9 || ipc_role_check(f[1]) != 0 || util_strlcpy(r->name, f[1], sizeof(r->name)) != 0 ||
        util_parse_i64(f[2], 0, INT_MAX, &r->pid) != 0 || proc_state_parse(f[3], &r->state) != 0 ||
        util_parse_i64(f[4], 0, UINT_MAX, &r->restarts) != 0 ||
        util_parse_i64(f[5], 0, LLONG_MAX, &r->started_ms) != 0 ||
        util_parse_i64(f[6], 0, LLONG_MAX, &r->next_ms) != 0 ||
        util_parse_i64(f[7], 0, 1, &r->disabled) != 0 ||
        util_parse_i64(f[8], -1, INT_MAX, &r->last_status) != 0)
        return -EINVAL;
    return 0;
}

static int parse_line(char *line, struct status_file *sf)
{
    char *f[STATUS_FIELDS_MAX] = {0};
    int n = split_tabs(line, f, STATUS_FIELDS_MAX);
    if (strcmp(f[0], "supervisor") == 0)
        return parse_supervisor(f, n, sf);
    if (strcmp(f[0], "role") != 0)
        return 0; /* newer writers may add lines */
    struct status_row *rows = realloc(sf->rows, ((size_t)sf->n + 1) * sizeof(*rows));
    if (rows == NULL)
        return -ENOMEM;
    sf->rows = rows;
    if (parse_role(f, n, &rows[sf->n]) != 0)
        return -EINVAL;
    sf->n++;
    return 0;
}

int status_parse(const char *text, struct status_file *out)
{
    struct status_file sf = {0};
    char *copy = strdup(text), *p = copy;
    int rc = -ENOMEM;
    if (copy == NULL)
        goto out;
    rc = -EINVAL;
    if (strncmp(p, STATUS_MAGIC "\n", sizeof(STATUS_MAGIC)) != 0)
        goto out;
    p += sizeof(STATUS_MAGIC);
    rc = 0;
    while (rc == 0 && *p != '\0') {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (*p != '\0')
            rc = parse_line(p, &sf);
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }
    if (rc == 0 && sf.pid == 0)
        rc = -EINVAL;
out:
    free(copy);
    if (rc == 0)
        *out = sf;
    else
        status_file_free(&sf);
    return rc;
}

int status_read(const char *dir, struct status_file *out)
{
    char path[PATH_MAX], buf[4096];
    struct sbuf sb = {0};
    size_t n;
    int rc = rundir_path(path, sizeof(path), dir, "status");
    FILE *f = rc == 0 ? fopen(path, "re") : NULL;
    if (f == NULL)
        return rc != 0 ? rc : -errno;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sbuf_append(&sb, buf, n);
    rc = ferror(f) ? -EIO : sb.sb_err;
    fclose(f);
    if (rc == 0)
        rc = status_parse(sbuf_str(&sb), out);
    sbuf_free(&sb);
    return rc;
}

void status_file_free(struct status_file *sf)
{
    if (sf == NULL)
        return;
    free(sf->rows);
    sf->rows = NULL;
    sf->n = 0;
}

/* ---- printing ---- */

static void fmt_dur(char *buf, size_t bufsz, long long ms)
{
    long long s = ms < 0 ? 0 : ms / 1000;
    if (s < 60)
        snprintf(buf, bufsz, "%llds", s);
    else if (s < 3600)
        snprintf(buf, bufsz, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, bufsz, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, bufsz, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static int count_reconcilers(const struct status_file *sf)
{
    int n = 0;
    for (int i = 0; i < sf->n; i++)
        n += strncmp(sf->rows[i].name, "reconciler-", 11) == 0;
    return n;
}

static void row_note(char *buf, size_t bufsz, const struct status_row *r, int nrec, long long now)
{
    char d[32];
    fmt_dur(d, sizeof(d), r->next_ms - now + 999);
    if (r->disabled && strncmp(r->name, "reconciler-", 11) == 0)
        snprintf(buf, bufsz, "disabled: run omjob-operator reconciler --shard %s/%d", r->name + 11,
                 nrec);
    else if (r->disabled)
        snprintf(buf, bufsz, "disabled: run omjob-operator %s", r->name);
    else if (r->state == PROC_FAILED_CONFIG)
        snprintf(buf, bufsz, "bad configuration (see its log); next try in %s", d);
    else if (r->state == PROC_BACKOFF)
        snprintf(buf, bufsz, "restart in %s", d);
    else
        buf[0] = '\0';
}

/* holder: the lock holder's pid as we see it; differs from sf->pid when the
 * supervisor runs in another pid namespace (a container seen from the host). */
static void print_table(const struct status_file *sf, pid_t holder)
{
    long long now = util_now_ms();
    char up[32], ready[64] = "", here[40] = "";
    int nrec = count_reconcilers(sf);
    fmt_dur(up, sizeof(up), now - sf->started_ms);
    if (sf->ready_ms >= 0)
        snprintf(ready, sizeof(ready), "; all roles were ready %lld ms after start", sf->ready_ms);
    if (holder != sf->pid)
        snprintf(here, sizeof(here), " (pid %ld here)", (long)holder);
    printf("omjob-operator %s: supervisor pid %lld%s, up %s%s\n",
           sf->stopping ? "stopping"
           : sf->ready  ? "ready"
                        : "NOT READY",
           sf->pid, here, up, ready);
    printf("%-14s %-8s %-13s %8s  %-8s %-30s %s\n", "ROLE", "PID", "STATE", "RESTARTS", "UPTIME",
           "LAST EXIT", "NOTE");
    for (int i = 0; i < sf->n; i++) {
        const struct status_row *r = &sf->rows[i];
        char pid[24] = "-", upt[32] = "-", last[96], note[128];
        if (r->pid > 0) {
            snprintf(pid, sizeof(pid), "%lld", r->pid);
            fmt_dur(upt, sizeof(upt), now - r->started_ms);
        }
        proc_status_str((int)r->last_status, last, sizeof(last));
        row_note(note, sizeof(note), r, nrec, now);
        printf("%-14s %-8s %-13s %8lld  %-8s %-30s %s\n", r->name, pid, proc_state_str(r->state),
               r->restarts, upt, last, note);
    }
}

static int status_show(const char *dir)
{
    struct status_file sf = {0};
    pid_t holder = rundir_lock_holder(dir);
    int rc = 1;
    if (holder <= 0) {
        fprintf(stderr,
                "omjob-operator: not running (no supervisor holds %s/supervisor.lock%s%s)\n", dir,
                holder < 0 ? ": " : "", holder < 0 ? strerror(-holder) : "");
        return 1;
    }
    /* The supervisor removes any older status file once it holds the lock, so
     * the file there now is the holder's. */
    int err = status_read(dir, &sf);
    if (err != 0) {
        fprintf(stderr, "omjob-operator: supervisor pid %ld runs, but %s/status is %s\n",
                (long)holder, dir, err == -ENOENT ? "not there yet" : "unreadable");
    } else {
        print_table(&sf, holder);
        rc = 0;
    }
    status_file_free(&sf);
    return rc;
}

int status_command(int argc, char **argv)
{
    struct cfg c;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator status: unexpected argument '%s' (status takes none; "
                "OMJOB_RUN_DIR chooses the operator)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    log_init("status");
    cfg_load_or_exit(&c);
    int rc = status_show(c.run_dir);
    cfg_free(&c);
    return rc;
}

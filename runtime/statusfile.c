/* The status file: the supervisor's account of its roles, one line per role,
 * tab-separated, written atomically (tmp + rename) by the supervisor on every
 * state change and read by `omjob-operator status` and by httpd. Part of the
 * supervisor-role contract (docs/PROTOCOL.md, "Supervisor and roles").
 *
 * Format, version 1:
 *   omjob-status 1
 *   supervisor <pid> <started unix ms> running|stopping <ready 0|1> <ready after ms|-1>
 *   role <name> <pid|0> <state> <restarts> <started unix ms|0> <next start unix ms|0>
 *        <disabled 0|1> <last waitpid status|-1>
 *   leader <this replica leads 0|1> <holder|-> (only with LEADER_ELECTION=true;
 *        older readers skip it)
 */
#include "runtime/statusfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "runtime/rundir.h"

#define STATUS_MAGIC "omjob-status 1"
#define STATUS_FIELDS_MAX 12
/* Largest status file read: a line per role is under 200 bytes, and there are at
 * most 64 reconcilers and 3 other roles. */
#define STATUS_FILE_MAX ((size_t)1 << 20)

static const char *const state_names[] = {"STARTING", "READY",         "BACKOFF",
                                          "STOPPED",  "FAILED_CONFIG", "STANDBY"};

const char *role_state_str(enum role_state s)
{
    if ((unsigned)s > ROLE_STANDBY)
        return "UNKNOWN";
    return state_names[s];
}

int role_state_parse(const char *s, enum role_state *out)
{
    for (int i = 0; i <= ROLE_STANDBY; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum role_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

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

static void format_status(struct sbuf *sb, const struct status_file *sf)
{
    sbuf_appendf(sb, "%s\nsupervisor\t%lld\t%lld\t%s\t%lld\t%lld\n", STATUS_MAGIC, sf->pid,
                 sf->started_ms, sf->stopping ? "stopping" : "running", sf->ready, sf->ready_ms);
    for (int i = 0; i < sf->n; i++) {
        const struct status_row *r = &sf->rows[i];
        sbuf_appendf(sb, "role\t%s\t%lld\t%s\t%lld\t%lld\t%lld\t%lld\t%lld\n", r->name, r->pid,
                     role_state_str(r->state), r->restarts, r->started_ms, r->next_ms, r->disabled,
                     r->last_status);
    }
    if (sf->election)
        sbuf_appendf(sb, "leader\t%d\t%s\n", sf->leading ? 1 : 0,
                     sf->holder[0] != '\0' ? sf->holder : "-");
}

int status_write(const char *dir, const struct status_file *sf)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    struct sbuf sb = {0};
    int fd = -1;
    int rc = rundir_path(tmp, sizeof(tmp), dir, "status.tmp");
    if (rc == 0)
        rc = rundir_path(path, sizeof(path), dir, "status");
    if (rc != 0)
        goto out;
    format_status(&sb, sf);
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
        util_parse_i64(f[2], 0, INT_MAX, &r->pid) != 0 || role_state_parse(f[3], &r->state) != 0 ||
        util_parse_i64(f[4], 0, UINT_MAX, &r->restarts) != 0 ||
        util_parse_i64(f[5], 0, LLONG_MAX, &r->started_ms) != 0 ||
        util_parse_i64(f[6], 0, LLONG_MAX, &r->next_ms) != 0 ||
        util_parse_i64(f[7], 0, 1, &r->disabled) != 0 ||
        util_parse_i64(f[8], -1, INT_MAX, &r->last_status) != 0)
        return -EINVAL;
    return 0;
}

static int parse_leader(char **f, int n, struct status_file *sf)
{
    if (n != 3 || (strcmp(f[1], "0") != 0 && strcmp(f[1], "1") != 0))
        return -EINVAL;
    sf->election = true;
    sf->leading = f[1][0] == '1';
    util_strlcpy(sf->holder, strcmp(f[2], "-") == 0 ? "" : f[2], sizeof(sf->holder));
    return 0;
}

static int parse_line(char *line, struct status_file *sf)
{
    char *f[STATUS_FIELDS_MAX] = {0};
    int n = split_tabs(line, f, STATUS_FIELDS_MAX);
    if (strcmp(f[0], "supervisor") == 0)
        return parse_supervisor(f, n, sf);
    if (strcmp(f[0], "leader") == 0)
        return parse_leader(f, n, sf);
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
    char path[PATH_MAX];
    char *text = NULL;
    size_t len;
    int rc = rundir_path(path, sizeof(path), dir, "status");
    if (rc == 0)
        rc = util_file_read(path, STATUS_FILE_MAX, &text, &len);
    if (rc == 0)
        rc = status_parse(text, out);
    free(text);
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

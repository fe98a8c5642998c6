/* httpd's pure pieces: status file parsing, health replies, the liveness and
 * readiness decisions, restart-rate tracking and routing (see health.h). */
#include "httpd/health.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/json.h"
#include "runtime/ctl.h"
#include "supervisor/rundir.h"

#define STATUS_MAGIC "omjob-status 1"
#define FIELDS_MAX 12

/* ---- the status file ---- */

/* Splits the line [p, end) at tabs into f (NUL-terminating in place). */
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

static int parse_sup(char **f, int n, struct httpd_status *s)
{
    long long pid, started, ready;
    if (n != 6 || util_parse_i64(f[1], 1, INT_MAX, &pid) != 0 ||
        util_parse_i64(f[2], 0, LLONG_MAX, &started) != 0 ||
        util_parse_i64(f[4], 0, 1, &ready) != 0)
        return -EINVAL;
    s->hs_pid = (long)pid;
    s->hs_started_ms = started;
    s->hs_ready = ready == 1;
    s->hs_stopping = strcmp(f[3], "stopping") == 0;
    return 0;
}

static int parse_role(char **f, int n, struct httpd_role *r)
{
    long long pid, restarts, started, disabled;
    /* The name ends up in label values and URLs: only what ipc_role_check allows. */
    if (n != 9 || ipc_role_check(f[1]) != 0 ||
        util_strlcpy(r->hr_name, f[1], sizeof(r->hr_name)) != 0 ||
        util_parse_i64(f[2], 0, INT_MAX, &pid) != 0 || proc_state_parse(f[3], &r->hr_state) != 0 ||
        util_parse_i64(f[4], 0, UINT_MAX, &restarts) != 0 ||
        util_parse_i64(f[5], 0, LLONG_MAX, &started) != 0 ||
        util_parse_i64(f[7], 0, 1, &disabled) != 0)
        return -EINVAL;
    r->hr_pid = (long)pid;
    r->hr_restarts = (unsigned)restarts;
    r->hr_started_ms = started;
    r->hr_disabled = disabled == 1;
    return 0;
}

static int parse_line(char *line, struct httpd_status *s)
{
    char *f[FIELDS_MAX] = {0};
    int n = split_tabs(line, f, FIELDS_MAX);
    if (strcmp(f[0], "supervisor") == 0)
        return parse_sup(f, n, s);
    if (strcmp(f[0], "role") != 0)
        return 0;
    struct httpd_role *roles = realloc(s->hs_roles, ((size_t)s->hs_n + 1) * sizeof(*roles));
    if (roles == NULL)
        return -ENOMEM;
    s->hs_roles = roles;
    if (parse_role(f, n, &roles[s->hs_n]) != 0)
        return -EINVAL;
    s->hs_n++;
    return 0;
}

int httpd_status_parse(const char *text, struct httpd_status *out)
{
    struct httpd_status s = {0};
    char *copy = strdup(text), *p = copy;
    int rc = -ENOMEM;
    if (copy == NULL)
        goto fail;
    rc = -EINVAL;
    if (strncmp(p, STATUS_MAGIC "\n", sizeof(STATUS_MAGIC)) != 0)
        goto fail;
    p += sizeof(STATUS_MAGIC);
    rc = 0;
    while (rc == 0 && *p != '\0') {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (*p != '\0')
            rc = parse_line(p, &s);
        p = nl != NULL ? nl + 1 : p + strlen(p);
    }
    if (rc == 0 && s.hs_pid == 0)
        rc = -EINVAL;
    if (rc != 0)
        goto fail;
    free(copy);
    *out = s;
    return 0;
fail:
    free(copy);
    free(s.hs_roles);
    return rc;
}

int httpd_status_read(const char *run_dir, struct httpd_status *out)
{
    char path[4096];
    struct sbuf sb = {0};
    char buf[4096];
    size_t n;
    int rc = rundir_path(path, sizeof(path), run_dir, "status");
    FILE *f = rc == 0 ? fopen(path, "re") : NULL;
    if (f == NULL)
        return rc != 0 ? rc : -errno;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sbuf_append(&sb, buf, n);
    rc = ferror(f) ? -EIO : sb.sb_err;
    fclose(f);
    if (rc == 0)
        rc = httpd_status_parse(sbuf_str(&sb), out);
    sbuf_free(&sb);
    return rc;
}

void httpd_status_free(struct httpd_status *s)
{
    if (s == NULL)
        return;
    free(s->hs_roles);
    s->hs_roles = NULL;
    s->hs_n = 0;
}

/* ---- health replies ---- */

int httpd_health_parse(const void *body, size_t len, struct httpd_reply *out)
{
    struct json_object *o = NULL;
    struct httpd_reply r = {.hp_asked = true};
    int64_t age = 0;
    int rc = -EBADMSG;
    if (jx_parse(body, len, &o, NULL, 0) != 0 || o == NULL ||
        jx_bool(o, "healthy", &r.hp_healthy) != 0 || jx_bool(o, "ready", &r.hp_ready) != 0)
        goto out;
    if (jx_i64(o, "loopAgeMs", &age) == 0)
        r.hp_loop_age_ms = age;
    util_strlcpy(r.hp_reason, jx_str_or(o, "reason", ""), sizeof(r.hp_reason));
    *out = r;
    rc = 0;
out:
    json_object_put(o);
    return rc;
}

/* ---- restart tracking ---- */

static struct httpd_track_role *track_find(const struct httpd_track *t, const char *name)
{
    for (int i = 0; i < t->tk_n; i++)
        if (strcmp(t->tk_roles[i].tr_name, name) == 0)
            return &t->tk_roles[i];
    return NULL;
}

int httpd_track_update(struct httpd_track *t, const struct httpd_status *s, int64_t now_ms)
{
    for (int i = 0; i < s->hs_n; i++) {
        const struct httpd_role *r = &s->hs_roles[i];
        struct httpd_track_role *tr = track_find(t, r->hr_name);
        if (tr == NULL) {
            struct httpd_track_role *nr = realloc(t->tk_roles, ((size_t)t->tk_n + 1) * sizeof(*nr));
            if (nr == NULL)
                return -ENOMEM;
            t->tk_roles = nr;
            tr = &nr[t->tk_n++];
            memset(tr, 0, sizeof(*tr));
            util_strlcpy(tr->tr_name, r->hr_name, sizeof(tr->tr_name));
            tr->tr_last = r->hr_restarts;
            continue;
        }
        /* A count that went down is a new supervisor: start over from it. */
        for (unsigned k = tr->tr_last; k < r->hr_restarts && k - tr->tr_last < HTTPD_TRACK_MAX; k++)
            tr->tr_at[tr->tr_n++ % HTTPD_TRACK_MAX] = now_ms;
        tr->tr_last = r->hr_restarts;
    }
    return 0;
}

int httpd_track_recent(const struct httpd_track *t, const char *role, int64_t now_ms)
{
    const struct httpd_track_role *tr = track_find(t, role);
    int n = 0;
    if (tr == NULL)
        return 0;
    unsigned have = tr->tr_n < HTTPD_TRACK_MAX ? tr->tr_n : HTTPD_TRACK_MAX;
    for (unsigned i = 0; i < have; i++)
        n += now_ms - tr->tr_at[i] <= HTTPD_CRASHLOOP_WINDOW_MS;
    return n;
}

void httpd_track_free(struct httpd_track *t)
{
    if (t == NULL)
        return;
    free(t->tk_roles);
    t->tk_roles = NULL;
    t->tk_n = 0;
}

/* ---- decisions ---- */

bool httpd_should_ask(const struct httpd_role *r, const char *self)
{
    /* A role the supervisor has not seen READY has not opened its socket yet (it
     * opens it before role_ready): asking would only wait out the deadline. */
    return strcmp(r->hr_name, self) != 0 &&
           (r->hr_disabled || (r->hr_pid > 0 && r->hr_state == PROC_READY));
}

static void why_no_answer(const struct httpd_facts *f, const struct httpd_reply *p, char *buf,
                          size_t cap)
{
    if (p->hp_err == -ETIMEDOUT)
        snprintf(buf, cap, "no answer on its control socket within %d ms", f->hf_deadline_ms);
    else
        snprintf(buf, cap, "control socket: %s", strerror(-p->hp_err));
}

/* Liveness of one row: NULL when fine, else why not (in buf). */
static const char *role_live(const struct httpd_facts *f, int i, char *buf, size_t cap)
{
    const struct httpd_role *r = &f->hf_status->hs_roles[i];
    const struct httpd_reply *p = &f->hf_replies[i];
    int recent = f->hf_recent_restarts != NULL ? f->hf_recent_restarts[i] : 0;
    if (strcmp(r->hr_name, f->hf_self) == 0)
        return NULL;
    if (r->hr_state == PROC_FAILED_CONFIG)
        return "exited 78 (bad configuration, see its log); the supervisor retries every 30 s";
    if (recent >= HTTPD_CRASHLOOP_RESTARTS) {
        snprintf(buf, cap, "crash loop: %d restarts in the last %d s", recent,
                 HTTPD_CRASHLOOP_WINDOW_MS / 1000);
        return buf;
    }
    if (!p->hp_asked)
        return NULL; /* not running: restarting soon (or disabled) */
    if (p->hp_err != 0) {
        if (r->hr_disabled) /* run by hand, and gone */
            return NULL;
        why_no_answer(f, p, buf, cap);
        return buf;
    }
    if (!p->hp_healthy) {
        snprintf(buf, cap, "unhealthy: %s", p->hp_reason[0] != '\0' ? p->hp_reason : "(no reason)");
        return buf;
    }
    return NULL;
}

/* Readiness of one row: NULL when ready, else why not (in buf). */
static const char *role_ready(const struct httpd_facts *f, int i, char *buf, size_t cap)
{
    const struct httpd_role *r = &f->hf_status->hs_roles[i];
    const struct httpd_reply *p = &f->hf_replies[i];
    const char *why = role_live(f, i, buf, cap);
    if (why != NULL || strcmp(r->hr_name, f->hf_self) == 0)
        return why;
    if (r->hr_disabled)
        return p->hp_asked && p->hp_err == 0 && !p->hp_ready ? "not ready (run by hand)" : NULL;
    if (r->hr_state != PROC_READY) {
        snprintf(buf, cap, "%s in the supervisor's table", proc_state_str(r->hr_state));
        return buf;
    }
    if (!p->hp_asked || p->hp_err != 0) {
        why_no_answer(f, p, buf, cap);
        return buf;
    }
    return p->hp_ready ? NULL : "not ready yet (its own report)";
}

bool httpd_decide(enum httpd_probe probe, const struct httpd_facts *f, struct sbuf *body)
{
    const struct httpd_status *s = f->hf_status;
    size_t start = sbuf_len(body);
    char buf[256];
    if (s == NULL) {
        sbuf_appendf(body, "supervisor: status file unreadable: %s\n",
                     strerror(f->hf_status_err < 0 ? -f->hf_status_err : EINVAL));
        return false;
    }
    if (!f->hf_sup_alive)
        sbuf_appendf(body, "supervisor: pid %ld is not running\n", s->hs_pid);
    else if (probe == HTTPD_READY && s->hs_stopping)
        sbuf_puts(body, "supervisor: stopping\n");
    for (int i = 0; i < s->hs_n; i++) {
        const char *why = probe == HTTPD_LIVE ? role_live(f, i, buf, sizeof(buf))
                                              : role_ready(f, i, buf, sizeof(buf));
        if (why != NULL)
            sbuf_appendf(body, "%s: %s\n", s->hs_roles[i].hr_name, why);
    }
    if (sbuf_len(body) != start)
        return false;
    sbuf_puts(body, "ok\n");
    return true;
}

/* ---- routing and rendering ---- */

enum httpd_route httpd_route(const char *method, const char *path, bool metrics_only)
{
    enum httpd_route r = HTTPD_R_NOT_FOUND;
    if (strcmp(path, "/metrics") == 0)
        r = HTTPD_R_METRICS;
    else if (metrics_only)
        return HTTPD_R_NOT_FOUND;
    else if (strcmp(path, "/health") == 0 || strcmp(path, "/healthz") == 0)
        r = HTTPD_R_HEALTH;
    else if (strcmp(path, "/ready") == 0 || strcmp(path, "/readyz") == 0)
        r = HTTPD_R_READY;
    else if (strcmp(path, "/info") == 0)
        r = HTTPD_R_INFO;
    if (r != HTTPD_R_NOT_FOUND && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return HTTPD_R_BAD_METHOD;
    return r;
}

const char *httpd_route_str(enum httpd_route r)
{
    switch (r) {
    case HTTPD_R_HEALTH:
        return "HEALTH";
    case HTTPD_R_READY:
        return "READY";
    case HTTPD_R_INFO:
        return "INFO";
    case HTTPD_R_METRICS:
        return "METRICS";
    case HTTPD_R_NOT_FOUND:
        return "NOT_FOUND";
    case HTTPD_R_BAD_METHOD:
        return "BAD_METHOD";
    }
    return "UNKNOWN";
}

void httpd_render_restarts(const struct httpd_status *s, struct sbuf *sb)
{
    sbuf_appendf(sb, "# HELP %s %s\n# TYPE %s counter\n", CTL_RESTARTS_FAMILY, CTL_RESTARTS_HELP,
                 CTL_RESTARTS_FAMILY);
    for (int i = 0; s != NULL && i < s->hs_n; i++)
        sbuf_appendf(sb, "%s{role=\"%s\"} %u\n", CTL_RESTARTS_FAMILY, s->hs_roles[i].hr_name,
                     s->hs_roles[i].hr_restarts);
}

/* httpd's pure pieces: status file parsing, health replies, the liveness and
 * readiness decisions, restart-rate tracking and routing (see health.h). */
#include "roles/httpd/health.h"
#include "runtime/statusfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/common/json.h"
#include "runtime/ctl.h"
#include "runtime/rundir.h"

/* ---- the status file (parsed by runtime/statusfile.c) ---- */

static int from_status_file(struct status_file *sf, int rc, struct httpd_status *out)
{
    if (rc != 0)
        return rc;
    struct httpd_status s = {.hs_pid = (long)sf->pid,
                             .hs_started_ms = sf->started_ms,
                             .hs_ready = sf->ready == 1,
                             .hs_stopping = sf->stopping,
                             .hs_election = sf->election,
                             .hs_leading = sf->leading};
    util_strlcpy(s.hs_holder, sf->holder, sizeof(s.hs_holder));
    s.hs_roles = calloc(sf->n > 0 ? (size_t)sf->n : 1, sizeof(*s.hs_roles));
    if (s.hs_roles == NULL) {
        status_file_free(sf);
        return -ENOMEM;
    }
    for (int i = 0; i < sf->n; i++) {
        struct httpd_role *r = &s.hs_roles[i];
        const struct status_row *row = &sf->rows[i];
        util_strlcpy(r->hr_name, row->name, sizeof(r->hr_name));
        r->hr_pid = (long)row->pid;
        r->hr_state = row->state;
        r->hr_restarts = (unsigned)row->restarts;
        r->hr_started_ms = row->started_ms;
        r->hr_disabled = row->disabled == 1;
    }
    s.hs_n = sf->n;
    status_file_free(sf);
    *out = s;
    return 0;
}

int httpd_status_parse(const char *text, struct httpd_status *out)
{
    struct status_file sf = {0};
    return from_status_file(&sf, status_parse(text, &sf), out);
}

int httpd_status_read(const char *run_dir, struct httpd_status *out)
{
    struct status_file sf = {0};
    return from_status_file(&sf, status_read(run_dir, &sf), out);
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
    util_strlcpy(r.hp_degraded, jx_str_or(o, "degraded", ""), sizeof(r.hp_degraded));
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
           (r->hr_disabled || (r->hr_pid > 0 && r->hr_state == ROLE_READY));
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
    if (r->hr_state == ROLE_FAILED_CONFIG)
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
    if (r->hr_state == ROLE_STANDBY)
        return NULL; /* a follower is ready with its caches warm, as controller-runtime's */
    if (r->hr_state != ROLE_READY) {
        snprintf(buf, cap, "%s in the supervisor's table", role_state_str(r->hr_state));
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
    /* Still ok, but say what a role works without (an optional resource). */
    for (int i = 0; probe == HTTPD_READY && i < s->hs_n; i++)
        if (f->hf_replies[i].hp_asked && f->hf_replies[i].hp_err == 0 &&
            f->hf_replies[i].hp_degraded[0] != '\0')
            sbuf_appendf(body, "%s: degraded: %s\n", s->hs_roles[i].hr_name,
                         f->hf_replies[i].hp_degraded);
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

/* httpd's pure pieces: the supervisor's status file as data, the health replies of
 * the roles, the liveness and readiness decisions, the restart-rate tracker and the
 * URL routing. No I/O here but httpd_status_read, so that tests feed them tables. */
#ifndef OMJOB_ROLES_HTTPD_HEALTH_H
#define OMJOB_ROLES_HTTPD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "runtime/statusfile.h"

/* One role line of the status file (runtime/statusfile.c documents the format). */
struct httpd_role {
    char hr_name[IPC_ROLE_MAX + 1];
    long hr_pid; /* 0 when not running */
    enum role_state hr_state;
    unsigned hr_restarts;
    int64_t hr_started_ms; /* unix ms of the last start, 0 when not running */
    bool hr_disabled;
};

struct httpd_status {
    long hs_pid; /* the supervisor */
    int64_t hs_started_ms;
    bool hs_stopping;
    bool hs_ready;
    bool hs_election;            /* LEADER_ELECTION=true */
    bool hs_leading;             /* this replica holds the Lease */
    char hs_holder[256];         /* the Lease's holder, "" unknown */
    struct httpd_role *hs_roles; /* malloc'd, hs_n of them */
    int hs_n;
};

/* Parses the text of a status file ("omjob-status 1" first). Unknown line kinds
 * are skipped (newer writers). 0, -EINVAL or -ENOMEM; *out (roles malloc'd, free
 * with httpd_status_free) written on success only. */
int httpd_status_parse(const char *text, struct httpd_status *out);
/* Reads <run_dir>/status. 0, -ENOENT, -EINVAL, -ENOMEM. */
int httpd_status_read(const char *run_dir, struct httpd_status *out);
void httpd_status_free(struct httpd_status *s);

/* What one role's control socket said to IPC_CTL_HEALTH. */
struct httpd_reply {
    bool hp_asked; /* queried at all (not for a role that is not running) */
    int hp_err;    /* 0 when it answered; -ETIMEDOUT, -EBADMSG, ... otherwise */
    bool hp_healthy;
    bool hp_ready;
    int64_t hp_loop_age_ms;
    char hp_reason[160];
    char hp_degraded[256]; /* what it works without; "" when nothing */
};
/* Parses a health reply body (JSON, see docs/PROTOCOL.md) into *out (hp_asked and
 * hp_err are set to true and 0). 0 or -EBADMSG. */
int httpd_health_parse(const void *body, size_t len, struct httpd_reply *out);

/* Restart-rate tracking: httpd remembers when it saw each role's restart count go
 * up, so that "restarting too often" means HTTPD_CRASHLOOP_RESTARTS restarts within
 * HTTPD_CRASHLOOP_WINDOW_MS, whatever the role's lifetime count. */
#define HTTPD_CRASHLOOP_RESTARTS 5
#define HTTPD_CRASHLOOP_WINDOW_MS (5 * 60 * 1000)
#define HTTPD_TRACK_MAX 16 /* remembered increases per role */
struct httpd_track_role {
    char tr_name[IPC_ROLE_MAX + 1];
    unsigned tr_last;               /* restart count seen last */
    int64_t tr_at[HTTPD_TRACK_MAX]; /* times of increases, ring */
    unsigned tr_n;                  /* increases recorded in all */
};
struct httpd_track {
    struct httpd_track_role *tk_roles;
    int tk_n;
};
/* Feeds a status table seen at now_ms (a role seen the first time records no
 * increase: its count predates us). 0 or -ENOMEM. */
int httpd_track_update(struct httpd_track *t, const struct httpd_status *s, int64_t now_ms);
/* Restarts of role within the window before now_ms. */
int httpd_track_recent(const struct httpd_track *t, const char *role, int64_t now_ms);
void httpd_track_free(struct httpd_track *t);

enum httpd_probe { HTTPD_LIVE, HTTPD_READY };

/* What the decision needs: the status table (NULL when unreadable, with status_err),
 * whether the supervisor process is alive, one reply per status row (same index),
 * recent restarts per row, and the name of the deciding process (httpd itself,
 * whose own row is not queried). */
struct httpd_facts {
    const struct httpd_status *hf_status;
    int hf_status_err;
    bool hf_sup_alive;
    const struct httpd_reply *hf_replies;
    const int *hf_recent_restarts;
    const char *hf_self;
    int hf_deadline_ms;
};

/* The liveness or readiness decision. True when healthy (ready); body gets "ok\n",
 * or one line per failing part, "<role>: <why>\n" (docs/ARCHITECTURE.md, httpd). */
bool httpd_decide(enum httpd_probe probe, const struct httpd_facts *f, struct sbuf *body);

/* Whether httpd asks this row's control socket at all: not httpd itself, and
 * READY in the supervisor's table or disabled (a developer may run it by hand;
 * httpd then also checks that its socket file exists). */
bool httpd_should_ask(const struct httpd_role *r, const char *self);

enum httpd_route {
    HTTPD_R_HEALTH,
    HTTPD_R_READY,
    HTTPD_R_INFO,
    HTTPD_R_METRICS,
    HTTPD_R_NOT_FOUND,
    HTTPD_R_BAD_METHOD, /* known path, method other than GET or HEAD: 405 */
};
/* Routes a request. metrics_only: the request came in on METRICS_PORT (when it
 * differs from HEALTH_CHECK_PORT), which serves /metrics alone; HEALTH_CHECK_PORT
 * serves everything, /metrics included (the upstream operator served it there). */
enum httpd_route httpd_route(const char *method, const char *path, bool metrics_only);
const char *httpd_route_str(enum httpd_route r);

/* The omjob_component_restarts_total family (HELP, TYPE, one sample per row). */
void httpd_render_restarts(const struct httpd_status *s, struct sbuf *sb);

#endif

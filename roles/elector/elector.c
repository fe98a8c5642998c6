/* The elector role (LEADER_ELECTION=true): holds the operator's Lease
 * (coordination.k8s.io/v1, LEADER_ELECTION_LEASE_NAME in OPERATOR_NAMESPACE) with
 * client-go's semantics (roles/elector/lease.h) and tells the supervisor, on its
 * readiness pipe, whether this replica may write: "LEADER <ms> <holder>" after each
 * acquisition or renewal (the roles that write may run for <ms> more), "FOLLOWER
 * <holder>" otherwise. The supervisor starts and stops those roles; fencing is
 * its timer plus ours (docs/ARCHITECTURE.md, "Leader election"). */
#include "roles/elector/elector.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "lib/kube/client.h"
#include "roles/elector/lease.h"
#include "runtime/ctl.h"
#include "runtime/events.h"
#include "runtime/kclient.h"
#include "runtime/role.h"

/* What the supervisor is told is a little less than what we know, so that its own
 * timer (started when it reads the line) never outlasts ours. */
#define REPORT_MARGIN_MS 100
/* The holder as reported on the pipe: lines stay far below PIPE_BUF. */
#define REPORT_HOLDER_MAX 200

struct elector {
    struct cfg e_cfg;
    struct ctl *e_ctl;
    struct kube_client *e_kc;
    struct ev_recorder *e_ev;
    struct metrics_family *e_gauge; /* omjob_leader */
    struct metrics_family *e_trans; /* omjob_leader_transitions_total */
    struct lease_state e_ls;
    int64_t e_next_ms; /* next attempt, monotonic */
    pid_t e_ppid;      /* the supervisor: a different parent means it died */
    bool e_was_leader; /* as last reported */
    char e_reported[LEASE_ID_MAX];
    bool e_reported_once;
    int e_failures;       /* consecutive failed attempts, for logging */
    pthread_mutex_t e_mu; /* guards the copies below, read by the status callback */
    char e_holder_copy[LEASE_ID_MAX];
    bool e_leader_copy;
};

static void status_fields(void *arg, struct json_object *obj)
{
    struct elector *e = arg;
    pthread_mutex_lock(&e->e_mu);
    json_object_object_add(obj, "identity", json_object_new_string(e->e_ls.ls_id));
    json_object_object_add(obj, "holder", json_object_new_string(e->e_holder_copy));
    json_object_object_add(obj, "leader", json_object_new_boolean(e->e_leader_copy));
    pthread_mutex_unlock(&e->e_mu);
}

static void make_identity(char *buf, size_t cap)
{
    const char *pod = getenv("POD_NAME");
    char host[64] = "";
    uint32_t r = 0;
    if (pod != NULL && pod[0] != '\0') {
        util_strlcpy(buf, pod, cap);
        return;
    }
    gethostname(host, sizeof(host) - 1);
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)getpid() ^ (uint32_t)util_wall_ms();
    snprintf(buf, cap, "%s_%08x", host[0] != '\0' ? host : "omjob-operator", r);
}

/* Tells the supervisor and the metrics where we stand, when it changed (and after
 * every renewal while leading: that extends the supervisor's deadline). */
static void report(struct elector *e, bool renewed)
{
    bool leader = e->e_ls.ls_leader;
    const char *holder = lease_holder(&e->e_ls);
    char line[REPORT_HOLDER_MAX + 64];
    if (!renewed && e->e_reported_once && leader == e->e_was_leader &&
        strcmp(holder, e->e_reported) == 0)
        return;
    int64_t left = lease_write_left(&e->e_ls, util_mono_ms()) - REPORT_MARGIN_MS;
    if (leader && left > 0)
        snprintf(line, sizeof(line), "LEADER %lld %.*s\n", (long long)left, REPORT_HOLDER_MAX,
                 holder);
    else
        snprintf(line, sizeof(line), "FOLLOWER %.*s\n", REPORT_HOLDER_MAX,
                 holder[0] != '\0' ? holder : "-");
    int rc = role_report(line);
    if (rc != 0)
        log_error("cannot tell the supervisor", "error", strerror(-rc), NULL);
    if (leader != e->e_was_leader || !e->e_reported_once) {
        metrics_gauge_set(e->e_gauge, leader ? 1.0 : 0.0);
        if (e->e_reported_once)
            metrics_counter_add(e->e_trans, 1.0);
    }
    if (!e->e_reported_once || strcmp(holder, e->e_reported) != 0)
        log_info("lease holder", "holder", holder[0] != '\0' ? holder : "(none)", "identity",
                 e->e_ls.ls_id, NULL);
    e->e_was_leader = leader;
    e->e_reported_once = true;
    util_strlcpy(e->e_reported, holder, sizeof(e->e_reported));
    pthread_mutex_lock(&e->e_mu);
    util_strlcpy(e->e_holder_copy, holder, sizeof(e->e_holder_copy));
    e->e_leader_copy = leader;
    pthread_mutex_unlock(&e->e_mu);
}

/* A LeaderElection Event about the Lease, as client-go's: only while we hold it. */
static void event(struct elector *e, const char *what)
{
    struct ev_object o = {.api_version = "coordination.k8s.io/v1",
                          .kind = "Lease",
                          .ns = e->e_cfg.namespace,
                          .name = e->e_cfg.lease_name,
                          .uid = e->e_ls.ls_seen.lr_uid};
    ev_emitf(e->e_ev, &o, EV_NORMAL, "LeaderElection", "%s %s", e->e_ls.ls_id, what);
}

static void log_failure(struct elector *e, const char *what, const struct kube_err *ke, int rc)
{
    if (e->e_failures++ % 10 != 0)
        return;
    log_warn(what, "error", ke->message[0] != '\0' ? ke->message : strerror(-rc), "lease",
             e->e_cfg.lease_name, NULL);
}

static struct kube_ref lease_ref(const struct elector *e)
{
    return (struct kube_ref){.gv = "coordination.k8s.io/v1",
                             .plural = "leases",
                             .ns = e->e_cfg.namespace,
                             .name = e->e_cfg.lease_name};
}

/* Creates or updates the Lease holding it. 0 when we hold it now. */
static int write_lease(struct elector *e, enum lease_act act)
{
    struct kube_ref ref = lease_ref(e);
    struct kube_err ke;
    struct json_object *body = lease_build(&e->e_ls, ref.ns, ref.name, util_wall_ms()), *out = NULL;
    struct lease_rec rec;
    int64_t sent = util_mono_ms();
    int rc = body == NULL              ? -ENOMEM
             : act == LEASE_ACT_CREATE ? kube_create(e->e_kc, &ref, body, &out, &ke)
                                       : kube_update(e->e_kc, &ref, body, &out, &ke);
    json_object_put(body);
    if (rc == 0 && out != NULL && lease_parse(out, &rec) == 0) {
        lease_write_ok(&e->e_ls, &rec, sent, util_mono_ms());
        e->e_failures = 0;
    } else if (rc == -ESTALE || rc == -EEXIST || rc == -ENOENT) {
        lease_write_conflict(&e->e_ls); /* another replica wrote first */
        rc = rc != 0 ? rc : -EPROTO;
    } else {
        log_failure(e, "cannot write the Lease", &ke, rc != 0 ? rc : -EPROTO);
        rc = rc != 0 ? rc : -EPROTO;
    }
    json_object_put(out);
    return rc;
}

/* A follower's try: read the Lease, and take it when free or expired. */
static void try_acquire(struct elector *e)
{
    struct kube_ref ref = lease_ref(e);
    struct kube_err ke;
    struct json_object *obj = NULL;
    struct lease_rec cur = {.lr_exists = false};
    int rc = kube_get(e->e_kc, &ref, &obj, &ke);
    if (rc == 0 && (obj == NULL || lease_parse(obj, &cur) != 0))
        rc = -EPROTO;
    json_object_put(obj);
    if (rc != 0 && rc != -ENOENT) {
        log_failure(e, "cannot read the Lease", &ke, rc);
        return;
    }
    enum lease_act act = lease_observe(&e->e_ls, &cur, util_mono_ms());
    report(e, false);
    if (act == LEASE_ACT_WAIT) {
        int64_t exp = lease_expires_at(&e->e_ls);
        if (exp > 0 && exp < e->e_next_ms)
            e->e_next_ms = exp;
        return;
    }
    if (write_lease(e, act) == 0) {
        report(e, true);
        log_info("became leader", "identity", e->e_ls.ls_id, "lease", e->e_cfg.lease_name, NULL);
        event(e, "became leader");
    } else {
        e->e_next_ms = util_mono_ms(); /* read again at once: who has it? */
    }
}

/* A leader's renewal: an update from the record we wrote (no GET), as client-go. */
static void renew(struct elector *e)
{
    if (write_lease(e, LEASE_ACT_UPDATE) == 0) {
        report(e, true);
        return;
    }
    if (!e->e_ls.ls_leader) {
        log_warn("lost the Lease (another replica updated it)", "lease", e->e_cfg.lease_name, NULL);
        report(e, false);
    }
}

static void attempt(struct elector *e)
{
    if (e->e_ls.ls_leader)
        renew(e);
    else
        try_acquire(e);
}

/* On SIGTERM with the supervisor alive (which stopped our writers first): give the
 * Lease back so that the next replica takes over within one retry period. */
static void release(struct elector *e)
{
    struct kube_ref ref = lease_ref(e);
    struct kube_err ke;
    struct lease_rec rec;
    if (!e->e_ls.ls_leader)
        return;
    event(e, "stopped leading");
    struct json_object *body = lease_build_release(&e->e_ls, ref.ns, ref.name, util_wall_ms());
    struct json_object *out = NULL;
    int rc = body == NULL ? -ENOMEM : kube_update(e->e_kc, &ref, body, &out, &ke);
    json_object_put(body);
    if (rc == 0 && out != NULL && lease_parse(out, &rec) == 0) {
        lease_released(&e->e_ls, &rec, util_mono_ms());
        log_info("released the Lease", "lease", e->e_cfg.lease_name, NULL);
    } else {
        log_warn("cannot release the Lease; it expires by itself", "error",
                 ke.message[0] != '\0' ? ke.message : strerror(rc != 0 ? -rc : EPROTO), NULL);
    }
    json_object_put(out);
}

static int wait_ms(const struct elector *e)
{
    int64_t now = util_mono_ms(), w = e->e_next_ms - now;
    if (e->e_ls.ls_leader && e->e_ls.ls_fence_ms - now < w)
        w = e->e_ls.ls_fence_ms - now;
    if (w > 1000)
        w = 1000; /* the heartbeat */
    return w < 0 ? 0 : (int)w;
}

static int run(struct elector *e)
{
    for (;;) {
        ctl_heartbeat(e->e_ctl);
        if (lease_check_fence(&e->e_ls, util_mono_ms())) {
            log_warn("renew deadline passed without a renewal: stopped writing", "lease",
                     e->e_cfg.lease_name, NULL);
            report(e, false);
        }
        if (util_mono_ms() >= e->e_next_ms) {
            e->e_next_ms = util_mono_ms() + e->e_ls.ls_t.lt_retry_ms;
            attempt(e);
        }
        int rc = role_poll(-1, wait_ms(e));
        if (rc == ROLE_POLL_STOP && getppid() == e->e_ppid)
            release(e);
        if (rc != ROLE_POLL_GO_ON)
            return rc;
    }
}

static int setup(struct elector *e)
{
    const struct cfg *c = &e->e_cfg;
    /* A request may not outlast half the renew deadline: a stuck one must leave
     * time for another attempt. */
    long timeout = (long)c->renew_deadline_s * 500;
    struct kube_client_opts ko = {
        .request_timeout_ms = timeout, .connect_timeout_ms = timeout, .max_attempts = 1};
    char err[512] = "", id[LEASE_ID_MAX], instance[128], host[64] = "";
    int rc = ctl_open("elector", c, &e->e_ctl);
    if (rc != 0) {
        log_error("control socket unusable", "error", strerror(-rc), NULL);
        return rc == -EADDRINUSE ? 1 : EX_CONFIG;
    }
    struct metrics *m = ctl_metrics(e->e_ctl);
    if (metrics_gauge_new(m, "omjob_leader",
                          "1 while this replica holds the leader-election Lease (its roles that "
                          "write run), else 0.",
                          NULL, 0, &e->e_gauge) != 0 ||
        metrics_counter_new(m, "omjob_leader_transitions_total",
                            "Changes of this replica's leadership (became or stopped leading).",
                            NULL, 0, &e->e_trans) != 0)
        return 1;
    ctl_set_status_fn(e->e_ctl, status_fields, e);
    if ((rc = kclient_new(c, e->e_ctl, &ko, &e->e_kc, err, sizeof(err))) != 0) {
        log_error("no API client", "error", err[0] ? err : strerror(-rc), NULL);
        return rc == -ENOMEM ? 1 : EX_CONFIG;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(instance, sizeof(instance), "elector@%s", host[0] ? host : "unknown");
    if (ev_recorder_new(e->e_kc, "omjob-operator", instance, 64, &e->e_ev) != 0)
        return 1;
    make_identity(id, sizeof(id));
    lease_init(&e->e_ls, id,
               (struct lease_timing){.lt_duration_ms = (int64_t)c->lease_duration_s * 1000,
                                     .lt_deadline_ms = (int64_t)c->renew_deadline_s * 1000,
                                     .lt_retry_ms = (int64_t)c->retry_period_s * 1000});
    e->e_ppid = getppid();
    e->e_next_ms = util_mono_ms();
    return 0;
}

int elector(int argc, char **argv)
{
    static struct elector e = {.e_mu = PTHREAD_MUTEX_INITIALIZER};
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator elector: unexpected argument '%s' (the elector takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("elector");
    cfg_load_or_exit(&e.e_cfg);
    int rc = setup(&e);
    if (rc == 0) {
        log_info("elector started", "identity", e.e_ls.ls_id, "lease", e.e_cfg.lease_name,
                 "namespace", e.e_cfg.namespace, NULL);
        ctl_set_ready(e.e_ctl, true);
        /* READY on the pipe, which stays open for the leadership reports. */
        if (role_report("READY\n") != 0)
            log_warn("could not tell the supervisor we are ready", NULL);
        report(&e, false);
        rc = run(&e);
    }
    ipc_stop_accepting();
    ev_recorder_free(e.e_ev);
    kube_client_free(e.e_kc);
    ctl_close(e.e_ctl);
    ipc_fini();
    role_fini();
    cfg_free(&e.e_cfg);
    return rc;
}

/* The httpd role: /health(z), /ready(z) and /info on HEALTH_CHECK_PORT, /metrics on
 * METRICS_PORT (and on HEALTH_CHECK_PORT), answered from the supervisor's status
 * file and every role's control socket, asked in parallel under a deadline. */
#include "roles/httpd/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "roles/httpd/gather.h"
#include "roles/httpd/health.h"
#include "lib/ipc/ipc.h"
#include "runtime/ctl.h"
#include "runtime/role.h"
#include "runtime/rundir.h"
#include "lib/common/version.h"

/* How long a probe or a scrape waits for the roles, all asked at once. */
#define HTTPD_DEADLINE_MS 500
#define HTTPD_BIND_ENV "OMJOB_HTTP_BIND_ADDRESS"
#define HTTPD_THREADS 2
#define HTTPD_STACK (256 * 1024)
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_JSON "application/json"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct httpd_ctx {
    const struct cfg *x_cfg;
    struct ctl *x_ctl;
    struct httpd_gather *x_gather;
    pthread_mutex_t x_mu; /* guards x_track */
    struct httpd_track x_track;
};

/* One listening port: metrics_only when it is METRICS_PORT alone. */
struct httpd_listener {
    struct httpd_ctx *l_ctx;
    bool l_metrics_only;
    struct MHD_Daemon *l_d;
};

struct httpd_answer {
    unsigned a_code;
    const char *a_type;
    char *a_body; /* malloc'd */
    size_t a_len;
};

/* ---- the facts: status file, supervisor, roles ---- */

static bool supervisor_alive(long pid)
{
    if (role_supervised())
        return (long)getppid() == pid;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* A disabled role is asked only when someone runs it by hand, that is when its
 * socket file is there: otherwise every probe would wait out the deadline. */
static bool socket_exists(struct httpd_ctx *x, const char *role)
{
    char url[IPC_URL_MAX];
    struct stat st;
    return ipc_endpoint_url(url, sizeof(url), x->x_cfg->run_dir, IPC_EP_CTL, role) == 0 &&
           stat(url + strlen("ipc://"), &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Asks every role that should be asked for type; q[i] matches status row i, with
 * hq_role NULL for rows not asked. q has s->hs_n entries. */
static void ask_roles(struct httpd_ctx *x, const struct httpd_status *s, enum ipc_type type,
                      struct httpd_query *q)
{
    struct httpd_query *asked = calloc((size_t)s->hs_n + 1, sizeof(*asked));
    size_t n = 0;
    for (int i = 0; i < s->hs_n; i++)
        q[i] = (struct httpd_query){.hq_rc = -ENOENT};
    if (asked == NULL)
        return;
    for (int i = 0; i < s->hs_n; i++)
        if (httpd_should_ask(&s->hs_roles[i], ctl_role(x->x_ctl)) &&
            (!s->hs_roles[i].hr_disabled || socket_exists(x, s->hs_roles[i].hr_name)))
            asked[n++] = (struct httpd_query){.hq_role = s->hs_roles[i].hr_name,
                                              .hq_type = type,
                                              .hq_pid = s->hs_roles[i].hr_pid};
    httpd_gather_call(x->x_gather, asked, n, HTTPD_DEADLINE_MS);
    for (int i = 0, k = 0; i < s->hs_n && (size_t)k < n; i++)
        if (asked[k].hq_role == s->hs_roles[i].hr_name)
            q[i] = asked[k++];
    free(asked);
}

static void free_queries(struct httpd_query *q, int n)
{
    for (int i = 0; q != NULL && i < n; i++)
        ipc_msg_free(q[i].hq_reply);
    free(q);
}

/* ---- /health and /ready ---- */

static void to_replies(const struct httpd_query *q, int n, struct httpd_reply *r)
{
    for (int i = 0; i < n; i++) {
        r[i] = (struct httpd_reply){.hp_asked = q[i].hq_role != NULL, .hp_err = q[i].hq_rc};
        if (q[i].hq_rc == 0 &&
            (q[i].hq_reply->type != IPC_CTL_HEALTH_REPLY ||
             httpd_health_parse(q[i].hq_reply->body, q[i].hq_reply->body_len, &r[i]) != 0))
            r[i].hp_err = -EBADMSG;
    }
}

static void recent_restarts(struct httpd_ctx *x, const struct httpd_status *s, int *recent)
{
    int64_t now = util_mono_ms();
    pthread_mutex_lock(&x->x_mu);
    if (httpd_track_update(&x->x_track, s, now) != 0)
        log_warn("cannot track restarts: out of memory", NULL);
    for (int i = 0; i < s->hs_n; i++)
        recent[i] = httpd_track_recent(&x->x_track, s->hs_roles[i].hr_name, now);
    pthread_mutex_unlock(&x->x_mu);
}

static void answer_probe(struct httpd_ctx *x, enum httpd_probe probe, struct httpd_answer *a)
{
    struct httpd_status s = {0};
    struct sbuf body = {0};
    struct httpd_facts f = {.hf_self = ctl_role(x->x_ctl), .hf_deadline_ms = HTTPD_DEADLINE_MS};
    int err = httpd_status_read(x->x_cfg->run_dir, &s);
    struct httpd_query *q = err == 0 ? calloc((size_t)s.hs_n + 1, sizeof(*q)) : NULL;
    struct httpd_reply *r = err == 0 ? calloc((size_t)s.hs_n + 1, sizeof(*r)) : NULL;
    int *recent = err == 0 ? calloc((size_t)s.hs_n + 1, sizeof(*recent)) : NULL;
    if (err == 0 && (q == NULL || r == NULL || recent == NULL))
        err = -ENOMEM;
    if (err == 0) {
        ask_roles(x, &s, IPC_CTL_HEALTH, q);
        to_replies(q, s.hs_n, r);
        recent_restarts(x, &s, recent);
        f.hf_status = &s;
        f.hf_sup_alive = supervisor_alive(s.hs_pid);
        f.hf_replies = r;
        f.hf_recent_restarts = recent;
    }
    f.hf_status_err = err;
    bool ok = httpd_decide(probe, &f, &body);
    a->a_code = ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    a->a_type = CT_TEXT;
    a->a_body = sbuf_detach(&body, &a->a_len);
    if (!ok)
        log_warn(probe == HTTPD_LIVE ? "liveness probe failed" : "readiness probe failed", "why",
                 a->a_body != NULL ? a->a_body : "", NULL);
    free_queries(q, err == 0 ? s.hs_n : 0);
    free(r);
    free(recent);
    httpd_status_free(&s);
}

/* ---- /metrics ---- */

/* httpd's own exposition: its registry and its process metrics. */
static char *render_self(struct httpd_ctx *x)
{
    struct sbuf sb = {0};
    struct ctl_proc p;
    char *reg = NULL;
    size_t len = 0;
    if (metrics_render(ctl_metrics(x->x_ctl), &reg, &len) == 0)
        sbuf_append(&sb, reg, len);
    free(reg);
    if (ctl_proc_read(&p) == 0)
        ctl_proc_render(&p, ctl_role(x->x_ctl), &sb);
    return sbuf_detach(&sb, NULL);
}

static void answer_metrics(struct httpd_ctx *x, struct httpd_answer *a)
{
    struct httpd_status s = {0};
    struct sbuf restarts = {0};
    int err = httpd_status_read(x->x_cfg->run_dir, &s);
    int n = err == 0 ? s.hs_n : 0;
    struct httpd_query *q = calloc((size_t)n + 1, sizeof(*q));
    char **texts = calloc((size_t)n + 2, sizeof(*texts));
    char *out = NULL;
    a->a_code = MHD_HTTP_INTERNAL_SERVER_ERROR;
    a->a_type = CT_TEXT;
    if (q == NULL || texts == NULL)
        goto out;
    if (n > 0)
        ask_roles(x, &s, IPC_CTL_METRICS, q);
    for (int i = 0; i < n; i++) {
        if (q[i].hq_rc == 0 && q[i].hq_reply->type == IPC_CTL_METRICS_REPLY)
            texts[i] = strndup((const char *)q[i].hq_reply->body, q[i].hq_reply->body_len);
        else if (q[i].hq_role != NULL && !s.hs_roles[i].hr_disabled)
            log_warn("no metrics from a role", "target", q[i].hq_role, "error",
                     strerror(q[i].hq_rc < 0 ? -q[i].hq_rc : EPROTO), NULL);
    }
    texts[n] = render_self(x);
    httpd_render_restarts(err == 0 ? &s : NULL, &restarts);
    texts[n + 1] = sbuf_detach(&restarts, NULL);
    if (metrics_merge((const char *const *)texts, (size_t)n + 2, &out) < 0)
        goto out;
    a->a_code = MHD_HTTP_OK;
    a->a_type = CT_METRICS;
    a->a_body = out;
    a->a_len = strlen(out);
out:
    for (int i = 0; texts != NULL && i < n + 2; i++)
        free(texts[i]);
    free(texts);
    free_queries(q, n);
    httpd_status_free(&s);
}

/* ---- /info ---- */

static void add_time(struct json_object *o, const char *key, int64_t unix_ms)
{
    char ts[UTIL_RFC3339_MAX];
    if (unix_ms > 0 && util_rfc3339_format(unix_ms * 1000000, 3, ts, sizeof(ts)) == 0)
        json_object_object_add(o, key, json_object_new_string(ts));
    else
        json_object_object_add(o, key, NULL);
}

static struct json_object *info_role(const struct httpd_role *r, int64_t now)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(r->hr_name));
    json_object_object_add(o, "pid", r->hr_pid > 0 ? json_object_new_int64(r->hr_pid) : NULL);
    json_object_object_add(o, "state", json_object_new_string(role_state_str(r->hr_state)));
    json_object_object_add(o, "restarts", json_object_new_int64(r->hr_restarts));
    json_object_object_add(o, "disabled", json_object_new_boolean(r->hr_disabled));
    add_time(o, "startedAt", r->hr_pid > 0 ? r->hr_started_ms : 0);
    json_object_object_add(
        o, "uptimeSeconds",
        r->hr_pid > 0 ? json_object_new_double((double)(now - r->hr_started_ms) / 1000.0) : NULL);
    return o;
}

static struct json_object *info_supervisor(const struct httpd_status *s, int err, int64_t now)
{
    struct json_object *o = json_object_new_object();
    if (err != 0) {
        json_object_object_add(o, "error", json_object_new_string(strerror(-err)));
        return o;
    }
    json_object_object_add(o, "pid", json_object_new_int64(s->hs_pid));
    json_object_object_add(o, "alive", json_object_new_boolean(supervisor_alive(s->hs_pid)));
    json_object_object_add(o, "ready", json_object_new_boolean(s->hs_ready));
    json_object_object_add(o, "stopping", json_object_new_boolean(s->hs_stopping));
    add_time(o, "startedAt", s->hs_started_ms);
    json_object_object_add(o, "uptimeSeconds",
                           json_object_new_double((double)(now - s->hs_started_ms) / 1000.0));
    return o;
}

/* null without LEADER_ELECTION. */
static struct json_object *info_leader(const struct httpd_status *s, int err)
{
    if (err != 0 || !s->hs_election)
        return NULL;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "holder",
                           s->hs_holder[0] != '\0' ? json_object_new_string(s->hs_holder) : NULL);
    json_object_object_add(o, "leader", json_object_new_boolean(s->hs_leading));
    return o;
}

/* The watcher's report on the installed CRDs (which of our fields they prune),
 * or null before it is written. */
static struct json_object *crd_report(const char *run_dir)
{
    char path[512];
    if (rundir_path(path, sizeof(path), run_dir, RUNDIR_CRD_REPORT) != 0 || access(path, R_OK) != 0)
        return NULL;
    return json_object_from_file(path);
}

static void answer_info(struct httpd_ctx *x, struct httpd_answer *a)
{
    struct httpd_status s = {0};
    int err = httpd_status_read(x->x_cfg->run_dir, &s);
    int64_t now = util_wall_ms();
    struct json_object *o = json_object_new_object(), *roles = json_object_new_array();
    struct json_object *conf = cfg_to_json(x->x_cfg);
    const char *bind = getenv(HTTPD_BIND_ENV);
    json_object_object_add(o, "version", json_object_new_string(OMJOB_VERSION));
    json_object_object_add(o, "build", json_object_new_string(OMJOB_BUILD));
    if (conf != NULL)
        json_object_object_add(conf, HTTPD_BIND_ENV,
                               bind != NULL && bind[0] != '\0' ? json_object_new_string(bind)
                                                               : NULL);
    json_object_object_add(o, "config", conf);
    json_object_object_add(o, "supervisor", info_supervisor(&s, err, now));
    for (int i = 0; err == 0 && i < s.hs_n; i++)
        json_object_array_add(roles, info_role(&s.hs_roles[i], now));
    json_object_object_add(o, "roles", roles);
    json_object_object_add(o, "leaderElection", info_leader(&s, err));
    json_object_object_add(o, "crds", crd_report(x->x_cfg->run_dir));
    const char *txt =
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    a->a_body = txt != NULL ? strdup(txt) : NULL;
    a->a_len = a->a_body != NULL ? strlen(a->a_body) : 0;
    a->a_code = a->a_body != NULL ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
    a->a_type = CT_JSON;
    json_object_put(o);
    httpd_status_free(&s);
}

/* ---- HTTP ---- */

static void answer_text(struct httpd_answer *a, unsigned code, const char *text)
{
    a->a_code = code;
    a->a_type = CT_TEXT;
    a->a_body = strdup(text);
    a->a_len = a->a_body != NULL ? strlen(text) : 0;
}

static void dispatch(struct httpd_ctx *x, enum httpd_route r, struct httpd_answer *a)
{
    switch (r) {
    case HTTPD_R_HEALTH:
        answer_probe(x, HTTPD_LIVE, a);
        break;
    case HTTPD_R_READY:
        answer_probe(x, HTTPD_READY, a);
        break;
    case HTTPD_R_INFO:
        answer_info(x, a);
        break;
    case HTTPD_R_METRICS:
        answer_metrics(x, a);
        break;
    case HTTPD_R_NOT_FOUND:
        answer_text(a, MHD_HTTP_NOT_FOUND, "not found\n");
        break;
    case HTTPD_R_BAD_METHOD:
        answer_text(a, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET or HEAD\n");
        break;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct httpd_listener *l = cls;
    struct httpd_answer a = {0};
    enum httpd_route r = httpd_route(method, url, l->l_metrics_only);
    dispatch(l->l_ctx, r, &a);
    if (a.a_body == NULL) {
        a.a_code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        a.a_len = 0;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        a.a_len, a.a_body != NULL ? a.a_body : (char *)"",
        a.a_body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(a.a_body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            a.a_type != NULL ? a.a_type : CT_TEXT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r == HTTPD_R_BAD_METHOD)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, a.a_code, resp);
    MHD_destroy_response(resp);
    return ret;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_warn("libmicrohttpd", "detail", buf, NULL);
}

/* The bind address from HTTPD_BIND_ENV into ss: 0 with *len (0 when unset: all
 * interfaces), or -EINVAL. */
static int bind_address(int port, struct sockaddr_storage *ss, bool *v6, bool *any)
{
    const char *v = getenv(HTTPD_BIND_ENV);
    memset(ss, 0, sizeof(*ss));
    *any = v == NULL || v[0] == '\0';
    *v6 = false;
    if (*any)
        return 0;
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, v, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, v, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        return 0;
    }
    return -EINVAL;
}

static struct MHD_Daemon *start_one(struct httpd_listener *l, int port, unsigned extra,
                                    const struct sockaddr *sa)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | extra;
    return MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTPD_THREADS, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)HTTPD_STACK, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        1u, sa != NULL ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, sa, MHD_OPTION_END);
}

/* Listens on port: 0, -EINVAL (bad bind address) or -EADDRNOTAVAIL (MHD failed;
 * it logged why). */
static int listen_on(struct httpd_listener *l, int port)
{
    struct sockaddr_storage ss;
    bool v6, any;
    if (bind_address(port, &ss, &v6, &any) != 0)
        return -EINVAL;
    if (any) {
        l->l_d = start_one(l, port, MHD_USE_DUAL_STACK, NULL);
        if (l->l_d == NULL) /* no IPv6 here */
            l->l_d = start_one(l, port, 0, NULL);
    } else {
        l->l_d = start_one(l, port, v6 ? MHD_USE_IPv6 : 0, (const struct sockaddr *)&ss);
    }
    return l->l_d != NULL ? 0 : -EADDRNOTAVAIL;
}

static int serve(struct httpd_ctx *x, struct httpd_listener *ls, int *nls)
{
    const struct cfg *c = x->x_cfg;
    char ports[32];
    int rc;
    *nls = 0;
    ls[0] = (struct httpd_listener){.l_ctx = x};
    if ((rc = listen_on(&ls[0], c->health_port)) != 0)
        return rc;
    *nls = 1;
    if (c->metrics_port != c->health_port) {
        ls[1] = (struct httpd_listener){.l_ctx = x, .l_metrics_only = true};
        if ((rc = listen_on(&ls[1], c->metrics_port)) != 0)
            return rc;
        *nls = 2;
    }
    snprintf(ports, sizeof(ports), "%d,%d", c->health_port, c->metrics_port);
    log_info("listening", "ports", ports, "bind", getenv(HTTPD_BIND_ENV), NULL);
    return 0;
}

static int run(struct httpd_ctx *x)
{
    struct httpd_listener ls[2];
    int nls = 0, rc = serve(x, ls, &nls);
    if (rc == -EINVAL) {
        log_error("bad " HTTPD_BIND_ENV ": expected an IPv4 or IPv6 address", "value",
                  getenv(HTTPD_BIND_ENV), NULL);
        fprintf(stderr, "omjob-operator httpd: bad %s=\"%s\": expected an IPv4 or IPv6 address\n",
                HTTPD_BIND_ENV, getenv(HTTPD_BIND_ENV));
        rc = EX_CONFIG;
    } else if (rc != 0) {
        log_error("cannot listen (port in use?)", NULL);
        rc = 1;
    } else {
        ctl_set_ready(x->x_ctl, true);
        role_ready();
        rc = ctl_wait_stop(x->x_ctl);
    }
    for (int i = 0; i < nls; i++)
        MHD_stop_daemon(ls[i].l_d);
    return rc;
}

int httpd(int argc, char **argv)
{
    struct cfg c;
    struct httpd_ctx x = {.x_cfg = &c};
    int rc;
    if (argc > 1) {
        fprintf(stderr, "omjob-operator httpd: unexpected argument '%s' (the httpd takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("httpd");
    cfg_load_or_exit(&c);
    pthread_mutex_init(&x.x_mu, NULL);
    if ((rc = ctl_open("httpd", &c, &x.x_ctl)) != 0 ||
        (rc = httpd_gather_new(c.run_dir, &x.x_gather)) != 0) {
        log_error("cannot start", "error", strerror(-rc), NULL);
        rc = 1;
    } else {
        rc = run(&x);
    }
    ipc_stop_accepting();
    httpd_gather_free(x.x_gather);
    ctl_close(x.x_ctl);
    ipc_fini();
    httpd_track_free(&x.x_track);
    pthread_mutex_destroy(&x.x_mu);
    role_fini();
    cfg_free(&c);
    return rc;
}

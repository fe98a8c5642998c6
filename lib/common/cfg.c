/* Configuration from the environment: defaults, validation with messages that
 * name the variable, the bad value and the accepted form, and the /info view. */
#include "lib/common/cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/common/util.h"

#define NS_FORM "a namespace name (DNS-1123 label: a-z, 0-9 and '-', at most 63 characters)"

/* Integer variables: one row each, so defaults and bounds live in one place. */
struct int_var {
    const char *name;
    size_t off;
    int def, min, max;
};

#define DAY 86400
static const struct int_var int_vars[] = {
    {"RECONCILIATION_THREADS", offsetof(struct cfg, reconcile_threads), 5, 1, CFG_THREADS_MAX},
    {"HEALTH_CHECK_PORT", offsetof(struct cfg, health_port), 8080, 1, 65535},
    {"METRICS_PORT", offsetof(struct cfg, metrics_port), 8081, 1, 65535},
    {"KUBE_BURST", offsetof(struct cfg, kube_burst), 100, 1, 100000},
    {"OMJOB_START_TIMEOUT_SECONDS", offsetof(struct cfg, start_timeout_s), 600, 1, 30 * DAY},
    {"OMJOB_NODE_LOST_TIMEOUT_SECONDS", offsetof(struct cfg, node_lost_timeout_s), 300, 1,
     30 * DAY},
    {"OMJOB_CANCEL_DEADLINE_SECONDS", offsetof(struct cfg, cancel_deadline_s), 900, 1, 30 * DAY},
    {"OMJOB_EXIT_HANDLER_MAX_ATTEMPTS", offsetof(struct cfg, exit_handler_max_attempts), 3, 1, 100},
    {"OMJOB_RESYNC_SECONDS", offsetof(struct cfg, resync_s), 300, 1, DAY},
    {"OMJOB_MAX_OBJECT_BYTES", offsetof(struct cfg, max_object_bytes), CFG_MAX_OBJECT_DEFAULT,
     CFG_MAX_OBJECT_MIN, CFG_MAX_OBJECT_MAX},
    {"OMJOB_ROLE_GRACE_SECONDS", offsetof(struct cfg, role_grace_s), 20, 1, CFG_ROLE_GRACE_MAX},
    {"OMJOB_NNG_CPUS", offsetof(struct cfg, nng_cpus), 1, 0, 64},
    {"LEADER_ELECTION_LEASE_DURATION_SECONDS", offsetof(struct cfg, lease_duration_s), 15, 1, DAY},
    {"LEADER_ELECTION_RENEW_DEADLINE_SECONDS", offsetof(struct cfg, renew_deadline_s), 10, 1, DAY},
    {"LEADER_ELECTION_RETRY_PERIOD_SECONDS", offsetof(struct cfg, retry_period_s), 2, 1, DAY},
};

#define KUBE_QPS_MAX 100000.0

/* Error messages, accumulated so that one run reports every bad variable. */
struct errs {
    struct sbuf sb;
    int n;
};

/* The value as shown in a message: quoted, control bytes escaped, long values cut. */
static void put_value(struct sbuf *sb, const char *v)
{
    sbuf_putc(sb, '"');
    size_t i = 0;
    for (; v[i] != '\0' && i < 64; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\')
            sbuf_appendf(sb, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            sbuf_appendf(sb, "\\x%02x", c);
        else
            sbuf_putc(sb, (char)c);
    }
    if (v[i] != '\0')
        sbuf_puts(sb, "...");
    sbuf_putc(sb, '"');
}

static void bad(struct errs *e, const char *name, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bad(struct errs *e, const char *name, const char *value, const char *fmt, ...)
{
    if (e->n++ > 0)
        sbuf_puts(&e->sb, "; ");
    sbuf_puts(&e->sb, name);
    sbuf_putc(&e->sb, '=');
    put_value(&e->sb, value);
    sbuf_puts(&e->sb, ": ");
    va_list ap;
    va_start(ap, fmt);
    sbuf_vappendf(&e->sb, fmt, ap);
    va_end(ap);
}

/* getenv, with "" counting as unset (Helm and kubectl often render empty values). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static void load_ints(struct cfg *c, struct errs *e)
{
    for (size_t i = 0; i < sizeof(int_vars) / sizeof(int_vars[0]); i++) {
        const struct int_var *iv = &int_vars[i];
        int *dst = (int *)(void *)((char *)c + iv->off);
        const char *v = env(iv->name);
        long long n = iv->def;
        if (v != NULL && util_parse_i64(v, iv->min, iv->max, &n) != 0)
            bad(e, iv->name, v, "expected an integer from %d to %d", iv->min, iv->max);
        *dst = (int)n;
    }
}

static int dup_str(char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst != NULL ? 0 : -ENOMEM;
}

static int load_namespace(struct cfg *c, struct errs *e)
{
    const char *v = env("OPERATOR_NAMESPACE");
    if (v != NULL && !util_dns1123_label_valid(v)) {
        bad(e, "OPERATOR_NAMESPACE", v, "expected " NS_FORM);
        v = NULL;
    }
    return dup_str(&c->namespace, v != NULL ? v : "default");
}

static void load_log(struct cfg *c, struct errs *e)
{
    const char *v = env("LOG_LEVEL");
    c->log_level = LOG_LVL_INFO;
    if (v != NULL && log_level_parse(v, &c->log_level) != 0)
        bad(e, "LOG_LEVEL", v, "expected one of DEBUG, INFO, WARN, ERROR");
    v = env("LOG_FORMAT");
    c->log_format = LOG_FMT_JSON;
    if (v != NULL && strcasecmp(v, "text") == 0)
        c->log_format = LOG_FMT_TEXT;
    else if (v != NULL && strcasecmp(v, "json") != 0)
        bad(e, "LOG_FORMAT", v, "expected json or text");
}

static bool ns_listed(const struct cfg *c, const char *ns, size_t n)
{
    for (size_t i = 0; i < c->n_watch_namespaces; i++)
        if (strlen(c->watch_namespaces[i]) == n && memcmp(c->watch_namespaces[i], ns, n) == 0)
            return true;
    return false;
}

static int add_ns(struct cfg *c, const char *ns, size_t n)
{
    if (ns_listed(c, ns, n))
        return 0;
    char **nv = realloc(c->watch_namespaces, (c->n_watch_namespaces + 1) * sizeof(*nv));
    if (nv == NULL)
        return -ENOMEM;
    c->watch_namespaces = nv;
    if ((nv[c->n_watch_namespaces] = strndup(ns, n)) == NULL)
        return -ENOMEM;
    c->n_watch_namespaces++;
    return 0;
}

/* Checks one trimmed list item; a reason for the message on error, else NULL. */
static const char *ns_item_problem(const char *item, size_t n, int idx, char *why, size_t whysz)
{
    char name[UTIL_K8S_LABEL_MAX + 2];
    if (n == 0) {
        snprintf(why, whysz, "item %d is empty", idx);
        return why;
    }
    if (n < sizeof(name)) {
        memcpy(name, item, n);
        name[n] = '\0';
        if (util_dns1123_label_valid(name))
            return NULL;
    }
    snprintf(why, whysz, "item %d \"%.*s\" is not a namespace name", idx, n > 64 ? 64 : (int)n,
             item);
    return why;
}

static int load_watch(struct cfg *c, struct errs *e)
{
    const char *v = env("WATCH_NAMESPACES");
    c->watch_all = true;
    if (v == NULL || strcasecmp(v, "ALL") == 0)
        return 0;
    c->watch_all = false;
    const char *p = v;
    for (int idx = 1;; idx++) {
        const char *comma = strchr(p, ',');
        const char *end = comma != NULL ? comma : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        char why[128];
        if (ns_item_problem(p, (size_t)(end - p), idx, why, sizeof(why)) != NULL) {
            bad(e, "WATCH_NAMESPACES", v,
                "expected ALL or a comma-separated list of namespace names (%s)", why);
            return 0;
        }
        if (add_ns(c, p, (size_t)(end - p)) != 0)
            return -ENOMEM;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static void load_qps(struct cfg *c, struct errs *e)
{
    const char *v = env("KUBE_QPS");
    c->kube_qps = 50.0;
    double q;
    if (v == NULL)
        return;
    if (util_parse_double(v, 0.0, KUBE_QPS_MAX, &q) != 0 || q <= 0.0)
        bad(e, "KUBE_QPS", v, "expected a number greater than 0 and at most %.0f, e.g. 50 or 12.5",
            KUBE_QPS_MAX);
    else
        c->kube_qps = q;
}

/* The default OMJOB_RUN_DIR: $XDG_RUNTIME_DIR/omjob-operator when XDG_RUNTIME_DIR
 * is absolute and the result fits, else /tmp/omjob-operator-<euid>: named by the
 * effective uid, the one that creates the directory and that runtime/rundir.c
 * requires to own it, so that processes of one identity share it and no other
 * identity's process picks a directory it would refuse. */
static int default_run_dir(char *buf, size_t bufsz)
{
    const char *x = env("XDG_RUNTIME_DIR");
    if (x != NULL && x[0] == '/') {
        int n = snprintf(buf, bufsz, "%s/omjob-operator", x);
        if (n > 0 && (size_t)n <= CFG_RUN_DIR_MAX)
            return 0;
    }
    snprintf(buf, bufsz, "/tmp/omjob-operator-%lu", (unsigned long)geteuid());
    return 0;
}

static int load_run_dir(struct cfg *c, struct errs *e)
{
    char buf[CFG_RUN_DIR_MAX + 64];
    const char *v = env("OMJOB_RUN_DIR");
    size_t n = v != NULL ? strlen(v) : 0;
    if (v != NULL && (v[0] != '/' || n > CFG_RUN_DIR_MAX)) {
        bad(e, "OMJOB_RUN_DIR", v, "expected an absolute path of at most %d bytes",
            CFG_RUN_DIR_MAX);
        v = NULL;
    }
    if (v == NULL) {
        default_run_dir(buf, sizeof(buf));
        return dup_str(&c->run_dir, buf);
    }
    while (n > 1 && v[n - 1] == '/') /* "/run/x/" and "/run/x" are one directory */
        n--;
    c->run_dir = strndup(v, n);
    return c->run_dir != NULL ? 0 : -ENOMEM;
}

/* A true|false (or 1|0) variable; def when unset. */
static bool load_bool(struct errs *e, const char *name, bool def)
{
    const char *v = env(name);
    if (v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0))
        return true;
    if (v != NULL && (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0))
        return false;
    if (v != NULL)
        bad(e, name, v, "expected true or false");
    return def;
}

static int load_leader(struct cfg *c, struct errs *e)
{
    c->leader_election = load_bool(e, "LEADER_ELECTION", false);
    const char *v = env("LEADER_ELECTION_LEASE_NAME");
    if (v != NULL && !util_dns1123_subdomain_valid(v)) {
        bad(e, "LEADER_ELECTION_LEASE_NAME", v,
            "expected a Lease name (DNS-1123 subdomain: a-z, 0-9, '-' and '.', at most 253 "
            "characters)");
        v = NULL;
    }
    /* client-go's rule: the leader gives up (renew deadline) before a follower may
     * take over (lease duration), and tries more than once before giving up. */
    if (c->lease_duration_s <= c->renew_deadline_s) {
        char d[16];
        snprintf(d, sizeof(d), "%d", c->lease_duration_s);
        bad(e, "LEADER_ELECTION_LEASE_DURATION_SECONDS", d,
            "expected more than LEADER_ELECTION_RENEW_DEADLINE_SECONDS (%d)", c->renew_deadline_s);
    } else if (c->renew_deadline_s * 10 <= c->retry_period_s * 12) {
        char d[16];
        snprintf(d, sizeof(d), "%d", c->renew_deadline_s);
        bad(e, "LEADER_ELECTION_RENEW_DEADLINE_SECONDS", d,
            "expected more than 1.2 x LEADER_ELECTION_RETRY_PERIOD_SECONDS (%d)",
            c->retry_period_s);
    }
    return dup_str(&c->lease_name, v != NULL ? v : "omjob-operator");
}

static int load_all(struct cfg *c, struct errs *e)
{
    load_ints(c, e);
    load_log(c, e);
    load_qps(c, e);
    c->sched_batch = load_bool(e, "OMJOB_SCHED_BATCH", true);
    if (load_namespace(c, e) != 0 || load_watch(c, e) != 0 || load_run_dir(c, e) != 0 ||
        load_leader(c, e) != 0)
        return -ENOMEM;
    const char *k = env("KUBECONFIG");
    if (k != NULL && (c->kubeconfig = strdup(k)) == NULL)
        return -ENOMEM;
    return 0;
}

int cfg_load(struct cfg *out, char *err, size_t errsz)
{
    struct cfg c;
    struct errs e = {.n = 0};
    memset(&c, 0, sizeof(c));
    sbuf_init(&e.sb);
    int rc = load_all(&c, &e);
    if (rc == 0 && e.n > 0)
        rc = -EINVAL;
    if (rc == 0 && e.sb.sb_err != 0)
        rc = e.sb.sb_err;
    if (err != NULL && errsz > 0)
        util_strlcpy(err, rc == -ENOMEM ? "out of memory" : sbuf_str(&e.sb), errsz);
    sbuf_free(&e.sb);
    if (rc != 0) {
        cfg_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

void cfg_load_or_exit(struct cfg *out)
{
    char err[2048];
    if (cfg_load(out, err, sizeof(err)) == 0)
        return;
    log_error("invalid configuration", "error", err, NULL);
    fprintf(stderr, "omjob-operator: invalid configuration: %s\n", err);
    exit(EX_CONFIG);
}

void cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    free(c->namespace);
    for (size_t i = 0; i < c->n_watch_namespaces; i++)
        free(c->watch_namespaces[i]);
    free(c->watch_namespaces);
    free(c->run_dir);
    free(c->lease_name);
    free(c->kubeconfig);
    memset(c, 0, sizeof(*c));
}

bool cfg_is_secret_name(const char *name)
{
    static const char *const words[] = {"TOKEN", "PASSWORD", "SECRET", "KEY"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasestr(name, words[i]) != NULL)
            return true;
    return false;
}

/* Adds name: val to o, redacting secrets; takes val. Counts failures in *nbad. */
static void put(struct json_object *o, const char *name, struct json_object *val, int *nbad)
{
    if (cfg_is_secret_name(name)) {
        json_object_put(val);
        val = json_object_new_string("<redacted>");
    }
    if (val == NULL || json_object_object_add(o, name, val) != 0) {
        json_object_put(val);
        (*nbad)++;
    }
}

/* A string member, null when s is NULL. */
static void put_str(struct json_object *o, const char *name, const char *s, int *nbad)
{
    if (s == NULL && !cfg_is_secret_name(name)) {
        if (json_object_object_add(o, name, NULL) != 0)
            (*nbad)++;
        return;
    }
    put(o, name, json_object_new_string(s != NULL ? s : ""), nbad);
}

static struct json_object *watch_json(const struct cfg *c)
{
    if (c->watch_all)
        return json_object_new_string("ALL");
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; a != NULL && i < c->n_watch_namespaces; i++) {
        struct json_object *s = json_object_new_string(c->watch_namespaces[i]);
        if (s == NULL || json_object_array_add(a, s) != 0) {
            json_object_put(s);
            json_object_put(a);
            a = NULL;
        }
    }
    return a;
}

struct json_object *cfg_to_json(const struct cfg *c)
{
    struct json_object *o = json_object_new_object();
    int nbad = 0;
    if (o == NULL || c == NULL)
        return o;
    put_str(o, "OPERATOR_NAMESPACE", c->namespace, &nbad);
    put(o, "LOG_LEVEL", json_object_new_string(log_level_str(c->log_level)), &nbad);
    put(o, "LOG_FORMAT", json_object_new_string(c->log_format == LOG_FMT_TEXT ? "text" : "json"),
        &nbad);
    put(o, "WATCH_NAMESPACES", watch_json(c), &nbad);
    put(o, "KUBE_QPS", json_object_new_double(c->kube_qps), &nbad);
    for (size_t i = 0; i < sizeof(int_vars) / sizeof(int_vars[0]); i++) {
        const int *v = (const int *)(const void *)((const char *)c + int_vars[i].off);
        put(o, int_vars[i].name, json_object_new_int(*v), &nbad);
    }
    put_str(o, "OMJOB_RUN_DIR", c->run_dir, &nbad);
    put(o, "LEADER_ELECTION", json_object_new_boolean(c->leader_election), &nbad);
    put(o, "OMJOB_SCHED_BATCH", json_object_new_boolean(c->sched_batch), &nbad);
    put_str(o, "LEADER_ELECTION_LEASE_NAME", c->lease_name, &nbad);
    put_str(o, "KUBECONFIG", c->kubeconfig, &nbad);
    if (nbad > 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

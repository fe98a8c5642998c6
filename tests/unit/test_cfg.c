/* Unit tests for common/cfg: defaults, every variable valid and invalid with the
 * exact error text, WATCH_NAMESPACES lists, the run directory and the /info JSON. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"

static const char *const all_vars[] = {
    "OPERATOR_NAMESPACE",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "RECONCILIATION_THREADS",
    "HEALTH_CHECK_PORT",
    "METRICS_PORT",
    "WATCH_NAMESPACES",
    "KUBE_QPS",
    "KUBE_BURST",
    "OMJOB_RUN_DIR",
    "OMJOB_START_TIMEOUT_SECONDS",
    "OMJOB_NODE_LOST_TIMEOUT_SECONDS",
    "OMJOB_CANCEL_DEADLINE_SECONDS",
    "OMJOB_EXIT_HANDLER_MAX_ATTEMPTS",
    "OMJOB_RESYNC_SECONDS",
    "OMJOB_ROLE_GRACE_SECONDS",
    "OMJOB_NNG_CPUS",
    "LEADER_ELECTION",
    "LEADER_ELECTION_LEASE_NAME",
    "LEADER_ELECTION_LEASE_DURATION_SECONDS",
    "LEADER_ELECTION_RENEW_DEADLINE_SECONDS",
    "LEADER_ELECTION_RETRY_PERIOD_SECONDS",
    "KUBECONFIG",
    "XDG_RUNTIME_DIR",
};

static int clear_env(void)
{
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
    return 0;
}

/* Loads with one variable set; expects failure with exactly msg. */
static void expect_bad(const char *name, const char *value, const char *msg)
{
    clear_env();
    setenv(name, value, 1);
    struct cfg c;
    memset(&c, 0xa5, sizeof(c));
    char err[512] = "";
    CU_ASSERT_EQUAL(cfg_load(&c, err, sizeof(err)), -EINVAL);
    if (strcmp(err, msg) != 0)
        fprintf(stderr, "\n  %s=%s:\n   got  %s\n   want %s\n", name, value, err, msg);
    CU_ASSERT_STRING_EQUAL(err, msg);
    /* Untouched on failure. */
    unsigned char *p = (unsigned char *)&c;
    size_t same = 0;
    while (same < sizeof(c) && p[same] == 0xa5)
        same++;
    CU_ASSERT_EQUAL(same, sizeof(c));
    unsetenv(name);
}

/* Loads with one variable set; expects success. The caller frees c. */
static int load_with(const char *name, const char *value, struct cfg *c)
{
    clear_env();
    if (name != NULL)
        setenv(name, value, 1);
    char err[512] = "";
    int rc = cfg_load(c, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "\n  %s=%s: %s\n", name ? name : "(none)", value ? value : "(none)", err);
    CU_ASSERT_EQUAL(rc, 0);
    return rc;
}

static void test_defaults(void)
{
    struct cfg c;
    if (load_with(NULL, NULL, &c) != 0)
        return;
    CU_ASSERT_STRING_EQUAL(c.namespace, "default");
    CU_ASSERT_EQUAL(c.log_level, LOG_LVL_INFO);
    CU_ASSERT_EQUAL(c.log_format, LOG_FMT_JSON);
    CU_ASSERT_EQUAL(c.reconcile_threads, 5);
    CU_ASSERT_EQUAL(c.health_port, 8080);
    CU_ASSERT_EQUAL(c.metrics_port, 8081);
    CU_ASSERT_TRUE(c.watch_all);
    CU_ASSERT_EQUAL(c.n_watch_namespaces, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.kube_qps, 50.0, 1e-9);
    CU_ASSERT_EQUAL(c.kube_burst, 100);
    char want[64];
    snprintf(want, sizeof(want), "/tmp/omjob-operator-%lu", (unsigned long)geteuid());
    CU_ASSERT_STRING_EQUAL(c.run_dir, want);
    CU_ASSERT_EQUAL(c.start_timeout_s, 600);
    CU_ASSERT_EQUAL(c.node_lost_timeout_s, 300);
    CU_ASSERT_EQUAL(c.cancel_deadline_s, 900);
    CU_ASSERT_EQUAL(c.exit_handler_max_attempts, 3);
    CU_ASSERT_EQUAL(c.resync_s, 300);
    CU_ASSERT_EQUAL(c.role_grace_s, 20);
    CU_ASSERT_FALSE(c.leader_election);
    CU_ASSERT_TRUE(c.sched_batch);
    CU_ASSERT_STRING_EQUAL(c.lease_name, "omjob-operator");
    CU_ASSERT_PTR_NULL(c.kubeconfig);
    cfg_free(&c);
    cfg_free(&c); /* zeroed: a second free is harmless */
    cfg_free(NULL);
}

static void test_empty_is_unset(void)
{
    struct cfg c;
    if (load_with("RECONCILIATION_THREADS", "", &c) != 0)
        return;
    CU_ASSERT_EQUAL(c.reconcile_threads, 5);
    cfg_free(&c);
}

struct int_case {
    const char *name;
    int min, max;
    size_t off;
};

static void test_integers(void)
{
    static const struct int_case cases[] = {
        {"RECONCILIATION_THREADS", 1, 64, offsetof(struct cfg, reconcile_threads)},
        {"HEALTH_CHECK_PORT", 1, 65535, offsetof(struct cfg, health_port)},
        {"METRICS_PORT", 1, 65535, offsetof(struct cfg, metrics_port)},
        {"KUBE_BURST", 1, 100000, offsetof(struct cfg, kube_burst)},
        {"OMJOB_START_TIMEOUT_SECONDS", 1, 2592000, offsetof(struct cfg, start_timeout_s)},
        {"OMJOB_NODE_LOST_TIMEOUT_SECONDS", 1, 2592000, offsetof(struct cfg, node_lost_timeout_s)},
        {"OMJOB_CANCEL_DEADLINE_SECONDS", 1, 2592000, offsetof(struct cfg, cancel_deadline_s)},
        {"OMJOB_EXIT_HANDLER_MAX_ATTEMPTS", 1, 100,
         offsetof(struct cfg, exit_handler_max_attempts)},
        {"OMJOB_RESYNC_SECONDS", 1, 86400, offsetof(struct cfg, resync_s)},
        {"OMJOB_ROLE_GRACE_SECONDS", 1, 29, offsetof(struct cfg, role_grace_s)},
        {"OMJOB_NNG_CPUS", 0, 64, offsetof(struct cfg, nng_cpus)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct int_case *k = &cases[i];
        char v[32], msg[256];
        struct cfg c;
        /* Both bounds are accepted. */
        for (int b = 0; b < 2; b++) {
            int want = b == 0 ? k->min : k->max;
            snprintf(v, sizeof(v), "%d", want);
            if (load_with(k->name, v, &c) == 0) {
                CU_ASSERT_EQUAL(*(int *)(void *)((char *)&c + k->off), want);
                cfg_free(&c);
            }
        }
        /* Just outside, and not numbers at all. */
        const char *bad[4];
        char below[32], above[32];
        snprintf(below, sizeof(below), "%d", k->min - 1);
        snprintf(above, sizeof(above), "%d", k->max + 1);
        bad[0] = below;
        bad[1] = above;
        bad[2] = "abc";
        bad[3] = "12 ";
        for (int j = 0; j < 4; j++) {
            snprintf(msg, sizeof(msg), "%s=\"%s\": expected an integer from %d to %d", k->name,
                     bad[j], k->min, k->max);
            expect_bad(k->name, bad[j], msg);
        }
    }
    expect_bad("RECONCILIATION_THREADS", "abc",
               "RECONCILIATION_THREADS=\"abc\": expected an integer from 1 to 64");
    expect_bad("OMJOB_ROLE_GRACE_SECONDS", "30",
               "OMJOB_ROLE_GRACE_SECONDS=\"30\": expected an integer from 1 to 29");
    expect_bad("HEALTH_CHECK_PORT", "99999999999999999999",
               "HEALTH_CHECK_PORT=\"99999999999999999999\": expected an integer from 1 to 65535");
}

static void test_namespace(void)
{
    struct cfg c;
    if (load_with("OPERATOR_NAMESPACE", "openmetadata", &c) == 0) {
        CU_ASSERT_STRING_EQUAL(c.namespace, "openmetadata");
        cfg_free(&c);
    }
    expect_bad("OPERATOR_NAMESPACE", "Open_Metadata",
               "OPERATOR_NAMESPACE=\"Open_Metadata\": expected a namespace name (DNS-1123 label: "
               "a-z, 0-9 and '-', at most 63 characters)");
}

static void test_log(void)
{
    struct cfg c;
    static const char *const levels[] = {"DEBUG", "info", "Warn", "WARNING", "ERROR"};
    static const enum log_level want[] = {LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_WARN,
                                          LOG_LVL_ERROR};
    for (size_t i = 0; i < 5; i++) {
        if (load_with("LOG_LEVEL", levels[i], &c) == 0) {
            CU_ASSERT_EQUAL(c.log_level, want[i]);
            cfg_free(&c);
        }
    }
    expect_bad("LOG_LEVEL", "verbose",
               "LOG_LEVEL=\"verbose\": expected one of DEBUG, INFO, WARN, ERROR");
    if (load_with("LOG_FORMAT", "text", &c) == 0) {
        CU_ASSERT_EQUAL(c.log_format, LOG_FMT_TEXT);
        cfg_free(&c);
    }
    if (load_with("LOG_FORMAT", "JSON", &c) == 0) {
        CU_ASSERT_EQUAL(c.log_format, LOG_FMT_JSON);
        cfg_free(&c);
    }
    expect_bad("LOG_FORMAT", "logfmt", "LOG_FORMAT=\"logfmt\": expected json or text");
}

static void test_watch_list(void)
{
    struct cfg c;
    if (load_with("WATCH_NAMESPACES", "ALL", &c) == 0) {
        CU_ASSERT_TRUE(c.watch_all);
        CU_ASSERT_EQUAL(c.n_watch_namespaces, 0);
        cfg_free(&c);
    }
    if (load_with("WATCH_NAMESPACES", "team-a", &c) == 0) {
        CU_ASSERT_FALSE(c.watch_all);
        CU_ASSERT_EQUAL_FATAL(c.n_watch_namespaces, 1);
        CU_ASSERT_STRING_EQUAL(c.watch_namespaces[0], "team-a");
        cfg_free(&c);
    }
    /* Whitespace around items is trimmed; duplicates are dropped. */
    if (load_with("WATCH_NAMESPACES", " a , b\t,c,a ", &c) == 0) {
        CU_ASSERT_FALSE(c.watch_all);
        CU_ASSERT_EQUAL_FATAL(c.n_watch_namespaces, 3);
        CU_ASSERT_STRING_EQUAL(c.watch_namespaces[0], "a");
        CU_ASSERT_STRING_EQUAL(c.watch_namespaces[1], "b");
        CU_ASSERT_STRING_EQUAL(c.watch_namespaces[2], "c");
        cfg_free(&c);
    }
}

static void test_watch_bad(void)
{
    const char *form = "expected ALL or a comma-separated list of namespace names";
    char msg[512];
    snprintf(msg, sizeof(msg), "WATCH_NAMESPACES=\"a,,b\": %s (item 2 is empty)", form);
    expect_bad("WATCH_NAMESPACES", "a,,b", msg);
    snprintf(msg, sizeof(msg), "WATCH_NAMESPACES=\"a,\": %s (item 2 is empty)", form);
    expect_bad("WATCH_NAMESPACES", "a,", msg);
    snprintf(msg, sizeof(msg), "WATCH_NAMESPACES=\" , a\": %s (item 1 is empty)", form);
    expect_bad("WATCH_NAMESPACES", " , a", msg);
    snprintf(msg, sizeof(msg),
             "WATCH_NAMESPACES=\"a,B_c\": %s (item 2 \"B_c\" is not a namespace name)", form);
    expect_bad("WATCH_NAMESPACES", "a,B_c", msg);
    snprintf(msg, sizeof(msg),
             "WATCH_NAMESPACES=\"ALL,a\": %s (item 1 \"ALL\" is not a namespace name)", form);
    expect_bad("WATCH_NAMESPACES", "ALL,a", msg);
}

static void test_qps(void)
{
    struct cfg c;
    if (load_with("KUBE_QPS", "12.5", &c) == 0) {
        CU_ASSERT_DOUBLE_EQUAL(c.kube_qps, 12.5, 1e-9);
        cfg_free(&c);
    }
    const char *tail = "expected a number greater than 0 and at most 100000, e.g. 50 or 12.5";
    static const char *const bad[] = {"0", "-1", "abc", "inf", "nan", "1e9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char msg[256];
        snprintf(msg, sizeof(msg), "KUBE_QPS=\"%s\": %s", bad[i], tail);
        expect_bad("KUBE_QPS", bad[i], msg);
    }
}

static void test_run_dir(void)
{
    struct cfg c;
    clear_env();
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    char err[256];
    if (cfg_load(&c, err, sizeof(err)) == 0) {
        CU_ASSERT_STRING_EQUAL(c.run_dir, "/run/user/1000/omjob-operator");
        cfg_free(&c);
    }
    /* A relative XDG_RUNTIME_DIR is ignored. */
    setenv("XDG_RUNTIME_DIR", "run", 1);
    if (cfg_load(&c, err, sizeof(err)) == 0) {
        CU_ASSERT_EQUAL(strncmp(c.run_dir, "/tmp/omjob-operator-", 20), 0);
        cfg_free(&c);
    }
    if (load_with("OMJOB_RUN_DIR", "/var/run/omjob/", &c) == 0) {
        CU_ASSERT_STRING_EQUAL(c.run_dir, "/var/run/omjob");
        cfg_free(&c);
    }
    expect_bad("OMJOB_RUN_DIR", "relative/dir",
               "OMJOB_RUN_DIR=\"relative/dir\": expected an absolute path of at most 80 bytes");
    char longdir[120], msg[512];
    memset(longdir, 'd', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    snprintf(msg, sizeof(msg),
             "OMJOB_RUN_DIR=\"%.64s...\": expected an absolute path of at most 80 bytes", longdir);
    expect_bad("OMJOB_RUN_DIR", longdir, msg);
}

static void test_leader(void)
{
    struct cfg c;
    static const char *const yes[] = {"true", "TRUE", "1"};
    for (size_t i = 0; i < 3; i++) {
        if (load_with("LEADER_ELECTION", yes[i], &c) == 0) {
            CU_ASSERT_TRUE(c.leader_election);
            cfg_free(&c);
        }
    }
    if (load_with("LEADER_ELECTION", "false", &c) == 0) {
        CU_ASSERT_FALSE(c.leader_election);
        cfg_free(&c);
    }
    expect_bad("LEADER_ELECTION", "yes", "LEADER_ELECTION=\"yes\": expected true or false");
    /* OMJOB_SCHED_BATCH: on unless turned off. */
    if (load_with("OMJOB_SCHED_BATCH", "false", &c) == 0) {
        CU_ASSERT_FALSE(c.sched_batch);
        cfg_free(&c);
    }
    if (load_with("OMJOB_SCHED_BATCH", "0", &c) == 0) {
        CU_ASSERT_FALSE(c.sched_batch);
        cfg_free(&c);
    }
    if (load_with("OMJOB_SCHED_BATCH", "1", &c) == 0) {
        CU_ASSERT_TRUE(c.sched_batch);
        cfg_free(&c);
    }
    expect_bad("OMJOB_SCHED_BATCH", "batch", "OMJOB_SCHED_BATCH=\"batch\": expected true or false");
    if (load_with("LEADER_ELECTION_LEASE_NAME", "omjob.leader", &c) == 0) {
        CU_ASSERT_STRING_EQUAL(c.lease_name, "omjob.leader");
        cfg_free(&c);
    }
    expect_bad("LEADER_ELECTION_LEASE_NAME", "Bad Name",
               "LEADER_ELECTION_LEASE_NAME=\"Bad Name\": expected a Lease name (DNS-1123 "
               "subdomain: a-z, 0-9, '-' and '.', at most 253 characters)");
}

/* client-go's defaults and its rule: duration > renew deadline > 1.2 x retry period. */
static void test_leader_timing(void)
{
    struct cfg c;
    if (load_with("LEADER_ELECTION", "true", &c) == 0) {
        CU_ASSERT_EQUAL(c.lease_duration_s, 15);
        CU_ASSERT_EQUAL(c.renew_deadline_s, 10);
        CU_ASSERT_EQUAL(c.retry_period_s, 2);
        cfg_free(&c);
    }
    expect_bad("LEADER_ELECTION_LEASE_DURATION_SECONDS", "10",
               "LEADER_ELECTION_LEASE_DURATION_SECONDS=\"10\": expected more than "
               "LEADER_ELECTION_RENEW_DEADLINE_SECONDS (10)");
    expect_bad("LEADER_ELECTION_RENEW_DEADLINE_SECONDS", "2",
               "LEADER_ELECTION_RENEW_DEADLINE_SECONDS=\"2\": expected more than 1.2 x "
               "LEADER_ELECTION_RETRY_PERIOD_SECONDS (2)");
    expect_bad("LEADER_ELECTION_RETRY_PERIOD_SECONDS", "9",
               "LEADER_ELECTION_RENEW_DEADLINE_SECONDS=\"10\": expected more than 1.2 x "
               "LEADER_ELECTION_RETRY_PERIOD_SECONDS (9)");
    expect_bad("LEADER_ELECTION_RETRY_PERIOD_SECONDS", "0",
               "LEADER_ELECTION_RETRY_PERIOD_SECONDS=\"0\": expected an integer from 1 to 86400");
    /* The tightest valid setting: 3 > 2 > 1.2. */
    clear_env();
    setenv("LEADER_ELECTION_LEASE_DURATION_SECONDS", "3", 1);
    setenv("LEADER_ELECTION_RENEW_DEADLINE_SECONDS", "2", 1);
    setenv("LEADER_ELECTION_RETRY_PERIOD_SECONDS", "1", 1);
    if (cfg_load(&c, NULL, 0) == 0) {
        CU_ASSERT_EQUAL(c.lease_duration_s, 3);
        cfg_free(&c);
    } else {
        CU_FAIL("3/2/1 rejected");
    }
    clear_env();
}

static void test_kubeconfig(void)
{
    struct cfg c;
    if (load_with("KUBECONFIG", "/home/u/.kube/config", &c) == 0) {
        CU_ASSERT_STRING_EQUAL(c.kubeconfig, "/home/u/.kube/config");
        cfg_free(&c);
    }
}

static void test_value_escaped_and_many(void)
{
    /* A newline and a quote in the value are shown escaped. */
    expect_bad("LOG_FORMAT", "a\"b\nc", "LOG_FORMAT=\"a\\\"b\\x0ac\": expected json or text");
    /* Several bad variables: every one reported, joined by "; ". */
    clear_env();
    setenv("LOG_LEVEL", "loud", 1);
    setenv("METRICS_PORT", "0", 1);
    struct cfg c;
    char err[512];
    CU_ASSERT_EQUAL(cfg_load(&c, err, sizeof(err)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "METRICS_PORT=\"0\": expected an integer from 1 to 65535; "
                                "LOG_LEVEL=\"loud\": expected one of DEBUG, INFO, WARN, ERROR");
    /* A short error buffer is truncated, never overrun. */
    char small[16];
    CU_ASSERT_EQUAL(cfg_load(&c, small, sizeof(small)), -EINVAL);
    CU_ASSERT_EQUAL(strlen(small), sizeof(small) - 1);
    CU_ASSERT_EQUAL(cfg_load(&c, NULL, 0), -EINVAL);
    clear_env();
}

static void test_json_view(void)
{
    clear_env();
    setenv("WATCH_NAMESPACES", "a,b", 1);
    setenv("KUBECONFIG", "/k", 1);
    struct cfg c;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(cfg_load(&c, err, sizeof(err)), 0);
    struct json_object *j = cfg_to_json(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(jx_str(j, "OPERATOR_NAMESPACE"), "default");
    CU_ASSERT_STRING_EQUAL(jx_str(j, "LOG_LEVEL"), "INFO");
    CU_ASSERT_STRING_EQUAL(jx_str(j, "LOG_FORMAT"), "json");
    CU_ASSERT_EQUAL(jx_i64_or(j, "RECONCILIATION_THREADS", 0), 5);
    CU_ASSERT_EQUAL(jx_i64_or(j, "OMJOB_ROLE_GRACE_SECONDS", 0), 20);
    CU_ASSERT_EQUAL(jx_arr_len(j, "WATCH_NAMESPACES"), 2);
    CU_ASSERT_STRING_EQUAL(jx_str(j, "WATCH_NAMESPACES.1"), "b");
    CU_ASSERT_DOUBLE_EQUAL(json_object_get_double(jx_get(j, "KUBE_QPS")), 50.0, 1e-9);
    CU_ASSERT_FALSE(jx_bool_or(j, "LEADER_ELECTION", true));
    CU_ASSERT_STRING_EQUAL(jx_str(j, "KUBECONFIG"), "/k");
    CU_ASSERT_EQUAL(jx_i64_or(j, "OMJOB_MAX_OBJECT_BYTES", 0), 4 << 20);
    CU_ASSERT_EQUAL(jx_i64_or(j, "OMJOB_NNG_CPUS", -1), 1);
    CU_ASSERT_EQUAL(json_object_object_length(j), 25);
    json_object_put(j);
    cfg_free(&c);

    /* Defaults: ALL as a string, KUBECONFIG null. */
    clear_env();
    CU_ASSERT_EQUAL_FATAL(cfg_load(&c, err, sizeof(err)), 0);
    j = cfg_to_json(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(jx_str(j, "WATCH_NAMESPACES"), "ALL");
    struct json_object *k = NULL;
    CU_ASSERT_TRUE(json_object_object_get_ex(j, "KUBECONFIG", &k));
    CU_ASSERT_PTR_NULL(k);
    json_object_put(j);
    cfg_free(&c);
}

static void test_secret_names(void)
{
    CU_ASSERT_TRUE(cfg_is_secret_name("KUBE_TOKEN"));
    CU_ASSERT_TRUE(cfg_is_secret_name("DB_PASSWORD"));
    CU_ASSERT_TRUE(cfg_is_secret_name("CLIENT_SECRET"));
    CU_ASSERT_TRUE(cfg_is_secret_name("api_key"));
    CU_ASSERT_TRUE(cfg_is_secret_name("TLS_KEY_FILE"));
    CU_ASSERT_FALSE(cfg_is_secret_name("KUBECONFIG"));
    CU_ASSERT_FALSE(cfg_is_secret_name("LEADER_ELECTION_LEASE_NAME"));
    /* No variable in the view today is secret: each shows its value. */
    struct cfg c;
    clear_env();
    CU_ASSERT_EQUAL_FATAL(cfg_load(&c, NULL, 0), 0);
    struct json_object *j = cfg_to_json(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_object_object_foreach(j, key, val)
    {
        CU_ASSERT_FALSE(cfg_is_secret_name(key));
        CU_ASSERT_TRUE(val == NULL || !json_object_is_type(val, json_type_string) ||
                       strcmp(json_object_get_string(val), "<redacted>") != 0);
    }
    json_object_put(j);
    cfg_free(&c);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"defaults", test_defaults},
        {"empty is unset", test_empty_is_unset},
        {"integer variables", test_integers},
        {"OPERATOR_NAMESPACE", test_namespace},
        {"LOG_LEVEL and LOG_FORMAT", test_log},
        {"WATCH_NAMESPACES lists", test_watch_list},
        {"WATCH_NAMESPACES errors", test_watch_bad},
        {"KUBE_QPS", test_qps},
        {"OMJOB_RUN_DIR", test_run_dir},
        {"LEADER_ELECTION", test_leader},
        {"LEADER_ELECTION timings", test_leader_timing},
        {"KUBECONFIG", test_kubeconfig},
        {"escaped values, several errors", test_value_escaped_and_many},
        {"JSON view", test_json_view},
        {"secret names", test_secret_names},
        {NULL, NULL},
    };
    return unit_run("cfg", clear_env, clear_env, tests);
}

/* Unit tests of runtime/ctl: process metrics parsing and rendering, the shared
 * families, and the control socket's replies over a real ipc:// socket. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/json.h"
#include "runtime/ctl.h"
#include "test_ipc_helpers.h"

static const char stat_line[] =
    "4242 (omjob (x) y) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 9 0 "
    "12345 104857600 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

static void test_parse_stat(void)
{
    struct ctl_proc p;
    CU_ASSERT_EQUAL_FATAL(ctl_proc_parse_stat(stat_line, 100, 4096, 1000.0, &p), 0);
    CU_ASSERT_DOUBLE_EQUAL(p.cpu_seconds, 2.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.start_time_s, 1000.0 + 123.45, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(p.vsize_bytes, 104857600.0, 0.5);
    CU_ASSERT_DOUBLE_EQUAL(p.rss_bytes, 2048.0 * 4096, 0.5);
    CU_ASSERT_EQUAL(ctl_proc_parse_stat("4242 (x S 1", 100, 4096, 0, &p), -EINVAL);
    CU_ASSERT_EQUAL(ctl_proc_parse_stat("4242 (x) S 1 2", 100, 4096, 0, &p), -EINVAL);
    CU_ASSERT_EQUAL(ctl_proc_parse_stat(stat_line, 0, 4096, 0, &p), -EINVAL);
    CU_ASSERT_EQUAL(ctl_proc_parse_stat(NULL, 100, 4096, 0, &p), -EINVAL);
}

static void test_parse_btime_and_limits(void)
{
    double v = 0;
    CU_ASSERT_EQUAL(ctl_proc_parse_btime("cpu 1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n", &v),
                    0);
    CU_ASSERT_DOUBLE_EQUAL(v, 1700000000.0, 0.5);
    CU_ASSERT_EQUAL(ctl_proc_parse_btime("cpu 1\n", &v), -EINVAL);
    CU_ASSERT_EQUAL(ctl_proc_parse_btime("btime x\n", &v), -EINVAL);
    CU_ASSERT_EQUAL(ctl_proc_parse_max_fds("Limit  Soft Limit Hard Limit Units\n"
                                           "Max open files            1024                 "
                                           "524288               files\n",
                                           &v),
                    0);
    CU_ASSERT_DOUBLE_EQUAL(v, 1024.0, 0.5);
    CU_ASSERT_EQUAL(ctl_proc_parse_max_fds("Max open files  unlimited unlimited files\n", &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, -1.0, 0.5);
    CU_ASSERT_EQUAL(ctl_proc_parse_max_fds("Max processes 5 5\n", &v), -EINVAL);
}

static void test_proc_read_and_render(void)
{
    struct ctl_proc p;
    struct sbuf sb = {0};
    CU_ASSERT_EQUAL_FATAL(ctl_proc_read(&p), 0);
    CU_ASSERT(p.rss_bytes > 0);
    CU_ASSERT(p.open_fds >= 3);
    CU_ASSERT(p.start_time_s > 1.5e9);
    ctl_proc_render(&p, "reconciler-2", &sb);
    const char *s = sbuf_str(&sb);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "# TYPE process_resident_memory_bytes gauge\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "# TYPE process_cpu_seconds_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "process_open_fds{role=\"reconciler-2\"} "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "process_start_time_seconds{role=\"reconciler-2\"} "));
    /* It merges with itself under another role: the format is right. */
    struct sbuf other = {0};
    ctl_proc_render(&p, "cleaner", &other);
    const char *texts[] = {sbuf_str(&sb), sbuf_str(&other)};
    char *merged = NULL;
    CU_ASSERT_EQUAL(metrics_merge(texts, 2, &merged), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(merged, "process_open_fds{role=\"cleaner\"}"));
    free(merged);
    sbuf_free(&other);
    sbuf_free(&sb);
}

static void test_health_json(void)
{
    struct json_object *o = NULL;
    char *s = ctl_health_json("watcher", 77, true, 20, 10000, INT64_MIN, NULL);
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &o, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(jx_str(o, "role"), "watcher");
    CU_ASSERT_EQUAL(jx_i64_or(o, "pid", 0), 77);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", false), true);
    CU_ASSERT_EQUAL(jx_bool_or(o, "ready", false), true);
    CU_ASSERT_EQUAL(jx_i64_or(o, "loopAgeMs", -1), 20);
    CU_ASSERT_PTR_NULL(jx_get(o, "reason"));
    json_object_put(o);
    free(s);
    s = ctl_health_json("watcher", 77, false, 10001, 10000, INT64_MIN, NULL);
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &o, NULL, 0), 0);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", true), false);
    CU_ASSERT_EQUAL(jx_bool_or(o, "ready", true), false);
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_str_or(o, "reason", ""), "stalled"));
    CU_ASSERT_PTR_NULL(jx_get(o, "waitingMs"));
    json_object_put(o);
    free(s);
    /* Blocked 40 s in a request that may last 5 s more: waiting, not wedged. */
    s = ctl_health_json("reconciler-0", 77, true, 40000, 10000, 5000, "cronomjobs unavailable");
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &o, NULL, 0), 0);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", false), true);
    CU_ASSERT_EQUAL(jx_i64_or(o, "waitingMs", -1), 5000);
    CU_ASSERT_STRING_EQUAL(jx_str_or(o, "degraded", ""), "cronomjobs unavailable");
    CU_ASSERT_PTR_NULL(jx_get(o, "reason"));
    json_object_put(o);
    free(s);
    /* The request overran its deadline: wedged. */
    s = ctl_health_json("reconciler-0", 77, true, 40000, 10000, -3000, NULL);
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &o, NULL, 0), 0);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", true), false);
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_str_or(o, "reason", ""), "3000 ms past its deadline"));
    json_object_put(o);
    free(s);
}

static const char *const families[] = {
    "omjob_reconciliations_total",
    "omjob_duration_seconds",
    "omjob_pods_created_total",
    "omjob_status_transitions_total",
    "controller_runtime_reconcile_total",
    "controller_runtime_reconcile_errors_total",
    "controller_runtime_reconcile_time_seconds",
    "workqueue_depth",
    "workqueue_adds_total",
    "workqueue_queue_duration_seconds",
    "rest_client_requests_total",
};

static void test_standard_families(void)
{
    struct metrics *a = metrics_new(), *b = metrics_new();
    struct ctl_families fa, fa2, fb;
    char *ta = NULL, *tb = NULL, *merged = NULL, line[160];
    CU_ASSERT_EQUAL_FATAL(metrics_const_label(a, "role", "reconciler-0"), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_const_label(b, "role", "reconciler-1"), 0);
    CU_ASSERT_EQUAL_FATAL(ctl_register_standard_families(a, &fa), 0);
    CU_ASSERT_EQUAL_FATAL(ctl_register_standard_families(a, &fa2), 0);
    CU_ASSERT(memcmp(&fa, &fa2, sizeof(fa)) == 0);
    CU_ASSERT_EQUAL_FATAL(ctl_register_standard_families(b, &fb), 0);
    CU_ASSERT_EQUAL(metrics_counter_add(fa.reconciliations, 1.0, "success"), 0);
    CU_ASSERT_EQUAL(metrics_observe(fb.duration, 42.0, "Running"), 0);
    CU_ASSERT_EQUAL(metrics_render(a, &ta, NULL), 0);
    CU_ASSERT_EQUAL(metrics_render(b, &tb, NULL), 0);
    const char *texts[] = {ta, tb};
    CU_ASSERT_EQUAL(metrics_merge(texts, 2, &merged), 0);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        snprintf(line, sizeof(line), "# HELP %s ", families[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(merged, line));
        snprintf(line, sizeof(line), "# TYPE %s ", families[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(merged, line));
    }
    CU_ASSERT_PTR_NOT_NULL(
        strstr(merged, "omjob_reconciliations_total{role=\"reconciler-0\",status=\"success\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(merged, "omjob_duration_seconds_count{role=\"reconciler-1\""));
    free(merged);
    free(ta);
    free(tb);
    metrics_free(a);
    metrics_free(b);
}

/* ---- over the socket ---- */

static char rundir[64];

static struct ctl *open_ctl(const char *role, struct ipc_req **c)
{
    struct cfg cf = {.run_dir = rundir};
    struct ctl *ctl = NULL;
    char url[IPC_URL_MAX];
    CU_ASSERT_EQUAL(ctl_open(role, &cf, &ctl), 0);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), rundir, IPC_EP_CTL, role), 0);
    CU_ASSERT_EQUAL(ipc_req_open(c, url), 0);
    return ctl;
}

static struct json_object *call_json(struct ipc_req *c, enum ipc_type t, enum ipc_type want)
{
    struct ipc_msg *m = NULL;
    struct json_object *o = NULL;
    CU_ASSERT_EQUAL_FATAL(ipc_req_call(c, t, NULL, 0, 5000, &m), 0);
    CU_ASSERT_EQUAL(m->type, want);
    CU_ASSERT_EQUAL(jx_parse((const char *)m->body, m->body_len, &o, NULL, 0), 0);
    ipc_msg_free(m);
    return o;
}

static void test_socket_health_status(void)
{
    struct ipc_req *c = NULL;
    CU_ASSERT_EQUAL_FATAL(tmp_rundir(rundir, sizeof(rundir)), 0);
    struct ctl *ctl = open_ctl("reconciler-3", &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctl);
    CU_ASSERT_STRING_EQUAL(ctl_role(ctl), "reconciler-3");
    struct json_object *o = call_json(c, IPC_CTL_HEALTH, IPC_CTL_HEALTH_REPLY);
    CU_ASSERT_STRING_EQUAL(jx_str_or(o, "role", ""), "reconciler-3");
    CU_ASSERT_EQUAL(jx_i64_or(o, "pid", 0), getpid());
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", false), true);
    CU_ASSERT_EQUAL(jx_bool_or(o, "ready", true), false);
    json_object_put(o);
    ctl_set_ready(ctl, true);
    ctl_set_stall_ms(ctl, 50);
    sleep_ms(120);
    o = call_json(c, IPC_CTL_HEALTH, IPC_CTL_HEALTH_REPLY);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", true), false);
    CU_ASSERT_EQUAL(jx_bool_or(o, "ready", false), true);
    CU_ASSERT(jx_i64_or(o, "loopAgeMs", 0) >= 100);
    json_object_put(o);
    /* In a bounded wait: healthy until its deadline, then not again. */
    ctl_kube_wait(ctl, util_mono_ms() + 150);
    o = call_json(c, IPC_CTL_HEALTH, IPC_CTL_HEALTH_REPLY);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", false), true);
    json_object_put(o);
    sleep_ms(200);
    o = call_json(c, IPC_CTL_HEALTH, IPC_CTL_HEALTH_REPLY);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", true), false);
    json_object_put(o);
    ctl_waiting(ctl, 0);
    ctl_heartbeat(ctl);
    o = call_json(c, IPC_CTL_HEALTH, IPC_CTL_HEALTH_REPLY);
    CU_ASSERT_EQUAL(jx_bool_or(o, "healthy", false), true);
    json_object_put(o);
    o = call_json(c, IPC_CTL_STATUS, IPC_CTL_STATUS_REPLY);
    CU_ASSERT_STRING_EQUAL(jx_str_or(o, "role", ""), "reconciler-3");
    CU_ASSERT(jx_i64_or(o, "uptimeMs", -1) >= 100);
    json_object_put(o);
    ipc_req_close(c);
    ctl_close(ctl);
    rm_rundir(rundir);
}

static void test_socket_metrics(void)
{
    struct ipc_req *c = NULL;
    struct ipc_msg *m = NULL;
    CU_ASSERT_EQUAL_FATAL(tmp_rundir(rundir, sizeof(rundir)), 0);
    struct ctl *ctl = open_ctl("cleaner", &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctl);
    ctl_kube_observer(ctl, "GET", 200, 0.01);
    ctl_kube_observer(ctl, "PATCH", 0, 0.01);
    CU_ASSERT_EQUAL_FATAL(ipc_req_call(c, IPC_CTL_METRICS, NULL, 0, 5000, &m), 0);
    CU_ASSERT_EQUAL(m->type, IPC_CTL_METRICS_REPLY);
    char *text = strndup((const char *)m->body, m->body_len);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, "rest_client_requests_total{role=\"cleaner\",code=\"200\",method=\"GET\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        text, "rest_client_requests_total{role=\"cleaner\",code=\"<error>\",method=\"PATCH\"} 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "process_resident_memory_bytes{role=\"cleaner\"} "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE workqueue_depth gauge\n"));
    /* A well-formed exposition: metrics_merge leaves nothing out. */
    const char *texts[] = {text};
    char *merged = NULL;
    CU_ASSERT_EQUAL(metrics_merge(texts, 1, &merged), 0);
    free(merged);
    free(text);
    ipc_msg_free(m);
    /* Unknown requests get an error reply. */
    CU_ASSERT_EQUAL_FATAL(ipc_req_call(c, IPC_REQ_GET_KEY, NULL, 0, 5000, &m), 0);
    CU_ASSERT_EQUAL(m->type, IPC_REQ_ERROR);
    ipc_msg_free(m);
    ipc_req_close(c);
    ctl_close(ctl);
    rm_rundir(rundir);
}

static void test_open_errors(void)
{
    struct cfg cf = {.run_dir = (char *)"/tmp"};
    struct ctl *ctl = NULL;
    CU_ASSERT_EQUAL(ctl_open("Bad Role", &cf, &ctl), -EINVAL);
    CU_ASSERT_PTR_NULL(ctl);
    ctl_close(NULL);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"parse /proc/<pid>/stat", test_parse_stat},
        {"parse btime and limits", test_parse_btime_and_limits},
        {"read and render process metrics", test_proc_read_and_render},
        {"health body", test_health_json},
        {"standard families merge across roles", test_standard_families},
        {"socket: health and status", test_socket_health_status},
        {"socket: metrics and errors", test_socket_metrics},
        {"open errors", test_open_errors},
        {NULL, NULL},
    };
    return run_suite("runtime_ctl", tests);
}

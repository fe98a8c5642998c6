/* Unit tests of httpd's pure pieces: the status file, health replies, the liveness
 * and readiness decisions, restart-rate tracking, routing and the restarts family. */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "support/unit.h"

#include "roles/httpd/health.h"
#include "lib/ipc/ipc.h"

static const char status_text[] = "omjob-status 1\n"
                                  "supervisor\t100\t1700000000000\trunning\t1\t5\n"
                                  "role\twatcher\t101\tREADY\t0\t1700000000001\t0\t0\t-1\n"
                                  "role\treconciler-0\t102\tREADY\t2\t1700000000002\t0\t0\t9\n"
                                  "role\tcleaner\t0\tSTOPPED\t0\t0\t0\t1\t-1\n"
                                  "future\tline\n"
                                  "role\thttpd\t104\tREADY\t0\t1700000000004\t0\t0\t-1\n";

static struct httpd_status st;
static struct httpd_reply rep[4];
static int recent[4];
static struct httpd_facts facts;

static void load(void)
{
    httpd_status_free(&st);
    CU_ASSERT_EQUAL_FATAL(httpd_status_parse(status_text, &st), 0);
    memset(rep, 0, sizeof(rep));
    memset(recent, 0, sizeof(recent));
    for (int i = 0; i < 4; i++) {
        if (httpd_should_ask(&st.hs_roles[i], "httpd"))
            rep[i] = (struct httpd_reply){.hp_asked = true, .hp_healthy = true, .hp_ready = true};
    }
    facts = (struct httpd_facts){.hf_status = &st,
                                 .hf_sup_alive = true,
                                 .hf_replies = rep,
                                 .hf_recent_restarts = recent,
                                 .hf_self = "httpd",
                                 .hf_deadline_ms = 500};
}

/* Runs a decision; returns its result with the body in buf. */
static bool decide(enum httpd_probe p, char *buf, size_t cap)
{
    struct sbuf sb = {0};
    bool ok = httpd_decide(p, &facts, &sb);
    snprintf(buf, cap, "%s", sbuf_str(&sb));
    sbuf_free(&sb);
    return ok;
}

static void test_status_parse(void)
{
    struct httpd_status s;
    load();
    CU_ASSERT_EQUAL(st.hs_pid, 100);
    CU_ASSERT_EQUAL(st.hs_ready, true);
    CU_ASSERT_EQUAL(st.hs_stopping, false);
    CU_ASSERT_EQUAL_FATAL(st.hs_n, 4);
    CU_ASSERT_STRING_EQUAL(st.hs_roles[1].hr_name, "reconciler-0");
    CU_ASSERT_EQUAL(st.hs_roles[1].hr_restarts, 2);
    CU_ASSERT_EQUAL(st.hs_roles[1].hr_pid, 102);
    CU_ASSERT_EQUAL(st.hs_roles[2].hr_disabled, true);
    CU_ASSERT_EQUAL(st.hs_roles[2].hr_state, ROLE_STOPPED);
    CU_ASSERT_EQUAL(httpd_status_parse("omjob-status 2\n", &s), -EINVAL);
    CU_ASSERT_EQUAL(httpd_status_parse("omjob-status 1\n", &s), -EINVAL); /* no supervisor */
    CU_ASSERT_EQUAL(httpd_status_parse("omjob-status 1\nsupervisor\t1\t2\trunning\t0\t-1\n"
                                       "role\tBad Name\t1\tREADY\t0\t0\t0\t0\t-1\n",
                                       &s),
                    -EINVAL);
    CU_ASSERT_EQUAL(httpd_status_parse("omjob-status 1\nsupervisor\t1\t2\trunning\t0\t-1\n"
                                       "role\tx\t1\tWEIRD\t0\t0\t0\t0\t-1\n",
                                       &s),
                    -EINVAL);
    CU_ASSERT_EQUAL(httpd_status_read("/nonexistent-dir", &s), -ENOENT);
}

static void test_health_parse(void)
{
    struct httpd_reply r;
    const char ok[] = "{\"role\":\"w\",\"pid\":1,\"healthy\":true,\"ready\":false,\"loopAgeMs\":7}";
    const char bad[] = "{\"healthy\":false,\"ready\":true,\"reason\":\"main loop stalled\"}";
    CU_ASSERT_EQUAL_FATAL(httpd_health_parse(ok, strlen(ok), &r), 0);
    CU_ASSERT(r.hp_asked && r.hp_err == 0 && r.hp_healthy && !r.hp_ready);
    CU_ASSERT_EQUAL(r.hp_loop_age_ms, 7);
    CU_ASSERT_EQUAL_FATAL(httpd_health_parse(bad, strlen(bad), &r), 0);
    CU_ASSERT_STRING_EQUAL(r.hp_reason, "main loop stalled");
    CU_ASSERT_STRING_EQUAL(r.hp_degraded, "");
    const char deg[] = "{\"healthy\":true,\"ready\":true,\"degraded\":\"no cron\"}";
    CU_ASSERT_EQUAL_FATAL(httpd_health_parse(deg, strlen(deg), &r), 0);
    CU_ASSERT_STRING_EQUAL(r.hp_degraded, "no cron");
    CU_ASSERT_EQUAL(httpd_health_parse("{}", 2, &r), -EBADMSG);
    CU_ASSERT_EQUAL(httpd_health_parse("{\"healthy\":1,\"ready\":true}", 26, &r), -EBADMSG);
    CU_ASSERT_EQUAL(httpd_health_parse("[", 1, &r), -EBADMSG);
}

static void test_decide_ok(void)
{
    char body[1024];
    load();
    CU_ASSERT_EQUAL(httpd_should_ask(&st.hs_roles[3], "httpd"), false); /* itself */
    CU_ASSERT_EQUAL(httpd_should_ask(&st.hs_roles[2], "httpd"), true);  /* disabled */
    /* The disabled cleaner is not running by hand: it counts for nothing. */
    rep[2] = (struct httpd_reply){.hp_asked = false};
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "ok\n");
    CU_ASSERT(decide(HTTPD_READY, body, sizeof(body)));
    /* Run by hand and answering but not ready: not ready. */
    rep[2] = (struct httpd_reply){.hp_asked = true, .hp_healthy = true};
    CU_ASSERT(!decide(HTTPD_READY, body, sizeof(body)));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "cleaner: not ready (run by hand)"));
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    /* A role working without an optional resource: ready, and /readyz says so. */
    load();
    rep[2] = (struct httpd_reply){.hp_asked = false};
    snprintf(rep[0].hp_degraded, sizeof(rep[0].hp_degraded), "cronomjobs unavailable");
    CU_ASSERT(decide(HTTPD_READY, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "ok\nwatcher: degraded: cronomjobs unavailable\n");
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "ok\n");
}

static void test_decide_failures(void)
{
    char body[1024];
    load();
    rep[1] = (struct httpd_reply){.hp_asked = true, .hp_err = -ETIMEDOUT};
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "reconciler-0: no answer on its control socket within 500 ms\n");
    CU_ASSERT(!decide(HTTPD_READY, body, sizeof(body)));

    load();
    rep[0] = (struct httpd_reply){.hp_asked = true, .hp_healthy = false, .hp_ready = true};
    snprintf(rep[0].hp_reason, sizeof(rep[0].hp_reason), "main loop stalled for 11000 ms");
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "watcher: unhealthy: main loop stalled"));

    /* The watcher has not finished its first LIST: alive, not ready. */
    load();
    rep[0].hp_ready = false;
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT(!decide(HTTPD_READY, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "watcher: not ready yet (its own report)\n");

    /* Restarting after a crash: alive, not ready. */
    load();
    st.hs_roles[1].hr_state = ROLE_BACKOFF;
    st.hs_roles[1].hr_pid = 0;
    rep[1] = (struct httpd_reply){0};
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT(!decide(HTTPD_READY, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "reconciler-0: BACKOFF in the supervisor's table\n");
    /* ... too often: a crash loop fails liveness. */
    recent[1] = HTTPD_CRASHLOOP_RESTARTS;
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "reconciler-0: crash loop: 5 restarts"));

    load();
    st.hs_roles[0].hr_state = ROLE_FAILED_CONFIG;
    st.hs_roles[0].hr_pid = 0;
    rep[0] = (struct httpd_reply){0};
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "watcher: exited 78"));

    load();
    facts.hf_sup_alive = false;
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "supervisor: pid 100 is not running\n");
    load();
    st.hs_stopping = true;
    CU_ASSERT(decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT(!decide(HTTPD_READY, body, sizeof(body)));
    CU_ASSERT_STRING_EQUAL(body, "supervisor: stopping\n");

    facts = (struct httpd_facts){.hf_status_err = -ENOENT, .hf_self = "httpd"};
    CU_ASSERT(!decide(HTTPD_LIVE, body, sizeof(body)));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "supervisor: status file unreadable"));
}

static void test_track(void)
{
    struct httpd_track t = {0};
    load();
    st.hs_roles[1].hr_restarts = 7; /* before httpd started: not counted */
    CU_ASSERT_EQUAL(httpd_track_update(&t, &st, 1000), 0);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 1000), 0);
    st.hs_roles[1].hr_restarts = 10;
    CU_ASSERT_EQUAL(httpd_track_update(&t, &st, 2000), 0);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 2000), 3);
    st.hs_roles[1].hr_restarts = 12;
    CU_ASSERT_EQUAL(httpd_track_update(&t, &st, 3000), 0);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 3000), 5);
    /* Out of the window. */
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 2500 + HTTPD_CRASHLOOP_WINDOW_MS), 2);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 4000 + HTTPD_CRASHLOOP_WINDOW_MS), 0);
    /* A huge jump is bounded by the ring. */
    st.hs_roles[1].hr_restarts = 1000;
    CU_ASSERT_EQUAL(httpd_track_update(&t, &st, 5000), 0);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "reconciler-0", 5000), HTTPD_TRACK_MAX);
    CU_ASSERT_EQUAL(httpd_track_recent(&t, "nobody", 5000), 0);
    httpd_track_free(&t);
}

static void test_route(void)
{
    CU_ASSERT_EQUAL(httpd_route("GET", "/healthz", false), HTTPD_R_HEALTH);
    CU_ASSERT_EQUAL(httpd_route("HEAD", "/health", false), HTTPD_R_HEALTH);
    CU_ASSERT_EQUAL(httpd_route("GET", "/readyz", false), HTTPD_R_READY);
    CU_ASSERT_EQUAL(httpd_route("GET", "/ready", false), HTTPD_R_READY);
    CU_ASSERT_EQUAL(httpd_route("GET", "/info", false), HTTPD_R_INFO);
    CU_ASSERT_EQUAL(httpd_route("GET", "/metrics", false), HTTPD_R_METRICS);
    CU_ASSERT_EQUAL(httpd_route("GET", "/metrics", true), HTTPD_R_METRICS);
    CU_ASSERT_EQUAL(httpd_route("GET", "/healthz", true), HTTPD_R_NOT_FOUND);
    CU_ASSERT_EQUAL(httpd_route("GET", "/nope", false), HTTPD_R_NOT_FOUND);
    CU_ASSERT_EQUAL(httpd_route("GET", "/healthz/", false), HTTPD_R_NOT_FOUND);
    CU_ASSERT_EQUAL(httpd_route("POST", "/healthz", false), HTTPD_R_BAD_METHOD);
    CU_ASSERT_EQUAL(httpd_route("DELETE", "/metrics", true), HTTPD_R_BAD_METHOD);
    CU_ASSERT_EQUAL(httpd_route("POST", "/nope", false), HTTPD_R_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(httpd_route_str(HTTPD_R_BAD_METHOD), "BAD_METHOD");
}

static void test_render_restarts(void)
{
    struct sbuf sb = {0};
    load();
    httpd_render_restarts(&st, &sb);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(sbuf_str(&sb), "# TYPE omjob_component_restarts_total counter\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(sbuf_str(&sb), "omjob_component_restarts_total{role=\"reconciler-0\"} 2\n"));
    sbuf_reset(&sb);
    httpd_render_restarts(NULL, &sb);
    CU_ASSERT_PTR_NOT_NULL(strstr(sbuf_str(&sb), "# HELP omjob_component_restarts_total "));
    sbuf_free(&sb);
    httpd_status_free(&st);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"status file", test_status_parse},
        {"health reply", test_health_parse},
        {"decide: ok, disabled roles", test_decide_ok},
        {"decide: failures", test_decide_failures},
        {"restart tracking", test_track},
        {"routing", test_route},
        {"restarts family", test_render_restarts},
        {NULL, NULL},
    };
    return unit_run("httpd", NULL, NULL, tests);
}

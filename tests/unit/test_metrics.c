/* Unit tests for common/metrics: registration rules, exact exposition text
 * (labels, escaping, histograms, float forms), thread safety, and the merge of
 * several roles' expositions. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/log.h"
#include "lib/common/metrics.h"

static const char *const status_l[] = {"status"};
static const char *const phase_l[] = {"phase"};
static const char *const type_l[] = {"type"};

/* Renders m and compares with want, printing both on a mismatch. */
static void expect_render(struct metrics *m, const char *want)
{
    char *got = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(metrics_render(m, &got, &len), 0);
    CU_ASSERT_EQUAL(len, strlen(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n--- got:\n%s--- want:\n%s---\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
}

static void test_render_basic(void)
{
    struct metrics *m = metrics_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    struct metrics_family *rec, *act, *dur, *pods;
    static const double b[] = {0.5, 1, 2.5};
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "omjob_reconciliations_total",
                                              "Reconciliations by result.", status_l, 1, &rec),
                          0);
    CU_ASSERT_EQUAL_FATAL(metrics_gauge_new(m, "omjob_active", "Active OMJobs.", NULL, 0, &act), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_histogram_new(m, "omjob_duration_seconds",
                                                "Time from creation to completion.", phase_l, 1, b,
                                                3, &dur),
                          0);
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "omjob_pods_created_total",
                                              "Pods created by type.", type_l, 1, &pods),
                          0);
    CU_ASSERT_EQUAL(metrics_counter_add(rec, 1, "success"), 0);
    CU_ASSERT_EQUAL(metrics_counter_add(rec, 2, "success"), 0);
    CU_ASSERT_EQUAL(metrics_counter_add(rec, 1, "error"), 0);
    CU_ASSERT_EQUAL(metrics_gauge_set(act, 5), 0);
    CU_ASSERT_EQUAL(metrics_gauge_add(act, -2), 0);
    CU_ASSERT_EQUAL(metrics_observe(dur, 0.25, "Succeeded"), 0);
    CU_ASSERT_EQUAL(metrics_observe(dur, 2, "Succeeded"), 0);
    CU_ASSERT_EQUAL(metrics_observe(dur, 10, "Failed"), 0);
    expect_render(m, "# HELP omjob_reconciliations_total Reconciliations by result.\n"
                     "# TYPE omjob_reconciliations_total counter\n"
                     "omjob_reconciliations_total{status=\"success\"} 3\n"
                     "omjob_reconciliations_total{status=\"error\"} 1\n"
                     "# HELP omjob_active Active OMJobs.\n"
                     "# TYPE omjob_active gauge\n"
                     "omjob_active 3\n"
                     "# HELP omjob_duration_seconds Time from creation to completion.\n"
                     "# TYPE omjob_duration_seconds histogram\n"
                     "omjob_duration_seconds_bucket{phase=\"Succeeded\",le=\"0.5\"} 1\n"
                     "omjob_duration_seconds_bucket{phase=\"Succeeded\",le=\"1\"} 1\n"
                     "omjob_duration_seconds_bucket{phase=\"Succeeded\",le=\"2.5\"} 2\n"
                     "omjob_duration_seconds_bucket{phase=\"Succeeded\",le=\"+Inf\"} 2\n"
                     "omjob_duration_seconds_sum{phase=\"Succeeded\"} 2.25\n"
                     "omjob_duration_seconds_count{phase=\"Succeeded\"} 2\n"
                     "omjob_duration_seconds_bucket{phase=\"Failed\",le=\"0.5\"} 0\n"
                     "omjob_duration_seconds_bucket{phase=\"Failed\",le=\"1\"} 0\n"
                     "omjob_duration_seconds_bucket{phase=\"Failed\",le=\"2.5\"} 0\n"
                     "omjob_duration_seconds_bucket{phase=\"Failed\",le=\"+Inf\"} 1\n"
                     "omjob_duration_seconds_sum{phase=\"Failed\"} 10\n"
                     "omjob_duration_seconds_count{phase=\"Failed\"} 1\n"
                     "# HELP omjob_pods_created_total Pods created by type.\n"
                     "# TYPE omjob_pods_created_total counter\n");
    double v = 0;
    CU_ASSERT_EQUAL(metrics_get(rec, (const char *const[]){"success"}, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 3, 0);
    CU_ASSERT_EQUAL(metrics_get(dur, (const char *const[]){"Succeeded"}, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 2, 0);
    CU_ASSERT_EQUAL(metrics_get(act, NULL, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 3, 0);
    CU_ASSERT_EQUAL(metrics_get(pods, (const char *const[]){"main"}, &v), -ENOENT);
    metrics_free(m);
}

static void test_default_buckets(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *h;
    CU_ASSERT_EQUAL_FATAL(metrics_histogram_new(m, "lat_seconds", "Latency.", NULL, 0, NULL, 0, &h),
                          0);
    /* A value equal to a bound falls in that bucket (le is "less or equal"). */
    CU_ASSERT_EQUAL(metrics_observe(h, 0.005), 0);
    CU_ASSERT_EQUAL(metrics_observe(h, 0.3), 0);
    CU_ASSERT_EQUAL(metrics_observe(h, 100), 0);
    expect_render(m, "# HELP lat_seconds Latency.\n"
                     "# TYPE lat_seconds histogram\n"
                     "lat_seconds_bucket{le=\"0.005\"} 1\n"
                     "lat_seconds_bucket{le=\"0.01\"} 1\n"
                     "lat_seconds_bucket{le=\"0.025\"} 1\n"
                     "lat_seconds_bucket{le=\"0.05\"} 1\n"
                     "lat_seconds_bucket{le=\"0.1\"} 1\n"
                     "lat_seconds_bucket{le=\"0.25\"} 1\n"
                     "lat_seconds_bucket{le=\"0.5\"} 2\n"
                     "lat_seconds_bucket{le=\"1\"} 2\n"
                     "lat_seconds_bucket{le=\"2.5\"} 2\n"
                     "lat_seconds_bucket{le=\"5\"} 2\n"
                     "lat_seconds_bucket{le=\"10\"} 2\n"
                     "lat_seconds_bucket{le=\"+Inf\"} 3\n"
                     "lat_seconds_sum 100.305\n"
                     "lat_seconds_count 3\n");
    metrics_free(m);
}

static void test_escaping(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *g;
    static const char *const l[] = {"path", "other"};
    CU_ASSERT_EQUAL_FATAL(
        metrics_gauge_new(m, "esc_test", "Help with \\ backslash\nand \"quotes\".", l, 2, &g), 0);
    CU_ASSERT_EQUAL(metrics_gauge_set(g, 1, "a\"b\\c\nd", ""), 0);
    CU_ASSERT_EQUAL(metrics_gauge_set(g, 2, "caf\xc3\xa9", "x"), 0);
    expect_render(m, "# HELP esc_test Help with \\\\ backslash\\nand \"quotes\".\n"
                     "# TYPE esc_test gauge\n"
                     "esc_test{path=\"a\\\"b\\\\c\\nd\",other=\"\"} 1\n"
                     "esc_test{path=\"caf\xc3\xa9\",other=\"x\"} 2\n");
    metrics_free(m);
}

static void test_floats(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *g;
    CU_ASSERT_EQUAL_FATAL(metrics_gauge_new(m, "f", "Floats.", (const char *const[]){"k"}, 1, &g),
                          0);
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.1, "0.1"},        {-0.5, "-0.5"},
        {1e20, "1e+20"},     {123456789012.0, "123456789012"},
        {1.5e-7, "1.5e-07"}, {1.0 / 3, "0.3333333333333333"},
        {INFINITY, "+Inf"},  {-INFINITY, "-Inf"},
        {NAN, "NaN"},        {0, "0"},
    };
    char want[1024] = "# HELP f Floats.\n# TYPE f gauge\n";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char k[8], line[96];
        snprintf(k, sizeof(k), "%zu", i);
        CU_ASSERT_EQUAL(metrics_gauge_set(g, cases[i].v, k), 0);
        snprintf(line, sizeof(line), "f{k=\"%zu\"} %s\n", i, cases[i].s);
        strncat(want, line, sizeof(want) - strlen(want) - 1);
    }
    expect_render(m, want);
    metrics_free(m);
}

static void test_const_label(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *c, *h;
    CU_ASSERT_EQUAL(metrics_const_label(m, "role", "reconciler-2"), 0);
    CU_ASSERT_EQUAL(metrics_const_label(m, "role", "again"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_const_label(m, "le", "x"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_const_label(m, "__name__", "x"), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "c_total", "C.", status_l, 1, &c), 0);
    CU_ASSERT_EQUAL_FATAL(
        metrics_histogram_new(m, "h", "H.", NULL, 0, (const double[]){1, INFINITY}, 2, &h), 0);
    /* A family label may not reuse the constant label, nor the reverse. */
    struct metrics_family *x;
    CU_ASSERT_EQUAL(metrics_counter_new(m, "x", "X.", (const char *const[]){"role"}, 1, &x),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_const_label(m, "status", "x"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1, "ok"), 0);
    CU_ASSERT_EQUAL(metrics_observe(h, 0.5), 0);
    expect_render(m, "# HELP c_total C.\n"
                     "# TYPE c_total counter\n"
                     "c_total{role=\"reconciler-2\",status=\"ok\"} 1\n"
                     "# HELP h H.\n"
                     "# TYPE h histogram\n"
                     "h_bucket{role=\"reconciler-2\",le=\"1\"} 1\n"
                     "h_bucket{role=\"reconciler-2\",le=\"+Inf\"} 1\n"
                     "h_sum{role=\"reconciler-2\"} 0.5\n"
                     "h_count{role=\"reconciler-2\"} 1\n");
    metrics_free(m);
}

static void test_registration_rules(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *a, *b;
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "a_total", "A.", status_l, 1, &a), 0);
    /* Same again: the same family. */
    CU_ASSERT_EQUAL(metrics_counter_new(m, "a_total", "A.", status_l, 1, &b), 0);
    CU_ASSERT_PTR_EQUAL(a, b);
    /* Different type or labels: refused, out untouched. */
    b = NULL;
    CU_ASSERT_EQUAL(metrics_gauge_new(m, "a_total", "A.", status_l, 1, &b), -EEXIST);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "a_total", "A.", phase_l, 1, &b), -EEXIST);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "a_total", "A.", NULL, 0, &b), -EEXIST);
    CU_ASSERT_PTR_NULL(b);
    /* Bad names, help, labels, buckets. */
    CU_ASSERT_EQUAL(metrics_counter_new(m, "1abc", "X.", NULL, 0, &b), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "a-b", "X.", NULL, 0, &b), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "", "X.", NULL, 0, &b), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "ok:name_1", "X.", NULL, 0, &b), 0);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "nohelp", "", NULL, 0, &b), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "x", "X.", (const char *const[]){"a:b"}, 1, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "x", "X.", (const char *const[]){"__x"}, 1, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "x", "X.", (const char *const[]){"a", "a"}, 2, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(m, "x", "X.", (const char *const[]){"le"}, 1, &b), 0);
    CU_ASSERT_EQUAL(
        metrics_histogram_new(m, "h", "H.", (const char *const[]){"le"}, 1, NULL, 0, &b), -EINVAL);
    CU_ASSERT_EQUAL(metrics_histogram_new(m, "h", "H.", NULL, 0, (const double[]){1, 1}, 2, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_histogram_new(m, "h", "H.", NULL, 0, (const double[]){2, 1}, 2, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(metrics_histogram_new(m, "h", "H.", NULL, 0, (const double[]){NAN}, 1, &b),
                    -EINVAL);
    CU_ASSERT_EQUAL(
        metrics_histogram_new(m, "h", "H.", NULL, 0, (const double[]){INFINITY, 1}, 2, &b),
        -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_new(NULL, "x", "X.", NULL, 0, &b), -EINVAL);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_update_rules(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *c, *g, *h;
    static const char *const two[] = {"a", "b"};
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "c_total", "C.", two, 2, &c), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_gauge_new(m, "g", "G.", NULL, 0, &g), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_histogram_new(m, "h", "H.", NULL, 0, NULL, 0, &h), 0);
    /* Wrong number of label values. */
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1, "x"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1, "x", "y", "z"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_gauge_set(g, 1, "extra"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_addv(c, 1, NULL), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_addv(c, 1, (const char *const[]){"x", NULL}), -EINVAL);
    /* Counters only go up, by finite amounts. */
    CU_ASSERT_EQUAL(metrics_counter_add(c, -1, "x", "y"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(c, INFINITY, "x", "y"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(c, NAN, "x", "y"), -EINVAL);
    /* Wrong family type. */
    CU_ASSERT_EQUAL(metrics_gauge_set(c, 1, "x", "y"), -EINVAL);
    CU_ASSERT_EQUAL(metrics_observe(g, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(h, 1), -EINVAL);
    CU_ASSERT_EQUAL(metrics_observe(h, NAN), -EINVAL);
    CU_ASSERT_EQUAL(metrics_counter_add(NULL, 1), -EINVAL);
    /* None of that created a child. */
    double v;
    CU_ASSERT_EQUAL(metrics_get(c, (const char *const[]){"x", "y"}, &v), -ENOENT);
    CU_ASSERT_EQUAL(metrics_counter_addv(c, 0, two), 0);
    CU_ASSERT_EQUAL(metrics_get(c, two, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 0, 0);
    metrics_free(m);
}

static void test_cardinality_limit(void)
{
    struct metrics *m = metrics_new();
    struct metrics_family *c;
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "c_total", "C.", status_l, 1, &c), 0);
    int rc = 0;
    for (int i = 0; i < METRICS_MAX_CHILDREN && rc == 0; i++) {
        char v[16];
        snprintf(v, sizeof(v), "%d", i);
        rc = metrics_counter_add(c, 1, v);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1, "one-too-many"), -ENOSPC);
    CU_ASSERT_EQUAL(metrics_counter_add(c, 1, "0"), 0); /* existing children still work */
    metrics_free(m);
}

struct worker {
    struct metrics_family *c, *h;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 5000; i++) {
        metrics_counter_add(w->c, 1, i % 2 == 0 ? "even" : "odd");
        metrics_observe(w->h, 0.01);
    }
    return NULL;
}

static void test_threads(void)
{
    struct metrics *m = metrics_new();
    struct worker w;
    CU_ASSERT_EQUAL_FATAL(metrics_counter_new(m, "c_total", "C.", status_l, 1, &w.c), 0);
    CU_ASSERT_EQUAL_FATAL(metrics_histogram_new(m, "h", "H.", NULL, 0, NULL, 0, &w.h), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, work, &w), 0);
    for (int i = 0; i < 4; i++) {
        char *s = NULL;
        CU_ASSERT_EQUAL(metrics_render(m, &s, NULL), 0);
        free(s);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    double v;
    CU_ASSERT_EQUAL(metrics_get(w.c, (const char *const[]){"even"}, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 10000, 0);
    CU_ASSERT_EQUAL(metrics_get(w.c, (const char *const[]){"odd"}, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 10000, 0);
    CU_ASSERT_EQUAL(metrics_get(w.h, NULL, &v), 0);
    CU_ASSERT_DOUBLE_EQUAL(v, 20000, 0);
    metrics_free(m);
}

/* One role's registry, rendered: the shapes httpd will merge. */
static char *role_text(const char *role, int shard)
{
    struct metrics *m = metrics_new();
    struct metrics_family *rec, *dur, *ev;
    char *s = NULL;
    metrics_const_label(m, "role", role);
    metrics_counter_new(m, "omjob_reconciliations_total", "Reconciliations by result.", status_l, 1,
                        &rec);
    if (shard < 0) {
        metrics_counter_new(m, "omjob_watch_events_total", "Watch events.", type_l, 1, &ev);
        metrics_counter_add(ev, 7, "ADDED");
    } else {
        metrics_histogram_new(m, "omjob_duration_seconds", "Duration.", NULL, 0,
                              (const double[]){10}, 1, &dur);
        metrics_counter_add(rec, shard + 1, "success");
        metrics_observe(dur, shard * 20 + 5);
    }
    CU_ASSERT_EQUAL(metrics_render(m, &s, NULL), 0);
    metrics_free(m);
    return s;
}

static void expect_merge(const char *const *texts, size_t n, int skipped, const char *want)
{
    char *got = NULL;
    CU_ASSERT_EQUAL(metrics_merge(texts, n, &got), skipped);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n--- got:\n%s--- want:\n%s---\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
}

static void test_merge_roles(void)
{
    char *t[3] = {role_text("watcher", -1), role_text("reconciler-0", 0),
                  role_text("reconciler-1", 1)};
    const char *const texts[4] = {t[0], t[1], NULL, t[2]};
    expect_merge(texts, 4, 0,
                 "# HELP omjob_duration_seconds Duration.\n"
                 "# TYPE omjob_duration_seconds histogram\n"
                 "omjob_duration_seconds_bucket{role=\"reconciler-0\",le=\"10\"} 1\n"
                 "omjob_duration_seconds_bucket{role=\"reconciler-0\",le=\"+Inf\"} 1\n"
                 "omjob_duration_seconds_sum{role=\"reconciler-0\"} 5\n"
                 "omjob_duration_seconds_count{role=\"reconciler-0\"} 1\n"
                 "omjob_duration_seconds_bucket{role=\"reconciler-1\",le=\"10\"} 0\n"
                 "omjob_duration_seconds_bucket{role=\"reconciler-1\",le=\"+Inf\"} 1\n"
                 "omjob_duration_seconds_sum{role=\"reconciler-1\"} 25\n"
                 "omjob_duration_seconds_count{role=\"reconciler-1\"} 1\n"
                 "# HELP omjob_reconciliations_total Reconciliations by result.\n"
                 "# TYPE omjob_reconciliations_total counter\n"
                 "omjob_reconciliations_total{role=\"reconciler-0\",status=\"success\"} 1\n"
                 "omjob_reconciliations_total{role=\"reconciler-1\",status=\"success\"} 2\n"
                 "# HELP omjob_watch_events_total Watch events.\n"
                 "# TYPE omjob_watch_events_total counter\n"
                 "omjob_watch_events_total{role=\"watcher\",type=\"ADDED\"} 7\n");
    /* Merging a merge changes nothing. */
    char *once = NULL, *twice = NULL;
    CU_ASSERT_EQUAL(metrics_merge(texts, 4, &once), 0);
    CU_ASSERT_EQUAL(metrics_merge((const char *const[]){once}, 1, &twice), 0);
    CU_ASSERT_STRING_EQUAL(once, twice);
    free(once);
    free(twice);
    for (int i = 0; i < 3; i++)
        free(t[i]);
}

static void test_merge_bad_inputs(void)
{
    static const char good[] = "# HELP a_total A.\n# TYPE a_total counter\na_total{r=\"1\"} 1\n";
    static const char *const bad[] = {
        "a_total{r=\"2\"} one\n",
        "a_total{r=\"2\" 1\n",
        "a_total{r=\"2\\x\"} 1\n",
        "a_total{r=2} 1\n",
        "a_total{=\"2\"} 1\n",
        "9a_total 1\n",
        "a_total 1 12x\n",
        "a_total\n",
        "a_total{r=\"2\"}1\n",
        "# TYPE a_total countr\n",
        "# TYPE a_total counter\n# TYPE a_total counter\n",
        "# HELP a_total x\n# HELP a_total y\n",
        "# HELP a_total bad \\escape\n",
        "# TYPE a_total gauge\na_total{r=\"2\"} 2\n", /* contradicts good's TYPE */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const texts[2] = {good, bad[i]};
        expect_merge(texts, 2, 1, good);
    }
    /* Tolerated: CRLF, blank lines, indentation, other comments, timestamps,
     * blanks inside braces, a trailing comma, no final newline. */
    static const char odd[] = "\r\n  # just a comment\r\n"
                              "  a_total{r=\"3\"} 3 1700000000000\r\n"
                              "a_total{ r = \"4\" , } +Inf";
    const char *const texts[2] = {good, odd};
    expect_merge(texts, 2, 0,
                 "# HELP a_total A.\n# TYPE a_total counter\na_total{r=\"1\"} 1\n"
                 "a_total{r=\"3\"} 3 1700000000000\na_total{ r = \"4\" , } +Inf\n");
    /* Nothing at all. */
    expect_merge(NULL, 0, 0, "");
    char *out = NULL;
    CU_ASSERT_EQUAL(metrics_merge(NULL, 1, &out), -EINVAL);
}

static void test_merge_grouping(void)
{
    /* The histogram's TYPE comes from the second input; the first input's samples
     * and an untyped metric still land in the right families, each contiguous. */
    static const char a[] = "h_bucket{role=\"a\",le=\"+Inf\"} 1\n"
                            "h_count{role=\"a\"} 1\n"
                            "zz_untyped 4\n"
                            "h_sum{role=\"a\"} 0.5\n";
    static const char b[] = "# HELP h H.\n# TYPE h histogram\n"
                            "h_bucket{role=\"b\",le=\"+Inf\"} 2\n"
                            "h_sum{role=\"b\"} 1\n"
                            "h_count{role=\"b\"} 2\n"
                            "# TYPE s summary\n"
                            "s{quantile=\"0.5\"} 1\n"
                            "s_sum 3\n"
                            "s_count 2\n"
                            "s_bucket 9\n";
    const char *const texts[2] = {a, b};
    expect_merge(texts, 2, 0,
                 "# HELP h H.\n# TYPE h histogram\n"
                 "h_bucket{role=\"a\",le=\"+Inf\"} 1\n"
                 "h_count{role=\"a\"} 1\n"
                 "h_sum{role=\"a\"} 0.5\n"
                 "h_bucket{role=\"b\",le=\"+Inf\"} 2\n"
                 "h_sum{role=\"b\"} 1\n"
                 "h_count{role=\"b\"} 2\n"
                 "# TYPE s summary\n"
                 "s{quantile=\"0.5\"} 1\n"
                 "s_sum 3\n"
                 "s_count 2\n"
                 "s_bucket 9\n"
                 "zz_untyped 4\n");
}

static int devnull = -1;

static int quiet_logs(void)
{
    /* Merge warnings are expected here; keep the test output readable. */
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_set_fd(devnull);
    return 0;
}

static int loud_logs(void)
{
    log_set_fd(-1);
    if (devnull >= 0)
        close(devnull);
    return 0;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("metrics", NULL, NULL);
    CU_pSuite sm = CU_add_suite("metrics_merge", quiet_logs, loud_logs);
    if (s == NULL || sm == NULL) {
        CU_cleanup_registry();
        return 2;
    }
    CU_add_test(s, "render counters, gauges, histograms", test_render_basic);
    CU_add_test(s, "default buckets", test_default_buckets);
    CU_add_test(s, "escaping", test_escaping);
    CU_add_test(s, "float forms", test_floats);
    CU_add_test(s, "constant label", test_const_label);
    CU_add_test(s, "registration rules", test_registration_rules);
    CU_add_test(s, "update rules", test_update_rules);
    CU_add_test(s, "cardinality limit", test_cardinality_limit);
    CU_add_test(s, "threads", test_threads);
    CU_add_test(sm, "three roles", test_merge_roles);
    CU_add_test(sm, "bad inputs left out", test_merge_bad_inputs);
    CU_add_test(sm, "grouping by family", test_merge_grouping);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return failures != 0 || err != CUE_SUCCESS ? 1 : 0;
}

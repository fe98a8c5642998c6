/* Unit tests of the watch stream splitter (kube/watchsplit) and the watch event
 * parser (kube/watchevent), on a recorded pod watch stream. */
#include "lib/kube/internal.h"
#include "lib/kube/watchevent.h"
#include "lib/kube/watchsplit.h"

#include "lib/common/json.h"
#include "lib/common/util.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned seed;

/* Lines collected from the splitter; an oversize report is stored as "<OVERSIZE>". */
struct lines {
    char *v[64];
    int n;
    int stop_at; /* return 7 when this many lines are collected (0: never) */
};

static int collect(void *ctx, enum kube_wsplit_what what, const char *line, size_t len)
{
    struct lines *l = ctx;
    CU_ASSERT_FATAL(l->n < 64);
    l->v[l->n++] = what == KUBE_WSPLIT_OVERSIZE ? strdup("<OVERSIZE>") : strndup(line, len);
    return l->stop_at != 0 && l->n == l->stop_at ? 7 : 0;
}

static void lines_free(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static char *load(const char *name, size_t *len)
{
    const char *dir = getenv("OMJOB_TEST_DATA");
    char path[1024];
    char *buf = NULL;
    snprintf(path, sizeof(path), "%s/kube/%s", dir ? dir : "tests/unit/data", name);
    if (util_file_read(path, 1 << 24, &buf, len) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    return buf;
}

/* Feeds the stream in chunks chosen by chunk(i) and returns the lines. */
static void split_in_chunks(const char *buf, size_t len, size_t max, unsigned mode,
                            struct lines *out)
{
    struct kube_wsplit *s;
    CU_ASSERT_FATAL(kube_wsplit_new(max, &s) == 0);
    size_t off = 0;
    while (off < len) {
        size_t n = mode == 0 ? len : mode == 1 ? 1 : 1 + (size_t)(rand_r(&seed) % 700);
        if (n > len - off)
            n = len - off;
        CU_ASSERT(kube_wsplit_feed(s, buf + off, n, collect, out) == 0);
        CU_ASSERT(kube_wsplit_pending(s) <= (max ? max : KUBE_WSPLIT_MAX_DEFAULT));
        off += n;
    }
    CU_ASSERT(kube_wsplit_finish(s, collect, out) == 0);
    kube_wsplit_free(s);
}

static void test_recorded_stream_chunkings(void)
{
    size_t len;
    char *buf = load("watch_pods.jsonl", &len);
    CU_ASSERT_FATAL(buf != NULL);
    struct lines whole = {0}, bytes = {0};
    split_in_chunks(buf, len, 0, 0, &whole);
    CU_ASSERT_EQUAL(whole.n, 9);
    split_in_chunks(buf, len, 0, 1, &bytes);
    CU_ASSERT_EQUAL_FATAL(bytes.n, whole.n);
    for (int i = 0; i < whole.n; i++)
        CU_ASSERT_STRING_EQUAL(bytes.v[i], whole.v[i]);
    for (int round = 0; round < 200; round++) {
        struct lines r = {0};
        split_in_chunks(buf, len, 0, 2, &r);
        CU_ASSERT_EQUAL_FATAL(r.n, whole.n);
        for (int i = 0; i < whole.n; i++)
            CU_ASSERT_STRING_EQUAL(r.v[i], whole.v[i]);
        lines_free(&r);
    }
    /* The lines decode to the recorded events. */
    static const enum kube_ev_type want[] = {KUBE_EV_ADDED,    KUBE_EV_MODIFIED, KUBE_EV_BOOKMARK,
                                             KUBE_EV_MODIFIED, KUBE_EV_ADDED,    KUBE_EV_MODIFIED,
                                             KUBE_EV_DELETED,  KUBE_EV_BOOKMARK, KUBE_EV_ERROR};
    static const char *const rvs[] = {"1001", "1002", "1010", "1011", "1012",
                                      "1013", "1014", "1020", NULL};
    struct kube_evparser *p;
    CU_ASSERT_FATAL(kube_evparser_new(&p) == 0);
    for (int i = 0; i < whole.n; i++) {
        struct kube_event ev;
        CU_ASSERT_FATAL(kube_evparser_parse(p, whole.v[i], strlen(whole.v[i]), &ev) == 0);
        CU_ASSERT_EQUAL(ev.type, want[i]);
        if (rvs[i] != NULL) {
            CU_ASSERT_STRING_EQUAL(ev.resource_version, rvs[i]);
        } else {
            CU_ASSERT_PTR_NULL(ev.resource_version);
        }
        kube_event_clear(&ev);
    }
    kube_evparser_free(p);
    lines_free(&whole);
    lines_free(&bytes);
    free(buf);
}

static void test_oversize_resync(void)
{
    char big[600];
    memset(big, 'x', sizeof(big));
    char stream[800];
    int n = snprintf(stream, sizeof(stream), "short\n%.*s\nafter\n", (int)sizeof(big), big);
    for (unsigned mode = 0; mode < 3; mode++) {
        for (int round = 0; round < (mode == 2 ? 50 : 1); round++) {
            struct lines l = {0};
            split_in_chunks(stream, (size_t)n, 100, mode, &l);
            CU_ASSERT_EQUAL_FATAL(l.n, 3);
            CU_ASSERT_STRING_EQUAL(l.v[0], "short");
            CU_ASSERT_STRING_EQUAL(l.v[1], "<OVERSIZE>");
            CU_ASSERT_STRING_EQUAL(l.v[2], "after");
            lines_free(&l);
        }
    }
}

static void test_oversize_boundary(void)
{
    struct kube_wsplit *s;
    struct lines l = {0};
    char line[102];
    CU_ASSERT_FATAL(kube_wsplit_new(100, &s) == 0);
    memset(line, 'a', 100);
    line[100] = '\n';
    CU_ASSERT(kube_wsplit_feed(s, line, 50, collect, &l) == 0);
    CU_ASSERT(kube_wsplit_feed(s, line + 50, 51, collect, &l) == 0); /* exactly max: kept */
    CU_ASSERT_EQUAL(l.n, 1);
    CU_ASSERT_EQUAL(strlen(l.v[0]), 100);
    memset(line, 'b', 101);
    line[101] = '\n';
    CU_ASSERT(kube_wsplit_feed(s, line, 102, collect, &l) == 0); /* max + 1: dropped */
    CU_ASSERT_EQUAL(l.n, 2);
    CU_ASSERT_STRING_EQUAL(l.v[1], "<OVERSIZE>");
    CU_ASSERT_EQUAL(kube_wsplit_oversize_count(s), 1);
    /* An oversize line without its newline yet: reported once, the rest skipped. */
    for (int i = 0; i < 10; i++)
        CU_ASSERT(kube_wsplit_feed(s, line, 101, collect, &l) == 0);
    CU_ASSERT_EQUAL(l.n, 3);
    CU_ASSERT_EQUAL(kube_wsplit_pending(s), 0);
    CU_ASSERT(kube_wsplit_feed(s, "tail\nok\n", 8, collect, &l) == 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    CU_ASSERT_STRING_EQUAL(l.v[3], "ok");
    lines_free(&l);
    kube_wsplit_free(s);
}

static void test_crlf_empty_stop_finish(void)
{
    struct kube_wsplit *s;
    struct lines l = {0};
    CU_ASSERT_FATAL(kube_wsplit_new(0, &s) == 0);
    CU_ASSERT(kube_wsplit_feed(s, "a\r\n\n\r\nb\nc", 9, collect, &l) == 0);
    CU_ASSERT_EQUAL(l.n, 2);
    CU_ASSERT_EQUAL(kube_wsplit_pending(s), 1);
    CU_ASSERT(kube_wsplit_finish(s, collect, &l) == 0);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    CU_ASSERT_STRING_EQUAL(l.v[0], "a");
    CU_ASSERT_STRING_EQUAL(l.v[1], "b");
    CU_ASSERT_STRING_EQUAL(l.v[2], "c");
    lines_free(&l);
    l.stop_at = 1;
    CU_ASSERT_EQUAL(kube_wsplit_feed(s, "x\ny\n", 4, collect, &l), 7);
    CU_ASSERT_EQUAL(l.n, 1);
    kube_wsplit_reset(s);
    lines_free(&l);
    kube_wsplit_free(s);
}

static int parse(struct kube_evparser *p, const char *line, struct kube_event *ev)
{
    return kube_evparser_parse(p, line, strlen(line), ev);
}

static void test_event_types(void)
{
    struct kube_evparser *p;
    struct kube_event ev;
    CU_ASSERT_FATAL(kube_evparser_new(&p) == 0);
    CU_ASSERT_FATAL(parse(p,
                          "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\","
                          "\"resourceVersion\":\"5\"}}}",
                          &ev) == 0);
    CU_ASSERT_EQUAL(ev.type, KUBE_EV_ADDED);
    CU_ASSERT_STRING_EQUAL(ev.resource_version, "5");
    CU_ASSERT_STRING_EQUAL(jx_str(ev.object, "metadata.name"), "a");
    CU_ASSERT_FALSE(kube_event_is_expired(&ev));
    kube_event_clear(&ev);
    kube_event_clear(&ev); /* twice is harmless */
    const char *types[] = {"MODIFIED", "DELETED", "BOOKMARK"};
    for (int i = 0; i < 3; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}},\"type\":\"%s\"}  ",
                 types[i]);
        CU_ASSERT_FATAL(parse(p, line, &ev) == 0);
        CU_ASSERT_EQUAL(ev.type, (enum kube_ev_type)(KUBE_EV_MODIFIED + i));
        CU_ASSERT_STRING_EQUAL(kube_ev_type_str(ev.type), types[i]);
        CU_ASSERT_STRING_EQUAL(ev.resource_version, "9");
        kube_event_clear(&ev);
    }
    kube_evparser_free(p);
}

static void test_event_errors(void)
{
    struct kube_evparser *p;
    struct kube_event ev;
    CU_ASSERT_FATAL(kube_evparser_new(&p) == 0);
    CU_ASSERT_FATAL(parse(p,
                          "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                          "\"v1\",\"status\":\"Failure\",\"message\":\"too old resource "
                          "version: 1 (2)\",\"reason\":\"Expired\",\"code\":410}}",
                          &ev) == 0);
    CU_ASSERT_EQUAL(ev.type, KUBE_EV_ERROR);
    CU_ASSERT_EQUAL(ev.status.http, 410);
    CU_ASSERT_STRING_EQUAL(ev.status.reason, "Expired");
    CU_ASSERT_STRING_EQUAL(ev.status.message, "too old resource version: 1 (2)");
    CU_ASSERT_TRUE(kube_event_is_expired(&ev));
    kube_event_clear(&ev);
    CU_ASSERT_FATAL(parse(p,
                          "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":504,"
                          "\"reason\":\"Timeout\",\"message\":\"Too large resource version: "
                          "9, current: 5\"}}",
                          &ev) == 0);
    CU_ASSERT_TRUE(kube_event_is_expired(&ev));
    kube_event_clear(&ev);
    CU_ASSERT_FATAL(parse(p,
                          "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                          "\"reason\":\"InternalError\",\"message\":\"etcd\"}}",
                          &ev) == 0);
    CU_ASSERT_FALSE(kube_event_is_expired(&ev));
    CU_ASSERT_EQUAL(ev.status.http, 500);
    kube_event_clear(&ev);
    const char *bad[] = {
        "",
        "not json",
        "{\"type\":\"ADDED\"}",
        "{\"object\":{}}",
        "{\"type\":\"SOMETHING\",\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":[]}",
        "{\"type\":7,\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{}}x",
        "{\"type\":\"ADDED\",\"object\":{}}{\"type\":\"ADDED\",\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{\"a\":",
        "[1,2]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&ev, 0x5a, sizeof(ev));
        CU_ASSERT_EQUAL(parse(p, bad[i], &ev), -EBADMSG);
    }
    /* The parser is reusable after errors. */
    CU_ASSERT_FATAL(parse(p, "{\"type\":\"DELETED\",\"object\":{}}", &ev) == 0);
    CU_ASSERT_PTR_NULL(ev.resource_version);
    kube_event_clear(&ev);
    kube_evparser_free(p);
}

/* An event's managedFields, only when asked, never seen by json-c: the object and
 * its resourceVersion as without the option, any other managedFields kept. */
static void test_event_drop_managed_fields(void)
{
    static const char line[] =
        "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
        "\"resourceVersion\":\"7\",\"managedFields\":[{\"manager\":\"kwok\",\"fieldsV1\":"
        "{\"f:status\":{\".\":{}}}}]},\"spec\":{\"managedFields\":\"kept\"}}}";
    struct kube_evparser *p;
    struct kube_event ev;
    CU_ASSERT_FATAL(kube_evparser_new(&p) == 0);
    CU_ASSERT_FATAL(kube_evparser_parse(p, line, strlen(line), &ev) == 0);
    CU_ASSERT_PTR_NOT_NULL(jx_get(ev.object, "metadata.managedFields"));
    kube_event_clear(&ev);
    kube_evparser_drop_managed_fields(p, true);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_FATAL(kube_evparser_parse(p, line, strlen(line), &ev) == 0);
        CU_ASSERT_EQUAL(ev.type, KUBE_EV_MODIFIED);
        CU_ASSERT_PTR_NULL(jx_get(ev.object, "metadata.managedFields"));
        CU_ASSERT_STRING_EQUAL(ev.resource_version, "7");
        CU_ASSERT_STRING_EQUAL(jx_str(ev.object, "metadata.name"), "p");
        CU_ASSERT_STRING_EQUAL(jx_str(ev.object, "spec.managedFields"), "kept");
        kube_event_clear(&ev);
    }
    /* A malformed line is still an error. */
    CU_ASSERT(kube_evparser_parse(p, line, strlen(line) - 1, &ev) == -EBADMSG);
    kube_evparser_free(p);
}

/* kube_evparser_cut: the object without the member, its text in ev.cut (valid
 * JSON, the member's value), with managedFields dropped too; an object without it
 * has cut NULL and is as without the option; a keep wins. */
static void test_event_cut(void)
{
    static const char line[] =
        "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"OMJob\",\"metadata\":{\"name\":\"o\","
        "\"resourceVersion\":\"9\",\"managedFields\":[{\"manager\":\"m\"}]},\"spec\":{\"a\":"
        "[1,{\"b\":\"}\"}],\"ttlSecondsAfterFinished\":5},\"status\":{\"phase\":\"Running\"}}}";
    static const char nospec[] =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"o\",\"resourceVersion\":\"3\"},"
        "\"status\":{\"spec\":1}}}";
    static const struct jx_keep keep[] = {{"metadata", NULL}, {NULL, NULL}};
    struct kube_evparser *p;
    struct kube_event ev;
    struct json_object *spec = NULL;
    CU_ASSERT_FATAL(kube_evparser_new(&p) == 0);
    kube_evparser_drop_managed_fields(p, true);
    kube_evparser_cut(p, "spec");
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_FATAL(kube_evparser_parse(p, line, strlen(line), &ev) == 0);
        CU_ASSERT_EQUAL(ev.type, KUBE_EV_MODIFIED);
        CU_ASSERT_STRING_EQUAL(ev.resource_version, "9");
        CU_ASSERT_PTR_NULL(jx_get(ev.object, "spec"));
        CU_ASSERT_PTR_NULL(jx_get(ev.object, "metadata.managedFields"));
        CU_ASSERT_STRING_EQUAL(jx_str(ev.object, "status.phase"), "Running");
        CU_ASSERT_FATAL(ev.cut != NULL && ev.cut >= line &&
                        ev.cut + ev.cut_len <= line + sizeof(line));
        CU_ASSERT_FATAL(jx_parse(ev.cut, ev.cut_len, &spec, NULL, 0) == 0);
        CU_ASSERT_EQUAL(jx_i64_or(spec, "ttlSecondsAfterFinished", 0), 5);
        CU_ASSERT_STRING_EQUAL(jx_str(spec, "a.1.b"), "}");
        json_object_put(spec);
        kube_event_clear(&ev);
        CU_ASSERT_PTR_NULL(ev.cut);
    }
    CU_ASSERT_FATAL(kube_evparser_parse(p, nospec, strlen(nospec), &ev) == 0);
    CU_ASSERT_PTR_NULL(ev.cut);
    CU_ASSERT_EQUAL(jx_i64_or(ev.object, "status.spec", 0), 1);
    kube_event_clear(&ev);
    /* A keep wins: nothing cut apart from what it does not name. */
    kube_evparser_keep(p, keep);
    CU_ASSERT_FATAL(kube_evparser_parse(p, line, strlen(line), &ev) == 0);
    CU_ASSERT_PTR_NULL(ev.cut);
    CU_ASSERT_PTR_NULL(jx_get(ev.object, "status"));
    kube_event_clear(&ev);
    kube_evparser_keep(p, NULL);
    /* A malformed line is still an error. */
    CU_ASSERT(kube_evparser_parse(p, line, strlen(line) - 1, &ev) == -EBADMSG);
    kube_evparser_free(p);
}

int main(void)
{
    const char *s = getenv("OMJOB_TEST_SEED");
    seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    printf("test_kube_watchsplit: seed %u (set OMJOB_TEST_SEED to repeat)\n", seed);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_watchsplit", NULL, NULL);
    CU_add_test(su, "recorded stream, any chunking", test_recorded_stream_chunkings);
    CU_add_test(su, "oversize line resync", test_oversize_resync);
    CU_add_test(su, "oversize boundary", test_oversize_boundary);
    CU_add_test(su, "crlf, empty lines, stop, finish", test_crlf_empty_stop_finish);
    CU_add_test(su, "event types", test_event_types);
    CU_add_test(su, "event errors", test_event_errors);
    CU_add_test(su, "event without managedFields", test_event_drop_managed_fields);
    CU_add_test(su, "event with its spec cut", test_event_cut);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    return rc;
}

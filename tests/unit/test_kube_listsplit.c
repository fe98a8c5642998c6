/* Unit tests of the LIST body splitter (kube/listsplit): items out one at a time
 * under any chunking, escapes and nesting, the document around the items, oversize
 * items, and truncated or malformed bodies. */
#include "lib/kube/listsplit.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned seed;

struct got {
    char *v[32];
    int n;
    int stop_at; /* return 9 when this many are collected (0: never) */
};

static int collect(void *ctx, enum kube_lsplit_what what, const char *item, size_t len)
{
    struct got *g = ctx;
    CU_ASSERT_FATAL(g->n < 32);
    if (what == KUBE_LSPLIT_OVERSIZE) {
        char *v = malloc(len + 12);
        snprintf(v, len + 12, "<OVERSIZE>%.*s", (int)len, item);
        g->v[g->n++] = v;
    } else {
        g->v[g->n++] = strndup(item, len);
    }
    return g->stop_at != 0 && g->n == g->stop_at ? 9 : 0;
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->v[i]);
    g->n = 0;
}

/* Feeds doc in chunks of random sizes (chunk 0) or of size chunk. */
static int feed_chunks(struct kube_lsplit *s, const char *doc, size_t chunk, struct got *g)
{
    size_t len = strlen(doc), off = 0;
    while (off < len) {
        size_t n = chunk ? chunk : 1 + (size_t)(rand_r(&seed) % 17);
        if (n > len - off)
            n = len - off;
        int rc = kube_lsplit_feed(s, doc + off, n, collect, g);
        if (rc != 0)
            return rc;
        off += n;
    }
    return 0;
}

static const char DOC[] =
    "{\"kind\":\"OMJobList\",\"apiVersion\":\"pipelines.openmetadata.org/v1\",\n"
    " \"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"tok\\\"en]}\"},\n"
    " \"items\":[\n"
    "  "
    "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"{[\\\\\\\"}}\"}},\"spec\":{\"l\":[1,[2,"
    "{}]]}},\n"
    "  {\"metadata\":{\"name\":\"b\"},\"items\":[{\"nested\":\"items\"}]}\n"
    " ],\"trailer\":{\"items\":[1]}}\n";

static void test_items_any_chunking(void)
{
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(0, 0, &s) == 0);
    size_t chunks[] = {1, 2, 3, 7, 64, 100000, 0, 0, 0, 0};
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct got g = {0};
        const char *rest;
        size_t rest_len;
        kube_lsplit_reset(s);
        CU_ASSERT_EQUAL(feed_chunks(s, DOC, chunks[k], &g), 0);
        CU_ASSERT_EQUAL_FATAL(g.n, 2);
        CU_ASSERT_STRING_EQUAL(
            g.v[0], "{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"{[\\\\\\\"}}\"}},"
                    "\"spec\":{\"l\":[1,[2,{}]]}}");
        CU_ASSERT_STRING_EQUAL(
            g.v[1], "{\"metadata\":{\"name\":\"b\"},\"items\":[{\"nested\":\"items\"}]}");
        CU_ASSERT_EQUAL(kube_lsplit_finish(s, &rest, &rest_len), 0);
        CU_ASSERT_EQUAL(strlen(rest), rest_len);
        CU_ASSERT_STRING_EQUAL(
            rest, "{\"kind\":\"OMJobList\",\"apiVersion\":\"pipelines.openmetadata.org/v1\","
                  "\"metadata\":{\"resourceVersion\":\"42\",\"continue\":\"tok\\\"en]}\"},"
                  "\"items\":[],\"trailer\":{\"items\":[1]}}");
        CU_ASSERT_EQUAL(kube_lsplit_items(s), 2);
        got_free(&g);
    }
    kube_lsplit_free(s);
}

static void test_empty_and_absent_items(void)
{
    const char *docs[] = {"{\"items\":[]}", "{\"metadata\":{}}", " {\"items\" : [ ] } \n",
                          "{\"kind\":\"x\",\"items\":null}"};
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(0, 0, &s) == 0);
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct got g = {0};
        const char *rest;
        size_t rl;
        kube_lsplit_reset(s);
        CU_ASSERT_EQUAL(feed_chunks(s, docs[i], 1, &g), 0);
        CU_ASSERT_EQUAL(g.n, 0);
        CU_ASSERT_EQUAL(kube_lsplit_finish(s, &rest, &rl), 0);
        got_free(&g);
    }
    kube_lsplit_free(s);
}

/* An item over max_item: reported once with its prefix, skipped, the next ones
 * come through; memory held stays near the limit. */
static void test_oversize(void)
{
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(32, 0, &s) == 0);
    char doc[4096];
    char big[2048];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(doc, sizeof(doc),
             "{\"items\":[{\"a\":1},{\"metadata\":{\"name\":\"big\"},\"s\":\"%s\"},{\"b\":2}]}",
             big);
    struct got g = {0};
    const char *rest;
    size_t rl;
    CU_ASSERT_EQUAL(feed_chunks(s, doc, 0, &g), 0);
    CU_ASSERT_EQUAL_FATAL(g.n, 3);
    CU_ASSERT_STRING_EQUAL(g.v[0], "{\"a\":1}");
    CU_ASSERT_STRING_EQUAL(g.v[1], "<OVERSIZE>{\"metadata\":{\"name\":\"big\"},\"s\":\"");
    CU_ASSERT_STRING_EQUAL(g.v[2], "{\"b\":2}");
    CU_ASSERT_EQUAL(kube_lsplit_oversize(s), 1);
    CU_ASSERT_EQUAL(kube_lsplit_items(s), 2);
    CU_ASSERT(kube_lsplit_held(s) <= 8192);
    CU_ASSERT_EQUAL(kube_lsplit_finish(s, &rest, &rl), 0);
    CU_ASSERT_STRING_EQUAL(rest, "{\"items\":[]}");
    got_free(&g);
    /* exactly max_item bytes is accepted */
    kube_lsplit_reset(s);
    const char *exact = "{\"items\":[{\"k\":\"012345678901234567890123\"}]}"; /* item: 32 bytes */
    CU_ASSERT_EQUAL(feed_chunks(s, exact, 0, &g), 0);
    CU_ASSERT_EQUAL_FATAL(g.n, 1);
    CU_ASSERT_EQUAL(strlen(g.v[0]), 32);
    got_free(&g);
    kube_lsplit_free(s);
}

/* Truncated at every byte: never a crash, never a complete document, and the items
 * delivered are exactly those complete before the cut. */
static void test_truncated(void)
{
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(0, 0, &s) == 0);
    size_t len = strlen(DOC);
    size_t end1 = (size_t)(strstr(DOC, "[2,{}]]}}") - DOC) + strlen("[2,{}]]}}");
    size_t end2 = (size_t)(strstr(DOC, "\"items\"}]}") - DOC) + strlen("\"items\"}]}");
    for (size_t cut = 0; cut < len - 2; cut++) { /* the last bytes are "}\n" */
        struct got g = {0};
        const char *rest;
        size_t rl;
        kube_lsplit_reset(s);
        CU_ASSERT_EQUAL(kube_lsplit_feed(s, DOC, cut, collect, &g), 0);
        CU_ASSERT_EQUAL(kube_lsplit_finish(s, &rest, &rl), -EBADMSG);
        CU_ASSERT_EQUAL(g.n, (cut >= end1) + (cut >= end2));
        got_free(&g);
    }
    kube_lsplit_free(s);
}

static void test_malformed(void)
{
    const char *bad[] = {
        "[{\"items\":[]}]",        /* not an object */
        "{\"items\":[1,2]}",       /* items that are not objects */
        "{\"items\":[{\"a\":1]]}", /* mismatched brackets inside an item */
        "{\"items\":[]}}",         /* one close too many */
        "{\"items\":[]} x",        /* garbage after the document */
        "nope",
    };
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(0, 16, &s) == 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct got g = {0};
        const char *rest;
        size_t rl;
        kube_lsplit_reset(s);
        int rc = feed_chunks(s, bad[i], 0, &g);
        if (rc == 0)
            rc = kube_lsplit_finish(s, &rest, &rl);
        CU_ASSERT_EQUAL(rc, -EBADMSG);
        /* failed stays failed until reset */
        CU_ASSERT_EQUAL(kube_lsplit_feed(s, "{", 1, collect, &g), -EBADMSG);
        got_free(&g);
    }
    /* the document around the items over max_rest (16) */
    struct got g = {0};
    kube_lsplit_reset(s);
    CU_ASSERT_EQUAL(
        feed_chunks(s, "{\"metadata\":{\"continue\":\"0123456789\"},\"items\":[]}", 0, &g), -E2BIG);
    /* an item that balances but is not JSON is delivered: the parser rejects it */
    kube_lsplit_reset(s);
    CU_ASSERT_EQUAL(feed_chunks(s, "{\"items\":[{\"a\":},{}]}", 0, &g), 0);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_STRING_EQUAL(g.v[0], "{\"a\":}");
    got_free(&g);
    /* nesting deeper than followed */
    char deep[5000];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "{\"items\":[");
    for (int i = 0; i < 1100; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    kube_lsplit_reset(s);
    CU_ASSERT_EQUAL(feed_chunks(s, deep, 0, &g), -EBADMSG);
    got_free(&g);
    kube_lsplit_free(s);
}

static void test_stop(void)
{
    struct kube_lsplit *s;
    CU_ASSERT_FATAL(kube_lsplit_new(0, 0, &s) == 0);
    struct got g = {.stop_at = 1};
    CU_ASSERT_EQUAL(kube_lsplit_feed(s, DOC, strlen(DOC), collect, &g), 9);
    CU_ASSERT_EQUAL(g.n, 1);
    got_free(&g);
    CU_ASSERT_STRING_EQUAL(kube_lsplit_what_str(KUBE_LSPLIT_ITEM), "item");
    kube_lsplit_free(s);
    kube_lsplit_free(NULL);
}

int main(void)
{
    const char *e = getenv("OMJOB_TEST_SEED");
    seed = e ? (unsigned)strtoul(e, NULL, 10) : (unsigned)time(NULL);
    printf("test_kube_listsplit: seed %u (set OMJOB_TEST_SEED to repeat)\n", seed);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_listsplit", NULL, NULL);
    CU_add_test(su, "items, any chunking", test_items_any_chunking);
    CU_add_test(su, "empty and absent items", test_empty_and_absent_items);
    CU_add_test(su, "oversize item", test_oversize);
    CU_add_test(su, "truncated at every byte", test_truncated);
    CU_add_test(su, "malformed documents", test_malformed);
    CU_add_test(su, "callback stop", test_stop);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    return rc;
}

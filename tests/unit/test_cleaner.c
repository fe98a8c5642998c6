/* Unit tests for cleaner/ttl: an OMJob's expiry from its JSON (phases, missing
 * and invalid fields, default TTL, deletion in progress), the retry backoff, the
 * Event message, and the key table with its min-heap (against a brute-force
 * model under random operations, and the resync sweep). */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/cleaner/ttl.h"
#include "lib/common/json.h"
#include "lib/ipc/msg.h"
#include "model/objects.h"

static struct json_object *parse(const char *s)
{
    struct json_object *o = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_parse(s, strlen(s), &o, NULL, 0), 0);
    return o;
}

/* The same OMJob as the cleaner now learns it: the watcher's cached facts
 * (wc_obj_parse, wc_obj_ttl) through a "ttl" hint's wire form. ttl_eval_hint must
 * give what ttl_eval gave (rc, s) on the OMJob itself. */
static void check_hint_path(struct json_object *omj, int rc, const struct ttl_state *s)
{
    struct json_object *copy = NULL;
    struct wc_obj *o = NULL;
    struct ipc_hint h = {.kind = IPC_KIND_OMJOB, .seq = 7, .key = "ns/j", .has_ttl = true};
    struct ipc_hint back;
    struct ttl_state t;
    uint8_t buf[IPC_HINT_MAX];
    size_t len;
    CU_ASSERT_FATAL(json_object_deep_copy(omj, &copy, NULL) == 0);
    CU_ASSERT_FATAL(wc_obj_parse(copy, &o) == 0);
    CU_ASSERT_FATAL(wc_obj_ttl(o, &h.ttl) == 0);
    CU_ASSERT_FATAL(ipc_hint_encode(&h, buf, sizeof(buf), &len) == 0);
    CU_ASSERT_FATAL(ipc_hint_decode(buf, len, &back) == 0);
    CU_ASSERT(back.has_ttl);
    int hrc = ttl_eval_hint(&back.ttl, &t);
    CU_ASSERT_EQUAL(hrc, rc);
    if (rc == 0 && hrc == 0) {
        CU_ASSERT_STRING_EQUAL(t.uid, s->uid);
        CU_ASSERT(t.finished == s->finished && t.deleting == s->deleting);
        CU_ASSERT_EQUAL(t.ttl_s, s->ttl_s);
        if (s->finished) {
            CU_ASSERT_EQUAL(t.completion_ms, s->completion_ms);
            CU_ASSERT_EQUAL(t.expiry_ms, s->expiry_ms);
        }
    }
    free(o);
    json_object_put(copy);
}

/* ttl_eval of an OMJob with this phase, completionTime, TTL (JSON text or NULL)
 * and extra metadata (JSON members or ""). */
static int eval(const char *phase, const char *completion, const char *ttl, const char *meta,
                struct ttl_state *s, struct json_object **keep)
{
    char buf[1024], spec[128] = "", status[256] = "";
    if (ttl != NULL)
        snprintf(spec, sizeof(spec), ",\"ttlSecondsAfterFinished\":%s", ttl);
    snprintf(status, sizeof(status), "{%s%s%s%s%s%s%s}", phase ? "\"phase\":\"" : "",
             phase ? phase : "", phase ? "\"" : "", phase && completion ? "," : "",
             completion ? "\"completionTime\":\"" : "", completion ? completion : "",
             completion ? "\"" : "");
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"j\",\"namespace\":\"ns\",\"uid\":\"u-1\","
             "\"resourceVersion\":\"5\"%s},"
             "\"spec\":{\"mainPodSpec\":{}%s},\"status\":%s}",
             meta, spec, status);
    *keep = parse(buf);
    int rc = ttl_eval(*keep, s);
    check_hint_path(*keep, rc, s);
    return rc;
}

static void test_eval(void)
{
    struct ttl_state s;
    struct json_object *o;
    const int64_t t0 = 1795599087000LL; /* 2026-11-25T09:31:27Z */

    CU_ASSERT_EQUAL(eval("Succeeded", "2026-11-25T09:31:27Z", "3", "", &s, &o), 0);
    CU_ASSERT(s.finished && !s.deleting && ttl_due(&s));
    CU_ASSERT_STRING_EQUAL(s.uid, "u-1");
    CU_ASSERT_STRING_EQUAL(s.completion, "2026-11-25T09:31:27Z");
    CU_ASSERT_EQUAL(s.completion_ms, t0);
    CU_ASSERT_EQUAL(s.ttl_s, 3);
    CU_ASSERT_EQUAL(s.expiry_ms, t0 + 3000);
    json_object_put(o);

    /* Failed counts; 0 is "at once"; fractions and offsets are honoured. */
    CU_ASSERT_EQUAL(eval("Failed", "2026-11-25T10:31:27.5+01:00", "0", "", &s, &o), 0);
    CU_ASSERT(ttl_due(&s));
    CU_ASSERT_EQUAL(s.expiry_ms, t0 + 500);
    json_object_put(o);

    /* Absent TTL: the CRD default, one day. */
    CU_ASSERT_EQUAL(eval("Succeeded", "2026-11-25T09:31:27Z", NULL, "", &s, &o), 0);
    CU_ASSERT_EQUAL(s.ttl_s, 86400);
    CU_ASSERT_EQUAL(s.expiry_ms, t0 + 86400000LL);
    json_object_put(o);
    /* Large TTLs do not overflow. */
    CU_ASSERT_EQUAL(eval("Succeeded", "2026-11-25T09:31:27Z", "2147483647", "", &s, &o), 0);
    CU_ASSERT_EQUAL(s.expiry_ms, t0 + 2147483647000LL);
    json_object_put(o);

    /* Not finished: other phases, no completionTime, an unparsable one. */
    static const char *const phases[] = {"Pending", "Running", "ExitHandlerRunning", "", NULL};
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        CU_ASSERT_EQUAL(eval(phases[i], "2026-11-25T09:31:27Z", "3", "", &s, &o), 0);
        CU_ASSERT(!s.finished && !ttl_due(&s));
        json_object_put(o);
    }
    CU_ASSERT_EQUAL(eval("Succeeded", NULL, "3", "", &s, &o), 0);
    CU_ASSERT(!s.finished && s.completion == NULL);
    json_object_put(o);
    CU_ASSERT_EQUAL(eval("Succeeded", "yesterday", "3", "", &s, &o), 0);
    CU_ASSERT(!s.finished);
    json_object_put(o);

    /* Already being deleted: finished but not due. */
    CU_ASSERT_EQUAL(eval("Succeeded", "2026-11-25T09:31:27Z", "3",
                         ",\"deletionTimestamp\":\"2026-11-25T09:31:28Z\"", &s, &o),
                    0);
    CU_ASSERT(s.finished && s.deleting && !ttl_due(&s));
    json_object_put(o);

    /* Invalid TTLs (the CRD rejects them) are never acted on. */
    static const char *const bad[] = {"-1", "\"3\"", "1.5", "2147483648", "true", "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = eval("Succeeded", "2026-11-25T09:31:27Z", bad[i], "", &s, &o);
        if (strcmp(bad[i], "null") == 0) {
            CU_ASSERT(rc == 0 && s.ttl_s == 86400); /* null is absent */
        } else {
            CU_ASSERT_EQUAL(rc, -EINVAL);
        }
        json_object_put(o);
    }
    /* No uid. */
    o = parse("{\"metadata\":{\"name\":\"j\"},\"status\":{\"phase\":\"Failed\","
              "\"completionTime\":\"2026-11-25T09:31:27Z\"}}");
    CU_ASSERT_EQUAL(ttl_eval(o, &s), -EINVAL);
    json_object_put(o);
    /* From a hint: an empty uid, an OMJob gone, a TTL there but not an integer. */
    struct ipc_ttl t = {.flags = IPC_TTL_PRESENT | IPC_TTL_FINISHED, .completion_ms = t0};
    CU_ASSERT_EQUAL(ttl_eval_hint(&t, &s), -EINVAL);
    snprintf(t.uid, sizeof(t.uid), "u-1");
    CU_ASSERT_EQUAL(ttl_eval_hint(&t, &s), 0);
    CU_ASSERT(s.finished && s.ttl_s == 86400 && s.expiry_ms == t0 + 86400000LL && ttl_due(&s));
    t.flags |= IPC_TTL_BAD;
    CU_ASSERT_EQUAL(ttl_eval_hint(&t, &s), -EINVAL);
    struct ipc_ttl gone = {0};
    CU_ASSERT_EQUAL(ttl_eval_hint(&gone, &s), -EINVAL);
}

static void test_backoff_message(void)
{
    char m[160];
    CU_ASSERT_EQUAL(ttl_backoff_ms(1), 1000);
    CU_ASSERT_EQUAL(ttl_backoff_ms(2), 2000);
    CU_ASSERT_EQUAL(ttl_backoff_ms(5), 16000);
    CU_ASSERT_EQUAL(ttl_backoff_ms(6), 30000);
    CU_ASSERT_EQUAL(ttl_backoff_ms(1000), 30000);
    ttl_message(m, sizeof(m), 10000, 13250, 3);
    CU_ASSERT_STRING_EQUAL(m, "deleted 3.2 s after completion (ttlSecondsAfterFinished=3)");
    ttl_message(m, sizeof(m), 10000, 9000, 0);
    CU_ASSERT_STRING_EQUAL(m, "deleted 0.0 s after completion (ttlSecondsAfterFinished=0)");
}

static void test_table_basics(void)
{
    struct ttl_table *t;
    CU_ASSERT_EQUAL_FATAL(ttl_table_new(&t), 0);
    CU_ASSERT_PTR_NULL(ttl_peek(t));
    struct ttl_entry *a = ttl_add(t, "ns/a"), *b = ttl_add(t, "ns/b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_EQUAL(ttl_add(t, "ns/a"), a);
    CU_ASSERT_PTR_EQUAL(ttl_find(t, "ns/b"), b);
    CU_ASSERT_PTR_NULL(ttl_find(t, "ns/c"));
    CU_ASSERT_EQUAL(ttl_count(t), 2);
    CU_ASSERT(!ttl_scheduled(a));

    CU_ASSERT_EQUAL(ttl_schedule(t, a, 500), 0);
    CU_ASSERT_EQUAL(ttl_schedule(t, b, 300), 0);
    CU_ASSERT_PTR_EQUAL(ttl_peek(t), b);
    CU_ASSERT_EQUAL(ttl_schedule(t, b, 900), 0); /* later: a first */
    CU_ASSERT_PTR_EQUAL(ttl_peek(t), a);
    CU_ASSERT_EQUAL(ttl_nscheduled(t), 2);
    ttl_unschedule(t, a);
    ttl_unschedule(t, a); /* no-op */
    CU_ASSERT_PTR_EQUAL(ttl_peek(t), b);
    CU_ASSERT_EQUAL(ttl_nscheduled(t), 1);

    /* Sweep: keys not stamped by the last resync go, scheduled or not. */
    a->te_stamp = 7;
    b->te_stamp = 6;
    a->te_revision = b->te_revision = 42;
    ttl_invalidate(t);
    CU_ASSERT(a->te_revision == 0 && b->te_revision == 0);
    CU_ASSERT_EQUAL(ttl_sweep(t, 7), 1);
    CU_ASSERT_PTR_NULL(ttl_find(t, "ns/b"));
    CU_ASSERT_PTR_NULL(ttl_peek(t));
    CU_ASSERT_EQUAL(ttl_count(t), 1);
    ttl_forget(t, a);
    CU_ASSERT_EQUAL(ttl_count(t), 0);
    ttl_table_free(t);
    ttl_table_free(NULL);
}

/* Random schedule, reschedule, unschedule, forget and pop on 3000 keys (the hash
 * map grows several times), checked against a plain array after every step. */
#define NKEYS 3000
static void test_table_random(void)
{
    struct ttl_table *t;
    static int64_t model[NKEYS]; /* -1: not scheduled; -2: not in the table */
    char key[32];
    unsigned seed = 12345;
    CU_ASSERT_EQUAL_FATAL(ttl_table_new(&t), 0);
    for (int i = 0; i < NKEYS; i++)
        model[i] = -2;
    bool ok = true;
    for (int step = 0; step < 60000 && ok; step++) {
        int k = rand_r(&seed) % NKEYS, op = rand_r(&seed) % 10;
        snprintf(key, sizeof(key), "ns-%d/omjob-%d", k % 7, k);
        struct ttl_entry *e = ttl_find(t, key);
        ok &= (e == NULL) == (model[k] == -2);
        if (op < 5) {
            int64_t at = rand_r(&seed) % 100000;
            e = ttl_add(t, key);
            ok &= e != NULL && ttl_schedule(t, e, at) == 0;
            model[k] = at;
        } else if (op < 7 && e != NULL) {
            ttl_unschedule(t, e);
            model[k] = -1;
        } else if (op < 8 && e != NULL) {
            ttl_forget(t, e);
            model[k] = -2;
        } else if (op < 10 && (e = ttl_peek(t)) != NULL) {
            int64_t min = -1;
            for (int i = 0; i < NKEYS; i++)
                if (model[i] >= 0 && (min < 0 || model[i] < min))
                    min = model[i];
            ok &= e->te_at_ms == min;
            int j;
            ok &= sscanf(e->te_key, "ns-%*d/omjob-%d", &j) == 1 && model[j] == min;
            ttl_unschedule(t, e);
            model[j] = -1;
        }
        size_t nsched = 0, count = 0;
        for (int i = 0; i < NKEYS; i++) {
            nsched += model[i] >= 0;
            count += model[i] != -2;
        }
        ok &= ttl_nscheduled(t) == nsched && ttl_count(t) == count;
        if (!ok)
            fprintf(stderr, "  mismatch at step %d\n", step);
    }
    CU_ASSERT(ok);
    /* Draining pops in order. */
    int64_t last = -1;
    struct ttl_entry *e;
    while ((e = ttl_peek(t)) != NULL) {
        CU_ASSERT(e->te_at_ms >= last);
        last = e->te_at_ms;
        ttl_unschedule(t, e);
    }
    ttl_table_free(t);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"expiry from an OMJob's JSON", test_eval},
        {"backoff and the Event message", test_backoff_message},
        {"table: add, find, schedule, sweep", test_table_basics},
        {"table: random operations against a model", test_table_random},
        {NULL, NULL},
    };
    return unit_run("cleaner", NULL, NULL, tests);
}

/* Unit tests of the Events snapshot for the first passes after a start
 * (roles/reconciler/evsnap.c) against a fake API server: one LIST of the
 * namespace's OMJob Events, counted by OMJob uid for this shard's OMJobs only;
 * the ExitHandlerCreated messages kept for the backfill's search; a refused LIST
 * says why and keeps nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "support/fakeapi.h"
#include "support/unit.h"

#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "roles/reconciler/evsnap.h"

static struct fakeapi *api;
static struct kube_client *kc;

static void client_new(void)
{
    char yaml[1024], err[256];
    struct kube_config *cfg = NULL;
    struct kube_client_opts o = {.max_attempts = 1};
    fakeapi_reset(api);
    fakeapi_kubeconfig(api, yaml, sizeof(yaml));
    CU_ASSERT_EQUAL_FATAL(kube_config_parse(yaml, strlen(yaml), "/", "t", &cfg, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL_FATAL(kube_client_new(cfg, &o, &kc), 0);
}

static void client_free(void)
{
    kube_client_free(kc);
    kc = NULL;
}

#define EV(name, uid, reason, msg)                                                                 \
    "{\"metadata\":{\"name\":\"" name "." reason "\"},\"involvedObject\":{\"kind\":\"OMJob\","     \
    "\"name\":\"" name "\",\"uid\":\"" uid "\"},\"reason\":\"" reason "\",\"message\":\"" msg      \
    "\"}"

static const char *LIST =
    "{\"kind\":\"EventList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"},"
    "\"items\":[" /* */
    EV("a", "uid-a", "MainPodCreated", "created main pod a-main") "," EV(
        "a", "uid-a", "MainPodCompleted",
        "main pod a-main ended: Completed (exit code 0)") "," EV("a", "uid-a", "ExitHandlerCreated",
                                                                 "created exit handler pod a-exit "
                                                                 "(attempt 1)") "," EV("a", "uid-a",
                                                                                       "ExitHandler"
                                                                                       "Created",
                                                                                       "created "
                                                                                       "exit "
                                                                                       "handler "
                                                                                       "pod "
                                                                                       "a-exit-2 "
                                                                                       "(attempt "
                                                                                       "2)") "," EV("b",
                                                                                                    "uid-b",
                                                                                                    "OMJobCompleted",
                                                                                                    "done") "," /* */
    EV("b", "uid-b", "OMJobFailed", "failed") "," /* */
    EV("b", "uid-b", "Other", "x") "]}";

static void test_counts(void)
{
    client_new();
    fakeapi_reply(api, 200, LIST);
    struct evsnap *s = NULL;
    struct kube_err e;
    CU_ASSERT_EQUAL_FATAL(evsnap_take(kc, "ns", 0, 1, &s, &e), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1);
    /* One LIST of the namespace, of Events about OMJobs only. */
    const char *line = fakeapi_line(api, 0);
    CU_ASSERT(strncmp(line, "GET /api/v1/namespaces/ns/events?", 33) == 0);
    CU_ASSERT(strstr(line, "fieldSelector=involvedObject.kind%3DOMJob") != NULL);
    CU_ASSERT_STRING_EQUAL(evsnap_ns(s), "ns");
    CU_ASSERT_EQUAL(evsnap_count(s), 2);
    struct evsnap_seen a, b, c;
    evsnap_get(s, "uid-a", &a);
    evsnap_get(s, "uid-b", &b);
    evsnap_get(s, "uid-c", &c);
    CU_ASSERT_EQUAL(a.main_created, 1);
    CU_ASSERT_EQUAL(a.main_completed, 1);
    CU_ASSERT_EQUAL(a.completed, 0);
    CU_ASSERT_EQUAL(a.failed, 0);
    CU_ASSERT_STRING_EQUAL(a.exit_msgs, "created exit handler pod a-exit (attempt 1)\n"
                                        "created exit handler pod a-exit-2 (attempt 2)\n");
    CU_ASSERT_EQUAL(b.main_created, 0);
    CU_ASSERT_EQUAL(b.completed, 1);
    CU_ASSERT_EQUAL(b.failed, 1);
    CU_ASSERT_STRING_EQUAL(b.exit_msgs, "");
    /* An OMJob with no Event: all zero. */
    CU_ASSERT_EQUAL(c.main_created + c.main_completed + c.completed + c.failed, 0);
    CU_ASSERT_STRING_EQUAL(c.exit_msgs, "");
    evsnap_free(s);
    client_free();
}

/* Each reconciler keeps the Events of its own shard's OMJobs only. */
static void test_shard(void)
{
    int sa = util_shard_of("ns", "a", 4), sb = util_shard_of("ns", "b", 4);
    for (int shard = 0; shard < 4; shard++) {
        client_new();
        fakeapi_reply(api, 200, LIST);
        struct evsnap *s = NULL;
        struct kube_err e;
        CU_ASSERT_EQUAL_FATAL(evsnap_take(kc, "ns", shard, 4, &s, &e), 0);
        struct evsnap_seen a, b;
        evsnap_get(s, "uid-a", &a);
        evsnap_get(s, "uid-b", &b);
        CU_ASSERT_EQUAL(a.main_created, shard == sa ? 1 : 0);
        CU_ASSERT_EQUAL(b.completed, shard == sb ? 1 : 0);
        CU_ASSERT_EQUAL(evsnap_count(s), (size_t)((shard == sa) + (shard == sb)));
        evsnap_free(s);
        client_free();
    }
}

static void test_refused(void)
{
    client_new();
    fakeapi_status(api, 403, "Forbidden", "events is forbidden");
    struct evsnap *s = (struct evsnap *)&s;
    struct kube_err e;
    CU_ASSERT_EQUAL(evsnap_take(kc, "ns", 0, 1, &s, &e), -EPERM);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(e.http, 403);
    client_free();
    evsnap_free(NULL);
}

/* One OMJob's Events (a single key's restart check): its uid selected, the same
 * counting, whatever shard the name falls in. */
static void test_one(void)
{
    client_new();
    fakeapi_reply(api, 200, LIST);
    struct evsnap *s = NULL;
    struct kube_err e;
    CU_ASSERT_EQUAL_FATAL(evsnap_take_one(kc, "ns", "uid-a", &s, &e), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 1);
    CU_ASSERT(strstr(fakeapi_line(api, 0), "fieldSelector=involvedObject.uid%3Duid-a") != NULL);
    struct evsnap_seen a;
    evsnap_get(s, "uid-a", &a);
    CU_ASSERT_EQUAL(a.main_created, 1);
    CU_ASSERT_EQUAL(a.main_completed, 1);
    CU_ASSERT_STRING_EQUAL(a.exit_msgs, "created exit handler pod a-exit (attempt 1)\n"
                                        "created exit handler pod a-exit-2 (attempt 2)\n");
    evsnap_free(s);
    client_free();
}

static int suite_init(void)
{
    return fakeapi_start(&api);
}

static int suite_clean(void)
{
    fakeapi_stop(api);
    return 0;
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"one LIST, counted by OMJob uid", test_counts},
        {"only the shard's OMJobs", test_shard},
        {"a refused LIST keeps nothing", test_refused},
        {"one OMJob's Events", test_one},
        {NULL, NULL},
    };
    return unit_run("reconciler_evsnap", suite_init, suite_clean, tests);
}

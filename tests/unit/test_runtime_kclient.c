/* Unit tests of a role's API client factory (runtime/kclient.c): the client comes
 * from $KUBECONFIG and talks to the server named there; a kubeconfig that cannot be
 * loaded is an error with a sentence naming it, and no client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/fakeapi.h"
#include "support/unit.h"

#include "lib/common/cfg.h"
#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"
#include "runtime/kclient.h"

static char dir[64];
static char path[128];

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_from_kubeconfig(void)
{
    struct fakeapi *api = NULL;
    char yaml[1024], err[256] = "";
    struct cfg c = {.kube_qps = 50, .kube_burst = 10};
    struct kube_client_opts o = {.max_attempts = 1};
    struct kube_client *cl = NULL;
    struct kube_err e;
    CU_ASSERT_EQUAL_FATAL(fakeapi_start(&api), 0);
    fakeapi_kubeconfig(api, yaml, sizeof(yaml));
    write_file(yaml);
    setenv("KUBECONFIG", path, 1);
    CU_ASSERT_EQUAL_FATAL(kclient_new(&c, NULL, &o, &cl, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    fakeapi_reply(api, 200, "{\"kind\":\"Namespace\"}");
    const struct kube_ref ns = {.gv = "v1", .plural = "namespaces", .name = "default"};
    CU_ASSERT_EQUAL(kube_get(cl, &ns, NULL, &e), 0);
    CU_ASSERT_STRING_EQUAL(fakeapi_line(api, 0), "GET /api/v1/namespaces/default");
    kube_client_free(cl); /* the fake serves one connection at a time */
    /* opts may be NULL: the defaults, and still this server. */
    struct kube_client *cl2 = NULL;
    CU_ASSERT_EQUAL_FATAL(kclient_new(&c, NULL, NULL, &cl2, err, sizeof(err)), 0);
    fakeapi_reply(api, 200, "{}");
    CU_ASSERT_EQUAL(kube_get(cl2, &ns, NULL, &e), 0);
    CU_ASSERT_EQUAL(fakeapi_nreqs(api), 2);
    kube_client_free(cl2);
    fakeapi_stop(api);
    unlink(path);
}

static void test_bad_kubeconfig(void)
{
    char err[256] = "";
    struct cfg c = {.kube_qps = 50, .kube_burst = 10};
    struct kube_client *cl = (struct kube_client *)&cl;
    setenv("KUBECONFIG", path, 1); /* not there */
    int rc = kclient_new(&c, NULL, NULL, &cl, err, sizeof(err));
    CU_ASSERT(rc < 0);
    CU_ASSERT_PTR_EQUAL(cl, (struct kube_client *)&cl); /* untouched */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    err[0] = '\0';
    write_file("clusters: [this is not: a kubeconfig\n");
    rc = kclient_new(&c, NULL, NULL, &cl, err, sizeof(err));
    CU_ASSERT(rc < 0);
    CU_ASSERT_PTR_EQUAL(cl, (struct kube_client *)&cl);
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
    unlink(path);
}

static int init(void)
{
    snprintf(dir, sizeof(dir), "/tmp/omjob-kclient-test-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/kubeconfig", dir);
    return 0;
}

static int clean(void)
{
    unlink(path);
    return rmdir(dir);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"client from $KUBECONFIG", test_from_kubeconfig},
        {"bad or missing kubeconfig", test_bad_kubeconfig},
        {NULL, NULL},
    };
    return unit_run("runtime_kclient", init, clean, tests);
}

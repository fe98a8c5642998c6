/* Unit tests of httpd's queries to the roles' control sockets (roles/httpd/gather.c):
 * a kept client per role; a call that times out against a pid of the role its
 * client never had an answer from gets the role a new client, once per pid, and
 * never for a pid that did answer (a stopped role, not a restarted one). The
 * control socket here is a REP server of this process at the role's endpoint. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/unit.h"

#include "lib/ipc/endpoints.h"
#include "lib/ipc/ipc.h"
#include "lib/ipc/reqrep.h"
#include "roles/httpd/gather.h"

static char dir[64];

static int answer(void *arg, const struct ipc_msg *req, struct ipc_reply *rep)
{
    (void)arg;
    (void)req;
    rep->type = IPC_CTL_HEALTH_REPLY;
    rep->body = NULL;
    rep->len = 0;
    return 0;
}

static struct ipc_rep *serve(const char *role)
{
    char url[IPC_URL_MAX];
    struct ipc_rep *r = NULL;
    CU_ASSERT_FATAL(ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_CTL, role) == 0);
    CU_ASSERT_FATAL(ipc_rep_open(&r, url, 1, answer, NULL) == 0);
    return r;
}

/* One call to role as process pid; its rc (the reply freed). */
static int ask(struct httpd_gather *g, const char *role, long pid, int timeout_ms)
{
    struct httpd_query q = {.hq_role = role, .hq_type = IPC_CTL_HEALTH, .hq_pid = pid};
    httpd_gather_call(g, &q, 1, timeout_ms);
    ipc_msg_free(q.hq_reply);
    return q.hq_rc;
}

/* rc of a call that is answered within a few seconds (the client dials in the
 * background: the first calls after a server appears may still time out). */
static int ask_until_answered(struct httpd_gather *g, const char *role, long pid)
{
    int rc = -ETIMEDOUT;
    for (int i = 0; i < 20 && rc == -ETIMEDOUT; i++)
        rc = ask(g, role, pid, 250);
    return rc;
}

static void test_renewal(void)
{
    struct httpd_gather *g = NULL;
    CU_ASSERT_FATAL(httpd_gather_new(dir, &g) == 0);
    /* Nobody listens: pid 10 never answered, so one new client, and only one. */
    CU_ASSERT_EQUAL(ask(g, "r", 10, 100), -ETIMEDOUT);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 1);
    CU_ASSERT_EQUAL(ask(g, "r", 10, 100), -ETIMEDOUT);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 1);
    /* It listens: the (new) client reaches it; pid 10 and then 11 answer. */
    struct ipc_rep *srv = serve("r");
    CU_ASSERT_EQUAL(ask_until_answered(g, "r", 10), 0);
    CU_ASSERT_EQUAL(ask(g, "r", 11, 2000), 0);
    /* Stopped (no answers) under a pid that answered: no new client. */
    ipc_rep_close(srv);
    CU_ASSERT_EQUAL(ask(g, "r", 11, 100), -ETIMEDOUT);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 1);
    /* Restarted as pid 12 and not reached: a new client, which reaches it. */
    CU_ASSERT_EQUAL(ask(g, "r", 12, 100), -ETIMEDOUT);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 2);
    srv = serve("r");
    CU_ASSERT_EQUAL(ask_until_answered(g, "r", 12), 0);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 2);
    /* No pid known (a role run by hand): never renewed. */
    CU_ASSERT_EQUAL(ask(g, "other", 0, 100), -ETIMEDOUT);
    CU_ASSERT_EQUAL(httpd_gather_renewals(g), 2);
    ipc_rep_close(srv);
    httpd_gather_free(g);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"a new client for a restarted role it cannot reach, once per pid", test_renewal},
        {NULL, NULL},
    };
    snprintf(dir, sizeof(dir), "/tmp/omjob-gather.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    int rc = unit_run("httpd_gather", NULL, NULL, tests);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    ipc_fini();
    return rc;
}

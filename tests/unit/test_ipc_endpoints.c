/* Unit tests of endpoint URLs and topic names. */
#include <errno.h>
#include <string.h>

#include "test_ipc_helpers.h"

static void test_urls(void)
{
    char url[IPC_URL_MAX];
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, NULL), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/hints.pub");
    /* One publisher per topic: a subscriber's socket carries only its hints. */
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, "shard.3"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/hints-shard.3.pub");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, "ttl"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/hints-ttl.pub");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, "../x"), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, ".."), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, ""), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, "Ttl"), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x/", IPC_EP_TRUTH, NULL), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/truth.rep");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_CTL, "reconciler-3"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/ctl-reconciler-3.rep");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_TRUTH, "ignored"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/truth.rep");
    CU_ASSERT_STRING_EQUAL(ipc_endpoint_str(IPC_EP_CTL), "CTL");
    CU_ASSERT_STRING_EQUAL(ipc_endpoint_str((enum ipc_endpoint)42), "UNKNOWN");
}

static void test_url_errors(void)
{
    char url[IPC_URL_MAX];
    snprintf(url, sizeof(url), "untouched");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "relative", IPC_EP_HINTS, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/r", IPC_EP_CTL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/r", IPC_EP_CTL, "Watcher"), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/r", IPC_EP_CTL, "../x"), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/r", (enum ipc_endpoint)9, NULL), -EINVAL);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, 10, "/r", IPC_EP_HINTS, NULL), -ENOSPC);
    /* The socket path must fit sockaddr_un (107 bytes). */
    char dir[200] = "/";
    memset(dir + 1, 'd', 96);
    dir[97] = '\0'; /* 97 + "/hints.pub" (10) = 107: fits */
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_HINTS, NULL), 0);
    CU_ASSERT_EQUAL(strlen(url), 6 + 107);
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_CTL, "watcher"), -ENAMETOOLONG);
    CU_ASSERT_EQUAL(ipc_role_check("watcher"), 0);
    CU_ASSERT_EQUAL(ipc_role_check(""), -EINVAL);
    CU_ASSERT_EQUAL(ipc_role_check("a-very-long-role-name-longer-than-32"), -EINVAL);
}

static void test_topics(void)
{
    char t[32];
    CU_ASSERT_EQUAL(ipc_topic_shard(t, sizeof(t), 3), 0);
    CU_ASSERT_STRING_EQUAL(t, "shard.3");
    CU_ASSERT_EQUAL(ipc_topic_shard(t, sizeof(t), 4000000000u), 0);
    CU_ASSERT_STRING_EQUAL(t, "shard.4000000000");
    CU_ASSERT_EQUAL(ipc_topic_shard(t, 7, 3), -ENOSPC);
    CU_ASSERT_EQUAL(ipc_topic_check(IPC_TOPIC_TTL, strlen(IPC_TOPIC_TTL)), 0);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"endpoint urls", test_urls},
        {"endpoint url errors", test_url_errors},
        {"topic names", test_topics},
        {NULL, NULL},
    };
    return run_suite("ipc_endpoints", tests);
}

/* Unit tests of endpoint URLs, topic names and the run directory checks. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_ipc_helpers.h"

static void test_urls(void)
{
    char url[IPC_URL_MAX];
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_HINTS, NULL), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/hints.pub");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x/", IPC_EP_TRUTH, NULL), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/truth.rep");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_CTL, "reconciler-3"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/ctl-reconciler-3.rep");
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), "/run/x", IPC_EP_SUPERVISOR, "ignored"), 0);
    CU_ASSERT_STRING_EQUAL(url, "ipc:///run/x/supervisor.rep");
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
    CU_ASSERT_EQUAL(ipc_endpoint_url(url, sizeof(url), dir, IPC_EP_SUPERVISOR, NULL),
                    -ENAMETOOLONG);
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

static void test_rundir_create(void)
{
    char base[64], dir[96];
    CU_ASSERT_EQUAL_FATAL(tmp_rundir(base, sizeof(base)), 0);
    snprintf(dir, sizeof(dir), "%s/run", base);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), 0);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(dir, &st), 0);
    CU_ASSERT(S_ISDIR(st.st_mode));
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), 0); /* exists: fine */
    CU_ASSERT_EQUAL(ipc_rundir_prepare("relative/dir"), -EINVAL);
    snprintf(dir, sizeof(dir), "%s/missing/run", base);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), -ENOENT);
    rmdir(dir);
    snprintf(dir, sizeof(dir), "%s/run", base);
    rmdir(dir);
    rmdir(base);
}

static void test_rundir_refused(void)
{
    char base[64], dir[96], link[96];
    CU_ASSERT_EQUAL_FATAL(tmp_rundir(base, sizeof(base)), 0);
    snprintf(dir, sizeof(dir), "%s/open", base);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    chmod(dir, 0750); /* group readable */
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), -EPERM);
    chmod(dir, 0701); /* world searchable */
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), -EPERM);
    chmod(dir, 0700);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), 0);
    if (geteuid() == 0) { /* only root can give a directory away */
        CU_ASSERT_EQUAL(chown(dir, 65534, 65534), 0);
        CU_ASSERT_EQUAL(ipc_rundir_prepare(dir), -EPERM);
    }
    snprintf(link, sizeof(link), "%s/link", base);
    CU_ASSERT_EQUAL(symlink(dir, link), 0);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(link), -ENOTDIR);
    unlink(link);
    snprintf(link, sizeof(link), "%s/file", base);
    int fd = open(link, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(ipc_rundir_prepare(link), -ENOTDIR);
    unlink(link);
    rmdir(dir);
    rmdir(base);
}

static void test_rundir_default(void)
{
    char dir[256];
    const char *old = getenv("XDG_RUNTIME_DIR");
    char saved[256] = "";
    if (old != NULL)
        snprintf(saved, sizeof(saved), "%s", old);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    CU_ASSERT_EQUAL(ipc_rundir_default(dir, sizeof(dir)), 0);
    CU_ASSERT_STRING_EQUAL(dir, "/run/user/1000/omjob-operator");
    setenv("XDG_RUNTIME_DIR", "relative", 1);
    CU_ASSERT_EQUAL(ipc_rundir_default(dir, sizeof(dir)), 0);
    char want[64];
    snprintf(want, sizeof(want), "/tmp/omjob-operator-%ld", (long)geteuid());
    CU_ASSERT_STRING_EQUAL(dir, want);
    CU_ASSERT_EQUAL(ipc_rundir_default(dir, 5), -ENOSPC);
    if (old != NULL)
        setenv("XDG_RUNTIME_DIR", saved, 1);
    else
        unsetenv("XDG_RUNTIME_DIR");
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"endpoint urls", test_urls},
        {"endpoint url errors", test_url_errors},
        {"topic names", test_topics},
        {"run dir created 0700", test_rundir_create},
        {"run dir refused when not private", test_rundir_refused},
        {"default run dir", test_rundir_default},
        {NULL, NULL},
    };
    return run_suite("ipc_endpoints", tests);
}

/* Endpoint URLs, topic names and the run directory check (no NNG here). */
#include "lib/ipc/endpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/log.h"

const char *ipc_endpoint_str(enum ipc_endpoint ep)
{
    switch (ep) {
    case IPC_EP_HINTS:
        return "HINTS";
    case IPC_EP_TRUTH:
        return "TRUTH";
    case IPC_EP_CTL:
        return "CTL";
    case IPC_EP_SUPERVISOR:
        return "SUPERVISOR";
    }
    return "UNKNOWN";
}

int ipc_role_check(const char *role)
{
    if (role == NULL)
        return -EINVAL;
    size_t len = strnlen(role, IPC_ROLE_MAX + 1);
    if (len == 0 || len > IPC_ROLE_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = role[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return -EINVAL;
    }
    return 0;
}

/* The file name of ep inside the run directory, into name. */
static int endpoint_name(char *name, size_t cap, enum ipc_endpoint ep, const char *role)
{
    int n;
    switch (ep) {
    case IPC_EP_HINTS:
        n = snprintf(name, cap, "hints.pub");
        break;
    case IPC_EP_TRUTH:
        n = snprintf(name, cap, "truth.rep");
        break;
    case IPC_EP_CTL:
        if (ipc_role_check(role) != 0)
            return -EINVAL;
        n = snprintf(name, cap, "ctl-%s.rep", role);
        break;
    case IPC_EP_SUPERVISOR:
        n = snprintf(name, cap, "supervisor.rep");
        break;
    default:
        return -EINVAL;
    }
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

int ipc_endpoint_url(char *buf, size_t cap, const char *rundir, enum ipc_endpoint ep,
                     const char *role)
{
    char name[IPC_ROLE_MAX + 16];
    if (buf == NULL || rundir == NULL || rundir[0] != '/')
        return -EINVAL;
    int rc = endpoint_name(name, sizeof(name), ep, role);
    if (rc != 0)
        return rc;
    size_t dlen = strlen(rundir);
    while (dlen > 1 && rundir[dlen - 1] == '/')
        dlen--;
    if (dlen + 1 + strlen(name) > IPC_PATH_MAX)
        return -ENAMETOOLONG;
    char url[IPC_URL_MAX];
    int n = snprintf(url, sizeof(url), "ipc://%.*s/%s", (int)dlen, rundir, name);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    memcpy(buf, url, (size_t)n + 1);
    return 0;
}

int ipc_topic_shard(char *buf, size_t cap, unsigned shard)
{
    if (buf == NULL)
        return -EINVAL;
    char topic[32];
    int n = snprintf(topic, sizeof(topic), IPC_TOPIC_SHARD_PREFIX "%u", shard);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    memcpy(buf, topic, (size_t)n + 1);
    return 0;
}

/* Checks an open directory: ours, and private. */
static int rundir_check_fd(const char *dir, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        char uid[24], mode[8];
        snprintf(uid, sizeof(uid), "%ld", (long)st.st_uid);
        snprintf(mode, sizeof(mode), "%03o", (unsigned)(st.st_mode & 0777));
        log_warn("ipc run directory is not private", "dir", dir, "owner", uid, "mode", mode, NULL);
        return -EPERM;
    }
    return 0;
}

int ipc_rundir_prepare(const char *dir)
{
    if (dir == NULL || dir[0] != '/')
        return -EINVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    /* O_NOFOLLOW: a symlink planted in place of the directory is refused. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = rundir_check_fd(dir, fd);
    close(fd);
    return rc;
}

int ipc_rundir_default(char *buf, size_t cap)
{
    if (buf == NULL)
        return -EINVAL;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char dir[4096];
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/omjob-operator", xdg);
    else
        n = snprintf(dir, sizeof(dir), "/tmp/omjob-operator-%ld", (long)geteuid());
    if (n < 0 || (size_t)n >= sizeof(dir) || (size_t)n >= cap)
        return -ENOSPC;
    memcpy(buf, dir, (size_t)n + 1);
    return 0;
}

/* Endpoint URLs and topic names (no NNG here). */
#include "lib/ipc/endpoints.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ipc_endpoint_str(enum ipc_endpoint ep)
{
    switch (ep) {
    case IPC_EP_HINTS:
        return "HINTS";
    case IPC_EP_TRUTH:
        return "TRUTH";
    case IPC_EP_CTL:
        return "CTL";
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

/* A hint topic that may name a socket file: 1..IPC_ROLE_MAX bytes of [a-z0-9.-],
 * not starting with '.'. */
static int topic_file_check(const char *topic)
{
    size_t len = strnlen(topic, IPC_ROLE_MAX + 1);
    if (len == 0 || len > IPC_ROLE_MAX || topic[0] == '.')
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
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
        if (role == NULL)
            n = snprintf(name, cap, "hints.pub");
        else if (topic_file_check(role) == 0)
            n = snprintf(name, cap, "hints-%s.pub", role);
        else
            return -EINVAL;
        break;
    case IPC_EP_TRUTH:
        n = snprintf(name, cap, "truth.rep");
        break;
    case IPC_EP_CTL:
        if (ipc_role_check(role) != 0)
            return -EINVAL;
        n = snprintf(name, cap, "ctl-%s.rep", role);
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

/* Every IPC endpoint and topic name, and the private run directory that holds the
 * ipc:// sockets. Look a socket up here by its name. */
#ifndef OMJOB_LIB_IPC_ENDPOINTS_H
#define OMJOB_LIB_IPC_ENDPOINTS_H

#include <stddef.h>

/* The sockets, all under the run directory:
 *   IPC_EP_HINTS       ipc://<rundir>/hints.pub       watcher publishes hints (PUB)
 *   IPC_EP_TRUTH       ipc://<rundir>/truth.rep       watcher answers queries (REP)
 *   IPC_EP_CTL         ipc://<rundir>/ctl-<role>.rep  each role: health, metrics (REP)
 *   IPC_EP_SUPERVISOR  ipc://<rundir>/supervisor.rep  hello/ready, status, stop (REP)
 * The side named first listens; everyone else dials. */
enum ipc_endpoint {
    IPC_EP_HINTS,
    IPC_EP_TRUTH,
    IPC_EP_CTL,
    IPC_EP_SUPERVISOR,
};

/* Hint topics: "shard.<i>" for reconciler shard i, "ttl" for the cleaner. */
#define IPC_TOPIC_SHARD_PREFIX "shard."
#define IPC_TOPIC_TTL "ttl"
/* Request and reply topics on req/rep sockets (set by the library). */
#define IPC_TOPIC_REQ "req"
#define IPC_TOPIC_REP "rep"

/* A sockaddr_un path holds 107 bytes: URLs are at most "ipc://" + 107. */
#define IPC_PATH_MAX 107
#define IPC_URL_MAX (6 + IPC_PATH_MAX + 1)
#define IPC_ROLE_MAX 32

/* "HINTS", "TRUTH", "CTL", "SUPERVISOR"; "UNKNOWN" otherwise. */
const char *ipc_endpoint_str(enum ipc_endpoint ep);

/* 0 if role is 1..IPC_ROLE_MAX bytes of [a-z0-9-] ("watcher", "reconciler-3"),
 * else -EINVAL. */
int ipc_role_check(const char *role);

/* Writes the URL of ep into buf. role is used (and required) only for IPC_EP_CTL.
 * rundir must be absolute. -EINVAL on bad arguments, -ENAMETOOLONG if the socket
 * path would not fit a sockaddr_un, -ENOSPC if cap is too small (IPC_URL_MAX fits). */
int ipc_endpoint_url(char *buf, size_t cap, const char *rundir, enum ipc_endpoint ep,
                     const char *role);

/* Writes "shard.<shard>" into buf. -ENOSPC if cap is too small. */
int ipc_topic_shard(char *buf, size_t cap, unsigned shard);

/* Creates dir (mode 0700, the parent must exist) if missing, then checks it is a
 * directory, not a symlink, owned by the effective uid and not accessible by group
 * or others. 0, -EPERM (wrong owner or mode), -ENOTDIR (not a directory, or a
 * symlink) or another negative errno from mkdir/open. Called by the supervisor
 * before it forks. */
int ipc_rundir_prepare(const char *dir);

/* Writes the default run directory into buf: $XDG_RUNTIME_DIR/omjob-operator when
 * XDG_RUNTIME_DIR is an absolute path, else /tmp/omjob-operator-<euid>.
 * -ENOSPC if cap is too small. */
int ipc_rundir_default(char *buf, size_t cap);

#endif

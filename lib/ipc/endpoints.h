/* Every IPC endpoint and topic name. Look a socket up here by its name. The
 * sockets live in one private run directory (OMJOB_RUN_DIR) that this library
 * neither creates nor checks: the supervisor does before it forks the roles,
 * and the watcher before it listens (rundir_prepare, runtime/rundir.h). */
#ifndef OMJOB_LIB_IPC_ENDPOINTS_H
#define OMJOB_LIB_IPC_ENDPOINTS_H

#include <stddef.h>

/* The sockets, all under the run directory:
 *   IPC_EP_HINTS  ipc://<rundir>/hints-<topic>.pub  watcher publishes one topic's
 *                                                 hints (PUB); hints.pub: any topics
 *                                                 (tests, tools)
 *   IPC_EP_TRUTH  ipc://<rundir>/truth.rep       watcher answers queries (REP)
 *   IPC_EP_CTL    ipc://<rundir>/ctl-<role>.rep  each role: health, metrics (REP)
 * The side named first listens; everyone else dials. The supervisor has no
 * socket: a role reports READY on a pipe (runtime/role.h), the supervisor stops
 * it with signals and publishes the roles' states in the status file
 * (runtime/statusfile.h). */
enum ipc_endpoint {
    IPC_EP_HINTS,
    IPC_EP_TRUTH,
    IPC_EP_CTL,
};

/* Hint topics: "shard.<i>" for reconciler shard i, "ttl" for the cleaner, "cron"
 * for the scheduler (CronOMJob keys: a CronOMJob's changes and those of the
 * OMJobs it controls). */
#define IPC_TOPIC_SHARD_PREFIX "shard."
#define IPC_TOPIC_TTL "ttl"
#define IPC_TOPIC_CRON "cron"
/* Request and reply topics on req/rep sockets (set by the library). */
#define IPC_TOPIC_REQ "req"
#define IPC_TOPIC_REP "rep"

/* A sockaddr_un path holds 107 bytes: URLs are at most "ipc://" + 107. */
#define IPC_PATH_MAX 107
#define IPC_URL_MAX (6 + IPC_PATH_MAX + 1)
#define IPC_ROLE_MAX 32

/* "HINTS", "TRUTH", "CTL"; "UNKNOWN" otherwise. */
const char *ipc_endpoint_str(enum ipc_endpoint ep);

/* 0 if role is 1..IPC_ROLE_MAX bytes of [a-z0-9-] ("watcher", "reconciler-3"),
 * else -EINVAL. */
int ipc_role_check(const char *role);

/* Writes the URL of ep into buf. role is required for IPC_EP_CTL (the role); for
 * IPC_EP_HINTS it is the topic ([a-z0-9.-], "shard.3", "ttl") or NULL (hints.pub).
 * rundir must be absolute. -EINVAL on bad arguments, -ENAMETOOLONG if the socket
 * path would not fit a sockaddr_un, -ENOSPC if cap is too small (IPC_URL_MAX fits). */
int ipc_endpoint_url(char *buf, size_t cap, const char *rundir, enum ipc_endpoint ep,
                     const char *role);

/* Writes "shard.<shard>" into buf. -ENOSPC if cap is too small. */
int ipc_topic_shard(char *buf, size_t cap, unsigned shard);

#endif

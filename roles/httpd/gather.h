/* httpd's queries to the roles' control sockets: one client per role, opened once
 * (and once more after a restart of the role it cannot reach), and a call to
 * several roles at once, each on its own thread, under one deadline. */
#ifndef OMJOB_ROLES_HTTPD_GATHER_H
#define OMJOB_ROLES_HTTPD_GATHER_H

#include <stddef.h>

#include "lib/ipc/msg.h"

struct httpd_gather;

/* One query: set role and type (and pid, the role's process as the supervisor
 * reports it; 0: unknown); the call fills rc and reply (the caller frees it with
 * ipc_msg_free; NULL unless rc is 0). */
struct httpd_query {
    const char *hq_role;
    enum ipc_type hq_type;
    long hq_pid;
    int hq_rc;
    struct ipc_msg *hq_reply;
};

/* 0 or -ENOMEM. run_dir is copied. */
int httpd_gather_new(const char *run_dir, struct httpd_gather **out);
/* Closes every client. NULL is a no-op. */
void httpd_gather_free(struct httpd_gather *g);

/* Asks all n queries in parallel and returns when all have answered or failed,
 * at most about timeout_ms later. Thread-safe. A reply of IPC_REQ_ERROR turns into
 * its error code in hq_rc. */
void httpd_gather_call(struct httpd_gather *g, struct httpd_query *q, size_t n, int timeout_ms);

/* How many times a role got a new client because its kept one could not reach
 * the role's new process (gather.c). */
unsigned httpd_gather_renewals(struct httpd_gather *g);

#endif

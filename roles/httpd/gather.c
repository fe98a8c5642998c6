/* httpd's parallel queries to the roles' control sockets (see gather.h). Clients
 * are opened once per role and kept: closing one while a late reply arrives can
 * hit NNG 1.5.2's close hang (lib/ipc/reqrep.h).
 *
 * One exception. A client whose role restarted sometimes never reaches the new
 * process: every call times out while a new client reaches it at once (seen in
 * process_httpd under ASan, ~1 run in 3: after a role was SIGKILLed, /readyz
 * stayed 503 until httpd itself restarted; the same NNG 1.5.2 dialer redialling a
 * process that died mid-handshake, like nanomsg/nng#1518 on the listener side,
 * lib/ipc/internal.h). So a call that times out against a pid the client has
 * never had an answer from gets the role a new client, once per pid; the old one
 * is retired, not closed (another call may still hold it), and closed with the
 * rest. At most one per restart of a role. */
#include "roles/httpd/gather.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/reqrep.h"

#define GATHER_ROLES_MAX 128
/* Each query thread only waits on NNG: a small stack keeps httpd small. */
#define GATHER_STACK (128 * 1024)

struct gather_client {
    char gc_role[IPC_ROLE_MAX + 1];
    struct ipc_req *gc_req;
    long gc_answered; /* the pid the last answer came from; 0: none yet */
    long gc_renewed;  /* the pid this client was opened for after a timeout */
};

struct retired {
    struct retired *r_next;
    struct ipc_req *r_req;
};

struct httpd_gather {
    char g_run_dir[IPC_PATH_MAX + 1];
    pthread_mutex_t g_mu;
    struct gather_client g_clients[GATHER_ROLES_MAX];
    int g_n;
    struct retired *g_retired;
    unsigned g_renewals;
};

int httpd_gather_new(const char *run_dir, struct httpd_gather **out)
{
    struct httpd_gather *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    if (util_strlcpy(g->g_run_dir, run_dir, sizeof(g->g_run_dir)) != 0) {
        free(g);
        return -ENAMETOOLONG;
    }
    pthread_mutex_init(&g->g_mu, NULL);
    *out = g;
    return 0;
}

void httpd_gather_free(struct httpd_gather *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->g_n; i++)
        ipc_req_close(g->g_clients[i].gc_req);
    while (g->g_retired != NULL) {
        struct retired *r = g->g_retired;
        g->g_retired = r->r_next;
        ipc_req_close(r->r_req);
        free(r);
    }
    pthread_mutex_destroy(&g->g_mu);
    free(g);
}

static struct gather_client *find(struct httpd_gather *g, const char *role)
{
    for (int i = 0; i < g->g_n; i++)
        if (strcmp(g->g_clients[i].gc_role, role) == 0)
            return &g->g_clients[i];
    return NULL;
}

/* The client of role, opened at its first use. Borrowed from g. */
static int client_of(struct httpd_gather *g, const char *role, struct ipc_req **out)
{
    char url[IPC_URL_MAX];
    int rc = 0;
    pthread_mutex_lock(&g->g_mu);
    struct gather_client *gc = find(g, role);
    if (gc != NULL) {
        *out = gc->gc_req;
        goto out;
    }
    rc = -ENOSPC;
    if (g->g_n == GATHER_ROLES_MAX)
        goto out;
    rc = ipc_endpoint_url(url, sizeof(url), g->g_run_dir, IPC_EP_CTL, role);
    if (rc == 0)
        rc = ipc_req_open(&g->g_clients[g->g_n].gc_req, url);
    if (rc != 0)
        goto out;
    util_strlcpy(g->g_clients[g->g_n].gc_role, role, sizeof(g->g_clients[0].gc_role));
    *out = g->g_clients[g->g_n++].gc_req;
out:
    pthread_mutex_unlock(&g->g_mu);
    return rc;
}

/* After a call with client c to role (process pid) that ended with rc: remembers
 * who answered, or gives the role a new client when c timed out against a pid it
 * never had an answer from (see the top of this file). */
static void after_call(struct httpd_gather *g, const char *role, long pid, struct ipc_req *c,
                       int rc)
{
    char url[IPC_URL_MAX];
    struct ipc_req *fresh = NULL;
    struct retired *r = NULL;
    pthread_mutex_lock(&g->g_mu);
    struct gather_client *gc = find(g, role);
    if (gc == NULL || gc->gc_req != c || pid <= 0)
        goto out;
    if (rc != -ETIMEDOUT) {
        if (rc == 0)
            gc->gc_answered = pid;
        goto out;
    }
    if (gc->gc_answered == pid || gc->gc_renewed == pid ||
        ipc_endpoint_url(url, sizeof(url), g->g_run_dir, IPC_EP_CTL, role) != 0 ||
        (r = calloc(1, sizeof(*r))) == NULL || ipc_req_open(&fresh, url) != 0) {
        free(r);
        goto out;
    }
    r->r_req = gc->gc_req;
    r->r_next = g->g_retired;
    g->g_retired = r;
    gc->gc_req = fresh;
    gc->gc_renewed = pid;
    g->g_renewals++;
    log_warn("no answer from a restarted role on its control socket: a new client for it", "role",
             role, NULL);
out:
    pthread_mutex_unlock(&g->g_mu);
}

struct gather_job {
    struct httpd_gather *j_g;
    struct httpd_query *j_q;
    int j_timeout_ms;
};

static void query_one(struct httpd_gather *g, struct httpd_query *q, int timeout_ms)
{
    struct ipc_req *c;
    struct ipc_msg *rep = NULL;
    q->hq_reply = NULL;
    q->hq_rc = client_of(g, q->hq_role, &c);
    if (q->hq_rc == 0) {
        q->hq_rc = ipc_req_call(c, q->hq_type, NULL, 0, timeout_ms, &rep);
        after_call(g, q->hq_role, q->hq_pid, c, q->hq_rc);
    }
    if (q->hq_rc == 0 && rep->type == IPC_REQ_ERROR) {
        const char *text;
        size_t len;
        if (ipc_err_decode(rep->body, rep->body_len, &q->hq_rc, &text, &len) != 0)
            q->hq_rc = -EBADMSG;
        ipc_msg_free(rep);
        rep = NULL;
    }
    q->hq_reply = rep;
}

static void *query_thread(void *arg)
{
    struct gather_job *j = arg;
    query_one(j->j_g, j->j_q, j->j_timeout_ms);
    return NULL;
}

void httpd_gather_call(struct httpd_gather *g, struct httpd_query *q, size_t n, int timeout_ms)
{
    struct gather_job *jobs = calloc(n, sizeof(*jobs));
    pthread_t *th = calloc(n, sizeof(*th));
    bool *started = calloc(n, sizeof(*started));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GATHER_STACK);
    /* Query 0 runs on this thread; so does any query whose thread did not start. */
    for (size_t i = 1; jobs != NULL && th != NULL && started != NULL && i < n; i++) {
        jobs[i] = (struct gather_job){g, &q[i], timeout_ms};
        started[i] = pthread_create(&th[i], &attr, query_thread, &jobs[i]) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (i == 0 || started == NULL || !started[i])
            query_one(g, &q[i], timeout_ms);
    for (size_t i = 1; started != NULL && i < n; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    pthread_attr_destroy(&attr);
    free(started);
    free(th);
    free(jobs);
}

unsigned httpd_gather_renewals(struct httpd_gather *g)
{
    pthread_mutex_lock(&g->g_mu);
    unsigned n = g->g_renewals;
    pthread_mutex_unlock(&g->g_mu);
    return n;
}

/* httpd's parallel queries to the roles' control sockets (see gather.h). Clients
 * are opened once per role and kept: closing one while a late reply arrives can
 * hit NNG 1.5.2's close hang (lib/ipc/reqrep.h). */
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
};

struct httpd_gather {
    char g_run_dir[IPC_PATH_MAX + 1];
    pthread_mutex_t g_mu;
    struct gather_client g_clients[GATHER_ROLES_MAX];
    int g_n;
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
    pthread_mutex_destroy(&g->g_mu);
    free(g);
}

/* The client of role, opened at its first use. Borrowed from g. */
static int client_of(struct httpd_gather *g, const char *role, struct ipc_req **out)
{
    char url[IPC_URL_MAX];
    int rc = 0;
    pthread_mutex_lock(&g->g_mu);
    for (int i = 0; i < g->g_n; i++) {
        if (strcmp(g->g_clients[i].gc_role, role) == 0) {
            *out = g->g_clients[i].gc_req;
            goto out;
        }
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
    if (q->hq_rc == 0)
        q->hq_rc = ipc_req_call(c, q->hq_type, NULL, 0, timeout_ms, &rep);
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

/* Req/rep over NNG req0/rep0: a REP server with one thread and one context per
 * worker (a stalled handler never blocks NNG's own threads), and a REQ client
 * with a context per call. */
#include "lib/ipc/reqrep.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/internal.h"

#define REP_WORKERS_MAX 64

struct rep_worker {
    struct ipc_rep *w_rep;
    nng_ctx w_ctx;
    nng_aio *w_aio;
    pthread_t w_thread;
    int w_running;
};

struct ipc_rep {
    nng_socket rp_sock;
    struct ipc_listener *rp_lsn; /* owns rp_sock once open */
    ipc_rep_fn rp_fn;
    void *rp_arg;
    atomic_bool rp_closing;
    unsigned rp_n;
    struct rep_worker rp_w[];
};

struct ipc_req {
    nng_socket rq_sock;
    uint32_t rq_id;
    atomic_uint_fast64_t rq_seq;
};

/* The reply to req as an nng_msg: the handler's answer, or IPC_REQ_ERROR. NULL only
 * when out of memory (the client will resend). */
static nng_msg *rep_answer(struct ipc_rep *r, const struct ipc_msg *req, int rc)
{
    struct ipc_reply rep = {0};
    if (rc == 0 && ipc_type_is_reply(req->type))
        rc = -EPROTO;
    if (rc == 0)
        rc = r->rp_fn(r->rp_arg, req, &rep);
    if (rc == 0 && !ipc_type_is_reply(rep.type)) {
        log_error("ipc handler answered a non-reply type", "type", ipc_type_str(rep.type), NULL);
        rc = -EPROTO;
    }
    uint8_t err[IPC_ERR_MAX];
    struct ipc_msg out = {.topic = IPC_TOPIC_REP, .seq = req->seq, .pubid = req->pubid};
    if (rc == 0) {
        out.type = rep.type;
        out.body = rep.body;
        out.body_len = rep.len;
    }
    nng_msg *msg = NULL;
    if (rc != 0 || (rc = ipc_nng_msg_encode(&out, &msg)) != 0) {
        out.type = IPC_REQ_ERROR;
        out.body = err;
        if (ipc_err_encode(rc < 0 ? rc : -EPROTO, NULL, err, sizeof(err), &out.body_len) != 0 ||
            ipc_nng_msg_encode(&out, &msg) != 0)
            msg = NULL;
    }
    free(rep.body);
    return msg;
}

/* Decodes one request (freeing it) and returns the reply to send, or NULL. */
static nng_msg *rep_handle(struct ipc_rep *r, nng_msg *req)
{
    struct ipc_msg m;
    int rc = ipc_msg_decode(nng_msg_body(req), nng_msg_len(req), &m);
    if (rc != 0) {
        /* Still answer, so the client fails now instead of resending. */
        m = (struct ipc_msg){.topic = IPC_TOPIC_REQ};
        log_warn("ipc server got a malformed request", "error", strerror(-rc), NULL);
    }
    nng_msg *rep = rep_answer(r, &m, rc);
    nng_msg_free(req);
    return rep;
}

static void *rep_worker_main(void *arg)
{
    struct rep_worker *w = arg;
    struct ipc_rep *r = w->w_rep;
    while (!atomic_load(&r->rp_closing)) {
        nng_ctx_recv(w->w_ctx, w->w_aio);
        nng_aio_wait(w->w_aio);
        int rv = nng_aio_result(w->w_aio);
        if (rv == NNG_ECLOSED)
            break;
        if (rv != 0)
            continue; /* a cancelled receive: receive again */
        nng_msg *rep = rep_handle(r, nng_aio_get_msg(w->w_aio));
        if (rep == NULL)
            continue;
        nng_aio_set_msg(w->w_aio, rep);
        nng_ctx_send(w->w_ctx, w->w_aio);
        nng_aio_wait(w->w_aio);
        if (nng_aio_result(w->w_aio) != 0)
            nng_msg_free(rep); /* not sent: still ours */
    }
    return NULL;
}

/* Closes the socket (failing every pending receive), joins, frees. */
static void rep_teardown(struct ipc_rep *r)
{
    atomic_store(&r->rp_closing, true);
    int rc = r->rp_lsn != NULL ? ipc_listener_close(r->rp_lsn) : ipc_nng_close(r->rp_sock);
    if (rc != 0) {
        ipc_park(r); /* workers may still be blocked in NNG: leak them and r */
        return;
    }
    for (unsigned i = 0; i < r->rp_n; i++) {
        struct rep_worker *w = &r->rp_w[i];
        if (w->w_running)
            pthread_join(w->w_thread, NULL);
        if (w->w_aio != NULL)
            nng_aio_free(w->w_aio);
    }
    free(r);
}

static int rep_workers_start(struct ipc_rep *r)
{
    for (unsigned i = 0; i < r->rp_n; i++) {
        struct rep_worker *w = &r->rp_w[i];
        w->w_rep = r;
        int rc = ipc_nng_errno(nng_ctx_open(&w->w_ctx, r->rp_sock));
        if (rc == 0)
            rc = ipc_nng_errno(nng_aio_alloc(&w->w_aio, NULL, NULL));
        if (rc != 0)
            return rc;
        if ((rc = pthread_create(&w->w_thread, NULL, rep_worker_main, w)) != 0)
            return -rc;
        w->w_running = 1;
    }
    return 0;
}

int ipc_rep_open(struct ipc_rep **out, const char *url, unsigned workers, ipc_rep_fn fn, void *arg)
{
    if (out == NULL || url == NULL || fn == NULL || workers == 0 || workers > REP_WORKERS_MAX)
        return -EINVAL;
    struct ipc_rep *r = calloc(1, sizeof(*r) + workers * sizeof(r->rp_w[0]));
    if (r == NULL)
        return -ENOMEM;
    r->rp_fn = fn;
    r->rp_arg = arg;
    r->rp_n = workers;
    int rc = ipc_nng_errno(nng_rep0_open(&r->rp_sock));
    if (rc != 0) {
        free(r);
        return rc;
    }
    if ((rc = ipc_nng_errno(nng_socket_set_size(r->rp_sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX))) !=
            0 ||
        (rc = rep_workers_start(r)) != 0 ||
        (rc = ipc_listener_open(&r->rp_lsn, r->rp_sock, url, IPC_PROTO_REQ0)) != 0)
        goto fail;
    *out = r;
    return 0;
fail:
    rep_teardown(r);
    return rc;
}

void ipc_rep_close(struct ipc_rep *r)
{
    if (r != NULL)
        rep_teardown(r);
}

int ipc_req_open(struct ipc_req **out, const char *url)
{
    if (out == NULL || url == NULL)
        return -EINVAL;
    struct ipc_req *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->rq_id = ipc_random_id();
    int rc = ipc_nng_errno(nng_req0_open(&c->rq_sock));
    if (rc != 0) {
        free(c);
        return rc;
    }
    if ((rc = ipc_nng_errno(
             nng_socket_set_ms(c->rq_sock, NNG_OPT_REQ_RESENDTIME, IPC_REQ_RESEND_MS))) != 0 ||
        (rc = ipc_nng_errno(nng_socket_set_size(c->rq_sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX))) !=
            0 ||
        (rc = ipc_dial(c->rq_sock, url)) != 0) {
        nng_close(c->rq_sock);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ipc_req_close(struct ipc_req *c)
{
    if (c == NULL)
        return;
    if (ipc_nng_close(c->rq_sock) == 0)
        free(c);
    else
        ipc_park(c); /* with the hung socket */
}

/* Milliseconds left until deadline (-1: none), at least 0. */
static nng_duration remaining(int64_t deadline)
{
    if (deadline < 0)
        return NNG_DURATION_INFINITE;
    int64_t left = deadline - util_mono_ms();
    return left > 0 ? (nng_duration)left : 0;
}

/* One exchange on ctx: sends msg (ours again if that fails), receives the reply. */
static int req_exchange(nng_ctx ctx, nng_aio *aio, nng_msg *msg, int64_t deadline, nng_msg **rep)
{
    nng_aio_set_timeout(aio, remaining(deadline));
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    int rv = nng_aio_result(aio);
    if (rv != 0) {
        nng_msg_free(msg);
        return ipc_nng_errno(rv);
    }
    nng_aio_set_timeout(aio, remaining(deadline));
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0)
        return ipc_nng_errno(rv);
    *rep = nng_aio_get_msg(aio);
    return 0;
}

/* Decodes a reply and checks it answers the request (seq, id). */
static int req_reply_decode(const struct ipc_req *c, uint64_t seq, nng_msg *msg,
                            struct ipc_msg **reply)
{
    struct ipc_msg *m;
    int rc = ipc_msg_decode_dup(nng_msg_body(msg), nng_msg_len(msg), &m);
    if (rc != 0)
        return -EPROTO;
    if (!ipc_type_is_reply(m->type) || m->seq != seq || m->pubid != c->rq_id) {
        ipc_msg_free(m);
        return -EPROTO;
    }
    *reply = m;
    return 0;
}

int ipc_req_call(struct ipc_req *c, enum ipc_type type, const void *body, size_t len,
                 int timeout_ms, struct ipc_msg **reply)
{
    if (c == NULL || reply == NULL || !ipc_type_valid(type) || ipc_type_is_reply(type))
        return -EINVAL;
    int64_t deadline = timeout_ms < 0 ? -1 : util_mono_ms() + timeout_ms;
    struct ipc_msg m = {.topic = IPC_TOPIC_REQ,
                        .type = type,
                        .seq = atomic_fetch_add(&c->rq_seq, 1) + 1,
                        .pubid = c->rq_id,
                        .body = body,
                        .body_len = len};
    nng_msg *msg = NULL, *rep = NULL;
    nng_aio *aio = NULL;
    nng_ctx ctx;
    int rc = ipc_nng_msg_encode(&m, &msg);
    if (rc != 0)
        return rc;
    if ((rc = ipc_nng_errno(nng_ctx_open(&ctx, c->rq_sock))) != 0) {
        nng_msg_free(msg);
        return rc;
    }
    if ((rc = ipc_nng_errno(nng_aio_alloc(&aio, NULL, NULL))) != 0) {
        nng_msg_free(msg);
        goto out;
    }
    if ((rc = req_exchange(ctx, aio, msg, deadline, &rep)) != 0)
        goto out;
    rc = req_reply_decode(c, m.seq, rep, reply);
    nng_msg_free(rep);
out:
    if (aio != NULL)
        nng_aio_free(aio);
    nng_ctx_close(ctx); /* abandons the request if it is still pending */
    return rc;
}

/* Queries and control over req/rep: a server answering on several NNG contexts at
 * once through a handler callback, and a thread-safe client with a deadline. */
#ifndef OMJOB_LIB_IPC_REQREP_H
#define OMJOB_LIB_IPC_REQREP_H

#include <stddef.h>

#include "lib/ipc/msg.h"

struct ipc_rep;
struct ipc_req;

/* What a handler answers. body is malloc'd memory (or NULL when len is 0) that the
 * server takes over and frees, whatever the handler returns. */
struct ipc_reply {
    enum ipc_type type;
    void *body;
    size_t len;
};

/* Called on a server worker thread, concurrently on several threads: must be
 * thread-safe and idempotent (a REQ client resends a request it got no answer to,
 * so a request may arrive more than once). req borrows the server until return.
 * Return 0 with rep->type (a reply type) set, or a negative errno: the client then
 * gets IPC_REQ_ERROR with that code (rep->body is dropped). A handler may also
 * answer IPC_REQ_ERROR itself, with an ipc_err_encode body. */
typedef int (*ipc_rep_fn)(void *arg, const struct ipc_msg *req, struct ipc_reply *rep);

/* Listens on url and answers with fn(arg, ...) on `workers` threads, each with its
 * own NNG context (1..64). Close with ipc_rep_close. Negative errno. */
int ipc_rep_open(struct ipc_rep **out, const char *url, unsigned workers, ipc_rep_fn fn, void *arg);
/* Stops listening, waits for running handlers to return, frees. NULL is a no-op. */
void ipc_rep_close(struct ipc_rep *r);

/* Resend interval of an unanswered request while the call is still waiting.
 * Longer than every call's deadline (<= 5 s): a slow server is never asked twice
 * (which would double its load when it is slowest, and leave a late second reply
 * to meet the client's close: the NNG 1.5.2 close hang, seen as the valgrind
 * flakes of valgrind_watcher_cachecmd and valgrind_ipc_reqrep when a reply took
 * over the 1 s this was). A request whose connection drops is still sent again at
 * once when the client reconnects (NNG's REQ does that for any interval > 0). */
#define IPC_REQ_RESEND_MS 10000

/* Dials url in the background (the server may start later or restart). Thread-safe:
 * concurrent calls each use their own NNG context. Close with ipc_req_close. */
int ipc_req_open(struct ipc_req **out, const char *url);
/* Closes and frees, once no call is running. NULL is a no-op. Open a client once
 * per process: a close while a late reply arrives (one the client stopped waiting
 * for) can hit the NNG 1.5.2 close hang (bounded, but leaks). */
void ipc_req_close(struct ipc_req *c);
/* Sends a request of type with body and waits at most timeout_ms (< 0: forever) for
 * the reply. 0 and *reply (caller frees with ipc_msg_free; it may be IPC_REQ_ERROR,
 * see ipc_err_decode), -ETIMEDOUT, -EPROTO on a reply that does not match the
 * request, -EINVAL, -ENOMEM, -EBADF. */
int ipc_req_call(struct ipc_req *c, enum ipc_type type, const void *body, size_t len,
                 int timeout_ms, struct ipc_msg **reply);

#endif

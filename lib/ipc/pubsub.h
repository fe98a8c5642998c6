/* Hints over pub/sub: a publisher numbering every message per topic, and a
 * subscriber that reports gaps, restarts and first contact so its caller knows
 * when to resync. Pub/sub is lossy by design: hints are never the truth. */
#ifndef OMJOB_LIB_IPC_PUBSUB_H
#define OMJOB_LIB_IPC_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ipc/msg.h"
#include "lib/ipc/seqtrack.h"

struct ipc_pub;
struct ipc_sub;

/* Listens on url (IPC_EP_HINTS) with a fresh random publisher id. The caller closes
 * *out with ipc_pub_close. Negative errno (-EADDRINUSE if a live publisher has it). */
int ipc_pub_open(struct ipc_pub **out, const char *url);
/* Closes and frees; NULL is a no-op. Messages not yet written may be lost. Like
 * every ipc close, returns within a few seconds even when NNG 1.5.2's own close
 * hangs (the socket is then leaked and logged; see docs/PROTOCOL.md). */
void ipc_pub_close(struct ipc_pub *p);
/* The id chosen at open, carried in every message. */
uint32_t ipc_pub_id(const struct ipc_pub *p);
/* Number of subscribers connected right now. */
int ipc_pub_subscribers(const struct ipc_pub *p);
/* Publishes body on topic with the topic's next sequence number. Never blocks: a
 * slow or absent subscriber loses messages (it will see the gap). Thread-safe.
 * -EINVAL on a bad topic, type or length. */
int ipc_pub_send(struct ipc_pub *p, const char *topic, enum ipc_type type, const void *body,
                 size_t len);
/* ipc_pub_send of an IPC_EV_CHANGE with h encoded as its body. */
int ipc_pub_send_hint(struct ipc_pub *p, const char *topic, const struct ipc_hint *h);

/* Dials url (IPC_EP_HINTS) in the background: the publisher may start later and
 * restart at any time. Receives nothing until subscribed. Close with ipc_sub_close. */
int ipc_sub_open(struct ipc_sub **out, const char *url);
/* Closes and frees; NULL is a no-op. Open a subscriber once per process: a close
 * while hints arrive can hit the NNG 1.5.2 close hang (bounded, but leaks). */
void ipc_sub_close(struct ipc_sub *s);
/* Receives messages of exactly this topic: the subscription includes the topic's
 * NUL, so "shard.1" does not match "shard.10". */
int ipc_sub_subscribe(struct ipc_sub *s, const char *topic);
/* Receives every topic starting with prefix ("shard." for all shards; "" for all). */
int ipc_sub_subscribe_prefix(struct ipc_sub *s, const char *prefix);

struct ipc_sub_event {
    struct ipc_msg se_msg;         /* borrows the subscriber until the next recv/close */
    enum ipc_seq_status se_status; /* anything but IPC_SEQ_OK: resync the topic */
    uint64_t se_missed;            /* messages lost before this one (IPC_SEQ_GAP) */
};
/* Waits up to timeout_ms (< 0: forever, 0: don't wait) for the next message.
 * 0 and *ev; -ETIMEDOUT (or -EAGAIN when timeout_ms is 0) if none came; -EBADMSG,
 * -ENOMSG or -EPROTONOSUPPORT for a malformed message, which is dropped (the next
 * one on its topic shows the gap); -EBADF once closed. Single consumer. */
int ipc_sub_recv(struct ipc_sub *s, int timeout_ms, struct ipc_sub_event *ev);
/* How many times a publisher connection was established since open. A change
 * after the first means the publisher reconnected (it may have restarted and sent
 * nothing yet): resync. */
unsigned ipc_sub_connects(const struct ipc_sub *s);
/* A file descriptor that polls readable when ipc_sub_recv would not block (NNG's
 * notification fd: never read or close it). */
int ipc_sub_fd(struct ipc_sub *s, int *fd);

#endif

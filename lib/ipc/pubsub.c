/* Pub/sub hints over NNG pub0/sub0 with per-topic sequence numbers. */
#include "lib/ipc/pubsub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include "lib/common/log.h"
#include "lib/ipc/internal.h"

/* Messages queued per subscriber before the publisher drops (pub0's per-pipe
 * send queue, NNG's default 16) and per subscriber socket before the subscriber
 * drops (sub0's receive queue, default 128). With the defaults, the reconcilers
 * lost more than half of their hints in a 1,000-OMJob run (each loss is a gap
 * and a resync of the shard: dozens of keys asked again): a reconciler reads
 * its socket between runs of passes, and a burst of watch events outruns 16.
 * NNG's ceiling is 8192; a queued message is a pointer until one arrives. */
#define PUB_QUEUE 1024
#define SUB_QUEUE 1024

struct ipc_pub {
    nng_socket pb_sock;
    uint32_t pb_id;
    struct ipc_listener *pb_lsn; /* owns pb_sock once open */
    pthread_mutex_t pb_lock;     /* orders seq assignment with the send */
    struct ipc_seqtrack *pb_seq;
    bool pb_sent; /* the first message is out (logged once, under pb_lock) */
};

struct ipc_sub {
    nng_socket sb_sock;
    nng_msg *sb_cur; /* the message the last event borrows */
    int sb_timeout;  /* NNG_OPT_RECVTIMEO now set, ms */
    atomic_uint sb_connects;
    struct ipc_seqtrack *sb_seq;
};

int ipc_pub_open(struct ipc_pub **out, const char *url)
{
    if (out == NULL || url == NULL)
        return -EINVAL;
    struct ipc_pub *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    p->pb_id = ipc_random_id();
    pthread_mutex_init(&p->pb_lock, NULL);
    if ((p->pb_seq = ipc_seqtrack_new()) == NULL)
        goto fail_nosock;
    if ((rc = ipc_nng_errno(nng_pub0_open(&p->pb_sock))) != 0)
        goto fail_nosock;
    if ((rc = ipc_nng_errno(nng_socket_set_int(p->pb_sock, NNG_OPT_SENDBUF, PUB_QUEUE))) != 0)
        goto fail;
    if ((rc = ipc_listener_open(&p->pb_lsn, p->pb_sock, url, IPC_PROTO_SUB0)) != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    nng_close(p->pb_sock);
fail_nosock:
    ipc_seqtrack_free(p->pb_seq);
    pthread_mutex_destroy(&p->pb_lock);
    free(p);
    return rc;
}

void ipc_pub_close(struct ipc_pub *p)
{
    if (p == NULL)
        return;
    ipc_listener_close(p->pb_lsn);
    ipc_seqtrack_free(p->pb_seq);
    pthread_mutex_destroy(&p->pb_lock);
    free(p);
}

uint32_t ipc_pub_id(const struct ipc_pub *p)
{
    return p->pb_id;
}

int ipc_pub_subscribers(const struct ipc_pub *p)
{
    return ipc_listener_pipes(p->pb_lsn);
}

int ipc_pub_send(struct ipc_pub *p, const char *topic, enum ipc_type type, const void *body,
                 size_t len)
{
    if (p == NULL || topic == NULL || ipc_topic_check(topic, strnlen(topic, IPC_TOPIC_MAX + 1)))
        return -EINVAL;
    struct ipc_msg m = {
        .topic = topic, .type = type, .pubid = p->pb_id, .body = body, .body_len = len};
    nng_msg *msg = NULL;
    pthread_mutex_lock(&p->pb_lock);
    int rc = ipc_seqtrack_next(p->pb_seq, topic, &m.seq);
    if (rc == 0)
        rc = ipc_nng_msg_encode(&m, &msg);
    if (rc == 0) {
        /* pub0 never blocks: a full subscriber queue drops the message. */
        rc = ipc_nng_errno(nng_sendmsg(p->pb_sock, msg, 0));
        if (rc != 0)
            nng_msg_free(msg); /* on failure the message is still ours */
    }
    if (rc == 0 && !p->pb_sent) {
        /* With the subscribers' "first message from publisher" lines, this times
         * how long a restarted publisher takes to reach them (bench_resync). */
        char id[16];
        snprintf(id, sizeof(id), "%08x", (unsigned)p->pb_id);
        p->pb_sent = true;
        log_info("hints: first message published", "pubid", id, "topic", topic, NULL);
    }
    pthread_mutex_unlock(&p->pb_lock);
    return rc;
}

int ipc_pub_send_hint(struct ipc_pub *p, const char *topic, const struct ipc_hint *h)
{
    uint8_t buf[IPC_HINT_MAX];
    size_t len;
    int rc = ipc_hint_encode(h, buf, sizeof(buf), &len);
    if (rc != 0)
        return rc;
    return ipc_pub_send(p, topic, IPC_EV_CHANGE, buf, len);
}

/* Runs on an NNG thread. */
static void sub_pipe_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    struct ipc_sub *s = arg;
    atomic_fetch_add(&s->sb_connects, 1);
}

int ipc_sub_open(struct ipc_sub **out, const char *url)
{
    if (out == NULL || url == NULL)
        return -EINVAL;
    struct ipc_sub *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    int rc = -ENOMEM;
    s->sb_timeout = -2; /* unknown: set at the first recv */
    if ((s->sb_seq = ipc_seqtrack_new()) == NULL)
        goto fail_nosock;
    if ((rc = ipc_nng_errno(nng_sub0_open(&s->sb_sock))) != 0)
        goto fail_nosock;
    if ((rc = ipc_nng_errno(nng_pipe_notify(s->sb_sock, NNG_PIPE_EV_ADD_POST, sub_pipe_cb, s))) !=
            0 ||
        (rc = ipc_nng_errno(nng_socket_set_size(s->sb_sock, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX))) !=
            0 ||
        (rc = ipc_nng_errno(nng_socket_set_int(s->sb_sock, NNG_OPT_RECVBUF, SUB_QUEUE))) != 0)
        goto fail;
    if ((rc = ipc_dial(s->sb_sock, url)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    nng_close(s->sb_sock);
fail_nosock:
    ipc_seqtrack_free(s->sb_seq);
    free(s);
    return rc;
}

void ipc_sub_close(struct ipc_sub *s)
{
    if (s == NULL)
        return;
    int rc = ipc_nng_close(s->sb_sock);
    if (s->sb_cur != NULL)
        nng_msg_free(s->sb_cur);
    ipc_seqtrack_free(s->sb_seq);
    if (rc == 0)
        free(s);
    else
        ipc_park(s); /* the pipe callback may still see s */
}

int ipc_sub_subscribe(struct ipc_sub *s, const char *topic)
{
    if (s == NULL || topic == NULL)
        return -EINVAL;
    size_t len = strnlen(topic, IPC_TOPIC_MAX + 1);
    if (ipc_topic_check(topic, len) != 0)
        return -EINVAL;
    /* len + 1: the NUL ends the topic on the wire, so the match is exact. */
    return ipc_nng_errno(nng_socket_set(s->sb_sock, NNG_OPT_SUB_SUBSCRIBE, topic, len + 1));
}

int ipc_sub_subscribe_prefix(struct ipc_sub *s, const char *prefix)
{
    if (s == NULL || prefix == NULL)
        return -EINVAL;
    size_t len = strnlen(prefix, IPC_TOPIC_MAX + 1);
    if (len > 0 && ipc_topic_check(prefix, len) != 0)
        return -EINVAL;
    return ipc_nng_errno(nng_socket_set(s->sb_sock, NNG_OPT_SUB_SUBSCRIBE, prefix, len));
}

static int sub_set_timeout(struct ipc_sub *s, int timeout_ms)
{
    if (timeout_ms == s->sb_timeout)
        return 0;
    nng_duration d = timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms;
    int rc = ipc_nng_errno(nng_socket_set_ms(s->sb_sock, NNG_OPT_RECVTIMEO, d));
    if (rc == 0)
        s->sb_timeout = timeout_ms;
    return rc;
}

int ipc_sub_recv(struct ipc_sub *s, int timeout_ms, struct ipc_sub_event *ev)
{
    if (s == NULL || ev == NULL)
        return -EINVAL;
    if (s->sb_cur != NULL)
        nng_msg_free(s->sb_cur);
    s->sb_cur = NULL;
    int rc = 0, flags = 0;
    if (timeout_ms == 0)
        flags = NNG_FLAG_NONBLOCK;
    else if ((rc = sub_set_timeout(s, timeout_ms)) != 0)
        return rc;
    nng_msg *msg;
    if ((rc = ipc_nng_errno(nng_recvmsg(s->sb_sock, &msg, flags))) != 0)
        return rc;
    struct ipc_msg m;
    uint64_t missed;
    if ((rc = ipc_msg_decode(nng_msg_body(msg), nng_msg_len(msg), &m)) != 0)
        goto fail;
    if ((rc = ipc_seqtrack_update(s->sb_seq, m.topic, m.pubid, m.seq, &missed)) < 0)
        goto fail;
    s->sb_cur = msg;
    if (rc == IPC_SEQ_FIRST || rc == IPC_SEQ_NEW_PUBLISHER) {
        char id[16];
        snprintf(id, sizeof(id), "%08x", (unsigned)m.pubid);
        log_info("hints: first message from publisher", "pubid", id, "topic", m.topic, "type",
                 ipc_type_str(m.type), NULL);
    }
    ev->se_msg = m;
    ev->se_status = (enum ipc_seq_status)rc;
    ev->se_missed = missed;
    return 0;
fail:
    nng_msg_free(msg);
    return rc;
}

unsigned ipc_sub_connects(const struct ipc_sub *s)
{
    return atomic_load(&s->sb_connects);
}

int ipc_sub_fd(struct ipc_sub *s, int *fd)
{
    if (s == NULL || fd == NULL)
        return -EINVAL;
    int v;
    int rc = ipc_nng_errno(nng_socket_get_int(s->sb_sock, NNG_OPT_RECVFD, &v));
    if (rc == 0)
        *fd = v;
    return rc;
}

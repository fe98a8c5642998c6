/* The IPC message envelope and every IPC message type: encoding and decoding on
 * plain byte buffers (no NNG), so the wire format is unit-testable and fuzzable.
 * docs/PROTOCOL.md describes the same format for people. */
#ifndef OMJOB_LIB_IPC_MSG_H
#define OMJOB_LIB_IPC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire format, version 1:
 *   topic     1..IPC_TOPIC_MAX printable ASCII bytes (0x21..0x7e), then one NUL
 *   version   u8, IPC_MSG_VERSION
 *   type      u8, enum ipc_type
 *   flags     u16 big-endian, reserved: 0 in version 1, anything else is rejected
 *   seq       u64 big-endian, per-topic sequence number (pub/sub) or request number
 *   pubid     u32 big-endian, publisher (or client) id chosen at random at open
 *   body_len  u32 big-endian, exactly the number of bytes that follow
 *   body      body_len opaque bytes (at most IPC_BODY_MAX)
 * The topic comes first so that NNG's SUB prefix filter applies to it. */
#define IPC_MSG_VERSION 1
#define IPC_TOPIC_MAX 64
#define IPC_HDR_LEN 20
#define IPC_BODY_MAX (16u * 1024u * 1024u)
#define IPC_MSG_MAX (IPC_TOPIC_MAX + 1 + IPC_HDR_LEN + IPC_BODY_MAX)

/* Every IPC message, grouped by the high nibble: 0x1_ control (req/rep on a role's
 * control socket), 0x2_ hints (pub/sub, lossy), 0x3_ truth queries (req/rep on
 * the watcher). IPC_REQ_ERROR answers any request. The values are the wire's and
 * never change; 0x10 and 0x11 are unassigned (a decoder rejects them). */
enum ipc_type {
    IPC_CTL_HEALTH = 0x12,       /* httpd -> role: are you healthy? */
    IPC_CTL_HEALTH_REPLY = 0x13, /* the role's health */
    IPC_CTL_METRICS = 0x14,      /* httpd -> role: your metrics */
    IPC_CTL_METRICS_REPLY = 0x15,
    IPC_CTL_STATUS = 0x16, /* -> role: its state (tools, tests) */
    IPC_CTL_STATUS_REPLY = 0x17,
    IPC_CTL_STOP = 0x18, /* -> role: stop gracefully (tools, tests) */
    IPC_CTL_ACK = 0x19,  /* reply to STOP */

    IPC_EV_CHANGE = 0x20,  /* watcher -> shard/ttl topic: this key changed (a hint) */
    IPC_EV_RESYNC = 0x21,  /* watcher -> topic: resync everything (after a relist) */
    IPC_EV_TICK = 0x22,    /* watcher -> topic, every second: nothing new, but numbered, so
                              a subscriber sees a lost hint as a gap within a second */
    IPC_EV_CHANGES = 0x23, /* watcher -> topic: several hints in one message (a batch) */

    IPC_REQ_GET_KEY = 0x30, /* reconciler -> watcher: current objects of a key */
    IPC_REQ_GET_KEY_REPLY = 0x31,
    IPC_REQ_LIST_SHARD = 0x32, /* reconciler/cleaner -> watcher: all keys of a shard */
    IPC_REQ_LIST_SHARD_REPLY = 0x33,
    IPC_REQ_ERROR = 0x3f, /* reply to any request that failed: error body below */
};

/* A decoded message. From ipc_msg_decode its pointers borrow the decoded buffer;
 * topic is NUL-terminated (the NUL is part of the wire format). */
struct ipc_msg {
    const char *topic;
    size_t topic_len;
    enum ipc_type type;
    uint16_t flags;
    uint64_t seq;
    uint32_t pubid;
    const uint8_t *body;
    size_t body_len;
};

/* "CTL_HEALTH" and so on; "UNKNOWN" for anything else. */
const char *ipc_type_str(enum ipc_type t);
/* 1 if t is one of enum ipc_type, else 0. */
int ipc_type_valid(unsigned t);
/* 1 if t is a reply type (what a REP server sends back), else 0. */
int ipc_type_is_reply(enum ipc_type t);

/* 0 if topic (len bytes, no NUL) is 1..IPC_TOPIC_MAX bytes of 0x21..0x7e, else -EINVAL. */
int ipc_topic_check(const char *topic, size_t len);
/* Encoded size of a message with these lengths. */
size_t ipc_msg_size(size_t topic_len, size_t body_len);
/* Encodes m (m->topic NUL-terminated; m->topic_len is ignored) into buf and writes
 * *out_len. -EINVAL on a bad topic, type, flags or body length, -ENOSPC if cap is
 * too small. */
int ipc_msg_encode(const struct ipc_msg *m, void *buf, size_t cap, size_t *out_len);
/* Decodes len bytes. -EBADMSG on anything malformed (truncated, no NUL, bad topic,
 * length mismatch), -EPROTONOSUPPORT on another version or nonzero flags,
 * -ENOMSG on an unknown type. Never reads outside buf[0..len). *out borrows buf. */
int ipc_msg_decode(const void *buf, size_t len, struct ipc_msg *out);
/* Like ipc_msg_decode, but *out is one heap block owning a copy of the bytes; the
 * caller frees it with ipc_msg_free. */
int ipc_msg_decode_dup(const void *buf, size_t len, struct ipc_msg **out);
void ipc_msg_free(struct ipc_msg *m);

/* Hint body (IPC_EV_CHANGE): the kind and key of the changed object and the
 * watcher's cache sequence at the change, so a reconciler can tell whether a
 * GET_KEY answer is at least as fresh as the hint. Wire: u8 kind, u8 ext_len,
 * u16 key_len BE, u64 seq BE, then key_len bytes of key (no NUL), then ext_len
 * bytes of extension: none (0), or an OMJob's TTL facts (below). */
enum ipc_kind {
    IPC_KIND_OMJOB = 1,
    IPC_KIND_POD = 2,
    IPC_KIND_CRONOMJOB = 3,
};
#define IPC_KEY_MAX 317 /* namespace (63) + '/' + name (253) */
#define IPC_HINT_HDR_LEN 12

/* The TTL extension of an OMJob hint (the watcher puts it on the "ttl" topic's
 * hints): what the cleaner schedules a deletion on, as the cache has it after the
 * change, so that it needs no GET_KEY per hint. Wire: u8 flags, u8 uid_len,
 * u8 rv_len, u8 reserved (0), i64 ttl_s BE, i64 completion_ms BE, uid, rv
 * (printable ASCII, no spaces). Canonical: without IPC_TTL_PRESENT every other
 * field is 0 or empty; ttl_s only with IPC_TTL_SET, completion_ms only with
 * IPC_TTL_FINISHED. */
enum {
    IPC_TTL_PRESENT = 1,  /* the OMJob is in the cache (else: gone) */
    IPC_TTL_SET = 2,      /* spec.ttlSecondsAfterFinished is an integer: ttl_s */
    IPC_TTL_BAD = 4,      /* ... is there but not an integer */
    IPC_TTL_FINISHED = 8, /* phase Succeeded or Failed with a valid completionTime */
    IPC_TTL_DELETING = 16 /* metadata.deletionTimestamp is set */
};
#define IPC_TTL_FLAGS_ALL 31
#define IPC_TTL_UID_MAX 63
#define IPC_TTL_RV_MAX 63
#define IPC_TTL_HDR_LEN 20
#define IPC_TTL_EXT_MAX (IPC_TTL_HDR_LEN + IPC_TTL_UID_MAX + IPC_TTL_RV_MAX)
#define IPC_HINT_MAX (IPC_HINT_HDR_LEN + IPC_KEY_MAX + IPC_TTL_EXT_MAX)

struct ipc_ttl {
    unsigned flags;        /* IPC_TTL_* */
    int64_t ttl_s;         /* with IPC_TTL_SET */
    int64_t completion_ms; /* status.completionTime, unix ms, with IPC_TTL_FINISHED */
    char uid[IPC_TTL_UID_MAX + 1];
    char rv[IPC_TTL_RV_MAX + 1]; /* metadata.resourceVersion */
};

struct ipc_hint {
    enum ipc_kind kind;
    uint64_t seq;
    char key[IPC_KEY_MAX + 1]; /* "namespace/name", NUL-terminated */
    bool has_ttl;              /* OMJob hints only: ttl is set */
    struct ipc_ttl ttl;
};

/* Whether t is canonical (the encoder takes it). */
bool ipc_ttl_valid(const struct ipc_ttl *t);

/* "OMJOB", "POD", "CRONOMJOB"; "UNKNOWN" for anything else. */
const char *ipc_kind_str(enum ipc_kind k);
/* 0 if key (len bytes) is "namespace/name": exactly one '/', both sides non-empty,
 * printable ASCII without spaces, at most IPC_KEY_MAX bytes; else -EINVAL. */
int ipc_key_check(const char *key, size_t len);
/* -EINVAL on a bad kind, key or TTL extension (not canonical, or on a kind other
 * than OMJOB), -ENOSPC if cap is too small (IPC_HINT_MAX fits all). */
int ipc_hint_encode(const struct ipc_hint *h, void *buf, size_t cap, size_t *out_len);
/* -EBADMSG if malformed (including a bad key or a TTL extension that is not
 * canonical), -ENOMSG on an unknown kind. */
int ipc_hint_decode(const void *buf, size_t len, struct ipc_hint *out);

/* Hints body (IPC_EV_CHANGES): the hints of one batch of watch events for one
 * topic, so that a burst costs one pub/sub message (and one wake-up of each side's
 * NNG threads) instead of one per change. Wire: u16 count BE (1..IPC_HINTS_MAX),
 * then count hint bodies as above, back to back (each ends where its key_len says).
 * IPC_HINTS_BODY_MAX bytes at most. */
#define IPC_HINTS_MAX 1024
#define IPC_HINTS_HDR_LEN 2
#define IPC_HINTS_BODY_MAX (64 * 1024)
/* Appends h to the body in buf[0..*len) (an empty body when *len is 0: the count
 * is written first), updating *len. -EINVAL on a bad hint or a malformed body,
 * -ENOSPC when the hint does not fit in cap or the body already holds
 * IPC_HINTS_MAX hints (send it, then start a new one). */
int ipc_hints_add(void *buf, size_t cap, size_t *len, const struct ipc_hint *h);
/* Decodes a whole body: checks every hint first and calls fn(ctx, hint) for each
 * only if all are good, in order. The number of hints, or -EBADMSG (truncated, a
 * count of 0 or above IPC_HINTS_MAX, over IPC_HINTS_BODY_MAX bytes, a record that is malformed or
 * overruns the body, bytes after the last record), -ENOMSG (an unknown kind), -EINVAL (NULL). A
 * nonzero return of fn stops the walk and is returned. Never reads outside buf[0..len). */
typedef int (*ipc_hint_fn)(void *ctx, const struct ipc_hint *h);
int ipc_hints_decode(const void *buf, size_t len, ipc_hint_fn fn, void *ctx);
/* The hints of a pub/sub message: one for IPC_EV_CHANGE, all of IPC_EV_CHANGES
 * (as ipc_hints_decode); -ENOMSG for any other type. */
int ipc_msg_hints(const struct ipc_msg *m, ipc_hint_fn fn, void *ctx);

/* Error body (IPC_REQ_ERROR): u32 BE errno value (positive on the wire), then up to
 * IPC_ERR_TEXT_MAX bytes of printable text (no NUL). Code arguments here are
 * negative errno values, as everywhere else in the library. */
#define IPC_ERR_TEXT_MAX 1024
#define IPC_ERR_MAX (4 + IPC_ERR_TEXT_MAX)
/* code < 0; text NULL means strerror(-code). Text is cut at IPC_ERR_TEXT_MAX and
 * non-printable bytes become '?'. -EINVAL if code >= 0, -ENOSPC if cap is too small. */
int ipc_err_encode(int code, const char *text, void *buf, size_t cap, size_t *out_len);
/* *code gets the negative errno; *text (borrowing buf, not NUL-terminated) and
 * *text_len the message. -EBADMSG if malformed. */
int ipc_err_decode(const void *buf, size_t len, int *code, const char **text, size_t *text_len);

#endif

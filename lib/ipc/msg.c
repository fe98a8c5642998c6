/* The IPC envelope codec, hint and error bodies: pure functions on byte buffers,
 * shared by pub/sub, req/rep and the fuzz target. */
#include "lib/ipc/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

const char *ipc_type_str(enum ipc_type t)
{
    switch (t) {
    case IPC_CTL_HEALTH:
        return "CTL_HEALTH";
    case IPC_CTL_HEALTH_REPLY:
        return "CTL_HEALTH_REPLY";
    case IPC_CTL_METRICS:
        return "CTL_METRICS";
    case IPC_CTL_METRICS_REPLY:
        return "CTL_METRICS_REPLY";
    case IPC_CTL_STATUS:
        return "CTL_STATUS";
    case IPC_CTL_STATUS_REPLY:
        return "CTL_STATUS_REPLY";
    case IPC_CTL_STOP:
        return "CTL_STOP";
    case IPC_CTL_ACK:
        return "CTL_ACK";
    case IPC_EV_CHANGE:
        return "EV_CHANGE";
    case IPC_EV_RESYNC:
        return "EV_RESYNC";
    case IPC_EV_TICK:
        return "EV_TICK";
    case IPC_EV_CHANGES:
        return "EV_CHANGES";
    case IPC_REQ_GET_KEY:
        return "REQ_GET_KEY";
    case IPC_REQ_GET_KEY_REPLY:
        return "REQ_GET_KEY_REPLY";
    case IPC_REQ_LIST_SHARD:
        return "REQ_LIST_SHARD";
    case IPC_REQ_LIST_SHARD_REPLY:
        return "REQ_LIST_SHARD_REPLY";
    case IPC_REQ_ERROR:
        return "REQ_ERROR";
    }
    return "UNKNOWN";
}

int ipc_type_valid(unsigned t)
{
    return strcmp(ipc_type_str((enum ipc_type)t), "UNKNOWN") != 0;
}

int ipc_type_is_reply(enum ipc_type t)
{
    switch (t) {
    case IPC_CTL_HEALTH_REPLY:
    case IPC_CTL_METRICS_REPLY:
    case IPC_CTL_STATUS_REPLY:
    case IPC_CTL_ACK:
    case IPC_REQ_GET_KEY_REPLY:
    case IPC_REQ_LIST_SHARD_REPLY:
    case IPC_REQ_ERROR:
        return 1;
    default:
        return 0;
    }
}

int ipc_topic_check(const char *topic, size_t len)
{
    if (topic == NULL || len == 0 || len > IPC_TOPIC_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (topic[i] < 0x21 || topic[i] > 0x7e)
            return -EINVAL;
    return 0;
}

size_t ipc_msg_size(size_t topic_len, size_t body_len)
{
    return topic_len + 1 + IPC_HDR_LEN + body_len;
}

int ipc_msg_encode(const struct ipc_msg *m, void *buf, size_t cap, size_t *out_len)
{
    if (m == NULL || m->topic == NULL || buf == NULL || out_len == NULL)
        return -EINVAL;
    size_t tlen = strnlen(m->topic, IPC_TOPIC_MAX + 1);
    if (ipc_topic_check(m->topic, tlen) != 0 || !ipc_type_valid(m->type) || m->flags != 0)
        return -EINVAL;
    if (m->body_len > IPC_BODY_MAX || (m->body_len > 0 && m->body == NULL))
        return -EINVAL;
    size_t need = ipc_msg_size(tlen, m->body_len);
    if (cap < need)
        return -ENOSPC;
    uint8_t *p = buf;
    memcpy(p, m->topic, tlen);
    p[tlen] = '\0';
    p += tlen + 1;
    p[0] = IPC_MSG_VERSION;
    p[1] = (uint8_t)m->type;
    put16(p + 2, m->flags);
    put64(p + 4, m->seq);
    put32(p + 12, m->pubid);
    put32(p + 16, (uint32_t)m->body_len);
    if (m->body_len > 0)
        memcpy(p + IPC_HDR_LEN, m->body, m->body_len);
    *out_len = need;
    return 0;
}

int ipc_msg_decode(const void *buf, size_t len, struct ipc_msg *out)
{
    if (buf == NULL || out == NULL)
        return -EINVAL;
    const uint8_t *p = buf;
    /* The NUL must be within the first IPC_TOPIC_MAX + 1 bytes. */
    const uint8_t *nul = memchr(p, '\0', len < IPC_TOPIC_MAX + 1 ? len : IPC_TOPIC_MAX + 1);
    if (nul == NULL)
        return -EBADMSG;
    size_t tlen = (size_t)(nul - p);
    if (ipc_topic_check((const char *)p, tlen) != 0)
        return -EBADMSG;
    /* Version first: a later version may change everything after it. */
    const uint8_t *h = nul + 1;
    size_t rest = len - tlen - 1;
    if (rest < 1)
        return -EBADMSG;
    if (h[0] != IPC_MSG_VERSION)
        return -EPROTONOSUPPORT;
    if (rest < IPC_HDR_LEN)
        return -EBADMSG;
    uint32_t blen = get32(h + 16);
    if (blen > IPC_BODY_MAX || rest - IPC_HDR_LEN != blen)
        return -EBADMSG;
    if (get16(h + 2) != 0)
        return -EPROTONOSUPPORT;
    if (!ipc_type_valid(h[1]))
        return -ENOMSG;
    out->topic = (const char *)p;
    out->topic_len = tlen;
    out->type = (enum ipc_type)h[1];
    out->flags = 0;
    out->seq = get64(h + 4);
    out->pubid = get32(h + 12);
    out->body = h + IPC_HDR_LEN;
    out->body_len = blen;
    return 0;
}

int ipc_msg_decode_dup(const void *buf, size_t len, struct ipc_msg **out)
{
    if (buf == NULL || out == NULL)
        return -EINVAL;
    struct ipc_msg tmp;
    int rc = ipc_msg_decode(buf, len, &tmp);
    if (rc != 0)
        return rc;
    struct ipc_msg *m = malloc(sizeof(*m) + len);
    if (m == NULL)
        return -ENOMEM;
    uint8_t *copy = (uint8_t *)(m + 1);
    memcpy(copy, buf, len);
    rc = ipc_msg_decode(copy, len, m);
    if (rc != 0) { /* cannot happen: same bytes */
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void ipc_msg_free(struct ipc_msg *m)
{
    free(m);
}

const char *ipc_kind_str(enum ipc_kind k)
{
    switch (k) {
    case IPC_KIND_OMJOB:
        return "OMJOB";
    case IPC_KIND_POD:
        return "POD";
    case IPC_KIND_CRONOMJOB:
        return "CRONOMJOB";
    }
    return "UNKNOWN";
}

int ipc_key_check(const char *key, size_t len)
{
    if (key == NULL || len < 3 || len > IPC_KEY_MAX)
        return -EINVAL;
    const char *slash = memchr(key, '/', len);
    if (slash == NULL || slash == key || slash == key + len - 1)
        return -EINVAL;
    if (memchr(slash + 1, '/', len - (size_t)(slash - key) - 1) != NULL)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return -EINVAL;
    return 0;
}

/* Printable ASCII without spaces, len bytes (the key's alphabet). */
static bool ttl_text_ok(const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (t[i] < 0x21 || t[i] > 0x7e)
            return false;
    return true;
}

/* Whether t is canonical (msg.h); its uid and rv lengths into *ul, *rl. */
static bool ttl_ok(const struct ipc_ttl *t, size_t *ul, size_t *rl)
{
    *ul = strnlen(t->uid, sizeof(t->uid));
    *rl = strnlen(t->rv, sizeof(t->rv));
    if ((t->flags & ~(unsigned)IPC_TTL_FLAGS_ALL) != 0 || *ul > IPC_TTL_UID_MAX ||
        *rl > IPC_TTL_RV_MAX || !ttl_text_ok(t->uid, *ul) || !ttl_text_ok(t->rv, *rl))
        return false;
    if (!(t->flags & IPC_TTL_PRESENT) && (t->flags != 0 || *ul != 0 || *rl != 0))
        return false;
    if ((t->flags & IPC_TTL_SET) && (t->flags & IPC_TTL_BAD))
        return false;
    return ((t->flags & IPC_TTL_SET) || t->ttl_s == 0) &&
           ((t->flags & IPC_TTL_FINISHED) || t->completion_ms == 0);
}

bool ipc_ttl_valid(const struct ipc_ttl *t)
{
    size_t ul, rl;
    return t != NULL && ttl_ok(t, &ul, &rl);
}

int ipc_hint_encode(const struct ipc_hint *h, void *buf, size_t cap, size_t *out_len)
{
    if (h == NULL || buf == NULL || out_len == NULL)
        return -EINVAL;
    size_t klen = strnlen(h->key, sizeof(h->key)), ul = 0, rl = 0, ext = 0;
    if (ipc_key_check(h->key, klen) != 0 || strcmp(ipc_kind_str(h->kind), "UNKNOWN") == 0)
        return -EINVAL;
    if (h->has_ttl) {
        if (h->kind != IPC_KIND_OMJOB || !ttl_ok(&h->ttl, &ul, &rl))
            return -EINVAL;
        ext = IPC_TTL_HDR_LEN + ul + rl;
    }
    if (cap < IPC_HINT_HDR_LEN + klen + ext)
        return -ENOSPC;
    uint8_t *p = buf;
    p[0] = (uint8_t)h->kind;
    p[1] = (uint8_t)ext;
    put16(p + 2, (uint16_t)klen);
    put64(p + 4, h->seq);
    memcpy(p + IPC_HINT_HDR_LEN, h->key, klen);
    if (ext > 0) {
        uint8_t *x = p + IPC_HINT_HDR_LEN + klen;
        x[0] = (uint8_t)h->ttl.flags;
        x[1] = (uint8_t)ul;
        x[2] = (uint8_t)rl;
        x[3] = 0;
        put64(x + 4, (uint64_t)h->ttl.ttl_s);
        put64(x + 12, (uint64_t)h->ttl.completion_ms);
        memcpy(x + IPC_TTL_HDR_LEN, h->ttl.uid, ul);
        memcpy(x + IPC_TTL_HDR_LEN + ul, h->ttl.rv, rl);
    }
    *out_len = IPC_HINT_HDR_LEN + klen + ext;
    return 0;
}

/* The TTL extension x[0..len) into *t; -EBADMSG unless canonical. */
static int ttl_decode(const uint8_t *x, size_t len, struct ipc_ttl *t)
{
    if (len < IPC_TTL_HDR_LEN || x[3] != 0)
        return -EBADMSG;
    size_t ul = x[1], rl = x[2], u2, r2;
    if (len != IPC_TTL_HDR_LEN + ul + rl || ul > IPC_TTL_UID_MAX || rl > IPC_TTL_RV_MAX)
        return -EBADMSG;
    memset(t, 0, sizeof(*t));
    t->flags = x[0];
    t->ttl_s = (int64_t)get64(x + 4);
    t->completion_ms = (int64_t)get64(x + 12);
    memcpy(t->uid, x + IPC_TTL_HDR_LEN, ul);
    memcpy(t->rv, x + IPC_TTL_HDR_LEN + ul, rl);
    /* A NUL inside uid or rv would shorten them: not canonical. */
    if (!ttl_ok(t, &u2, &r2) || u2 != ul || r2 != rl)
        return -EBADMSG;
    return 0;
}

int ipc_hint_decode(const void *buf, size_t len, struct ipc_hint *out)
{
    if (buf == NULL || out == NULL)
        return -EINVAL;
    const uint8_t *p = buf;
    if (len < IPC_HINT_HDR_LEN)
        return -EBADMSG;
    size_t klen = get16(p + 2), ext = p[1];
    if (len - IPC_HINT_HDR_LEN != klen + ext)
        return -EBADMSG;
    if (ipc_key_check((const char *)p + IPC_HINT_HDR_LEN, klen) != 0)
        return -EBADMSG;
    if (strcmp(ipc_kind_str((enum ipc_kind)p[0]), "UNKNOWN") == 0)
        return -ENOMSG;
    if (ext > 0 && p[0] != IPC_KIND_OMJOB)
        return -EBADMSG;
    struct ipc_ttl t;
    if (ext > 0 && ttl_decode(p + IPC_HINT_HDR_LEN + klen, ext, &t) != 0)
        return -EBADMSG;
    out->kind = (enum ipc_kind)p[0];
    out->seq = get64(p + 4);
    memcpy(out->key, p + IPC_HINT_HDR_LEN, klen);
    out->key[klen] = '\0';
    out->has_ttl = ext > 0;
    if (ext > 0)
        out->ttl = t;
    return 0;
}

int ipc_hints_add(void *buf, size_t cap, size_t *len, const struct ipc_hint *h)
{
    if (buf == NULL || len == NULL || h == NULL || (*len != 0 && *len < IPC_HINTS_HDR_LEN))
        return -EINVAL;
    uint8_t *p = buf;
    size_t at = *len == 0 ? IPC_HINTS_HDR_LEN : *len;
    unsigned count = *len == 0 ? 0 : get16(p);
    if (count >= IPC_HINTS_MAX || cap < at)
        return -ENOSPC;
    size_t n;
    int rc = ipc_hint_encode(h, p + at, cap - at, &n);
    if (rc != 0)
        return rc;
    put16(p, (uint16_t)(count + 1));
    *len = at + n;
    return 0;
}

/* One record at buf[off..len): its length into *n, the hint into *out (may be
 * NULL: check only). */
static int hint_record(const uint8_t *p, size_t len, size_t off, size_t *n, struct ipc_hint *out)
{
    if (len - off < IPC_HINT_HDR_LEN)
        return -EBADMSG;
    size_t rec = IPC_HINT_HDR_LEN + get16(p + off + 2) + p[off + 1];
    if (rec > len - off)
        return -EBADMSG;
    struct ipc_hint h;
    int rc = ipc_hint_decode(p + off, rec, out != NULL ? out : &h);
    *n = rec;
    return rc;
}

int ipc_hints_decode(const void *buf, size_t len, ipc_hint_fn fn, void *ctx)
{
    if (buf == NULL || fn == NULL)
        return -EINVAL;
    const uint8_t *p = buf;
    if (len < IPC_HINTS_HDR_LEN || len > IPC_HINTS_BODY_MAX)
        return -EBADMSG;
    size_t count = get16(p), off = IPC_HINTS_HDR_LEN, n;
    if (count == 0 || count > IPC_HINTS_MAX)
        return -EBADMSG;
    for (size_t i = 0; i < count; i++, off += n) {
        int rc = hint_record(p, len, off, &n, NULL);
        if (rc != 0)
            return rc;
    }
    if (off != len)
        return -EBADMSG;
    off = IPC_HINTS_HDR_LEN;
    for (size_t i = 0; i < count; i++, off += n) {
        struct ipc_hint h;
        hint_record(p, len, off, &n, &h); /* checked above */
        int rc = fn(ctx, &h);
        if (rc != 0)
            return rc;
    }
    return (int)count;
}

int ipc_msg_hints(const struct ipc_msg *m, ipc_hint_fn fn, void *ctx)
{
    if (m == NULL || fn == NULL)
        return -EINVAL;
    if (m->type == IPC_EV_CHANGES)
        return ipc_hints_decode(m->body, m->body_len, fn, ctx);
    if (m->type != IPC_EV_CHANGE)
        return -ENOMSG;
    struct ipc_hint h;
    int rc = ipc_hint_decode(m->body, m->body_len, &h);
    if (rc == 0 && (rc = fn(ctx, &h)) == 0)
        rc = 1;
    return rc;
}

int ipc_err_encode(int code, const char *text, void *buf, size_t cap, size_t *out_len)
{
    if (code >= 0 || buf == NULL || out_len == NULL)
        return -EINVAL;
    char ebuf[128];
    if (text == NULL)
        text = strerror_r(-code, ebuf, sizeof(ebuf));
    size_t tlen = strnlen(text, IPC_ERR_TEXT_MAX);
    if (cap < 4 + tlen)
        return -ENOSPC;
    uint8_t *p = buf;
    put32(p, (uint32_t)-code);
    for (size_t i = 0; i < tlen; i++)
        p[4 + i] = (text[i] >= 0x20 && text[i] <= 0x7e) ? (uint8_t)text[i] : '?';
    *out_len = 4 + tlen;
    return 0;
}

int ipc_err_decode(const void *buf, size_t len, int *code, const char **text, size_t *text_len)
{
    if (buf == NULL || code == NULL || text == NULL || text_len == NULL)
        return -EINVAL;
    const uint8_t *p = buf;
    if (len < 4 || len - 4 > IPC_ERR_TEXT_MAX)
        return -EBADMSG;
    uint32_t v = get32(p);
    if (v == 0 || v > 4095) /* errno values; also keeps -v an int */
        return -EBADMSG;
    for (size_t i = 4; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return -EBADMSG;
    *code = -(int)v;
    *text = (const char *)p + 4;
    *text_len = len - 4;
    return 0;
}

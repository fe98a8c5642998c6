/* libFuzzer target for the IPC envelope decoder and the hint, hints (a batch) and
 * error body decoders: whatever decodes must encode back to exactly the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hint(const uint8_t *data, size_t size)
{
    struct ipc_hint h;
    if (ipc_hint_decode(data, size, &h) != 0)
        return;
    uint8_t buf[IPC_HINT_MAX];
    size_t len;
    if (ipc_hint_encode(&h, buf, sizeof(buf), &len) != 0 || len != size ||
        memcmp(buf, data, size) != 0)
        abort();
}

/* A batch is re-encoded hint by hint as it is walked. */
struct rebuild {
    uint8_t buf[IPC_HINTS_BODY_MAX];
    size_t len;
};

static int rebuild_add(void *ctx, const struct ipc_hint *h)
{
    struct rebuild *r = ctx;
    if (ipc_hints_add(r->buf, sizeof(r->buf), &r->len, h) != 0)
        abort();
    return 0;
}

static void check_hints(const uint8_t *data, size_t size)
{
    static struct rebuild r; /* 64 KiB: not on the stack */
    r.len = 0;
    int n = ipc_hints_decode(data, size, rebuild_add, &r);
    if (n < 0) {
        if (r.len != 0) /* nothing is handed out of a body that does not decode */
            abort();
        return;
    }
    if (n < 1 || n > IPC_HINTS_MAX || r.len != size || memcmp(r.buf, data, size) != 0)
        abort();
}

static void check_err(const uint8_t *data, size_t size)
{
    int code;
    const char *text;
    size_t tlen;
    if (ipc_err_decode(data, size, &code, &text, &tlen) != 0)
        return;
    if (code >= 0 || tlen > IPC_ERR_TEXT_MAX || text != (const char *)data + 4)
        abort();
}

static void check_msg(const uint8_t *data, size_t size)
{
    struct ipc_msg m;
    if (ipc_msg_decode(data, size, &m) != 0)
        return;
    uint8_t *buf = malloc(size);
    size_t len;
    if (buf == NULL)
        return;
    if (ipc_msg_encode(&m, buf, size, &len) != 0 || len != size || memcmp(buf, data, size) != 0)
        abort();
    free(buf);
    if (m.type == IPC_EV_CHANGE)
        check_hint(m.body, m.body_len);
    if (m.type == IPC_EV_CHANGES)
        check_hints(m.body, m.body_len);
    if (m.type == IPC_REQ_ERROR)
        check_err(m.body, m.body_len);
    struct ipc_msg *dup;
    if (ipc_msg_decode_dup(data, size, &dup) != 0 || dup->body_len != m.body_len ||
        dup->seq != m.seq || strcmp(dup->topic, m.topic) != 0)
        abort();
    ipc_msg_free(dup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_msg(data, size);
    check_hint(data, size);
    check_hints(data, size);
    check_err(data, size);
    return 0;
}

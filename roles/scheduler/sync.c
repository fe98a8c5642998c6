/* The scheduler's view of the watcher's cache: "cron" hints (kind CRONOMJOB, key
 * of a CronOMJob: its own changes and those of the OMJobs it controls), GET_KEY
 * "CRONOMJOB ns/name", and LIST_SHARD {"kind":"CRONOMJOB"} resyncs (bodies in
 * docs/PROTOCOL.md, "Watcher bodies"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "roles/scheduler/internal.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/ipc/ipc.h"
#include "runtime/ctl.h"

/* Local IPC; short, so that a stop signal is never kept waiting long. */
#define TRUTH_TIMEOUT_MS 1000
/* Hints handled per loop turn, so that the loop heartbeats and runs keys. */
#define HINT_BATCH 1024

/* One request to the watcher's truth socket; *out gets the JSON reply (caller
 * puts). An IPC_REQ_ERROR reply gives its errno. */
static int truth_call(struct sched *s, enum ipc_type type, const char *body, enum ipc_type want,
                      struct json_object **out)
{
    struct ipc_msg *rep = NULL;
    const char *text;
    size_t tlen;
    int code;
    *out = NULL;
    int rc = ipc_req_call(s->s_req, type, body, strlen(body), TRUTH_TIMEOUT_MS, &rep);
    if (rc == 0 && rep->type == IPC_REQ_ERROR)
        rc = ipc_err_decode(rep->body, rep->body_len, &code, &text, &tlen) == 0 ? code : -EPROTO;
    else if (rc == 0 && rep->type != want)
        rc = -EPROTO;
    if (rc == 0 && (jx_parse((const char *)rep->body, rep->body_len, out, NULL, 0) != 0 ||
                    *out == NULL || !json_object_is_type(*out, json_type_object)))
        rc = -EBADMSG;
    if (rc == 0 && !jx_bool_or(*out, "synced", false))
        rc = -EAGAIN; /* null would not mean "absent" yet */
    if (rc != 0) {
        json_object_put(*out);
        *out = NULL;
    }
    ipc_msg_free(rep);
    return rc;
}

int sched_fetch(struct sched *s, const char *key, struct json_object **root)
{
    char body[16 + IPC_KEY_MAX];
    snprintf(body, sizeof(body), "CRONOMJOB %s", key);
    return truth_call(s, IPC_REQ_GET_KEY, body, IPC_REQ_GET_KEY_REPLY, root);
}

void sched_resync_init(struct sched_resync *r)
{
    memset(r, 0, sizeof(*r));
    r->sr_needed = true;
}

void sched_resync_ask(struct sched_resync *r)
{
    r->sr_needed = true;
}

bool sched_resync_due(const struct sched_resync *r, int64_t now)
{
    return now >= r->sr_retry_at && (r->sr_needed || now >= r->sr_periodic_at);
}

int64_t sched_resync_wait_ms(const struct sched_resync *r, int64_t now)
{
    int64_t at =
        r->sr_needed || r->sr_periodic_at < r->sr_retry_at ? r->sr_retry_at : r->sr_periodic_at;
    return at > now ? at - now : 0;
}

void sched_resync_done(struct sched_resync *r, int64_t now, int rc, int64_t period_ms)
{
    if (rc == 0) {
        r->sr_needed = false;
        r->sr_failures = 0;
        r->sr_periodic_at = now + period_ms;
        r->sr_retry_at = now + SCHED_RESYNC_MIN_MS;
        return;
    }
    r->sr_needed = true;
    if (rc == -EAGAIN) {
        r->sr_retry_at = now + SCHED_RESYNC_UNSYNCED_MS;
        return;
    }
    int64_t wait = SCHED_RESYNC_FIRST_MS;
    r->sr_failures++; /* once: an increment in the loop's test jumped to the maximum */
    for (int i = 1; i < r->sr_failures && wait < SCHED_RESYNC_MAX_MS; i++)
        wait *= 2;
    r->sr_retry_at = now + (wait < SCHED_RESYNC_MAX_MS ? wait : SCHED_RESYNC_MAX_MS);
}

int sched_resync(struct sched *s)
{
    struct json_object *reply = NULL;
    int rc = truth_call(s, IPC_REQ_LIST_SHARD, "{\"kind\":\"CRONOMJOB\"}", IPC_REQ_LIST_SHARD_REPLY,
                        &reply);
    struct json_object *keys = rc == 0 ? jx_arr(reply, "keys") : NULL;
    if (rc == 0 && keys == NULL)
        rc = -EBADMSG;
    size_t n = keys != NULL ? json_object_array_length(keys) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *key = jx_str(json_object_array_get_idx(keys, i), "key");
        if (key != NULL)
            sched_mark(s, key);
    }
    if (rc == 0) {
        char nk[24];
        snprintf(nk, sizeof(nk), "%zu", n);
        log_debug("resynced with the watcher", "cronomjobs", nk, NULL);
    }
    json_object_put(reply);
    return rc;
}

/* ipc_hint_fn: a CronOMJob's change (or one of its OMJobs') is looked at. */
static int hint_mark(void *ctx, const struct ipc_hint *h)
{
    if (h->kind == IPC_KIND_CRONOMJOB)
        sched_mark(ctx, h->key);
    return 0;
}

static void handle_hint(struct sched *s, const struct ipc_sub_event *ev)
{
    if (ev->se_status != IPC_SEQ_OK) { /* first message, a gap or a new publisher */
        char lost[24];
        snprintf(lost, sizeof(lost), "%llu", (unsigned long long)ev->se_missed);
        if (ev->se_status == IPC_SEQ_GAP)
            log_info("hints lost; resyncing with the watcher", "lost", lost, NULL);
        else
            log_debug("hint sequence restarts; resyncing with the watcher", "status",
                      ipc_seq_str(ev->se_status), NULL);
        sched_resync_ask(&s->s_rs);
    }
    if (ev->se_msg.type == IPC_EV_RESYNC) {
        sched_resync_ask(&s->s_rs);
        return;
    }
    if (ev->se_msg.type == IPC_EV_TICK)
        return; /* only its sequence number matters (checked above) */
    /* One hint (IPC_EV_CHANGE) or a batch (IPC_EV_CHANGES); anything else, or a
     * malformed body, loses hints: resync. */
    if (ipc_msg_hints(&ev->se_msg, hint_mark, s) < 0)
        sched_resync_ask(&s->s_rs);
}

void sched_drain_hints(struct sched *s)
{
    struct ipc_sub_event ev;
    unsigned n = ipc_sub_connects(s->s_sub);
    if (n != s->s_connects) { /* the watcher may have restarted and sent nothing yet */
        s->s_connects = n;
        sched_resync_ask(&s->s_rs);
    }
    for (int i = 0; i < HINT_BATCH; i++) {
        int rc = ipc_sub_recv(s->s_sub, 0, &ev);
        if (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EBADF)
            break;
        if (rc != 0) { /* malformed, dropped: the next one shows the gap */
            sched_resync_ask(&s->s_rs);
            continue;
        }
        handle_hint(s, &ev);
    }
}

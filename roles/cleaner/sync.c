/* The cleaner's view of the watcher's cache: "ttl" hints (each with the OMJob's
 * TTL facts), GET_KEY of a key to resync, and LIST_SHARD resyncs (bodies in
 * docs/PROTOCOL.md, "Watcher bodies"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles/cleaner/internal.h"
#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "runtime/ctl.h"

#define TRUTH_TIMEOUT_MS 5000
/* Hints handled per loop iteration, so that the loop heartbeats and deletes. */
#define HINT_BATCH 256

/* One request to the watcher's truth socket; *out gets the JSON reply (caller
 * puts). An IPC_REQ_ERROR reply gives its errno. */
static int truth_call(struct cleaner_ctx *c, enum ipc_type type, const char *body,
                      enum ipc_type want, struct json_object **out)
{
    struct ipc_msg *rep = NULL;
    const char *text;
    size_t tlen;
    int code;
    int rc = ipc_req_call(c->cl_req, type, body, strlen(body), TRUTH_TIMEOUT_MS, &rep);
    if (rc == 0 && rep->type == IPC_REQ_ERROR) {
        rc = ipc_err_decode(rep->body, rep->body_len, &code, &text, &tlen) == 0 ? code : -EPROTO;
    } else if (rc == 0 && rep->type != want) {
        rc = -EPROTO;
    }
    if (rc == 0 && jx_parse((const char *)rep->body, rep->body_len, out, NULL, 0) != 0)
        rc = -EBADMSG;
    if (rc == 0 && *out == NULL)
        rc = -EBADMSG;
    ipc_msg_free(rep);
    return rc;
}

/* GET_KEY key and (re)schedule it; revision is what the answer has seen. */
static int get_key(struct cleaner_ctx *c, const char *key, uint64_t revision)
{
    struct json_object *reply = NULL;
    struct ttl_entry *e;
    int rc = truth_call(c, IPC_REQ_GET_KEY, key, IPC_REQ_GET_KEY_REPLY, &reply);
    if (rc == 0 && !jx_bool_or(reply, "synced", false))
        rc = -EAGAIN; /* a null OMJob would not mean "absent" yet */
    if (rc == 0 && (e = ttl_add(c->cl_tab, key)) == NULL)
        rc = -ENOMEM;
    if (rc == 0) {
        cleaner_consider(c, e, jx_obj(reply, "omjob"));
        e->te_revision = revision;
    } else if ((e = ttl_find(c->cl_tab, key)) != NULL) {
        e->te_revision = 0; /* ask again at the next resync */
    }
    json_object_put(reply);
    return rc;
}

/* One key of a LIST_SHARD reply. */
static int resync_key(struct cleaner_ctx *c, struct json_object *item)
{
    const char *key = jx_str(item, "key");
    int64_t rev = jx_i64_or(item, "revision", 0);
    struct ttl_entry *e;
    if (key == NULL)
        return -EBADMSG;
    if ((e = ttl_add(c->cl_tab, key)) == NULL)
        return -ENOMEM;
    e->te_stamp = c->cl_stamp;
    if (rev > 0 && (uint64_t)rev == e->te_revision)
        return 0;
    if (jx_str(item, "resourceVersion") == NULL) { /* pods only: no OMJob */
        ttl_unschedule(c->cl_tab, e);
        e->te_revision = (uint64_t)rev;
        return 0;
    }
    return get_key(c, key, (uint64_t)rev);
}

int cleaner_resync(struct cleaner_ctx *c)
{
    struct json_object *reply = NULL;
    int rc = truth_call(c, IPC_REQ_LIST_SHARD, "{}", IPC_REQ_LIST_SHARD_REPLY, &reply);
    if (rc == 0 && !jx_bool_or(reply, "synced", false))
        rc = -EAGAIN;
    struct json_object *keys = rc == 0 ? jx_arr(reply, "keys") : NULL;
    if (rc == 0 && keys == NULL)
        rc = -EBADMSG;
    c->cl_stamp++;
    size_t n = keys != NULL ? json_object_array_length(keys) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = resync_key(c, json_object_array_get_idx(keys, i));
        if (i % 64 == 63)
            ctl_heartbeat(c->cl_ctl);
    }
    if (rc == 0) {
        size_t gone = ttl_sweep(c->cl_tab, c->cl_stamp);
        char nk[24], ng[24], ns[24];
        snprintf(nk, sizeof(nk), "%zu", n);
        snprintf(ng, sizeof(ng), "%zu", gone);
        snprintf(ns, sizeof(ns), "%zu", ttl_nscheduled(c->cl_tab));
        log_debug("resynced with the watcher", "keys", nk, "forgotten", ng, "scheduled", ns, NULL);
    }
    json_object_put(reply);
    cleaner_update_figures(c);
    return rc;
}

/* The watcher's revisions restart with it: every key must be asked again. And at
 * once: the failures behind the resync backoff were those of the watcher that is
 * gone (truth calls to it timed out while it died and restarted), and holding the
 * new one's resync for their backoff (up to 30 s) is the likely way an OMJob
 * finished while the watcher restarted once waited beyond its TTL (it_test_ttl
 * "afterkill", not reproduced since). */
static void watcher_changed(struct cleaner_ctx *c)
{
    ttl_invalidate(c->cl_tab);
    c->cl_need_resync = true;
    c->cl_resync_failures = 0;
    c->cl_try_at_ms = 0;
    c->cl_new_watcher = true;
}

/* A hint that carries the OMJob's TTL facts: no GET_KEY. */
static int hint_apply(struct cleaner_ctx *c, const struct ipc_hint *h)
{
    struct ttl_entry *e = ttl_add(c->cl_tab, h->key);
    if (e == NULL)
        return -ENOMEM;
    cleaner_consider_hint(c, e, &h->ttl);
    e->te_revision = h->seq;
    return 0;
}

/* ipc_hint_fn: an OMJob's change brings its TTL entry up to date, from the facts
 * the hint carries (the watcher's "ttl" hints do), else by GET_KEY. */
static int hint_get(void *ctx, const struct ipc_hint *h)
{
    struct cleaner_ctx *c = ctx;
    if (h->kind != IPC_KIND_OMJOB) /* CronOMJob hints go to "cron" (the scheduler) */
        return 0;
    metrics_counter_add(c->cl_hints, 1.0, h->has_ttl ? "hint" : "get_key");
    int rc = h->has_ttl ? hint_apply(c, h) : get_key(c, h->key, h->seq);
    if (rc != 0) {
        log_debug("hint not applied; resync", "key", h->key, "error", strerror(-rc), NULL);
        c->cl_need_resync = true;
    }
    return 0;
}

static void handle_hint(struct cleaner_ctx *c, const struct ipc_sub_event *ev)
{
    if (ev->se_status == IPC_SEQ_FIRST || ev->se_status == IPC_SEQ_NEW_PUBLISHER)
        watcher_changed(c);
    else if (ev->se_status == IPC_SEQ_GAP)
        c->cl_need_resync = true;
    if (ev->se_msg.type == IPC_EV_RESYNC) {
        c->cl_need_resync = true;
        return;
    }
    if (ev->se_msg.type == IPC_EV_TICK)
        return; /* only its sequence number matters (checked above) */
    /* One hint (IPC_EV_CHANGE) or a batch (IPC_EV_CHANGES); anything else, or a
     * malformed body, loses hints: resync. */
    if (ipc_msg_hints(&ev->se_msg, hint_get, c) < 0)
        c->cl_need_resync = true;
}

void cleaner_drain_hints(struct cleaner_ctx *c)
{
    struct ipc_sub_event ev;
    unsigned n = ipc_sub_connects(c->cl_sub);
    if (n != c->cl_connects) { /* the watcher may have restarted and sent nothing yet */
        c->cl_connects = n;
        watcher_changed(c);
    }
    for (int i = 0; i < HINT_BATCH; i++) {
        int rc = ipc_sub_recv(c->cl_sub, 0, &ev);
        if (rc == -EAGAIN || rc == -ETIMEDOUT)
            break;
        if (rc != 0) { /* malformed, dropped: the next one shows the gap */
            c->cl_need_resync = true;
            continue;
        }
        handle_hint(c, &ev);
    }
    cleaner_update_figures(c);
}

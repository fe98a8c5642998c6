/* The watcher's truth server handler (see truth.h). */
#include "roles/watcher/truth.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/msg.h"

int watcher_parse_get_key(const char *body, size_t len, size_t *off, size_t *klen, bool *cron)
{
    static const struct {
        const char *word;
        bool cron;
    } kinds[] = {{"OMJOB ", false}, {"CRONOMJOB ", true}};
    size_t o = 0;
    bool c = false;
    if (body == NULL)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].word);
        if (len > n && memcmp(body, kinds[i].word, n) == 0) {
            o = n;
            c = kinds[i].cron;
        }
    }
    if (ipc_key_check(body + o, len - o) != 0)
        return -EINVAL;
    *off = o;
    *klen = len - o;
    *cron = c;
    return 0;
}

static int parse_shard(struct json_object *req, struct wc_listq *q)
{
    int64_t shard, shards;
    int a = jx_i64(req, "shard", &shard), b = jx_i64(req, "shards", &shards);
    if (a == -ENOENT && b == -ENOENT)
        return 0;
    if (a != 0 || b != 0 || shards < 1 || shards > WATCHER_SHARDS_MAX || shard < 0 ||
        shard >= shards)
        return -EINVAL;
    q->lq_shard = (int)shard;
    q->lq_shards = (int)shards;
    return 0;
}

int watcher_parse_list(const char *body, size_t len, struct wc_listq *q)
{
    struct json_object *req = NULL;
    struct wc_listq r = {.lq_kind = WC_OMJOB};
    int rc = 0;
    if (len > 0 && (jx_parse(body, len, &req, NULL, 0) != 0 || req == NULL ||
                    !json_object_is_type(req, json_type_object)))
        rc = -EINVAL;
    const char *kind = rc == 0 ? jx_str(req, "kind") : NULL;
    if (rc == 0 && jx_get(req, "kind") != NULL && kind == NULL)
        rc = -EINVAL;
    if (rc == 0 && kind != NULL) {
        if (strcmp(kind, "CRONOMJOB") == 0)
            r.lq_kind = WC_CRONOMJOB;
        else if (strcmp(kind, "OMJOB") != 0)
            rc = -EINVAL;
    }
    if (rc == 0)
        rc = parse_shard(req, &r);
    json_object_put(req);
    if (rc == 0)
        *q = r;
    return rc;
}

int watcher_truth_handle(void *arg, const struct ipc_msg *req, struct ipc_reply *rep)
{
    struct wcache *c = arg;
    const char *body = (const char *)req->body;
    char *out = NULL;
    size_t len = 0, off, klen;
    bool cron;
    struct wc_listq q;
    int rc;
    switch (req->type) {
    case IPC_REQ_GET_KEY:
        rc = watcher_parse_get_key(body, req->body_len, &off, &klen, &cron);
        if (rc == 0)
            rc = wcache_render_key(c, body + off, klen, cron, &out, &len);
        rep->type = IPC_REQ_GET_KEY_REPLY;
        break;
    case IPC_REQ_LIST_SHARD:
        rc = watcher_parse_list(body, req->body_len, &q);
        if (rc == 0)
            rc = wcache_render_list(c, &q, &out, &len);
        rep->type = IPC_REQ_LIST_SHARD_REPLY;
        break;
    default:
        rc = -EOPNOTSUPP;
        break;
    }
    rep->body = out;
    rep->len = len;
    return rc;
}

int watcher_hint_topics(enum ipc_kind kind, const char *ns, const char *name, int shards,
                        bool finished, char topics[2][WATCHER_TOPIC_MAX])
{
    int n = 0;
    if (kind == IPC_KIND_CRONOMJOB) {
        util_strlcpy(topics[n++], IPC_TOPIC_CRON, WATCHER_TOPIC_MAX);
        return n;
    }
    int s = util_shard_of(ns, name, shards);
    if (s < 0 || ipc_topic_shard(topics[n++], WATCHER_TOPIC_MAX, (unsigned)s) != 0)
        return -EINVAL;
    if (kind == IPC_KIND_OMJOB && finished)
        util_strlcpy(topics[n++], IPC_TOPIC_TTL, WATCHER_TOPIC_MAX);
    return n;
}

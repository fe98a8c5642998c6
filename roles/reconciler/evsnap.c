/* One LIST of a namespace's OMJob Events, counted by OMJob uid (see evsnap.h). */
#include "roles/reconciler/evsnap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/linkhash.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "model/labels.h"

#define EXIT_MSGS_MAX 4096 /* as reconciler.c's per-key LIST keeps */

struct ent {
    int main_created, main_completed, completed, failed;
    char *exit_msgs; /* NULL: none */
};

struct evsnap {
    struct lh_table *by_uid; /* uid -> struct ent */
    char *ns;
    int shard, nshards;
    int64_t taken_ms;
    int oom;
};

static void ent_free(struct lh_entry *e)
{
    free(lh_entry_k(e));
    struct ent *v = lh_entry_v(e);
    free(v->exit_msgs);
    free(v);
}

static int collect(void *ctx, struct json_object *item)
{
    struct evsnap *s = ctx;
    const char *uid = jx_str(item, "involvedObject.uid"), *reason = jx_str(item, "reason");
    const char *name = jx_str(item, "involvedObject.name");
    if (uid == NULL || reason == NULL || name == NULL)
        return 0;
    if (s->nshards > 1 && util_shard_of(s->ns, name, s->nshards) != s->shard)
        return 0;
    struct ent *v = NULL;
    if (!lh_table_lookup_ex(s->by_uid, uid, (void **)&v)) {
        char *k = strdup(uid);
        v = calloc(1, sizeof(*v));
        if (k == NULL || v == NULL || lh_table_insert(s->by_uid, k, v) != 0) {
            free(k);
            free(v);
            s->oom = 1;
            return 1;
        }
    }
    if (strcmp(reason, "MainPodCreated") == 0)
        v->main_created++;
    else if (strcmp(reason, "MainPodCompleted") == 0)
        v->main_completed++;
    else if (strcmp(reason, "OMJobCompleted") == 0)
        v->completed++;
    else if (strcmp(reason, "OMJobFailed") == 0)
        v->failed++;
    else if (strcmp(reason, "ExitHandlerCreated") == 0) {
        const char *m = jx_str_or(item, "message", "");
        size_t have = v->exit_msgs ? strlen(v->exit_msgs) : 0, add = strlen(m) + 1;
        if (have + add >= EXIT_MSGS_MAX)
            return 0;
        char *n = realloc(v->exit_msgs, have + add + 1);
        if (n == NULL) {
            s->oom = 1;
            return 1;
        }
        memcpy(n + have, m, add - 1);
        n[have + add - 1] = '\n';
        n[have + add] = '\0';
        v->exit_msgs = n;
    }
    return 0;
}

static int take(struct kube_client *kc, const char *ns, const char *selector, int shard,
                int nshards, struct evsnap **out, struct kube_err *err)
{
    *out = NULL;
    struct evsnap *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->ns = strdup(ns)) == NULL ||
        (s->by_uid = lh_kchar_table_new(1024, ent_free)) == NULL) {
        evsnap_free(s);
        return -ENOMEM;
    }
    s->shard = shard;
    s->nshards = nshards;
    s->taken_ms = util_mono_ms();
    struct kube_ref ref = {.gv = "v1", .plural = "events", .ns = ns};
    struct kube_list_opts lo = {.field_selector = selector};
    int rc = kube_list(kc, &ref, &lo, collect, s, NULL, 0, err);
    if (rc == 0 && s->oom)
        rc = -ENOMEM;
    if (rc != 0) {
        evsnap_free(s);
        return rc < 0 ? rc : -EIO;
    }
    *out = s;
    return 0;
}

int evsnap_take(struct kube_client *kc, const char *ns, int shard, int nshards, struct evsnap **out,
                struct kube_err *err)
{
    return take(kc, ns, "involvedObject.kind=" OMJOB_KIND, shard, nshards, out, err);
}

int evsnap_take_one(struct kube_client *kc, const char *ns, const char *uid, struct evsnap **out,
                    struct kube_err *err)
{
    char sel[160];
    snprintf(sel, sizeof(sel), "involvedObject.uid=%s", uid);
    return take(kc, ns, sel, 0, 1, out, err);
}

void evsnap_free(struct evsnap *s)
{
    if (s == NULL)
        return;
    if (s->by_uid != NULL)
        lh_table_free(s->by_uid);
    free(s->ns);
    free(s);
}

const char *evsnap_ns(const struct evsnap *s)
{
    return s->ns;
}

int64_t evsnap_taken_ms(const struct evsnap *s)
{
    return s->taken_ms;
}

size_t evsnap_count(const struct evsnap *s)
{
    return (size_t)lh_table_length(s->by_uid);
}

void evsnap_get(const struct evsnap *s, const char *uid, struct evsnap_seen *out)
{
    struct ent *v = NULL;
    memset(out, 0, sizeof(*out));
    out->exit_msgs = "";
    if (uid == NULL || !lh_table_lookup_ex(s->by_uid, uid, (void **)&v))
        return;
    out->main_created = v->main_created;
    out->main_completed = v->main_completed;
    out->completed = v->completed;
    out->failed = v->failed;
    out->exit_msgs = v->exit_msgs != NULL ? v->exit_msgs : "";
}

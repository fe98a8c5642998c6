/* Kubernetes Events (core/v1, legacy style: no eventTime, so count and
 * lastTimestamp aggregate repeats) with an LRU map from (uid, type, reason,
 * message) to the Event's name and count. See events.h.
 *
 * Concurrency: one mutex guards the map; no HTTP request runs under it. An entry
 * being written (POST or PATCH in flight) is marked busy: another thread emitting
 * the same event waits for it (condition variable), so the first occurrence is
 * created once and counts reach the server in order; different events never wait
 * for each other. Busy entries are never evicted. */
#include "runtime/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"

#define EV_CAP_DEFAULT 4096u
#define EV_CAP_MAX (1u << 20)
#define EV_MESSAGE_MAX 1024
#define EV_NAME_PREFIX_MAX 200
#define EV_INSTANCE_MAX 128

struct ev_entry {
    uint64_t e_hash;          /* of uid, type, reason, message */
    char *e_name;             /* the Event's metadata.name; NULL until created */
    long e_count;             /* the count the server has */
    bool e_busy;              /* a request for it is in flight */
    bool e_unsure;            /* its POST got no answer: it may exist with count 1 */
    struct ev_entry *e_bnext; /* hash bucket chain */
    struct ev_entry *e_prev;  /* LRU list: head is the most recent */
    struct ev_entry *e_next;
};

struct ev_recorder {
    struct kube_client *r_kc;
    char *r_component;
    char *r_instance;
    unsigned r_cap;
    unsigned r_len;
    size_t r_nbuckets; /* a power of two */
    struct ev_entry **r_buckets;
    struct ev_entry *r_head, *r_tail;
    pthread_mutex_t r_mu;
    pthread_cond_t r_cv;
    struct ev_stats r_stats;
};

const char *ev_type_str(enum ev_type t)
{
    return t == EV_WARNING ? "Warning" : "Normal";
}

/* ---- the LRU map (callers hold r_mu) ---- */

static struct ev_entry **bucket_of(struct ev_recorder *r, uint64_t h)
{
    return &r->r_buckets[h & (r->r_nbuckets - 1)];
}

static struct ev_entry *map_find(struct ev_recorder *r, uint64_t h)
{
    for (struct ev_entry *e = *bucket_of(r, h); e != NULL; e = e->e_bnext)
        if (e->e_hash == h)
            return e;
    return NULL;
}

static void lru_unlink(struct ev_recorder *r, struct ev_entry *e)
{
    if (e->e_prev != NULL)
        e->e_prev->e_next = e->e_next;
    else
        r->r_head = e->e_next;
    if (e->e_next != NULL)
        e->e_next->e_prev = e->e_prev;
    else
        r->r_tail = e->e_prev;
    e->e_prev = e->e_next = NULL;
}

static void lru_push_front(struct ev_recorder *r, struct ev_entry *e)
{
    e->e_prev = NULL;
    e->e_next = r->r_head;
    if (r->r_head != NULL)
        r->r_head->e_prev = e;
    r->r_head = e;
    if (r->r_tail == NULL)
        r->r_tail = e;
}

static void map_remove(struct ev_recorder *r, struct ev_entry *e)
{
    struct ev_entry **p = bucket_of(r, e->e_hash);
    while (*p != NULL && *p != e)
        p = &(*p)->e_bnext;
    if (*p == e)
        *p = e->e_bnext;
    lru_unlink(r, e);
    r->r_len--;
    free(e->e_name);
    free(e);
}

/* Forgets the least recently used entries that are not busy until at most cap. */
static void map_evict(struct ev_recorder *r)
{
    struct ev_entry *e = r->r_tail;
    while (r->r_len > r->r_cap && e != NULL) {
        struct ev_entry *prev = e->e_prev;
        if (!e->e_busy)
            map_remove(r, e);
        e = prev;
    }
}

static struct ev_entry *map_insert(struct ev_recorder *r, uint64_t h)
{
    struct ev_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->e_hash = h;
    e->e_bnext = *bucket_of(r, h);
    *bucket_of(r, h) = e;
    lru_push_front(r, e);
    r->r_len++;
    return e;
}

/* Waits until the entry of h is free and marks it busy (creating it when absent:
 * a busy entry without a name). NULL on ENOMEM. */
static struct ev_entry *entry_acquire(struct ev_recorder *r, uint64_t h)
{
    for (;;) {
        struct ev_entry *e = map_find(r, h);
        if (e == NULL) {
            if ((e = map_insert(r, h)) == NULL)
                return NULL;
            e->e_busy = true;
            map_evict(r);
            return e;
        }
        if (!e->e_busy) {
            e->e_busy = true;
            lru_unlink(r, e);
            lru_push_front(r, e);
            return e;
        }
        pthread_cond_wait(&r->r_cv, &r->r_mu);
    }
}

/* ---- life cycle ---- */

int ev_recorder_new(struct kube_client *kc, const char *component, const char *instance,
                    unsigned cap, struct ev_recorder **out)
{
    struct ev_recorder *r = calloc(1, sizeof(*r));
    if (kc == NULL || component == NULL || instance == NULL || cap > EV_CAP_MAX) {
        free(r);
        return -EINVAL;
    }
    if (r == NULL)
        return -ENOMEM;
    r->r_kc = kc;
    r->r_cap = cap == 0 ? EV_CAP_DEFAULT : cap;
    r->r_nbuckets = 16;
    while (r->r_nbuckets < r->r_cap)
        r->r_nbuckets <<= 1;
    r->r_component = strdup(component);
    r->r_instance = strndup(instance, EV_INSTANCE_MAX);
    r->r_buckets = calloc(r->r_nbuckets, sizeof(*r->r_buckets));
    if (r->r_component == NULL || r->r_instance == NULL || r->r_buckets == NULL) {
        free(r->r_component);
        free(r->r_instance);
        free(r->r_buckets);
        free(r);
        return -ENOMEM;
    }
    pthread_mutex_init(&r->r_mu, NULL);
    pthread_cond_init(&r->r_cv, NULL);
    *out = r;
    return 0;
}

void ev_recorder_free(struct ev_recorder *r)
{
    if (r == NULL)
        return;
    while (r->r_head != NULL)
        map_remove(r, r->r_head);
    pthread_cond_destroy(&r->r_cv);
    pthread_mutex_destroy(&r->r_mu);
    free(r->r_buckets);
    free(r->r_component);
    free(r->r_instance);
    free(r);
}

void ev_stats_get(struct ev_recorder *r, struct ev_stats *out)
{
    pthread_mutex_lock(&r->r_mu);
    *out = r->r_stats;
    pthread_mutex_unlock(&r->r_mu);
}

/* ---- requests ---- */

/* The length of message cut at EV_MESSAGE_MAX bytes, never inside a UTF-8
 * character. */
static size_t message_len(const char *m)
{
    size_t n = strnlen(m, EV_MESSAGE_MAX + 1);
    if (n <= EV_MESSAGE_MAX)
        return n;
    n = EV_MESSAGE_MAX;
    while (n > 0 && ((unsigned char)m[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static uint64_t key_hash(const struct ev_object *o, enum ev_type t, const char *reason,
                         const char *msg, size_t msglen)
{
    const char *ts = ev_type_str(t);
    uint64_t h = UTIL_FNV1A64_INIT;
    h = util_fnv1a64_update(h, o->uid, strlen(o->uid) + 1);
    h = util_fnv1a64_update(h, ts, strlen(ts) + 1);
    h = util_fnv1a64_update(h, reason, strlen(reason) + 1);
    return util_fnv1a64_update(h, msg, msglen);
}

/* The Event's name: the object's name and the hash of what aggregates (uid, type,
 * reason, message). Deterministic, so that a POST retried after a lost answer, or
 * the same Event from a restarted process, finds the one already there (409)
 * instead of creating a second (generateName did: a duplicate ExitHandlerCreated
 * after an API server restart). */
static void event_name(const struct ev_object *o, uint64_t h, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.*s.%016llx", EV_NAME_PREFIX_MAX, o->name, (unsigned long long)h);
}

/* The Event to POST (new reference), NULL on ENOMEM. */
static struct json_object *event_json(struct ev_recorder *r, const struct ev_object *o,
                                      enum ev_type t, const char *reason, const char *msg,
                                      size_t msglen, const char *now)
{
    char name[EV_NAME_PREFIX_MAX + 24];
    struct json_object *e = json_object_new_object();
    int rc = e == NULL ? -ENOMEM : 0;
    event_name(o, key_hash(o, t, reason, msg, msglen), name, sizeof(name));
    if (rc == 0)
        rc = jx_set_str(e, "apiVersion", "v1");
    if (rc == 0)
        rc = jx_set_str(e, "kind", "Event");
    if (rc == 0)
        rc = jx_set_str(e, "metadata.name", name);
    if (rc == 0)
        rc = jx_set_str(e, "metadata.namespace", o->ns);
    if (rc == 0)
        rc = jx_set_str(e, "involvedObject.apiVersion", o->api_version);
    if (rc == 0)
        rc = jx_set_str(e, "involvedObject.kind", o->kind);
    if (rc == 0)
        rc = jx_set_str(e, "involvedObject.name", o->name);
    if (rc == 0)
        rc = jx_set_str(e, "involvedObject.namespace", o->ns);
    if (rc == 0)
        rc = jx_set_str(e, "involvedObject.uid", o->uid);
    if (rc == 0 && o->resource_version != NULL && o->resource_version[0] != '\0')
        rc = jx_set_str(e, "involvedObject.resourceVersion", o->resource_version);
    if (rc == 0)
        rc = jx_set_str(e, "reason", reason);
    if (rc == 0)
        rc = jx_set(e, "message", json_object_new_string_len(msg, (int)msglen));
    if (rc == 0)
        rc = jx_set_str(e, "type", ev_type_str(t));
    if (rc == 0)
        rc = jx_set_i64(e, "count", 1);
    if (rc == 0)
        rc = jx_set_str(e, "firstTimestamp", now);
    if (rc == 0)
        rc = jx_set_str(e, "lastTimestamp", now);
    if (rc == 0)
        rc = jx_set_str(e, "source.component", r->r_component);
    if (rc == 0)
        rc = jx_set_str(e, "reportingComponent", r->r_component);
    if (rc == 0)
        rc = jx_set_str(e, "reportingInstance", r->r_instance);
    if (rc != 0) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

/* POSTs a new Event; on success *name is its name (malloc'd) and *existed tells
 * whether it was there already (409 AlreadyExists: its deterministic name). */
static int post_event(struct ev_recorder *r, const struct ev_object *o, enum ev_type t,
                      const char *reason, const char *msg, size_t msglen, const char *now,
                      char **name, bool *existed, struct kube_err *err)
{
    struct kube_ref ref = {.gv = "v1", .plural = "events", .ns = o->ns};
    struct json_object *body = event_json(r, o, t, reason, msg, msglen, now);
    int rc = body == NULL ? -ENOMEM : 0;
    *existed = false;
    if (rc == 0)
        rc = kube_create(r->r_kc, &ref, body, NULL, err);
    if (rc == -EEXIST) {
        *existed = true;
        kube_err_clear(err);
        rc = 0;
    }
    if (rc == 0) {
        *name = strdup(jx_str_or(body, "metadata.name", ""));
        rc = *name != NULL ? 0 : -ENOMEM;
    }
    json_object_put(body);
    return rc;
}

/* The count of the Event name as the server has it; 0 when unknown. */
static long server_count(struct ev_recorder *r, const char *ns, const char *name)
{
    struct kube_ref ref = {.gv = "v1", .plural = "events", .ns = ns, .name = name};
    struct json_object *ev = NULL;
    struct kube_err err;
    long count = 0;
    if (kube_get(r->r_kc, &ref, &ev, &err) == 0)
        count = (long)jx_i64_or(ev, "count", 1);
    json_object_put(ev);
    return count;
}

static int patch_event(struct ev_recorder *r, const char *ns, const char *name, long count,
                       const char *now, struct kube_err *err)
{
    struct kube_ref ref = {.gv = "v1", .plural = "events", .ns = ns, .name = name};
    struct json_object *p = json_object_new_object();
    int rc = p == NULL ? -ENOMEM : jx_set_i64(p, "count", count);
    if (rc == 0)
        rc = jx_set_str(p, "lastTimestamp", now);
    if (rc == 0)
        rc = kube_patch(r->r_kc, &ref, KUBE_PATCH_MERGE, p, NULL, err);
    json_object_put(p);
    return rc;
}

static void log_failure(const struct ev_object *o, const char *reason, int rc,
                        const struct kube_err *err)
{
    char http[16];
    snprintf(http, sizeof(http), "%d", err->http);
    log_warn("event not recorded", "omjob.namespace", o->ns, "omjob.name", o->name, "omjob.uid",
             o->uid, "reason", reason, "error", strerror(-rc), "http", http, "detail",
             err->message[0] != '\0' ? err->message : NULL, NULL);
}

/* POSTs the Event (count 1). When it is there already: this very Event if an
 * earlier POST of ours got no answer (unsure), which stays at count 1; else the
 * same one from an earlier process, counted again (GET + PATCH). *count is the
 * count the server has after. */
static int post_or_count(struct ev_recorder *r, const struct ev_object *o, enum ev_type t,
                         const char *reason, const char *msg, size_t msglen, const char *now,
                         bool unsure, long *count, char **created, struct kube_err *err)
{
    bool existed = false;
    *count = 1;
    int rc = post_event(r, o, t, reason, msg, msglen, now, created, &existed, err);
    if (rc == 0 && existed && !unsure) {
        long c = server_count(r, o->ns, *created);
        if (c > 0) {
            *count = c + 1;
            rc = patch_event(r, o->ns, *created, *count, now, err);
        }
    }
    return rc;
}

/* A POST that may have landed: the next try POSTs the same name again and takes
 * a 409 as done. Called under r_mu. */
static void mark_unsure(struct ev_entry *e, const struct ev_object *o, uint64_t h)
{
    char det[EV_NAME_PREFIX_MAX + 24];
    event_name(o, h, det, sizeof(det));
    char *d = strdup(det);
    if (d != NULL) {
        free(e->e_name);
        e->e_name = d;
        e->e_unsure = true;
    }
}

int ev_emit(struct ev_recorder *r, const struct ev_object *o, enum ev_type t, const char *reason,
            const char *message)
{
    char now[UTIL_RFC3339_MAX];
    char *name = NULL, *created = NULL;
    struct kube_err err;
    struct ev_entry *e;
    long count;
    int rc;
    if (r == NULL || o == NULL || o->ns == NULL || o->name == NULL || o->uid == NULL ||
        o->api_version == NULL || o->kind == NULL || reason == NULL || reason[0] == '\0')
        return -EINVAL;
    if (message == NULL)
        message = "";
    kube_err_clear(&err);
    size_t msglen = message_len(message);
    uint64_t h = key_hash(o, t, reason, message, msglen);
    util_rfc3339_format(util_wall_ns(), 0, now, sizeof(now));

    bool unsure = false;
    pthread_mutex_lock(&r->r_mu);
    e = entry_acquire(r, h);
    count = e != NULL ? e->e_count + 1 : 0;
    rc = e == NULL ? -ENOMEM : 0;
    if (e != NULL && e->e_name != NULL && !e->e_unsure && (name = strdup(e->e_name)) == NULL)
        rc = -ENOMEM;
    unsure = e != NULL && e->e_unsure;
    pthread_mutex_unlock(&r->r_mu);

    if (rc == 0 && name != NULL) {
        rc = patch_event(r, o->ns, name, count, now, &err);
        if (rc == -ENOENT) /* expired (1 h by default) or deleted: start again */
            kube_err_clear(&err);
    }
    if ((rc == 0 && name == NULL) || rc == -ENOENT)
        rc = post_or_count(r, o, t, reason, message, msglen, now, unsure, &count, &created, &err);

    pthread_mutex_lock(&r->r_mu);
    if (e != NULL) {
        if (rc == 0) {
            e->e_count = count;
            e->e_unsure = false;
            if (created != NULL) {
                free(e->e_name);
                e->e_name = created;
                created = NULL;
            }
        } else if (name == NULL && kube_err_maybe_applied(&err)) {
            mark_unsure(e, o, h);
        }
        e->e_busy = false;
        if (e->e_name == NULL)
            map_remove(r, e); /* nothing on the server to aggregate into */
        else
            map_evict(r);
        pthread_cond_broadcast(&r->r_cv);
    }
    if (rc == 0 && count == 1)
        r->r_stats.created++;
    else if (rc == 0)
        r->r_stats.aggregated++;
    else
        r->r_stats.failed++;
    pthread_mutex_unlock(&r->r_mu);

    if (rc != 0)
        log_failure(o, reason, rc, &err);
    free(name);
    free(created);
    return rc;
}

int ev_emitf(struct ev_recorder *r, const struct ev_object *obj, enum ev_type type,
             const char *reason, const char *fmt, ...)
{
    char msg[EV_MESSAGE_MAX + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ev_emit(r, obj, type, reason, msg);
}

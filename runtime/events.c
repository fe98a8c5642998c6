/* Kubernetes Events (core/v1, legacy style: no eventTime, so count and
 * lastTimestamp aggregate repeats) with an LRU map from (uid, type, reason,
 * message) to the Event's name and count. See events.h.
 *
 * Concurrency: one mutex guards the map; no HTTP request runs under it. An entry
 * being written (POST or PATCH in flight) is marked busy: another thread emitting
 * the same event waits for it (condition variable), so the first occurrence is
 * created once and counts reach the server in order; different events never wait
 * for each other. Busy entries are never evicted.
 *
 * The waiting queue (ev_emit_keep, ev_retry) is a FIFO of copies under its own
 * mutex; ev_retry takes the due entries out, posts them without any lock held and
 * puts back those that failed again. */
#include "runtime/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/metrics.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"

#define EV_CAP_DEFAULT 4096u
#define EV_CAP_MAX (1u << 20)
#define EV_MESSAGE_MAX 1024
#define EV_NAME_PREFIX_MAX 200
#define EV_INSTANCE_MAX 128

struct ev_entry {
    uint64_t e_hash;          /* of uid, type, reason, message */
    uint64_t e_obj;           /* of the object's namespace and name (ev_forget) */
    int64_t e_used_ms;        /* monotonic: the last occurrence (ev_expire) */
    char *e_name;             /* the Event's metadata.name; NULL until created */
    long e_count;             /* the count the server has */
    bool e_busy;              /* a request for it is in flight */
    bool e_unsure;            /* its POST got no answer: it may exist with count 1 */
    struct ev_entry *e_bnext; /* hash bucket chain */
    struct ev_entry *e_prev;  /* LRU list: head is the most recent */
    struct ev_entry *e_next;
};

#define EV_WAIT_CAP_DEFAULT 512u
#define EV_WAIT_FIRST_MS 2000
#define EV_WAIT_MAX_MS 30000
/* A round stops after this many failures in a row without a connection. */
#define EV_WAIT_DOWN_STREAK 3
/* A success pulls the waiting ones forward at most this often. */
#define EV_KICK_MS 2000

/* An occurrence the API server did not take, waiting for another try. */
struct ev_wait {
    char *w_ns, *w_name, *w_uid, *w_api_version, *w_kind, *w_reason, *w_message;
    enum ev_type w_type;
    int64_t w_next_ms;    /* monotonic; 0: not scheduled yet (the next ev_retry does) */
    int64_t w_backoff_ms; /* the last wait */
    struct ev_wait *w_next;
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
    /* The waiting queue and its counters (r_wmu). */
    pthread_mutex_t r_wmu;
    struct ev_wait *r_whead, *r_wtail;
    struct {
        unsigned long waiting, late, dropped_full, dropped_gone;
    } r_w;
    unsigned r_wcap;
    int64_t r_expire_at; /* the next ev_expire_due (r_mu) */
    atomic_bool r_kick;  /* an Event went through: try the waiting ones now */
    int64_t r_kick_ms;
    ev_exists_fn r_exists;
    void *r_exists_ctx;
    struct metrics_family *r_mdropped, *r_mwaiting;
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

static struct ev_entry *map_insert(struct ev_recorder *r, uint64_t h, uint64_t obj)
{
    struct ev_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->e_hash = h;
    e->e_obj = obj;
    e->e_bnext = *bucket_of(r, h);
    *bucket_of(r, h) = e;
    lru_push_front(r, e);
    r->r_len++;
    return e;
}

/* Waits until the entry of h is free and marks it busy (creating it when absent:
 * a busy entry without a name). NULL on ENOMEM. */
static struct ev_entry *entry_acquire(struct ev_recorder *r, uint64_t h, uint64_t obj)
{
    for (;;) {
        struct ev_entry *e = map_find(r, h);
        if (e == NULL) {
            if ((e = map_insert(r, h, obj)) == NULL)
                return NULL;
            e->e_busy = true;
            e->e_used_ms = util_mono_ms();
            map_evict(r);
            return e;
        }
        if (!e->e_busy) {
            e->e_busy = true;
            e->e_used_ms = util_mono_ms();
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
    pthread_mutex_init(&r->r_wmu, NULL);
    r->r_wcap = EV_WAIT_CAP_DEFAULT;
    *out = r;
    return 0;
}

static void wait_free(struct ev_wait *w)
{
    if (w == NULL)
        return;
    free(w->w_ns);
    free(w->w_name);
    free(w->w_uid);
    free(w->w_api_version);
    free(w->w_kind);
    free(w->w_reason);
    free(w->w_message);
    free(w);
}

void ev_recorder_free(struct ev_recorder *r)
{
    if (r == NULL)
        return;
    while (r->r_head != NULL)
        map_remove(r, r->r_head);
    while (r->r_whead != NULL) {
        struct ev_wait *w = r->r_whead;
        r->r_whead = w->w_next;
        wait_free(w);
    }
    pthread_mutex_destroy(&r->r_wmu);
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
    pthread_mutex_lock(&r->r_wmu);
    out->waiting = r->r_w.waiting;
    out->late = r->r_w.late;
    out->dropped_full = r->r_w.dropped_full;
    out->dropped_gone = r->r_w.dropped_gone;
    pthread_mutex_unlock(&r->r_wmu);
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

/* The object an entry is about, for ev_forget: its namespace and name (not its uid,
 * which a caller that sees the object gone may no longer have). */
static uint64_t obj_hash(const char *ns, const char *name)
{
    uint64_t h = UTIL_FNV1A64_INIT;
    h = util_fnv1a64_update(h, ns, strlen(ns) + 1);
    return util_fnv1a64_update(h, name, strlen(name) + 1);
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
    e = entry_acquire(r, h, obj_hash(o->ns, o->name));
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
    if (rc == 0)
        atomic_store(&r->r_kick, true);
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

/* ---- forgetting ---- */

unsigned ev_forget(struct ev_recorder *r, const char *ns, const char *name)
{
    unsigned n = 0;
    if (r == NULL || ns == NULL || name == NULL)
        return 0;
    uint64_t obj = obj_hash(ns, name);
    pthread_mutex_lock(&r->r_mu);
    for (struct ev_entry *e = r->r_head, *nx; e != NULL; e = nx) {
        nx = e->e_next;
        if (e->e_obj == obj && !e->e_busy) {
            map_remove(r, e);
            n++;
        }
    }
    pthread_mutex_unlock(&r->r_mu);
    return n;
}

unsigned ev_expire(struct ev_recorder *r, int64_t now_ms, int64_t idle_ms)
{
    unsigned n = 0;
    if (r == NULL)
        return 0;
    pthread_mutex_lock(&r->r_mu);
    /* The tail is the least recently used: stop at the first one used since. */
    for (struct ev_entry *e = r->r_tail, *pv; e != NULL; e = pv) {
        pv = e->e_prev;
        if (now_ms - e->e_used_ms < idle_ms)
            break;
        if (!e->e_busy) {
            map_remove(r, e);
            n++;
        }
    }
    pthread_mutex_unlock(&r->r_mu);
    return n;
}

void ev_expire_due(struct ev_recorder *r, int64_t now_ms)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->r_mu);
    bool due = now_ms >= r->r_expire_at;
    if (due)
        r->r_expire_at = now_ms + EV_EXPIRE_EVERY_MS;
    pthread_mutex_unlock(&r->r_mu);
    if (due)
        ev_expire(r, now_ms, EV_AGGREGATE_WINDOW_MS);
}

unsigned ev_remembered(struct ev_recorder *r)
{
    pthread_mutex_lock(&r->r_mu);
    unsigned n = r->r_len;
    pthread_mutex_unlock(&r->r_mu);
    return n;
}

/* ---- the waiting queue ---- */

void ev_retry_setup(struct ev_recorder *r, unsigned cap, ev_exists_fn exists, void *ctx,
                    struct metrics_family *dropped, struct metrics_family *waiting)
{
    pthread_mutex_lock(&r->r_wmu);
    r->r_wcap = cap == 0 ? EV_WAIT_CAP_DEFAULT : cap;
    r->r_exists = exists;
    r->r_exists_ctx = ctx;
    r->r_mdropped = dropped;
    r->r_mwaiting = waiting;
    pthread_mutex_unlock(&r->r_wmu);
}

int ev_retry_setup_metrics(struct ev_recorder *r, struct metrics *m, ev_exists_fn exists, void *ctx)
{
    static const char *const cause[] = {"cause"};
    struct metrics_family *dropped = NULL, *waiting = NULL;
    int rc = metrics_counter_new(
        m, "omjob_events_dropped_total",
        "Events about OMJobs and CronOMJobs given up without being recorded: the waiting "
        "queue was full (queue_full), or their object is gone (object_gone).",
        cause, 1, &dropped);
    if (rc == 0)
        rc = metrics_gauge_new(m, "omjob_events_waiting",
                               "Events about OMJobs and CronOMJobs the API server did not take "
                               "yet, waiting to be tried again.",
                               NULL, 0, &waiting);
    if (rc != 0) {
        log_error("cannot register the event metrics", "error", strerror(-rc), NULL);
        return rc;
    }
    ev_retry_setup(r, 0, exists, ctx, dropped, waiting);
    return 0;
}

bool ev_retryable(int rc)
{
    return rc == -ECONNREFUSED || rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EIO ||
           rc == -EAGAIN || rc == -EPERM || rc == -EACCES || rc == -EPROTO;
}

/* No connection at all: the API server is down (or unreachable) for everyone. */
static bool server_down(int rc)
{
    return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EPROTO;
}

/* Counts a drop, in the stats and the metric (r_wmu held). */
static void count_drop(struct ev_recorder *r, const char *cause, unsigned long *counter)
{
    (*counter)++;
    if (r->r_mdropped != NULL)
        metrics_counter_add_l(r->r_mdropped, 1.0, cause, NULL);
}

/* Sets the gauge of waiting entries (r_wmu held). */
static void gauge(struct ev_recorder *r)
{
    if (r->r_mwaiting != NULL)
        metrics_gauge_set_l(r->r_mwaiting, (double)r->r_w.waiting, NULL);
}

static void wait_push(struct ev_recorder *r, struct ev_wait *w)
{
    w->w_next = NULL;
    if (r->r_wtail != NULL)
        r->r_wtail->w_next = w;
    else
        r->r_whead = w;
    r->r_wtail = w;
    r->r_w.waiting++;
}

static struct ev_wait *wait_pop(struct ev_recorder *r)
{
    struct ev_wait *w = r->r_whead;
    if (w == NULL)
        return NULL;
    r->r_whead = w->w_next;
    if (r->r_whead == NULL)
        r->r_wtail = NULL;
    r->r_w.waiting--;
    w->w_next = NULL;
    return w;
}

/* Queues a copy (the oldest pushed out when full). */
void ev_keep(struct ev_recorder *r, const struct ev_object *o, enum ev_type t, const char *reason,
             const char *message)
{
    struct ev_wait *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->w_ns = strdup(o->ns)) == NULL || (w->w_name = strdup(o->name)) == NULL ||
        (w->w_uid = strdup(o->uid)) == NULL ||
        (w->w_api_version = strdup(o->api_version)) == NULL ||
        (w->w_kind = strdup(o->kind)) == NULL || (w->w_reason = strdup(reason)) == NULL ||
        (w->w_message = strndup(message ? message : "", EV_MESSAGE_MAX)) == NULL) {
        wait_free(w);
        return;
    }
    w->w_type = t;
    pthread_mutex_lock(&r->r_wmu);
    while (r->r_w.waiting >= r->r_wcap) {
        struct ev_wait *old = wait_pop(r);
        log_warn("event dropped: too many waiting for the API server", "omjob.namespace", old->w_ns,
                 "omjob.name", old->w_name, "omjob.uid", old->w_uid, "reason", old->w_reason, NULL);
        wait_free(old);
        count_drop(r, "queue_full", &r->r_w.dropped_full);
    }
    wait_push(r, w);
    gauge(r);
    pthread_mutex_unlock(&r->r_wmu);
}

int ev_emit_keep(struct ev_recorder *r, const struct ev_object *o, enum ev_type t,
                 const char *reason, const char *message)
{
    int rc = ev_emit(r, o, t, reason, message);
    if (rc != 0 && ev_retryable(rc))
        ev_keep(r, o, t, reason, message);
    return rc;
}

static struct ev_object wait_obj(const struct ev_wait *w)
{
    return (struct ev_object){.api_version = w->w_api_version,
                              .kind = w->w_kind,
                              .ns = w->w_ns,
                              .name = w->w_name,
                              .uid = w->w_uid};
}

/* One try of w, due now: 1 recorded or dropped (w freed), 0 kept (w scheduled
 * again), -1 kept, and the server looks down, -2 kept after a timeout. */
static int retry_one(struct ev_recorder *r, struct ev_wait *w, int64_t now)
{
    struct ev_object o = wait_obj(w);
    int ex = r->r_exists != NULL ? r->r_exists(r->r_exists_ctx, &o) : 1;
    if (ex == 0) {
        pthread_mutex_lock(&r->r_wmu);
        count_drop(r, "object_gone", &r->r_w.dropped_gone);
        pthread_mutex_unlock(&r->r_wmu);
        log_info("waiting event dropped: its object is gone", "omjob.namespace", w->w_ns,
                 "omjob.name", w->w_name, "omjob.uid", w->w_uid, "reason", w->w_reason, NULL);
        wait_free(w);
        return 1;
    }
    int rc = ev_emit(r, &o, w->w_type, w->w_reason, w->w_message);
    if (rc == 0 || !ev_retryable(rc)) {
        if (rc == 0) {
            pthread_mutex_lock(&r->r_wmu);
            r->r_w.late++;
            pthread_mutex_unlock(&r->r_wmu);
        }
        wait_free(w);
        return 1;
    }
    w->w_backoff_ms = w->w_backoff_ms * 2 > EV_WAIT_MAX_MS ? EV_WAIT_MAX_MS : w->w_backoff_ms * 2;
    w->w_next_ms = now + w->w_backoff_ms;
    return rc == -ETIMEDOUT ? -2 : server_down(rc) ? -1 : 0;
}

/* Takes the waiting entries out (r_wmu held): the due ones into *due, in order,
 * the others back. A new entry is first due EV_WAIT_FIRST_MS from now; a kick
 * (an Event went through since) makes every entry due. */
static void take_due(struct ev_recorder *r, int64_t now, struct ev_wait **due)
{
    /* A kick too soon after the last one stays pending (ev_retry says when). */
    bool kick = atomic_load(&r->r_kick) && (r->r_kick_ms == 0 || now - r->r_kick_ms >= EV_KICK_MS);
    if (kick) {
        atomic_store(&r->r_kick, false);
        r->r_kick_ms = now;
    }
    struct ev_wait *rest = NULL, **rest_tail = &rest, **due_tail = due;
    *due = NULL;
    for (struct ev_wait *w; (w = wait_pop(r)) != NULL;) {
        if (w->w_next_ms == 0) {
            w->w_backoff_ms = EV_WAIT_FIRST_MS;
            w->w_next_ms = now + EV_WAIT_FIRST_MS;
        }
        struct ev_wait ***tail = kick || w->w_next_ms <= now ? &due_tail : &rest_tail;
        **tail = w;
        *tail = &w->w_next;
    }
    for (struct ev_wait *w = rest, *nx; w != NULL; w = nx) {
        nx = w->w_next;
        wait_push(r, w);
    }
}

/* Puts w back at the front part of the queue, in order (r_wmu held). */
static void put_back(struct ev_recorder *r, struct ev_wait *list)
{
    struct ev_wait *head = r->r_whead, *tail = r->r_wtail;
    unsigned long had = r->r_w.waiting;
    r->r_whead = r->r_wtail = NULL;
    r->r_w.waiting = 0;
    for (struct ev_wait *w = list, *nx; w != NULL; w = nx) {
        nx = w->w_next;
        wait_push(r, w);
    }
    if (head != NULL) {
        if (r->r_wtail != NULL)
            r->r_wtail->w_next = head;
        else
            r->r_whead = head;
        r->r_wtail = tail;
        r->r_w.waiting += had;
    }
    while (r->r_w.waiting > r->r_wcap) {
        struct ev_wait *old = wait_pop(r);
        wait_free(old);
        count_drop(r, "queue_full", &r->r_w.dropped_full);
    }
}

int64_t ev_retry(struct ev_recorder *r, int64_t now)
{
    struct ev_wait *due = NULL, *again = NULL, **again_tail = &again;
    pthread_mutex_lock(&r->r_wmu);
    take_due(r, now, &due);
    pthread_mutex_unlock(&r->r_wmu);
    int down = 0;
    for (struct ev_wait *w = due, *nx; w != NULL; w = nx) {
        nx = w->w_next;
        w->w_next = NULL;
        int rc = down >= EV_WAIT_DOWN_STREAK ? 0 : retry_one(r, w, now);
        if (down >= EV_WAIT_DOWN_STREAK) {
            w->w_next_ms = now + w->w_backoff_ms;
        } else {
            down = rc == -2 ? EV_WAIT_DOWN_STREAK : rc < 0 ? down + 1 : 0;
            if (rc == 1)
                continue;
        }
        *again_tail = w;
        again_tail = &w->w_next;
    }
    pthread_mutex_lock(&r->r_wmu);
    put_back(r, again);
    int64_t next = 0;
    for (struct ev_wait *w = r->r_whead; w != NULL; w = w->w_next)
        if (w->w_next_ms > 0 && (next == 0 || w->w_next_ms < next))
            next = w->w_next_ms;
    if (r->r_whead != NULL && next == 0)
        next = now; /* queued meanwhile: schedule at the next call */
    if (r->r_whead != NULL && atomic_load(&r->r_kick) && r->r_kick_ms + EV_KICK_MS < next)
        next = r->r_kick_ms + EV_KICK_MS;
    gauge(r);
    pthread_mutex_unlock(&r->r_wmu);
    return next;
}

bool ev_waiting(struct ev_recorder *r, const char *uid, const char *reason, const char *part)
{
    bool found = false;
    pthread_mutex_lock(&r->r_wmu);
    for (struct ev_wait *w = r->r_whead; w != NULL && !found; w = w->w_next)
        found = strcmp(w->w_uid, uid) == 0 && strcmp(w->w_reason, reason) == 0 &&
                (part == NULL || strstr(w->w_message, part) != NULL);
    pthread_mutex_unlock(&r->r_wmu);
    return found;
}

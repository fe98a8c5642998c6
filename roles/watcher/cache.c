/* The watcher's cache (see cache.h): three intrusive hash maps (OMJob keys with
 * their pods, pods by "ns/name", CronOMJobs by key) under one rwlock, hints on
 * every change, and the truth query bodies. A fourth map, the child index, files
 * the OMJob keys under the CronOMJob that controls them ("ns/<controller name>"),
 * so that a CronOMJob's GET_KEY reads its own OMJobs instead of scanning all. */
#include "roles/watcher/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "model/labels.h"
#include "model/objects.h"

/* An OMJob key: the OMJob (if cached) and the pods filed under it, sorted by name.
 * Exists while either does. */
struct wc_key {
    struct wc_hnode k_node;
    struct wc_obj *k_omjob;
    struct wc_pod *k_pods;
    uint64_t k_rev; /* cache revision of the last change to the OMJob or a pod */
    uint32_t k_npods;
    char k_key[]; /* "ns/name" */
};

struct wc_map {
    struct wc_hnode **m_b;
    size_t m_nb; /* a power of two */
    size_t m_n;
};

/* The child index: the OMJob keys whose OMJob's controller is the CronOMJob
 * "ns/name" (by name, as GET_KEY renders them: an OMJob of an earlier CronOMJob
 * of the same name is listed too, and decide tells them apart by uid). Exists
 * while it has a child; whether that CronOMJob is cached does not matter. */
struct wc_kids {
    struct wc_hnode ks_node;
    struct wc_key **ks_v; /* unsorted; GET_KEY sorts its copy */
    size_t ks_n, ks_cap;
    char ks_key[]; /* "ns/name" of the CronOMJob */
};

struct wcache {
    pthread_rwlock_t c_lock;
    struct wc_map c_keys;  /* struct wc_key */
    struct wc_map c_pods;  /* struct wc_pod */
    struct wc_map c_crons; /* struct wc_obj */
    struct wc_map c_kids;  /* struct wc_kids: the child index */
    bool c_kids_lost;      /* an index update failed (ENOMEM): GET_KEY scans */
    size_t c_count[WC_NKINDS];
    uint64_t c_rev;
    atomic_bool c_synced;
    wc_hint_fn c_hint;
    void *c_hint_ctx;
    size_t c_max_json; /* OMJobs and CronOMJobs; 0: no limit */
    size_t c_keep_max; /* OMJobs longer than this keep no pod template; 0: no limit */
    uint64_t c_omits;  /* re-compactions after a pod appeared (wcache_omit_count) */
};

#define MAP_INITIAL 64

const char *wc_kind_str(enum wc_kind k)
{
    switch (k) {
    case WC_OMJOB:
        return "omjobs";
    case WC_CRONOMJOB:
        return "cronomjobs";
    case WC_POD:
        return "pods";
    case WC_NKINDS:
        break;
    }
    return "unknown";
}

enum ipc_kind wc_kind_hint(enum wc_kind k)
{
    return k == WC_POD ? IPC_KIND_POD : k == WC_CRONOMJOB ? IPC_KIND_CRONOMJOB : IPC_KIND_OMJOB;
}

/* ---- hash map ---- */

static int map_init(struct wc_map *m)
{
    m->m_b = calloc(MAP_INITIAL, sizeof(*m->m_b));
    m->m_nb = MAP_INITIAL;
    m->m_n = 0;
    return m->m_b != NULL ? 0 : -ENOMEM;
}

static struct wc_hnode *map_find(const struct wc_map *m, const char *key, size_t len)
{
    uint64_t h = util_fnv1a64(key, len);
    for (struct wc_hnode *n = m->m_b[h & (m->m_nb - 1)]; n != NULL; n = n->hn_next)
        if (n->hn_hash == h && strncmp(n->hn_key, key, len) == 0 && n->hn_key[len] == '\0')
            return n;
    return NULL;
}

/* Doubles the table when fuller than one entry per bucket; a failed grow only
 * makes chains longer. */
static void map_grow(struct wc_map *m)
{
    size_t nb = m->m_nb * 2;
    struct wc_hnode **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i < m->m_nb; i++) {
        struct wc_hnode *n = m->m_b[i], *next;
        for (; n != NULL; n = next) {
            next = n->hn_next;
            n->hn_next = b[n->hn_hash & (nb - 1)];
            b[n->hn_hash & (nb - 1)] = n;
        }
    }
    free(m->m_b);
    m->m_b = b;
    m->m_nb = nb;
}

/* n->hn_key must be set and not in the map. */
static void map_insert(struct wc_map *m, struct wc_hnode *n)
{
    if (m->m_n >= m->m_nb)
        map_grow(m);
    n->hn_hash = util_fnv1a64(n->hn_key, strlen(n->hn_key));
    n->hn_next = m->m_b[n->hn_hash & (m->m_nb - 1)];
    m->m_b[n->hn_hash & (m->m_nb - 1)] = n;
    m->m_n++;
}

static void map_remove(struct wc_map *m, struct wc_hnode *n)
{
    struct wc_hnode **pp = &m->m_b[n->hn_hash & (m->m_nb - 1)];
    while (*pp != NULL && *pp != n)
        pp = &(*pp)->hn_next;
    if (*pp == n) {
        *pp = n->hn_next;
        m->m_n--;
    }
}

/* Every node, in bucket order, into a new array (*n entries) the caller frees;
 * NULL with *n 0 when empty or on ENOMEM. */
static struct wc_hnode **map_nodes(const struct wc_map *m, size_t *n)
{
    struct wc_hnode **v = m->m_n ? malloc(m->m_n * sizeof(*v)) : NULL;
    size_t k = 0;
    for (size_t i = 0; v != NULL && i < m->m_nb; i++)
        for (struct wc_hnode *x = m->m_b[i]; x != NULL; x = x->hn_next)
            v[k++] = x;
    *n = k;
    return v;
}

/* ---- life cycle ---- */

struct wcache *wcache_new(void)
{
    struct wcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->c_keep_max = WCACHE_TEMPLATE_MAX_DEFAULT;
    if (map_init(&c->c_keys) != 0 || map_init(&c->c_pods) != 0 || map_init(&c->c_crons) != 0 ||
        map_init(&c->c_kids) != 0 || pthread_rwlock_init(&c->c_lock, NULL) != 0) {
        free(c->c_keys.m_b);
        free(c->c_pods.m_b);
        free(c->c_crons.m_b);
        free(c->c_kids.m_b);
        free(c);
        return NULL;
    }
    return c;
}

void wcache_free(struct wcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->c_keys.m_nb; i++) {
        struct wc_hnode *n = c->c_keys.m_b[i], *next;
        for (; n != NULL; n = next) {
            struct wc_key *k = (struct wc_key *)n;
            next = n->hn_next;
            for (struct wc_pod *p = k->k_pods, *pn; p != NULL; p = pn) {
                pn = p->p_knext;
                free(p);
            }
            free(k->k_omjob);
            free(k);
        }
    }
    for (size_t i = 0; i < c->c_crons.m_nb; i++) {
        struct wc_hnode *n = c->c_crons.m_b[i], *next;
        for (; n != NULL; n = next) {
            next = n->hn_next;
            free(n);
        }
    }
    for (size_t i = 0; i < c->c_kids.m_nb; i++) {
        struct wc_hnode *n = c->c_kids.m_b[i], *next;
        for (; n != NULL; n = next) {
            next = n->hn_next;
            free(((struct wc_kids *)n)->ks_v);
            free(n);
        }
    }
    free(c->c_keys.m_b);
    free(c->c_pods.m_b);
    free(c->c_crons.m_b);
    free(c->c_kids.m_b);
    pthread_rwlock_destroy(&c->c_lock);
    free(c);
}

void wcache_set_hint(struct wcache *c, wc_hint_fn fn, void *ctx)
{
    c->c_hint = fn;
    c->c_hint_ctx = ctx;
}

void wcache_set_synced(struct wcache *c, bool synced)
{
    atomic_store(&c->c_synced, synced);
}

bool wcache_synced(struct wcache *c)
{
    return atomic_load(&c->c_synced);
}

size_t wcache_count(struct wcache *c, enum wc_kind k)
{
    size_t n;
    pthread_rwlock_rdlock(&c->c_lock);
    n = k < WC_NKINDS ? c->c_count[k] : 0;
    pthread_rwlock_unlock(&c->c_lock);
    return n;
}

uint64_t wcache_revision(struct wcache *c)
{
    uint64_t r;
    pthread_rwlock_rdlock(&c->c_lock);
    r = c->c_rev;
    pthread_rwlock_unlock(&c->c_lock);
    return r;
}

static struct wc_key *key_find(struct wcache *c, const char *key, size_t len);
static void omit_now(struct wcache *c, struct wc_key *k);

/* Counts a change, stamps its key and hints it (WC_HINT_* flags); under the
 * write lock. */
static void changed_f(struct wcache *c, enum wc_kind k, const char *key, unsigned flags,
                      const struct wc_obj *omjob)
{
    char buf[IPC_KEY_MAX + 1];
    struct wc_key *ke = k != WC_CRONOMJOB ? key_find(c, key, strlen(key)) : NULL;
    c->c_rev++;
    if (ke != NULL)
        ke->k_rev = c->c_rev;
    if (c->c_hint == NULL || util_strlcpy(buf, key, sizeof(buf)) != 0)
        return;
    char *slash = strchr(buf, '/');
    if (slash == NULL)
        return;
    *slash = '\0';
    c->c_hint(c->c_hint_ctx, wc_kind_hint(k), key, buf, slash + 1, c->c_rev, flags,
              k == WC_OMJOB ? omjob : NULL);
}

static void changed(struct wcache *c, enum wc_kind k, const char *key, bool urgent)
{
    changed_f(c, k, key, urgent ? WC_HINT_URGENT : 0, NULL);
}

/* WC_HINT_URGENT for an OMJob or CronOMJob going from old to new (either may be
 * NULL): new, gone, its deletion begun, or its spec changed. */
static bool obj_urgent(const struct wc_obj *old, const struct wc_obj *new)
{
    return old == NULL || new == NULL || (new->o_deletion_ts != 0 && old->o_deletion_ts == 0) ||
           new->o_generation != old->o_generation;
}

static bool pod_ended(const struct wc_pod *p)
{
    return p->p_phase != NULL &&
           (strcmp(p->p_phase, "Succeeded") == 0 || strcmp(p->p_phase, "Failed") == 0);
}

/* WC_HINT_URGENT for a pod going from old (NULL: new) to p, filed under the same
 * key: it ended or its deletion began with this change. */
static bool pod_urgent(const struct wc_pod *old, const struct wc_pod *p)
{
    return (pod_ended(p) && (old == NULL || !pod_ended(old))) ||
           (p->p_deletion_ts != 0 && (old == NULL || old->p_deletion_ts == 0));
}

/* A change of an OMJob that a CronOMJob controls is also a change of that
 * CronOMJob's key (its "omjobs"): hinted as kind CRONOMJOB, same revision. */
static void changed_owner(struct wcache *c, const struct wc_obj *o, bool urgent)
{
    char key[IPC_KEY_MAX + 1];
    if (c->c_hint == NULL || o == NULL || o->o_owner_cron == NULL)
        return;
    int n = snprintf(key, sizeof(key), "%s/%s", o->o_ns, o->o_owner_cron);
    if (n < 0 || (size_t)n >= sizeof(key) || ipc_key_check(key, (size_t)n) != 0)
        return;
    c->c_hint(c->c_hint_ctx, IPC_KIND_CRONOMJOB, key, o->o_ns, o->o_owner_cron, c->c_rev,
              urgent ? WC_HINT_URGENT : 0, NULL);
}

/* changed() for an OMJob going from old to new (either may be NULL). */
static void changed_omjob(struct wcache *c, const char *key, const struct wc_obj *old,
                          const struct wc_obj *new)
{
    bool urgent = obj_urgent(old, new);
    bool finished = (old != NULL && old->o_completed != 0) || (new != NULL &&new->o_completed != 0);
    changed_f(c, WC_OMJOB, key, (finished ? WC_HINT_FINISHED : 0) | (urgent ? WC_HINT_URGENT : 0),
              new);
    changed_owner(c, new, urgent);
    if (old != NULL && old->o_owner_cron != NULL &&
        (new == NULL || new->o_owner_cron == NULL ||
         strcmp(old->o_owner_cron, new->o_owner_cron) != 0))
        changed_owner(c, old, urgent);
}

/* ---- keys ---- */

static struct wc_key *key_find(struct wcache *c, const char *key, size_t len)
{
    return (struct wc_key *)map_find(&c->c_keys, key, len);
}

static struct wc_key *key_get(struct wcache *c, const char *key)
{
    size_t len = strlen(key);
    struct wc_key *k = key_find(c, key, len);
    if (k != NULL)
        return k;
    if ((k = calloc(1, sizeof(*k) + len + 1)) == NULL)
        return NULL;
    memcpy(k->k_key, key, len + 1);
    k->k_node.hn_key = k->k_key;
    map_insert(&c->c_keys, &k->k_node);
    return k;
}

/* Frees k once it holds nothing. */
static void key_release(struct wcache *c, struct wc_key *k)
{
    if (k->k_omjob != NULL || k->k_pods != NULL)
        return;
    map_remove(&c->c_keys, &k->k_node);
    free(k);
}

static void key_add_pod(struct wc_key *k, struct wc_pod *p)
{
    struct wc_pod **pp = &k->k_pods;
    while (*pp != NULL && strcmp((*pp)->p_id, p->p_id) < 0)
        pp = &(*pp)->p_knext;
    p->p_knext = *pp;
    *pp = p;
    p->p_okey = k;
    k->k_npods++;
}

static void key_del_pod(struct wc_key *k, struct wc_pod *p)
{
    struct wc_pod **pp = &k->k_pods;
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->p_knext;
    if (*pp == p) {
        *pp = p->p_knext;
        k->k_npods--;
    }
}

/* ---- the child index ---- */

/* "ns/<controller name>" of an OMJob controlled by a CronOMJob into buf; false
 * when it has none (or the key would not fit). */
static bool kids_key(const struct wc_obj *o, char *buf, size_t cap)
{
    if (o == NULL || o->o_owner_cron == NULL)
        return false;
    int n = snprintf(buf, cap, "%s/%s", o->o_ns, o->o_owner_cron);
    return n > 0 && (size_t)n < cap;
}

/* Files k under its OMJob o's controller; an allocation that fails makes the
 * index unusable (c_kids_lost: GET_KEY scans every OMJob from then on). */
static void kids_add(struct wcache *c, const struct wc_obj *o, struct wc_key *k)
{
    char key[2 * IPC_KEY_MAX + 2];
    if (!kids_key(o, key, sizeof(key)))
        return;
    struct wc_kids *e = (struct wc_kids *)map_find(&c->c_kids, key, strlen(key));
    if (e == NULL) {
        size_t len = strlen(key);
        if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL) {
            c->c_kids_lost = true;
            return;
        }
        memcpy(e->ks_key, key, len + 1);
        e->ks_node.hn_key = e->ks_key;
        map_insert(&c->c_kids, &e->ks_node);
    }
    if (e->ks_n == e->ks_cap) {
        size_t cap = e->ks_cap != 0 ? e->ks_cap * 2 : 4;
        struct wc_key **v = realloc(e->ks_v, cap * sizeof(*v));
        if (v == NULL) {
            c->c_kids_lost = true;
            return;
        }
        e->ks_v = v;
        e->ks_cap = cap;
    }
    e->ks_v[e->ks_n++] = k;
}

/* Takes k out from under its OMJob o's controller (the entry goes with its last). */
static void kids_del(struct wcache *c, const struct wc_obj *o, struct wc_key *k)
{
    char key[2 * IPC_KEY_MAX + 2];
    if (!kids_key(o, key, sizeof(key)))
        return;
    struct wc_kids *e = (struct wc_kids *)map_find(&c->c_kids, key, strlen(key));
    for (size_t i = 0; e != NULL && i < e->ks_n; i++) {
        if (e->ks_v[i] != k)
            continue;
        e->ks_v[i] = e->ks_v[--e->ks_n];
        if (e->ks_n == 0) {
            map_remove(&c->c_kids, &e->ks_node);
            free(e->ks_v);
            free(e);
        }
        return;
    }
}

/* True when old and new (either may be NULL) are filed under the same controller. */
static bool same_owner(const struct wc_obj *old, const struct wc_obj *new)
{
    const char *a = old != NULL ? old->o_owner_cron : NULL;
    const char *b = new != NULL ? new->o_owner_cron : NULL;
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ---- updates ---- */

/* Logs a skipped object with its identity under the kind's field names
 * (omjob.namespace, pod.name, ...) so that the usual log filters find it. */
static void log_bad(enum wc_kind k, struct json_object *obj, int rc)
{
    static const char *const f[WC_NKINDS][3] = {
        [WC_OMJOB] = {"omjob.namespace", "omjob.name", "omjob.uid"},
        [WC_CRONOMJOB] = {"cronomjob.namespace", "cronomjob.name", "cronomjob.uid"},
        [WC_POD] = {"pod.namespace", "pod.name", "pod.uid"},
    };
    log_warn("skipping a bad object", "resource", wc_kind_str(k), f[k][0],
             jx_str(obj, "metadata.namespace"), f[k][1], jx_str(obj, "metadata.name"), f[k][2],
             jx_str(obj, "metadata.uid"), "error",
             rc == -ENOENT    ? "pod names no OMJob (no controller ownerReference, no name label)"
             : rc == -ENOMEM  ? "out of memory"
             : rc == -E2BIG   ? "larger than OMJOB_MAX_OBJECT_BYTES"
             : rc == -EBADMSG ? "its spec is not valid JSON"
                              : "missing or malformed namespace, name, uid, resourceVersion "
                                "or deletionTimestamp",
             NULL);
}

static void upsert_omjob(struct wcache *c, struct wc_obj *o)
{
    struct wc_key *k = key_get(c, o->o_key);
    if (k == NULL) {
        free(o);
        return;
    }
    struct wc_obj *old = k->k_omjob;
    if (old != NULL && strcmp(old->o_rv, o->o_rv) == 0) {
        old->o_stamp = o->o_stamp;
        free(o);
        return;
    }
    k->k_omjob = o;
    if (old == NULL)
        c->c_count[WC_OMJOB]++;
    if (!same_owner(old, o)) {
        kids_del(c, old, k);
        kids_add(c, o, k);
    }
    changed_omjob(c, o->o_key, old, o);
    free(old);
    omit_now(c, k); /* a pod that came between omit_peek and the lock */
}

static void upsert_cron(struct wcache *c, struct wc_obj *o)
{
    struct wc_obj *old = (struct wc_obj *)map_find(&c->c_crons, o->o_key, strlen(o->o_key));
    if (old != NULL && strcmp(old->o_rv, o->o_rv) == 0) {
        old->o_stamp = o->o_stamp;
        free(o);
        return;
    }
    bool urgent = obj_urgent(old, o);
    if (old != NULL)
        map_remove(&c->c_crons, &old->o_node);
    else
        c->c_count[WC_CRONOMJOB]++;
    free(old);
    o->o_node.hn_key = o->o_key;
    map_insert(&c->c_crons, &o->o_node);
    changed(c, WC_CRONOMJOB, o->o_key, urgent);
}

static void remove_pod(struct wcache *c, struct wc_pod *p)
{
    struct wc_key *k = p->p_okey;
    map_remove(&c->c_pods, &p->p_node);
    key_del_pod(k, p);
    key_release(c, k);
    c->c_count[WC_POD]--;
}

static void upsert_pod(struct wcache *c, struct wc_pod *p)
{
    struct wc_pod *old = (struct wc_pod *)map_find(&c->c_pods, p->p_id, strlen(p->p_id));
    if (old != NULL && strcmp(old->p_rv, p->p_rv) == 0) {
        old->p_stamp = p->p_stamp;
        free(p);
        return;
    }
    if (p->p_deletion_ts != 0) {
        /* Remember what the pod was when its deletion appeared: a Failed pod the
         * garbage collector deletes keeps its own outcome; a running one deleted
         * and then failed by the kubelet does not. */
        if (old != NULL && old->p_deletion_ts != 0)
            p->p_deleted_when = old->p_deleted_when;
        else if (old != NULL)
            p->p_deleted_when = old->p_phase != NULL && (strcmp(old->p_phase, "Succeeded") == 0 ||
                                                         strcmp(old->p_phase, "Failed") == 0)
                                    ? WC_DEL_AFTER_END
                                    : WC_DEL_WHILE_ACTIVE;
    }
    bool urgent = pod_urgent(old, p);
    if (old != NULL) {
        if (strcmp(old->p_key, p->p_key) != 0) {
            changed(c, WC_POD, old->p_key, true); /* refiled: its old key lost it */
            urgent = true;                        /* and the new one gained it */
        }
        remove_pod(c, old); /* may free its key entry: look the key up after */
        free(old);
    }
    struct wc_key *k = key_get(c, p->p_key);
    if (k == NULL) {
        changed(c, WC_POD, p->p_key, true);
        free(p);
        return;
    }
    p->p_node.hn_key = p->p_id;
    map_insert(&c->c_pods, &p->p_node);
    key_add_pod(k, p);
    c->c_count[WC_POD]++;
    changed(c, WC_POD, p->p_key, urgent);
    omit_now(c, k);
}

void wcache_set_max_json(struct wcache *c, size_t bytes)
{
    c->c_max_json = bytes;
}

void wcache_set_template_max(struct wcache *c, size_t bytes)
{
    c->c_keep_max = bytes;
}

uint64_t wcache_omit_count(struct wcache *c)
{
    uint64_t n;
    pthread_rwlock_rdlock(&c->c_lock);
    n = c->c_omits;
    pthread_rwlock_unlock(&c->c_lock);
    return n;
}

/* The templates an OMJob of uid filed under k no longer needs in the cache: the
 * main pod's once a main pod of that OMJob is cached, the exit pod's once an exit
 * pod is, both once it is finished. */
static unsigned omit_for(const struct wc_key *k, const char *uid, bool terminal)
{
    unsigned m = terminal ? WC_OMIT_ALL : 0;
    for (const struct wc_pod *p = k ? k->k_pods : NULL; p != NULL && m != WC_OMIT_ALL;
         p = p->p_knext) {
        if (p->p_owner_uid == NULL || p->p_pod_type == NULL || strcmp(p->p_owner_uid, uid) != 0)
            continue;
        if (strcmp(p->p_pod_type, POD_TYPE_MAIN) == 0)
            m |= WC_OMIT_MAIN;
        else if (strcmp(p->p_pod_type, POD_TYPE_EXIT_HANDLER) == 0)
            m |= WC_OMIT_EXIT;
    }
    return m;
}

/* obj's key "ns/name" into key (IPC_KEY_MAX + 2 bytes) and its uid: the key's
 * length, or 0 when obj lacks one of them or the key is too long. */
static size_t obj_key(struct json_object *obj, char *key, const char **uid)
{
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    int n = snprintf(key, IPC_KEY_MAX + 2, "%s/%s", ns ? ns : "", name ? name : "");
    *uid = jx_str(obj, "metadata.uid");
    return ns == NULL || name == NULL || *uid == NULL || n < 0 || n >= IPC_KEY_MAX + 2 ? 0
                                                                                       : (size_t)n;
}

/* What omit_for says for obj, from the cache as it is (read lock). */
static unsigned omit_peek(struct wcache *c, struct json_object *obj)
{
    char key[IPC_KEY_MAX + 2];
    const char *uid, *ph = jx_str(obj, "status.phase");
    bool terminal = ph != NULL && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0) &&
                    jx_str(obj, "status.completionTime") != NULL;
    size_t n = obj_key(obj, key, &uid);
    unsigned m;
    if (n == 0)
        return 0;
    pthread_rwlock_rdlock(&c->c_lock);
    m = omit_for(key_find(c, key, n), uid, terminal);
    pthread_rwlock_unlock(&c->c_lock);
    return m;
}

/* Leaves out of k's cached OMJob the templates it no longer needs and still
 * holds (a pod appeared after it was parsed); under the write lock. Not a change:
 * the object is the same resourceVersion, no hint. A failure keeps the block. */
static void omit_now(struct wcache *c, struct wc_key *k)
{
    struct wc_obj *o = k->k_omjob, *n = NULL;
    if (o == NULL)
        return;
    unsigned want = omit_for(k, o->o_uid, o->o_terminal) & o->o_templates & ~o->o_omitted;
    if (want == 0 || wc_obj_omit(o, want, &n) != 0)
        return;
    k->k_omjob = n;
    c->c_omits++;
    free(o);
}

/* The parsed (or grafted) o of obj into the cache; rc: how it was built. */
static int apply(struct wcache *c, enum wc_kind k, struct json_object *obj, struct wc_obj *o,
                 struct wc_pod *p, int rc, uint32_t stamp)
{
    if (rc == 0 && o != NULL && c->c_max_json > 0 && o->o_full_len > c->c_max_json) {
        free(o);
        rc = -E2BIG;
    }
    if (rc != 0) {
        log_bad(k, obj, rc);
        return rc;
    }
    pthread_rwlock_wrlock(&c->c_lock);
    if (k == WC_POD) {
        p->p_stamp = stamp;
        upsert_pod(c, p);
    } else {
        o->o_stamp = stamp;
        if (k == WC_OMJOB)
            upsert_omjob(c, o);
        else
            upsert_cron(c, o);
    }
    pthread_rwlock_unlock(&c->c_lock);
    return 0;
}

static int upsert_id(struct wcache *c, enum wc_kind k, struct json_object *obj, uint32_t stamp,
                     const struct wc_spec_id *id)
{
    struct wc_obj *o = NULL;
    struct wc_pod *p = NULL;
    int rc = k == WC_POD     ? wc_pod_parse(obj, &p)
             : k == WC_OMJOB ? wc_obj_parse_omit(obj, omit_peek(c, obj), c->c_keep_max, &o)
                             : wc_obj_parse(obj, &o);
    if (rc == 0 && o != NULL)
        o->o_spec = *id;
    return apply(c, k, obj, o, p, rc, stamp);
}

int wcache_upsert(struct wcache *c, enum wc_kind k, struct json_object *obj, uint32_t stamp)
{
    static const struct wc_spec_id unknown = {0};
    return upsert_id(c, k, obj, stamp, &unknown);
}

/* The cached version of obj (same kind and key) if it has obj's uid and
 * generation and its spec was id: obj's block grafted on it (read lock). */
static int graft(struct wcache *c, enum wc_kind k, struct json_object *obj,
                 const struct wc_spec_id *id, struct wc_obj **out)
{
    char key[IPC_KEY_MAX + 2];
    const char *uid;
    int64_t gen = jx_i64_or(obj, "metadata.generation", 0);
    size_t n = obj_key(obj, key, &uid);
    int rc = -ENOENT;
    if (n == 0)
        return rc;
    pthread_rwlock_rdlock(&c->c_lock);
    const struct wc_key *kk = k == WC_OMJOB ? key_find(c, key, n) : NULL;
    const struct wc_obj *old = k == WC_OMJOB ? (kk != NULL ? kk->k_omjob : NULL)
                                             : (const struct wc_obj *)map_find(&c->c_crons, key, n);
    if (old != NULL && strcmp(old->o_uid, uid) == 0 && old->o_generation == gen &&
        wc_spec_id_same(&old->o_spec, id))
        rc = wc_obj_graft(obj, old, k == WC_OMJOB ? c->c_keep_max : 0, out);
    pthread_rwlock_unlock(&c->c_lock);
    return rc;
}

int wcache_upsert_cut(struct wcache *c, enum wc_kind k, struct json_object *obj, const char *spec,
                      size_t spec_len, struct jx_parser *jp, uint32_t stamp, bool *kept)
{
    struct wc_spec_id id;
    struct wc_obj *o = NULL;
    struct json_object *sobj = NULL;
    *kept = false;
    if (k == WC_POD)
        return -EINVAL;
    wc_spec_id_of(spec, spec_len, &id);
    int rc = graft(c, k, obj, &id, &o);
    if (rc == 0) {
        *kept = true;
        return apply(c, k, obj, o, NULL, 0, stamp);
    }
    if (spec != NULL) {
        rc = jp != NULL ? jx_parser_parse(jp, spec, spec_len, &sobj, NULL, 0)
                        : jx_parse(spec, spec_len, &sobj, NULL, 0);
        if (rc != 0 || json_object_object_add(obj, "spec", sobj) != 0) {
            json_object_put(sobj);
            rc = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
            log_bad(k, obj, rc);
            return rc;
        }
    }
    return upsert_id(c, k, obj, stamp, &id);
}

static int delete_omjob(struct wcache *c, const char *key, const char *uid)
{
    struct wc_key *k = key_find(c, key, strlen(key));
    if (k == NULL || k->k_omjob == NULL || strcmp(k->k_omjob->o_uid, uid) != 0)
        return 0;
    struct wc_obj *o = k->k_omjob;
    k->k_omjob = NULL;
    c->c_count[WC_OMJOB]--;
    kids_del(c, o, k);
    changed_omjob(c, key, o, NULL); /* key may be o->o_key: before the free */
    free(o);
    key_release(c, k);
    return 1;
}

static int delete_cron(struct wcache *c, const char *key, const char *uid)
{
    struct wc_obj *o = (struct wc_obj *)map_find(&c->c_crons, key, strlen(key));
    if (o == NULL || strcmp(o->o_uid, uid) != 0)
        return 0;
    map_remove(&c->c_crons, &o->o_node);
    c->c_count[WC_CRONOMJOB]--;
    changed(c, WC_CRONOMJOB, key, true);
    free(o);
    return 1;
}

static int delete_pod(struct wcache *c, const char *id, const char *uid)
{
    struct wc_pod *p = (struct wc_pod *)map_find(&c->c_pods, id, strlen(id));
    if (p == NULL || strcmp(p->p_uid, uid) != 0)
        return 0;
    remove_pod(c, p);
    changed(c, WC_POD, p->p_key, true);
    free(p);
    return 1;
}

int wcache_delete(struct wcache *c, enum wc_kind k, struct json_object *obj)
{
    char key[IPC_KEY_MAX + 2];
    const char *ns = jx_str(obj, "metadata.namespace"), *name = jx_str(obj, "metadata.name");
    const char *uid = jx_str(obj, "metadata.uid");
    int rc, n = snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name ? name : "");
    if (ns == NULL || name == NULL || uid == NULL || n < 0 || (size_t)n >= sizeof(key)) {
        log_bad(k, obj, -EINVAL);
        return -EINVAL;
    }
    pthread_rwlock_wrlock(&c->c_lock);
    if (k == WC_POD)
        rc = delete_pod(c, key, uid);
    else if (k == WC_OMJOB)
        rc = delete_omjob(c, key, uid);
    else
        rc = delete_cron(c, key, uid);
    pthread_rwlock_unlock(&c->c_lock);
    return rc;
}

static bool in_scope(const char *obj_ns, const char *ns)
{
    return ns == NULL || strcmp(obj_ns, ns) == 0;
}

static size_t sweep_omjobs(struct wcache *c, const char *ns, uint32_t stamp)
{
    size_t n, gone = 0;
    struct wc_hnode **v = map_nodes(&c->c_keys, &n);
    for (size_t i = 0; i < n; i++) {
        struct wc_key *k = (struct wc_key *)v[i];
        struct wc_obj *o = k->k_omjob;
        if (o == NULL || !in_scope(o->o_ns, ns) || o->o_stamp == stamp)
            continue;
        gone += (size_t)delete_omjob(c, o->o_key, o->o_uid);
    }
    free(v);
    return gone;
}

static size_t sweep_map(struct wcache *c, enum wc_kind kind, const char *ns, uint32_t stamp)
{
    size_t n, gone = 0;
    struct wc_hnode **v = map_nodes(kind == WC_POD ? &c->c_pods : &c->c_crons, &n);
    for (size_t i = 0; i < n; i++) {
        if (kind == WC_POD) {
            struct wc_pod *p = (struct wc_pod *)v[i];
            if (in_scope(p->p_ns, ns) && p->p_stamp != stamp)
                gone += (size_t)delete_pod(c, p->p_id, p->p_uid);
        } else {
            struct wc_obj *o = (struct wc_obj *)v[i];
            if (in_scope(o->o_ns, ns) && o->o_stamp != stamp)
                gone += (size_t)delete_cron(c, o->o_key, o->o_uid);
        }
    }
    free(v);
    return gone;
}

size_t wcache_sweep(struct wcache *c, enum wc_kind k, const char *ns, uint32_t stamp)
{
    size_t gone;
    pthread_rwlock_wrlock(&c->c_lock);
    gone = k == WC_OMJOB ? sweep_omjobs(c, ns, stamp) : sweep_map(c, k, ns, stamp);
    pthread_rwlock_unlock(&c->c_lock);
    return gone;
}

/* ---- query bodies ---- */

static void head(struct wcache *c, struct sbuf *sb, const char *key)
{
    sbuf_puts(sb, "{\"key\":");
    jx_put_str(sb, key);
    sbuf_appendf(sb, ",\"synced\":%s,\"cacheRevision\":%llu", wcache_synced(c) ? "true" : "false",
                 (unsigned long long)c->c_rev);
}

static void render_omjob_key(struct wcache *c, struct sbuf *sb, const char *key, size_t len)
{
    struct wc_key *k = key_find(c, key, len);
    sbuf_puts(sb, ",\"omjob\":");
    if (k != NULL && k->k_omjob != NULL)
        wc_obj_put_json(sb, k->k_omjob);
    else
        sbuf_puts(sb, "null");
    sbuf_puts(sb, ",\"pods\":[");
    for (struct wc_pod *p = k ? k->k_pods : NULL; p != NULL; p = p->p_knext) {
        wc_pod_render(sb, p);
        if (p->p_knext != NULL)
            sbuf_putc(sb, ',');
    }
    sbuf_puts(sb, "]}");
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(struct wc_hnode *const *)a)->hn_key, (*(struct wc_hnode *const *)b)->hn_key);
}

/* The OMJob keys whose OMJob's controller is named key + nslen + 1 in the
 * namespace key[0, nslen), into *v (malloc'd, caller frees; NULL with 0): from the
 * child index, or by a scan of every OMJob when the index lost an update. */
static size_t cron_children(struct wcache *c, const char *key, size_t len, struct wc_hnode ***v)
{
    size_t n, nslen = strcspn(key, "/"), k = 0;
    if (!c->c_kids_lost) {
        struct wc_kids *e = (struct wc_kids *)map_find(&c->c_kids, key, len);
        *v = e != NULL ? malloc(e->ks_n * sizeof(**v)) : NULL;
        if (*v == NULL)
            return 0;
        for (size_t i = 0; i < e->ks_n; i++)
            (*v)[i] = &e->ks_v[i]->k_node;
        return e->ks_n;
    }
    *v = map_nodes(&c->c_keys, &n);
    for (size_t i = 0; i < n; i++) {
        struct wc_obj *j = ((struct wc_key *)(*v)[i])->k_omjob;
        if (j != NULL && j->o_owner_cron != NULL && strlen(j->o_ns) == nslen &&
            strncmp(j->o_ns, key, nslen) == 0 && strlen(j->o_owner_cron) == len - nslen - 1 &&
            strncmp(j->o_owner_cron, key + nslen + 1, len - nslen - 1) == 0)
            (*v)[k++] = (*v)[i];
    }
    return k;
}

/* The CronOMJob ns/name and the OMJobs whose controller it is (by name), sorted
 * by key. */
static void render_cron_key(struct wcache *c, struct sbuf *sb, const char *key, size_t len)
{
    struct wc_obj *o = (struct wc_obj *)map_find(&c->c_crons, key, len);
    struct wc_hnode **v = NULL;
    size_t k = cron_children(c, key, len, &v);
    sbuf_puts(sb, ",\"cronomjob\":");
    if (o != NULL)
        wc_obj_put_json(sb, o);
    else
        sbuf_puts(sb, "null");
    if (k > 0)
        qsort(v, k, sizeof(*v), cmp_key);
    sbuf_puts(sb, ",\"omjobs\":[");
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            sbuf_putc(sb, ',');
        wc_obj_render_child(sb, ((struct wc_key *)v[i])->k_omjob);
    }
    sbuf_puts(sb, "]}");
    free(v);
}

int wcache_render_key(struct wcache *c, const char *key, size_t len, bool cron, char **out,
                      size_t *outlen)
{
    struct sbuf sb = {0};
    char kbuf[IPC_KEY_MAX + 1];
    if (ipc_key_check(key, len) != 0)
        return -EINVAL;
    memcpy(kbuf, key, len);
    kbuf[len] = '\0';
    pthread_rwlock_rdlock(&c->c_lock);
    head(c, &sb, kbuf);
    if (cron)
        render_cron_key(c, &sb, kbuf, len);
    else
        render_omjob_key(c, &sb, kbuf, len);
    pthread_rwlock_unlock(&c->c_lock);
    *out = sbuf_detach(&sb, outlen);
    return *out != NULL ? 0 : -ENOMEM;
}

static bool in_shard(const char *key, const struct wc_listq *q)
{
    char buf[IPC_KEY_MAX + 1];
    if (q->lq_shards <= 0)
        return true;
    if (util_strlcpy(buf, key, sizeof(buf)) != 0)
        return false;
    char *slash = strchr(buf, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    return util_shard_of(buf, slash + 1, q->lq_shards) == q->lq_shard;
}

static void render_list_item(struct sbuf *sb, struct wc_hnode *n, enum wc_kind kind)
{
    const struct wc_obj *o =
        kind == WC_CRONOMJOB ? (const struct wc_obj *)n : ((struct wc_key *)n)->k_omjob;
    sbuf_puts(sb, "{\"key\":");
    jx_put_str(sb, n->hn_key);
    sbuf_puts(sb, ",\"resourceVersion\":");
    jx_put_str(sb, o ? o->o_rv : NULL);
    if (kind == WC_OMJOB)
        sbuf_appendf(sb, ",\"pods\":%u,\"revision\":%llu", ((struct wc_key *)n)->k_npods,
                     (unsigned long long)((struct wc_key *)n)->k_rev);
    sbuf_putc(sb, '}');
}

int wcache_render_list(struct wcache *c, const struct wc_listq *q, char **out, size_t *outlen)
{
    struct sbuf sb = {0};
    size_t n, k = 0;
    if ((q->lq_kind != WC_OMJOB && q->lq_kind != WC_CRONOMJOB) || q->lq_shards < 0 ||
        (q->lq_shards > 0 && (q->lq_shard < 0 || q->lq_shard >= q->lq_shards)))
        return -EINVAL;
    if (!wcache_synced(c)) {
        /* Every reader asks again until "synced" is true and reads no key of an
         * answer before it: the keys are left out. Five reconcilers, the cleaner and
         * the scheduler ask every 500 ms during the initial sync, and each answer
         * took a scan, a sort and the read lock (the LIST appliers' writes waiting):
         * at 10,000 OMJobs that grew with the sync's length, quadratically. */
        sbuf_appendf(&sb, "{\"keys\":[],\"synced\":false,\"cacheRevision\":%llu}",
                     (unsigned long long)wcache_revision(c));
        *out = sbuf_detach(&sb, outlen);
        return *out != NULL ? 0 : -ENOMEM;
    }
    pthread_rwlock_rdlock(&c->c_lock);
    struct wc_hnode **v = map_nodes(q->lq_kind == WC_OMJOB ? &c->c_keys : &c->c_crons, &n);
    for (size_t i = 0; i < n; i++)
        if (in_shard(v[i]->hn_key, q))
            v[k++] = v[i];
    if (k > 0)
        qsort(v, k, sizeof(*v), cmp_key);
    sbuf_puts(&sb, "{\"keys\":[");
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            sbuf_putc(&sb, ',');
        render_list_item(&sb, v[i], q->lq_kind);
    }
    sbuf_appendf(&sb, "],\"synced\":%s,\"cacheRevision\":%llu}",
                 wcache_synced(c) ? "true" : "false", (unsigned long long)c->c_rev);
    pthread_rwlock_unlock(&c->c_lock);
    free(v);
    *out = sbuf_detach(&sb, outlen);
    return *out != NULL ? 0 : -ENOMEM;
}

/* Leader election's pure decisions (see lease.h): client-go's tryAcquireOrRenew
 * split from its I/O. */
#include "roles/elector/lease.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/common/json.h"
#include "lib/common/util.h"

const char *lease_act_str(enum lease_act a)
{
    static const char *const names[] = {"wait", "create", "update"};
    return (unsigned)a <= LEASE_ACT_UPDATE ? names[a] : "unknown";
}

void lease_init(struct lease_state *s, const char *id, struct lease_timing t)
{
    memset(s, 0, sizeof(*s));
    util_strlcpy(s->ls_id, id, sizeof(s->ls_id));
    s->ls_t = t;
}

static bool same_record(const struct lease_rec *a, const struct lease_rec *b)
{
    return a->lr_exists == b->lr_exists && strcmp(a->lr_rv, b->lr_rv) == 0;
}

static int64_t holder_duration_ms(const struct lease_state *s, const struct lease_rec *r)
{
    /* The holder's own duration, as client-go: a replica configured otherwise
     * still honours what the holder promised. */
    return r->lr_duration_s > 0 ? r->lr_duration_s * 1000 : s->ls_t.lt_duration_ms;
}

int64_t lease_expires_at(const struct lease_state *s)
{
    const struct lease_rec *r = &s->ls_seen;
    if (!s->ls_have_seen || !r->lr_exists || r->lr_holder[0] == '\0' ||
        strcmp(r->lr_holder, s->ls_id) == 0)
        return 0;
    return s->ls_seen_ms + holder_duration_ms(s, r);
}

enum lease_act lease_observe(struct lease_state *s, const struct lease_rec *cur, int64_t now)
{
    if (!s->ls_have_seen || !same_record(&s->ls_seen, cur)) {
        s->ls_seen = *cur;
        s->ls_seen_ms = now;
        s->ls_have_seen = true;
    }
    bool ours = cur->lr_exists && strcmp(cur->lr_holder, s->ls_id) == 0;
    if (!ours)
        s->ls_leader = false;
    if (!cur->lr_exists)
        return LEASE_ACT_CREATE;
    if (ours || cur->lr_holder[0] == '\0')
        return LEASE_ACT_UPDATE;
    return s->ls_seen_ms + holder_duration_ms(s, cur) > now ? LEASE_ACT_WAIT : LEASE_ACT_UPDATE;
}

static struct json_object *build(const struct lease_state *s, const char *ns, const char *name,
                                 const char *holder, int64_t dur_s, const char *acquire,
                                 int64_t transitions, const char *renew)
{
    struct json_object *o = json_object_new_object();
    int rc = o == NULL ? -1 : 0;
    if (rc == 0)
        rc = jx_set_str(o, "apiVersion", "coordination.k8s.io/v1") |
             jx_set_str(o, "kind", "Lease") | jx_set_str(o, "metadata.name", name) |
             jx_set_str(o, "metadata.namespace", ns) |
             jx_set_str(o, "spec.holderIdentity", holder) |
             jx_set_i64(o, "spec.leaseDurationSeconds", dur_s) |
             jx_set_str(o, "spec.acquireTime", acquire) | jx_set_str(o, "spec.renewTime", renew) |
             jx_set_i64(o, "spec.leaseTransitions", transitions);
    if (rc == 0 && s->ls_have_seen && s->ls_seen.lr_exists)
        rc = jx_set_str(o, "metadata.resourceVersion", s->ls_seen.lr_rv);
    if (rc != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* MicroTime, as the API server stores it: 2026-12-04T20:15:01.123456Z. */
static void micro_time(int64_t wall_ms, char *buf, size_t cap)
{
    if (util_rfc3339_format(wall_ms * 1000000, 6, buf, cap) != 0)
        buf[0] = '\0';
}

struct json_object *lease_build(const struct lease_state *s, const char *ns, const char *name,
                                int64_t now_wall_ms)
{
    char now[UTIL_RFC3339_MAX];
    const struct lease_rec *r = &s->ls_seen;
    bool ours = s->ls_have_seen && r->lr_exists && strcmp(r->lr_holder, s->ls_id) == 0;
    int64_t transitions = !s->ls_have_seen || !r->lr_exists ? 0
                          : ours                            ? r->lr_transitions
                                                            : r->lr_transitions + 1;
    micro_time(now_wall_ms, now, sizeof(now));
    return build(s, ns, name, s->ls_id, (s->ls_t.lt_duration_ms + 999) / 1000,
                 ours && r->lr_acquire[0] != '\0' ? r->lr_acquire : now, transitions, now);
}

struct json_object *lease_build_release(const struct lease_state *s, const char *ns,
                                        const char *name, int64_t now_wall_ms)
{
    char now[UTIL_RFC3339_MAX];
    micro_time(now_wall_ms, now, sizeof(now));
    return build(s, ns, name, "", 1, now, s->ls_seen.lr_transitions, now);
}

int lease_parse(struct json_object *obj, struct lease_rec *out)
{
    struct lease_rec r;
    memset(&r, 0, sizeof(r));
    const char *rv = jx_str(obj, "metadata.resourceVersion");
    if (rv == NULL || util_strlcpy(r.lr_rv, rv, sizeof(r.lr_rv)) != 0)
        return -EINVAL;
    r.lr_exists = true;
    util_strlcpy(r.lr_holder, jx_str_or(obj, "spec.holderIdentity", ""), sizeof(r.lr_holder));
    util_strlcpy(r.lr_acquire, jx_str_or(obj, "spec.acquireTime", ""), sizeof(r.lr_acquire));
    util_strlcpy(r.lr_uid, jx_str_or(obj, "metadata.uid", ""), sizeof(r.lr_uid));
    r.lr_duration_s = jx_i64_or(obj, "spec.leaseDurationSeconds", 0);
    r.lr_transitions = jx_i64_or(obj, "spec.leaseTransitions", 0);
    *out = r;
    return 0;
}

void lease_write_ok(struct lease_state *s, const struct lease_rec *written, int64_t sent_ms,
                    int64_t now)
{
    s->ls_seen = *written;
    s->ls_have_seen = true;
    s->ls_seen_ms = now;
    s->ls_leader = true;
    s->ls_fence_ms = sent_ms + s->ls_t.lt_deadline_ms;
}

void lease_write_conflict(struct lease_state *s)
{
    /* Another replica's record is newer than ours: whatever it says, we do not
     * hold what we thought; the next GET tells who does. */
    s->ls_leader = false;
}

void lease_released(struct lease_state *s, const struct lease_rec *written, int64_t now)
{
    s->ls_seen = *written;
    s->ls_have_seen = true;
    s->ls_seen_ms = now;
    s->ls_leader = false;
}

bool lease_check_fence(struct lease_state *s, int64_t now)
{
    if (!s->ls_leader || now < s->ls_fence_ms)
        return false;
    s->ls_leader = false;
    return true;
}

int64_t lease_write_left(const struct lease_state *s, int64_t now)
{
    return s->ls_leader && s->ls_fence_ms > now ? s->ls_fence_ms - now : 0;
}

const char *lease_holder(const struct lease_state *s)
{
    return s->ls_have_seen && s->ls_seen.lr_exists ? s->ls_seen.lr_holder : "";
}

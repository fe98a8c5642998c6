/* Leader election's decisions, as client-go's LeaderElector makes them, as pure
 * functions of the Lease record read from the API server and a monotonic clock:
 * whether to create, take over, renew or wait; when a leader must stop writing
 * (its renew deadline); and the records to write. The elector role
 * (roles/elector/elector.c) does the I/O; tests/unit/test_elector_lease.c drives
 * this with a fake clock. */
#ifndef OMJOB_ROLES_ELECTOR_LEASE_H
#define OMJOB_ROLES_ELECTOR_LEASE_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;

/* Longest identity kept (a pod name is at most 253 bytes). */
#define LEASE_ID_MAX 254

/* A Lease (coordination.k8s.io/v1) as the election reads it. */
struct lease_rec {
    bool lr_exists;               /* false: the GET was 404 */
    char lr_holder[LEASE_ID_MAX]; /* spec.holderIdentity, "" when released */
    int64_t lr_duration_s;        /* spec.leaseDurationSeconds */
    int64_t lr_transitions;       /* spec.leaseTransitions */
    char lr_acquire[40];          /* spec.acquireTime, as written (MicroTime) */
    char lr_rv[64];               /* metadata.resourceVersion */
    char lr_uid[64];              /* metadata.uid, for Events about it */
};

struct lease_timing {
    int64_t lt_duration_ms; /* how long a record stays valid after it last changed */
    int64_t lt_deadline_ms; /* a leader that has not renewed for this long stops writing */
    int64_t lt_retry_ms;    /* between two attempts */
};

struct lease_state {
    char ls_id[LEASE_ID_MAX]; /* our identity */
    struct lease_timing ls_t;
    struct lease_rec ls_seen; /* the record last read or written */
    bool ls_have_seen;
    int64_t ls_seen_ms;  /* when ls_seen last changed, local monotonic (client-go's observedTime) */
    bool ls_leader;      /* we hold the Lease and may write */
    int64_t ls_fence_ms; /* leader: writing stops at this time unless renewed */
};

enum lease_act {
    LEASE_ACT_WAIT,   /* another replica holds a valid Lease */
    LEASE_ACT_CREATE, /* there is none: create it holding it */
    LEASE_ACT_UPDATE, /* ours (renew), or released or expired (take over) */
};
const char *lease_act_str(enum lease_act a);

void lease_init(struct lease_state *s, const char *id, struct lease_timing t);

/* A GET answered at now with cur (lr_exists false for 404). The record counts as
 * changed, and its validity restarts at now, when its resourceVersion differs from
 * the one seen last: the holder's clock (renewTime) is never trusted. A record that
 * no longer names us while we lead ends our leadership. What to do next. */
enum lease_act lease_observe(struct lease_state *s, const struct lease_rec *cur, int64_t now);

/* The spec to write (as a Lease object, name and namespace given) for an
 * acquisition or a renewal at wall time now_wall_ms: our identity, our duration,
 * renewTime now; acquireTime and leaseTransitions kept when we already hold it,
 * else acquireTime now and one more transition. metadata.resourceVersion is the
 * one seen (none for a create), so a concurrent writer gets 409. New reference;
 * NULL on ENOMEM. */
struct json_object *lease_build(const struct lease_state *s, const char *ns, const char *name,
                                int64_t now_wall_ms);
/* The release: holderIdentity empty, leaseDurationSeconds 1 (client-go's), same
 * resourceVersion precondition. */
struct json_object *lease_build_release(const struct lease_state *s, const char *ns,
                                        const char *name, int64_t now_wall_ms);

/* Reads a Lease object into *out. 0 or -EINVAL (no metadata.resourceVersion). */
int lease_parse(struct json_object *obj, struct lease_rec *out);

/* Our acquisition or renewal succeeded: written is the server's answer; sent_ms
 * when the request left (the server applied it later, and every replica judges
 * expiry from a time after that, so writing may go on until sent_ms + renew
 * deadline, which is before any other replica may take over); now when the
 * answer came. */
void lease_write_ok(struct lease_state *s, const struct lease_rec *written, int64_t sent_ms,
                    int64_t now);
/* 409 (another replica wrote first) or 404: we do not hold it; read it again. */
void lease_write_conflict(struct lease_state *s);
/* Our release succeeded: we no longer lead. */
void lease_released(struct lease_state *s, const struct lease_rec *written, int64_t now);

/* Ends leadership when the renew deadline has passed at now. True when it
 * just ended. */
bool lease_check_fence(struct lease_state *s, int64_t now);
/* Milliseconds a leader may still write at now (0 when not leading). */
int64_t lease_write_left(const struct lease_state *s, int64_t now);
/* When another holder's record, as seen, expires (monotonic): a follower tries
 * then rather than up to a retry period later, so a takeover after a crash comes
 * within lease duration + retry period of the holder's last renewal. 0 when no
 * other replica holds it. */
int64_t lease_expires_at(const struct lease_state *s);
/* The holder as last seen ("" for none or released). */
const char *lease_holder(const struct lease_state *s);

#endif

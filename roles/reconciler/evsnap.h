/* The Events of one namespace's OMJobs, taken with one LIST for the many first
 * passes after a start. A reconciler that starts on OMJobs whose status an
 * earlier process wrote checks, once per key, which of the Events that status
 * implies were posted (reconciler.c, backfill_events). One LIST per key, each of
 * which the API server answers by reading every Event of the namespace (no index
 * on involvedObject.uid), costs N x 3N at N OMJobs: 10,000 OMJobs took hours
 * (bench_scale.sh). With many keys waiting, one LIST of the namespace's OMJob
 * Events serves them all: the counts of the keys of this shard, by OMJob uid.
 * Only for a key's first pass in this process: the Events this process posts
 * later are not in it. Contract: docs/LIFECYCLE.md ("Events"). */
#ifndef OMJOB_ROLES_RECONCILER_EVSNAP_H
#define OMJOB_ROLES_RECONCILER_EVSNAP_H

#include <stddef.h>
#include <stdint.h>

struct kube_client;
struct kube_err;
struct evsnap;

/* What the Events of one OMJob show (the reasons the backfill looks for). */
struct evsnap_seen {
    int main_created, main_completed, completed, failed;
    const char *exit_msgs; /* ExitHandlerCreated messages, '\n'-separated; never NULL */
};

/* Lists the Events about OMJobs in ns and keeps those of the OMJobs of this shard
 * (util_shard_of(ns, name, nshards) == shard; nshards <= 1: all). 0, or a
 * negative errno with err filled (-EPERM: listing Events is forbidden). */
int evsnap_take(struct kube_client *kc, const char *ns, int shard, int nshards, struct evsnap **out,
                struct kube_err *err);
/* The same for the Events of one OMJob (its uid), whatever its shard: the restart
 * check of a single key reads them through the same counting. */
int evsnap_take_one(struct kube_client *kc, const char *ns, const char *uid, struct evsnap **out,
                    struct kube_err *err);
void evsnap_free(struct evsnap *s);

/* The namespace it was taken for and when (util_mono_ms). */
const char *evsnap_ns(const struct evsnap *s);
int64_t evsnap_taken_ms(const struct evsnap *s);
/* OMJobs it holds Events of. */
size_t evsnap_count(const struct evsnap *s);

/* The Events of the OMJob uid; all zero when it had none. */
void evsnap_get(const struct evsnap *s, const char *uid, struct evsnap_seen *out);

#endif

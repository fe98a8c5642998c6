/* The installed CRDs against what this operator writes: at start the watcher GETs
 * each CRD once and says which of our fields its schema prunes (an older CRD, such
 * as the one OpenMetadata's Helm chart installs), with how to upgrade: one log
 * line, the gauge omjob_crd_pruned_fields and "crds" in /info (RUNDIR_CRD_REPORT).
 * The operator stays correct and Ready either way (docs/LIFECYCLE.md). Also the
 * RBAC rules it can do without, said once. */
#ifndef OMJOB_ROLES_WATCHER_CRDCHECK_H
#define OMJOB_ROLES_WATCHER_CRDCHECK_H

#include <stddef.h>

struct json_object;
struct cfg;
struct ctl;

/* Pure: which of the fields (paths "spec.x" or "status.x") the served storage
 * version of crd (a CustomResourceDefinition) prunes, appended to out (a JSON
 * array of strings). A level with x-kubernetes-preserve-unknown-fields keeps
 * everything under it. Returns how many, or -EINVAL when crd has no schema. */
int crdcheck_pruned(struct json_object *crd, const char *const *fields, size_t n,
                    struct json_object *out);

/* First one warning naming the RBAC rules the identity lacks that the operator
 * can do without (SelfSubjectAccessReviews: list and get on events, get on the
 * CRDs, leases with LEADER_ELECTION), with what is lost. Then GETs the OMJob and
 * CronOMJob CRDs (one request each), logs what they prune once, sets the gauge
 * and writes RUNDIR_CRD_REPORT in the run directory. Never fails the role: a CRD
 * it cannot read (RBAC, an error) is logged once and reported as unknown. */
void crdcheck_run(const struct cfg *c, struct ctl *ctl);

#endif

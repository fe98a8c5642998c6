/* The API client of a role process: configuration from the usual lookup
 * (KUBECONFIG, in-cluster, ~/.kube/config), KUBE_QPS and KUBE_BURST from the
 * configuration, and every request counted in the role's
 * rest_client_requests_total (ctl_kube_observer). */
#ifndef OMJOB_RUNTIME_KCLIENT_H
#define OMJOB_RUNTIME_KCLIENT_H

#include <stddef.h>

#include "lib/kube/client.h"

struct cfg;
struct ctl;

/* opts: timeouts and attempts (may be NULL; qps and burst come from c). ctl may
 * be NULL (no metrics). 0 and *out (kube_client_free), or a negative errno with a
 * message in errbuf ("/path/kubeconfig: ...", "API client: ..."). */
int kclient_new(const struct cfg *c, struct ctl *ctl, const struct kube_client_opts *opts,
                struct kube_client **out, char *errbuf, size_t errlen);

/* kube_create of an object the operator owns through a controller ownerReference
 * (a pod of its OMJob, a run of its CronOMJob). When the API server refuses
 * blockOwnerDeletion (OwnerReferencesPermissionEnforcement without `update` on
 * the owner's finalizers, e.g. under OpenMetadata's chart RBAC) it warns once per
 * process, creates without it, and does so from then on: the object is made, and
 * only a foreground deletion of the owner stops waiting for it. Refused because
 * the API server cannot map the owner's kind yet (a CRD just installed), only that
 * create goes without it (wc_block_owner_refused). */
int kclient_create_owned(struct kube_client *kc, const struct kube_ref *r, struct json_object *obj,
                         struct json_object **out, struct kube_err *err);
/* The same with the created object as text (kube_create_text). */
int kclient_create_owned_text(struct kube_client *kc, const struct kube_ref *r,
                              struct json_object *obj, struct kube_text *text,
                              struct kube_err *err);

#endif

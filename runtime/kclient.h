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

#endif

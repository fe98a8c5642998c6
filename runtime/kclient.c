/* The API client of a role process (see kclient.h). */
#include "runtime/kclient.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/kube/kubeconfig.h"
#include "model/objects.h"
#include "runtime/ctl.h"

int kclient_new(const struct cfg *c, struct ctl *ctl, const struct kube_client_opts *opts,
                struct kube_client **out, char *errbuf, size_t errlen)
{
    struct kube_client_opts o = {0};
    struct kube_config *kc = NULL;
    struct kube_client *cl = NULL;
    if (opts != NULL)
        o = *opts;
    o.qps = c->kube_qps;
    o.burst = c->kube_burst;
    o.drop_managed_fields = true; /* no role reads them */
    int rc = kube_config_load(&kc, errbuf, errlen);
    if (rc != 0)
        return rc;
    if ((rc = kube_client_new(kc, &o, &cl)) != 0) {
        snprintf(errbuf, errlen, "API client: %s", strerror(-rc));
        kube_config_free(kc);
        return rc;
    }
    if (ctl != NULL) {
        kube_client_set_observer(cl, ctl_kube_observer, ctl);
        kube_client_set_wait_hook(cl, ctl_kube_wait, ctl);
    }
    *out = cl;
    return 0;
}

/* The create, its answer parsed into *out or as text into *text. */
static int create(struct kube_client *kc, const struct kube_ref *r, struct json_object *obj,
                  struct json_object **out, struct kube_text *text, struct kube_err *err)
{
    return text != NULL ? kube_create_text(kc, r, obj, text, err)
                        : kube_create(kc, r, obj, out, err);
}

static int create_owned(struct kube_client *kc, const struct kube_ref *r, struct json_object *obj,
                        struct json_object **out, struct kube_text *text, struct kube_err *err)
{
    static _Atomic bool no_block;
    if (atomic_load(&no_block))
        wc_drop_block_owner(obj);
    int rc = create(kc, r, obj, out, text, err);
    enum wc_block why =
        rc == -EPERM ? wc_block_owner_refused(err->http, err->message) : WC_BLOCK_OK;
    if (why != WC_BLOCK_OK && wc_drop_block_owner(obj) > 0) {
        if (why == WC_BLOCK_UNMAPPED) /* this create only: the next ones try again */
            log_warn("the API server cannot map the owner's kind yet (its discovery lags a CRD "
                     "just installed): creating this object without blockOwnerDeletion",
                     "detail", err->message, NULL);
        else if (!atomic_exchange(&no_block, true))
            log_warn("may not set blockOwnerDeletion (no update on the owner's finalizers, with "
                     "OwnerReferencesPermissionEnforcement): creating without it; a foreground "
                     "deletion of an OMJob or CronOMJob will not wait for its pods or runs",
                     "detail", err->message, NULL);
        rc = create(kc, r, obj, out, text, err);
    }
    return rc;
}

int kclient_create_owned(struct kube_client *kc, const struct kube_ref *r, struct json_object *obj,
                         struct json_object **out, struct kube_err *err)
{
    return create_owned(kc, r, obj, out, NULL, err);
}

int kclient_create_owned_text(struct kube_client *kc, const struct kube_ref *r,
                              struct json_object *obj, struct kube_text *text, struct kube_err *err)
{
    return create_owned(kc, r, obj, NULL, text, err);
}

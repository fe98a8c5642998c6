/* Fuzz target for the kubeconfig parser on arbitrary YAML from a buffer. Relative
 * file references resolve under a directory that does not exist. */
#include "lib/kube/internal.h"
#include "lib/kube/kubeconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct kube_config *c = NULL;
    int rc = kube_config_parse((const char *)data, size, "/nonexistent-fuzz-dir", "fuzz", &c, err,
                               sizeof(err));
    if (strlen(err) >= sizeof(err))
        abort();
    if (rc == 0) {
        if (c == NULL || kube_config_server(c) == NULL || kube_config_namespace(c) == NULL)
            abort();
        if (strncmp(kube_config_server(c), "http", 4) != 0)
            abort();
        if ((c->kc_cert == NULL) != (c->kc_key == NULL))
            abort();
        kube_config_free(c);
    } else if (c != NULL || err[0] == '\0') {
        abort();
    }
    return 0;
}

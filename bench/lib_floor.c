/* The memory floor of bench/bench_lifecycle.sh's idle figures (issue 14): one
 * process linked against exactly the operator's libraries (the same link line),
 * which runs their global init as the supervisor does and holds one open TLS
 * connection to the API server (one GET, as $KUBECONFIG), then waits for SIGTERM.
 * Not a benchmark of its own (no bench_ prefix): its PSS, measured with no
 * operator running, is what any one process on this library stack pays before it
 * does any work; the operator's idle PSS is printed next to it. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <nng/nng.h>
#include <yaml.h>

#include "lib/kube/client.h"
#include "lib/kube/kubeconfig.h"

int main(void)
{
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    struct kube_client_opts o = {.qps = 5, .burst = 10, .request_timeout_ms = 30000};
    struct kube_ref ref = {.gv = "v1", .plural = "namespaces", .name = "default"};
    struct kube_err err = {0};
    struct json_object *out = NULL;
    char msg[512];
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (kube_global_init() != 0 || kube_config_load(&cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "lib_floor: %s\n", cfg == NULL ? msg : "global init failed");
        return 1;
    }
    if (kube_client_new(cfg, &o, &c) != 0) {
        fprintf(stderr, "lib_floor: kube_client_new failed\n");
        return 1;
    }
    /* Any answer will do (a 403 too): the handshake and one request are the point. */
    if (kube_get(c, &ref, &out, &err) != 0 && err.http == 0)
        fprintf(stderr, "lib_floor: GET failed: %s\n", err.message);
    json_object_put(out);
    /* A call into each library the linker would otherwise drop (--as-needed). */
    printf("ready: nng %s, libmicrohttpd %s, libyaml %s\n", nng_version(), MHD_get_version(),
           yaml_get_version_string());
    fflush(stdout);
    sigwait(&set, &sig);
    kube_client_free(c);
    return 0;
}

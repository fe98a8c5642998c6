/* Helpers for the C integration tests against the real control plane: clients for
 * the cluster's identities, a namespace per test (deleted at the end, and at exit
 * for those a failed test left behind), kubeconfig variants, JSON building and
 * reading, an HTTP observer recorder and the overall deadline. Test code only:
 * failures to set up print a message and exit(2). */
#ifndef OMJOB_TESTS_INTEGRATION_SUPPORT_IT_KUBE_H
#define OMJOB_TESTS_INTEGRATION_SUPPORT_IT_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/kube/client.h"

struct json_object;

/* Arms alarm(seconds): when it fires the process prints which test was running
 * and exits 3, so that a hung request can never hang the run. */
void it_deadline(unsigned seconds);
/* Names the running test for the deadline message (static string) and starts
 * its clock; it_test_end prints how long it took. */
void it_test_begin(const char *name);
void it_test_end(void);

/* A client for the kubeconfig at path (NULL: the usual lookup, $KUBECONFIG
 * first). opts may be NULL. Exits on failure. Free with kube_client_free. */
struct kube_client *it_client(const char *path, const struct kube_client_opts *opts);
/* The same, returning the error instead of exiting (for negative tests). */
int it_client_try(const char *path, const struct kube_client_opts *opts, struct kube_client **out,
                  char *errbuf, size_t errlen);

/* Creates a namespace "<prefix>-xxxxx" (generateName) with the admin client c
 * and returns its name (caller frees with it_ns_delete). Exits on failure. */
char *it_ns_new(struct kube_client *c, const char *prefix);
/* Deletes the namespace (not waiting for it to go) and frees name. */
void it_ns_delete(struct kube_client *c, char *name);
/* Deletes the namespaces still registered (tests that failed half-way). */
void it_ns_cleanup_all(struct kube_client *c);

/* A new JSON value from a printf-style template; exits when it does not parse.
 * Caller json_object_put()s it. */
struct json_object *it_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when the JSON at path (lib/common/json.h: "metadata.labels") equals the JSON text
 * want; says what differs on stderr otherwise. */
bool it_jeq(struct json_object *o, const char *path, const char *want);

/* Monotonic milliseconds. */
int64_t it_now_ms(void);
void it_sleep_ms(int ms);

/* Polls GET r every 100 ms until it answers 404; true when it did within
 * timeout_ms. */
bool it_wait_gone(struct kube_client *c, const struct kube_ref *r, int timeout_ms);

/* A private temporary directory (mkdtemp) and its removal with the files in it. */
char *it_tmpdir_new(void);
void it_tmpdir_free(char *dir);
/* Writes a copy of the kubeconfig src into dir/name where every line whose key
 * (after indentation) is one of keys[0..nkeys) is replaced by repl at the same
 * indentation ("certificate-authority" also matches "certificate-authority-data").
 * Returns the new file's path (caller frees). Exits on failure. */
char *it_kubeconfig_variant(const char *src, const char *dir, const char *name,
                            const char *const *keys, size_t nkeys, const char *repl);

/* Records what kube_client_set_observer reports. Single-threaded use. */
#define IT_OBS_MAX 256
struct it_obs_rec {
    char method[8];
    int code;
    double seconds;
};
struct it_obs {
    int n;
    struct it_obs_rec rec[IT_OBS_MAX];
};
void it_obs_fn(void *ctx, const char *method, int code, double seconds);
/* How many records have this method and code. */
int it_obs_count(const struct it_obs *o, const char *method, int code);

#endif

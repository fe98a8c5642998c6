/* Helpers shared by the kube sources (not part of the public API; no curl types):
 * base64, Status objects, the parsed kubeconfig and token files. JSON, files,
 * strings and secrets go through common (lib/common/json.h, util.h). */
#ifndef OMJOB_LIB_KUBE_INTERNAL_H
#define OMJOB_LIB_KUBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Decodes standard base64 (whitespace ignored, padding optional) into a new
 * NUL-terminated buffer. 0 or -EINVAL / -ENOMEM. */
int kube_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

struct kube_err;
/* Fills reason, message (and http when it is 0) of e from a parsed Status object.
 * 0, or -1 when st is not a Status (e untouched but reason/message). */
int kube_err_from_status_json(struct kube_err *e, struct json_object *st);

/* The full configuration, for the client and the unit tests (see kubeconfig.h). */
struct kube_config {
    char *kc_source;
    char *kc_context; /* names of the chosen entries; NULL in-cluster */
    char *kc_cluster;
    char *kc_user;
    char *kc_server; /* scheme://host[:port][/prefix], no trailing slash */
    char *kc_namespace;
    unsigned char *kc_ca; /* PEM, NUL-terminated; NULL: the system's CAs */
    size_t kc_ca_len;
    unsigned char *kc_cert; /* client certificate PEM or NULL */
    size_t kc_cert_len;
    unsigned char *kc_key; /* client key PEM or NULL: secret */
    size_t kc_key_len;
    char *kc_token;      /* bearer token or NULL: secret */
    char *kc_token_file; /* re-read by the client; NULL when the token is inline */
    /* Where kc_ca, kc_cert and kc_key came from, re-read by the client when they
     * change (rotation); NULL when inline (*-data) or absent. */
    char *kc_ca_file;
    char *kc_cert_file;
    char *kc_key_file;
    bool kc_insecure;
    bool kc_in_cluster;
};

/* Largest token file read. */
#define KUBE_TOKEN_MAX ((size_t)64 << 10)

/* Reads a token file and trims surrounding whitespace. 0 and *out (free with
 * util_free_secret), -ENODATA when empty, or -errno. */
int kube_token_read(const char *path, char **out);

#endif

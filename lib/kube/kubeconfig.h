/* Client configuration: a kubeconfig file (parsed with libyaml) or the in-cluster
 * service account. The result holds the server URL, TLS material (loaded into
 * memory), credentials and the default namespace. Secrets are wiped when freed and
 * never logged.
 *
 * Supported kubeconfig fields (of the current context only): clusters[].cluster.
 * {server, certificate-authority, certificate-authority-data,
 * insecure-skip-tls-verify}; users[].user.{token, tokenFile, client-certificate,
 * client-certificate-data, client-key, client-key-data}; contexts[].context.
 * {cluster, user, namespace}. *-data wins over the file form; tokenFile wins over
 * token and is re-read by the client (every 60 s and after a 401). Relative paths
 * are relative to the kubeconfig's directory. exec and auth-provider plugins are
 * not supported: a user with only those is an error. The files of
 * certificate-authority, client-certificate and client-key (and the in-cluster
 * ca.crt) are re-read by the client when they change.
 *
 * Credentials are never sent over plain http://: a kubeconfig whose server is
 * http:// and whose user has a token or a client certificate is refused (-EACCES,
 * a message naming the setting) unless $OMJOB_ALLOW_INSECURE_HTTP is "true". */
#ifndef OMJOB_LIB_KUBE_KUBECONFIG_H
#define OMJOB_LIB_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define KUBE_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
/* The setting that lets credentials go over plain http:// (local testing). */
#define KUBE_ALLOW_INSECURE_HTTP_ENV "OMJOB_ALLOW_INSECURE_HTTP"

struct kube_config;

/* Parses a kubeconfig held in memory. base_dir resolves relative file paths (NULL:
 * the current directory); source names the input in error messages (NULL:
 * "kubeconfig"). Referenced files are read now. 0 and *out (kube_config_free), or
 * a negative errno with a message in errbuf such as
 *   "/home/u/.kube/config: user \"alice\": client-key-data: invalid base64". */
int kube_config_parse(const char *buf, size_t len, const char *base_dir, const char *source,
                      struct kube_config **out, char *errbuf, size_t errlen);

/* Reads and parses one kubeconfig file. */
int kube_config_load_file(const char *path, struct kube_config **out, char *errbuf, size_t errlen);

/* In-cluster configuration: server https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT, token, ca.crt and namespace (optional, else "default")
 * from sa_dir. sa_dir NULL means $OMJOB_SERVICEACCOUNT_DIR when set, else
 * KUBE_SA_DIR_DEFAULT. The token file is re-read by the client. */
int kube_config_in_cluster(const char *sa_dir, struct kube_config **out, char *errbuf,
                           size_t errlen);

/* The usual lookup order (controller-runtime's):
 *  1. $KUBECONFIG when set and not empty. It may be a colon-separated list, as for
 *     kubectl; unlike kubectl, the files are not merged: the first one that exists
 *     is used (an error names them all when none does);
 *  2. in-cluster, when $KUBERNETES_SERVICE_HOST is set;
 *  3. $HOME/.kube/config. */
int kube_config_load(struct kube_config **out, char *errbuf, size_t errlen);

/* Wipes the secrets and frees. NULL is a no-op. */
void kube_config_free(struct kube_config *cfg);

/* Borrowed, for logs and diagnostics (none of them is secret). */
const char *kube_config_server(const struct kube_config *cfg);
const char *kube_config_namespace(const struct kube_config *cfg);
/* The kubeconfig path, or "in-cluster". */
const char *kube_config_source(const struct kube_config *cfg);
/* The context name; NULL in-cluster. */
const char *kube_config_context(const struct kube_config *cfg);
/* insecure-skip-tls-verify: the server's certificate is not verified. */
bool kube_config_insecure(const struct kube_config *cfg);
/* $OMJOB_ALLOW_INSECURE_HTTP is "true". */
bool kube_config_allow_insecure_http(void);
bool kube_config_is_in_cluster(const struct kube_config *cfg);

#endif

/* Resource addressing: (group/version, plural, namespace, name, subresource) to
 * the API server path, with URL-escaped segments and query parameters. Pure. */
#ifndef OMJOB_LIB_KUBE_PATH_H
#define OMJOB_LIB_KUBE_PATH_H

#include <stddef.h>

/* Enough for any path this operator builds (names are at most 253 bytes). */
#define KUBE_PATH_MAX 4096

/* A resource or collection. gv is "v1" for the core group (-> /api/v1) or
 * "<group>/<version>" (-> /apis/<group>/<version>). ns NULL or "" addresses a
 * cluster-scoped resource or all namespaces; name NULL or "" the collection;
 * sub a subresource ("status", "eviction"; needs a name). */
struct kube_ref {
    const char *gv;
    const char *plural;
    const char *ns;
    const char *name;
    const char *sub;
};

/* A query parameter; entries whose value is NULL are skipped. */
struct kube_param {
    const char *key;
    const char *value;
};

/* Percent-encodes s (everything but RFC 3986 unreserved characters) into dst.
 * Returns the length written, or -ENAMETOOLONG when cap is too small. */
int kube_url_escape(char *dst, size_t cap, const char *s);

/* Writes the path and query ("/api/v1/namespaces/ns/pods/n/status?a=b") into buf.
 * Returns its length, -EINVAL for a malformed ref (missing gv or plural, gv with
 * empty parts, name "." or "..", sub without name), or -ENAMETOOLONG. */
int kube_path(char *buf, size_t cap, const struct kube_ref *r, const struct kube_param *params,
              size_t nparams);

#endif

/* Kubeconfig and in-cluster configuration loading (see kubeconfig.h). The YAML is
 * loaded as a libyaml document and only the fields of the current context are
 * looked at; alias cycles cannot hurt because lookups never recurse. */
#include "lib/kube/kubeconfig.h"
#include "lib/kube/internal.h"

#include "lib/common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#define KUBECONFIG_MAX ((size_t)16 << 20)
#define PEM_MAX ((size_t)4 << 20)

/* Parse state: the document, where the errors go, and the result being built. */
struct kp {
    yaml_document_t doc;
    const char *source;
    const char *base_dir;
    char *err;
    size_t errlen;
    struct kube_config *cfg;
};

static int fail(struct kp *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct kp *p, int rc, const char *fmt, ...)
{
    if (p->err != NULL && p->errlen > 0) {
        int n = snprintf(p->err, p->errlen, "%s: ", p->source);
        if (n >= 0 && (size_t)n < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

/* An error message for the functions without parse state; errbuf may be NULL. */
static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* The scalar value of n, or NULL when n is not a scalar or holds a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE)
        return NULL;
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length)
        return NULL;
    return v;
}

static yaml_node_t *map_get(struct kp *p, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const char *k = scalar(yaml_document_get_node(&p->doc, pr->key));
        if (k != NULL && strcmp(k, key) == 0)
            return yaml_document_get_node(&p->doc, pr->value);
    }
    return NULL;
}

/* A string field: 0 and *out (NULL when absent or empty), or -EINVAL when present
 * but not a string. */
static int get_str(struct kp *p, yaml_node_t *map, const char *key, const char **out)
{
    yaml_node_t *n = map_get(p, map, key);
    *out = NULL;
    if (n == NULL)
        return 0;
    const char *v = scalar(n);
    if (v == NULL)
        return -EINVAL;
    if (*v != '\0' && strcmp(v, "~") != 0 && strcmp(v, "null") != 0)
        *out = v;
    return 0;
}

/* Finds the entry of seq (clusters, users, contexts) named name, and returns its
 * inner mapping (entry[key]). */
static yaml_node_t *find_named(struct kp *p, const char *seq, const char *key, const char *name)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    yaml_node_t *s = map_get(p, root, seq);
    if (s == NULL || s->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(&p->doc, *it);
        const char *n = scalar(map_get(p, e, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return map_get(p, e, key);
    }
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

/* Resolves a path relative to the kubeconfig's directory. Caller frees. */
static char *resolve(struct kp *p, const char *path)
{
    if (path[0] == '/' || p->base_dir == NULL || p->base_dir[0] == '\0')
        return strdup(path);
    size_t n = strlen(p->base_dir) + strlen(path) + 2;
    char *r = malloc(n);
    if (r != NULL)
        snprintf(r, n, "%s/%s", p->base_dir, path);
    return r;
}

/* Loads PEM material from "<field>-data" (base64) or "<field>" (a file path).
 * what names the entry in messages ("cluster \"c\"", "user \"u\""). */
static int load_pem(struct kp *p, yaml_node_t *map, const char *what, const char *field,
                    unsigned char **out, size_t *outlen, char **file_out)
{
    char dkey[64];
    snprintf(dkey, sizeof(dkey), "%s-data", field);
    const char *data, *file;
    if (get_str(p, map, dkey, &data) != 0)
        return fail(p, -EINVAL, "%s: %s: not a string", what, dkey);
    if (get_str(p, map, field, &file) != 0)
        return fail(p, -EINVAL, "%s: %s: not a string", what, field);
    if (data != NULL) {
        if (kube_base64_decode(data, strlen(data), out, outlen) != 0 || *outlen == 0) {
            *out = NULL;
            return fail(p, -EINVAL, "%s: %s: invalid base64", what, dkey);
        }
        return 0;
    }
    if (file == NULL)
        return 0;
    char *path = resolve(p, file);
    if (path == NULL)
        return -ENOMEM;
    char *buf = NULL;
    size_t len = 0;
    int rc = util_file_read(path, PEM_MAX, &buf, &len);
    if (rc == 0 && len == 0) {
        free(buf);
        buf = NULL;
        rc = -ENODATA;
    }
    if (rc != 0) {
        fail(p, rc, "%s: %s: cannot read %s: %s", what, field, path, strerror(-rc));
        free(path);
    } else {
        *out = (unsigned char *)buf;
        *outlen = len;
        *file_out = path;
    }
    return rc;
}

static int load_cluster(struct kp *p, const char *name)
{
    char what[300];
    snprintf(what, sizeof(what), "cluster \"%s\"", name);
    yaml_node_t *c = find_named(p, "clusters", "cluster", name);
    if (c == NULL)
        return fail(p, -ENOENT, "%s: not found in clusters", what);
    const char *server, *insecure;
    if (get_str(p, c, "server", &server) != 0 || server == NULL)
        return fail(p, -EINVAL, "%s: server: missing", what);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return fail(p, -EINVAL, "%s: server: \"%s\" is not an http(s) URL", what, server);
    if (get_str(p, c, "insecure-skip-tls-verify", &insecure) != 0 ||
        (insecure != NULL && parse_bool(insecure, &p->cfg->kc_insecure) != 0))
        return fail(p, -EINVAL, "%s: insecure-skip-tls-verify: not a boolean", what);
    p->cfg->kc_server = strdup(server);
    if (p->cfg->kc_server == NULL)
        return -ENOMEM;
    size_t n = strlen(p->cfg->kc_server);
    while (n > 0 && p->cfg->kc_server[n - 1] == '/')
        p->cfg->kc_server[--n] = '\0';
    return load_pem(p, c, what, "certificate-authority", &p->cfg->kc_ca, &p->cfg->kc_ca_len,
                    &p->cfg->kc_ca_file);
}

static int load_token(struct kp *p, yaml_node_t *u, const char *what)
{
    const char *token, *file;
    if (get_str(p, u, "token", &token) != 0)
        return fail(p, -EINVAL, "%s: token: not a string", what);
    if (get_str(p, u, "tokenFile", &file) != 0)
        return fail(p, -EINVAL, "%s: tokenFile: not a string", what);
    if (file != NULL) {
        p->cfg->kc_token_file = resolve(p, file);
        if (p->cfg->kc_token_file == NULL)
            return -ENOMEM;
        int rc = kube_token_read(p->cfg->kc_token_file, &p->cfg->kc_token);
        if (rc != 0)
            return fail(p, rc, "%s: tokenFile: cannot read %s: %s", what, p->cfg->kc_token_file,
                        strerror(-rc));
        return 0;
    }
    if (token != NULL && (p->cfg->kc_token = strdup(token)) == NULL)
        return -ENOMEM;
    return 0;
}

static int load_user(struct kp *p, const char *name)
{
    char what[300];
    snprintf(what, sizeof(what), "user \"%s\"", name);
    yaml_node_t *u = find_named(p, "users", "user", name);
    if (u == NULL)
        return fail(p, -ENOENT, "%s: not found in users", what);
    struct kube_config *c = p->cfg;
    int rc = load_token(p, u, what);
    if (rc == 0)
        rc = load_pem(p, u, what, "client-certificate", &c->kc_cert, &c->kc_cert_len,
                      &c->kc_cert_file);
    if (rc == 0)
        rc = load_pem(p, u, what, "client-key", &c->kc_key, &c->kc_key_len, &c->kc_key_file);
    if (rc != 0)
        return rc;
    if ((c->kc_cert == NULL) != (c->kc_key == NULL))
        return fail(p, -EINVAL, "%s: %s given without %s", what,
                    c->kc_cert ? "client-certificate" : "client-key",
                    c->kc_cert ? "client-key" : "client-certificate");
    bool plugin = map_get(p, u, "exec") != NULL || map_get(p, u, "auth-provider") != NULL;
    if (plugin && c->kc_token == NULL && c->kc_cert == NULL)
        return fail(p, -ENOTSUP,
                    "%s: exec and auth-provider credential plugins are not supported; "
                    "use token, tokenFile or a client certificate",
                    what);
    return 0;
}

static int dup_opt(char **dst, const char *src)
{
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -ENOMEM : 0;
}

static int load_context(struct kp *p)
{
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (root == NULL)
        return fail(p, -EINVAL, "empty document");
    if (root->type != YAML_MAPPING_NODE)
        return fail(p, -EINVAL, "not a YAML mapping");
    const char *cur, *cluster, *user, *ns;
    if (get_str(p, root, "current-context", &cur) != 0 || cur == NULL)
        return fail(p, -EINVAL, "current-context: missing");
    yaml_node_t *ctx = find_named(p, "contexts", "context", cur);
    if (ctx == NULL)
        return fail(p, -ENOENT, "context \"%s\" (current-context): not found in contexts", cur);
    if (get_str(p, ctx, "cluster", &cluster) != 0 || cluster == NULL)
        return fail(p, -EINVAL, "context \"%s\": cluster: missing", cur);
    if (get_str(p, ctx, "user", &user) != 0)
        return fail(p, -EINVAL, "context \"%s\": user: not a string", cur);
    if (get_str(p, ctx, "namespace", &ns) != 0)
        return fail(p, -EINVAL, "context \"%s\": namespace: not a string", cur);
    struct kube_config *c = p->cfg;
    int rc = dup_opt(&c->kc_context, cur);
    if (rc == 0)
        rc = dup_opt(&c->kc_cluster, cluster);
    if (rc == 0)
        rc = dup_opt(&c->kc_user, user);
    if (rc == 0)
        rc = dup_opt(&c->kc_namespace, ns ? ns : "default");
    if (rc == 0)
        rc = load_cluster(p, cluster);
    if (rc == 0 && user != NULL)
        rc = load_user(p, user);
    return rc;
}

bool kube_config_allow_insecure_http(void)
{
    const char *v = getenv(KUBE_ALLOW_INSECURE_HTTP_ENV);
    return v != NULL && strcmp(v, "true") == 0;
}

/* Credentials (a bearer token, a client certificate) never go over plain http://:
 * anyone on the path could read and replay them. */
static int check_transport(struct kp *p)
{
    const struct kube_config *c = p->cfg;
    bool creds = c->kc_token != NULL || c->kc_token_file != NULL || c->kc_cert != NULL;
    if (!creds || strncmp(c->kc_server, "http://", 7) != 0 || kube_config_allow_insecure_http())
        return 0;
    return fail(p, -EACCES,
                "cluster \"%s\": server %s is plain http://, and user \"%s\" has "
                "credentials (%s) that would be sent in the clear; use https://, or set "
                "%s=true to allow it (local testing only)",
                c->kc_cluster, c->kc_server, c->kc_user ? c->kc_user : "",
                c->kc_cert != NULL ? "a client certificate" : "a bearer token",
                KUBE_ALLOW_INSECURE_HTTP_ENV);
}

/* libyaml frees without wiping; its copies of the input and the scalars hold
 * tokens and keys, so they are wiped first. The yaml structs are public. */
static void wipe_parser(yaml_parser_t *y)
{
    if (y->buffer.start != NULL)
        explicit_bzero(y->buffer.start, (size_t)(y->buffer.end - y->buffer.start));
    if (y->raw_buffer.start != NULL)
        explicit_bzero(y->raw_buffer.start, (size_t)(y->raw_buffer.end - y->raw_buffer.start));
}

static void wipe_doc(yaml_document_t *d)
{
    for (yaml_node_t *n = d->nodes.start; n != NULL && n < d->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE && n->data.scalar.value != NULL)
            explicit_bzero(n->data.scalar.value, n->data.scalar.length);
}

static int load_doc(struct kp *p, const char *buf, size_t len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    int rc = 0;
    if (!yaml_parser_load(&parser, &p->doc)) {
        rc = fail(p, -EINVAL, "YAML error at line %zu column %zu: %s", parser.problem_mark.line + 1,
                  parser.problem_mark.column + 1, parser.problem ? parser.problem : "unknown");
    }
    wipe_parser(&parser);
    yaml_parser_delete(&parser);
    return rc;
}

int kube_config_parse(const char *buf, size_t len, const char *base_dir, const char *source,
                      struct kube_config **out, char *errbuf, size_t errlen)
{
    struct kp p = {.source = source ? source : "kubeconfig",
                   .base_dir = base_dir,
                   .err = errbuf,
                   .errlen = errlen};
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    p.cfg = calloc(1, sizeof(*p.cfg));
    if (p.cfg == NULL)
        return -ENOMEM;
    int rc = load_doc(&p, buf, len);
    if (rc != 0)
        goto fail;
    rc = load_context(&p);
    if (rc == 0)
        rc = check_transport(&p);
    wipe_doc(&p.doc);
    yaml_document_delete(&p.doc);
    if (rc == 0 && (p.cfg->kc_source = strdup(p.source)) == NULL)
        rc = -ENOMEM;
    if (rc != 0)
        goto fail;
    *out = p.cfg;
    return 0;
fail:
    if (rc == -ENOMEM)
        fail(&p, rc, "out of memory");
    kube_config_free(p.cfg);
    return rc;
}

int kube_config_load_file(const char *path, struct kube_config **out, char *errbuf, size_t errlen)
{
    char *buf = NULL, *dir = NULL;
    size_t len = 0;
    int rc = util_file_read(path, KUBECONFIG_MAX, &buf, &len);
    if (rc != 0) {
        errf(errbuf, errlen, "%s: cannot read: %s", path, strerror(-rc));
        goto fail;
    }
    dir = strdup(path);
    if (dir == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        dir[0] = '\0';
    else
        slash[slash == dir ? 1 : 0] = '\0';
    rc = kube_config_parse(buf, len, dir, path, out, errbuf, errlen);
fail:
    util_free_secret_n(buf, len); /* may hold inline tokens and keys */
    free(dir);
    return rc;
}

int kube_token_read(const char *path, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = util_file_read(path, KUBE_TOKEN_MAX, &buf, &len);
    if (rc != 0)
        return rc;
    size_t a = 0, b = len;
    while (a < b && strchr(" \t\r\n", buf[a]) != NULL)
        a++;
    while (b > a && strchr(" \t\r\n", buf[b - 1]) != NULL)
        b--;
    if (a == b || memchr(buf + a, '\0', b - a) != NULL) {
        util_free_secret_n(buf, len);
        return a == b ? -ENODATA : -EINVAL;
    }
    memmove(buf, buf + a, b - a);
    explicit_bzero(buf + (b - a), len - (b - a));
    *out = buf;
    return 0;
}

static int in_cluster_files(struct kube_config *c, const char *dir, char *errbuf, size_t errlen)
{
    char path[4096];
    char *ns = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/token", dir);
    int rc = kube_token_read(path, &c->kc_token);
    if (rc != 0) {
        errf(errbuf, errlen, "in-cluster: %s: %s", path, strerror(-rc));
        return rc;
    }
    if ((c->kc_token_file = strdup(path)) == NULL)
        return -ENOMEM;
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    rc = util_file_read(path, PEM_MAX, (char **)&c->kc_ca, &c->kc_ca_len);
    if (rc != 0) {
        errf(errbuf, errlen, "in-cluster: %s: %s", path, strerror(-rc));
        return rc;
    }
    if ((c->kc_ca_file = strdup(path)) == NULL)
        return -ENOMEM;
    snprintf(path, sizeof(path), "%s/namespace", dir);
    if (util_file_read(path, 1024, &ns, &len) == 0) {
        ns[strcspn(ns, " \t\r\n")] = '\0';
        if (ns[0] != '\0') {
            c->kc_namespace = ns;
            ns = NULL;
        }
    }
    free(ns);
    return dup_opt(&c->kc_namespace, c->kc_namespace ? NULL : "default");
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config **out, char *errbuf,
                           size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    errf(errbuf, errlen, "%s", "");
    if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
        errf(errbuf, errlen,
             "in-cluster: KUBERNETES_SERVICE_HOST and "
             "KUBERNETES_SERVICE_PORT must be set");
        return -EINVAL;
    }
    if (sa_dir == NULL)
        sa_dir = getenv("OMJOB_SERVICEACCOUNT_DIR");
    if (sa_dir == NULL || *sa_dir == '\0')
        sa_dir = KUBE_SA_DIR_DEFAULT;
    struct kube_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->kc_in_cluster = true;
    bool v6 = strchr(host, ':') != NULL;
    size_t n = strlen(host) + strlen(port) + 16;
    int rc = -ENOMEM;
    if ((c->kc_server = malloc(n)) == NULL || (c->kc_source = strdup("in-cluster")) == NULL)
        goto fail;
    snprintf(c->kc_server, n, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    rc = in_cluster_files(c, sa_dir, errbuf, errlen);
    if (rc != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    kube_config_free(c);
    return rc;
}

/* The first existing file of a colon-separated list; NULL when none. Caller
 * frees. */
static char *first_existing(const char *list)
{
    char *r = NULL;
    for (const char *f = list; r == NULL && *f != '\0';) {
        size_t n = strcspn(f, ":");
        char *path = strndup(f, n);
        struct stat st;
        if (path == NULL)
            return NULL;
        if (n > 0 && stat(path, &st) == 0)
            r = path;
        else
            free(path);
        f += n;
        if (*f == ':')
            f++;
    }
    return r;
}

int kube_config_load(struct kube_config **out, char *errbuf, size_t errlen)
{
    const char *env = getenv("KUBECONFIG");
    if (env != NULL && *env != '\0') {
        char *path = first_existing(env);
        if (path == NULL) {
            errf(errbuf, errlen, "KUBECONFIG=%s: no such file", env);
            return -ENOENT;
        }
        int rc = kube_config_load_file(path, out, errbuf, errlen);
        free(path);
        return rc;
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host != NULL && *host != '\0')
        return kube_config_in_cluster(NULL, out, errbuf, errlen);
    const char *home = getenv("HOME");
    if (home == NULL || *home == '\0') {
        errf(errbuf, errlen, "no KUBECONFIG, not in a cluster, and HOME is not set");
        return -ENOENT;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/.kube/config", home);
    return kube_config_load_file(path, out, errbuf, errlen);
}

void kube_config_free(struct kube_config *c)
{
    if (c == NULL)
        return;
    free(c->kc_source);
    free(c->kc_context);
    free(c->kc_cluster);
    free(c->kc_user);
    free(c->kc_server);
    free(c->kc_namespace);
    free(c->kc_ca);
    free(c->kc_cert);
    util_free_secret_n(c->kc_key, c->kc_key_len);
    util_free_secret(c->kc_token);
    free(c->kc_token_file);
    free(c->kc_ca_file);
    free(c->kc_cert_file);
    free(c->kc_key_file);
    free(c);
}

const char *kube_config_server(const struct kube_config *cfg)
{
    return cfg->kc_server;
}

const char *kube_config_namespace(const struct kube_config *cfg)
{
    return cfg->kc_namespace;
}

const char *kube_config_source(const struct kube_config *cfg)
{
    return cfg->kc_source;
}

const char *kube_config_context(const struct kube_config *cfg)
{
    return cfg->kc_context;
}

bool kube_config_insecure(const struct kube_config *cfg)
{
    return cfg->kc_insecure;
}

bool kube_config_is_in_cluster(const struct kube_config *cfg)
{
    return cfg->kc_in_cluster;
}

/* Unit tests of kubeconfig and in-cluster configuration loading (kube/kubeconfig):
 * every credential form, context selection, KUBECONFIG lists, and the error
 * messages for broken files. */
#include "lib/kube/internal.h"
#include "lib/kube/kubeconfig.h"

#include "lib/common/util.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test_kube_kubeconfig.XXXXXX";
static char tls[1024];
static char errbuf[512];

static void write_file(const char *name, const char *content)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(content, f);
    fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    CU_ASSERT_FATAL(util_file_read(path, 1 << 20, &buf, len) == 0);
    return buf;
}

static char *b64(const unsigned char *in, size_t len)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(len / 3 * 4 + 5), *o = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = t[v >> 18], *o++ = t[(v >> 12) & 63], *o++ = t[(v >> 6) & 63], *o++ = t[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = t[v >> 18], *o++ = t[(v >> 12) & 63], *o++ = '=', *o++ = '=';
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *o++ = t[v >> 18], *o++ = t[(v >> 12) & 63], *o++ = t[(v >> 6) & 63], *o++ = '=';
    }
    *o = '\0';
    return out;
}

static struct kube_config *parse(const char *yaml, int *rc)
{
    struct kube_config *c = NULL;
    *rc = kube_config_parse(yaml, strlen(yaml), tmpdir, "test.yaml", &c, errbuf, sizeof(errbuf));
    return c;
}

#define HEAD                                                                                       \
    "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"                                         \
    "contexts:\n- name: dev\n  context: {cluster: c1, user: u1, namespace: team-a}\n"

static void test_token_inline(void)
{
    int rc;
    struct kube_config *c = parse(HEAD "clusters:\n- name: c1\n  cluster:\n"
                                       "    server: https://10.0.0.1:6443///\n"
                                       "users:\n- name: u1\n  user:\n    token: abc.def\n",
                                  &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://10.0.0.1:6443");
    CU_ASSERT_STRING_EQUAL(kube_config_namespace(c), "team-a");
    CU_ASSERT_STRING_EQUAL(kube_config_context(c), "dev");
    CU_ASSERT_STRING_EQUAL(kube_config_source(c), "test.yaml");
    CU_ASSERT_STRING_EQUAL(c->kc_token, "abc.def");
    CU_ASSERT_PTR_NULL(c->kc_token_file);
    CU_ASSERT_PTR_NULL(c->kc_ca);
    CU_ASSERT_PTR_NULL(c->kc_cert);
    CU_ASSERT_FALSE(kube_config_insecure(c));
    CU_ASSERT_FALSE(kube_config_is_in_cluster(c));
    kube_config_free(c);
}

static void test_token_file(void)
{
    write_file("tok", "\n  file-token-123 \n");
    write_file("kc-tokfile",
               HEAD "clusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                    "users:\n- name: u1\n  user:\n    token: ignored\n"
                    "    tokenFile: tok\n");
    char path[1200];
    snprintf(path, sizeof(path), "%s/kc-tokfile", tmpdir);
    struct kube_config *c = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_config_load_file(path, &c, errbuf, sizeof(errbuf)), 0);
    CU_ASSERT_STRING_EQUAL(c->kc_token, "file-token-123");
    char want[1200];
    snprintf(want, sizeof(want), "%s/tok", tmpdir);
    CU_ASSERT_STRING_EQUAL(c->kc_token_file, want);
    CU_ASSERT_STRING_EQUAL(kube_config_source(c), path);
    kube_config_free(c);
}

static void check_tls_files(struct kube_config *c)
{
    char path[1200];
    size_t len;
    snprintf(path, sizeof(path), "%s/ca.pem", tls);
    char *ca = slurp(path, &len);
    CU_ASSERT_EQUAL(c->kc_ca_len, len);
    CU_ASSERT(c->kc_ca != NULL && memcmp(c->kc_ca, ca, len) == 0);
    free(ca);
    snprintf(path, sizeof(path), "%s/client.pem", tls);
    char *cert = slurp(path, &len);
    CU_ASSERT_EQUAL(c->kc_cert_len, len);
    CU_ASSERT(c->kc_cert != NULL && memcmp(c->kc_cert, cert, len) == 0);
    free(cert);
    snprintf(path, sizeof(path), "%s/client-key.pem", tls);
    char *key = slurp(path, &len);
    CU_ASSERT_EQUAL(c->kc_key_len, len);
    CU_ASSERT(c->kc_key != NULL && memcmp(c->kc_key, key, len) == 0);
    free(key);
}

static void test_client_cert_files(void)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:6443\n"
                  "    certificate-authority: %s/ca.pem\n"
                  "users:\n- name: u1\n  user:\n    client-certificate: %s/client.pem\n"
                  "    client-key: %s/client-key.pem\n",
             tls, tls, tls);
    int rc;
    struct kube_config *c = parse(yaml, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    check_tls_files(c);
    CU_ASSERT_PTR_NULL(c->kc_token);
    kube_config_free(c);
}

static void test_inline_data(void)
{
    char path[1200];
    size_t len;
    char *d[3];
    const char *names[] = {"ca.pem", "client.pem", "client-key.pem"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", tls, names[i]);
        char *raw = slurp(path, &len);
        d[i] = b64((unsigned char *)raw, len);
        free(raw);
    }
    char yaml[8192];
    /* *-data wins over the file form (the files named here do not exist). */
    snprintf(yaml, sizeof(yaml),
             HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:6443\n"
                  "    certificate-authority: /nonexistent/ca.pem\n"
                  "    certificate-authority-data: %s\n"
                  "users:\n- name: u1\n  user:\n    client-certificate-data: %s\n"
                  "    client-key-data: \"%s\"\n    client-key: /nonexistent\n",
             d[0], d[1], d[2]);
    int rc;
    struct kube_config *c = parse(yaml, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    check_tls_files(c);
    kube_config_free(c);
    for (int i = 0; i < 3; i++)
        free(d[i]);
}

static void test_insecure(void)
{
    int rc;
    struct kube_config *c = parse(HEAD "clusters:\n- name: c1\n  cluster:\n    server: https://h\n"
                                       "    insecure-skip-tls-verify: true\n"
                                       "    certificate-authority-data: aGVsbG8=\n"
                                       "users:\n- name: u1\n  user: {token: t}\n",
                                  &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_TRUE(kube_config_insecure(c));
    CU_ASSERT_EQUAL(c->kc_ca_len, 5);
    kube_config_free(c);
}

/* Credentials never go over plain http:// unless OMJOB_ALLOW_INSECURE_HTTP=true
 * says so (local testing); an anonymous http:// server is fine. */
static void test_plain_http(void)
{
    char yaml[4096];
    const char *users[] = {"{token: t}", "{tokenFile: tok}", NULL};
    write_file("tok", "t\n");
    unsetenv("OMJOB_ALLOW_INSECURE_HTTP");
    for (int i = 0; i < 3; i++) {
        char u[2200];
        if (users[i] != NULL)
            snprintf(u, sizeof(u), "%s", users[i]);
        else
            snprintf(u, sizeof(u),
                     "{client-certificate: %s/client.pem, client-key: %s/client-key.pem}", tls,
                     tls);
        snprintf(yaml, sizeof(yaml),
                 HEAD "clusters:\n- name: c1\n  cluster: {server: 'http://10.0.0.1:8080'}\n"
                      "users:\n- name: u1\n  user: %s\n",
                 u);
        int rc;
        struct kube_config *c = parse(yaml, &rc);
        CU_ASSERT_EQUAL(rc, -EACCES);
        CU_ASSERT_PTR_NULL(c);
        CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "test.yaml: cluster \"c1\": server "
                                              "http://10.0.0.1:8080 is plain http://"));
        CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "OMJOB_ALLOW_INSECURE_HTTP=true"));
        kube_config_free(c);
        /* Only "true" allows it. */
        setenv("OMJOB_ALLOW_INSECURE_HTTP", "yes-please", 1);
        c = parse(yaml, &rc);
        CU_ASSERT_EQUAL(rc, -EACCES);
        kube_config_free(c);
        setenv("OMJOB_ALLOW_INSECURE_HTTP", "true", 1);
        c = parse(yaml, &rc);
        CU_ASSERT_EQUAL(rc, 0);
        kube_config_free(c);
        unsetenv("OMJOB_ALLOW_INSECURE_HTTP");
    }
    int rc;
    struct kube_config *c = parse(HEAD "clusters:\n- name: c1\n  cluster: {server: 'http://h'}\n"
                                       "users:\n- name: u1\n  user: {}\n",
                                  &rc);
    CU_ASSERT_EQUAL(rc, 0);
    kube_config_free(c);
}

static void test_contexts(void)
{
    const char *yaml = "current-context: prod\n"
                       "clusters:\n"
                       "- name: devc\n  cluster: {server: 'https://dev:6443'}\n"
                       "- name: prodc\n  cluster: {server: 'https://prod:6443'}\n"
                       "users:\n"
                       "- name: devu\n  user: {token: dev-token}\n"
                       "- name: produ\n  user: {token: prod-token}\n"
                       "contexts:\n"
                       "- name: dev\n  context: {cluster: devc, user: devu, namespace: d}\n"
                       "- name: prod\n  context: {cluster: prodc, user: produ}\n";
    int rc;
    struct kube_config *c = parse(yaml, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://prod:6443");
    CU_ASSERT_STRING_EQUAL(c->kc_token, "prod-token");
    CU_ASSERT_STRING_EQUAL(kube_config_namespace(c), "default");
    CU_ASSERT_STRING_EQUAL(c->kc_cluster, "prodc");
    CU_ASSERT_STRING_EQUAL(c->kc_user, "produ");
    kube_config_free(c);
    /* A context without a user is anonymous. */
    c = parse("current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
              "clusters: [{name: k, cluster: {server: 'http://k'}}]\n",
              &rc);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NULL(c->kc_token);
    CU_ASSERT_PTR_NULL(c->kc_user);
    kube_config_free(c);
}

/* Each broken kubeconfig must fail with a message naming the field. */
static void test_errors(void)
{
    static const struct {
        const char *yaml;
        const char *msg;
    } cases[] = {
        {"", "test.yaml: empty document"},
        {"- a\n- b\n", "test.yaml: not a YAML mapping"},
        {"a: [b\n", "test.yaml: YAML error at line 2"},
        {"kind: Config\n", "test.yaml: current-context: missing"},
        {"current-context: [x]\n", "test.yaml: current-context: missing"},
        {"current-context: nope\ncontexts: []\n",
         "test.yaml: context \"nope\" (current-context): not found in contexts"},
        {"current-context: x\ncontexts: [{name: x, context: {user: u}}]\n",
         "test.yaml: context \"x\": cluster: missing"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n",
         "test.yaml: cluster \"k\": not found in clusters"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {}}]\n",
         "test.yaml: cluster \"k\": server: missing"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {server: 'ftp://x'}}]\n",
         "test.yaml: cluster \"k\": server: \"ftp://x\" is not an http(s) URL"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x', insecure-skip-tls-verify: "
         "maybe}}]\n",
         "test.yaml: cluster \"k\": insecure-skip-tls-verify: not a boolean"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: "
         "'!!!'}}]\n",
         "test.yaml: cluster \"k\": certificate-authority-data: invalid base64"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x', certificate-authority: "
         "/nonexistent/ca.pem}}]\n",
         "test.yaml: cluster \"k\": certificate-authority: cannot read /nonexistent/ca.pem: No "
         "such file or directory"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n",
         "test.yaml: user \"u\": not found in users"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {client-certificate-data: aGVsbG8=}}]\n",
         "test.yaml: user \"u\": client-certificate given without client-key"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {client-key-data: 'a'}}]\n",
         "test.yaml: user \"u\": client-key-data: invalid base64"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {tokenFile: missing-token}}]\n",
         "test.yaml: user \"u\": tokenFile: cannot read "},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {exec: {command: aws}}}]\n",
         "test.yaml: user \"u\": exec and auth-provider credential plugins are not supported"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
         "users: [{name: u, user: {token: [a]}}]\n",
         "test.yaml: user \"u\": token: not a string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        struct kube_config *c = parse(cases[i].yaml, &rc);
        CU_ASSERT(rc < 0);
        CU_ASSERT_PTR_NULL(c);
        if (strncmp(errbuf, cases[i].msg, strlen(cases[i].msg)) != 0) {
            fprintf(stderr, "case %zu: got \"%s\", want \"%s...\"\n", i, errbuf, cases[i].msg);
            CU_FAIL("error message");
        }
    }
    struct kube_config *c = NULL;
    CU_ASSERT_EQUAL(kube_config_load_file("/nonexistent/kc", &c, errbuf, sizeof(errbuf)), -ENOENT);
    CU_ASSERT_STRING_EQUAL(errbuf, "/nonexistent/kc: cannot read: No such file or directory");
    CU_ASSERT_EQUAL(kube_config_load_file(tmpdir, &c, errbuf, sizeof(errbuf)), -EINVAL);
}

static void test_kubeconfig_list(void)
{
    write_file("b.yaml", "current-context: b\ncontexts: [{name: b, context: {cluster: k}}]\n"
                         "clusters: [{name: k, cluster: {server: 'https://b'}}]\n");
    write_file("c.yaml", "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
                         "clusters: [{name: k, cluster: {server: 'https://c'}}]\n");
    char list[4096];
    snprintf(list, sizeof(list), "/nonexistent/a.yaml::%s/b.yaml:%s/c.yaml", tmpdir, tmpdir);
    setenv("KUBECONFIG", list, 1);
    struct kube_config *c = NULL;
    CU_ASSERT_EQUAL_FATAL(kube_config_load(&c, errbuf, sizeof(errbuf)), 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://b");
    kube_config_free(c);
    setenv("KUBECONFIG", "/nonexistent/1:/nonexistent/2", 1);
    c = NULL;
    CU_ASSERT_EQUAL(kube_config_load(&c, errbuf, sizeof(errbuf)), -ENOENT);
    CU_ASSERT_STRING_EQUAL(errbuf, "KUBECONFIG=/nonexistent/1:/nonexistent/2: no such file");
    CU_ASSERT_PTR_NULL(c);
    /* No KUBECONFIG, not in a cluster: $HOME/.kube/config. */
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    char home[1200], kdir[1300];
    snprintf(home, sizeof(home), "%s/home", tmpdir);
    snprintf(kdir, sizeof(kdir), "%s/.kube", home);
    CU_ASSERT_FATAL(mkdir(home, 0700) == 0 && mkdir(kdir, 0700) == 0);
    write_file("home/.kube/config", "current-context: h\ncontexts: [{name: h, context: "
                                    "{cluster: k}}]\nclusters: [{name: k, cluster: {server: "
                                    "'https://home'}}]\n");
    char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", home, 1);
    CU_ASSERT_EQUAL_FATAL(kube_config_load(&c, errbuf, sizeof(errbuf)), 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://home");
    kube_config_free(c);
    if (old != NULL)
        setenv("HOME", old, 1);
    free(old);
}

static void test_in_cluster(void)
{
    char sa[1200];
    snprintf(sa, sizeof(sa), "%s/sa", tmpdir);
    CU_ASSERT_FATAL(mkdir(sa, 0700) == 0);
    char ca[1200], *cabuf;
    size_t calen;
    snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
    cabuf = slurp(ca, &calen);
    write_file("sa/token", "sa-token-xyz\n");
    write_file("sa/ca.crt", cabuf);
    write_file("sa/namespace", "omjob-system\n");
    struct kube_config *c = NULL;
    unsetenv("KUBERNETES_SERVICE_HOST");
    CU_ASSERT_EQUAL(kube_config_in_cluster(sa, &c, errbuf, sizeof(errbuf)), -EINVAL);
    CU_ASSERT_STRING_EQUAL(errbuf, "in-cluster: KUBERNETES_SERVICE_HOST and "
                                   "KUBERNETES_SERVICE_PORT must be set");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    CU_ASSERT_EQUAL_FATAL(kube_config_in_cluster(sa, &c, errbuf, sizeof(errbuf)), 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://10.96.0.1:443");
    CU_ASSERT_STRING_EQUAL(c->kc_token, "sa-token-xyz");
    CU_ASSERT_STRING_EQUAL(kube_config_namespace(c), "omjob-system");
    CU_ASSERT_STRING_EQUAL(kube_config_source(c), "in-cluster");
    CU_ASSERT_TRUE(kube_config_is_in_cluster(c));
    CU_ASSERT_PTR_NULL(kube_config_context(c));
    CU_ASSERT_PTR_NOT_NULL(c->kc_token_file);
    CU_ASSERT_EQUAL(c->kc_ca_len, calen);
    CU_ASSERT(memcmp(c->kc_ca, cabuf, calen) == 0);
    kube_config_free(c);
    /* IPv6, no namespace file, directory from the environment, via kube_config_load. */
    char nsf[1300];
    snprintf(nsf, sizeof(nsf), "%s/namespace", sa);
    unlink(nsf);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("OMJOB_SERVICEACCOUNT_DIR", sa, 1);
    unsetenv("KUBECONFIG");
    CU_ASSERT_EQUAL_FATAL(kube_config_load(&c, errbuf, sizeof(errbuf)), 0);
    CU_ASSERT_STRING_EQUAL(kube_config_server(c), "https://[fd00::1]:443");
    CU_ASSERT_STRING_EQUAL(kube_config_namespace(c), "default");
    kube_config_free(c);
    /* No token: a clear error. */
    char tokf[1300];
    snprintf(tokf, sizeof(tokf), "%s/token", sa);
    unlink(tokf);
    c = NULL;
    CU_ASSERT(kube_config_in_cluster(NULL, &c, errbuf, sizeof(errbuf)) < 0);
    char want[1400];
    snprintf(want, sizeof(want), "in-cluster: %s: No such file or directory", tokf);
    CU_ASSERT_STRING_EQUAL(errbuf, want);
    CU_ASSERT_PTR_NULL(c);
    unsetenv("OMJOB_SERVICEACCOUNT_DIR");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    free(cabuf);
}

int main(void)
{
    const char *data = getenv("OMJOB_TEST_DATA");
    snprintf(tls, sizeof(tls), "%s/kube/tls", data ? data : "tests/unit/data");
    if (mkdtemp(tmpdir) == NULL)
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite su = CU_add_suite("kube_kubeconfig", NULL, NULL);
    CU_add_test(su, "inline token", test_token_inline);
    CU_add_test(su, "token file", test_token_file);
    CU_add_test(su, "client cert and key files", test_client_cert_files);
    CU_add_test(su, "inline cert, key and CA data", test_inline_data);
    CU_add_test(su, "insecure-skip-tls-verify", test_insecure);
    CU_add_test(su, "credentials over plain http", test_plain_http);
    CU_add_test(su, "contexts", test_contexts);
    CU_add_test(su, "error messages", test_errors);
    CU_add_test(su, "KUBECONFIG list and HOME", test_kubeconfig_list);
    CU_add_test(su, "in-cluster", test_in_cluster);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return rc;
}

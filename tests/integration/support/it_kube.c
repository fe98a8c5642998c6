/* Helpers for the C integration tests (see it_kube.h): clients, namespaces,
 * kubeconfig variants, JSON, the observer recorder and the deadline. */
#include "support/it_kube.h"

#include "lib/common/json.h"
#include "lib/kube/kubeconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_MAX 64

static const char *volatile current_test = "(setup)";
static char *namespaces[NS_MAX];
static int64_t test_t0_ms;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "itest setup failed: %s: %s\n", what, detail ? detail : "");
    exit(2);
}

static void on_alarm(int sig)
{
    static const char pre[] = "\nitest: DEADLINE exceeded in test: ";
    const char *t = current_test;
    /* write(2) only: this runs in a signal handler. */
    if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, t, strlen(t)) < 0 || write(2, "\n", 1) < 0)
        _exit(3);
    _exit(3);
}

void it_deadline(unsigned seconds)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}

void it_test_begin(const char *name)
{
    current_test = name;
    test_t0_ms = it_now_ms();
    fprintf(stderr, "\n== %s\n", name);
}

void it_test_end(void)
{
    fprintf(stderr, "== %s: %.2f s\n", current_test, (double)(it_now_ms() - test_t0_ms) / 1000);
}

int it_client_try(const char *path, const struct kube_client_opts *opts, struct kube_client **out,
                  char *errbuf, size_t errlen)
{
    struct kube_config *cfg = NULL;
    int rc = path ? kube_config_load_file(path, &cfg, errbuf, errlen)
                  : kube_config_load(&cfg, errbuf, errlen);
    if (rc != 0)
        return rc;
    rc = kube_client_new(cfg, opts, out);
    if (rc != 0) {
        snprintf(errbuf, errlen, "kube_client_new: %s", strerror(-rc));
        kube_config_free(cfg);
    }
    return rc;
}

struct kube_client *it_client(const char *path, const struct kube_client_opts *opts)
{
    char eb[512] = "";
    struct kube_client *c = NULL;
    if (it_client_try(path, opts, &c, eb, sizeof(eb)) != 0)
        die(path ? path : "$KUBECONFIG", eb);
    return c;
}

static void ns_register(char *name)
{
    for (int i = 0; i < NS_MAX; i++) {
        if (namespaces[i] == NULL) {
            namespaces[i] = name;
            return;
        }
    }
}

static void ns_unregister(const char *name)
{
    for (int i = 0; i < NS_MAX; i++) {
        if (namespaces[i] == name)
            namespaces[i] = NULL;
    }
}

char *it_ns_new(struct kube_client *c, const char *prefix)
{
    struct json_object *ns = it_json("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                                     "\"metadata\":{\"generateName\":\"%s-\","
                                     "\"labels\":{\"omjob.test/itest\":\"true\"}}}",
                                     prefix);
    struct kube_ref r = {.gv = "v1", .plural = "namespaces"};
    struct json_object *out = NULL;
    struct kube_err err;
    int rc = kube_create(c, &r, ns, &out, &err);
    json_object_put(ns);
    const char *name = rc == 0 ? jx_str(out, "metadata.name") : NULL;
    if (name == NULL)
        die("create namespace", err.message);
    char *copy = strdup(name);
    json_object_put(out);
    if (copy == NULL)
        die("create namespace", "out of memory");
    ns_register(copy);
    return copy;
}

void it_ns_delete(struct kube_client *c, char *name)
{
    if (name == NULL)
        return;
    struct kube_ref r = {.gv = "v1", .plural = "namespaces", .name = name};
    struct kube_delete_opts o = {.propagation = "Background", .grace_seconds = -1};
    struct kube_err err;
    int rc = kube_delete(c, &r, &o, NULL, &err);
    if (rc != 0 && rc != -ENOENT)
        fprintf(stderr, "itest: cannot delete namespace %s: %s\n", name, err.message);
    ns_unregister(name);
    free(name);
}

void it_ns_cleanup_all(struct kube_client *c)
{
    for (int i = 0; i < NS_MAX; i++) {
        if (namespaces[i] != NULL)
            it_ns_delete(c, namespaces[i]);
    }
}

struct json_object *it_json(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("it_json", "out of memory");
    enum json_tokener_error je;
    struct json_object *o = json_tokener_parse_verbose(s, &je);
    if (o == NULL)
        die("it_json: template does not parse", s);
    free(s);
    return o;
}

bool it_jeq(struct json_object *o, const char *path, const char *want)
{
    struct json_object *got = jx_get(o, path);
    struct json_object *w = json_tokener_parse(want);
    bool eq = got != NULL && w != NULL && json_object_equal(got, w);
    if (!eq)
        fprintf(stderr, "  json mismatch: want %s, got %s\n", want,
                got ? json_object_to_json_string(got) : "(missing)");
    json_object_put(w);
    return eq;
}

int64_t it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

bool it_wait_gone(struct kube_client *c, const struct kube_ref *r, int timeout_ms)
{
    int64_t end = it_now_ms() + timeout_ms;
    for (;;) {
        int rc = kube_get(c, r, NULL, NULL);
        if (rc == -ENOENT)
            return true;
        if (it_now_ms() >= end)
            return false;
        it_sleep_ms(100);
    }
}

char *it_tmpdir_new(void)
{
    char *d = strdup("/tmp/omjob-itest-XXXXXX");
    if (d == NULL || mkdtemp(d) == NULL)
        die("mkdtemp", strerror(errno));
    return d;
}

void it_tmpdir_free(char *dir)
{
    if (dir == NULL)
        return;
    /* Our own mkdtemp directory, flat: its files, then it. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d != NULL)
        closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "itest: cannot remove %s: %s\n", dir, strerror(errno));
    free(dir);
}

/* True when line (after its indentation) starts with "key:" or "key-data:". */
static bool line_has_key(const char *p, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(p, key, n) != 0)
        return false;
    return p[n] == ':' || strncmp(p + n, "-data:", 6) == 0;
}

char *it_kubeconfig_variant(const char *src, const char *dir, const char *name,
                            const char *const *keys, size_t nkeys, const char *repl)
{
    char *path = NULL, *line = NULL;
    size_t cap = 0;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        die("it_kubeconfig_variant", "out of memory");
    FILE *in = fopen(src, "r");
    FILE *out = fopen(path, "w");
    if (in == NULL || out == NULL)
        die("it_kubeconfig_variant: open", strerror(errno));
    while (getline(&line, &cap, in) >= 0) {
        size_t ind = strspn(line, " ");
        bool hit = false;
        for (size_t i = 0; i < nkeys && !hit; i++)
            hit = line_has_key(line + ind, keys[i]);
        if (hit)
            fprintf(out, "%.*s%s\n", (int)ind, line, repl);
        else
            fputs(line, out);
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0)
        die("it_kubeconfig_variant: write", strerror(errno));
    return path;
}

void it_obs_fn(void *ctx, const char *method, int code, double seconds)
{
    struct it_obs *o = ctx;
    if (o->n >= IT_OBS_MAX)
        return;
    struct it_obs_rec *r = &o->rec[o->n++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->code = code;
    r->seconds = seconds;
}

int it_obs_count(const struct it_obs *o, const char *method, int code)
{
    int n = 0;
    for (int i = 0; i < o->n; i++)
        n += strcmp(o->rec[i].method, method) == 0 && o->rec[i].code == code;
    return n;
}

/* The load generator and probes of bench/bench_lifecycle.sh (not a benchmark of
 * its own: scripts/bench runs build-bench/bench_* only). It talks to the API server
 * with the kube library as the admin ($KUBECONFIG), never to the operator.
 *
 *   dispatch   NS N RATE   N OMJobs at RATE per second (main and exit pods run for
 *                          --run-for, exit 0); one pod WATCH records the local arrival
 *                          of the MODIFIED event where a main pod becomes terminal and
 *                          of the ADDED event of its exit pod: the difference is the
 *                          operator's exit-handler dispatch latency.
 *   throughput NS N        N OMJobs created as fast as 4 threads can; done when every
 *                          one is Succeeded with its finalizer released (OMJob WATCH).
 *   ceiling    NS N        no operator: 4 threads create the same N OMJobs and W
 *                          workers (one client each, --qps/--burst like one reconciler
 *                          process) make the operator's writes for each (--post,
 *                          --patch, --get: totals over N, counted from the operator's
 *                          rest_client_requests_total) with the operator's own pod
 *                          builder and Event recorder.
 *   fill       NS N        N OMJobs whose exit handler keeps running; done when every
 *                          one is ExitHandlerRunning (for the memory figure).
 *   strip      NS          removes every finalizer from the OMJobs and pods of NS
 *                          (cleanup after `fill`, operator stopped).
 *   burst      NS N        no operator: the API server's own floor for the scheduler's
 *                          busy second (bench_cron.sh): --workers threads sharing one
 *                          client (--qps/--burst, its connections opened before) create
 *                          N OMJobs (--template: a run the scheduler made) starting at
 *                          the whole second --at (Unix seconds), each annotated
 *                          scheduled-at that second; the replies' times after it.
 *   populate   NS N        no operator: --workers threads (--qps/--burst each) write
 *                          N OMJobs as the operator leaves them with the exit handler
 *                          running (finalizer, ExitHandlerRunning status, main pod
 *                          exiting 0 at once, exit pod running until deleted; both
 *                          bound to the kwok nodes in turn) with the 3 Events the
 *                          operator posted on the way, 7 requests each, names
 *                          <prefix>-<--from + i> (bench_scale.sh).
 *
 * Options: --template FILE (OMJob JSON; default a minimal one), --prefix P,
 * --run-for D and --dump FILE (dispatch: per OMJob "name main-terminal exit-added",
 * wall-clock ms, to line up with the operator's log), --workers W, --qps Q, --burst B, --timeout S.
 * Results are "RESULT key value" lines on stdout; progress on stderr. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "lib/kube/client.h"
#include "lib/kube/watch.h"
#include "roles/reconciler/podspec.h"
#include "runtime/events.h"
#include "model/labels.h"

#define FIN_OMJOB "omjob.pipelines.openmetadata.org/finalizer"
#define CREATORS 4
#define LBL_NAME "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/name"
#define LBL_TYPE "metadata.labels.omjob\\.pipelines\\.openmetadata\\.org/pod-type"

static const char *g_ns, *g_prefix = "b", *g_template, *g_run_for = "1s", *g_dump;
static int g_n, g_workers = 5, g_burst = 100, g_timeout = 600, g_from;
static long long g_at; /* burst: Unix seconds */
static double g_rate = 2, g_qps = 50;
static double g_post = -1, g_patch = -1, g_get = 0;
static struct json_object *g_tmpl;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lifecycle_driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int64_t mono_ns(void)
{
    return util_mono_ns();
}

static struct kube_client *client(double qps, int burst)
{
    struct kube_config *cfg = NULL;
    struct kube_client *c = NULL;
    char err[512];
    if (kube_config_load(&cfg, err, sizeof(err)) != 0)
        die("kubeconfig: %s", err);
    struct kube_client_opts o = {.qps = qps, .burst = burst, .request_timeout_ms = 120000};
    if (kube_client_new(cfg, &o, &c) != 0)
        die("kube_client_new failed");
    return c;
}

/* ---- OMJobs ---- */

static const char *DEFAULT_TEMPLATE =
    "{\"apiVersion\":\"pipelines.openmetadata.org/v1\",\"kind\":\"OMJob\",\"metadata\":{},"
    "\"spec\":{\"mainPodSpec\":{\"image\":\"busybox\",\"command\":[\"sh\",\"-c\",\"true\"]},"
    "\"exitHandlerSpec\":{\"image\":\"busybox\",\"command\":[\"sh\",\"-c\",\"true\"]}}}";

static void load_template(void)
{
    char *buf = NULL;
    size_t len = 0;
    if (g_template != NULL) {
        FILE *f = fopen(g_template, "r");
        if (f == NULL)
            die("cannot open %s: %s", g_template, strerror(errno));
        buf = malloc(1 << 20);
        len = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
    } else {
        buf = strdup(DEFAULT_TEMPLATE);
        len = strlen(buf);
    }
    char err[256];
    if (jx_parse(buf, len, &g_tmpl, err, sizeof(err)) != 0)
        die("template: %s", err);
    free(buf);
    /* The template's own identity goes. */
    struct json_object *md = jx_obj(g_tmpl, "metadata");
    if (md != NULL) {
        json_object_object_del(md, "name");
        json_object_object_del(md, "namespace");
        json_object_object_del(md, "creationTimestamp");
    }
}

enum flavour {
    FL_TIMED,   /* main and exit run for g_run_for, exit 0 */
    FL_INSTANT, /* main and exit exit 0 at once */
    FL_PARKED,  /* main exits 0 at once, the exit handler runs until deleted */
};

static void set_ann(struct json_object *o, const char *spec, const char *code, const char *run_for)
{
    struct json_object *ps = jx_obj(o, spec);
    if (ps == NULL)
        die("the template has no %s", spec);
    struct json_object *a = json_object_new_object();
    if (code != NULL)
        json_object_object_add(a, "sim.omjob.test/exit-code", json_object_new_string(code));
    if (run_for != NULL)
        json_object_object_add(a, "sim.omjob.test/run-for", json_object_new_string(run_for));
    json_object_object_add(ps, "annotations", a);
}

static struct json_object *omjob_body(int i, enum flavour fl)
{
    struct json_object *o = NULL;
    char name[64];
    if (json_object_deep_copy(g_tmpl, &o, NULL) != 0)
        die("out of memory");
    snprintf(name, sizeof(name), "%s-%05d", g_prefix, i);
    jx_set_str(o, "metadata.name", name);
    switch (fl) {
    case FL_TIMED:
        set_ann(o, "spec.mainPodSpec", "0", g_run_for);
        set_ann(o, "spec.exitHandlerSpec", "0", g_run_for);
        break;
    case FL_INSTANT:
        set_ann(o, "spec.mainPodSpec", "0", NULL);
        set_ann(o, "spec.exitHandlerSpec", "0", NULL);
        break;
    case FL_PARKED:
        set_ann(o, "spec.mainPodSpec", "0", NULL);
        set_ann(o, "spec.exitHandlerSpec", NULL, NULL);
        break;
    }
    return o;
}

/* The index in "<prefix>-NNNNN", or -1. */
static int job_index(const char *name)
{
    size_t pl = strlen(g_prefix);
    if (name == NULL || strncmp(name, g_prefix, pl) != 0 || name[pl] != '-')
        return -1;
    char *end;
    long v = strtol(name + pl + 1, &end, 10);
    if (*end != '\0' || v < 0 || v >= g_n)
        return -1;
    return (int)v;
}

static bool g_create_finalized; /* populate: the OMJob created with our finalizer */

static int create_omjob(struct kube_client *c, int i, enum flavour fl, struct json_object **out)
{
    struct kube_ref ref = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = g_ns};
    struct json_object *body = omjob_body(i, fl);
    if (g_create_finalized) {
        struct json_object *f = json_object_new_array();
        json_object_array_add(f, json_object_new_string(FIN_OMJOB));
        jx_set(body, "metadata.finalizers", f);
    }
    struct kube_err e;
    int rc = kube_create(c, &ref, body, out, &e);
    json_object_put(body);
    if (rc != 0)
        fprintf(stderr, "create %s-%05d: HTTP %d %s %s\n", g_prefix, i, e.http, e.reason,
                e.message);
    return rc;
}

/* ---- watches ---- */

struct watcher {
    const char *plural, *gv, *selector;
    kube_watch_cb cb;
    void *ctx;
    struct kube_client *c;
    struct kube_watch *w;
    atomic_bool ready;
    pthread_t th;
};

static void *watch_main(void *arg)
{
    struct watcher *wt = arg;
    struct kube_err e;
    struct kube_watch_params p = {
        .ref = {.gv = wt->gv, .plural = wt->plural, .ns = g_ns},
        .label_selector = wt->selector,
        .timeout_seconds = 3600,
    };
    int64_t t0 = mono_ns();
    for (;;) {
        enum kube_watch_end end = kube_watch_start(wt->w, &p, wt->cb, wt->ctx, &e);
        while (end == KUBE_WATCH_RUNNING) {
            end = kube_watch_step(wt->w, 100, &e);
            /* The request is out and its headers back well within this. */
            if (!atomic_load(&wt->ready) && mono_ns() - t0 > 1500000000LL)
                atomic_store(&wt->ready, true);
        }
        if (end == KUBE_WATCH_CANCELLED || end == KUBE_WATCH_STOPPED)
            return NULL;
        if (end == KUBE_WATCH_TIMEOUT)
            continue;
        fprintf(stderr, "watch %s ended: %s (HTTP %d %s); resuming\n", wt->plural,
                kube_watch_end_str(end), e.http, e.message);
        if (end == KUBE_WATCH_EXPIRED)
            die("watch expired: events lost, the measurement is void");
        sleep(1);
    }
}

static void watch_begin(struct watcher *wt)
{
    char rv[64] = "";
    struct kube_err e;
    struct kube_ref r = {.gv = wt->gv, .plural = wt->plural, .ns = g_ns};
    struct kube_list_opts lo = {.label_selector = wt->selector, .limit = 500};
    wt->c = client(-1, 0);
    if (kube_list(wt->c, &r, &lo, NULL, NULL, rv, sizeof(rv), &e) != 0)
        die("list %s: HTTP %d %s", wt->plural, e.http, e.message);
    if (kube_watch_new(wt->c, &wt->w) != 0 || kube_watch_set_resource_version(wt->w, rv) != 0)
        die("kube_watch_new");
    atomic_store(&wt->ready, false);
    if (pthread_create(&wt->th, NULL, watch_main, wt) != 0)
        die("pthread_create");
    while (!atomic_load(&wt->ready))
        usleep(10000);
}

static void watch_end(struct watcher *wt)
{
    kube_watch_cancel(wt->w);
    pthread_join(wt->th, NULL);
    kube_watch_free(wt->w);
    kube_client_free(wt->c);
}

static bool has_str(struct json_object *arr, const char *s)
{
    size_t n = arr != NULL ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
            return true;
    return false;
}

/* Per-OMJob times (mono ns; 0 = not seen), written by the watch threads. */
struct job {
    int64_t created;
    int64_t main_term;                   /* pod stream: MODIFIED, main pod terminal */
    int64_t exit_added;                  /* pod stream: ADDED, exit pod */
    int64_t main_term_rt, exit_added_rt; /* the same, wall clock (to line up with logs) */
    int64_t ehr;                         /* OMJob stream: phase ExitHandlerRunning */
    int64_t done; /* OMJob stream: the target phase (and finalizer released) */
};

static struct job *g_jobs;
static atomic_int g_done;
static const char *g_want_phase = "Succeeded";
static bool g_want_released = true;

static int pod_cb(void *ctx, const struct kube_event *ev)
{
    (void)ctx;
    int64_t t = mono_ns();
    if (ev->type != KUBE_EV_ADDED && ev->type != KUBE_EV_MODIFIED)
        return 0;
    int i = job_index(jx_str(ev->object, LBL_NAME));
    if (i < 0)
        return 0;
    const char *type = jx_str_or(ev->object, LBL_TYPE, "");
    const char *phase = jx_str_or(ev->object, "status.phase", "");
    if (strcmp(type, POD_TYPE_MAIN) == 0) {
        if (g_jobs[i].main_term == 0 &&
            (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)) {
            if (ev->type != KUBE_EV_MODIFIED)
                fprintf(stderr, "main pod of %d first seen terminal in an ADDED event\n", i);
            g_jobs[i].main_term = t;
            g_jobs[i].main_term_rt = util_wall_ns();
        }
    } else if (strcmp(type, POD_TYPE_EXIT_HANDLER) == 0) {
        if (g_jobs[i].exit_added == 0 && ev->type == KUBE_EV_ADDED) {
            g_jobs[i].exit_added = t;
            g_jobs[i].exit_added_rt = util_wall_ns();
        }
    }
    return 0;
}

static int omjob_cb(void *ctx, const struct kube_event *ev)
{
    (void)ctx;
    int64_t t = mono_ns();
    if (ev->type != KUBE_EV_ADDED && ev->type != KUBE_EV_MODIFIED)
        return 0;
    int i = job_index(jx_str(ev->object, "metadata.name"));
    if (i < 0)
        return 0;
    const char *phase = jx_str_or(ev->object, "status.phase", "");
    if (g_jobs[i].ehr == 0 && strcmp(phase, "ExitHandlerRunning") == 0)
        g_jobs[i].ehr = t;
    if (g_jobs[i].done == 0 && strcmp(phase, g_want_phase) == 0 &&
        (!g_want_released || !has_str(jx_arr(ev->object, "metadata.finalizers"), FIN_OMJOB))) {
        g_jobs[i].done = t;
        atomic_fetch_add(&g_done, 1);
    }
    return 0;
}

static bool wait_done(int64_t deadline)
{
    while (atomic_load(&g_done) < g_n) {
        if (mono_ns() > deadline)
            return false;
        usleep(5000);
    }
    return true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double pct(const int64_t *sorted, int n, double p)
{
    int k = (int)ceil(p * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return (double)sorted[k] / 1e6;
}

static void summary(const char *what, int64_t *v, int n)
{
    if (n == 0) {
        printf("RESULT %s_n 0\n", what);
        return;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_i64);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)v[i] / 1e6;
    printf("RESULT %s_n %d\nRESULT %s_min_ms %.2f\nRESULT %s_p50_ms %.2f\nRESULT %s_p90_ms %.2f\n"
           "RESULT %s_p99_ms %.2f\nRESULT %s_max_ms %.2f\nRESULT %s_mean_ms %.2f\n",
           what, n, what, pct(v, n, 0), what, pct(v, n, 0.5), what, pct(v, n, 0.9), what,
           pct(v, n, 0.99), what, pct(v, n, 1), what, sum / n);
}

/* ---- dispatch ---- */

/* The latency of the OMJob creates (one POST every 1/RATE s): what one write
 * costs on this API server while the dispatch runs. */
static int64_t *g_clat;
static int g_nclat;

static void create_observer(void *ctx, const char *method, int code, double seconds)
{
    (void)ctx;
    if (strcmp(method, "POST") == 0 && code == 201 && g_nclat < g_n)
        g_clat[g_nclat++] = (int64_t)(seconds * 1e9);
}

static int cmd_dispatch(void)
{
    struct watcher pw = {.plural = POD_PLURAL,
                         .gv = POD_GROUP_VERSION,
                         .selector = LABEL_SELECTOR_PODS,
                         .cb = pod_cb};
    struct watcher ow = {.plural = OMJOB_PLURAL, .gv = OMJOB_GROUP_VERSION, .cb = omjob_cb};
    watch_begin(&pw);
    watch_begin(&ow);
    struct kube_client *c = client(-1, 0);
    g_clat = calloc((size_t)g_n, sizeof(int64_t));
    kube_client_set_observer(c, create_observer, NULL);
    int64_t t0 = mono_ns();
    int failed = 0;
    for (int i = 0; i < g_n; i++) {
        int64_t at = t0 + (int64_t)((double)i * 1e9 / g_rate);
        int64_t now = mono_ns();
        if (at > now) {
            struct timespec ts = {(at - now) / 1000000000, (at - now) % 1000000000};
            nanosleep(&ts, NULL);
        }
        g_jobs[i].created = mono_ns();
        struct json_object *out = NULL;
        if (create_omjob(c, i, FL_TIMED, &out) != 0)
            failed++;
        json_object_put(out);
    }
    int64_t t_sub = mono_ns();
    bool all = wait_done(mono_ns() + (int64_t)g_timeout * 1000000000LL);
    watch_end(&pw);
    watch_end(&ow);
    kube_client_free(c);
    printf("RESULT submit_seconds %.2f\nRESULT create_failures %d\nRESULT finished %d\n",
           (double)(t_sub - t0) / 1e9, failed, atomic_load(&g_done));
    int64_t *lat = calloc((size_t)g_n, sizeof(int64_t)), *a = calloc((size_t)g_n, sizeof(int64_t)),
            *b = calloc((size_t)g_n, sizeof(int64_t));
    int n = 0, na = 0, nb = 0, neg = 0;
    for (int i = 0; i < g_n; i++) {
        struct job *j = &g_jobs[i];
        if (j->main_term == 0 || j->exit_added == 0)
            continue;
        lat[n++] = j->exit_added - j->main_term;
        if (j->exit_added < j->main_term)
            neg++;
        /* Breakdown across the two streams (same API server, same client clock;
         * approximate: two connections). */
        if (j->ehr != 0) {
            a[na++] = j->ehr - j->main_term;
            b[nb++] = j->exit_added - j->ehr;
        }
    }
    printf("RESULT negative %d\n", neg);
    if (g_dump != NULL) {
        FILE *f = fopen(g_dump, "w");
        if (f == NULL)
            die("cannot write %s: %s", g_dump, strerror(errno));
        for (int i = 0; i < g_n; i++)
            if (g_jobs[i].main_term_rt != 0 && g_jobs[i].exit_added_rt != 0)
                fprintf(f, "%s-%05d %.3f %.3f\n", g_prefix, i, (double)g_jobs[i].main_term_rt / 1e6,
                        (double)g_jobs[i].exit_added_rt / 1e6);
        fclose(f);
    }
    summary("dispatch", lat, n);
    summary("term_to_status", a, na);
    summary("status_to_exit", b, nb);
    summary("create_latency", g_clat, g_nclat);
    free(lat);
    free(a);
    free(b);
    return all && failed == 0 ? 0 : 1;
}

/* ---- throughput and fill: creators + one OMJob watch ---- */

struct creators {
    atomic_int next;
    enum flavour fl;
    atomic_int failed;
    int64_t t_first;
    atomic_bool started;
    /* ceiling: created objects go to the queue */
    bool enqueue;
};

static struct creators g_cr;

/* The ceiling's work queue. */
static struct json_object **g_q;
static int g_qhead, g_qtail, g_qclosed_by;
static pthread_mutex_t g_qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_qcv = PTHREAD_COND_INITIALIZER;

static void q_push(struct json_object *o)
{
    pthread_mutex_lock(&g_qmu);
    g_q[g_qtail++] = o;
    pthread_cond_signal(&g_qcv);
    pthread_mutex_unlock(&g_qmu);
}

static void q_creator_done(void)
{
    pthread_mutex_lock(&g_qmu);
    g_qclosed_by++;
    pthread_cond_broadcast(&g_qcv);
    pthread_mutex_unlock(&g_qmu);
}

/* Next object, or NULL when every creator is done and the queue is empty. */
static struct json_object *q_pop(void)
{
    struct json_object *o = NULL;
    pthread_mutex_lock(&g_qmu);
    while (g_qhead == g_qtail && g_qclosed_by < CREATORS)
        pthread_cond_wait(&g_qcv, &g_qmu);
    if (g_qhead < g_qtail)
        o = g_q[g_qhead++];
    pthread_mutex_unlock(&g_qmu);
    return o;
}

static void *creator_main(void *arg)
{
    (void)arg;
    struct kube_client *c = client(-1, 0);
    for (;;) {
        int i = atomic_fetch_add(&g_cr.next, 1);
        if (i >= g_n)
            break;
        if (i == 0) {
            g_cr.t_first = mono_ns();
            atomic_store(&g_cr.started, true);
        }
        struct json_object *out = NULL;
        if (create_omjob(c, i, g_cr.fl, &out) != 0) {
            atomic_fetch_add(&g_cr.failed, 1);
            continue;
        }
        if (g_cr.enqueue)
            q_push(out);
        else
            json_object_put(out);
    }
    kube_client_free(c);
    if (g_cr.enqueue)
        q_creator_done();
    return NULL;
}

static void creators_run(pthread_t *th)
{
    for (int i = 0; i < CREATORS; i++)
        if (pthread_create(&th[i], NULL, creator_main, NULL) != 0)
            die("pthread_create");
}

static void creators_join(pthread_t *th)
{
    for (int i = 0; i < CREATORS; i++)
        pthread_join(th[i], NULL);
}

static int cmd_until(enum flavour fl)
{
    struct watcher ow = {.plural = OMJOB_PLURAL, .gv = OMJOB_GROUP_VERSION, .cb = omjob_cb};
    pthread_t th[CREATORS];
    watch_begin(&ow);
    g_cr.fl = fl;
    creators_run(th);
    creators_join(th);
    int64_t t_sub = mono_ns();
    bool all = wait_done(mono_ns() + (int64_t)g_timeout * 1000000000LL);
    watch_end(&ow);
    int64_t last = 0;
    for (int i = 0; i < g_n; i++)
        if (g_jobs[i].done > last)
            last = g_jobs[i].done;
    double el = (double)(last - g_cr.t_first) / 1e9;
    printf("RESULT create_seconds %.3f\nRESULT create_failures %d\nRESULT finished %d\n"
           "RESULT elapsed_seconds %.3f\nRESULT omjobs_per_second %.2f\n",
           (double)(t_sub - g_cr.t_first) / 1e9, atomic_load(&g_cr.failed), atomic_load(&g_done),
           el, el > 0 ? g_n / el : 0);
    return all && atomic_load(&g_cr.failed) == 0 ? 0 : 1;
}

/* ---- ceiling ---- */

/* Per-job counts, spread so that the totals over N match the operator's. */
static int share(double total, int i)
{
    long t = lround(total);
    return (int)(t / g_n + (i < t % g_n ? 1 : 0));
}

static atomic_long g_writes, g_werr;

static void count(int rc, const char *what, const struct kube_err *e)
{
    atomic_fetch_add(&g_writes, 1);
    if (rc != 0 && atomic_fetch_add(&g_werr, 1) < 10)
        fprintf(stderr, "ceiling %s: HTTP %d %s %s\n", what, e->http, e->reason, e->message);
}

static int patch_omjob(struct kube_client *c, const char *name, const char *sub,
                       struct json_object *patch, struct json_object **cur)
{
    struct kube_ref r = {
        .gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = g_ns, .name = name, .sub = sub};
    struct kube_err e;
    struct json_object *out = NULL;
    jx_set_str(patch, "metadata.resourceVersion", jx_str(*cur, "metadata.resourceVersion"));
    int rc = kube_patch(c, &r, KUBE_PATCH_MERGE, patch, &out, &e);
    json_object_put(patch);
    count(rc, sub != NULL ? "status patch" : "omjob patch", &e);
    if (rc == 0) {
        json_object_put(*cur);
        *cur = out;
    }
    return rc;
}

static struct json_object *cond(const char *type, const char *status, const char *reason,
                                const char *msg, const char *now)
{
    struct json_object *c = json_object_new_object();
    json_object_object_add(c, "type", json_object_new_string(type));
    json_object_object_add(c, "status", json_object_new_string(status));
    json_object_object_add(c, "reason", json_object_new_string(reason));
    json_object_object_add(c, "message", json_object_new_string(msg));
    json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
    json_object_object_add(c, "observedGeneration", json_object_new_int64(1));
    return c;
}

/* A status patch like the reconciler's (decide.c): the whole status each time.
 * stage 0: Pending/Running (pre-outcome), 1: outcome + ExitHandlerRunning,
 * 2: Succeeded. */
static struct json_object *status_patch(const char *name, int stage, int k)
{
    char now[40], main[160], exitp[160], msg[400];
    util_rfc3339_format(util_wall_ns(), 0, now, sizeof(now));
    snprintf(main, sizeof(main), "%s-main", name);
    snprintf(exitp, sizeof(exitp), "%s-exit", name);
    struct json_object *p = json_object_new_object(), *s = json_object_new_object(),
                       *cs = json_object_new_array();
    json_object_object_add(p, "status", s);
    json_object_object_add(s, "observedGeneration", json_object_new_int64(1));
    json_object_object_add(s, "mainPodName", json_object_new_string(main));
    json_object_object_add(s, "startTime", json_object_new_string(now));
    json_object_object_add(s, "lastTransitionTime", json_object_new_string(now));
    if (stage == 0) {
        const char *ph = k % 2 == 0 ? "Pending" : "Running";
        snprintf(msg, sizeof(msg), "main pod %s is %s", main, k % 2 == 0 ? "pending" : "running");
        json_object_object_add(s, "phase", json_object_new_string(ph));
        json_object_object_add(s, "message", json_object_new_string(msg));
        json_object_array_add(cs, cond("MainPodFinished", "False", ph, msg, now));
        json_object_array_add(
            cs, cond("ExitHandlerFinished", "False", "Waiting", "waiting for the main pod", now));
    } else {
        snprintf(msg, sizeof(msg), "main pod %s ended: Completed (exit code 0): succeeded", main);
        json_object_object_add(s, "mainPodReason", json_object_new_string("Completed"));
        json_object_object_add(s, "mainPodExitCode", json_object_new_int(0));
        json_object_object_add(s, "exitHandlerPodName", json_object_new_string(exitp));
        json_object_object_add(s, "exitHandlerAttempts", json_object_new_int(1));
        json_object_array_add(cs, cond("MainPodFinished", "True", "Completed", msg, now));
        if (stage == 1) {
            json_object_object_add(s, "phase", json_object_new_string("ExitHandlerRunning"));
            json_object_object_add(s, "message", json_object_new_string(msg));
            json_object_array_add(
                cs, cond("ExitHandlerFinished", "False", "Running", "exit handler starting", now));
        } else {
            const char *m = "main pod succeeded; exit handler succeeded";
            json_object_object_add(s, "phase", json_object_new_string("Succeeded"));
            json_object_object_add(s, "message", json_object_new_string(m));
            json_object_object_add(s, "completionTime", json_object_new_string(now));
            json_object_object_add(s, "exitHandlerExitCode", json_object_new_int(0));
            json_object_object_add(s, "exitHandlerReason", json_object_new_string("Completed"));
            json_object_array_add(cs, cond("ExitHandlerFinished", "True", "Succeeded",
                                           "exit handler succeeded", now));
            json_object_array_add(cs, cond("Complete", "True", "Succeeded", m, now));
        }
    }
    json_object_object_add(s, "conditions", cs);
    return p;
}

static struct json_object *finalizers_patch(bool add)
{
    struct json_object *p = json_object_new_object(), *f = json_object_new_array();
    if (add)
        json_object_array_add(f, json_object_new_string(FIN_OMJOB));
    jx_set(p, "metadata.finalizers", f);
    return p;
}

/* node: NULL for the scheduler to place it, else bound there at once (populate). */
static void create_pod_on(struct kube_client *c, struct json_object *omj, enum podspec_kind kind,
                          const char *node)
{
    struct podspec_exit_info ei = {
        .pe_success = true, .pe_exit_code_known = true, .pe_reason = "Completed"};
    struct json_object *pod = NULL, *out = NULL;
    char err[256];
    if (podspec_build(omj, kind, &ei, &pod, err, sizeof(err)) != 0)
        die("podspec_build: %s", err);
    if (node != NULL)
        jx_set_str(pod, "spec.nodeName", node);
    struct kube_ref r = {.gv = POD_GROUP_VERSION, .plural = POD_PLURAL, .ns = g_ns};
    struct kube_err e;
    int rc = kube_create(c, &r, pod, &out, &e);
    count(rc, "pod create", &e);
    json_object_put(pod);
    json_object_put(out);
}

static void create_pod(struct kube_client *c, struct json_object *omj, enum podspec_kind kind)
{
    create_pod_on(c, omj, kind, NULL);
}

static void release_pod(struct kube_client *c, const char *name)
{
    struct kube_ref r = {.gv = POD_GROUP_VERSION, .plural = POD_PLURAL, .ns = g_ns, .name = name};
    struct kube_err e;
    struct json_object *p = finalizers_patch(false);
    int rc = kube_patch(c, &r, KUBE_PATCH_MERGE, p, NULL, &e);
    count(rc, "pod release", &e);
    json_object_put(p);
}

struct worker {
    int id;
    pthread_t th;
    int64_t t_end;
    int64_t cpu_ns; /* the thread's own CPU time, client and Event recorder included */
    /* latency of each request attempt, by verb (0 POST, 1 PATCH, 2 other) */
    int64_t *lat[3];
    int nlat[3], caplat[3];
};

static void observe(void *ctx, const char *method, int code, double seconds)
{
    struct worker *w = ctx;
    (void)code;
    int k = strcmp(method, "POST") == 0 ? 0 : strcmp(method, "PATCH") == 0 ? 1 : 2;
    if (w->nlat[k] == w->caplat[k]) {
        int nc = w->caplat[k] ? w->caplat[k] * 2 : 4096;
        int64_t *nl = realloc(w->lat[k], (size_t)nc * sizeof(int64_t));
        if (nl == NULL)
            return;
        w->lat[k] = nl;
        w->caplat[k] = nc;
    }
    w->lat[k][w->nlat[k]++] = (int64_t)(seconds * 1e9);
}

static atomic_int g_seq;

static void event(struct ev_recorder *ev, struct json_object *omj, int *left, enum ev_type t,
                  const char *reason, const char *msg)
{
    if (*left <= 0)
        return;
    (*left)--;
    struct ev_object o = {OMJOB_GROUP_VERSION,
                          OMJOB_KIND,
                          g_ns,
                          jx_str(omj, "metadata.name"),
                          jx_str(omj, "metadata.uid"),
                          jx_str(omj, "metadata.resourceVersion")};
    int rc = ev_emit(ev, &o, t, reason, msg);
    atomic_fetch_add(&g_writes, 1);
    if (rc != 0)
        atomic_fetch_add(&g_werr, 1);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct kube_client *c = client(g_qps, g_burst);
    kube_client_set_observer(c, observe, w);
    struct ev_recorder *ev = NULL;
    char inst[64];
    snprintf(inst, sizeof(inst), "bench-ceiling-%d", w->id);
    if (ev_recorder_new(c, "omjob-operator", inst, 0, &ev) != 0)
        die("ev_recorder_new");
    struct json_object *omj;
    while ((omj = q_pop()) != NULL) {
        int i = atomic_fetch_add(&g_seq, 1);
        int posts = share(g_post, i), patches = share(g_patch, i), gets = share(g_get, i);
        int events = posts - 2, statuses = patches - 4;
        char name[128], mainp[140], exitp[140];
        snprintf(name, sizeof(name), "%s", jx_str_or(omj, "metadata.name", ""));
        snprintf(mainp, sizeof(mainp), "%s-main", name);
        snprintf(exitp, sizeof(exitp), "%s-exit", name);
        for (int g = 0; g < gets; g++) {
            struct kube_ref r = {
                .gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = g_ns, .name = name};
            struct kube_err e;
            struct json_object *out = NULL;
            int rc = kube_get(c, &r, &out, &e);
            count(rc, "get", &e);
            json_object_put(out);
        }
        patch_omjob(c, name, NULL, finalizers_patch(true), &omj);
        create_pod(c, omj, PODSPEC_MAIN);
        char m[400];
        snprintf(m, sizeof(m), "created main pod %s", mainp);
        event(ev, omj, &events, EV_NORMAL, "MainPodCreated", m);
        /* Status writes: the pre-outcome ones, the outcome, the final one. */
        int pre = statuses - 2;
        for (int k = 0; k < pre; k++)
            patch_omjob(c, name, "status", status_patch(name, 0, k), &omj);
        if (statuses >= 1)
            patch_omjob(c, name, "status", status_patch(name, 1, 0), &omj);
        snprintf(m, sizeof(m), "main pod %s ended: Completed (exit code 0): succeeded", mainp);
        event(ev, omj, &events, EV_NORMAL, "MainPodCompleted", m);
        create_pod(c, omj, PODSPEC_EXIT);
        snprintf(m, sizeof(m), "created exit handler pod %s (attempt 1, pipelineStatus=success)",
                 exitp);
        event(ev, omj, &events, EV_NORMAL, "ExitHandlerCreated", m);
        if (statuses >= 2)
            patch_omjob(c, name, "status", status_patch(name, 2, 0), &omj);
        event(ev, omj, &events, EV_NORMAL, "OMJobCompleted",
              "main pod succeeded; exit handler succeeded");
        for (int x = 0; events > 0; x++) {
            snprintf(m, sizeof(m), "extra event %d of %s", x, name);
            event(ev, omj, &events, EV_NORMAL, "Extra", m);
        }
        release_pod(c, mainp);
        release_pod(c, exitp);
        patch_omjob(c, name, NULL, finalizers_patch(false), &omj);
        json_object_put(omj);
        w->t_end = mono_ns();
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        w->cpu_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    ev_recorder_free(ev);
    kube_client_free(c);
    return NULL;
}

static int cmd_ceiling(void)
{
    if (g_post < 2 * g_n || g_patch < 4 * g_n)
        die("ceiling needs --post >= 2N and --patch >= 4N (totals over N OMJobs)");
    struct watcher ow = {.plural = OMJOB_PLURAL, .gv = OMJOB_GROUP_VERSION, .cb = omjob_cb};
    watch_begin(&ow);
    g_q = calloc((size_t)g_n, sizeof(*g_q));
    g_cr.fl = FL_INSTANT;
    g_cr.enqueue = true;
    struct worker *ws = calloc((size_t)g_workers, sizeof(*ws));
    for (int i = 0; i < g_workers; i++) {
        ws[i].id = i;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
            die("pthread_create");
    }
    pthread_t th[CREATORS];
    creators_run(th);
    creators_join(th);
    int64_t wlast = 0, wcpu = 0;
    for (int i = 0; i < g_workers; i++) {
        pthread_join(ws[i].th, NULL);
        if (ws[i].t_end > wlast)
            wlast = ws[i].t_end;
        wcpu += ws[i].cpu_ns;
    }
    /* The same end as the operator's run: the OMJob WATCH shows every one
     * Succeeded with its finalizer released. */
    bool all = wait_done(mono_ns() + 60 * 1000000000LL);
    watch_end(&ow);
    int64_t last = 0;
    for (int i = 0; i < g_n; i++)
        if (g_jobs[i].done > last)
            last = g_jobs[i].done;
    double el = (double)(last - g_cr.t_first) / 1e9;
    printf("RESULT create_failures %d\nRESULT writes %ld\nRESULT write_errors %ld\n"
           "RESULT finished %d\nRESULT workers_seconds %.3f\nRESULT workers_cpu_seconds %.3f\n"
           "RESULT elapsed_seconds %.3f\nRESULT omjobs_per_second %.2f\n",
           atomic_load(&g_cr.failed), atomic_load(&g_writes), atomic_load(&g_werr),
           atomic_load(&g_done), (double)(wlast - g_cr.t_first) / 1e9, (double)wcpu / 1e9, el,
           el > 0 ? g_n / el : 0);
    static const char *const verbs[3] = {"post", "patch", "other"};
    for (int k = 0; k < 3; k++) {
        int n = 0;
        for (int i = 0; i < g_workers; i++)
            n += ws[i].nlat[k];
        int64_t *all_l = calloc((size_t)n + 1, sizeof(int64_t));
        n = 0;
        for (int i = 0; i < g_workers; i++) {
            memcpy(all_l + n, ws[i].lat[k], (size_t)ws[i].nlat[k] * sizeof(int64_t));
            n += ws[i].nlat[k];
            free(ws[i].lat[k]);
        }
        char what[32];
        snprintf(what, sizeof(what), "latency_%s", verbs[k]);
        summary(what, all_l, n);
        free(all_l);
    }
    free(ws);
    if (!all)
        fprintf(stderr, "ceiling: only %d of %d OMJobs seen finished\n", atomic_load(&g_done), g_n);
    free(g_q);
    return atomic_load(&g_werr) == 0 && atomic_load(&g_cr.failed) == 0 ? 0 : 1;
}

/* ---- populate ---- */

static atomic_int g_pop_next;
static char **g_nodes;
static int g_nnodes;

static int node_collect(void *ctx, struct json_object *item)
{
    (void)ctx;
    char **nn = realloc(g_nodes, (size_t)(g_nnodes + 1) * sizeof(*nn));
    if (nn == NULL)
        die("out of memory");
    g_nodes = nn;
    g_nodes[g_nnodes++] = strdup(jx_str_or(item, "metadata.name", ""));
    return 0;
}

/* Each OMJob as the operator leaves it with its exit handler running, and the Events
 * the operator posted on the way (the ones its reconciler's backfill_events looks
 * for after a restart: MainPodCreated, MainPodCompleted, one ExitHandlerCreated
 * naming the exit pod), so the operator's first start on them posts none. The
 * finalizer comes with the create; the pods are bound to the kwok nodes in turn
 * (no scheduler in the way: it binds at its own 50 QPS and would place no more
 * than the nodes' pod capacity); kwok plays them (main Succeeded at once, exit
 * Running). 7 requests per OMJob. */
static void *populate_main(void *arg)
{
    (void)arg;
    struct kube_client *c = client(g_qps, g_burst);
    struct ev_recorder *ev = NULL;
    if (ev_recorder_new(c, "omjob-operator", "bench-populate", 16, &ev) != 0)
        die("ev_recorder_new");
    for (;;) {
        int i = atomic_fetch_add(&g_pop_next, 1);
        if (i >= g_n)
            break;
        struct json_object *omj = NULL;
        char name[128], m[400];
        if (create_omjob(c, g_from + i, FL_PARKED, &omj) != 0) {
            atomic_fetch_add(&g_werr, 1);
            continue;
        }
        snprintf(name, sizeof(name), "%s", jx_str_or(omj, "metadata.name", ""));
        if (patch_omjob(c, name, "status", status_patch(name, 1, 0), &omj) == 0) {
            const char *node = g_nnodes > 0 ? g_nodes[(g_from + i) % g_nnodes] : NULL;
            int left = 3;
            create_pod_on(c, omj, PODSPEC_MAIN, node);
            snprintf(m, sizeof(m), "created main pod %s-main", name);
            event(ev, omj, &left, EV_NORMAL, "MainPodCreated", m);
            snprintf(m, sizeof(m), "main pod %s-main ended: Completed (exit code 0): succeeded",
                     name);
            event(ev, omj, &left, EV_NORMAL, "MainPodCompleted", m);
            create_pod_on(c, omj, PODSPEC_EXIT, node);
            snprintf(m, sizeof(m),
                     "created exit handler pod %s-exit (attempt 1, pipelineStatus=success)", name);
            event(ev, omj, &left, EV_NORMAL, "ExitHandlerCreated", m);
        }
        json_object_put(omj);
    }
    ev_recorder_free(ev);
    kube_client_free(c);
    return NULL;
}

static int cmd_populate(void)
{
    struct kube_client *c = client(-1, 0);
    struct kube_err e;
    struct kube_ref rn = {.gv = "v1", .plural = "nodes"};
    struct kube_list_opts lo = {.label_selector = "type=kwok"};
    if (kube_list(c, &rn, &lo, node_collect, NULL, NULL, 0, &e) != 0)
        die("list nodes: HTTP %d %s", e.http, e.message);
    kube_client_free(c);
    g_create_finalized = true;
    if (g_nnodes == 0)
        fprintf(stderr, "populate: no node labelled type=kwok: the scheduler places the pods\n");
    pthread_t *th = calloc((size_t)g_workers, sizeof(*th));
    int64_t t0 = mono_ns();
    for (int i = 0; i < g_workers; i++)
        if (pthread_create(&th[i], NULL, populate_main, NULL) != 0)
            die("pthread_create");
    for (int i = 0; i < g_workers; i++)
        pthread_join(th[i], NULL);
    double el = (double)(mono_ns() - t0) / 1e9;
    printf("RESULT populate_seconds %.3f\nRESULT writes %ld\nRESULT write_errors %ld\n", el,
           atomic_load(&g_writes), atomic_load(&g_werr));
    free(th);
    for (int i = 0; i < g_nnodes; i++)
        free(g_nodes[i]);
    free(g_nodes);
    return atomic_load(&g_werr) == 0 ? 0 : 1;
}

/* ---- strip ---- */

static struct json_object *g_strip;
static atomic_int g_strip_next;

static void *strip_main(void *arg)
{
    (void)arg;
    struct kube_client *c = client(-1, 0);
    size_t n = json_object_array_length(g_strip);
    for (;;) {
        size_t i = (size_t)atomic_fetch_add(&g_strip_next, 1);
        if (i >= n)
            break;
        struct json_object *it = json_object_array_get_idx(g_strip, i);
        bool pod = strcmp(jx_str_or(it, "k", ""), "pod") == 0;
        struct kube_ref r = {.gv = pod ? POD_GROUP_VERSION : OMJOB_GROUP_VERSION,
                             .plural = pod ? POD_PLURAL : OMJOB_PLURAL,
                             .ns = g_ns,
                             .name = jx_str(it, "n")};
        struct json_object *p = json_object_new_object();
        jx_set(p, "metadata.finalizers", NULL);
        struct kube_err e;
        int rc = kube_patch(c, &r, KUBE_PATCH_MERGE, p, NULL, &e);
        if (rc != 0 && rc != -ENOENT)
            fprintf(stderr, "strip %s: HTTP %d %s\n", r.name, e.http, e.message);
        json_object_put(p);
    }
    kube_client_free(c);
    return NULL;
}

static int strip_collect(void *ctx, struct json_object *item)
{
    struct json_object *f = jx_arr(item, "metadata.finalizers");
    if (f == NULL || json_object_array_length(f) == 0)
        return 0;
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "k", json_object_new_string((const char *)ctx));
    json_object_object_add(e, "n", json_object_new_string(jx_str_or(item, "metadata.name", "")));
    json_object_array_add(g_strip, e);
    return 0;
}

static int cmd_strip(void)
{
    struct kube_client *c = client(-1, 0);
    struct kube_err e;
    g_strip = json_object_new_array();
    struct kube_ref ro = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = g_ns};
    struct kube_ref rp = {.gv = POD_GROUP_VERSION, .plural = POD_PLURAL, .ns = g_ns};
    if (kube_list(c, &ro, NULL, strip_collect, "omjob", NULL, 0, &e) != 0 ||
        kube_list(c, &rp, NULL, strip_collect, "pod", NULL, 0, &e) != 0)
        die("list: HTTP %d %s", e.http, e.message);
    kube_client_free(c);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, strip_main, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    printf("RESULT stripped %zu\n", json_object_array_length(g_strip));
    json_object_put(g_strip);
    return 0;
}

/* ---- burst ---- */

static struct kube_client *g_bc;
static atomic_int g_bnext, g_bfail;
static int64_t *g_blat;
static struct json_object **g_bbody;
static pthread_barrier_t g_bbar;

static void *burst_main(void *arg)
{
    (void)arg;
    struct kube_err e;
    struct kube_ref ns = {.gv = "v1", .plural = "namespaces", .name = g_ns};
    struct json_object *out = NULL;
    /* Every worker's connection open before the second, as the scheduler's are. */
    if (kube_get(g_bc, &ns, &out, &e) != 0)
        die("GET namespace: HTTP %d %s", e.http, e.message);
    json_object_put(out);
    pthread_barrier_wait(&g_bbar);
    int64_t at_ns = (int64_t)g_at * 1000000000LL;
    while (util_wall_ns() < at_ns) {
        int64_t d = at_ns - util_wall_ns();
        struct timespec ts = {.tv_sec = d / 1000000000LL, .tv_nsec = d % 1000000000LL};
        nanosleep(&ts, NULL);
    }
    struct kube_ref ref = {.gv = OMJOB_GROUP_VERSION, .plural = OMJOB_PLURAL, .ns = g_ns};
    for (int i; (i = atomic_fetch_add(&g_bnext, 1)) < g_n;) {
        out = NULL;
        if (kube_create(g_bc, &ref, g_bbody[i], &out, &e) != 0) {
            fprintf(stderr, "lifecycle_driver: create %d: HTTP %d %s\n", i, e.http, e.message);
            atomic_fetch_add(&g_bfail, 1);
            continue;
        }
        g_blat[i] = util_wall_ns() - at_ns;
        json_object_put(out);
    }
    return NULL;
}

static int cmd_burst(void)
{
    if (g_at <= 0 || g_workers <= 0)
        die("burst needs --at and --workers > 0");
    struct kube_config *cfg = NULL;
    char err[512], at[UTIL_RFC3339_MAX];
    if (kube_config_load(&cfg, err, sizeof(err)) != 0)
        die("kubeconfig: %s", err);
    struct kube_client_opts o = {
        .qps = g_qps, .burst = g_burst, .request_timeout_ms = 120000, .max_idle = g_workers + 1};
    if (kube_client_new(cfg, &o, &g_bc) != 0)
        die("kube_client_new failed");
    util_rfc3339_format((int64_t)g_at * 1000000000LL, 0, at, sizeof(at));
    g_bbody = calloc((size_t)g_n, sizeof(*g_bbody));
    g_blat = calloc((size_t)g_n, sizeof(*g_blat));
    for (int i = 0; i < g_n; i++) {
        char name[64];
        if (json_object_deep_copy(g_tmpl, &g_bbody[i], NULL) != 0)
            die("out of memory");
        snprintf(name, sizeof(name), "%s-%05d", g_prefix, i);
        jx_set_str(g_bbody[i], "metadata.name", name);
        jx_set_str(g_bbody[i], "metadata.annotations.pipelines\\.openmetadata\\.org/scheduled-at",
                   at);
    }
    pthread_t *th = calloc((size_t)g_workers, sizeof(*th));
    pthread_barrier_init(&g_bbar, NULL, (unsigned)g_workers);
    for (int i = 0; i < g_workers; i++)
        if (pthread_create(&th[i], NULL, burst_main, NULL) != 0)
            die("pthread_create");
    for (int i = 0; i < g_workers; i++)
        pthread_join(th[i], NULL);
    int n = 0;
    for (int i = 0; i < g_n; i++)
        if (g_blat[i] > 0)
            g_blat[n++] = g_blat[i];
    summary("burst_created", g_blat, n);
    printf("RESULT burst_failures %d\n", atomic_load(&g_bfail));
    for (int i = 0; i < g_n; i++)
        json_object_put(g_bbody[i]);
    kube_client_free(g_bc); /* and cfg, which it took */
    free(g_bbody);
    free(g_blat);
    free(th);
    return atomic_load(&g_bfail) == 0 ? 0 : 1;
}

/* ---- main ---- */

/* A whole-string integer or number option, or die ("12x" is refused, not read as 12). */
static int opt_int(const char *k, const char *v)
{
    long long n;
    if (util_parse_i64(v, 0, 1000000000, &n) != 0)
        die("%s: expected a non-negative integer, got '%s'", k, v);
    return (int)n;
}

static double opt_num(const char *k, const char *v)
{
    double d;
    if (util_parse_double(v, 0, 1e12, &d) != 0)
        die("%s: expected a non-negative number, got '%s'", k, v);
    return d;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: lifecycle_driver dispatch|throughput|ceiling|fill|populate|burst|strip NS [N] "
            "[options]");
    const char *cmd = argv[1];
    g_ns = argv[2];
    int a = 3;
    if (strcmp(cmd, "strip") != 0) {
        if (argc < 4)
            die("N missing");
        g_n = opt_int("N", argv[3]);
        a = 4;
    }
    for (; a < argc; a++) {
        const char *k = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (v == NULL)
            die("%s needs a value", k);
        a++;
        if (strcmp(k, "--template") == 0)
            g_template = v;
        else if (strcmp(k, "--prefix") == 0)
            g_prefix = v;
        else if (strcmp(k, "--rate") == 0)
            g_rate = opt_num(k, v);
        else if (strcmp(k, "--run-for") == 0)
            g_run_for = v;
        else if (strcmp(k, "--workers") == 0)
            g_workers = opt_int(k, v);
        else if (strcmp(k, "--qps") == 0)
            g_qps = opt_num(k, v);
        else if (strcmp(k, "--burst") == 0)
            g_burst = opt_int(k, v);
        else if (strcmp(k, "--post") == 0)
            g_post = opt_num(k, v);
        else if (strcmp(k, "--patch") == 0)
            g_patch = opt_num(k, v);
        else if (strcmp(k, "--get") == 0)
            g_get = opt_num(k, v);
        else if (strcmp(k, "--dump") == 0)
            g_dump = v;
        else if (strcmp(k, "--timeout") == 0)
            g_timeout = opt_int(k, v);
        else if (strcmp(k, "--from") == 0)
            g_from = opt_int(k, v);
        else if (strcmp(k, "--at") == 0) {
            if (util_parse_i64(v, 1, INT64_MAX / 1000000000LL, &g_at) != 0)
                die("--at: expected Unix seconds, got '%s'", v);
        } else
            die("unknown option %s", k);
    }
    if (strcmp(cmd, "strip") == 0)
        return cmd_strip();
    if (g_n <= 0)
        die("N must be > 0");
    load_template();
    g_jobs = calloc((size_t)g_n, sizeof(*g_jobs));
    if (strcmp(cmd, "dispatch") == 0)
        return cmd_dispatch();
    if (strcmp(cmd, "throughput") == 0)
        return cmd_until(FL_INSTANT);
    if (strcmp(cmd, "fill") == 0) {
        g_want_phase = "ExitHandlerRunning";
        g_want_released = false;
        return cmd_until(FL_PARKED);
    }
    if (strcmp(cmd, "ceiling") == 0)
        return cmd_ceiling();
    if (strcmp(cmd, "populate") == 0)
        return cmd_populate();
    if (strcmp(cmd, "burst") == 0)
        return cmd_burst();
    die("unknown command %s", cmd);
}

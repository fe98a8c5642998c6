/* Benchmark of watch decoding: a deterministic in-memory stream of 10,000 pod
 * watch events (full Pod JSON as the API server sends it, 3-5 KB each, ADDED and
 * MODIFIED) goes through the splitter (in 16 KiB chunks, like libcurl's writes),
 * the event parser and the extraction of what the watcher keeps (namespace, name,
 * uid, resourceVersion, phase, deletionTimestamp, its two labels, terminated exit code and
 * reason). Prints "BENCH watch_decode_throughput <MB/s>" (MB = 10^6 bytes) and
 * "BENCH watch_decode_events <events/s>", the mean over the repetitions, and the
 * CPU time per event parsed whole, with managedFields cut from the text first
 * (what the roles' clients do), and with only the members the watcher's pod cache
 * reads built (wc_pod_keep: what the watcher does with pods), with their ratios to
 * the whole parse; the three checksums of what is extracted must agree. */
#include "lib/kube/watchevent.h"
#include "lib/kube/watchsplit.h"

#include "lib/common/json.h"
#include "lib/common/util.h"
#include "model/labels.h"
#include "model/objects.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS 10000
#define REPS 5
#define CHUNK 16384

/* ---- the data generator ---- */

static uint32_t rng = 2463534242u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            abort();
    }
}

static void gen_metadata(struct buf *b, int i, int rv, bool deleting)
{
    int job = i / 2;
    put(b,
        "\"metadata\":{\"name\":\"ingest-%06d-%s\",\"namespace\":\"team-%02d\",\"uid\":"
        "\"%08x-%04x-4%03x-8%03x-%012x\",\"resourceVersion\":\"%d\",\"creationTimestamp\":"
        "\"2026-11-25T09:%02d:%02dZ\",",
        job, i % 2 ? "exit" : "main", job % 40, (unsigned)job * 2654435761u, i & 0xffff, i & 0xfff,
        (i * 7) & 0xfff, (unsigned)i * 40503u, rv, (i / 60) % 60, i % 60);
    if (deleting)
        put(b, "\"deletionTimestamp\":\"2026-11-25T10:00:00Z\",\"deletionGracePeriodSeconds\":30,");
    put(b,
        "\"labels\":{\"app.kubernetes.io/name\":\"openmetadata-ingestion\","
        "\"app.kubernetes.io/managed-by\":\"omjob-operator\",\"omjob.pipelines.openmetadata."
        "org/name\":\"ingest-%06d\",\"omjob.pipelines.openmetadata.org/pod-type\":\"%s\","
        "\"pipeline-id\":\"%u\"},",
        job, i % 2 ? "exit-handler" : "main", next() % 100000);
    put(b,
        "\"annotations\":{\"openmetadata.org/pipeline\":\"mysql_metadata_%d\","
        "\"kubectl.kubernetes.io/default-container\":\"main\"},",
        job % 97);
    put(b,
        "\"ownerReferences\":[{\"apiVersion\":\"pipelines.openmetadata.org/v1\",\"kind\":"
        "\"OMJob\",\"name\":\"ingest-%06d\",\"uid\":\"%08x-1111-4222-8333-444455556666\","
        "\"controller\":true,\"blockOwnerDeletion\":true}],"
        "\"finalizers\":[\"pipelines.openmetadata.org/tracking\"],",
        job, (unsigned)job * 2246822519u);
    put(b, "\"managedFields\":[{\"manager\":\"omjob-operator\",\"operation\":\"Update\","
           "\"apiVersion\":\"v1\",\"time\":\"2026-11-25T09:00:00Z\",\"fieldsType\":\"FieldsV1\","
           "\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},\"v:\\\"pipelines."
           "openmetadata.org/tracking\\\"\":{}},\"f:labels\":{\".\":{},\"f:app.kubernetes.io/"
           "name\":{},\"f:pipeline-id\":{}},\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":"
           "\\\"x\\\"}\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"main\\\"}\":"
           "{\".\":{},\"f:args\":{},\"f:env\":{},\"f:image\":{},\"f:name\":{},\"f:resources\":"
           "{}}},\"f:restartPolicy\":{}}}},{\"manager\":\"kubelet\",\"operation\":\"Update\","
           "\"apiVersion\":\"v1\",\"time\":\"2026-11-25T09:01:00Z\",\"fieldsType\":\"FieldsV1\","
           "\"fieldsV1\":{\"f:status\":{\"f:conditions\":{},\"f:containerStatuses\":{},"
           "\"f:hostIP\":{},\"f:phase\":{},\"f:podIP\":{},\"f:startTime\":{}}},"
           "\"subresource\":\"status\"}]},");
}

static void gen_spec(struct buf *b, int i)
{
    put(b,
        "\"spec\":{\"restartPolicy\":\"Never\",\"serviceAccountName\":\"ingestion\","
        "\"volumes\":[{\"name\":\"config\",\"secret\":{\"secretName\":\"ingest-%06d\"}},"
        "{\"name\":\"kube-api-access\",\"projected\":{\"sources\":[{\"serviceAccountToken\":"
        "{\"expirationSeconds\":3607,\"path\":\"token\"}}],\"defaultMode\":420}}],"
        "\"containers\":[{\"name\":\"main\",\"image\":\"docker.getcollate.io/openmetadata/"
        "ingestion-base:1.5.%d\",\"command\":[\"python\",\"main.py\"],\"args\":[\"--config\","
        "\"/etc/omd/config.yaml\"],\"env\":[",
        i / 2, i % 10);
    static const char *const env[] = {
        "pipelineType", "pipelineRunId", "config",           "serverHost",
        "jwtToken",     "LOG_LEVEL",     "PYTHONUNBUFFERED", "TZ"};
    for (int k = 0; k < 8; k++)
        put(b, "%s{\"name\":\"%s\",\"value\":\"value-%u-%d\"}", k ? "," : "", env[k], next(), k);
    put(b,
        "],\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"4Gi\"},\"requests\":{\"cpu\":"
        "\"500m\",\"memory\":\"1Gi\"}},\"volumeMounts\":[{\"name\":\"config\",\"mountPath\":"
        "\"/etc/omd\",\"readOnly\":true},{\"name\":\"kube-api-access\",\"mountPath\":\"/var/"
        "run/secrets/kubernetes.io/serviceaccount\",\"readOnly\":true}],"
        "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":"
        "\"File\",\"imagePullPolicy\":\"IfNotPresent\",\"securityContext\":{\"runAsNonRoot\":"
        "true,\"allowPrivilegeEscalation\":false}}],\"nodeName\":\"node-%02d\","
        "\"schedulerName\":\"default-scheduler\",\"tolerations\":[{\"key\":\"node.kubernetes."
        "io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":"
        "300},{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":"
        "\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,\"enableServiceLinks\":true},",
        i % 50);
}

static void gen_status(struct buf *b, int i, const char *phase, int exit_code)
{
    put(b, "\"status\":{\"phase\":\"%s\",\"conditions\":[", phase);
    static const char *const conds[] = {"Initialized", "Ready", "ContainersReady", "PodScheduled"};
    for (int k = 0; k < 4; k++)
        put(b,
            "%s{\"type\":\"%s\",\"status\":\"%s\",\"lastProbeTime\":null,"
            "\"lastTransitionTime\":\"2026-11-25T09:0%d:00Z\"}",
            k ? "," : "", conds[k], exit_code < 0 ? "True" : "False", k);
    put(b,
        "],\"hostIP\":\"10.0.%d.%d\",\"podIP\":\"10.244.%d.%d\",\"startTime\":"
        "\"2026-11-25T09:00:01Z\",\"containerStatuses\":[{\"name\":\"main\",\"ready\":%s,"
        "\"restartCount\":0,\"image\":\"docker.getcollate.io/openmetadata/ingestion-base:1.5\","
        "\"imageID\":\"docker.getcollate.io/openmetadata/ingestion-base@sha256:%08x%08x\","
        "\"containerID\":\"containerd://%08x%08x\",\"started\":%s,\"state\":{",
        i % 50, i % 250, i % 200, i % 250, exit_code < 0 ? "true" : "false", next(), next(), next(),
        next(), exit_code < 0 ? "true" : "false");
    if (exit_code < 0)
        put(b, "\"running\":{\"startedAt\":\"2026-11-25T09:00:05Z\"}");
    else
        put(b,
            "\"terminated\":{\"exitCode\":%d,\"reason\":\"%s\",\"startedAt\":"
            "\"2026-11-25T09:00:05Z\",\"finishedAt\":\"2026-11-25T09:20:05Z\",\"containerID\":"
            "\"containerd://%08x\"}",
            exit_code,
            exit_code == 0     ? "Completed"
            : exit_code == 137 ? "OOMKilled"
                               : "Error",
            next());
    put(b, "}}],\"qosClass\":\"Burstable\"}");
}

static void gen_event(struct buf *b, int i)
{
    static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed"};
    int p = (int)(next() % 4);
    int exit_code = p < 2 ? -1 : p == 2 ? 0 : (next() % 2 ? 1 : 137);
    put(b, "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",",
        i % 3 == 0 ? "ADDED" : "MODIFIED");
    gen_metadata(b, i, 100000 + i, next() % 10 == 0);
    gen_spec(b, i);
    gen_status(b, i, phases[p], exit_code);
    put(b, "}}\n");
}

/* ---- the decoder under test ---- */

/* What the watcher keeps of a pod (compact, as in the cache). */
struct pod {
    char ns[64], name[254], uid[40], rv[24], phase[16], deletion[32];
    char labels[512];
    int exit_code;
    char reason[32];
};

struct run {
    struct kube_evparser *p;
    unsigned long events, errors;
    uint64_t check;
};

static void copy(char *dst, size_t cap, const char *s)
{
    util_strlcpy(dst, s ? s : "", cap);
}

/* The two labels the watcher reads. */
static void extract_labels(struct pod *pd, struct json_object *labels)
{
    static const char *const names[] = {LABEL_OMJOB_NAME, LABEL_POD_TYPE};
    size_t n = 0;
    pd->labels[0] = '\0';
    if (labels == NULL || !json_object_is_type(labels, json_type_object))
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct json_object *v;
        if (!json_object_object_get_ex(labels, names[i], &v))
            continue;
        int w = snprintf(pd->labels + n, sizeof(pd->labels) - n, "%s=%s,", names[i],
                         json_object_get_string(v));
        if (w < 0 || (size_t)w >= sizeof(pd->labels) - n)
            break;
        n += (size_t)w;
    }
}

static void extract_terminated(struct pod *pd, struct json_object *status)
{
    pd->exit_code = -1;
    pd->reason[0] = '\0';
    struct json_object *cs = jx_get(status, "containerStatuses");
    size_t n = cs && json_object_is_type(cs, json_type_array) ? json_object_array_length(cs) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = jx_get(json_object_array_get_idx(cs, i), "state.terminated");
        if (t == NULL)
            continue;
        pd->exit_code = json_object_get_int(jx_get(t, "exitCode"));
        copy(pd->reason, sizeof(pd->reason), jx_str(t, "reason"));
    }
}

static int on_line(void *ctx, enum kube_wsplit_what what, const char *line, size_t len)
{
    struct run *r = ctx;
    struct kube_event ev;
    if (what != KUBE_WSPLIT_LINE || kube_evparser_parse(r->p, line, len, &ev) != 0) {
        r->errors++;
        return 0;
    }
    struct pod pd;
    struct json_object *o = ev.object;
    copy(pd.ns, sizeof(pd.ns), jx_str(o, "metadata.namespace"));
    copy(pd.name, sizeof(pd.name), jx_str(o, "metadata.name"));
    copy(pd.uid, sizeof(pd.uid), jx_str(o, "metadata.uid"));
    copy(pd.rv, sizeof(pd.rv), ev.resource_version);
    copy(pd.phase, sizeof(pd.phase), jx_str(o, "status.phase"));
    copy(pd.deletion, sizeof(pd.deletion), jx_str(o, "metadata.deletionTimestamp"));
    extract_labels(&pd, jx_get(o, "metadata.labels"));
    extract_terminated(&pd, jx_get(o, "status"));
    r->check += (uint64_t)strlen(pd.name) + (uint64_t)pd.exit_code + (uint64_t)strlen(pd.labels) +
                (uint64_t)(pd.deletion[0] != '\0') + (uint64_t)pd.phase[0];
    r->events++;
    kube_event_clear(&ev);
    return 0;
}

static double now_s(void)
{
    return (double)util_mono_ns() / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    struct buf b = {malloc(1 << 20), 0, 1 << 20};
    for (int i = 0; i < EVENTS; i++)
        gen_event(&b, i);
    printf("stream: %d events, %zu bytes (%.0f bytes/event)\n", EVENTS, b.len,
           (double)b.len / EVENTS);
    struct run r = {0};
    struct kube_wsplit *s;
    if (kube_evparser_new(&r.p) != 0 || kube_wsplit_new(0, &s) != 0)
        return 1;
    /* Three times: events parsed whole, then with managedFields cut from the text
     * first (kube_client_opts.drop_managed_fields, what every role does), then
     * with only wc_pod_keep's members (the watcher's pods); the thread's CPU time,
     * which load on the machine does not inflate. */
    double cpu[3] = {0, 0, 0};
    uint64_t check0 = 0;
    static const char *const mode[3] = {"", "_without_managed_fields", "_pod_members_only"};
    for (int drop = 0; drop < 3; drop++) {
        double total = 0;
        r.events = r.errors = 0;
        r.check = 0;
        kube_evparser_drop_managed_fields(r.p, drop == 1);
        kube_evparser_keep(r.p, drop == 2 ? wc_pod_keep : NULL);
        for (int rep = 0; rep < REPS; rep++) {
            double t0 = now_s(), c0 = cpu_s();
            for (size_t off = 0; off < b.len; off += CHUNK)
                kube_wsplit_feed(s, b.p + off, b.len - off < CHUNK ? b.len - off : CHUNK, on_line,
                                 &r);
            kube_wsplit_finish(s, on_line, &r);
            total += now_s() - t0;
            cpu[drop] += cpu_s() - c0;
        }
        if (r.events != (unsigned long)EVENTS * REPS || r.errors != 0) {
            fprintf(stderr, "decoded %lu events, %lu errors\n", r.events, r.errors);
            return 1;
        }
        if (drop == 0)
            check0 = r.check;
        else if (r.check != check0) {
            fprintf(stderr, "checksum %llu, parsed whole %llu\n", (unsigned long long)r.check,
                    (unsigned long long)check0);
            return 1;
        }
        printf("checksum %llu, %d repetitions in %.3f s (CPU %.3f s)%s\n",
               (unsigned long long)r.check, REPS, total, cpu[drop],
               drop == 1   ? ", managedFields cut"
               : drop == 2 ? ", pod members only"
                           : "");
        if (drop == 0) {
            printf("BENCH watch_decode_throughput %.1f MB/s\n", (double)b.len * REPS / total / 1e6);
            printf("BENCH watch_decode_events %.0f events/s\n", (double)EVENTS * REPS / total);
        }
        printf("BENCH watch_decode_cpu_us_per_event%s %.2f us\n", mode[drop],
               cpu[drop] * 1e6 / ((double)EVENTS * REPS));
    }
    printf("BENCH watch_decode_without_managed_fields_cpu_ratio %.3f ratio\n", cpu[1] / cpu[0]);
    printf("BENCH watch_decode_pod_members_only_cpu_ratio %.3f ratio\n", cpu[2] / cpu[0]);
    printf("BENCH watch_decode_pod_members_only_vs_without_managed_fields_cpu_ratio %.3f ratio\n",
           cpu[2] / cpu[1]);
    kube_wsplit_free(s);
    kube_evparser_free(r.p);
    free(b.p);
    return 0;
}

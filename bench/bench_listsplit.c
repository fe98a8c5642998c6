/* Benchmark of LIST decoding memory: one LIST page of 40 OMJobs carrying a 1 MB
 * inline config each and 200 ordinary 3 KB ones (about 41 MB), fed in 16 KiB
 * chunks (like libcurl's writes) two ways, each in a child process of its own:
 *   whole     the body kept whole and parsed by json-c (kube_list before issue 13)
 *   streamed  listsplit cutting out one item at a time, json-c per item, each tree
 *             freed before the next (kube_list now)
 * Prints "BENCH list_decode_peak_{whole,streamed}_mib" (the child's peak RSS
 * growth while decoding, VmHWM after minus VmRSS before, with the page already
 * in memory), "BENCH list_decode_peak_ratio" (streamed / whole) and "BENCH
 * list_decode_streamed_throughput" (MB/s, MB = 10^6 bytes). */
#include "lib/kube/listsplit.h"

#include "lib/common/json.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG 40
#define SMALL 200
#define BIG_BYTES 1000000
#define CHUNK 16384

struct buf {
    char *p;
    size_t len, cap;
};

static void add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            exit(2);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void adds(struct buf *b, const char *s)
{
    add(b, s, strlen(s));
}

static void gen_item(struct buf *b, int i, size_t cfg)
{
    char h[1024];
    snprintf(h, sizeof(h),
             "{\"apiVersion\":\"pipelines.openmetadata.org/v1\",\"kind\":\"OMJob\",\"metadata\":{"
             "\"name\":\"job-%d\",\"namespace\":\"ns-%d\",\"uid\":\"%08x-0000-4000-8000-%012d\","
             "\"resourceVersion\":\"%d\",\"generation\":1,\"creationTimestamp\":"
             "\"2026-11-25T09:00:00Z\",\"labels\":{\"app.kubernetes.io/name\":\"ingestion\","
             "\"pipeline\":\"p%d\"}},\"spec\":{\"mainPodSpec\":{\"image\":\"openmetadata/"
             "ingestion-base:1.5.%d\",\"command\":[\"python\",\"main.py\"],\"env\":[",
             i, i % 7, (unsigned)i * 2654435761u, i, 1000 + i, i, i % 10);
    adds(b, h);
    if (cfg > 0) {
        adds(b, "{\"name\":\"config\",\"value\":\"");
        for (size_t k = 0; k < cfg; k++)
            add(b, &"abcdefghijklmnopqrstuvwxyz0123456789+/"[(k * 7 + (size_t)i) % 38], 1);
        adds(b, "\"}");
    } else {
        for (int k = 0; k < 40; k++) {
            snprintf(h, sizeof(h), "%s{\"name\":\"VAR_%d\",\"value\":\"value-%d-%d\"}",
                     k ? "," : "", k, i, k);
            adds(b, h);
        }
    }
    adds(b,
         "]},\"exitHandlerSpec\":{\"image\":\"busybox\"}},\"status\":{\"phase\":\"Succeeded\"}}");
}

static long vm(const char *field)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0)
            kb = strtol(line + strlen(field), NULL, 10);
    fclose(f);
    return kb;
}

static size_t seen;

static int on_item(void *ctx, enum kube_lsplit_what what, const char *item, size_t len)
{
    struct json_object *o = NULL;
    (void)ctx;
    if (what == KUBE_LSPLIT_ITEM && jx_parse(item, len, &o, NULL, 0) == 0 && o != NULL)
        seen += jx_str(o, "metadata.name") != NULL;
    json_object_put(o);
    return 0;
}

static void whole(const struct buf *page)
{
    struct buf body = {0};
    struct json_object *o = NULL;
    for (size_t off = 0; off < page->len; off += CHUNK)
        add(&body, page->p + off, page->len - off < CHUNK ? page->len - off : CHUNK);
    if (jx_parse(body.p, body.len, &o, NULL, 0) != 0 || o == NULL)
        exit(3);
    free(body.p);
    struct json_object *items = jx_get(o, "items");
    for (size_t i = 0; i < json_object_array_length(items); i++)
        seen += jx_str(json_object_array_get_idx(items, i), "metadata.name") != NULL;
    json_object_put(o);
}

static void streamed(const struct buf *page)
{
    struct kube_lsplit *s;
    const char *rest;
    size_t rl;
    if (kube_lsplit_new(0, 0, &s) != 0)
        exit(2);
    for (size_t off = 0; off < page->len; off += CHUNK)
        if (kube_lsplit_feed(s, page->p + off, page->len - off < CHUNK ? page->len - off : CHUNK,
                             on_item, NULL) != 0)
            exit(3);
    if (kube_lsplit_finish(s, &rest, &rl) != 0)
        exit(3);
    kube_lsplit_free(s);
}

/* Runs fn in a child; its peak RSS growth in KiB and seconds through a pipe. */
static void measure(void (*fn)(const struct buf *), const struct buf *page, double *mib,
                    double *secs)
{
    int fd[2];
    double r[2] = {0, 0};
    if (pipe(fd) != 0)
        exit(2);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec a, b;
        long before = vm("VmRSS:");
        clock_gettime(CLOCK_MONOTONIC, &a);
        fn(page);
        clock_gettime(CLOCK_MONOTONIC, &b);
        r[0] = (double)(vm("VmHWM:") - before) / 1024.0;
        r[1] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        if (seen != BIG + SMALL || write(fd[1], r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], r, sizeof(r)) != (ssize_t)sizeof(r)) {
        fprintf(stderr, "# child failed\n");
        exit(1);
    }
    close(fd[0]);
    waitpid(pid, NULL, 0);
    *mib = r[0];
    *secs = r[1];
}

int main(void)
{
    struct buf page = {0};
    adds(&page, "{\"kind\":\"OMJobList\",\"apiVersion\":\"pipelines.openmetadata.org/v1\","
                "\"metadata\":{\"resourceVersion\":\"99\"},\"items\":[");
    for (int i = 0; i < BIG + SMALL; i++) {
        if (i > 0)
            adds(&page, ",");
        gen_item(&page, i, i % 6 == 0 && i / 6 < BIG ? BIG_BYTES : 0);
    }
    adds(&page, "]}");
    double wm, ws, sm, ss;
    measure(whole, &page, &wm, &ws);
    measure(streamed, &page, &sm, &ss);
    fprintf(stderr, "# page %.1f MB, %d items (%d of %d bytes); whole %.2f s, streamed %.2f s\n",
            (double)page.len / 1e6, BIG + SMALL, BIG, BIG_BYTES, ws, ss);
    printf("BENCH list_decode_peak_whole_mib %.1f MiB\n", wm);
    printf("BENCH list_decode_peak_streamed_mib %.1f MiB\n", sm);
    printf("BENCH list_decode_peak_ratio %.3f\n", wm > 0 ? sm / wm : 0.0);
    printf("BENCH list_decode_streamed_throughput %.1f MB/s\n", (double)page.len / ss / 1e6);
    free(page.p);
    return 0;
}

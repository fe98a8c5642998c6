/* Fuzz target for the watch stream: the splitter and the event parser fed
 * arbitrary bytes in an arbitrary chunking. The first 4 input bytes choose the
 * maximum line size, whether managedFields are cut from each line before it is
 * parsed (bit 31: jx_find_member's scan on arbitrary text, under the sanitizers) and seed the chunk
 * sizes; the rest is the stream. */
#include "lib/kube/watchevent.h"
#include "lib/kube/watchsplit.h"

#include "lib/common/json.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    struct kube_evparser *p;
    size_t max;
    bool drop;
    unsigned long lines;
};

static int on_line(void *ctx, enum kube_wsplit_what what, const char *line, size_t len)
{
    struct fz *f = ctx;
    if (what == KUBE_WSPLIT_OVERSIZE) {
        if (line != NULL || len != f->max)
            abort();
        return 0;
    }
    if (len == 0 || len > f->max || memchr(line, '\n', len) != NULL)
        abort();
    f->lines++;
    struct kube_event ev;
    if (kube_evparser_parse(f->p, line, len, &ev) != 0)
        return 0;
    if (ev.object == NULL || strcmp(kube_ev_type_str(ev.type), "UNKNOWN") == 0)
        abort();
    if (ev.resource_version != NULL)
        (void)strlen(ev.resource_version);
    if (ev.type == KUBE_EV_ERROR) {
        (void)kube_event_is_expired(&ev);
        if (strlen(ev.status.reason) >= sizeof(ev.status.reason))
            abort();
    }
    (void)jx_str(ev.object, "metadata.name");
    kube_event_clear(&ev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint32_t seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                    (uint32_t)data[3] << 24;
    data += 4;
    size -= 4;
    struct fz f = {0};
    f.max = (seed & 0xff) == 0 ? KUBE_WSPLIT_MAX_DEFAULT : 1 + (seed & 0xfff);
    struct kube_wsplit *s = NULL;
    if (kube_evparser_new(&f.p) != 0 || kube_wsplit_new(f.max, &s) != 0)
        abort();
    f.drop = (seed >> 31) != 0;
    kube_evparser_drop_managed_fields(f.p, f.drop);
    uint32_t x = seed | 1;
    for (size_t off = 0; off < size;) {
        x ^= x << 13; /* xorshift32 picks chunk sizes of 1..257 */
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = 1 + (x % 257);
        if (n > size - off)
            n = size - off;
        if (kube_wsplit_feed(s, (const char *)data + off, n, on_line, &f) != 0)
            abort();
        if (kube_wsplit_pending(s) > f.max)
            abort();
        off += n;
    }
    if (kube_wsplit_finish(s, on_line, &f) != 0 || kube_wsplit_pending(s) != 0)
        abort();
    kube_wsplit_free(s);
    kube_evparser_free(f.p);
    return 0;
}

/* Fuzz target for jx_parser_parse_keep, with its oracle: arbitrary bytes as a JSON
 * text, projected by the watcher's pod members (wc_pod_keep's shape, written out
 * here: the fuzz targets link the libraries under model/ only through lib/). When
 * json-c parses the whole text into an object, the projection must succeed and
 * equal that tree pruned (jx_keep_prune); otherwise it may fail or succeed (what it
 * cuts is not validated), never crash or leak. */
#include "lib/common/json.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jx_keep meta[] = {
    {"name", NULL},       {"namespace", NULL},       {"uid", NULL}, {"labels", NULL},
    {"finalizers", NULL}, {"ownerReferences", NULL}, {NULL, NULL}};
static const struct jx_keep ctr[] = {{"name", NULL}, {NULL, NULL}};
static const struct jx_keep spec[] = {{"nodeName", NULL}, {"containers", ctr}, {NULL, NULL}};
static const struct jx_keep pod[] = {
    {"metadata", meta}, {"spec", spec}, {"status", NULL}, {"code", NULL}, {NULL, NULL}};
static const struct jx_keep event[] = {{"type", NULL}, {"object", pod}, {NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct jx_parser *p;
    if (p == NULL && jx_parser_new(&p) != 0)
        abort();
    const char *text = (const char *)data;
    const struct jx_keep *keep = size > 0 && (data[0] & 1) ? event : pod;
    struct json_object *whole = NULL, *kept = NULL;
    int rw = jx_parse(text, size, &whole, NULL, 0);
    int rk = jx_parser_parse_keep(p, text, size, keep, &kept, NULL, 0);
    if (rw == 0 && json_object_is_type(whole, json_type_object)) {
        if (rk != 0)
            abort();
        jx_keep_prune(whole, keep);
        if (!json_object_equal(whole, kept))
            abort();
    }
    if (rk == 0 && kept == NULL && !(rw == 0 && whole == NULL))
        abort();
    json_object_put(whole);
    json_object_put(kept);
    return 0;
}

/* Splits a LIST response body (one JSON object arriving in arbitrary chunks) into
 * its items, one at a time, without parsing the whole document: memory is bounded
 * by the largest item (at most max_item bytes) plus the rest of the document
 * (kind, apiVersion, metadata; at most max_rest bytes). Pure: no I/O, no JSON
 * library. Only the structure is checked (strings, escapes, nesting); an item that
 * is balanced but not valid JSON is still delivered, for the caller's parser to
 * reject on its own. An item longer than max_item is reported as
 * KUBE_LSPLIT_OVERSIZE (its first max_item bytes, for a lenient look at its
 * identity) and its other bytes are dropped. */
#ifndef OMJOB_LIB_KUBE_LISTSPLIT_H
#define OMJOB_LIB_KUBE_LISTSPLIT_H

#include <stddef.h>

#define KUBE_LSPLIT_ITEM_MAX_DEFAULT ((size_t)16 << 20)
#define KUBE_LSPLIT_REST_MAX_DEFAULT ((size_t)1 << 20)

struct kube_lsplit;

enum kube_lsplit_what {
    KUBE_LSPLIT_ITEM,     /* item/len: one element of "items", as raw JSON text */
    KUBE_LSPLIT_OVERSIZE, /* item/len: the first max_item bytes of a longer element */
};

const char *kube_lsplit_what_str(enum kube_lsplit_what w);

/* Called for every element of the top-level "items" array; item is borrowed for
 * the call only. Return 0 to go on; any other value stops kube_lsplit_feed, which
 * returns it (reset the splitter before feeding again). */
typedef int (*kube_lsplit_cb)(void *ctx, enum kube_lsplit_what what, const char *item, size_t len);

/* max_item / max_rest 0 mean the defaults. 0 or -ENOMEM. */
int kube_lsplit_new(size_t max_item, size_t max_rest, struct kube_lsplit **out);
void kube_lsplit_free(struct kube_lsplit *s);

/* Feeds len bytes. Returns 0, the callback's nonzero value, -EBADMSG (not a JSON
 * object, or broken structure: the splitter stays failed until reset), -E2BIG (the
 * document outside the items exceeds max_rest) or -ENOMEM. */
int kube_lsplit_feed(struct kube_lsplit *s, const char *data, size_t len, kube_lsplit_cb cb,
                     void *ctx);

/* End of the body: 0 when the document was complete, with *rest (borrowed until
 * the next feed or reset) the document without the items' contents
 * ({"kind":...,"metadata":{...},"items":[]}), for the caller to parse; -EBADMSG when
 * it was truncated or broken. */
int kube_lsplit_finish(struct kube_lsplit *s, const char **rest, size_t *rest_len);

/* Back to the start of a document. */
void kube_lsplit_reset(struct kube_lsplit *s);

/* Items delivered / reported oversize since the last reset. */
unsigned long kube_lsplit_items(const struct kube_lsplit *s);
unsigned long kube_lsplit_oversize(const struct kube_lsplit *s);

/* Bytes held now (item buffer and rest), for tests and memory accounting. */
size_t kube_lsplit_held(const struct kube_lsplit *s);

#endif

/* Splits a watch stream (newline-delimited JSON arriving in arbitrary chunks) into
 * complete lines. Pure: no I/O, no JSON. Memory is bounded by the maximum line
 * size: a longer line is reported as KUBE_WSPLIT_OVERSIZE once, its bytes are
 * dropped, and splitting resumes after its newline. */
#ifndef OMJOB_LIB_KUBE_WATCHSPLIT_H
#define OMJOB_LIB_KUBE_WATCHSPLIT_H

#include <stddef.h>

#define KUBE_WSPLIT_MAX_DEFAULT ((size_t)16 << 20)

struct kube_wsplit;

enum kube_wsplit_what {
    KUBE_WSPLIT_LINE,     /* line/len: one line, without its "\n" (or "\r\n") */
    KUBE_WSPLIT_OVERSIZE, /* a line exceeded the maximum; line is NULL, len the max */
};

const char *kube_wsplit_what_str(enum kube_wsplit_what w);

/* Called for every complete non-empty line; line is borrowed for the call only.
 * Return 0 to go on; any other value stops kube_wsplit_feed, which returns it (the
 * rest of that chunk is dropped: reset the splitter before feeding again). */
typedef int (*kube_wsplit_cb)(void *ctx, enum kube_wsplit_what what, const char *line, size_t len);

/* max_line 0 means KUBE_WSPLIT_MAX_DEFAULT. 0 or -ENOMEM; *out freed with
 * kube_wsplit_free. */
int kube_wsplit_new(size_t max_line, struct kube_wsplit **out);
void kube_wsplit_free(struct kube_wsplit *s);

/* Feeds len bytes. Lines that are complete inside data are passed without copying;
 * a partial line is buffered until its newline arrives. Returns 0, the callback's
 * nonzero value, or -ENOMEM (the splitter is then reset). */
int kube_wsplit_feed(struct kube_wsplit *s, const char *data, size_t len, kube_wsplit_cb cb,
                     void *ctx);

/* End of stream: a pending unterminated line is delivered as a line (a stream cut
 * mid-line gives a truncated line, which the JSON parser rejects). Then resets. */
int kube_wsplit_finish(struct kube_wsplit *s, kube_wsplit_cb cb, void *ctx);

/* Drops any pending partial line and leaves oversize mode. */
void kube_wsplit_reset(struct kube_wsplit *s);

/* Bytes of the pending partial line (0 in oversize mode). */
size_t kube_wsplit_pending(const struct kube_wsplit *s);

/* Lines dropped as oversize since creation. */
unsigned long kube_wsplit_oversize_count(const struct kube_wsplit *s);

#endif

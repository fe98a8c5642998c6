/* Parser for one watch event line: {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
 * "object": {...}}. An ERROR event's object is a Status, decoded into a kube_err. */
#ifndef OMJOB_LIB_KUBE_WATCHEVENT_H
#define OMJOB_LIB_KUBE_WATCHEVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/kube/err.h"

struct json_object;
struct jx_keep;

enum kube_ev_type {
    KUBE_EV_ADDED,
    KUBE_EV_MODIFIED,
    KUBE_EV_DELETED,
    KUBE_EV_BOOKMARK, /* object carries only metadata.resourceVersion (and kind) */
    KUBE_EV_ERROR,    /* object is a Status: see status */
};

const char *kube_ev_type_str(enum kube_ev_type t);

struct kube_event {
    enum kube_ev_type type;
    /* The event's object, borrowed: valid until kube_event_clear(). Take a
     * reference (json_object_get) to keep it longer. */
    struct json_object *object;
    /* object.metadata.resourceVersion, borrowed like object; NULL when absent. */
    const char *resource_version;
    /* ERROR events: the Status (http is its code, e.g. 410); otherwise cleared. */
    struct kube_err status;
    /* With kube_evparser_cut: the text of the member cut from the object (its
     * value, within the line parsed: borrowed like object), NULL when the object
     * has no such member. */
    const char *cut;
    size_t cut_len;
    struct json_object *ev_root; /* owned; released by kube_event_clear */
};

/* A reusable parser (keeps one JSON tokener). Not thread-safe. */
struct kube_evparser;

int kube_evparser_new(struct kube_evparser **out);
void kube_evparser_free(struct kube_evparser *p);
/* With on, each event's object comes without metadata.managedFields, cut from the
 * line before json-c parses it (jx_parser_parse_without). Off by default. */
void kube_evparser_drop_managed_fields(struct kube_evparser *p, bool on);

/* With keep (NULL: off, the default), each event's object comes with only the
 * members keep names, the rest cut from the line unbuilt (jx_parser_parse_keep;
 * managedFields too unless keep names it). keep must outlive the parser's use. */
void kube_evparser_keep(struct kube_evparser *p, const struct jx_keep *keep);

/* With member (NULL: off, the default), that member of each event's object (e.g.
 * "spec") is cut from the line before json-c sees it, and the event points at its
 * text (kube_event.cut): a caller that already holds it parses nothing, one that
 * does not parses it (jx_parser_parse). Not with a keep (which wins). member must
 * outlive the parser's use. */
void kube_evparser_cut(struct kube_evparser *p, const char *member);

/* Parses one line. 0 and *ev filled (release with kube_event_clear), or -EBADMSG
 * when the line is not exactly one JSON object with a known string "type" and an
 * object "object" (ev untouched). */
int kube_evparser_parse(struct kube_evparser *p, const char *line, size_t len,
                        struct kube_event *ev);

/* Releases the event's JSON. Safe on a zeroed or already cleared event. */
void kube_event_clear(struct kube_event *ev);

/* True when the event tells the client its resourceVersion is no longer usable and
 * it must relist: an ERROR with code 410 (Gone/Expired), or the "Too large resource
 * version" timeout (504) that client-go also answers with a relist. */
bool kube_event_is_expired(const struct kube_event *ev);

/* The same test for a failed request (HTTP 410, or 504 "Too large resource
 * version"). */
bool kube_err_is_expired(const struct kube_err *e);

#endif

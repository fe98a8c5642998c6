/* Watch event decoding: one JSON line to a typed event. */
#include "lib/kube/watchevent.h"
#include "lib/kube/internal.h"

#include "lib/common/json.h"
#include "lib/common/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct kube_evparser {
    struct jx_parser *ep_json; /* one json-c tokener for the whole stream */
    bool ep_drop;              /* object.metadata.managedFields cut before parsing */
    struct jx_keep ep_keep[3]; /* with a keep: type, and object by it */
    const char *ep_cut;        /* kube_evparser_cut's member, or NULL */
    char *ep_buf;              /* the line without it */
    size_t ep_cap;
};

/* A buffer for the line without the cut member larger than this is not kept for
 * a much shorter line. */
#define EVPARSER_BUF_KEEP (256 * 1024)

static const char *const type_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *kube_ev_type_str(enum kube_ev_type t)
{
    if ((unsigned)t > KUBE_EV_ERROR)
        return "UNKNOWN";
    return type_names[t];
}

int kube_evparser_new(struct kube_evparser **out)
{
    struct kube_evparser *p = calloc(1, sizeof(*p));
    if (p == NULL || jx_parser_new(&p->ep_json) != 0) {
        free(p);
        return -ENOMEM;
    }
    *out = p;
    return 0;
}

void kube_evparser_drop_managed_fields(struct kube_evparser *p, bool on)
{
    p->ep_drop = on;
}

void kube_evparser_keep(struct kube_evparser *p, const struct jx_keep *keep)
{
    if (keep == NULL) {
        p->ep_keep[0].k_name = NULL;
        return;
    }
    p->ep_keep[0] = (struct jx_keep){"type", NULL};
    p->ep_keep[1] = (struct jx_keep){"object", keep};
    p->ep_keep[2] = (struct jx_keep){NULL, NULL};
}

void kube_evparser_cut(struct kube_evparser *p, const char *member)
{
    p->ep_cut = member;
}

void kube_evparser_free(struct kube_evparser *p)
{
    if (p == NULL)
        return;
    free(p->ep_buf);
    jx_parser_free(p->ep_json);
    free(p);
}

static int type_of(const char *s, enum kube_ev_type *t)
{
    for (int i = 0; i <= KUBE_EV_ERROR; i++) {
        if (strcmp(s, type_names[i]) == 0) {
            *t = (enum kube_ev_type)i;
            return 0;
        }
    }
    return -EBADMSG;
}

static void fill_status(struct kube_event *ev)
{
    kube_err_clear(&ev->status);
    ev->status.kind = KUBE_ERRK_HTTP;
    /* http 0 makes the Status's own code count. */
    if (kube_err_from_status_json(&ev->status, ev->object) != 0)
        util_strlcpy(ev->status.reason, "Unknown", sizeof(ev->status.reason));
}

/* line without object.<ep_cut> into ep_buf: its value's text in *cut, *cut_len
 * (NULL when the object has no such member, and the line is left as it is).
 * -ENOMEM. */
static int cut_member(struct kube_evparser *p, const char **line, size_t *len, const char **cut,
                      size_t *cut_len)
{
    const char *path[] = {"object", p->ep_cut};
    size_t off, n, voff, vlen;
    *cut = NULL;
    *cut_len = 0;
    if (!jx_find_value(*line, *len, path, 2, &off, &n, &voff, &vlen))
        return 0;
    if (*len - n > p->ep_cap || (p->ep_cap > EVPARSER_BUF_KEEP && *len - n < p->ep_cap / 4)) {
        char *b = malloc(*len - n + 1);
        if (b == NULL)
            return -ENOMEM;
        free(p->ep_buf);
        p->ep_buf = b;
        p->ep_cap = *len - n + 1;
    }
    memcpy(p->ep_buf, *line, off);
    memcpy(p->ep_buf + off, *line + off + n, *len - off - n);
    *cut = *line + voff;
    *cut_len = vlen;
    *line = p->ep_buf;
    *len -= n;
    return 0;
}

int kube_evparser_parse(struct kube_evparser *p, const char *line, size_t len,
                        struct kube_event *ev)
{
    struct json_object *root = NULL;
    enum kube_ev_type t;
    static const char *const mf[] = {"object", "metadata", "managedFields"};
    const char *cut = NULL;
    size_t cut_len = 0;
    if (p->ep_cut != NULL && p->ep_keep[0].k_name == NULL &&
        cut_member(p, &line, &len, &cut, &cut_len) != 0)
        return -ENOMEM;
    int rc = p->ep_keep[0].k_name != NULL
                 ? jx_parser_parse_keep(p->ep_json, line, len, p->ep_keep, &root, NULL, 0)
             : p->ep_drop ? jx_parser_parse_without(p->ep_json, line, len, mf, 3, &root, NULL, 0)
                          : jx_parser_parse(p->ep_json, line, len, &root, NULL, 0);
    const char *type = jx_str(root, "type");
    struct json_object *obj = jx_obj(root, "object");
    if (rc != 0 || type == NULL || obj == NULL || type_of(type, &t) != 0) {
        json_object_put(root);
        return -EBADMSG;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = t;
    ev->object = obj;
    ev->ev_root = root;
    ev->cut = cut;
    ev->cut_len = cut_len;
    ev->resource_version = jx_str(obj, "metadata.resourceVersion");
    if (t == KUBE_EV_ERROR)
        fill_status(ev);
    else
        kube_err_clear(&ev->status);
    return 0;
}

void kube_event_clear(struct kube_event *ev)
{
    json_object_put(ev->ev_root);
    ev->ev_root = NULL;
    ev->object = NULL;
    ev->cut = NULL;
    ev->cut_len = 0;
    ev->resource_version = NULL;
}

bool kube_err_is_expired(const struct kube_err *e)
{
    if (e->http == 410)
        return true;
    return e->http == 504 && strstr(e->message, "Too large resource version") != NULL;
}

bool kube_event_is_expired(const struct kube_event *ev)
{
    return ev->type == KUBE_EV_ERROR && kube_err_is_expired(&ev->status);
}

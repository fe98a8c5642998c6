/* Watch event decoding: one JSON line to a typed event. */
#include "lib/kube/watchevent.h"
#include "lib/kube/internal.h"

#include "lib/common/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct kube_evparser {
    struct json_tokener *tok;
};

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
    if (p == NULL)
        return -ENOMEM;
    p->tok = json_tokener_new_ex(KUBE_JSON_DEPTH);
    if (p->tok == NULL) {
        free(p);
        return -ENOMEM;
    }
    *out = p;
    return 0;
}

void kube_evparser_free(struct kube_evparser *p)
{
    if (p == NULL)
        return;
    json_tokener_free(p->tok);
    free(p);
}

static struct json_object *parse_one(struct json_tokener *tok, const char *line, size_t len)
{
    if (len > INT32_MAX)
        return NULL;
    json_tokener_reset(tok);
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        return NULL;
    }
    size_t used = json_tokener_get_parse_end(tok);
    while (used < len && (line[used] == ' ' || line[used] == '\t' || line[used] == '\r'))
        used++;
    if (used != len) {
        json_object_put(o);
        return NULL;
    }
    return o;
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

int kube_evparser_parse(struct kube_evparser *p, const char *line, size_t len,
                        struct kube_event *ev)
{
    struct json_object *root = parse_one(p->tok, line, len);
    enum kube_ev_type t;
    const char *type = kube_json_str(root, "type", NULL);
    struct json_object *obj = kube_json_path(root, "object", NULL);
    if (type == NULL || obj == NULL || !json_object_is_type(obj, json_type_object) ||
        type_of(type, &t) != 0) {
        json_object_put(root);
        return -EBADMSG;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = t;
    ev->object = obj;
    ev->ev_root = root;
    ev->resource_version = kube_json_str(obj, "metadata", "resourceVersion", NULL);
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

/* The typed requests (get, create, update, patch, apply, delete, evict, list) on
 * top of the HTTP engine: paths, bodies, content types and idempotency. */
#include "lib/kube/http_int.h"
#include "lib/kube/internal.h"
#include "lib/kube/listsplit.h"

#include "lib/common/json.h"
#include "lib/common/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes a 2xx body into *out (NULL when empty). */
static int decode(bool drop, struct kube_http_resp *resp, struct json_object **out,
                  struct kube_err *err)
{
    int rc = 0;
    if (out != NULL) {
        *out = NULL;
        /* A body "null" parses to NULL: no object either. */
        if (resp->len > 0 &&
            (kube_http_parse_object(drop, resp->body, resp->len, out) != 0 || *out == NULL)) {
            kube_err_set(err, KUBE_ERRK_DECODE, "response is not JSON (%zu bytes)", resp->len);
            rc = -EBADMSG;
        }
    }
    free(resp->body);
    return rc;
}

/* kube_request, with the 2xx body parsed into *out or handed over in *text (one
 * of them, or neither). */
static int request(struct kube_client *c, const struct kube_req *req, struct json_object **out,
                   struct kube_text *text, struct kube_err *err)
{
    struct kube_err local;
    char path[KUBE_PATH_MAX];
    if (err == NULL)
        err = &local;
    kube_err_clear(err);
    if (text != NULL)
        *text = (struct kube_text){0};
    int n = kube_path(path, sizeof(path), req->ref, req->params, req->nparams);
    if (n < 0) {
        kube_err_set(err, KUBE_ERRK_INVALID, "bad resource reference or path too long");
        return n;
    }
    struct kube_http_req rq = {
        .method = req->method,
        .path = path,
        .body = req->body,
        .body_len = req->body_len,
        .content_type = req->content_type ? req->content_type : "application/json",
        .idem = req->idem,
    };
    struct kube_http_resp resp = {0};
    int rc = kube_http_do(c, &rq, &resp, err);
    if (rc != 0)
        return rc;
    if (text != NULL && resp.len > 0) {
        text->body = resp.body; /* NUL-terminated */
        text->len = resp.len;
        return 0;
    }
    if (text != NULL) {
        free(resp.body);
        return 0;
    }
    struct json_object *o = NULL;
    rc = decode(kube_http_drop_managed_fields(c), &resp, out ? &o : NULL, err);
    if (rc == 0 && out != NULL)
        *out = o;
    return rc;
}

int kube_request(struct kube_client *c, const struct kube_req *req, struct json_object **out,
                 struct kube_err *err)
{
    return request(c, req, out, NULL, err);
}

int kube_request_text(struct kube_client *c, const struct kube_req *req, struct kube_text *text,
                      struct kube_err *err)
{
    return request(c, req, NULL, text, err);
}

/* A request with a JSON body serialized from obj (may be NULL); the answer parsed
 * into *out or as text into *text. */
static int with_json(struct kube_client *c, const char *method, const struct kube_ref *r,
                     const struct kube_param *params, size_t nparams, struct json_object *obj,
                     const char *ctype, enum kube_idem idem, struct json_object **out,
                     struct kube_text *text, struct kube_err *err)
{
    const char *body = NULL;
    size_t len = 0;
    if (obj != NULL)
        body = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
    struct kube_req req = {method, r, params, nparams, body, len, ctype, idem};
    return request(c, &req, out, text, err);
}

int kube_get(struct kube_client *c, const struct kube_ref *r, struct json_object **out,
             struct kube_err *err)
{
    return with_json(c, "GET", r, NULL, 0, NULL, NULL, KUBE_IDEM_SAFE, out, NULL, err);
}

static int create(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                  struct json_object **out, struct kube_text *text, struct kube_err *err)
{
    struct kube_ref coll = *r;
    coll.name = NULL;
    coll.sub = NULL;
    struct kube_param p[] = {{"fieldManager", kube_http_field_manager(c)}};
    return with_json(c, "POST", &coll, p, 1, obj, NULL, KUBE_IDEM_UNSAFE, out, text, err);
}

int kube_create(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                struct json_object **out, struct kube_err *err)
{
    return create(c, r, obj, out, NULL, err);
}

int kube_create_text(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                     struct kube_text *text, struct kube_err *err)
{
    return create(c, r, obj, NULL, text, err);
}

int kube_update(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
                struct json_object **out, struct kube_err *err)
{
    struct kube_param p[] = {{"fieldManager", kube_http_field_manager(c)}};
    return with_json(c, "PUT", r, p, 1, obj, NULL, KUBE_IDEM_SAFE, out, NULL, err);
}

const char *kube_patch_type_str(enum kube_patch_type t)
{
    switch (t) {
    case KUBE_PATCH_MERGE:
        return "merge";
    case KUBE_PATCH_JSON:
        return "json";
    case KUBE_PATCH_STRATEGIC:
        return "strategic";
    }
    return "unknown";
}

static int patch_req(struct kube_client *c, const struct kube_ref *r, enum kube_patch_type type,
                     struct json_object *patch, struct json_object **out, struct kube_text *text,
                     struct kube_err *err)
{
    static const char *const ctypes[] = {
        [KUBE_PATCH_MERGE] = "application/merge-patch+json",
        [KUBE_PATCH_JSON] = "application/json-patch+json",
        [KUBE_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
    };
    if ((unsigned)type > KUBE_PATCH_STRATEGIC) {
        kube_err_clear(err);
        kube_err_set(err, KUBE_ERRK_INVALID, "unknown patch type %d", (int)type);
        return -EINVAL;
    }
    enum kube_idem idem = type == KUBE_PATCH_JSON ? KUBE_IDEM_UNSAFE : KUBE_IDEM_SAFE;
    struct kube_param p[] = {{"fieldManager", kube_http_field_manager(c)}};
    return with_json(c, "PATCH", r, p, 1, patch, ctypes[type], idem, out, text, err);
}

int kube_patch(struct kube_client *c, const struct kube_ref *r, enum kube_patch_type type,
               struct json_object *patch, struct json_object **out, struct kube_err *err)
{
    return patch_req(c, r, type, patch, out, NULL, err);
}

int kube_patch_text(struct kube_client *c, const struct kube_ref *r, enum kube_patch_type type,
                    struct json_object *patch, struct kube_text *text, struct kube_err *err)
{
    return patch_req(c, r, type, patch, NULL, text, err);
}

int kube_apply(struct kube_client *c, const struct kube_ref *r, struct json_object *obj,
               const char *field_manager, bool force, struct json_object **out,
               struct kube_err *err)
{
    const char *fm = field_manager ? field_manager : kube_http_field_manager(c);
    if (fm == NULL) {
        kube_err_clear(err);
        kube_err_set(err, KUBE_ERRK_INVALID, "server-side apply needs a field manager");
        return -EINVAL;
    }
    struct kube_param p[] = {{"fieldManager", fm}, {"force", force ? "true" : NULL}};
    return with_json(c, "PATCH", r, p, 2, obj, "application/apply-patch+yaml", KUBE_IDEM_SAFE, out,
                     NULL, err);
}

/* A DeleteOptions (or, with kind "Eviction", an Eviction's deleteOptions). */
static struct json_object *delete_options(const struct kube_delete_opts *o)
{
    struct json_object *d = json_object_new_object();
    if (d == NULL || o == NULL)
        return d;
    json_object_object_add(d, "kind", json_object_new_string("DeleteOptions"));
    json_object_object_add(d, "apiVersion", json_object_new_string("v1"));
    if (o->uid != NULL || o->resource_version != NULL) {
        struct json_object *pre = json_object_new_object();
        if (o->uid != NULL)
            json_object_object_add(pre, "uid", json_object_new_string(o->uid));
        if (o->resource_version != NULL)
            json_object_object_add(pre, "resourceVersion",
                                   json_object_new_string(o->resource_version));
        json_object_object_add(d, "preconditions", pre);
    }
    if (o->propagation != NULL)
        json_object_object_add(d, "propagationPolicy", json_object_new_string(o->propagation));
    if (o->grace_seconds >= 0)
        json_object_object_add(d, "gracePeriodSeconds", json_object_new_int64(o->grace_seconds));
    return d;
}

int kube_delete(struct kube_client *c, const struct kube_ref *r, const struct kube_delete_opts *o,
                struct json_object **out, struct kube_err *err)
{
    struct json_object *body = o != NULL ? delete_options(o) : NULL;
    if (o != NULL && body == NULL) {
        kube_err_clear(err);
        kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
        return -ENOMEM;
    }
    int rc = with_json(c, "DELETE", r, NULL, 0, body, NULL, KUBE_IDEM_SAFE, out, NULL, err);
    json_object_put(body);
    return rc;
}

int kube_evict(struct kube_client *c, const char *ns, const char *pod,
               const struct kube_delete_opts *o, struct kube_err *err)
{
    struct json_object *ev = json_object_new_object();
    struct json_object *meta = json_object_new_object();
    int rc = -ENOMEM;
    if (ev == NULL || meta == NULL) {
        json_object_put(meta);
        goto fail;
    }
    json_object_object_add(ev, "apiVersion", json_object_new_string("policy/v1"));
    json_object_object_add(ev, "kind", json_object_new_string("Eviction"));
    json_object_object_add(meta, "name", json_object_new_string(pod));
    json_object_object_add(meta, "namespace", json_object_new_string(ns));
    json_object_object_add(ev, "metadata", meta);
    if (o != NULL)
        json_object_object_add(ev, "deleteOptions", delete_options(o));
    struct kube_ref r = {"v1", "pods", ns, pod, "eviction"};
    rc = with_json(c, "POST", &r, NULL, 0, ev, NULL, KUBE_IDEM_UNSAFE, NULL, NULL, err);
    json_object_put(ev);
    return rc;
fail:
    json_object_put(ev);
    kube_err_clear(err);
    kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
    return rc;
}

/* One page in flight: the splitter and where its items go. */
struct lstream {
    struct kube_lsplit *sp;
    const struct kube_list_opts *o;
    kube_list_cb cb;
    void *ctx;
    struct kube_err *err;
    int cbrc;             /* cb's nonzero return */
    struct jx_parser *jp; /* one tokener for every item */
    bool drop;            /* kube_client_opts.drop_managed_fields */
};

static int on_split(void *ctx, enum kube_lsplit_what what, const char *item, size_t len)
{
    struct lstream *ls = ctx;
    struct json_object *obj = NULL;
    if (what == KUBE_LSPLIT_OVERSIZE) {
        if (ls->o->skipped != NULL)
            ls->o->skipped(ls->ctx, "oversize", item, len);
        return 0;
    }
    static const char *const mf[] = {"metadata", "managedFields"};
    int rc = ls->o->keep != NULL
                 ? jx_parser_parse_keep(ls->jp, item, len, ls->o->keep, &obj, NULL, 0)
             : ls->drop ? jx_parser_parse_without(ls->jp, item, len, mf, 2, &obj, NULL, 0)
                        : jx_parser_parse(ls->jp, item, len, &obj, NULL, 0);
    if (rc != 0 || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        if (ls->o->skipped != NULL)
            ls->o->skipped(ls->ctx, "malformed", item, len);
        return 0;
    }
    rc = ls->cb(ls->ctx, obj);
    json_object_put(obj);
    if (rc != 0)
        ls->cbrc = rc;
    return rc;
}

static int on_page_bytes(void *ctx, const char *data, size_t len)
{
    struct lstream *ls = ctx;
    int rc = kube_lsplit_feed(ls->sp, data, len, on_split, ls);
    if (rc != 0 && ls->cbrc == 0)
        kube_err_set(ls->err, KUBE_ERRK_DECODE, "list: %s",
                     rc == -E2BIG    ? "list metadata too large"
                     : rc == -ENOMEM ? "out of memory"
                                     : "response is not a list object");
    return rc;
}

/* The end of one page: the continue token and resourceVersion from the document
 * around the items. */
static int page_end(struct lstream *ls, char **cont, char *rv, size_t rvlen)
{
    const char *rest;
    size_t rest_len;
    struct json_object *page = NULL;
    if (kube_lsplit_finish(ls->sp, &rest, &rest_len) != 0 ||
        jx_parse(rest, rest_len, &page, NULL, 0) != 0 || page == NULL) {
        json_object_put(page);
        kube_err_set(ls->err, KUBE_ERRK_DECODE, "list: response truncated or not JSON");
        return -EBADMSG;
    }
    const char *v = jx_str(page, "metadata.resourceVersion");
    const char *k = jx_str(page, "metadata.continue");
    if (rv != NULL && rvlen > 0)
        util_strlcpy(rv, v ? v : "", rvlen);
    free(*cont);
    *cont = (k != NULL && *k != '\0') ? strdup(k) : NULL;
    int rc = (k != NULL && *k != '\0' && *cont == NULL) ? -ENOMEM : 0;
    json_object_put(page);
    return rc;
}

int kube_list(struct kube_client *c, const struct kube_ref *r, const struct kube_list_opts *o,
              kube_list_cb cb, void *ctx, char *rv, size_t rvlen, struct kube_err *err)
{
    struct kube_list_opts none = {0};
    struct kube_err local;
    char limit[16], *cont = NULL, rvbuf[256] = "", path[KUBE_PATH_MAX];
    struct lstream ls = {0};
    int rc;
    if (o == NULL)
        o = &none;
    if (err == NULL)
        err = &local;
    kube_err_clear(err);
    if (kube_lsplit_new(o->max_item, 0, &ls.sp) != 0 || jx_parser_new(&ls.jp) != 0) {
        kube_lsplit_free(ls.sp);
        kube_err_set(err, KUBE_ERRK_NOMEM, "out of memory");
        return -ENOMEM;
    }
    ls.drop = kube_http_drop_managed_fields(c);
    ls.o = o;
    ls.cb = cb;
    ls.ctx = ctx;
    ls.err = err;
    snprintf(limit, sizeof(limit), "%d", o->limit == 0 ? 500 : o->limit);
    do {
        /* resourceVersion is only allowed on the first page; the continue token
         * carries the snapshot. */
        struct kube_param p[] = {
            {"labelSelector", o->label_selector},
            {"fieldSelector", o->field_selector},
            {"limit", o->limit < 0 ? NULL : limit},
            {"resourceVersion", cont ? NULL : o->resource_version},
            {"continue", cont},
        };
        struct kube_ref coll = *r;
        coll.name = NULL;
        coll.sub = NULL;
        if (kube_path(path, sizeof(path), &coll, p, 5) < 0) {
            kube_err_set(err, KUBE_ERRK_INVALID, "bad resource reference or path too long");
            rc = -EINVAL;
            break;
        }
        struct kube_http_req rq = {
            .method = "GET",
            .path = path,
            .idem = KUBE_IDEM_SAFE,
            .stream = on_page_bytes,
            .stream_ctx = &ls,
        };
        struct kube_http_resp resp = {0};
        kube_lsplit_reset(ls.sp);
        ls.cbrc = 0;
        rc = kube_http_do(c, &rq, &resp, err);
        free(resp.body);
        if (ls.cbrc != 0)
            rc = ls.cbrc; /* the caller's own stop, as it returned it */
        else if (rc == 0)
            rc = page_end(&ls, &cont, rvbuf, sizeof(rvbuf));
    } while (rc == 0 && cont != NULL);
    free(cont);
    kube_lsplit_free(ls.sp);
    jx_parser_free(ls.jp);
    if (rc == 0 && rv != NULL && rvlen > 0)
        util_strlcpy(rv, rvbuf, rvlen);
    return rc;
}

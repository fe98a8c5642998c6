/* Resource paths and query strings for the API server. */
#include "lib/kube/path.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int kube_url_escape(char *dst, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            if (n + 1 >= cap)
                return -ENAMETOOLONG;
            dst[n++] = (char)c;
        } else {
            if (n + 3 >= cap)
                return -ENAMETOOLONG;
            dst[n++] = '%';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 15];
        }
    }
    if (n >= cap)
        return -ENAMETOOLONG;
    dst[n] = '\0';
    return (int)n;
}

struct out {
    char *buf;
    size_t cap, len;
    int err;
};

static void put_raw(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->err != 0 || o->len + n >= o->cap) {
        o->err = -ENAMETOOLONG;
        return;
    }
    memcpy(o->buf + o->len, s, n + 1);
    o->len += n;
}

static void put_esc(struct out *o, const char *s)
{
    if (o->err != 0)
        return;
    int n = kube_url_escape(o->buf + o->len, o->cap - o->len, s);
    if (n < 0)
        o->err = n;
    else
        o->len += (size_t)n;
}

static void put_seg(struct out *o, const char *s)
{
    put_raw(o, "/");
    put_esc(o, s);
}

static bool empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* A path segment must not be "." or "..", which would change the path. */
static bool bad_seg(const char *s)
{
    return !empty(s) && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0);
}

static int check_ref(const struct kube_ref *r)
{
    if (empty(r->gv) || empty(r->plural))
        return -EINVAL;
    const char *slash = strchr(r->gv, '/');
    if (slash != NULL && (slash == r->gv || slash[1] == '\0' || strchr(slash + 1, '/')))
        return -EINVAL;
    if (!empty(r->sub) && empty(r->name))
        return -EINVAL;
    if (bad_seg(r->gv) || bad_seg(r->plural) || bad_seg(r->ns) || bad_seg(r->name) ||
        bad_seg(r->sub))
        return -EINVAL;
    return 0;
}

static void put_gv(struct out *o, const char *gv)
{
    const char *slash = strchr(gv, '/');
    if (slash == NULL) {
        put_raw(o, "/api");
        put_seg(o, gv);
        return;
    }
    char group[256];
    size_t glen = (size_t)(slash - gv);
    if (glen >= sizeof(group)) {
        o->err = -ENAMETOOLONG;
        return;
    }
    memcpy(group, gv, glen);
    group[glen] = '\0';
    put_raw(o, "/apis");
    put_seg(o, group);
    put_seg(o, slash + 1);
}

int kube_path(char *buf, size_t cap, const struct kube_ref *r, const struct kube_param *params,
              size_t nparams)
{
    if (cap == 0)
        return -ENAMETOOLONG;
    int rc = check_ref(r);
    if (rc != 0)
        return rc;
    struct out o = {buf, cap, 0, 0};
    buf[0] = '\0';
    put_gv(&o, r->gv);
    if (!empty(r->ns)) {
        put_raw(&o, "/namespaces");
        put_seg(&o, r->ns);
    }
    put_seg(&o, r->plural);
    if (!empty(r->name))
        put_seg(&o, r->name);
    if (!empty(r->sub))
        put_seg(&o, r->sub);
    char sep = '?';
    for (size_t i = 0; i < nparams; i++) {
        if (params[i].key == NULL || params[i].value == NULL)
            continue;
        char s[2] = {sep, '\0'};
        put_raw(&o, s);
        put_esc(&o, params[i].key);
        put_raw(&o, "=");
        put_esc(&o, params[i].value);
        sep = '&';
    }
    if (o.err != 0)
        return o.err;
    return (int)o.len;
}

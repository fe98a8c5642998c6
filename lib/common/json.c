/* json-c helpers: dotted-path getters and setters, strict one-value parsing and
 * compact serialisation. */
#include "lib/common/json.h"
#include "lib/common/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest path segment (a Kubernetes label key is at most 253 + 1 + 63). */
#define JX_SEG_MAX 320

/* Copies the next segment of *pp into seg, unescaping "\.", and advances past its
 * dot. -EINVAL when the segment is too long. */
static int next_seg(const char **pp, char seg[JX_SEG_MAX])
{
    const char *p = *pp;
    size_t n = 0;
    for (; *p != '\0' && *p != '.'; p++) {
        if (*p == '\\' && p[1] == '.')
            p++;
        if (n + 1 >= JX_SEG_MAX)
            return -EINVAL;
        seg[n++] = *p;
    }
    seg[n] = '\0';
    *pp = *p == '.' ? p + 1 : p;
    return 0;
}

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static struct json_object *step(struct json_object *cur, const char *seg)
{
    if (json_object_is_type(cur, json_type_object)) {
        struct json_object *v = NULL;
        return json_object_object_get_ex(cur, seg, &v) ? v : NULL;
    }
    if (json_object_is_type(cur, json_type_array) && all_digits(seg) && strlen(seg) < 10) {
        size_t i = (size_t)strtoul(seg, NULL, 10);
        if (i >= json_object_array_length(cur))
            return NULL;
        return json_object_array_get_idx(cur, i);
    }
    return NULL;
}

struct json_object *jx_get(struct json_object *obj, const char *path)
{
    char seg[JX_SEG_MAX];
    if (obj == NULL || path == NULL)
        return NULL;
    const char *p = path;
    struct json_object *cur = obj;
    while (*p != '\0' && cur != NULL) {
        if (next_seg(&p, seg) != 0)
            return NULL;
        cur = step(cur, seg);
    }
    return cur;
}

const char *jx_str(struct json_object *obj, const char *path)
{
    struct json_object *v = jx_get(obj, path);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *jx_str_or(struct json_object *obj, const char *path, const char *def)
{
    const char *s = jx_str(obj, path);
    return s != NULL ? s : def;
}

int jx_i64(struct json_object *obj, const char *path, int64_t *out)
{
    struct json_object *v = jx_get(obj, path);
    if (v == NULL)
        return -ENOENT;
    if (!json_object_is_type(v, json_type_int))
        return -EINVAL;
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
        return -EINVAL; /* json-c clamps larger unsigned values */
    *out = i;
    return 0;
}

int64_t jx_i64_or(struct json_object *obj, const char *path, int64_t def)
{
    int64_t v;
    return jx_i64(obj, path, &v) == 0 ? v : def;
}

int jx_bool(struct json_object *obj, const char *path, bool *out)
{
    struct json_object *v = jx_get(obj, path);
    if (v == NULL)
        return -ENOENT;
    if (!json_object_is_type(v, json_type_boolean))
        return -EINVAL;
    *out = json_object_get_boolean(v) != 0;
    return 0;
}

bool jx_bool_or(struct json_object *obj, const char *path, bool def)
{
    bool v;
    return jx_bool(obj, path, &v) == 0 ? v : def;
}

struct json_object *jx_obj(struct json_object *obj, const char *path)
{
    struct json_object *v = jx_get(obj, path);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

struct json_object *jx_arr(struct json_object *obj, const char *path)
{
    struct json_object *v = jx_get(obj, path);
    return json_object_is_type(v, json_type_array) ? v : NULL;
}

size_t jx_arr_len(struct json_object *obj, const char *path)
{
    struct json_object *a = jx_arr(obj, path);
    return a != NULL ? json_object_array_length(a) : 0;
}

static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

static void set_err(char *err, size_t errsz, const char *msg, size_t off)
{
    if (err != NULL && errsz > 0)
        snprintf(err, errsz, "invalid JSON at byte %zu: %s", off, msg);
}

/* Runs the tokener over buf[0..len), then over one NUL byte if it still wants
 * input: json-c cannot tell that a top-level number or literal has ended. */
static struct json_object *tokenize(struct json_tokener *tok, const char *buf, size_t len,
                                    enum json_tokener_error *je, size_t *end)
{
    struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    *je = json_tokener_get_error(tok);
    *end = json_tokener_get_parse_end(tok);
    if (*je != json_tokener_continue)
        return o;
    o = json_tokener_parse_ex(tok, "", 1);
    *je = json_tokener_get_error(tok);
    *end = len;
    return o;
}

/* Scratch buffers larger than this are freed after each use. */
#define JX_SCRATCH_KEEP ((size_t)256 << 10)

struct jx_parser {
    struct json_tokener *jp_tok;
    char *jp_buf; /* jx_parser_parse_without's copy of the text */
    size_t jp_cap;
};

int jx_parser_new(struct jx_parser **out)
{
    struct jx_parser *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->jp_tok = json_tokener_new_ex(JX_PARSE_DEPTH)) == NULL) {
        free(p);
        return -ENOMEM;
    }
    json_tokener_set_flags(p->jp_tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    *out = p;
    return 0;
}

void jx_parser_free(struct jx_parser *p)
{
    if (p == NULL)
        return;
    json_tokener_free(p->jp_tok);
    free(p->jp_buf);
    free(p);
}

int jx_parser_parse(struct jx_parser *p, const char *buf, size_t len, struct json_object **out,
                    char *err, size_t errsz)
{
    if (buf == NULL) {
        buf = "";
        len = 0;
    }
    if (len > INT_MAX) {
        set_err(err, errsz, "document too large", 0);
        return -E2BIG;
    }
    json_tokener_reset(p->jp_tok);
    /* json-c stops at a NUL byte: parse up to it and call the rest trailing data. */
    const char *nul = len > 0 ? memchr(buf, '\0', len) : NULL;
    size_t plen = nul != NULL ? (size_t)(nul - buf) : len;
    enum json_tokener_error je;
    size_t end;
    struct json_object *o = tokenize(p->jp_tok, buf, plen, &je, &end);
    if (je != json_tokener_success) {
        bool empty = only_space(buf, plen);
        set_err(err, errsz, empty ? "empty document" : json_tokener_error_desc(je), end);
        goto fail;
    }
    while (end < len && only_space(buf + end, 1))
        end++;
    if (end < len) {
        set_err(err, errsz, "trailing data after the JSON value", end);
        goto fail;
    }
    *out = o;
    return 0;
fail:
    json_object_put(o);
    return -EINVAL;
}

int jx_parse(const char *buf, size_t len, struct json_object **out, char *err, size_t errsz)
{
    struct jx_parser *p;
    int rc = jx_parser_new(&p);
    if (rc != 0)
        return rc;
    rc = jx_parser_parse(p, buf, len, out, err, errsz);
    jx_parser_free(p);
    return rc;
}

/* ---- cutting one member out of a JSON text ---- */

static size_t skip_ws(const char *b, size_t i, size_t n)
{
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i;
}

/* b[i] is '"': the index after the closing quote, or n when unterminated. */
static size_t skip_str(const char *b, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (b[i] == '\\')
            i++;
        else if (b[i] == '"')
            return i + 1;
    }
    return n;
}

/* The index after the value starting at b[i] (i after whitespace), or n when it
 * does not end inside the text. Containers are matched bracket for bracket,
 * strings skipped whole; scalars end at a delimiter. Nothing else is checked: a
 * malformed value is left for json-c to report. */
static size_t skip_value(const char *b, size_t i, size_t n)
{
    size_t depth = 0;
    if (i >= n)
        return n;
    if (b[i] == '"')
        return skip_str(b, i, n);
    if (b[i] != '{' && b[i] != '[') {
        while (i < n && strchr(",}] \t\r\n", b[i]) == NULL)
            i++;
        return i;
    }
    for (; i < n; i++) {
        char ch = b[i];
        if (ch == '"') {
            i = skip_str(b, i, n) - 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    return n;
}

/* The object at b[i] ('{'): finds the member path[0] (then path[1] inside its
 * value, ...). True with the cut when found. */
static bool find_in(const char *b, size_t i, size_t n, const char *const *path, size_t npath,
                    size_t *off, size_t *cut, size_t *voff, size_t *vlen)
{
    size_t klen = strlen(path[0]), comma = 0;
    bool first = true;
    for (i = skip_ws(b, i + 1, n); i < n && b[i] == '"';) {
        size_t kstart = i, kend = skip_str(b, i, n);
        bool match = kend - kstart == klen + 2 && memcmp(b + kstart + 1, path[0], klen) == 0;
        i = skip_ws(b, kend, n);
        if (i >= n || b[i] != ':')
            return false;
        i = skip_ws(b, i + 1, n);
        if (match && npath > 1)
            return i < n && b[i] == '{' &&
                   find_in(b, i, n, path + 1, npath - 1, off, cut, voff, vlen);
        size_t vend = skip_value(b, i, n);
        if (vend >= n)
            return false;
        size_t next = skip_ws(b, vend, n);
        if (next >= n || (b[next] != ',' && b[next] != '}'))
            return false;
        if (match) {
            *voff = i;
            *vlen = vend - i;
            if (!first) { /* the comma before it goes with it */
                *off = comma;
                *cut = vend - comma;
            } else if (b[next] == ',') { /* the first: the comma after it */
                *off = kstart;
                *cut = next + 1 - kstart;
            } else { /* the only member */
                *off = kstart;
                *cut = vend - kstart;
            }
            return true;
        }
        if (b[next] == '}')
            return false;
        comma = next;
        first = false;
        i = skip_ws(b, next + 1, n);
    }
    return false;
}

bool jx_find_member(const char *buf, size_t len, const char *const *path, size_t npath, size_t *off,
                    size_t *cut)
{
    size_t voff, vlen;
    return jx_find_value(buf, len, path, npath, off, cut, &voff, &vlen);
}

bool jx_find_value(const char *buf, size_t len, const char *const *path, size_t npath, size_t *off,
                   size_t *cut, size_t *voff, size_t *vlen)
{
    if (buf == NULL || npath == 0)
        return false;
    size_t i = skip_ws(buf, 0, len);
    return i < len && buf[i] == '{' && find_in(buf, i, len, path, npath, off, cut, voff, vlen);
}

/* The parser's scratch buffer, at least n bytes: 0 or -ENOMEM. */
static int scratch_reserve(struct jx_parser *p, size_t n)
{
    if (n <= p->jp_cap)
        return 0;
    char *nb = realloc(p->jp_buf, n);
    if (nb == NULL)
        return -ENOMEM;
    p->jp_buf = nb;
    p->jp_cap = n;
    return 0;
}

/* After a document: a large scratch buffer is not kept for the next. */
static void scratch_trim(struct jx_parser *p)
{
    if (p->jp_cap > JX_SCRATCH_KEEP) {
        free(p->jp_buf);
        p->jp_buf = NULL;
        p->jp_cap = 0;
    }
}

int jx_parser_parse_cut(struct jx_parser *p, const char *buf, size_t len,
                        const struct jx_path *paths, size_t npaths, struct json_object **out,
                        char *err, size_t errsz)
{
    const char *t = buf;
    size_t n = len;
    for (size_t i = 0; i < npaths; i++) {
        size_t off, cut;
        if (!jx_find_member(t, n, paths[i].keys, paths[i].n, &off, &cut))
            continue;
        if (t == buf) {
            if (scratch_reserve(p, len) != 0)
                return -ENOMEM;
            memcpy(p->jp_buf, buf, off);
            memcpy(p->jp_buf + off, buf + off + cut, n - off - cut);
        } else {
            memmove(p->jp_buf + off, p->jp_buf + off + cut, n - off - cut);
        }
        t = p->jp_buf;
        n -= cut;
    }
    int rc = jx_parser_parse(p, t, n, out, err, errsz);
    if (t != buf)
        scratch_trim(p);
    return rc;
}

int jx_parser_parse_without(struct jx_parser *p, const char *buf, size_t len,
                            const char *const *path, size_t npath, struct json_object **out,
                            char *err, size_t errsz)
{
    struct jx_path one = {path, npath};
    return jx_parser_parse_cut(p, buf, len, &one, 1, out, err, errsz);
}

int jx_parse_without(const char *buf, size_t len, const char *const *path, size_t npath,
                     struct json_object **out, char *err, size_t errsz)
{
    struct jx_parser *p;
    int rc = jx_parser_new(&p);
    if (rc != 0)
        return rc;
    rc = jx_parser_parse_without(p, buf, len, path, npath, out, err, errsz);
    jx_parser_free(p);
    return rc;
}

/* ---- keeping only some members of a JSON text ---- */

/* The projection being written: never longer than the text it comes from. */
struct proj {
    const char *b;
    size_t n;
    char *out;
    size_t len, cap;
};

static bool proj_put(struct proj *p, const char *s, size_t len)
{
    if (len > p->cap - p->len)
        return false;
    memcpy(p->out + p->len, s, len);
    p->len += len;
    return true;
}

static const struct jx_keep *keep_find(const struct jx_keep *keep, const char *key, size_t len)
{
    for (; keep->k_name != NULL; keep++)
        if (strlen(keep->k_name) == len && memcmp(keep->k_name, key, len) == 0)
            return keep;
    return NULL;
}

static bool proj_object(struct proj *p, size_t *i, const struct jx_keep *keep);

/* The value at b[*i] (after whitespace): with keep, an object projected by it, or an
 * array with each of its object elements projected (other elements whole); without,
 * or any other value, whole. Recursion follows keep only (an array in an array is
 * copied whole), so its depth is keep's. */
static bool proj_value(struct proj *p, size_t *i, const struct jx_keep *keep, bool in_array)
{
    const char *b = p->b;
    if (keep != NULL && *i < p->n && b[*i] == '{')
        return proj_object(p, i, keep);
    if (keep == NULL || in_array || *i >= p->n || b[*i] != '[') {
        size_t end = skip_value(b, *i, p->n);
        if (end >= p->n || end == *i || !proj_put(p, b + *i, end - *i))
            return false;
        *i = end;
        return true;
    }
    if (!proj_put(p, "[", 1))
        return false;
    size_t j = skip_ws(b, *i + 1, p->n);
    if (j < p->n && b[j] == ']') {
        *i = j + 1;
        return proj_put(p, "]", 1);
    }
    for (;;) {
        if (!proj_value(p, &j, keep, true))
            return false;
        j = skip_ws(b, j, p->n);
        if (j >= p->n)
            return false;
        if (b[j] == ']') {
            *i = j + 1;
            return proj_put(p, "]", 1);
        }
        if (b[j] != ',' || !proj_put(p, ",", 1))
            return false;
        j = skip_ws(b, j + 1, p->n);
    }
}

/* The object at b[*i] ('{') with only the members keep names; *i past its end. */
static bool proj_object(struct proj *p, size_t *i, const struct jx_keep *keep)
{
    const char *b = p->b;
    size_t n = p->n, j = skip_ws(b, *i + 1, n);
    bool first = true;
    if (!proj_put(p, "{", 1))
        return false;
    if (j < n && b[j] == '}') {
        *i = j + 1;
        return proj_put(p, "}", 1);
    }
    for (;;) {
        if (j >= n || b[j] != '"')
            return false;
        size_t kend = skip_str(b, j, n);
        if (kend >= n || memchr(b + j + 1, '\\', kend - j - 2) != NULL)
            return false; /* an escaped key: json-c decodes it, the whole text goes */
        const struct jx_keep *k = keep_find(keep, b + j + 1, kend - j - 2);
        size_t v = skip_ws(b, kend, n);
        if (v >= n || b[v] != ':')
            return false;
        v = skip_ws(b, v + 1, n);
        if (k == NULL) {
            size_t end = skip_value(b, v, n);
            if (end >= n || end == v)
                return false;
            j = end;
        } else {
            if ((!first && !proj_put(p, ",", 1)) || !proj_put(p, b + j, v - j))
                return false;
            first = false;
            j = v;
            if (!proj_value(p, &j, k->k_sub, false))
                return false;
        }
        j = skip_ws(b, j, n);
        if (j >= n)
            return false;
        if (b[j] == '}') {
            *i = j + 1;
            return proj_put(p, "}", 1);
        }
        if (b[j] != ',')
            return false;
        j = skip_ws(b, j + 1, n);
    }
}

static void keep_prune_value(struct json_object *v, const struct jx_keep *sub)
{
    if (sub == NULL)
        return;
    if (json_object_is_type(v, json_type_object)) {
        jx_keep_prune(v, sub);
        return;
    }
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (json_object_is_type(e, json_type_object))
            jx_keep_prune(e, sub);
    }
}

void jx_keep_prune(struct json_object *obj, const struct jx_keep *keep)
{
    if (!json_object_is_type(obj, json_type_object) || keep == NULL)
        return;
    struct lh_entry *e = json_object_get_object(obj)->head, *next;
    for (; e != NULL; e = next) {
        next = e->next;
        const char *key = (const char *)lh_entry_k(e);
        const struct jx_keep *k = keep_find(keep, key, strlen(key));
        if (k == NULL)
            json_object_object_del(obj, key);
        else
            keep_prune_value((struct json_object *)lh_entry_v(e), k->k_sub);
    }
}

int jx_parser_parse_keep(struct jx_parser *p, const char *buf, size_t len,
                         const struct jx_keep *keep, struct json_object **out, char *err,
                         size_t errsz)
{
    size_t i = buf != NULL ? skip_ws(buf, 0, len) : len;
    /* A NUL byte ends the text for json-c (the rest is trailing data): its error. */
    if (keep == NULL || i >= len || buf[i] != '{' || memchr(buf, '\0', len) != NULL)
        return jx_parser_parse(p, buf, len, out, err, errsz);
    if (scratch_reserve(p, len) != 0)
        return -ENOMEM;
    struct proj pj = {.b = buf, .n = len, .out = p->jp_buf, .cap = len};
    bool ok = proj_object(&pj, &i, keep) && only_space(buf + i, len - i);
    int rc = ok ? jx_parser_parse(p, pj.out, pj.len, out, NULL, 0) : -EINVAL;
    if (rc != 0) { /* not a text it can cut: json-c reads it whole (and says why) */
        rc = jx_parser_parse(p, buf, len, out, err, errsz);
        if (rc == 0)
            jx_keep_prune(*out, keep);
    }
    scratch_trim(p);
    return rc;
}

char *jx_dump(struct json_object *obj, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL)
        return NULL;
    char *r = malloc(n + 1);
    if (r == NULL)
        return NULL;
    memcpy(r, s, n + 1);
    if (len != NULL)
        *len = n;
    return r;
}

/* The object member seg of cur, created as {} when missing. */
static struct json_object *ensure_obj(struct json_object *cur, const char *seg, int *rc)
{
    struct json_object *v = NULL;
    if (json_object_object_get_ex(cur, seg, &v)) {
        if (!json_object_is_type(v, json_type_object))
            *rc = -EINVAL;
        return json_object_is_type(v, json_type_object) ? v : NULL;
    }
    v = json_object_new_object();
    if (v == NULL || json_object_object_add(cur, seg, v) != 0) {
        json_object_put(v);
        *rc = -ENOMEM;
        return NULL;
    }
    return v;
}

int jx_set(struct json_object *obj, const char *path, struct json_object *val)
{
    char seg[JX_SEG_MAX];
    int rc = -EINVAL;
    if (!json_object_is_type(obj, json_type_object) || path == NULL || *path == '\0')
        goto fail;
    const char *p = path;
    struct json_object *cur = obj;
    for (;;) {
        if (next_seg(&p, seg) != 0)
            goto fail;
        if (*p == '\0')
            break;
        cur = ensure_obj(cur, seg, &rc);
        if (cur == NULL)
            goto fail;
    }
    if (json_object_object_add(cur, seg, val) != 0) {
        rc = -ENOMEM;
        goto fail;
    }
    return 0;
fail:
    json_object_put(val);
    return rc;
}

int jx_set_str(struct json_object *obj, const char *path, const char *s)
{
    struct json_object *v = NULL;
    if (s != NULL && (v = json_object_new_string(s)) == NULL)
        return -ENOMEM;
    return jx_set(obj, path, v);
}

int jx_set_i64(struct json_object *obj, const char *path, int64_t i)
{
    struct json_object *v = json_object_new_int64(i);
    if (v == NULL)
        return -ENOMEM;
    return jx_set(obj, path, v);
}

int jx_set_bool(struct json_object *obj, const char *path, bool b)
{
    struct json_object *v = json_object_new_boolean(b);
    if (v == NULL)
        return -ENOMEM;
    return jx_set(obj, path, v);
}

struct json_object *jx_str_array(const char *const *v, size_t n)
{
    struct json_object *a = json_object_new_array_ext((int)n);
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_new_string(v[i]);
        if (s == NULL || json_object_array_add(a, s) != 0) {
            json_object_put(s);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

void jx_put_str(struct sbuf *sb, const char *s)
{
    if (s == NULL) {
        sbuf_puts(sb, "null");
        return;
    }
    sbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            sbuf_putc(sb, '\\');
            sbuf_putc(sb, (char)*p);
        } else if (*p == '\n') {
            sbuf_puts(sb, "\\n");
        } else if (*p < 0x20 || *p == 0x7f) {
            sbuf_appendf(sb, "\\u%04x", *p);
        } else {
            sbuf_putc(sb, (char)*p);
        }
    }
    sbuf_putc(sb, '"');
}

int jx_add(struct json_object *o, const char *k, struct json_object *v)
{
    if (v == NULL || json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

int jx_add_str(struct json_object *o, const char *k, const char *s)
{
    return jx_add(o, k, json_object_new_string(s));
}

int jx_push(struct json_object *arr, struct json_object *v)
{
    if (v == NULL || json_object_array_add(arr, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

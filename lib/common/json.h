/* Small helpers over json-c for Kubernetes objects: typed lookups at dotted paths,
 * strict parsing with a readable error, serialisation, and path-creating setters. */
#ifndef OMJOB_LIB_COMMON_JSON_H
#define OMJOB_LIB_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Paths: keys joined by '.', e.g. "metadata.name" or "status.containerStatuses.0.state".
 * A segment of digits indexes an array. "\." is a literal dot inside a key, as in
 * "metadata.labels.app\\.kubernetes\\.io/name" (C source spelling). An empty path
 * is obj itself. Every pointer returned by a getter is borrowed from obj. */

/* The value at path, or NULL when any step is missing or of the wrong kind. */
struct json_object *jx_get(struct json_object *obj, const char *path);
/* The string at path, or NULL when missing or not a string. */
const char *jx_str(struct json_object *obj, const char *path);
/* The same with a default for missing or non-string values. */
const char *jx_str_or(struct json_object *obj, const char *path, const char *def);
/* The integer at path: 0, -ENOENT (missing or null) or -EINVAL (not an integer). */
int jx_i64(struct json_object *obj, const char *path, int64_t *out);
int64_t jx_i64_or(struct json_object *obj, const char *path, int64_t def);
/* The boolean at path: 0, -ENOENT or -EINVAL (not a boolean). */
int jx_bool(struct json_object *obj, const char *path, bool *out);
bool jx_bool_or(struct json_object *obj, const char *path, bool def);
/* The object (or array) at path, or NULL when missing or of another type. */
struct json_object *jx_obj(struct json_object *obj, const char *path);
struct json_object *jx_arr(struct json_object *obj, const char *path);
/* Element count of the array at path; 0 when missing or not an array. */
size_t jx_arr_len(struct json_object *obj, const char *path);

/* Nesting limit of every document parsed here: json-c's default (32) is too
 * shallow for managedFields; a limit still bounds the parser's stack. */
#define JX_PARSE_DEPTH 128

/* Parses exactly one JSON value from buf[0..len) (surrounding whitespace allowed,
 * anything else after it is an error), strictly (no comments, single quotes or
 * trailing commas). On success *out is a new reference the caller puts (NULL for
 * the document "null"). 0, -EINVAL (syntax, or nested deeper than JX_PARSE_DEPTH;
 * err says what and at which byte offset), -E2BIG (len over INT_MAX) or -ENOMEM.
 * err may be NULL. */
int jx_parse(const char *buf, size_t len, struct json_object **out, char *err, size_t errsz);

/* The same parser kept for a stream of documents (watch events), so that each one
 * does not allocate a new json-c tokener. One per thread. */
struct jx_parser;
/* 0 or -ENOMEM; free with jx_parser_free (NULL is a no-op). */
int jx_parser_new(struct jx_parser **out);
void jx_parser_free(struct jx_parser *p);
/* jx_parse with p's tokener. */
int jx_parser_parse(struct jx_parser *p, const char *buf, size_t len, struct json_object **out,
                    char *err, size_t errsz);

/* The member at the key path (npath plain keys, no escapes: {"metadata",
 * "managedFields"}) of the JSON object text buf[0..len), found by a scan that reads
 * the text only up to that member's end: true with [*off, *off + *cut), the bytes
 * whose removal leaves the same document without it (its key, its value and one
 * separating comma). False when it is absent, or when the text is not well formed
 * as far as it was read (json-c then parses it whole and says why). */
bool jx_find_member(const char *buf, size_t len, const char *const *path, size_t npath, size_t *off,
                    size_t *cut);
/* jx_find_member that also gives the member's value: buf[*voff, *voff + *vlen). */
bool jx_find_value(const char *buf, size_t len, const char *const *path, size_t npath, size_t *off,
                   size_t *cut, size_t *voff, size_t *vlen);
/* jx_parser_parse of the text without that member, when it has it: the member is
 * never built as json-c objects (metadata.managedFields is ~40% of a pod and
 * thousands of small allocations). An error's byte offset is then one in the text
 * without it. */
int jx_parser_parse_without(struct jx_parser *p, const char *buf, size_t len,
                            const char *const *path, size_t npath, struct json_object **out,
                            char *err, size_t errsz);
/* A key path (jx_parser_parse_cut). */
struct jx_path {
    const char *const *keys;
    size_t n;
};
/* jx_parser_parse_without for several members: each cut (when there) from what
 * the ones before it left of the text. */
int jx_parser_parse_cut(struct jx_parser *p, const char *buf, size_t len,
                        const struct jx_path *paths, size_t npaths, struct json_object **out,
                        char *err, size_t errsz);
/* The same with a parser of its own. */
int jx_parse_without(const char *buf, size_t len, const char *const *path, size_t npath,
                     struct json_object **out, char *err, size_t errsz);

/* Members of an object to keep (jx_parser_parse_keep): an array ended by a NULL
 * k_name. A member is kept whole, or, with k_sub, when its value is an object, only
 * the members k_sub names (an array's object elements each so). */
struct jx_keep {
    const char *k_name;
    const struct jx_keep *k_sub;
};
/* jx_parser_parse of the object text with only the members keep names (at every
 * depth keep reaches), the others cut from the text unbuilt: the same tree as the
 * whole text parsed and then pruned. What is cut is read only as far as needed to
 * find its end (brackets, strings), never validated: a malformed value in it goes
 * unreported. A text it cannot cut (an escaped key, a NUL byte, malformed where it
 * had to read) is parsed whole and then pruned (json-c says what is wrong); one
 * that is not an object, parsed as it is. */
int jx_parser_parse_keep(struct jx_parser *p, const char *buf, size_t len,
                         const struct jx_keep *keep, struct json_object **out, char *err,
                         size_t errsz);

/* Removes from obj the members keep does not name, at every depth keep reaches
 * (the tree jx_parser_parse_keep builds from obj's text). */
void jx_keep_prune(struct json_object *obj, const struct jx_keep *keep);

/* Compact serialisation (no spaces, '/' not escaped) into a malloc'd string the
 * caller frees; *len (optional) gets its length. NULL on allocation failure. */
char *jx_dump(struct json_object *obj, size_t *len);

/* Sets path in obj to val, creating missing intermediate objects (digits are keys
 * here, never indices). Always takes the reference val (put on failure); val may
 * be NULL for a JSON null. 0, -EINVAL (obj or an intermediate is not an object)
 * or -ENOMEM. */
int jx_set(struct json_object *obj, const char *path, struct json_object *val);
/* Typed setters over jx_set; s NULL sets null. */
int jx_set_str(struct json_object *obj, const char *path, const char *s);
int jx_set_i64(struct json_object *obj, const char *path, int64_t v);
int jx_set_bool(struct json_object *obj, const char *path, bool v);
/* A new JSON array of the n strings of v (new reference), NULL on ENOMEM. */
struct json_object *jx_str_array(const char *const *v, size_t n);

/* Adds v under key k of o, taking the reference v: put on failure; a NULL v (a
 * failed constructor) is -ENOMEM. 0 or -ENOMEM. For building objects by hand. */
int jx_add(struct json_object *o, const char *k, struct json_object *v);
/* jx_add of a new string s. */
int jx_add_str(struct json_object *o, const char *k, const char *s);
/* Appends v to the array arr, taking the reference as jx_add does. */
int jx_push(struct json_object *arr, struct json_object *v);

/* Appends s as a JSON string (quoted, escaped) to sb; NULL appends null. For
 * JSON bodies written by hand (the watcher's replies, the compact objects). */
struct sbuf;
void jx_put_str(struct sbuf *sb, const char *s);

#endif

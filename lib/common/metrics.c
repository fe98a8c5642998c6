/* Metrics registry and Prometheus text exposition (0.0.4). Families keep their
 * children in creation order; one mutex per registry guards everything. The merge
 * of several processes' expositions is in the second half of this file. */
#include "lib/common/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/common/log.h"
#include "lib/common/util.h"

const double metrics_default_buckets[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
const size_t metrics_default_nbuckets =
    sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);

struct child {
    char **values;
    double value;     /* counter, gauge */
    uint64_t *counts; /* histogram: per bucket, not cumulative */
    double sum;
    uint64_t count;
};

struct metrics_family {
    struct metrics *reg;
    char *name;
    char *help;
    enum metrics_type type;
    char **labels;
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    struct child **children;
    size_t nchildren, cap;
};

struct metrics {
    pthread_mutex_t mu;
    struct metrics_family **fams;
    size_t nfams;
    char *cl_names[METRICS_MAX_LABELS];
    char *cl_values[METRICS_MAX_LABELS];
    size_t ncl;
};

const char *metrics_type_str(enum metrics_type t)
{
    switch (t) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_GAUGE:
        return "gauge";
    case METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* ---- names ---- */

static bool name_start(char c, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool name_char(char c, bool colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Metric names allow ':', label names do not. */
static bool valid_name(const char *s, bool colon)
{
    if (s == NULL || !name_start(s[0], colon))
        return false;
    for (; *s != '\0'; s++)
        if (!name_char(*s, colon))
            return false;
    return true;
}

static bool valid_label_name(const char *s)
{
    return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

/* ---- registry ---- */

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

static void free_strv(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void child_free(struct child *c, size_t nlabels)
{
    if (c == NULL)
        return;
    free_strv(c->values, nlabels);
    free(c->counts);
    free(c);
}

static void family_free(struct metrics_family *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nchildren; i++)
        child_free(f->children[i], f->nlabels);
    free(f->children);
    free_strv(f->labels, f->nlabels);
    free(f->buckets);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nfams; i++)
        family_free(m->fams[i]);
    free(m->fams);
    for (size_t i = 0; i < m->ncl; i++) {
        free(m->cl_names[i]);
        free(m->cl_values[i]);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool const_label_used(const struct metrics *m, const char *name)
{
    for (size_t i = 0; i < m->ncl; i++)
        if (strcmp(m->cl_names[i], name) == 0)
            return true;
    return false;
}

static bool family_has_label(const struct metrics_family *f, const char *name)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i], name) == 0)
            return true;
    return f->type == METRICS_HISTOGRAM && strcmp(name, "le") == 0;
}

int metrics_const_label(struct metrics *m, const char *name, const char *value)
{
    if (m == NULL || !valid_label_name(name) || strcmp(name, "le") == 0 || value == NULL)
        return -EINVAL;
    int rc = -EINVAL;
    pthread_mutex_lock(&m->mu);
    if (m->ncl == METRICS_MAX_LABELS || const_label_used(m, name))
        goto out;
    for (size_t i = 0; i < m->nfams; i++)
        if (family_has_label(m->fams[i], name))
            goto out;
    rc = -ENOMEM;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        goto out;
    }
    m->cl_names[m->ncl] = n;
    m->cl_values[m->ncl] = v;
    m->ncl++;
    rc = 0;
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static struct metrics_family *find_family(struct metrics *m, const char *name)
{
    for (size_t i = 0; i < m->nfams; i++)
        if (strcmp(m->fams[i]->name, name) == 0)
            return m->fams[i];
    return NULL;
}

static int check_labels(const struct metrics *m, enum metrics_type type, const char *const *labels,
                        size_t nlabels)
{
    if (nlabels > METRICS_MAX_LABELS || (nlabels > 0 && labels == NULL))
        return -EINVAL;
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_label_name(labels[i]) || const_label_used(m, labels[i]))
            return -EINVAL;
        if (type == METRICS_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return -EINVAL;
    }
    return 0;
}

static int check_buckets(const double *b, size_t n)
{
    if (n > METRICS_MAX_BUCKETS + 1)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        bool last_inf = i == n - 1 && isinf(b[i]) && b[i] > 0;
        if (!isfinite(b[i]) && !last_inf)
            return -EINVAL;
        if (i > 0 && !(b[i] > b[i - 1]))
            return -EINVAL;
    }
    return 0;
}

static bool same_family(const struct metrics_family *f, enum metrics_type type,
                        const char *const *labels, size_t nlabels)
{
    if (f->type != type || f->nlabels != nlabels)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    return true;
}

static char **dup_strv(const char *const *v, size_t n)
{
    char **r = calloc(n > 0 ? n : 1, sizeof(*r));
    for (size_t i = 0; r != NULL && i < n; i++) {
        if ((r[i] = strdup(v[i])) == NULL) {
            free_strv(r, i);
            return NULL;
        }
    }
    return r;
}

static struct child *child_new(const struct metrics_family *f, const char *const *values)
{
    struct child *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->values = dup_strv(values, f->nlabels);
    if (f->type == METRICS_HISTOGRAM)
        c->counts = calloc(f->nbuckets > 0 ? f->nbuckets : 1, sizeof(*c->counts));
    if (c->values == NULL || (f->type == METRICS_HISTOGRAM && c->counts == NULL)) {
        child_free(c, c->values != NULL ? f->nlabels : 0);
        return NULL;
    }
    return c;
}

static struct child *find_child(struct metrics_family *f, const char *const *values)
{
    for (size_t i = 0; i < f->nchildren; i++) {
        struct child *c = f->children[i];
        size_t j = 0;
        while (j < f->nlabels && strcmp(c->values[j], values[j]) == 0)
            j++;
        if (j == f->nlabels)
            return c;
    }
    return NULL;
}

/* The child for values, created at zero when missing. Called with the lock held. */
static int get_child(struct metrics_family *f, const char *const *values, struct child **out)
{
    struct child *c = find_child(f, values);
    if (c != NULL) {
        *out = c;
        return 0;
    }
    if (f->nchildren == METRICS_MAX_CHILDREN)
        return -ENOSPC;
    if (f->nchildren == f->cap) {
        size_t cap = f->cap != 0 ? f->cap * 2 : 4;
        struct child **nc = realloc(f->children, cap * sizeof(*nc));
        if (nc == NULL)
            return -ENOMEM;
        f->children = nc;
        f->cap = cap;
    }
    if ((c = child_new(f, values)) == NULL)
        return -ENOMEM;
    f->children[f->nchildren++] = c;
    *out = c;
    return 0;
}

static struct metrics_family *family_new(struct metrics *m, const char *name, const char *help,
                                         enum metrics_type type, const char *const *labels,
                                         size_t nlabels, const double *buckets, size_t nbuckets)
{
    struct metrics_family *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->reg = m;
    f->type = type;
    f->nlabels = nlabels;
    f->name = strdup(name);
    f->help = strdup(help);
    f->labels = dup_strv(labels, nlabels);
    if (type == METRICS_HISTOGRAM) {
        if (nbuckets > 0 && isinf(buckets[nbuckets - 1]))
            nbuckets--; /* +Inf is implied */
        f->nbuckets = nbuckets;
        f->buckets = malloc((nbuckets > 0 ? nbuckets : 1) * sizeof(double));
        if (f->buckets != NULL && nbuckets > 0)
            memcpy(f->buckets, buckets, nbuckets * sizeof(double));
    }
    if (f->name == NULL || f->help == NULL || f->labels == NULL ||
        (type == METRICS_HISTOGRAM && f->buckets == NULL)) {
        if (f->labels == NULL)
            f->nlabels = 0;
        family_free(f);
        return NULL;
    }
    return f;
}

/* Appends f to m; a family without labels gets its one child now. Lock held. */
static int add_family(struct metrics *m, struct metrics_family *f)
{
    struct child *c;
    if (f->nlabels == 0 && get_child(f, NULL, &c) != 0)
        return -ENOMEM;
    struct metrics_family **nf = realloc(m->fams, (m->nfams + 1) * sizeof(*nf));
    if (nf == NULL)
        return -ENOMEM;
    m->fams = nf;
    m->fams[m->nfams++] = f;
    return 0;
}

static int register_family(struct metrics *m, const char *name, const char *help,
                           enum metrics_type type, const char *const *labels, size_t nlabels,
                           const double *buckets, size_t nbuckets, struct metrics_family **out)
{
    if (m == NULL || !valid_name(name, true) || help == NULL || *help == '\0' || out == NULL)
        return -EINVAL;
    if (type == METRICS_HISTOGRAM && buckets == NULL) {
        buckets = metrics_default_buckets;
        nbuckets = metrics_default_nbuckets;
    }
    if (type == METRICS_HISTOGRAM && check_buckets(buckets, nbuckets) != 0)
        return -EINVAL;
    pthread_mutex_lock(&m->mu);
    struct metrics_family *f = find_family(m, name);
    int rc = check_labels(m, type, labels, nlabels);
    if (rc == 0 && f != NULL)
        rc = same_family(f, type, labels, nlabels) ? 0 : -EEXIST;
    if (rc == 0 && f == NULL) {
        f = family_new(m, name, help, type, labels, nlabels, buckets, nbuckets);
        rc = f == NULL ? -ENOMEM : add_family(m, f);
        if (rc != 0) {
            family_free(f);
            f = NULL;
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (rc == 0)
        *out = f;
    return rc;
}

int metrics_counter_new(struct metrics *m, const char *name, const char *help,
                        const char *const *labels, size_t nlabels, struct metrics_family **out)
{
    return register_family(m, name, help, METRICS_COUNTER, labels, nlabels, NULL, 0, out);
}

int metrics_gauge_new(struct metrics *m, const char *name, const char *help,
                      const char *const *labels, size_t nlabels, struct metrics_family **out)
{
    return register_family(m, name, help, METRICS_GAUGE, labels, nlabels, NULL, 0, out);
}

int metrics_histogram_new(struct metrics *m, const char *name, const char *help,
                          const char *const *labels, size_t nlabels, const double *buckets,
                          size_t nbuckets, struct metrics_family **out)
{
    return register_family(m, name, help, METRICS_HISTOGRAM, labels, nlabels, buckets, nbuckets,
                           out);
}

/* ---- updates ---- */

enum op { OP_ADD, OP_SET, OP_GADD, OP_OBSERVE };

static bool op_ok(const struct metrics_family *f, enum op op, double v)
{
    switch (op) {
    case OP_ADD:
        return f->type == METRICS_COUNTER && isfinite(v) && v >= 0;
    case OP_SET:
    case OP_GADD:
        return f->type == METRICS_GAUGE;
    case OP_OBSERVE:
        return f->type == METRICS_HISTOGRAM && !isnan(v);
    }
    return false;
}

static void apply(struct metrics_family *f, struct child *c, enum op op, double v)
{
    switch (op) {
    case OP_ADD:
    case OP_GADD:
        c->value += v;
        break;
    case OP_SET:
        c->value = v;
        break;
    case OP_OBSERVE:
        for (size_t i = 0; i < f->nbuckets; i++) {
            if (v <= f->buckets[i]) {
                c->counts[i]++;
                break;
            }
        }
        c->sum += v;
        c->count++;
        break;
    }
}

static int update(struct metrics_family *f, enum op op, double v, const char *const *values)
{
    if (f == NULL || !op_ok(f, op, v) || (f->nlabels > 0 && values == NULL))
        return -EINVAL;
    for (size_t i = 0; i < f->nlabels; i++)
        if (values[i] == NULL)
            return -EINVAL;
    pthread_mutex_lock(&f->reg->mu);
    struct child *c;
    int rc = get_child(f, values, &c);
    if (rc == 0)
        apply(f, c, op, v);
    pthread_mutex_unlock(&f->reg->mu);
    return rc;
}

/* Collects the NULL-terminated label values of a varargs call: exactly as many as
 * the family has label names, else -EINVAL. */
static int update_va(struct metrics_family *f, enum op op, double v, va_list ap)
{
    const char *values[METRICS_MAX_LABELS + 1];
    if (f == NULL)
        return -EINVAL;
    size_t n = 0;
    const char *s;
    while (n <= f->nlabels && (s = va_arg(ap, const char *)) != NULL)
        values[n++] = s;
    if (n != f->nlabels)
        return -EINVAL;
    return update(f, op, v, values);
}

int metrics_counter_addv(struct metrics_family *f, double v, const char *const *values)
{
    return update(f, OP_ADD, v, values);
}

int metrics_gauge_setv(struct metrics_family *f, double v, const char *const *values)
{
    return update(f, OP_SET, v, values);
}

int metrics_gauge_addv(struct metrics_family *f, double v, const char *const *values)
{
    return update(f, OP_GADD, v, values);
}

int metrics_observev(struct metrics_family *f, double v, const char *const *values)
{
    return update(f, OP_OBSERVE, v, values);
}

#define VA_UPDATE(op)                                                                              \
    va_list ap;                                                                                    \
    va_start(ap, v);                                                                               \
    int rc = update_va(f, op, v, ap);                                                              \
    va_end(ap);                                                                                    \
    return rc

int metrics_counter_add_l(struct metrics_family *f, double v, ...)
{
    VA_UPDATE(OP_ADD);
}

int metrics_gauge_set_l(struct metrics_family *f, double v, ...)
{
    VA_UPDATE(OP_SET);
}

int metrics_gauge_add_l(struct metrics_family *f, double v, ...)
{
    VA_UPDATE(OP_GADD);
}

int metrics_observe_l(struct metrics_family *f, double v, ...)
{
    VA_UPDATE(OP_OBSERVE);
}

int metrics_get(struct metrics_family *f, const char *const *values, double *out)
{
    if (f == NULL || out == NULL || (f->nlabels > 0 && values == NULL))
        return -EINVAL;
    pthread_mutex_lock(&f->reg->mu);
    struct child *c = find_child(f, values);
    if (c != NULL)
        *out = f->type == METRICS_HISTOGRAM ? (double)c->count : c->value;
    pthread_mutex_unlock(&f->reg->mu);
    return c != NULL ? 0 : -ENOENT;
}

/* ---- rendering ---- */

/* A float as Prometheus (Go's strconv.ParseFloat) reads it: +Inf, -Inf, NaN,
 * integers in full, others in the shortest %g form that reads back exactly. */
static void fmt_double(double v, char *buf, size_t sz)
{
    if (isnan(v)) {
        snprintf(buf, sz, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, sz, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sz, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sz, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void put_escaped(struct sbuf *sb, const char *s, bool quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            sbuf_puts(sb, "\\\\");
        else if (*s == '\n')
            sbuf_puts(sb, "\\n");
        else if (*s == '"' && quote)
            sbuf_puts(sb, "\\\"");
        else
            sbuf_putc(sb, *s);
    }
}

static void put_pair(struct sbuf *sb, bool *first, const char *name, const char *value)
{
    sbuf_putc(sb, *first ? '{' : ',');
    *first = false;
    sbuf_puts(sb, name);
    sbuf_puts(sb, "=\"");
    put_escaped(sb, value, true);
    sbuf_putc(sb, '"');
}

/* name + suffix + {const labels, child labels, le} + ' ' + value + '\n'. */
static void put_sample(struct sbuf *sb, const struct metrics *m, const struct metrics_family *f,
                       const struct child *c, const char *suffix, const char *le, double v)
{
    char num[40];
    bool first = true;
    sbuf_puts(sb, f->name);
    sbuf_puts(sb, suffix);
    for (size_t i = 0; i < m->ncl; i++)
        put_pair(sb, &first, m->cl_names[i], m->cl_values[i]);
    for (size_t i = 0; i < f->nlabels; i++)
        put_pair(sb, &first, f->labels[i], c->values[i]);
    if (le != NULL)
        put_pair(sb, &first, "le", le);
    if (!first)
        sbuf_putc(sb, '}');
    fmt_double(v, num, sizeof(num));
    sbuf_putc(sb, ' ');
    sbuf_puts(sb, num);
    sbuf_putc(sb, '\n');
}

static void put_histogram(struct sbuf *sb, const struct metrics *m, const struct metrics_family *f,
                          const struct child *c)
{
    char le[40];
    uint64_t cum = 0;
    for (size_t i = 0; i < f->nbuckets; i++) {
        cum += c->counts[i];
        fmt_double(f->buckets[i], le, sizeof(le));
        put_sample(sb, m, f, c, "_bucket", le, (double)cum);
    }
    put_sample(sb, m, f, c, "_bucket", "+Inf", (double)c->count);
    put_sample(sb, m, f, c, "_sum", NULL, c->sum);
    put_sample(sb, m, f, c, "_count", NULL, (double)c->count);
}

static void put_family(struct sbuf *sb, const struct metrics *m, const struct metrics_family *f)
{
    sbuf_appendf(sb, "# HELP %s ", f->name);
    put_escaped(sb, f->help, false);
    sbuf_appendf(sb, "\n# TYPE %s %s\n", f->name, metrics_type_str(f->type));
    for (size_t i = 0; i < f->nchildren; i++) {
        if (f->type == METRICS_HISTOGRAM)
            put_histogram(sb, m, f, f->children[i]);
        else
            put_sample(sb, m, f, f->children[i], "", NULL, f->children[i]->value);
    }
}

int metrics_render(struct metrics *m, char **out, size_t *len)
{
    if (m == NULL || out == NULL)
        return -EINVAL;
    struct sbuf sb;
    sbuf_init(&sb);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfams; i++)
        put_family(&sb, m, m->fams[i]);
    pthread_mutex_unlock(&m->mu);
    char *s = sbuf_detach(&sb, len);
    if (s == NULL)
        return -ENOMEM;
    *out = s;
    return 0;
}

/* ---- merging expositions ----
 * Each input is parsed on its own first (lines are kept as spans into the input,
 * never copied), so a bad input is left out whole. Declarations (HELP, TYPE) of
 * the good inputs are committed first; only then are samples assigned to
 * families, so that x_bucket finds histogram x whichever input declared it. */

enum mtype { MT_NONE = -1, MT_COUNTER, MT_GAUGE, MT_HISTOGRAM, MT_SUMMARY, MT_UNTYPED };
static const char *const mtype_names[] = {"counter", "gauge", "histogram", "summary", "untyped"};

struct span {
    const char *p;
    size_t n;
};

struct mdecl {
    struct span name;
    enum mtype type;
    bool has_help;
    struct span help;
};

struct msample {
    struct span name;
    struct span line;
};

struct mfam {
    struct mdecl d;
    bool declared; /* by a HELP or TYPE line, not only by samples */
    struct span *lines;
    size_t nlines, cap;
};

/* One input's parse, or everything committed so far. */
struct mset {
    struct mdecl *decls;
    size_t ndecls, capd;
    struct msample *samples;
    size_t nsamples, caps;
};

static bool span_eq(struct span a, struct span b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

/* Grows *v (of *cap elements of size sz) to hold n + 1. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap != 0 ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * sz);
    if (nv == NULL)
        return -ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

static void mset_free(struct mset *s)
{
    free(s->decls);
    free(s->samples);
    memset(s, 0, sizeof(*s));
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_blank(const char *l, size_t n, size_t i)
{
    while (i < n && blank(l[i]))
        i++;
    return i;
}

/* A metric name at l[i..]: its end, or i when there is none. */
static size_t scan_name(const char *l, size_t n, size_t i, bool colon)
{
    if (i >= n || !name_start(l[i], colon))
        return i;
    while (i < n && name_char(l[i], colon))
        i++;
    return i;
}

/* Go's strconv.ParseFloat forms that matter: decimals, [+-]Inf, NaN. */
static bool valid_value(const char *s, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *u = buf + (buf[0] == '+' || buf[0] == '-');
    if (strcasecmp(u, "inf") == 0 || strcasecmp(u, "infinity") == 0 || strcasecmp(buf, "nan") == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (!(buf[i] >= '0' && buf[i] <= '9') && strchr("+-.eE", buf[i]) == NULL)
            return false;
    char *end;
    strtod(buf, &end);
    return end != buf && *end == '\0';
}

static bool valid_timestamp(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-' ? 1 : 0;
    if (i == n)
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A quoted label value at l[*i] (the opening quote); NULL or an error. */
static const char *scan_label_value(const char *l, size_t n, size_t *i)
{
    if (*i >= n || l[*i] != '"')
        return "expected '\"' to open a label value";
    for (size_t j = *i + 1; j < n; j++) {
        if (l[j] == '"') {
            *i = j + 1;
            return NULL;
        }
        if (l[j] == '\\' && (j + 1 == n || strchr("\\\"n", l[j + 1]) == NULL))
            return "invalid escape in a label value";
        if (l[j] == '\\')
            j++;
    }
    return "unterminated label value";
}

/* {name="value",...} starting at l[*i] == '{'; NULL or an error. */
static const char *scan_labels(const char *l, size_t n, size_t *i)
{
    size_t j = *i + 1;
    for (;;) {
        j = skip_blank(l, n, j);
        if (j < n && l[j] == '}')
            break;
        size_t e = scan_name(l, n, j, false);
        if (e == j)
            return "invalid label name";
        j = skip_blank(l, n, e);
        if (j >= n || l[j] != '=')
            return "expected '=' after a label name";
        j = skip_blank(l, n, j + 1);
        const char *err = scan_label_value(l, n, &j);
        if (err != NULL)
            return err;
        j = skip_blank(l, n, j);
        if (j < n && l[j] == ',') {
            j++;
            continue;
        }
        if (j < n && l[j] == '}')
            break;
        return "expected ',' or '}' in labels";
    }
    *i = j + 1;
    return NULL;
}

/* name[{labels}] value [timestamp]; NULL or an error. */
static const char *scan_sample(const char *l, size_t n, struct span *name)
{
    size_t i = scan_name(l, n, 0, true);
    if (i == 0)
        return "invalid metric name";
    *name = (struct span){l, i};
    if (i < n && l[i] == '{') {
        const char *err = scan_labels(l, n, &i);
        if (err != NULL)
            return err;
    }
    size_t v = skip_blank(l, n, i);
    if (v == i && i < n)
        return "expected a blank before the value";
    size_t ve = v;
    while (ve < n && !blank(l[ve]))
        ve++;
    if (!valid_value(l + v, ve - v))
        return "invalid sample value";
    size_t t = skip_blank(l, n, ve);
    if (t < n && !valid_timestamp(l + t, n - t))
        return "invalid timestamp";
    return NULL;
}

static struct mdecl *find_decl(struct mset *s, struct span name)
{
    for (size_t i = 0; i < s->ndecls; i++)
        if (span_eq(s->decls[i].name, name))
            return &s->decls[i];
    return NULL;
}

static int decl_for(struct mset *s, struct span name, struct mdecl **out)
{
    struct mdecl *d = find_decl(s, name);
    if (d == NULL) {
        if (grow((void **)&s->decls, &s->capd, s->ndecls, sizeof(*s->decls)) != 0)
            return -ENOMEM;
        d = &s->decls[s->ndecls++];
        *d = (struct mdecl){.name = name, .type = MT_NONE};
    }
    *out = d;
    return 0;
}

static const char *check_help(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\')
            continue;
        if (i + 1 == n || (p[i + 1] != '\\' && p[i + 1] != 'n'))
            return "invalid escape in HELP";
        i++;
    }
    return NULL;
}

static const char *set_type(struct mdecl *d, const char *w, size_t n)
{
    if (d->type != MT_NONE)
        return "second TYPE line for a metric";
    for (int t = MT_COUNTER; t <= MT_UNTYPED; t++) {
        if (strlen(mtype_names[t]) == n && memcmp(mtype_names[t], w, n) == 0) {
            d->type = (enum mtype)t;
            return NULL;
        }
    }
    return "unknown metric type";
}

/* "# HELP name text" or "# TYPE name type"; other comments are ignored. */
static const char *scan_comment(struct mset *s, const char *l, size_t n, int *rc)
{
    size_t i = skip_blank(l, n, 1);
    bool help = n - i > 4 && memcmp(l + i, "HELP", 4) == 0 && blank(l[i + 4]);
    bool type = n - i > 4 && memcmp(l + i, "TYPE", 4) == 0 && blank(l[i + 4]);
    if (!help && !type)
        return NULL;
    i = skip_blank(l, n, i + 4);
    size_t e = scan_name(l, n, i, true);
    if (e == i || (e < n && !blank(l[e])))
        return "invalid metric name in HELP or TYPE";
    struct mdecl *d;
    if ((*rc = decl_for(s, (struct span){l + i, e - i}, &d)) != 0)
        return "out of memory";
    size_t t = e < n ? e + 1 : n;
    if (type)
        return set_type(d, l + t, n - t);
    if (d->has_help)
        return "second HELP line for a metric";
    d->has_help = true;
    d->help = (struct span){l + t, n - t};
    return check_help(l + t, n - t);
}

static const char *scan_line(struct mset *s, const char *l, size_t n, int *rc)
{
    if (l[0] == '#')
        return scan_comment(s, l, n, rc);
    struct span name;
    const char *err = scan_sample(l, n, &name);
    if (err != NULL)
        return err;
    if ((*rc = grow((void **)&s->samples, &s->caps, s->nsamples, sizeof(*s->samples))) != 0)
        return "out of memory";
    s->samples[s->nsamples++] = (struct msample){name, {l, n}};
    return NULL;
}

/* Parses text into s. 0, -EINVAL (logged) or -ENOMEM. */
static int parse_input(struct mset *s, const char *text, size_t idx)
{
    int lineno = 0, rc = 0;
    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        const char *l = p;
        p = nl != NULL ? nl + 1 : p + n;
        lineno++;
        size_t b = skip_blank(l, n, 0);
        l += b;
        n -= b;
        while (n > 0 && (blank(l[n - 1]) || l[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        const char *err = scan_line(s, l, n, &rc);
        if (rc != 0)
            return rc;
        if (err != NULL) {
            char in[24], ln[24];
            snprintf(in, sizeof(in), "%zu", idx);
            snprintf(ln, sizeof(ln), "%d", lineno);
            log_warn("metrics: left out an exposition with a malformed line", "input", in, "line",
                     ln, "error", err, NULL);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- the merged set of families ---- */

struct merged {
    struct mfam *fams;
    size_t nfams, cap;
};

static struct mfam *mfind(struct merged *g, struct span name)
{
    for (size_t i = 0; i < g->nfams; i++)
        if (span_eq(g->fams[i].d.name, name))
            return &g->fams[i];
    return NULL;
}

static struct mfam *madd(struct merged *g, struct span name)
{
    if (grow((void **)&g->fams, &g->cap, g->nfams, sizeof(*g->fams)) != 0)
        return NULL;
    struct mfam *f = &g->fams[g->nfams++];
    memset(f, 0, sizeof(*f));
    f->d.name = name;
    f->d.type = MT_NONE;
    return f;
}

/* Commits the declarations of one parsed input, unless a TYPE contradicts an
 * earlier input's. 0, -EINVAL (logged; nothing changed) or -ENOMEM. */
static int commit_decls(struct merged *g, const struct mset *s, size_t idx)
{
    for (size_t i = 0; i < s->ndecls; i++) {
        const struct mfam *f = mfind(g, s->decls[i].name);
        if (f != NULL && f->d.type != MT_NONE && s->decls[i].type != MT_NONE &&
            f->d.type != s->decls[i].type) {
            char in[24];
            snprintf(in, sizeof(in), "%zu", idx);
            log_warn("metrics: left out an exposition whose TYPE contradicts another's", "input",
                     in, "type", mtype_names[s->decls[i].type], "was", mtype_names[f->d.type],
                     NULL);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < s->ndecls; i++) {
        const struct mdecl *d = &s->decls[i];
        struct mfam *f = mfind(g, d->name);
        if (f == NULL && (f = madd(g, d->name)) == NULL)
            return -ENOMEM;
        f->declared = true;
        if (f->d.type == MT_NONE)
            f->d.type = d->type;
        if (!f->d.has_help && d->has_help) {
            f->d.has_help = true;
            f->d.help = d->help;
        }
    }
    return 0;
}

static bool ends_with(struct span s, const char *suf, struct span *stem)
{
    size_t n = strlen(suf);
    if (s.n <= n || memcmp(s.p + s.n - n, suf, n) != 0)
        return false;
    *stem = (struct span){s.p, s.n - n};
    return true;
}

/* The family a sample belongs to: a declared family of its exact name, else the
 * histogram or summary its suffix points to, else an undeclared one of its name. */
static struct mfam *family_of(struct merged *g, struct span name)
{
    struct mfam *f = mfind(g, name);
    if (f != NULL && f->declared)
        return f;
    static const struct {
        const char *suf;
        bool summary;
    } sufs[] = {{"_bucket", false}, {"_sum", true}, {"_count", true}};
    for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++) {
        struct span stem;
        struct mfam *h;
        if (!ends_with(name, sufs[i].suf, &stem) || (h = mfind(g, stem)) == NULL)
            continue;
        if (h->d.type == MT_HISTOGRAM || (sufs[i].summary && h->d.type == MT_SUMMARY))
            return h;
    }
    return f != NULL ? f : madd(g, name);
}

static int assign_samples(struct merged *g, const struct mset *all)
{
    for (size_t i = 0; i < all->nsamples; i++) {
        struct mfam *f = family_of(g, all->samples[i].name);
        if (f == NULL || grow((void **)&f->lines, &f->cap, f->nlines, sizeof(*f->lines)) != 0)
            return -ENOMEM;
        f->lines[f->nlines++] = all->samples[i].line;
    }
    return 0;
}

static int cmp_fam(const void *a, const void *b)
{
    const struct span *x = &((const struct mfam *)a)->d.name;
    const struct span *y = &((const struct mfam *)b)->d.name;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    if (c != 0)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

static void put_mfam(struct sbuf *sb, const struct mfam *f)
{
    const struct mdecl *d = &f->d;
    if (d->has_help)
        sbuf_appendf(sb, "# HELP %.*s %.*s\n", (int)d->name.n, d->name.p, (int)d->help.n,
                     d->help.p);
    if (d->type != MT_NONE)
        sbuf_appendf(sb, "# TYPE %.*s %s\n", (int)d->name.n, d->name.p, mtype_names[d->type]);
    for (size_t i = 0; i < f->nlines; i++) {
        sbuf_append(sb, f->lines[i].p, f->lines[i].n);
        sbuf_putc(sb, '\n');
    }
}

/* Parses and commits input idx; its samples join all. 1 when left out. */
static int merge_one(struct merged *g, struct mset *all, const char *text, size_t idx)
{
    struct mset s = {0};
    int rc = parse_input(&s, text, idx);
    if (rc == 0)
        rc = commit_decls(g, &s, idx);
    for (size_t i = 0; rc == 0 && i < s.nsamples; i++) {
        rc = grow((void **)&all->samples, &all->caps, all->nsamples, sizeof(*all->samples));
        if (rc == 0)
            all->samples[all->nsamples++] = s.samples[i];
    }
    mset_free(&s);
    return rc == -EINVAL ? 1 : rc;
}

int metrics_merge(const char *const *texts, size_t n, char **out)
{
    struct merged g = {0};
    struct mset all = {0};
    struct sbuf sb;
    int skipped = 0, rc = 0;
    sbuf_init(&sb);
    if (out == NULL || (n > 0 && texts == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        rc = texts[i] != NULL ? merge_one(&g, &all, texts[i], i) : 0;
        skipped += rc > 0;
    }
    if (rc >= 0)
        rc = assign_samples(&g, &all);
    if (rc >= 0 && g.nfams > 0)
        qsort(g.fams, g.nfams, sizeof(*g.fams), cmp_fam);
    for (size_t i = 0; rc >= 0 && i < g.nfams; i++)
        put_mfam(&sb, &g.fams[i]);
    for (size_t i = 0; i < g.nfams; i++)
        free(g.fams[i].lines);
    free(g.fams);
    mset_free(&all);
    char *s = rc >= 0 ? sbuf_detach(&sb, NULL) : NULL;
    sbuf_free(&sb);
    if (s == NULL)
        return -ENOMEM;
    *out = s;
    return skipped;
}

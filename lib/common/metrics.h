/* A Prometheus metrics registry for one process (counters, gauges and histograms,
 * each family with fixed label names), its text exposition (format 0.0.4), and the
 * merge of several processes' expositions into one, for httpd's /metrics. */
#ifndef OMJOB_LIB_COMMON_METRICS_H
#define OMJOB_LIB_COMMON_METRICS_H

#include <stddef.h>

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* "counter", "gauge", "histogram". */
const char *metrics_type_str(enum metrics_type t);

/* A registry. Every call on it and on its families is thread-safe (one mutex). */
struct metrics;
/* A family: name, help, type and label names; owned by its registry. */
struct metrics_family;

/* Prometheus' default buckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
extern const double metrics_default_buckets[];
extern const size_t metrics_default_nbuckets;

/* Limits that keep a bug (say, a label value per object) from eating memory. */
#define METRICS_MAX_LABELS 8
#define METRICS_MAX_BUCKETS 64
#define METRICS_MAX_CHILDREN 10000

/* NULL on ENOMEM. */
struct metrics *metrics_new(void);
/* Frees the registry and all its families. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Adds a label rendered first on every sample, e.g. role="reconciler-2", so that
 * samples from several processes stay distinct after metrics_merge. 0, -EINVAL
 * (bad name, or used by a family or already set) or -ENOMEM. */
int metrics_const_label(struct metrics *m, const char *name, const char *value);

/* Registers a family. name: [a-zA-Z_:][a-zA-Z0-9_:]*; help: non-empty; labels:
 * nlabels distinct names [a-zA-Z_][a-zA-Z0-9_]*, not starting "__" ("le" is
 * reserved for histograms). Registering the same name with the same type and
 * labels again returns the existing family; otherwise -EEXIST. A family without
 * labels shows its zero sample at once. *out is borrowed from m. 0, -EINVAL,
 * -EEXIST or -ENOMEM. */
int metrics_counter_new(struct metrics *m, const char *name, const char *help,
                        const char *const *labels, size_t nlabels, struct metrics_family **out);
int metrics_gauge_new(struct metrics *m, const char *name, const char *help,
                      const char *const *labels, size_t nlabels, struct metrics_family **out);
/* buckets: strictly increasing finite upper bounds (a final +Inf is implied and may
 * be given); NULL for metrics_default_buckets. */
int metrics_histogram_new(struct metrics *m, const char *name, const char *help,
                          const char *const *labels, size_t nlabels, const double *buckets,
                          size_t nbuckets, struct metrics_family **out);

/* Updates the child with the given label values (one per label name, in order),
 * creating it at zero first. The "v" forms take an array; the others take the
 * values as arguments: metrics_counter_add(fam, 1.0, "success"). 0, -EINVAL
 * (wrong family type, wrong number of values, a negative or non-finite counter
 * increment, a NaN observation), -ENOSPC (METRICS_MAX_CHILDREN) or -ENOMEM. */
int metrics_counter_addv(struct metrics_family *f, double v, const char *const *values);
int metrics_gauge_setv(struct metrics_family *f, double v, const char *const *values);
int metrics_gauge_addv(struct metrics_family *f, double v, const char *const *values);
int metrics_observev(struct metrics_family *f, double v, const char *const *values);

int metrics_counter_add_l(struct metrics_family *f, double v, ...) __attribute__((sentinel));
int metrics_gauge_set_l(struct metrics_family *f, double v, ...) __attribute__((sentinel));
int metrics_gauge_add_l(struct metrics_family *f, double v, ...) __attribute__((sentinel));
int metrics_observe_l(struct metrics_family *f, double v, ...) __attribute__((sentinel));
#define metrics_counter_add(f, ...) metrics_counter_add_l((f), __VA_ARGS__, (const char *)NULL)
#define metrics_gauge_set(f, ...) metrics_gauge_set_l((f), __VA_ARGS__, (const char *)NULL)
#define metrics_gauge_add(f, ...) metrics_gauge_add_l((f), __VA_ARGS__, (const char *)NULL)
#define metrics_observe(f, ...) metrics_observe_l((f), __VA_ARGS__, (const char *)NULL)

/* Reads a child: the value of a counter or gauge, the observation count of a
 * histogram. 0, -ENOENT (no such child yet) or -EINVAL. */
int metrics_get(struct metrics_family *f, const char *const *values, double *out);

/* Renders every family in registration order as text exposition 0.0.4: HELP and
 * TYPE lines always, then the samples in creation order. *out is malloc'd, the
 * caller frees it; *len (optional) gets its length. 0 or -ENOMEM. */
int metrics_render(struct metrics *m, char **out, size_t *len);

/* Merges n expositions (NULL entries count as empty) into one: each family once,
 * with the first HELP seen and its TYPE, then all its samples, input by input,
 * lines kept verbatim; families sorted by name. An input with a malformed line,
 * or a TYPE that contradicts an earlier input, is left out whole and logged
 * (log_warn). Samples are not deduplicated: give each input a distinct constant
 * label. Returns the number of inputs left out (>= 0) with *out malloc'd for the
 * caller to free, or -ENOMEM. */
int metrics_merge(const char *const *texts, size_t n, char **out);

#endif

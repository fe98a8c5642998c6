/* The inside of struct tz_zone, shared by the TZif reader (tz_tzif.c), the POSIX
 * TZ string code (tz_posix.c) and the zone cache (tz.c). Not for other callers. */
#ifndef OMJOB_CRON_TZ_IMPL_H
#define OMJOB_CRON_TZ_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cron/tz.h"

/* UTC offsets allowed by RFC 8536: more than -25 hours, less than 26 hours. */
#define TZ_UTOFF_MIN (-89999)
#define TZ_UTOFF_MAX 93599
/* Transition times accepted in a TZif file (tzdata's earliest is -2^59). */
#define TZ_TRANS_LIMIT (INT64_C(1) << 60)

/* One day of a POSIX rule: Jn (kind 'J'), n (kind 'n'), or Mm.w.d (kind 'M'), and
 * the local time of day of the change, in seconds (-167 h to 167 h). */
struct tz_rule_day {
    char kind;
    int n; /* Jn: 1-365; n: 0-365 */
    int m; /* Mm.w.d: month 1-12, week 1-5, weekday 0-6 */
    int w;
    int d;
    int32_t time;
};

/* A parsed POSIX TZ string. Without DST the zone is std_off all the time. */
struct tz_rule {
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    bool has_dst;
    struct tz_rule_day start; /* DST starts, in standard local time */
    struct tz_rule_day end;   /* DST ends, in DST local time */
};

struct tz_type {
    int32_t utoff;
    bool isdst;
};

struct tz_zone {
    char *name;
    int64_t *trans; /* ntrans transition times, strictly ascending */
    uint8_t *tidx;  /* type in effect from trans[i] on */
    size_t ntrans;
    struct tz_type *types; /* types[0] is in effect before the first transition */
    size_t ntypes;
    bool has_rule; /* rule governs times from the last transition on (or all) */
    struct tz_rule rule;
};

/* Parses a POSIX TZ string into *rule (written only on success). 0 or -EINVAL with
 * a sentence in err. */
int tz_rule_parse(const char *s, struct tz_rule *rule, char *err, size_t errlen);

/* The span of the rule containing t (|t| <= TZ_TIME_LIMIT). */
struct tz_span tz_rule_span(const struct tz_rule *rule, int64_t t);

#endif

/* Cron schedules for CronOMJob: the parser of spec.schedule and the search for
 * scheduled times in a time zone's wall-clock time. Pure functions of their
 * arguments (time in, time out): no process-global state, no localtime()/mktime(),
 * never the TZ variable; safe from any thread. docs/LIFECYCLE.md, "CronOMJob:
 * schedule and time zone", is the user-facing contract.
 *
 * Syntax: five fields separated by spaces or tabs,
 *     minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or jan-dec)
 *     day-of-week (0-7 or sun-sat; 0 and 7 are Sunday)
 * each a comma-separated list of items: "*" or "?" (every value), "N" or "A-B",
 * each optionally followed by "/S" (every S-th value from the first; "A/S" runs from
 * A to the field's maximum). Names in any case, in ranges too ("Mon-Fri"). Steps
 * go from 1 to the field's size (60, 24, 31, 12, 7); ranges must not run backwards. In day-of-week,
 * "*", "?" and "A/S" stop at 6 (Saturday); an explicit value or range may say 7. Or one of the
 * descriptors
 * @yearly @annually (0 0 1 1 *), @monthly (0 0 1 * *), @weekly (0 0 * * 0),
 * @daily @midnight (0 0 * * *), @hourly (0 * * * *).
 *
 * Days: when day-of-month and day-of-week are both restricted, a day matches when
 * either matches (Vixie cron, as Kubernetes' CronJob); when one is unrestricted (an
 * item "*" or "?" without a step larger than 1, as robfig/cron decides), both must.
 *
 * Refused: TZ= and CRON_TZ= prefixes (the zone is spec.timeZone), @every and other
 * descriptors, more than CRON_EXPR_MAX characters, and schedules that can never fire
 * ("0 0 30 2 *", "0 0 31 4,6,9,11 *").
 *
 * Times are Unix seconds. A schedule matches wall-clock minutes of the zone (second
 * 0 of a minute). Daylight saving: a wall-clock time that a forward change skips
 * does not fire that day; a wall-clock time that a backward change repeats fires
 * once, at its first occurrence. */
#ifndef OMJOB_CRON_CRON_H
#define OMJOB_CRON_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cron/tz.h"

/* Longest schedule accepted, in bytes (leading and trailing blanks included). */
#define CRON_EXPR_MAX 256
/* A size for err buffers that no parser message is cut in. */
#define CRON_ERR_MAX 256
/* The times the search works on: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define CRON_TIME_MIN INT64_C(-62135596800)
#define CRON_TIME_MAX INT64_C(253402300799)
/* How far cron_next() looks ahead before giving up (about 40 years; the sparsest
 * valid schedule, "0 0 29 2 *", has gaps of 8 years around 2100). */
#define CRON_HORIZON (INT64_C(40) * 366 * 86400)
/* cron_missed() counts exactly up to this many times; past it, it says CAP + 1. */
#define CRON_MISSED_CAP 100

/* Flags of struct cron_sched: the day field was unrestricted ("*" or "?"). */
#define CRON_DOM_STAR 0x1
#define CRON_DOW_STAR 0x2

/* A parsed schedule: a small value (24 bytes) to embed or copy, filled only by
 * cron_parse(). Bit n of a mask set means value n matches. */
struct cron_sched {
    uint64_t cs_minute; /* bits 0-59 */
    uint32_t cs_hour;   /* bits 0-23 */
    uint32_t cs_dom;    /* bits 1-31 */
    uint16_t cs_month;  /* bits 1-12 */
    uint8_t cs_dow;     /* bits 0-6, 0 Sunday (7 is folded into 0) */
    uint8_t cs_flags;   /* CRON_DOM_STAR, CRON_DOW_STAR */
};

/* Parses expr into *sched (written only on success). 0, or -EINVAL with one
 * sentence in err (when err is not NULL; CRON_ERR_MAX bytes suffice) naming the
 * field, the value and the accepted range, e.g. "minute field \"61\": 61 is out of
 * range 0-59", fit for an InvalidSchedule Event. */
int cron_parse(const char *expr, struct cron_sched *sched, char *err, size_t errlen);

/* The first scheduled time strictly after `after`, in zone's wall-clock time (see
 * the DST rules above). 0 and *next; -ERANGE when after or the result is outside
 * [CRON_TIME_MIN, CRON_TIME_MAX]; -ENOENT when nothing fires within CRON_HORIZON
 * (impossible for a schedule from cron_parse() in a real zone). */
int cron_next(const struct cron_sched *sched, const struct tz_zone *zone, int64_t after,
              int64_t *next);

/* The latest scheduled time at or before `at` (the same set of times as
 * cron_next(): t is scheduled iff cron_next(t - 1) == t). 0 and *prev; -ERANGE or
 * -ENOENT (nothing within CRON_HORIZON before at) otherwise. Cost: about 40
 * cron_next() calls (an exponential probe, then a bisection). */
int cron_prev(const struct cron_sched *sched, const struct tz_zone *zone, int64_t at,
              int64_t *prev);

/* What the controller needs to decide a run: the scheduled times t with
 * since < t <= now. *count is their number, exact up to CRON_MISSED_CAP and
 * CRON_MISSED_CAP + 1 for "more than that" (the TooManyMissedTimes Event); *latest
 * is the latest of them (the one to run), or `since` when *count is 0. Cost: at most
 * CRON_MISSED_CAP + 1 cron_next() calls, plus one cron_prev() past the cap, however
 * long the gap. 0, or the errors of cron_next() (-ENOENT is not an error here: no
 * time in the window). */
int cron_missed(const struct cron_sched *sched, const struct tz_zone *zone, int64_t since,
                int64_t now, int64_t *latest, unsigned *count);

#endif

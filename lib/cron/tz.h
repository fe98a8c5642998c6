/* Time zones for the schedule library: IANA zones read from the system's TZif files
 * (RFC 8536, versions 1 to 4, with the POSIX TZ string of the footer for times past
 * the last transition), without localtime(), mktime() or the TZ variable, so that
 * nothing here depends on or changes process-global state.
 *
 * Thread safety: a struct tz_zone is immutable once built and may be shared by any
 * number of threads. tz_get() keeps every zone it loads for the rest of the process
 * (a mutex-protected table: each name is read from disk once) and may be called from
 * any thread. */
#ifndef OMJOB_CRON_TZ_H
#define OMJOB_CRON_TZ_H

#include <stddef.h>
#include <stdint.h>

/* Longest zone name accepted ("America/Argentina/ComodRivadavia" is 32). */
#define TZ_NAME_MAX 128
/* Largest TZif file read (the largest in tzdata is under 4 KiB). */
#define TZ_FILE_MAX (256 * 1024)
/* A size for the err buffers below that no message is cut in. */
#define TZ_ERR_MAX 256
/* tz_span_at() and tz_offset_at() answer for |t| <= TZ_TIME_LIMIT (Unix seconds:
 * about a billion years), -ERANGE beyond. */
#define TZ_TIME_LIMIT (INT64_C(1) << 55)
/* The bound of a span that has no transition on that side. */
#define TZ_FOREVER (INT64_C(1) << 62)

struct tz_zone;

/* A stretch of time with one UTC offset: [start, end) in Unix seconds, start may be
 * -TZ_FOREVER and end TZ_FOREVER. Two adjacent spans may have the same offset (a
 * transition that changes only the abbreviation or the DST flag). */
struct tz_span {
    int64_t start;
    int64_t end;
    int32_t utoff; /* seconds east of UTC: local wall time = t + utoff */
};

/* The zone called name (an IANA name such as "Europe/London"), loaded from
 * $ZONEINFO/<name> when ZONEINFO is set and non-empty, else from
 * /usr/share/zoneinfo/<name>, on the first call for that name and from the cache on
 * later calls. "UTC" is built in and needs no file. *zone is borrowed: valid for
 * the rest of the process, never freed by the caller.
 * Returns 0; -EINVAL for a name that cannot be a zone (empty, too long, absolute,
 * with a "." or ".." component or characters other than letters, digits and
 * "/_-+."); -ENOENT for a zone that does not exist (no such file, or a directory);
 * -EBADMSG for a file that is not a valid TZif file; -EIO, -ENOMEM. err (when not
 * NULL) receives one sentence saying which zone and why, e.g. "unknown time zone
 * \"Mars/Olympus\" (no such zone in /usr/share/zoneinfo)"; any failure is the
 * controller's UnknownTimeZone. Failures are not cached: a zone installed later is
 * found by a later call. NULL and "" are -EINVAL: the caller maps an absent
 * spec.timeZone to "UTC". Lookups scan the loaded zones under the lock (a process
 * uses a handful of zones, however many CronOMJobs name them). */
int tz_get(const char *name, const struct tz_zone **zone, char *err, size_t errlen);

/* The built-in UTC zone (borrowed, static). */
const struct tz_zone *tz_utc(void);

/* 0 when name is acceptable as a zone name (see tz_get), else -EINVAL with a
 * sentence in err. Does not look for the file. */
int tz_name_check(const char *name, char *err, size_t errlen);

/* Builds a zone from the bytes of a TZif file (len <= TZ_FILE_MAX): the 64-bit data
 * when the version is 2 or later, the 32-bit data for version 1; leap second
 * records are skipped (the zone works on Unix time, as tzdata's default files).
 * name is copied (NULL: ""). On success *zone is the caller's, freed with
 * tz_free(). -EBADMSG with a sentence in err for anything malformed, -ENOMEM. */
int tz_parse_tzif(const void *data, size_t len, const char *name, struct tz_zone **zone, char *err,
                  size_t errlen);

/* Builds a zone from a POSIX TZ string alone, as found in a TZif footer, e.g.
 * "EST5EDT,M3.2.0,M11.1.0" or "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0" (RFC 8536
 * section 3.3, with the version 3 extensions: rule times from -167 to 167 hours).
 * Day forms Jn (1-365, February 29 never counted), n (0-365) and Mm.w.d. A DST name
 * without rules gets the US rules ",M3.2.0,M11.1.0", as tzcode does. The caller
 * frees *zone with tz_free(). -EINVAL with a sentence in err, -ENOMEM. */
int tz_parse_posix(const char *tzstr, struct tz_zone **zone, char *err, size_t errlen);

/* Frees a zone from tz_parse_tzif()/tz_parse_posix(); NULL is a no-op. Never pass
 * a zone from tz_get() or tz_utc(). */
void tz_free(struct tz_zone *zone);

/* The name given when the zone was made (borrowed). */
const char *tz_name(const struct tz_zone *zone);

/* The span of constant UTC offset containing Unix second t. 0, or -ERANGE when
 * |t| > TZ_TIME_LIMIT. */
int tz_span_at(const struct tz_zone *zone, int64_t t, struct tz_span *span);

/* The UTC offset at Unix second t (seconds east). 0 or -ERANGE as above. */
int tz_offset_at(const struct tz_zone *zone, int64_t t, int32_t *utoff);

#endif

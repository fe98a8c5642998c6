/* Proleptic Gregorian calendar arithmetic on 64-bit day and second counts: the
 * pure date math under the zone reader and the cron search (no libc time calls,
 * so nothing here reads TZ or any other process-global state). */
#ifndef OMJOB_CRON_CIVIL_H
#define OMJOB_CRON_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* A calendar date: year (any), month 1-12, day 1-31. */
struct civil_date {
    int64_t y;
    int m;
    int d;
};

bool civil_is_leap(int64_t y);
/* Days in month m (1-12) of year y. */
int civil_days_in_month(int64_t y, int m);
/* Days since 1970-01-01 of a valid date, and back. */
int64_t civil_days(int64_t y, int m, int d);
struct civil_date civil_from_days(int64_t days);
/* Day of the week of a day count: 0 Sunday .. 6 Saturday. */
int civil_weekday(int64_t days);
/* Floor division and its non-negative remainder (b > 0). */
int64_t civil_floordiv(int64_t a, int64_t b);
int64_t civil_floormod(int64_t a, int64_t b);

#endif

/* libFuzzer target for the cron parser and the next-time search. Input: one byte
 * choosing the zone (and whether to check cron_prev too), eight bytes of start time
 * (little endian, folded into the supported range), then the expression. A parsed
 * schedule's next time must be later, match the schedule on the zone's wall clock,
 * be a first occurrence, and be its own previous time. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cron/civil.h"
#include "lib/cron/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zones[] = {
    "UTC",           "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham",
    "Europe/London", "Pacific/Apia",     "America/Havana",      "Asia/Kolkata"};

static const struct tz_zone *pick_zone(uint8_t b)
{
    const struct tz_zone *z = NULL;
    if (tz_get(zones[b % (sizeof(zones) / sizeof(zones[0]))], &z, NULL, 0) != 0)
        z = tz_utc(); /* no tzdata: still fuzz the search in UTC */
    return z;
}

static int64_t pick_time(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    uint64_t span = (uint64_t)(CRON_TIME_MAX - CRON_TIME_MIN);
    return CRON_TIME_MIN + (int64_t)(v % span);
}

/* The schedule matches wall second w (from the fields, not the search's code). */
static int matches(const struct cron_sched *s, int64_t w)
{
    int64_t days = civil_floordiv(w, 86400), sec = w - days * 86400;
    struct civil_date c = civil_from_days(days);
    int dom = s->cs_dom >> c.d & 1, dow = s->cs_dow >> civil_weekday(days) & 1;
    int day = (s->cs_flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? dom && dow : dom || dow;
    return sec % 60 == 0 && day && (s->cs_month >> c.m & 1) && (s->cs_hour >> (sec / 3600) & 1) &&
           (s->cs_minute >> (sec / 60 % 60) & 1);
}

static void check(const struct cron_sched *s, const struct tz_zone *z, int64_t after, int prev)
{
    int64_t next, p;
    int32_t off;
    int rc = cron_next(s, z, after, &next);
    if (rc == -ERANGE || rc == -ENOENT)
        return;
    if (rc != 0 || next <= after || next - after > CRON_HORIZON)
        abort();
    if (tz_offset_at(z, next, &off) != 0 || !matches(s, next + off))
        abort();
    if (prev && (cron_prev(s, z, next, &p) != 0 || p != next))
        abort();
    if (prev && (cron_prev(s, z, next - 1, &p) == 0 && p > after))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expr[CRON_EXPR_MAX + 16];
    uint8_t sel = size > 0 ? data[0] : 0;
    int64_t after = size >= 9 ? pick_time(data + 1) : 1767225600; /* 2026-01-01 */
    size_t skip = size >= 9 ? 9 : 0, n = size - skip;
    if (n >= sizeof(expr))
        n = sizeof(expr) - 1;
    memcpy(expr, data + skip, n);
    expr[n] = '\0';
    struct cron_sched s;
    char err[CRON_ERR_MAX];
    if (cron_parse(expr, &s, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || strlen(err) >= sizeof(err))
            abort();
        return 0;
    }
    check(&s, pick_zone(sel), after, (sel & 0xe0) == 0xe0);
    return 0;
}

/* The search for scheduled times (contract in cron.h): matching wall-clock minutes
 * on the proleptic calendar, and the walk over the zone's spans of constant UTC
 * offset that turns them into Unix seconds, skipping wall-clock times a forward
 * change jumps over and the repeats of a backward change. */
#include <errno.h>
#include <stdbool.h>

#include "lib/cron/civil.h"
#include "lib/cron/cron.h"

/* Offsets are within (-25 h, 26 h): a wall time seen earlier was seen less than
 * 51 hours before. A zone with more spans than this in that window (only a
 * crafted file) is not searched further back. */
#define LOOKBACK (51 * 3600)
#define LOOKBACK_SPANS 64

/* The lowest set bit of mask at or above from, or -1. */
static int next_bit(uint64_t mask, int from)
{
    if (from < 0 || from > 63)
        return -1;
    uint64_t m = mask & (~UINT64_C(0) << from);
    return m == 0 ? -1 : __builtin_ctzll(m);
}

static bool day_matches(const struct cron_sched *s, int64_t days, int d)
{
    bool dom = s->cs_dom >> d & 1;
    bool dow = s->cs_dow >> civil_weekday(days) & 1;
    if (s->cs_flags & (CRON_DOM_STAR | CRON_DOW_STAR))
        return dom && dow;
    return dom || dow;
}

/* A wall-clock position in the search: the day (count and date) and minute. */
struct wpos {
    int64_t days;
    struct civil_date c;
    int hour, minute;
};

static void next_day(struct wpos *p)
{
    p->days++;
    p->hour = p->minute = 0;
    if (++p->c.d > civil_days_in_month(p->c.y, p->c.m)) {
        p->c.d = 1;
        if (++p->c.m > 12) {
            p->c.m = 1;
            p->c.y++;
        }
    }
}

/* Moves to the first day of the next month of the schedule. */
static void next_month(const struct cron_sched *s, struct wpos *p)
{
    int m = next_bit(s->cs_month, p->c.m + 1);
    if (m < 0) {
        p->c.y++;
        m = next_bit(s->cs_month, 1);
    }
    p->c.m = m;
    p->c.d = 1;
    p->days = civil_days(p->c.y, m, 1);
    p->hour = p->minute = 0;
}

/* The first wall-clock minute (a wall second divisible by 60) at or after wall
 * second w that the schedule matches; -ENOENT when it would be after limit. */
static int wall_next(const struct cron_sched *s, int64_t w, int64_t limit, int64_t *out)
{
    int64_t mins = civil_floordiv(w, 60) + (civil_floormod(w, 60) != 0);
    struct wpos p = {.days = civil_floordiv(mins, 1440)};
    int hm = (int)(mins - p.days * 1440);
    p.c = civil_from_days(p.days);
    p.hour = hm / 60;
    p.minute = hm % 60;
    while (p.days * 86400 <= limit) {
        if (!(s->cs_month >> p.c.m & 1)) {
            next_month(s, &p);
            continue;
        }
        int h = day_matches(s, p.days, p.c.d) ? next_bit(s->cs_hour, p.hour) : -1;
        if (h < 0) {
            next_day(&p);
            continue;
        }
        if (h != p.hour)
            p.minute = 0;
        p.hour = h;
        int mi = next_bit(s->cs_minute, p.minute);
        if (mi >= 0) {
            *out = p.days * 86400 + p.hour * 3600 + mi * 60;
            return *out <= limit ? 0 : -ENOENT;
        }
        p.minute = 0;
        if (++p.hour == 24)
            next_day(&p);
    }
    return -ENOENT;
}

/* One cron_next() search: wall_next() answers remembered, since consecutive spans
 * often ask for the same answer (wall_next(x) is r for every x in [q, r]). */
struct search {
    const struct cron_sched *s;
    const struct tz_zone *z;
    int64_t wall_limit;
    bool known;
    int64_t q, r;
};

static int first_wall(struct search *se, int64_t lo, int64_t *w)
{
    if (se->known && lo >= se->q && lo <= se->r) {
        *w = se->r;
        return 0;
    }
    int rc = wall_next(se->s, lo, se->wall_limit, w);
    if (rc == 0) {
        se->known = true;
        se->q = lo;
        se->r = *w;
    }
    return rc;
}

/* Whether wall time w already occurred before Unix second `before` (a backward
 * change repeats it); if so, *wend is the wall time where that earlier span ends. */
static bool seen_before(const struct tz_zone *z, int64_t before, int64_t w, int64_t *wend)
{
    int64_t t = before - 1;
    for (int i = 0; i < LOOKBACK_SPANS && t >= before - LOOKBACK && t > -TZ_FOREVER; i++) {
        struct tz_span sp;
        if (tz_span_at(z, t, &sp) != 0)
            return false;
        int64_t end = sp.end < before ? sp.end : before;
        if (w >= sp.start + sp.utoff && w < end + sp.utoff) {
            *wend = end + sp.utoff;
            return true;
        }
        t = sp.start - 1;
    }
    return false;
}

/* The first time of the schedule in span sp at or after t, if any. */
static int in_span(struct search *se, const struct tz_span *sp, int64_t t, int64_t *next)
{
    int64_t lo = t + sp->utoff, hi = sp->end + sp->utoff, w, wend;
    for (;;) {
        int rc = first_wall(se, lo, &w);
        if (rc != 0)
            return rc;
        if (w >= hi)
            return 1;
        if (!seen_before(se->z, sp->start, w, &wend)) {
            *next = w - sp->utoff;
            return 0;
        }
        lo = wend;
    }
}

int cron_next(const struct cron_sched *sched, const struct tz_zone *zone, int64_t after,
              int64_t *next)
{
    if (after < CRON_TIME_MIN || after >= CRON_TIME_MAX)
        return -ERANGE;
    int64_t stop = after + CRON_HORIZON, t = after + 1, found = 0;
    struct search se = {sched, zone, stop + 26 * 3600, false, 0, 0};
    while (t <= stop) {
        struct tz_span sp;
        int rc = tz_span_at(zone, t, &sp);
        if (rc == 0)
            rc = in_span(&se, &sp, t, &found);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (found > CRON_TIME_MAX)
                return -ERANGE;
            *next = found;
            return 0;
        }
        t = sp.end;
    }
    return -ENOENT;
}

int cron_prev(const struct cron_sched *sched, const struct tz_zone *zone, int64_t at, int64_t *prev)
{
    if (at <= CRON_TIME_MIN || at > CRON_TIME_MAX)
        return -ERANGE;
    int64_t lo = at, hi = at, n = 0, m;
    int rc;
    /* Probe back until some time's next is at or before at: next(lo) <= at. */
    for (int64_t w = 3600;; w *= 8) {
        lo = at - w < CRON_TIME_MIN ? CRON_TIME_MIN : at - w;
        rc = cron_next(sched, zone, lo, &n);
        if (rc == 0 && n <= at)
            break;
        if (rc != 0 && rc != -ENOENT && rc != -ERANGE)
            return rc;
        if (lo == CRON_TIME_MIN || w > CRON_HORIZON)
            return -ENOENT;
    }
    /* Bisect: next(lo) <= at < next(hi); the answer is next(lo) for the last lo. */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        rc = cron_next(sched, zone, mid, &m);
        if (rc == 0 && m <= at) {
            lo = mid;
            n = m;
        } else if (rc == 0 || rc == -ENOENT || rc == -ERANGE) {
            hi = mid;
        } else {
            return rc;
        }
    }
    *prev = n;
    return 0;
}

int cron_missed(const struct cron_sched *sched, const struct tz_zone *zone, int64_t since,
                int64_t now, int64_t *latest, unsigned *count)
{
    if (since < CRON_TIME_MIN || since > CRON_TIME_MAX || now < CRON_TIME_MIN ||
        now > CRON_TIME_MAX)
        return -ERANGE;
    unsigned c = 0;
    int64_t last = since, t = since, n;
    while (c <= CRON_MISSED_CAP && t < now) {
        int rc = cron_next(sched, zone, t, &n);
        if (rc == -ENOENT || rc == -ERANGE || (rc == 0 && n > now))
            break;
        if (rc != 0)
            return rc;
        c++;
        last = t = n;
    }
    if (c > CRON_MISSED_CAP) {
        int rc = cron_prev(sched, zone, now, &last);
        if (rc != 0)
            return rc;
    }
    *latest = last;
    *count = c;
    return 0;
}

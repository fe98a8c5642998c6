/* POSIX TZ strings (the footer of a TZif file): the parser and the computation of
 * the span of constant offset around a time, year by year from the rule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cron/civil.h"
#include "lib/cron/tz_impl.h"

struct cursor {
    const char *p;
    char *err;
    size_t errlen;
};

static int fail(struct cursor *c, const char *what)
{
    if (c->err != NULL && c->errlen > 0)
        snprintf(c->err, c->errlen, "invalid POSIX TZ string: %s at \"%.24s\"", what, c->p);
    return -EINVAL;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits, + and -. */
static int parse_name(struct cursor *c)
{
    size_t n = 0;
    if (*c->p == '<') {
        const char *q = c->p + 1;
        while (is_alpha(q[n]) || is_digit(q[n]) || q[n] == '+' || q[n] == '-')
            n++;
        if (q[n] != '>' || n < 3)
            return fail(c, "bad quoted zone abbreviation");
        c->p = q + n + 1;
        return 0;
    }
    while (is_alpha(c->p[n]))
        n++;
    if (n < 3)
        return fail(c, "zone abbreviation shorter than 3 letters");
    c->p += n;
    return 0;
}

/* A number of at most digits digits, in [0, max]. */
static int parse_num(struct cursor *c, int digits, int max, int *out)
{
    int v = 0, n = 0;
    while (is_digit(*c->p) && n < digits) {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n == 0 || is_digit(*c->p) || v > max)
        return fail(c, "number missing or out of range");
    *out = v;
    return 0;
}

/* [+|-]hh[:mm[:ss]] with hh in [0, max_hours], as signed seconds. */
static int parse_hms(struct cursor *c, int max_hours, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (*c->p == '+' || *c->p == '-')
        sign = *c->p++ == '-' ? -1 : 1;
    if (parse_num(c, 3, max_hours, &h) != 0)
        return -EINVAL;
    if (*c->p == ':') {
        c->p++;
        if (parse_num(c, 2, 59, &m) != 0)
            return -EINVAL;
        if (*c->p == ':') {
            c->p++;
            if (parse_num(c, 2, 59, &s) != 0)
                return -EINVAL;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

/* A UTC offset as POSIX writes it (positive west) turned into seconds east. */
static int parse_offset(struct cursor *c, int32_t *out)
{
    int32_t v;
    if (parse_hms(c, 24, &v) != 0)
        return -EINVAL;
    if (-v < TZ_UTOFF_MIN || -v > TZ_UTOFF_MAX)
        return fail(c, "UTC offset out of range");
    *out = -v;
    return 0;
}

/* Consumes ch if it is next. */
static bool eat(struct cursor *c, char ch)
{
    if (*c->p != ch)
        return false;
    c->p++;
    return true;
}

static int parse_mwd(struct cursor *c, struct tz_rule_day *day)
{
    day->kind = 'M';
    c->p++;
    if (parse_num(c, 2, 12, &day->m) != 0 || day->m < 1 || !eat(c, '.'))
        return fail(c, "bad Mm.w.d date");
    if (parse_num(c, 1, 5, &day->w) != 0 || day->w < 1 || !eat(c, '.'))
        return fail(c, "bad Mm.w.d date");
    if (parse_num(c, 1, 6, &day->d) != 0)
        return fail(c, "bad Mm.w.d date");
    return 0;
}

/* ,date[/time] */
static int parse_rule_day(struct cursor *c, struct tz_rule_day *day)
{
    if (!eat(c, ','))
        return fail(c, "expected ',' before a rule date");
    if (*c->p == 'M') {
        if (parse_mwd(c, day) != 0)
            return -EINVAL;
    } else if (*c->p == 'J') {
        day->kind = 'J';
        c->p++;
        if (parse_num(c, 3, 365, &day->n) != 0 || day->n < 1)
            return fail(c, "bad Jn date");
    } else {
        day->kind = 'n';
        if (parse_num(c, 3, 365, &day->n) != 0)
            return fail(c, "bad day number");
    }
    day->time = 7200;
    if (*c->p == '/') {
        c->p++;
        return parse_hms(c, 167, &day->time);
    }
    return 0;
}

static int parse_dst(struct cursor *c, struct tz_rule *r)
{
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*c->p != ',' && *c->p != '\0' && parse_offset(c, &r->dst_off) != 0)
        return -EINVAL;
    if (*c->p == '\0') {
        /* No rule: tzcode's default (the US rules since 2007). */
        r->start = (struct tz_rule_day){.kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200};
        r->end = (struct tz_rule_day){.kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200};
        return 0;
    }
    if (parse_rule_day(c, &r->start) != 0 || parse_rule_day(c, &r->end) != 0)
        return -EINVAL;
    return 0;
}

int tz_rule_parse(const char *s, struct tz_rule *rule, char *err, size_t errlen)
{
    struct cursor c = {s, err, errlen};
    struct tz_rule r = {0};
    if (parse_name(&c) != 0 || parse_offset(&c, &r.std_off) != 0)
        return -EINVAL;
    if (*c.p != '\0') {
        if (parse_name(&c) != 0 || parse_dst(&c, &r) != 0)
            return -EINVAL;
    }
    if (*c.p != '\0')
        return fail(&c, "trailing characters");
    *rule = r;
    return 0;
}

/* The local day (days since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct tz_rule_day *day, int64_t y)
{
    int64_t jan1 = civil_days(y, 1, 1);
    if (day->kind == 'J')
        return jan1 + day->n - 1 + (civil_is_leap(y) && day->n >= 60);
    if (day->kind == 'n')
        return jan1 + day->n;
    int64_t first = civil_days(y, day->m, 1);
    int64_t d = first + (day->d - civil_weekday(first) + 7) % 7 + 7 * (day->w - 1);
    while (d >= first + civil_days_in_month(y, day->m))
        d -= 7;
    return d;
}

struct change {
    int64_t at;
    bool dst; /* DST in effect from at on */
};

/* The changes of years y-2 .. y+2, sorted; at equal times the end of DST comes
 * first, so that a rule with DST all year ("J1/0,J365/25") stays in DST. */
static void year_changes(const struct tz_rule *r, int64_t y, struct change ch[10])
{
    for (int i = 0; i < 5; i++) {
        int64_t yy = y - 2 + i;
        ch[2 * i].at = rule_day(&r->start, yy) * 86400 + r->start.time - r->std_off;
        ch[2 * i].dst = true;
        ch[2 * i + 1].at = rule_day(&r->end, yy) * 86400 + r->end.time - r->dst_off;
        ch[2 * i + 1].dst = false;
    }
    for (int i = 1; i < 10; i++) {
        struct change x = ch[i];
        int j = i;
        for (; j > 0 && (ch[j - 1].at > x.at || (ch[j - 1].at == x.at && ch[j - 1].dst && !x.dst));
             j--)
            ch[j] = ch[j - 1];
        ch[j] = x;
    }
}

struct tz_span tz_rule_span(const struct tz_rule *r, int64_t t)
{
    struct tz_span sp = {-TZ_FOREVER, TZ_FOREVER, r->std_off};
    if (!r->has_dst)
        return sp;
    struct change ch[10];
    year_changes(r, civil_from_days(civil_floordiv(t, 86400)).y, ch);
    int last = -1;
    for (int i = 0; i < 10 && ch[i].at <= t; i++)
        last = i;
    if (last >= 0) {
        sp.start = ch[last].at;
        sp.utoff = ch[last].dst ? r->dst_off : r->std_off;
    }
    if (last + 1 < 10)
        sp.end = ch[last + 1].at;
    return sp;
}

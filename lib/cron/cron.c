/* The cron expression parser (syntax and rules in cron.h): fields into bit masks,
 * then the check that the schedule can fire at all. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/cron/civil.h"
#include "lib/cron/cron.h"

struct field_def {
    const char *name;
    int min, max;             /* values that may be written */
    int open_max;             /* where "*", "?" and "A/S" stop */
    const char *const *names; /* value min + i is names[i]; NULL: numbers only */
    const char *hint;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_def fields[F_COUNT] = {
    {"minute", 0, 59, 59, NULL, "0-59"},
    {"hour", 0, 23, 23, NULL, "0-23"},
    {"day-of-month", 1, 31, 31, NULL, "1-31"},
    {"month", 1, 12, 12, month_names, "1-12 or jan-dec"},
    {"day-of-week", 0, 7, 6, dow_names, "0-7 or sun-sat"},
};

static const struct {
    const char *name;
    const char *expr;
} descriptors[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* One list item being parsed: [s, e) of the expression, p the next character. */
struct item {
    const struct field_def *f;
    const char *s, *e, *p;
    char *err;
    size_t errlen;
};

static int say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int say(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* "<field> field \"<item>\": <what>", the item cut at 40 characters. */
static int item_fail(const struct item *it, const char *what)
{
    int n = (int)(it->e - it->s > 40 ? 40 : it->e - it->s);
    return say(it->err, it->errlen, "%s field \"%.*s\": %s", it->f->name, n, it->s, what);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int name_value(const struct item *it, const char *s, size_t n, int *out)
{
    char msg[128];
    for (int i = 0; it->f->names != NULL && it->f->names[i] != NULL; i++)
        if (n == 3 && strncasecmp(s, it->f->names[i], 3) == 0) {
            *out = it->f->min + i;
            return 0;
        }
    snprintf(msg, sizeof(msg), "\"%.*s\" is not a %s (use %s)", (int)(n > 20 ? 20 : n), s,
             it->f->names != NULL ? "number or name" : "number", it->f->hint);
    return item_fail(it, msg);
}

/* A number or a name at it->p, in [min, max]. */
static int parse_value(struct item *it, int *out)
{
    const char *s = it->p;
    size_t n = 0;
    int v = 0;
    char msg[128];
    if (s < it->e && is_digit(*s)) {
        for (; s + n < it->e && is_digit(s[n]); n++)
            v = n < 6 ? v * 10 + (s[n] - '0') : 1000000;
    } else {
        while (s + n < it->e && is_letter(s[n]))
            n++;
        if (n == 0)
            return item_fail(it, s < it->e ? "unexpected character" : "a value is missing");
        int rc = name_value(it, s, n, &v);
        if (rc != 0)
            return rc;
    }
    if (v < it->f->min || v > it->f->max) {
        snprintf(msg, sizeof(msg), "%.*s is out of range %d-%d", (int)(n > 20 ? 20 : n), s,
                 it->f->min, it->f->max);
        return item_fail(it, msg);
    }
    it->p = s + n;
    *out = v;
    return 0;
}

/* "/S" at it->p, S in 1..field size. */
static int parse_step(struct item *it, int *step)
{
    const struct field_def *f = it->f;
    int size = f->open_max - f->min + 1, v = 0;
    size_t n = 0;
    char msg[128];
    it->p++;
    for (; it->p + n < it->e && is_digit(it->p[n]); n++)
        v = n < 6 ? v * 10 + (it->p[n] - '0') : 1000000;
    if (n == 0)
        return item_fail(it, "the step after / is missing");
    if (v < 1 || v > size) {
        snprintf(msg, sizeof(msg), "step %.*s is out of range 1-%d", (int)(n > 20 ? 20 : n), it->p,
                 size);
        return item_fail(it, msg);
    }
    it->p += n;
    *step = v;
    return 0;
}

/* The start and end of an item before its step: "*", "?", "N" or "A-B". *single
 * tells "N" (which "/S" extends to the maximum). */
static int parse_range(struct item *it, int *lo, int *hi, bool *star, bool *single)
{
    if (it->p < it->e && (*it->p == '*' || *it->p == '?')) {
        it->p++;
        *lo = it->f->min;
        *hi = it->f->open_max;
        *star = true;
        *single = false;
        return 0;
    }
    int rc = parse_value(it, lo);
    if (rc != 0)
        return rc;
    *hi = *lo;
    *single = true;
    if (it->p < it->e && *it->p == '-') {
        it->p++;
        *single = false;
        if ((rc = parse_value(it, hi)) != 0)
            return rc;
        if (*lo > *hi)
            return item_fail(it, "the range runs backwards (its start is after its end)");
    }
    return 0;
}

/* One list item into *bits; *star set when it is "*" or "?" without a step over 1. */
static int parse_item(struct item *it, uint64_t *bits, bool *star)
{
    int lo, hi, step = 1;
    bool is_star = false, single = false;
    int rc = parse_range(it, &lo, &hi, &is_star, &single);
    if (rc != 0)
        return rc;
    if (it->p < it->e && *it->p == '/') {
        if ((rc = parse_step(it, &step)) != 0)
            return rc;
        if (single)
            hi = it->f->open_max > lo ? it->f->open_max : lo;
    }
    if (it->p < it->e)
        return item_fail(it, "unexpected characters after the value");
    for (int v = lo; v <= hi; v += step)
        *bits |= UINT64_C(1) << v;
    if (is_star && step == 1)
        *star = true;
    return 0;
}

/* A whole field [s, e): items separated by commas. */
static int parse_field(const struct field_def *f, const char *s, const char *e, uint64_t *bits,
                       bool *star, char *err, size_t errlen)
{
    uint64_t b = 0;
    bool st = false;
    for (const char *p = s; p <= e;) {
        const char *c = memchr(p, ',', (size_t)(e - p));
        const char *ie = c != NULL ? c : e;
        struct item it = {f, p, ie, p, err, errlen};
        if (ie == p)
            return say(err, errlen, "%s field \"%.*s\": a list item is empty", f->name,
                       (int)(e - s > 40 ? 40 : e - s), s);
        int rc = parse_item(&it, &b, &st);
        if (rc != 0)
            return rc;
        p = ie + 1;
    }
    *bits = b;
    *star = st;
    return 0;
}

/* Whether some month of the schedule has some day of the day-of-month field, when
 * only that field decides (day-of-week unrestricted). */
static bool dom_can_fire(const struct cron_sched *s)
{
    for (int m = 1; m <= 12; m++) {
        if (!(s->cs_month & (1u << m)))
            continue;
        /* February 29 exists: 2000 is a leap year. */
        for (int d = 1; d <= civil_days_in_month(2000, m); d++)
            if (s->cs_dom & (UINT32_C(1) << d))
                return true;
    }
    return false;
}

static void fill(struct cron_sched *s, int f, uint64_t bits, bool star)
{
    switch (f) {
    case F_MINUTE:
        s->cs_minute = bits;
        break;
    case F_HOUR:
        s->cs_hour = (uint32_t)bits;
        break;
    case F_DOM:
        s->cs_dom = (uint32_t)bits;
        s->cs_flags |= star ? CRON_DOM_STAR : 0;
        break;
    case F_MONTH:
        s->cs_month = (uint16_t)bits;
        break;
    default:
        /* 7 is Sunday too. */
        s->cs_dow = (uint8_t)((bits | bits >> 7) & 0x7f);
        s->cs_flags |= star ? CRON_DOW_STAR : 0;
        break;
    }
}

/* Splits [s, e) at blanks into five fields and parses each. */
static int parse_fields(const char *s, const char *e, struct cron_sched *out, char *err,
                        size_t errlen)
{
    const char *fs[F_COUNT + 1], *fe[F_COUNT + 1];
    int n = 0;
    for (const char *p = s; p < e;) {
        while (p < e && is_blank(*p))
            p++;
        if (p == e)
            break;
        const char *q = p;
        while (q < e && !is_blank(*q))
            q++;
        if (n <= F_COUNT) {
            fs[n] = p;
            fe[n] = q;
        }
        n++;
        p = q;
    }
    if (n != F_COUNT)
        return say(err, errlen,
                   "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);
    struct cron_sched sc = {0};
    for (int f = 0; f < F_COUNT; f++) {
        uint64_t bits = 0;
        bool star = false;
        int rc = parse_field(&fields[f], fs[f], fe[f], &bits, &star, err, errlen);
        if (rc != 0)
            return rc;
        fill(&sc, f, bits, star);
    }
    if ((sc.cs_flags & (CRON_DOM_STAR | CRON_DOW_STAR)) == CRON_DOW_STAR && !dom_can_fire(&sc))
        return say(err, errlen,
                   "the schedule never fires: day-of-month \"%.*s\" never occurs in month "
                   "\"%.*s\"",
                   (int)(fe[F_DOM] - fs[F_DOM] > 40 ? 40 : fe[F_DOM] - fs[F_DOM]), fs[F_DOM],
                   (int)(fe[F_MONTH] - fs[F_MONTH] > 40 ? 40 : fe[F_MONTH] - fs[F_MONTH]),
                   fs[F_MONTH]);
    *out = sc;
    return 0;
}

static int parse_descriptor(const char *s, const char *e, struct cron_sched *out, char *err,
                            size_t errlen)
{
    size_t n = (size_t)(e - s);
    for (size_t i = 0; i < sizeof(descriptors) / sizeof(descriptors[0]); i++) {
        const char *d = descriptors[i].expr;
        if (strlen(descriptors[i].name) == n && memcmp(s, descriptors[i].name, n) == 0)
            return parse_fields(d, d + strlen(d), out, err, errlen);
    }
    return say(err, errlen,
               "unknown descriptor \"%.*s\" (use @yearly, @annually, @monthly, @weekly, @daily, "
               "@midnight or @hourly)",
               (int)(n > 20 ? 20 : n), s);
}

int cron_parse(const char *expr, struct cron_sched *sched, char *err, size_t errlen)
{
    if (expr == NULL)
        return say(err, errlen, "the schedule is empty");
    size_t len = strnlen(expr, CRON_EXPR_MAX + 1);
    if (len > CRON_EXPR_MAX)
        return say(err, errlen, "the schedule is longer than %d characters", CRON_EXPR_MAX);
    const char *s = expr, *e = expr + len;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (s == e)
        return say(err, errlen, "the schedule is empty");
    if ((e - s >= 3 && memcmp(s, "TZ=", 3) == 0) || (e - s >= 8 && memcmp(s, "CRON_TZ=", 8) == 0))
        return say(err, errlen,
                   "a time zone prefix (TZ= or CRON_TZ=) is not accepted in the schedule: set "
                   "spec.timeZone instead");
    struct cron_sched sc;
    int rc =
        *s == '@' ? parse_descriptor(s, e, &sc, err, errlen) : parse_fields(s, e, &sc, err, errlen);
    if (rc != 0)
        return rc;
    *sched = sc;
    return 0;
}

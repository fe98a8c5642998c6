/* Unit tests for lib/cron's schedules: the parser (every syntax form, every refusal),
 * next and previous times in real zones across both DST changes, leap days and
 * footer-rule years, a minute-by-minute oracle, and the missed-times count. With
 * "--crondiff FILE" it is instead the C side of tests/crondiff/run.sh. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cron/civil.h"
#include "lib/cron/cron.h"

/* "2026-03-08T03:00:00-04:00" (or Z) as Unix seconds; aborts the test on a typo. */
static int64_t ts(const char *s)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    char z = 'Z';
    int n = sscanf(s, "%d-%d-%dT%d:%d:%d%c%d:%d", &y, &mo, &d, &h, &mi, &sec, &z, &oh, &om);
    if (n != 7 && n != 9) {
        fprintf(stderr, "bad time in test: %s\n", s);
        abort();
    }
    int64_t off = (int64_t)(oh * 3600 + om * 60) * (z == '-' ? -1 : 1);
    return civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
}

static const struct tz_zone *zone(const char *name)
{
    const struct tz_zone *z = NULL;
    char err[TZ_ERR_MAX];
    if (tz_get(name, &z, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        CU_FAIL_FATAL("zone missing: is tzdata installed?");
    }
    return z;
}

static struct cron_sched parse_ok(const char *expr)
{
    struct cron_sched s = {0};
    char err[CRON_ERR_MAX] = "";
    if (cron_parse(expr, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "\"%s\": %s\n", expr, err);
        CU_FAIL("a valid schedule was refused");
    }
    return s;
}

static bool same(const struct cron_sched *a, const struct cron_sched *b)
{
    return a->cs_minute == b->cs_minute && a->cs_hour == b->cs_hour && a->cs_dom == b->cs_dom &&
           a->cs_month == b->cs_month && a->cs_dow == b->cs_dow && a->cs_flags == b->cs_flags;
}

/* Each form against an equivalent plain list. */
static void test_parse_forms(void)
{
    static const char *const pairs[][2] = {
        {"*/15 * * * *", "0,15,30,45 * * * *"},
        {"10-50/10 * * * *", "10,20,30,40,50 * * * *"},
        {"3/15 * * * *", "3,18,33,48 * * * *"},
        {"0 3/10 * * *", "0 3,13,23 * * *"},
        {"0 0 25/3 * *", "0 0 25,28,31 * *"},
        {"0 0 1 */4 *", "0 0 1 1,5,9 *"},
        {"0 0 * * */2", "0 0 * * 0,2,4,6"},
        {"0 0 * * 1/2", "0 0 * * 1,3,5"},
        {"0 0 * * 1-7/2", "0 0 * * 0,1,3,5"},
        {"0 0 * * 7", "0 0 * * 0"},
        {"0 0 * * 5-7", "0 0 * * 0,5,6"},
        {"0 0 * * 0-7", "0 0 * * 0-6"},
        {"0 0 * jan-MAR,Dec *", "0 0 * 1,2,3,12 *"},
        {"0 0 * * MON-fri", "0 0 * * 1-5"},
        {"0 0 * * Sun,sat", "0 0 * * 0,6"},
        {"0 0 * feb/3 *", "0 0 * 2,5,8,11 *"},
        {"0 0 ? * *", "0 0 * * *"},
        {"0 0 * * ?", "0 0 * * *"},
        {"0 0 */1 * 1", "0 0 * * 1"},
        {"0 0 *,5 * 1", "0 0 * * 1"},
        {"0-59 0-23 * * *", "* * * * *"},
        {"59 23 31 12 6", "59 23 31 12 sat"},
        {"00 07 * * *", "0 7 * * *"},
        {"  \t5 4 * * *\n", "5 4 * * *"},
        {"1,1,1 * * * *", "1 * * * *"},
        {"*/60 * * * *", "0 * * * *"},
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
        {" @daily ", "0 0 * * *"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct cron_sched a = parse_ok(pairs[i][0]), b = parse_ok(pairs[i][1]);
        if (!same(&a, &b))
            fprintf(stderr, "\"%s\" differs from \"%s\"\n", pairs[i][0], pairs[i][1]);
        CU_ASSERT(same(&a, &b));
    }
}

/* The masks and the day flags, which decide the Vixie rule. */
static void test_parse_masks(void)
{
    struct cron_sched s = parse_ok("* * * * *");
    CU_ASSERT_EQUAL(s.cs_minute, (UINT64_C(1) << 60) - 1);
    CU_ASSERT_EQUAL(s.cs_hour, (UINT32_C(1) << 24) - 1);
    CU_ASSERT_EQUAL(s.cs_dom, UINT32_C(0xfffffffe));
    CU_ASSERT_EQUAL(s.cs_month, 0x1ffe);
    CU_ASSERT_EQUAL(s.cs_dow, 0x7f);
    CU_ASSERT_EQUAL(s.cs_flags, CRON_DOM_STAR | CRON_DOW_STAR);
    s = parse_ok("0 0 1-31 * 1");
    CU_ASSERT_EQUAL(s.cs_flags, 0);
    s = parse_ok("0 0 */2 * ?");
    CU_ASSERT_EQUAL(s.cs_flags, CRON_DOW_STAR);
    CU_ASSERT_EQUAL(s.cs_dom, 0xaaaaaaaau);
    s = parse_ok("0 0 ? * 0-6");
    CU_ASSERT_EQUAL(s.cs_flags, CRON_DOM_STAR);
    CU_ASSERT_EQUAL(sizeof(struct cron_sched), 24);
}

/* Refusals: the message names the field, the value and the accepted range. */
static void test_parse_invalid(void)
{
    static const char *const bad[][2] = {
        {"", "empty"},
        {"   ", "empty"},
        {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"* * * * * *", "got 6"},
        {"0 0 1 1 * 2026", "got 6"},
        {"60 * * * *", "minute field \"60\": 60 is out of range 0-59"},
        {"* 24 * * *", "hour field \"24\": 24 is out of range 0-23"},
        {"* * 0 * *", "day-of-month field \"0\": 0 is out of range 1-31"},
        {"* * 32 * *", "day-of-month field \"32\": 32 is out of range 1-31"},
        {"* * * 13 *", "month field \"13\": 13 is out of range 1-12"},
        {"* * * 0 *", "month field \"0\": 0 is out of range 1-12"},
        {"* * * * 8", "day-of-week field \"8\": 8 is out of range 0-7"},
        {"99999999999 * * * *", "is out of range 0-59"},
        {"* * * jam *",
         "month field \"jam\": \"jam\" is not a number or name (use 1-12 or jan-dec)"},
        {"* * * * monday", "\"monday\" is not a number or name (use 0-7 or sun-sat)"},
        {"* * * * mon-frx", "day-of-week field \"mon-frx\": \"frx\" is not"},
        {"* * mon * *", "day-of-month field \"mon\": \"mon\" is not a number (use 1-31)"},
        {"5-3 * * * *", "minute field \"5-3\": the range runs backwards"},
        {"* * * * fri-mon", "the range runs backwards"},
        {"*/0 * * * *", "minute field \"*/0\": step 0 is out of range 1-60"},
        {"*/61 * * * *", "step 61 is out of range 1-60"},
        {"* */25 * * *", "hour field \"*/25\": step 25 is out of range 1-24"},
        {"* * * * */8", "step 8 is out of range 1-7"},
        {"*/ * * * *", "minute field \"*/\": the step after / is missing"},
        {"1-2-3 * * * *", "minute field \"1-2-3\": unexpected characters after the value"},
        {"1/2/3 * * * *", "unexpected characters after the value"},
        {"5- * * * *", "minute field \"5-\": a value is missing"},
        {"-5 * * * *", "minute field \"-5\": unexpected character"},
        {"+5 * * * *", "unexpected character"},
        {"1,,2 * * * *", "minute field \"1,,2\": a list item is empty"},
        {"1, * * * *", "a list item is empty"},
        {",1 * * * *", "a list item is empty"},
        {"** * * * *", "unexpected characters after the value"},
        {"L * * * *", "\"L\" is not a number"},
        {"0 0 L * *", "\"L\" is not a number"},
        {"0 0 * * 5#3", "unexpected characters"},
        {"0 0 15W * *", "unexpected characters"},
        {"TZ=UTC 0 0 * * *", "set spec.timeZone instead"},
        {"CRON_TZ=Europe/Paris 0 0 * * *", "time zone prefix (TZ= or CRON_TZ=)"},
        {"@every 1h", "unknown descriptor \"@every 1h\""},
        {"@reboot", "unknown descriptor"},
        {"@DAILY", "unknown descriptor"},
        {"@daily 5", "unknown descriptor"},
        {"0 0 30 2 *", "never fires: day-of-month \"30\" never occurs in month \"2\""},
        {"0 0 31 4,6,9,11 *", "never fires"},
        {"0 0 30,31 feb *", "never fires"},
        {"0 0 31 */2 *", "0 0 31 */2 *"}, /* valid: January has 31 days */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cron_sched s;
        memset(&s, 0xa5, sizeof(s));
        char err[CRON_ERR_MAX] = "";
        int rc = cron_parse(bad[i][0], &s, err, sizeof(err));
        if (strcmp(bad[i][0], bad[i][1]) == 0) {
            CU_ASSERT_EQUAL(rc, 0);
            continue;
        }
        if (rc != -EINVAL || strstr(err, bad[i][1]) == NULL)
            fprintf(stderr, "\"%s\": rc %d, \"%s\"\n", bad[i][0], rc, err);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i][1]));
        CU_ASSERT_EQUAL(s.cs_minute, UINT64_C(0xa5a5a5a5a5a5a5a5)); /* untouched */
    }
}

static void test_parse_bounds(void)
{
    char expr[CRON_EXPR_MAX + 2], err[CRON_ERR_MAX];
    struct cron_sched s;
    /* Exactly the limit (blank padding counts), then one more. */
    memset(expr, ' ', sizeof(expr));
    memcpy(expr, "0 0 * * *", 9);
    expr[CRON_EXPR_MAX] = '\0';
    CU_ASSERT_EQUAL(cron_parse(expr, &s, err, sizeof(err)), 0);
    expr[CRON_EXPR_MAX] = ' ';
    expr[CRON_EXPR_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(cron_parse(expr, &s, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 256 characters"));
    CU_ASSERT_EQUAL(cron_parse(NULL, &s, NULL, 0), -EINVAL);
    /* A small buffer gets a cut sentence, never an overflow. */
    char small[8];
    CU_ASSERT_EQUAL(cron_parse("61 * * * *", &s, small, sizeof(small)), -EINVAL);
    CU_ASSERT_EQUAL(strlen(small), 7);
}

struct next_case {
    const char *expr, *zone, *after, *want; /* want NULL: nothing */
};

static void check_next(const struct next_case *c)
{
    struct cron_sched s = parse_ok(c->expr);
    int64_t got = 0, want = ts(c->want);
    int rc = cron_next(&s, zone(c->zone), ts(c->after), &got);
    if (rc != 0 || got != want)
        fprintf(stderr, "next(\"%s\", %s, %s): rc %d, got %lld, want %s = %lld\n", c->expr, c->zone,
                c->after, rc, (long long)got, c->want, (long long)want);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(got, want);
    /* The same time is the latest at or before itself, and nothing comes between. */
    int64_t prev = 0;
    CU_ASSERT_EQUAL(cron_prev(&s, zone(c->zone), want, &prev), 0);
    CU_ASSERT_EQUAL(prev, want);
    CU_ASSERT_EQUAL(cron_prev(&s, zone(c->zone), want - 1, &prev), 0);
    CU_ASSERT(prev <= ts(c->after));
}

static void test_next_utc(void)
{
    static const struct next_case cases[] = {
        {"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
        {"* * * * *", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"},
        {"* * * * *", "UTC", "2026-01-01T00:00:59Z", "2026-01-01T00:01:00Z"},
        {"*/5 * * * *", "UTC", "2026-01-01T00:03:00Z", "2026-01-01T00:05:00Z"},
        {"10-50/10 * * * *", "UTC", "2026-01-01T00:50:00Z", "2026-01-01T01:10:00Z"},
        {"3/15 * * * *", "UTC", "2026-01-01T00:48:00Z", "2026-01-01T01:03:00Z"},
        {"0 0 1 1 *", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        {"@yearly", "UTC", "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"},
        {"@hourly", "UTC", "2026-12-31T23:30:00Z", "2027-01-01T00:00:00Z"},
        {"@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
        {"@monthly", "UTC", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z"},
        {"0 12 * * mon", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T12:00:00Z"},
        {"0 12 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T12:00:00Z"},
        {"0 0 * * 5-7", "UTC", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"},
        /* Vixie: both restricted, either matches; one unrestricted, both must. */
        {"0 0 13 * 5", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        {"0 0 13 * 5", "UTC", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"},
        {"0 0 13 * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"},
        {"0 0 13 * ?", "UTC", "2026-01-01T00:00:00Z", "2026-01-13T00:00:00Z"},
        {"0 0 ? * 5", "UTC", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"},
        {"0 0 */1 * 5", "UTC", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"},
        {"0 0 */10 * 5", "UTC", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z"},
        {"0 0 */10 * 5", "UTC", "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z"},
        {"0 0 1-31 * 1", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
        {"0 0 31 * *", "UTC", "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z"},
        {"0 0 31 */2 *", "UTC", "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z"},
        /* Leap days, 2100 is not a leap year. */
        {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        {"0 0 29 2 *", "UTC", "2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z"},
        {"0 0 29 feb mon", "UTC", "2028-02-27T00:00:00Z", "2028-02-28T00:00:00Z"},
        {"0 0 29 feb mon", "UTC", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"},
        {"0 0 29 2 1", "UTC", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"},
        {"59 23 31 12 *", "UTC", "1999-12-31T23:59:00Z", "2000-12-31T23:59:00Z"},
        {"0 0 1 1 *", "UTC", "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z"},
        {"0 0 1 1 *", "UTC", "9998-06-01T00:00:00Z", "9999-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_next(&cases[i]);
}

/* Both DST changes in each zone: skipped times do not fire that day, repeated times
 * fire once, at their first occurrence. Dates from the zones' rules for 2026. */
static void test_next_dst(void)
{
    static const struct next_case cases[] = {
        /* America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01 02:00 EDT
         * -> 01:00 EST. */
        {"30 2 * * *", "America/New_York", "2026-03-07T03:00:00-05:00",
         "2026-03-09T02:30:00-04:00"},
        {"0 2 * * *", "America/New_York", "2026-03-08T01:59:59-05:00", "2026-03-09T02:00:00-04:00"},
        {"0 3 * * *", "America/New_York", "2026-03-08T01:59:59-05:00", "2026-03-08T03:00:00-04:00"},
        {"*/30 * * * *", "America/New_York", "2026-03-08T01:30:00-05:00",
         "2026-03-08T03:00:00-04:00"},
        {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00",
         "2026-11-01T01:30:00-04:00"},
        {"30 1 * * *", "America/New_York", "2026-11-01T01:30:00-04:00",
         "2026-11-02T01:30:00-05:00"},
        {"*/30 * * * *", "America/New_York", "2026-11-01T01:30:00-04:00",
         "2026-11-01T02:00:00-05:00"},
        {"0 * * * *", "America/New_York", "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"},
        {"0 2 * * *", "America/New_York", "2026-10-31T12:00:00-04:00", "2026-11-01T02:00:00-05:00"},
        {"59 1 * * *", "America/New_York", "2026-11-01T01:59:00-04:00",
         "2026-11-02T01:59:00-05:00"},
        {"0 9 * * 1-5", "America/New_York", "2026-07-03T09:00:00-04:00",
         "2026-07-06T09:00:00-04:00"},
        /* Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST, 2026-10-25 02:00 BST ->
         * 01:00 GMT. */
        {"30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", "2026-03-30T01:30:00+01:00"},
        {"30 1 * * *", "Europe/London", "2026-10-24T12:00:00+01:00", "2026-10-25T01:30:00+01:00"},
        {"30 1 * * *", "Europe/London", "2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00Z"},
        {"0 * * * *", "Europe/London", "2026-10-25T00:30:00+01:00", "2026-10-25T01:00:00+01:00"},
        {"0 * * * *", "Europe/London", "2026-10-25T01:00:00+01:00", "2026-10-25T02:00:00Z"},
        {"0 0 * * *", "Europe/London", "2026-03-28T12:00:00Z", "2026-03-29T00:00:00Z"},
        /* Australia/Lord_Howe, a 30-minute change: 2026-04-05 02:00 +11 -> 01:30
         * +10:30, 2026-10-04 02:00 +10:30 -> 02:30 +11. */
        {"45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00",
         "2026-04-05T01:45:00+11:00"},
        {"45 1 * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
         "2026-04-06T01:45:00+10:30"},
        {"*/15 * * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
         "2026-04-05T02:00:00+10:30"},
        {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
         "2026-10-05T02:15:00+11:00"},
        {"45 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30",
         "2026-10-04T02:45:00+11:00"},
        {"*/15 * * * *", "Australia/Lord_Howe", "2026-10-04T01:45:00+10:30",
         "2026-10-04T02:30:00+11:00"},
        /* Asia/Kolkata: +05:30 all year. */
        {"0 9 * * 1-5", "Asia/Kolkata", "2026-01-02T09:00:00+05:30", "2026-01-05T09:00:00+05:30"},
        {"30 2 * * *", "Asia/Kolkata", "2026-03-29T00:00:00+05:30", "2026-03-29T02:30:00+05:30"},
        {"0 0 1 * *", "Asia/Kolkata", "2026-01-31T18:29:59Z", "2026-02-01T00:00:00+05:30"},
        /* Pacific/Chatham: 2026-04-05 03:45 +13:45 -> 02:45 +12:45, 2026-09-27 02:45
         * +12:45 -> 03:45 +13:45. */
        {"0 3 * * *", "Pacific/Chatham", "2026-04-04T12:00:00+13:45", "2026-04-05T03:00:00+13:45"},
        {"0 3 * * *", "Pacific/Chatham", "2026-04-05T03:00:00+13:45", "2026-04-06T03:00:00+12:45"},
        {"0 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00+12:45", "2026-09-28T03:00:00+13:45"},
        {"45 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00+12:45", "2026-09-27T03:45:00+13:45"},
        {"45 2 * * *", "Pacific/Chatham", "2026-09-26T12:00:00+12:45", "2026-09-28T02:45:00+13:45"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_next(&cases[i]);
}

/* Past the last transition of the files (2037 in tzdata's "fat" files, earlier in
 * "slim" ones) the footer's POSIX rule decides. 2100: US DST from March 14 to
 * November 7; Lord Howe from October 3; London 2150 from March 29 to October 25. */
static void test_next_far_future(void)
{
    static const struct next_case cases[] = {
        {"0 0 * * *", "America/New_York", "2100-07-01T12:00:00-04:00", "2100-07-02T00:00:00-04:00"},
        {"30 2 * * *", "America/New_York", "2100-03-13T12:00:00-05:00",
         "2100-03-15T02:30:00-04:00"},
        {"30 1 * * *", "America/New_York", "2100-11-07T01:30:00-04:00",
         "2100-11-08T01:30:00-05:00"},
        {"30 1 * * *", "Europe/London", "2150-03-28T12:00:00Z", "2150-03-30T01:30:00+01:00"},
        {"30 1 * * *", "Europe/London", "2150-10-25T01:30:00+01:00", "2150-10-26T01:30:00Z"},
        {"15 2 * * *", "Australia/Lord_Howe", "2100-10-02T12:00:00+10:30",
         "2100-10-04T02:15:00+11:00"},
        {"0 3 * * *", "Pacific/Chatham", "2100-04-03T12:00:00+13:45", "2100-04-04T03:00:00+13:45"},
        {"0 3 * * *", "Pacific/Chatham", "2100-04-04T03:00:00+13:45", "2100-04-05T03:00:00+12:45"},
        {"0 9 * * *", "Asia/Kolkata", "2100-01-01T00:00:00Z", "2100-01-01T09:00:00+05:30"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_next(&cases[i]);
}

static void test_next_errors(void)
{
    struct cron_sched s = parse_ok("* * * * *");
    int64_t t = 42;
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), CRON_TIME_MAX, &t), -ERANGE);
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), CRON_TIME_MIN - 1, &t), -ERANGE);
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), INT64_MAX, &t), -ERANGE);
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), INT64_MIN, &t), -ERANGE);
    CU_ASSERT_EQUAL(cron_prev(&s, tz_utc(), CRON_TIME_MIN, &t), -ERANGE);
    CU_ASSERT_EQUAL(t, 42);
    s = parse_ok("0 0 1 1 *");
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), ts("9999-01-01T00:00:00Z"), &t), -ERANGE);
    CU_ASSERT_EQUAL(cron_next(&s, tz_utc(), CRON_TIME_MIN, &t), 0);
    CU_ASSERT_EQUAL(t, ts("0002-01-01T00:00:00Z"));
    /* A hand-made mask that cannot fire (the parser never makes one). */
    struct cron_sched never = s;
    never.cs_dom = UINT32_C(1) << 30;
    never.cs_month = 1u << 2;
    CU_ASSERT_EQUAL(cron_next(&never, tz_utc(), 0, &t), -ENOENT);
    CU_ASSERT_EQUAL(cron_prev(&never, tz_utc(), 0, &t), -ENOENT);
}

static void test_prev(void)
{
    struct cron_sched s = parse_ok("30 1 * * *");
    const struct tz_zone *ny = zone("America/New_York");
    int64_t t = 0;
    /* After the fall-back night the latest is the first 01:30, not the repeat. */
    CU_ASSERT_EQUAL(cron_prev(&s, ny, ts("2026-11-01T12:00:00-05:00"), &t), 0);
    CU_ASSERT_EQUAL(t, ts("2026-11-01T01:30:00-04:00"));
    CU_ASSERT_EQUAL(cron_prev(&s, ny, ts("2026-11-01T01:30:00-04:00"), &t), 0);
    CU_ASSERT_EQUAL(t, ts("2026-11-01T01:30:00-04:00"));
    CU_ASSERT_EQUAL(cron_prev(&s, ny, ts("2026-11-01T01:29:59-04:00"), &t), 0);
    CU_ASSERT_EQUAL(t, ts("2026-10-31T01:30:00-04:00"));
    s = parse_ok("30 2 * * *");
    CU_ASSERT_EQUAL(cron_prev(&s, ny, ts("2026-03-08T23:00:00-04:00"), &t), 0);
    CU_ASSERT_EQUAL(t, ts("2026-03-07T02:30:00-05:00"));
    s = parse_ok("0 0 29 2 *");
    CU_ASSERT_EQUAL(cron_prev(&s, tz_utc(), ts("2104-01-01T00:00:00Z"), &t), 0);
    CU_ASSERT_EQUAL(t, ts("2096-02-29T00:00:00Z"));
}

static void test_missed(void)
{
    const struct tz_zone *utc = tz_utc();
    struct cron_sched s = parse_ok("0 * * * *");
    int64_t latest = 0;
    unsigned n = 99;
    int64_t t0 = ts("2026-05-01T00:00:00Z");
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 3 * 3600 + 1800, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(latest, t0 + 3 * 3600);
    /* now itself counts; since does not. */
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 3600, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(latest, t0 + 3600);
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 3599, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(latest, t0);
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 - 7200, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    /* Exactly the cap, then over it; the latest is still exact a year later. */
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 100 * 3600, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, 100);
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 101 * 3600, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, CRON_MISSED_CAP + 1);
    CU_ASSERT_EQUAL(latest, t0 + 101 * 3600);
    s = parse_ok("* * * * *");
    CU_ASSERT_EQUAL(cron_missed(&s, utc, t0, t0 + 366 * 86400 + 59, &latest, &n), 0);
    CU_ASSERT_EQUAL(n, CRON_MISSED_CAP + 1);
    CU_ASSERT_EQUAL(latest, t0 + 366 * 86400);
    /* The fall-back night counts 01:30 once. */
    s = parse_ok("30 1 * * *");
    CU_ASSERT_EQUAL(cron_missed(&s, zone("America/New_York"), ts("2026-10-31T12:00:00-04:00"),
                                ts("2026-11-01T12:00:00-05:00"), &latest, &n),
                    0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(latest, ts("2026-11-01T01:30:00-04:00"));
    CU_ASSERT_EQUAL(cron_missed(&s, utc, CRON_TIME_MIN - 1, 0, &latest, &n), -ERANGE);
}

/* Whether wall second w (a whole minute) matches s, straight from the fields. */
static bool wall_matches(const struct cron_sched *s, int64_t w)
{
    int64_t days = civil_floordiv(w, 86400), sec = w - days * 86400;
    struct civil_date c = civil_from_days(days);
    bool dom = s->cs_dom >> c.d & 1, dow = s->cs_dow >> civil_weekday(days) & 1;
    bool day = (s->cs_flags & (CRON_DOM_STAR | CRON_DOW_STAR)) ? dom && dow : dom || dow;
    return sec % 60 == 0 && day && (s->cs_month >> c.m & 1) && (s->cs_hour >> (sec / 3600) & 1) &&
           (s->cs_minute >> (sec / 60 % 60) & 1);
}

/* The oracle: every UTC minute of [a - 3 days, b), its wall time, the wall times
 * already seen; a minute of [a, b) fires when its wall time matches and is new. The
 * search must give exactly those minutes. (Zones with whole-minute offsets.) */
static void oracle_window(const struct cron_sched *s, const struct tz_zone *z, int64_t a, int64_t b,
                          const char *expr)
{
    size_t cap = (size_t)(b - a) / 60 + 3 * 1440 + 1, nseen = 0;
    int64_t *seen = malloc(cap * sizeof(*seen)), maxw = INT64_MIN, t = a - 1, got;
    CU_ASSERT_FATAL(seen != NULL);
    for (int64_t u = a - 3 * 86400; u < b; u += 60) {
        int32_t off;
        CU_ASSERT_FATAL(tz_offset_at(z, u, &off) == 0);
        int64_t w = u + off;
        bool repeat = false;
        for (size_t i = nseen; w <= maxw && i-- > 0 && !repeat;)
            repeat = seen[i] == w;
        seen[nseen++] = w;
        maxw = w > maxw ? w : maxw;
        if (u < a || repeat || !wall_matches(s, w))
            continue;
        int rc = cron_next(s, z, t, &got);
        if (rc != 0 || got != u)
            fprintf(stderr, "oracle: \"%s\" in %s after %lld: want %lld, got %lld (rc %d)\n", expr,
                    tz_name(z), (long long)t, (long long)u, (long long)got, rc);
        CU_ASSERT_EQUAL(got, u);
        t = u;
    }
    /* Nothing more before b. */
    CU_ASSERT(cron_next(s, z, t, &got) != 0 || got >= b);
    free(seen);
}

/* Windows of four days around the first two offset changes of 2026 and of 2100 in
 * each zone, for schedules that land in and around the changed hours. */
static void test_oracle(void)
{
    static const char *const zones[] = {
        "America/New_York", "Europe/London",  "Australia/Lord_Howe", "Pacific/Chatham",
        "America/Santiago", "America/Havana", "Asia/Kolkata"};
    static const char *const exprs[] = {"*/15 * * * *",  "30 1 * * *", "0 * * * *",
                                        "*/7 0-3 * * *", "45 2 * * 0", "0,30 0,23 * * *",
                                        "15 0 */2 * 1"};
    static const char *const years[] = {"2026-01-01T00:00:00Z", "2100-01-01T00:00:00Z"};
    for (size_t zi = 0; zi < sizeof(zones) / sizeof(zones[0]); zi++) {
        const struct tz_zone *z = zone(zones[zi]);
        for (size_t yi = 0; yi < 2; yi++) {
            int64_t t = ts(years[yi]);
            for (int k = 0; k < 2; k++) {
                struct tz_span sp;
                CU_ASSERT_FATAL(tz_span_at(z, t, &sp) == 0);
                int64_t change = sp.end < t + 366 * 86400 ? sp.end : t + 100 * 86400;
                for (size_t ei = 0; ei < sizeof(exprs) / sizeof(exprs[0]); ei++) {
                    struct cron_sched s = parse_ok(exprs[ei]);
                    oracle_window(&s, z, change - 2 * 86400, change + 2 * 86400, exprs[ei]);
                }
                t = change;
            }
        }
    }
}

/* --crondiff: the C side of tests/crondiff/run.sh. Each line of the file is
 * "expression \t zone \t after \t robfig's result"; each case where the two
 * disagree must fall in a category explained below, or the run fails. */

/* Whether Unix second t is a time of s in z, checked from first principles: its
 * wall time matches and did not occur earlier (a backward change's repeat). */
static bool diff_repeat(const struct tz_zone *z, int64_t t, int64_t w)
{
    for (int64_t u = t - 1; u > t - 51 * 3600;) {
        struct tz_span sp;
        if (tz_span_at(z, u, &sp) != 0)
            return false;
        int64_t end = sp.end < t ? sp.end : t;
        if (w >= sp.start + sp.utoff && w < end + sp.utoff)
            return true;
        u = sp.start - 1;
    }
    return false;
}

static int64_t diff_wall(const struct tz_zone *z, int64_t t)
{
    int32_t off = 0;
    tz_offset_at(z, t, &off);
    return t + off;
}

static bool diff_fires(const struct cron_sched *s, const struct tz_zone *z, int64_t t)
{
    int64_t w = diff_wall(z, t);
    return wall_matches(s, w) && !diff_repeat(z, t, w);
}

enum {
    D_AGREE,
    D_BOTH_REFUSE,
    D_DOW7,
    D_STEP,
    D_EVERY,
    D_NEVER,
    D_REPEAT,
    D_WRONG_WALL,
    D_SKIPS,
    D_LIMIT5,
    D_HANG,
    D_UNEXPLAINED,
    D_COUNT
};

static const char *const diff_names[D_COUNT] = {
    [D_AGREE] = "agree (same next time)",
    [D_BOTH_REFUSE] = "agree (both refuse the expression)",
    [D_DOW7] = "day-of-week 7 (Sunday, as Vixie cron and cron-utils): robfig refuses it",
    [D_STEP] = "step larger than the field (*/61 minutes): refused here, robfig accepts",
    [D_EVERY] = "@every: refused here (not a CronOMJob descriptor), robfig accepts",
    [D_NEVER] = "never fires (0 0 30 2 *): refused here, robfig accepts and finds nothing",
    [D_REPEAT] = "fall-back repeat: robfig fires the repeated wall time a second time",
    [D_WRONG_WALL] = "robfig returns a time the schedule does not match, near a DST change",
    [D_SKIPS] = "robfig skips a matching time near a DST change",
    [D_LIMIT5] = "robfig gives up after 5 years (0 0 29 2 * across 2100)",
    [D_HANG] = "robfig never returns, near a DST change (Pacific/Apia skipped 2011-12-30)",
    [D_UNEXPLAINED] = "UNEXPLAINED",
};

/* robfig's Next steps whole hours of absolute time from the midnight of the day or
 * of the first of the month it starts from, built with time.Date: a change at
 * midnight (Havana, Santiago, Sao Paulo, Gaza, Tehran, Casablanca), a 30-minute
 * change (Lord Howe) or one at 02:45 (Chatham) leaves it off the hour, and it then
 * skips matching times or returns times that do not match. Such a difference is
 * explained only when the zone's offset changes between the first of the month
 * before the start and a day after the earlier of the two answers. */
static bool diff_change_near(const struct tz_zone *z, int64_t a, int64_t b)
{
    struct tz_span sp;
    return tz_span_at(z, a - 32 * 86400, &sp) == 0 && sp.end <= b + 86400;
}

/* Our refusal against robfig's acceptance (NONE counts as accepted). */
static int diff_refused(const char *err, const char *theirs)
{
    if (strstr(err, "step ") != NULL && strstr(err, "is out of range 1-") != NULL)
        return D_STEP;
    if (strstr(err, "unknown descriptor \"@every") != NULL)
        return D_EVERY;
    if (strstr(err, "never fires") != NULL && strcmp(theirs, "NONE") == 0)
        return D_NEVER;
    return D_UNEXPLAINED;
}

static int diff_times(const struct cron_sched *s, const struct tz_zone *z, int64_t after,
                      int64_t ours, const char *theirs)
{
    if (strcmp(theirs, "HANG") == 0)
        return diff_fires(s, z, ours) && diff_change_near(z, after, ours) ? D_HANG : D_UNEXPLAINED;
    if (strcmp(theirs, "NONE") == 0)
        return ours - after > 5 * 365 * 86400 && diff_fires(s, z, ours) ? D_LIMIT5 : D_UNEXPLAINED;
    int64_t r = strtoll(theirs + 3, NULL, 10);
    if (r == ours)
        return D_AGREE;
    if (!diff_change_near(z, after, r < ours ? r : ours))
        return D_UNEXPLAINED;
    if (r > ours)
        return diff_fires(s, z, ours) ? D_SKIPS : D_UNEXPLAINED;
    if (r <= after || diff_fires(s, z, r))
        return D_UNEXPLAINED;
    return wall_matches(s, diff_wall(z, r)) ? D_REPEAT : D_WRONG_WALL;
}

static int diff_case(const char *expr, const char *zname, int64_t after, const char *theirs)
{
    struct cron_sched s;
    char err[CRON_ERR_MAX] = "";
    const struct tz_zone *z;
    bool they_refuse = strncmp(theirs, "ERR ", 4) == 0;
    if (cron_parse(expr, &s, err, sizeof(err)) != 0)
        return they_refuse ? D_BOTH_REFUSE : diff_refused(err, theirs);
    if (they_refuse) {
        const char *dow = strrchr(expr, ' ');
        bool seven = dow != NULL && strchr(dow, '7') != NULL;
        return seven && strstr(theirs, "(6)") != NULL ? D_DOW7 : D_UNEXPLAINED;
    }
    int64_t ours;
    if (tz_get(zname, &z, err, sizeof(err)) != 0 || cron_next(&s, z, after, &ours) != 0)
        return D_UNEXPLAINED;
    return diff_times(&s, z, after, ours, theirs);
}

static int crondiff(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return 2;
    }
    char line[1024];
    unsigned count[D_COUNT] = {0}, total = 0;
    bool verbose = getenv("CRONDIFF_VERBOSE") != NULL; /* every difference on stderr */
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *f1 = strchr(line, '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL;
        char *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
        if (f3 == NULL) {
            fprintf(stderr, "crondiff: bad line: %s\n", line);
            fclose(f);
            return 2;
        }
        *f1 = *f2 = *f3 = '\0';
        int c = diff_case(line, f1 + 1, strtoll(f2 + 1, NULL, 10), f3 + 1);
        if (c == D_UNEXPLAINED || (verbose && c > D_BOTH_REFUSE))
            fprintf(stderr, "%s: \"%s\" %s after %s: robfig %s\n", diff_names[c], line, f1 + 1,
                    f2 + 1, f3 + 1);
        count[c]++;
        total++;
    }
    fclose(f);
    printf("crondiff: %u cases compared with robfig/cron v3.0.1\n", total);
    for (int c = 0; c < D_COUNT; c++)
        if (count[c] > 0)
            printf("  %6u  %s\n", count[c], diff_names[c]);
    return count[D_UNEXPLAINED] == 0 && total > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--crondiff") == 0)
        return crondiff(argv[2]);
    static const struct unit_test tests[] = {
        {"parse_forms", test_parse_forms},
        {"parse_masks", test_parse_masks},
        {"parse_invalid", test_parse_invalid},
        {"parse_bounds", test_parse_bounds},
        {"next_utc", test_next_utc},
        {"next_dst", test_next_dst},
        {"next_far_future", test_next_far_future},
        {"next_errors", test_next_errors},
        {"prev", test_prev},
        {"missed", test_missed},
        {"oracle", test_oracle},
        {NULL, NULL},
    };
    return unit_run("cron", NULL, NULL, tests);
}

/* Unit tests for lib/cron's zones: name checks, the zone cache and ZONEINFO, UTC
 * without tzdata, offsets across both DST changes, POSIX TZ strings (every date
 * form, negative and over-24-hour times, DST all year, negative DST), the footer
 * rule against the transitions zic wrote, hand-made TZif files of each version and
 * their corruptions, and concurrent loads. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cron/civil.h"
#include "lib/cron/tz.h"

#define Z(y, mo, d, h, mi, s) (civil_days(y, mo, d) * 86400 + (h)*3600 + (mi)*60 + (s))

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

static int32_t off_at(const struct tz_zone *z, int64_t t)
{
    int32_t off = -1;
    CU_ASSERT_EQUAL(tz_offset_at(z, t, &off), 0);
    return off;
}

static void test_names(void)
{
    static const char *const good[] = {
        "UTC",        "Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
        "Etc/GMT-14", "EST5EDT",       "America/Port-au-Prince",         "a.b"};
    static const char *const bad[] = {"",
                                      "/etc/passwd",
                                      "../etc/passwd",
                                      "Europe/../../x",
                                      "Europe/./London",
                                      "Europe//London",
                                      "Europe/",
                                      ".",
                                      "..",
                                      "Europe/London ",
                                      "Eu\\rope",
                                      "Europe/Lon%don",
                                      "x\ny"};
    char err[TZ_ERR_MAX];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CU_ASSERT_EQUAL(tz_name_check(good[i], err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(tz_name_check(bad[i], err, sizeof(err)), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid time zone name"));
    }
    CU_ASSERT_EQUAL(tz_name_check(NULL, err, sizeof(err)), -EINVAL);
    char longname[TZ_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname));
    longname[TZ_NAME_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(tz_name_check(longname, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
    longname[TZ_NAME_MAX] = '\0';
    CU_ASSERT_EQUAL(tz_name_check(longname, err, sizeof(err)), 0);
    const struct tz_zone *z = NULL;
    CU_ASSERT_EQUAL(tz_get("../../etc/passwd", &z, err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NULL(z);
}

static void test_get(void)
{
    const struct tz_zone *a = NULL, *b = NULL;
    char err[TZ_ERR_MAX] = "";
    CU_ASSERT_EQUAL(tz_get("UTC", &a, err, sizeof(err)), 0);
    CU_ASSERT_PTR_EQUAL(a, tz_utc());
    CU_ASSERT_STRING_EQUAL(tz_name(a), "UTC");
    CU_ASSERT_EQUAL(off_at(a, 0), 0);
    a = zone("Europe/London");
    CU_ASSERT_EQUAL(tz_get("Europe/London", &b, err, sizeof(err)), 0);
    CU_ASSERT_PTR_EQUAL(a, b); /* loaded once, then cached */
    CU_ASSERT_STRING_EQUAL(tz_name(a), "Europe/London");
    b = NULL;
    CU_ASSERT_EQUAL(tz_get("Mars/Olympus_Mons", &b, err, sizeof(err)), -ENOENT);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown time zone \"Mars/Olympus_Mons\""));
    CU_ASSERT_EQUAL(tz_get("America", &b, err, sizeof(err)), -ENOENT); /* a directory */
    CU_ASSERT_EQUAL(tz_get("Europe/London/x", &b, err, sizeof(err)), -ENOENT);
    CU_ASSERT_EQUAL(tz_get("zone.tab", &b, err, sizeof(err)), -EBADMSG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a valid TZif file"));
    CU_ASSERT_EQUAL(tz_get("Mars/Olympus_Mons", &b, NULL, 0), -ENOENT);
}

/* A zone's offsets on both sides of each change, as Unix seconds. */
static void test_offsets(void)
{
    const struct tz_zone *ny = zone("America/New_York"), *lon = zone("Europe/London");
    CU_ASSERT_EQUAL(off_at(ny, Z(2026, 3, 8, 6, 59, 59)), -5 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(2026, 3, 8, 7, 0, 0)), -4 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(2026, 11, 1, 5, 59, 59)), -4 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(2026, 11, 1, 6, 0, 0)), -5 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(1883, 1, 1, 0, 0, 0)), -17762); /* LMT */
    CU_ASSERT_EQUAL(off_at(lon, Z(2026, 3, 29, 0, 59, 59)), 0);
    CU_ASSERT_EQUAL(off_at(lon, Z(2026, 3, 29, 1, 0, 0)), 3600);
    CU_ASSERT_EQUAL(off_at(lon, Z(2026, 10, 25, 0, 59, 59)), 3600);
    CU_ASSERT_EQUAL(off_at(lon, Z(2026, 10, 25, 1, 0, 0)), 0);
    const struct tz_zone *lh = zone("Australia/Lord_Howe");
    CU_ASSERT_EQUAL(off_at(lh, Z(2026, 4, 4, 14, 59, 59)), 11 * 3600);
    CU_ASSERT_EQUAL(off_at(lh, Z(2026, 4, 4, 15, 0, 0)), 10 * 3600 + 1800);
    CU_ASSERT_EQUAL(off_at(lh, Z(2026, 10, 3, 15, 29, 59)), 10 * 3600 + 1800);
    CU_ASSERT_EQUAL(off_at(lh, Z(2026, 10, 3, 15, 30, 0)), 11 * 3600);
    const struct tz_zone *ch = zone("Pacific/Chatham");
    CU_ASSERT_EQUAL(off_at(ch, Z(2026, 4, 4, 13, 59, 59)), 13 * 3600 + 2700);
    CU_ASSERT_EQUAL(off_at(ch, Z(2026, 4, 4, 14, 0, 0)), 12 * 3600 + 2700);
    CU_ASSERT_EQUAL(off_at(ch, Z(2026, 9, 26, 13, 59, 59)), 12 * 3600 + 2700);
    CU_ASSERT_EQUAL(off_at(ch, Z(2026, 9, 26, 14, 0, 0)), 13 * 3600 + 2700);
    const struct tz_zone *kol = zone("Asia/Kolkata");
    CU_ASSERT_EQUAL(off_at(kol, Z(2026, 6, 1, 0, 0, 0)), 5 * 3600 + 1800);
    CU_ASSERT_EQUAL(off_at(kol, Z(2200, 6, 1, 0, 0, 0)), 5 * 3600 + 1800);
    /* Footer years. */
    CU_ASSERT_EQUAL(off_at(ny, Z(2100, 3, 14, 6, 59, 59)), -5 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(2100, 3, 14, 7, 0, 0)), -4 * 3600);
    CU_ASSERT_EQUAL(off_at(ny, Z(9999, 12, 31, 0, 0, 0)), -5 * 3600);
    struct tz_span sp;
    CU_ASSERT_EQUAL(tz_span_at(ny, Z(2100, 7, 1, 0, 0, 0), &sp), 0);
    CU_ASSERT_EQUAL(sp.start, Z(2100, 3, 14, 7, 0, 0));
    CU_ASSERT_EQUAL(sp.end, Z(2100, 11, 7, 6, 0, 0));
    CU_ASSERT_EQUAL(sp.utoff, -4 * 3600);
    CU_ASSERT_EQUAL(tz_span_at(tz_utc(), 0, &sp), 0);
    CU_ASSERT_EQUAL(sp.start, -TZ_FOREVER);
    CU_ASSERT_EQUAL(sp.end, TZ_FOREVER);
    CU_ASSERT_EQUAL(tz_span_at(ny, TZ_TIME_LIMIT + 1, &sp), -ERANGE);
    CU_ASSERT_EQUAL(tz_span_at(ny, INT64_MIN, &sp), -ERANGE);
    CU_ASSERT_EQUAL(tz_span_at(ny, -TZ_TIME_LIMIT, &sp), 0);
    CU_ASSERT_EQUAL(tz_span_at(ny, TZ_TIME_LIMIT, &sp), 0);
}

struct posix_case {
    const char *tz;
    int64_t t;
    int32_t off;
};

static void test_posix(void)
{
    const struct posix_case cases[] = {
        {"EST5EDT,M3.2.0,M11.1.0", Z(2026, 3, 8, 6, 59, 59), -18000},
        {"EST5EDT,M3.2.0,M11.1.0", Z(2026, 3, 8, 7, 0, 0), -14400},
        {"EST5EDT,M3.2.0,M11.1.0", Z(2026, 11, 1, 5, 59, 59), -14400},
        {"EST5EDT,M3.2.0,M11.1.0", Z(2026, 11, 1, 6, 0, 0), -18000},
        /* No rule: tzcode's default, the US rules. */
        {"EST5EDT", Z(2026, 3, 8, 7, 0, 0), -14400},
        {"EST5EDT", Z(2026, 12, 1, 0, 0, 0), -18000},
        /* Jn never counts February 29: J60 is March 1, leap year or not. */
        {"AAA0BBB,J60/0,J300/0", Z(2028, 2, 29, 23, 59, 59), 0},
        {"AAA0BBB,J60/0,J300/0", Z(2028, 3, 1, 0, 0, 0), 3600},
        {"AAA0BBB,J60/0,J300/0", Z(2027, 3, 1, 0, 0, 0), 3600},
        /* n counts it: 59 is February 29 in a leap year, March 1 otherwise. */
        {"AAA0BBB,59/0,300/0", Z(2028, 2, 29, 0, 0, 0), 3600},
        {"AAA0BBB,59/0,300/0", Z(2028, 2, 28, 23, 59, 59), 0},
        {"AAA0BBB,59/0,300/0", Z(2027, 2, 28, 23, 59, 59), 0},
        {"AAA0BBB,59/0,300/0", Z(2027, 3, 1, 0, 0, 0), 3600},
        /* Negative rule time (America/Nuuk): Saturday 23:00 local std. */
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", Z(2026, 3, 29, 0, 59, 59), -7200},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", Z(2026, 3, 29, 1, 0, 0), -3600},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", Z(2026, 10, 25, 0, 59, 59), -3600},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", Z(2026, 10, 25, 1, 0, 0), -7200},
        /* Over 24 hours (Asia/Jerusalem): Thursday 26:00 is Friday 02:00. */
        {"IST-2IDT,M3.4.4/26,M10.5.0", Z(2026, 3, 26, 23, 59, 59), 7200},
        {"IST-2IDT,M3.4.4/26,M10.5.0", Z(2026, 3, 27, 0, 0, 0), 10800},
        /* DST all year (RFC 8536's example). */
        {"EST5EDT,0/0,J365/25", Z(2026, 1, 1, 4, 59, 59), -14400},
        {"EST5EDT,0/0,J365/25", Z(2026, 1, 1, 5, 0, 0), -14400},
        {"EST5EDT,0/0,J365/25", Z(2026, 7, 1, 0, 0, 0), -14400},
        {"EST5EDT,0/0,J365/25", Z(2028, 12, 31, 23, 0, 0), -14400},
        /* Negative DST (Europe/Dublin): IST in summer is standard, GMT in winter. */
        {"IST-1GMT0,M10.5.0,M3.5.0/1", Z(2026, 7, 1, 0, 0, 0), 3600},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", Z(2026, 12, 1, 0, 0, 0), 0},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", Z(2026, 3, 29, 0, 59, 59), 0},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", Z(2026, 3, 29, 1, 0, 0), 3600},
        /* Southern hemisphere, half hours, explicit DST offset. */
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", Z(2026, 10, 3, 15, 30, 0), 39600},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", Z(2026, 7, 1, 0, 0, 0), 37800},
        {"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", Z(2026, 9, 26, 14, 0, 0), 49500},
        {"IST-5:30", Z(2026, 1, 1, 0, 0, 0), 19800},
        {"<+0545>-5:45", Z(2026, 1, 1, 0, 0, 0), 20700},
        {"UTC0", Z(2026, 1, 1, 0, 0, 0), 0},
        {"XXX-24:59:59", 0, 89999},
        {"XXX24:59:59", 0, -89999},
        {"AAA3BBB2:30:15,M12.5.6/167,J1/-167", Z(2026, 6, 1, 0, 0, 0), -9015},
    };
    char err[TZ_ERR_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tz_zone *z = NULL;
        int rc = tz_parse_posix(cases[i].tz, &z, err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", cases[i].tz, err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        int32_t off = 0;
        CU_ASSERT_EQUAL(tz_offset_at(z, cases[i].t, &off), 0);
        if (off != cases[i].off)
            fprintf(stderr, "%s at %lld: %d, want %d\n", cases[i].tz, (long long)cases[i].t, off,
                    cases[i].off);
        CU_ASSERT_EQUAL(off, cases[i].off);
        tz_free(z);
    }
}

static void test_posix_invalid(void)
{
    static const char *const bad[] = {"",
                                      "EST",
                                      "ES5",
                                      "5",
                                      "EST5EDT,M3.2.0",
                                      "EST5EDT,M13.2.0,M11.1.0",
                                      "EST5EDT,M0.2.0,M11.1.0",
                                      "EST5EDT,M3.6.0,M11.1.0",
                                      "EST5EDT,M3.0.0,M11.1.0",
                                      "EST5EDT,M3.2.7,M11.1.0",
                                      "EST5EDT,J0,J365",
                                      "EST5EDT,J366,J1",
                                      "EST5EDT,366,1",
                                      "EST25",
                                      "XXX-25",
                                      "EST5EDT,M3.2.0/168,M11.1.0",
                                      "<AB>5",
                                      "<ABC5",
                                      "<A?C>5",
                                      "EST5:60",
                                      "EST5:30:60",
                                      "EST5EDT,M3.2.0,M11.1.0x",
                                      "EST+",
                                      "EST5EDT4,M3.2.0,M11.1.0,",
                                      "EST5EDT,M3.2,M11.1.0",
                                      "EST5EDT,M3.2.0,",
                                      "EST5EDT,,M11.1.0",
                                      "EST5EDT;M3.2.0,M11.1.0",
                                      "EST5 EDT",
                                      "EST5EDT,M3.2.0/,M11.1.0",
                                      "EST0005",
                                      "EST5EDT,J60/1:2:3:4,J300",
                                      "EST5EDT,M03.2.0,M11.1.0x"};
    char err[TZ_ERR_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tz_zone *z = NULL;
        int rc = tz_parse_posix(bad[i], &z, err, sizeof(err));
        if (rc != -EINVAL)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -EINVAL);
        CU_ASSERT_PTR_NULL(z);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid POSIX TZ string"));
    }
}

/* The footer rule of a zone's file must give the same offsets as the transitions
 * zic computed for 2030-2036 (tzdata's "fat" files list them up to 2037): this
 * checks the POSIX rule code against zic itself. Zones whose predicted transitions
 * do not follow their footer (Africa/Casablanca, Asia/Gaza: Ramadan) are left out. */
static void check_footer(const char *name)
{
    char path[512], err[TZ_ERR_MAX];
    const char *dir = getenv("ZONEINFO");
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char data[TZ_FILE_MAX];
    size_t n = fread(data, 1, sizeof(data) - 1, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 2 && data[n - 1] == '\n');
    data[n - 1] = '\0';
    const char *footer = (const char *)memrchr(data, '\n', n - 1) + 1;
    struct tz_zone *rule = NULL;
    CU_ASSERT_EQUAL_FATAL(tz_parse_posix(footer, &rule, err, sizeof(err)), 0);
    const struct tz_zone *z = zone(name);
    int64_t end = Z(2037, 1, 1, 0, 0, 0);
    unsigned changes = 0;
    for (int64_t t = Z(2030, 1, 1, 0, 0, 0); t < end;) {
        struct tz_span sp;
        CU_ASSERT_EQUAL_FATAL(tz_span_at(z, t, &sp), 0);
        for (int64_t u = t; u < sp.end && u < end; u += 3 * 3600)
            CU_ASSERT_EQUAL(off_at(rule, u), sp.utoff);
        if (sp.end < end) {
            if (off_at(rule, sp.end - 1) != sp.utoff || off_at(rule, sp.end) != off_at(z, sp.end))
                fprintf(stderr, "%s: footer \"%s\" disagrees at %lld\n", name, footer,
                        (long long)sp.end);
            CU_ASSERT_EQUAL(off_at(rule, sp.end - 1), sp.utoff);
            CU_ASSERT_EQUAL(off_at(rule, sp.end), off_at(z, sp.end));
            changes++;
        }
        t = sp.end;
    }
    tz_free(rule);
}

static void test_footer_matches_transitions(void)
{
    static const char *const zones[] = {
        "America/New_York", "Europe/London",    "Australia/Lord_Howe", "Pacific/Chatham",
        "Asia/Kolkata",     "America/Nuuk",     "Asia/Jerusalem",      "Europe/Dublin",
        "America/Santiago", "America/Havana",   "Antarctica/Troll",    "Australia/Sydney",
        "Pacific/Auckland", "America/St_Johns", "Europe/Berlin",       "America/Sao_Paulo"};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
        check_footer(zones[i]);
}

/* A TZif file built in memory. */
struct tzif {
    uint8_t b[2048];
    size_t n;
};

static void put(struct tzif *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put32(struct tzif *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(f, b, 4);
}

static void put64(struct tzif *f, int64_t v)
{
    put32(f, (uint32_t)((uint64_t)v >> 32));
    put32(f, (uint32_t)v);
}

static void put_type(struct tzif *f, int32_t off, uint8_t isdst)
{
    put32(f, (uint32_t)off);
    uint8_t b[2] = {isdst, 0};
    put(f, b, 2);
}

/* counts: isut, isstd, leap, time, type, char */
static void header(struct tzif *f, char version, const uint32_t c[6])
{
    put(f, "TZif", 4);
    uint8_t v[16] = {(uint8_t)version};
    put(f, v, 16);
    for (int i = 0; i < 6; i++)
        put32(f, c[i]);
}

/* Version 2+: a minimal v1 block, then two transitions (0 -> +1 h at 1000,
 * -> +2 h at 2000), a leap second record when leap is set, and the footer. */
static void make_v2(struct tzif *f, char version, const char *footer, bool leap)
{
    f->n = 0;
    header(f, version, (const uint32_t[6]){0, 0, 0, 0, 1, 1});
    put_type(f, 0, 0);
    put(f, "", 1);
    header(f, version, (const uint32_t[6]){3, 3, leap, 2, 3, 4});
    put64(f, 1000);
    put64(f, 2000);
    put(f, "\x01\x02", 2);
    put_type(f, 0, 0);
    put_type(f, 3600, 1);
    put_type(f, 7200, 0);
    put(f, "AAA", 4);
    if (leap) {
        put64(f, 1500);
        put32(f, 1);
    }
    put(f, "\0\0\0\0\0\0", 6);
    put(f, "\n", 1);
    put(f, footer, strlen(footer));
    put(f, "\n", 1);
}

static struct tz_zone *parse(const struct tzif *f, int want)
{
    struct tz_zone *z = NULL;
    char err[TZ_ERR_MAX] = "";
    int rc = tz_parse_tzif(f->b, f->n, "test", &z, err, sizeof(err));
    if (rc != want)
        fprintf(stderr, "tzif: rc %d, want %d: %s\n", rc, want, err);
    CU_ASSERT_EQUAL(rc, want);
    if (want != 0)
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a valid TZif file"));
    return z;
}

static void test_tzif_versions(void)
{
    struct tzif f = {0};
    /* Version 1: 32-bit times, the last type holds forever. */
    header(&f, 0, (const uint32_t[6]){0, 0, 1, 1, 2, 4});
    put32(&f, 1000);
    put(&f, "\x01", 1);
    put_type(&f, 0, 0);
    put_type(&f, -3600, 1);
    put(&f, "AAA", 4);
    put32(&f, 1500); /* a leap second record, skipped */
    put32(&f, 1);
    struct tz_zone *z = parse(&f, 0);
    CU_ASSERT_EQUAL(off_at(z, 999), 0);
    CU_ASSERT_EQUAL(off_at(z, 1000), -3600);
    CU_ASSERT_EQUAL(off_at(z, Z(2100, 1, 1, 0, 0, 0)), -3600);
    CU_ASSERT_STRING_EQUAL(tz_name(z), "test");
    tz_free(z);
    /* Versions 2, 3, 4: 64-bit times, then the footer. */
    static const struct {
        char version;
        const char *footer;
        bool leap;
        int32_t late;
    } v[] = {{'2', "BBB-3", false, 10800},
             {'3', "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", false, -7200},
             {'4', "CCC-4", true, 14400},
             {'2', "", false, 7200}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        make_v2(&f, v[i].version, v[i].footer, v[i].leap);
        z = parse(&f, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(z);
        CU_ASSERT_EQUAL(off_at(z, -TZ_TIME_LIMIT), 0);
        CU_ASSERT_EQUAL(off_at(z, 999), 0);
        CU_ASSERT_EQUAL(off_at(z, 1000), 3600);
        CU_ASSERT_EQUAL(off_at(z, 1999), 3600);
        CU_ASSERT_EQUAL(off_at(z, Z(2026, 1, 1, 0, 0, 0)), v[i].late);
        struct tz_span sp;
        CU_ASSERT_EQUAL(tz_span_at(z, 2000, &sp), 0);
        CU_ASSERT_EQUAL(sp.start, 2000); /* the footer span starts at the last transition */
        tz_free(z);
    }
    tz_free(NULL);
}

static void test_tzif_corrupt(void)
{
    struct tzif f;
    make_v2(&f, '2', "BBB-3", false);
    /* Every truncation is refused (the footer's newline is the last byte). */
    for (size_t n = 0; n < f.n; n++) {
        struct tz_zone *z = NULL;
        CU_ASSERT_EQUAL(tz_parse_tzif(f.b, n, "t", &z, NULL, 0), -EBADMSG);
        CU_ASSERT_PTR_NULL(z);
    }
    /* Offsets in the file: the v1 part is 44 + 7 bytes, the v2 header's counts
     * start at 71, its data at 95 (times 95-110, indices 111-112, types from 113). */
    static const struct {
        size_t at;
        uint8_t byte;
    } flips[] = {
        {0, 'X'},   /* magic */
        {4, '5'},   /* version */
        {90, 0},    /* typecnt 3 -> 0 */
        {74, 2},    /* isutcnt 3 -> 2, not the type count */
        {109, 0},   /* second transition 2000 -> 208: not ascending */
        {111, 3},   /* type index 1 -> 3 */
        {113, 1},   /* type 0's offset -> 2^24 s */
        {117, 2},   /* isdst 2 */
        {118, 9},   /* designation index past the characters */
        {95, 0x7f}, /* a transition after 2^60 */
    };
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        struct tzif g = f;
        g.b[flips[i].at] = flips[i].byte;
        CU_ASSERT_PTR_NULL(parse(&g, -EBADMSG));
    }
    make_v2(&f, '2', "BB-3", false); /* a bad footer */
    CU_ASSERT_PTR_NULL(parse(&f, -EBADMSG));
    make_v2(&f, '2', "BBB-3", false);
    f.b[f.n - 1] = 'x'; /* unterminated footer */
    CU_ASSERT_PTR_NULL(parse(&f, -EBADMSG));
    static uint8_t big[TZ_FILE_MAX + 1];
    struct tz_zone *z = NULL;
    CU_ASSERT_EQUAL(tz_parse_tzif(big, sizeof(big), "t", &z, NULL, 0), -EBADMSG);
}

/* ZONEINFO: zones come from there; UTC needs no file at all. */
static void test_zoneinfo_env(void)
{
    char dir[] = "/tmp/test_tz_XXXXXX", sub[64], path[96], err[TZ_ERR_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/Test", dir);
    snprintf(path, sizeof(path), "%s/Zone", sub);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0700), 0);
    struct tzif f;
    make_v2(&f, '2', "BBB-3", false);
    FILE *fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT_EQUAL(fwrite(f.b, 1, f.n, fp), f.n);
    fclose(fp);
    char *saved = getenv("ZONEINFO") ? strdup(getenv("ZONEINFO")) : NULL;
    setenv("ZONEINFO", dir, 1);
    const struct tz_zone *z = NULL;
    CU_ASSERT_EQUAL(tz_get("Test/Zone", &z, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(off_at(z, Z(2026, 1, 1, 0, 0, 0)), 10800);
    CU_ASSERT_EQUAL(tz_get("UTC", &z, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(tz_get("Etc/GMT+3", &z, err, sizeof(err)), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
    saved ? setenv("ZONEINFO", saved, 1) : unsetenv("ZONEINFO");
    free(saved);
    /* Cached: still there with the file gone. */
    unlink(path);
    rmdir(sub);
    rmdir(dir);
    CU_ASSERT_EQUAL(tz_get("Test/Zone", &z, err, sizeof(err)), 0);
}

#define THREADS 8
static const char *const thread_zones[] = {
    "Asia/Tokyo", "America/Chicago", "Europe/Paris", "Africa/Nairobi", "UTC", "America/Denver"};

static void *load_all(void *arg)
{
    const struct tz_zone **out = arg;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < sizeof(thread_zones) / sizeof(thread_zones[0]); i++) {
            const struct tz_zone *z = NULL;
            if (tz_get(thread_zones[i], &z, NULL, 0) != 0 || (out[i] != NULL && out[i] != z))
                return (void *)1;
            out[i] = z;
        }
    return NULL;
}

/* Many threads loading the same zones at once all get the same zone per name. */
static void test_threads(void)
{
    pthread_t th[THREADS];
    const struct tz_zone *seen[THREADS][6] = {{0}};
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, load_all, seen[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rc = NULL;
        pthread_join(th[i], &rc);
        CU_ASSERT_PTR_NULL(rc);
        for (int j = 0; j < 6; j++)
            CU_ASSERT_PTR_EQUAL(seen[i][j], seen[0][j]);
    }
    CU_ASSERT_EQUAL(off_at(seen[0][0], 0), 9 * 3600);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"names", test_names},
        {"get", test_get},
        {"offsets", test_offsets},
        {"posix", test_posix},
        {"posix_invalid", test_posix_invalid},
        {"footer_matches_transitions", test_footer_matches_transitions},
        {"tzif_versions", test_tzif_versions},
        {"tzif_corrupt", test_tzif_corrupt},
        {"zoneinfo_env", test_zoneinfo_env},
        {"threads", test_threads},
        {NULL, NULL},
    };
    return unit_run("tz", NULL, NULL, tests);
}

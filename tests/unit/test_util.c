/* Unit tests for common/util: clocks, RFC 3339, number parsing, hashing and
 * sharding, Kubernetes name shortening, the string buffer and wiping. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/util.h"

static void test_clocks(void)
{
    int64_t a = util_mono_ns(), b = util_mono_ns();
    CU_ASSERT(b >= a);
    CU_ASSERT(util_mono_ms() >= a / 1000000);
    /* Realtime is after 2020-01-01 and agrees between ms and ns. */
    CU_ASSERT(util_wall_ms() > 1577836800000LL);
    CU_ASSERT(util_wall_ns() / 1000000 - util_wall_ms() <= 1000);
}

/* A timed wait on a monotonic condition variable ends at its deadline. */
static void test_mono_wait(void)
{
    pthread_cond_t cv;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    CU_ASSERT_EQUAL_FATAL(util_mono_cond_init(&cv), 0);
    int64_t t0 = util_mono_ns();
    struct timespec until = util_mono_deadline(1999);
    CU_ASSERT(until.tv_nsec >= 0 && until.tv_nsec < 1000000000);
    int64_t at = (int64_t)until.tv_sec * 1000000000 + until.tv_nsec;
    CU_ASSERT(at - t0 >= 1999000000LL && at - t0 < 2100000000LL);
    until = util_mono_deadline(30);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&cv, &mu, &until);
    pthread_mutex_unlock(&mu);
    int64_t waited = util_mono_ns() - t0;
    CU_ASSERT(waited >= 30000000LL);
    pthread_cond_destroy(&cv);
}

static void test_rfc3339_format(void)
{
    char buf[UTIL_RFC3339_MAX];
    int64_t t = 1795599087LL * 1000000000LL + 123456789;
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 0, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "2026-11-25T09:31:27Z");
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 3, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "2026-11-25T09:31:27.123Z");
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 6, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "2026-11-25T09:31:27.123456Z");
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 9, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "2026-11-25T09:31:27.123456789Z");
    CU_ASSERT_EQUAL(util_rfc3339_format(0, 0, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00Z");
    /* Before the epoch the fraction still counts forward. */
    CU_ASSERT_EQUAL(util_rfc3339_format(-1, 3, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999Z");
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 10, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(util_rfc3339_format(t, -1, buf, sizeof(buf)), -EINVAL);
    char small[21];
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 0, small, 20), -ENOSPC);
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 0, small, sizeof(small)), 0);
}

static void test_rfc3339_parse(void)
{
    int64_t ns = 0;
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T09:31:27Z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T09:31:27.5Z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL + 500000000);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T09:31:27.123456Z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL + 123456000);
    /* Digits past nanoseconds are dropped, not rounded. */
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T09:31:27.1234567899Z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL + 123456789);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25t09:31:27z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL);
    /* Offsets: 11:31:27+02:00 is 09:31:27Z; 04:01:27-05:30 too. */
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T11:31:27+02:00", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2026-11-25T04:01:27-05:30", &ns), 0);
    CU_ASSERT_EQUAL(ns, 1795599087LL * 1000000000LL);
    CU_ASSERT_EQUAL(util_rfc3339_parse("1970-01-01T00:00:00Z", &ns), 0);
    CU_ASSERT_EQUAL(ns, 0);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2024-02-29T00:00:00Z", &ns), 0);
    CU_ASSERT_EQUAL(util_rfc3339_parse("2000-02-29T00:00:00Z", &ns), 0);

    /* Round trip through the formatter. */
    char buf[UTIL_RFC3339_MAX];
    int64_t t = 1234567890123456789LL;
    CU_ASSERT_EQUAL(util_rfc3339_format(t, 9, buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(util_rfc3339_parse(buf, &ns), 0);
    CU_ASSERT_EQUAL(ns, t);

    static const char *const bad[] = {
        "",
        "2026-11-25",
        "2026-11-25T09:31:27",
        "2026-11-25 09:31:27Z",
        "2026-11-25T09:31:27.Z",
        "2026-11-25T09:31:27Zx",
        "2026-13-25T09:31:27Z",
        "2026-00-25T09:31:27Z",
        "2026-11-31T09:31:27Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T09:60:00Z",
        "2026-11-25T09:31:60Z",
        "2026-11-25T09:31:27+0200",
        "2026-11-25T09:31:27+24:00",
        "26-11-25T09:31:27Z",
        "2026-1-25T09:31:27Z",
        " 2026-11-25T09:31:27Z",
    };
    ns = 42;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = util_rfc3339_parse(bad[i], &ns);
        if (rc != -EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CU_ASSERT_EQUAL(rc, -EINVAL);
    }
    CU_ASSERT_EQUAL(ns, 42); /* untouched on failure */
    CU_ASSERT_EQUAL(util_rfc3339_parse(NULL, &ns), -EINVAL);
    CU_ASSERT_EQUAL(util_rfc3339_parse("9999-12-31T23:59:59Z", &ns), -ERANGE);
    CU_ASSERT_EQUAL(util_rfc3339_parse("1600-01-01T00:00:00Z", &ns), -ERANGE);
}

static void test_parse_i64(void)
{
    long long v = 7;
    CU_ASSERT_EQUAL(util_parse_i64("42", 0, 100, &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(util_parse_i64("-5", -10, 10, &v), 0);
    CU_ASSERT_EQUAL(v, -5);
    CU_ASSERT_EQUAL(util_parse_i64("+5", -10, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_EQUAL(util_parse_i64("9223372036854775807", 0, 9223372036854775807LL, &v), 0);
    CU_ASSERT_EQUAL(v, 9223372036854775807LL);
    v = 7;
    CU_ASSERT_EQUAL(util_parse_i64("101", 0, 100, &v), -ERANGE);
    CU_ASSERT_EQUAL(util_parse_i64("0", 1, 100, &v), -ERANGE);
    CU_ASSERT_EQUAL(util_parse_i64("9223372036854775808", 0, 9223372036854775807LL, &v), -ERANGE);
    static const char *const bad[] = {"", " 1", "1 ", "abc", "1x", "0x10", "1.5", "-", "+", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(util_parse_i64(bad[i], -100, 100, &v), -EINVAL);
    CU_ASSERT_EQUAL(util_parse_i64(NULL, 0, 1, &v), -EINVAL);
    CU_ASSERT_EQUAL(v, 7);
    /* Leading zeros are decimal, not octal. */
    CU_ASSERT_EQUAL(util_parse_i64("010", 0, 100, &v), 0);
    CU_ASSERT_EQUAL(v, 10);
}

static void test_parse_double(void)
{
    double d = 0;
    CU_ASSERT_EQUAL(util_parse_double("12.5", 0, 100, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 12.5, 1e-12);
    CU_ASSERT_EQUAL(util_parse_double("1e2", 0, 1000, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 100, 1e-12);
    CU_ASSERT_EQUAL(util_parse_double(".5", 0, 1, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.5, 1e-12);
    CU_ASSERT_EQUAL(util_parse_double("101", 0, 100, &d), -ERANGE);
    CU_ASSERT_EQUAL(util_parse_double("1e999", 0, 1e300, &d), -ERANGE);
    static const char *const bad[] = {"", "nan", "inf", "0x1p3", "1.5x", " 1", "1 ", "e5", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(util_parse_double(bad[i], -1e9, 1e9, &d), -EINVAL);
}

static void test_fnv_and_shard(void)
{
    /* Reference values of FNV-1a 64. */
    CU_ASSERT_EQUAL(util_fnv1a64("", 0), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(util_fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
    CU_ASSERT_EQUAL(util_fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
    uint64_t h = util_fnv1a64_update(UTIL_FNV1A64_INIT, "foo", 3);
    CU_ASSERT_EQUAL(util_fnv1a64_update(h, "bar", 3), 0x85944171f73967e8ULL);

    /* The shard is the hash of "ns/name" mod n. */
    CU_ASSERT_EQUAL(util_shard_of("default", "job", 7), (int)(util_fnv1a64("default/job", 11) % 7));
    CU_ASSERT_EQUAL(util_shard_of("a", "b", 1), 0);
    CU_ASSERT_EQUAL(util_shard_of("a", "b", 0), -EINVAL);
    CU_ASSERT_EQUAL(util_shard_of(NULL, "b", 3), -EINVAL);
    /* Every shard gets some of 1000 keys, and the split is not wildly uneven. */
    int counts[5] = {0};
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "om-job-%d", i);
        int s = util_shard_of("openmetadata", name, 5);
        CU_ASSERT(s >= 0 && s < 5);
        if (s >= 0 && s < 5)
            counts[s]++;
    }
    for (int i = 0; i < 5; i++)
        CU_ASSERT(counts[i] > 120 && counts[i] < 280);
}

static void test_dns1123(void)
{
    CU_ASSERT_TRUE(util_dns1123_label_valid("default"));
    CU_ASSERT_TRUE(util_dns1123_label_valid("a"));
    CU_ASSERT_TRUE(util_dns1123_label_valid("0ab-c9"));
    CU_ASSERT_FALSE(util_dns1123_label_valid(""));
    CU_ASSERT_FALSE(util_dns1123_label_valid("-a"));
    CU_ASSERT_FALSE(util_dns1123_label_valid("a-"));
    CU_ASSERT_FALSE(util_dns1123_label_valid("A"));
    CU_ASSERT_FALSE(util_dns1123_label_valid("a.b"));
    CU_ASSERT_FALSE(util_dns1123_label_valid("a_b"));
    CU_ASSERT_FALSE(util_dns1123_label_valid(NULL));
    char s[300];
    memset(s, 'a', 63);
    s[63] = '\0';
    CU_ASSERT_TRUE(util_dns1123_label_valid(s));
    s[63] = 'a';
    s[64] = '\0';
    CU_ASSERT_FALSE(util_dns1123_label_valid(s));
    CU_ASSERT_TRUE(util_dns1123_subdomain_valid(s) == false); /* a 64-char part */
    CU_ASSERT_TRUE(util_dns1123_subdomain_valid("a.b-c.d"));
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid("a..b"));
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid("a.-b"));
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid(".a"));
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid("a."));
    for (int i = 0; i < 254; i++)
        s[i] = i % 2 == 0 ? 'a' : '.';
    s[253] = '\0';
    CU_ASSERT_TRUE(util_dns1123_subdomain_valid(s));
    s[253] = '.';
    s[254] = 'a';
    s[255] = '\0';
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid(s));

    CU_ASSERT_TRUE(util_label_value_valid(""));
    CU_ASSERT_TRUE(util_label_value_valid("Ab_c.d-9"));
    CU_ASSERT_FALSE(util_label_value_valid("_a"));
    CU_ASSERT_FALSE(util_label_value_valid("a."));
    CU_ASSERT_FALSE(util_label_value_valid("a b"));
    CU_ASSERT_FALSE(util_label_value_valid("a/b"));
}

static void make_name(char *buf, size_t len, char c)
{
    memset(buf, c, len);
    buf[len] = '\0';
}

static void test_k8s_name_fits(void)
{
    char out[300];
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), "myjob", "-main", 63), 0);
    CU_ASSERT_STRING_EQUAL(out, "myjob-main");
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), "myjob", NULL, 63), 0);
    CU_ASSERT_STRING_EQUAL(out, "myjob");
    /* Exactly at the limit: unchanged. */
    char base[300];
    make_name(base, 58, 'a');
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-main", 63), 0);
    CU_ASSERT_EQUAL(strlen(out), 63);
    CU_ASSERT_EQUAL(strncmp(out, base, 58), 0);
    char small[10];
    CU_ASSERT_EQUAL(util_k8s_name(small, sizeof(small), "myjob", "-main", 63), -ENOSPC);
}

static void test_k8s_name_shortened(void)
{
    char out[300], out2[300], base[300];
    make_name(base, 59, 'a');
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-main", 63), 0);
    CU_ASSERT_EQUAL(strlen(out), 63);
    /* prefix (63 - 5 - 9 = 49) + '-' + 8 hex + suffix */
    CU_ASSERT_EQUAL(strncmp(out, base, 49), 0);
    CU_ASSERT_EQUAL(out[49], '-');
    CU_ASSERT_EQUAL(strspn(out + 50, "0123456789abcdef"), 8);
    CU_ASSERT_STRING_EQUAL(out + 58, "-main");
    CU_ASSERT_TRUE(util_dns1123_label_valid(out));
    /* Deterministic. */
    CU_ASSERT_EQUAL(util_k8s_name(out2, sizeof(out2), base, "-main", 63), 0);
    CU_ASSERT_STRING_EQUAL(out, out2);
    /* Same prefix, different tail: different names. */
    base[58] = 'b';
    CU_ASSERT_EQUAL(util_k8s_name(out2, sizeof(out2), base, "-main", 63), 0);
    CU_ASSERT_STRING_NOT_EQUAL(out, out2);
    CU_ASSERT_EQUAL(strncmp(out, out2, 49), 0);
    /* Different suffixes on the same base differ too. */
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-exit", 63), 0);
    CU_ASSERT_STRING_NOT_EQUAL(out, out2);
    /* Subdomain limit, with a base of dot-separated parts. */
    make_name(base, 260, 'x');
    for (int i = 9; i < 259; i += 10)
        base[i] = '.';
    CU_ASSERT_FALSE(util_dns1123_subdomain_valid(base)); /* too long */
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-exit", 253), 0);
    CU_ASSERT_EQUAL(strlen(out), 253);
    CU_ASSERT_TRUE(util_dns1123_subdomain_valid(out));
    char tiny[20];
    CU_ASSERT_EQUAL(util_k8s_name(tiny, sizeof(tiny), base, "-exit", 253), -ENOSPC);
}

static void test_k8s_name_trailing(void)
{
    /* The cut lands on '-' or '.': they are stripped before "-<hash>". */
    char out[300], base[300];
    make_name(base, 70, 'a');
    base[47] = '-';
    base[48] = '.';
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-main", 63), 0);
    CU_ASSERT_EQUAL(strncmp(out, base, 47), 0);
    CU_ASSERT_EQUAL(out[47], '-');
    CU_ASSERT_EQUAL(strlen(out), 47 + 1 + 8 + 5);
    CU_ASSERT_TRUE(util_dns1123_subdomain_valid(out));
    /* A base of only dashes leaves the hash alone before the suffix. */
    make_name(base, 70, '-');
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-x", 63), 0);
    CU_ASSERT_EQUAL(strlen(out), 10);
    CU_ASSERT_EQUAL(strspn(out, "0123456789abcdef"), 8);
    /* The suffix leaves no room for the hash. */
    make_name(base, 20, 'a');
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-suffix", 14), -EINVAL);
    /* Exactly the room for hash + suffix. */
    CU_ASSERT_EQUAL(util_k8s_name(out, sizeof(out), base, "-suffix", 15), 0);
    CU_ASSERT_EQUAL(strlen(out), 15);
}

static void test_k8s_name_distinct(void)
{
    /* 2000 long names sharing a 60-char prefix give 2000 distinct valid names. */
    enum { N = 2000 };
    char(*names)[64] = calloc(N, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    for (int i = 0; i < N; i++) {
        char base[128];
        snprintf(base, sizeof(base),
                 "om-job-very-long-pipeline-name-for-some-database-service-%05d", i);
        CU_ASSERT_EQUAL(util_k8s_name(names[i], 64, base, "-main", 63), 0);
        CU_ASSERT(strlen(names[i]) <= 63);
        CU_ASSERT_TRUE(util_dns1123_label_valid(names[i]));
    }
    int dups = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dups += strcmp(names[i], names[j]) == 0;
    CU_ASSERT_EQUAL(dups, 0);
    free(names);
}

static void test_label_value(void)
{
    char out[64], out2[64];
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), "openmetadata"), 0);
    CU_ASSERT_STRING_EQUAL(out, "openmetadata");
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), ""), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* Too long: prefix + '-' + 8 hex, 63 in all, valid. */
    char v[200];
    make_name(v, 100, 'p');
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), v), 0);
    CU_ASSERT_EQUAL(strlen(out), 63);
    CU_ASSERT_TRUE(util_label_value_valid(out));
    CU_ASSERT_EQUAL(strncmp(out, v, 54), 0);
    v[99] = 'q';
    CU_ASSERT_EQUAL(util_label_value(out2, sizeof(out2), v), 0);
    CU_ASSERT_STRING_NOT_EQUAL(out, out2);
    /* Invalid characters are replaced and a hash keeps "a b" and "a-b" apart. */
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), "a b"), 0);
    CU_ASSERT_TRUE(util_label_value_valid(out));
    CU_ASSERT_EQUAL(strncmp(out, "a-b-", 4), 0);
    CU_ASSERT_EQUAL(strlen(out), 12);
    CU_ASSERT_EQUAL(util_label_value(out2, sizeof(out2), "a-b"), 0);
    CU_ASSERT_STRING_EQUAL(out2, "a-b");
    /* Must start and end alphanumeric. */
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), "-_.x.y_-"), 0);
    CU_ASSERT_TRUE(util_label_value_valid(out));
    CU_ASSERT_EQUAL(strncmp(out, "x.y-", 4), 0);
    CU_ASSERT_EQUAL(util_label_value(out, sizeof(out), "///"), 0);
    CU_ASSERT_TRUE(util_label_value_valid(out));
    CU_ASSERT_EQUAL(strlen(out), 8);
    /* Deterministic. */
    CU_ASSERT_EQUAL(util_label_value(out2, sizeof(out2), "///"), 0);
    CU_ASSERT_STRING_EQUAL(out, out2);
    CU_ASSERT_EQUAL(util_label_value(out, 10, "a b"), -ENOSPC);
}

static void test_strlcpy(void)
{
    char b[4];
    CU_ASSERT_EQUAL(util_strlcpy(b, "abc", sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "abc");
    CU_ASSERT_EQUAL(util_strlcpy(b, "abcd", sizeof(b)), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(b, "abc");
    CU_ASSERT_EQUAL(util_strlcpy(b, "x", 0), -ENOSPC);
}

static void test_wipe(void)
{
    char buf[16];
    memset(buf, 'S', sizeof(buf));
    util_wipe(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        CU_ASSERT_EQUAL(buf[i], 0);
    util_wipe(NULL, 10);
    char *s = strdup("token-value");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    util_free_secret(s);
    util_free_secret(NULL);
    unsigned char *k = malloc(8); /* binary, no NUL: freed by its length */
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    memset(k, 0, 8);
    util_free_secret_n(k, 8);
    util_free_secret_n(NULL, 8);
}

static void test_file_read(void)
{
    char dir[] = "/tmp/omjob-util-test-XXXXXX", path[64], *buf = NULL;
    size_t len = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    FILE *f = fopen(path, "we");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 3000; i++) /* 9000 bytes: the buffer grows twice */
        fputs("ab\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(util_file_read(path, 9000, &buf, &len), 0);
    CU_ASSERT_EQUAL(len, 9000);
    CU_ASSERT_EQUAL(strlen(buf), 9000);
    CU_ASSERT_EQUAL(strncmp(buf + 8997, "ab\n", 3), 0);
    util_free_secret_n(buf, len);
    buf = NULL;
    CU_ASSERT_EQUAL(util_file_read(path, 8999, &buf, &len), -EFBIG);
    CU_ASSERT_EQUAL(util_file_read(dir, 100, &buf, &len), -EINVAL);
    snprintf(path, sizeof(path), "%s/fifo", dir);
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    CU_ASSERT_EQUAL(util_file_read(path, 100, &buf, &len), -EINVAL); /* and does not block */
    unlink(path);
    snprintf(path, sizeof(path), "%s/f", dir);
    unlink(path);
    CU_ASSERT_EQUAL(util_file_read(path, 100, &buf, &len), -ENOENT);
    CU_ASSERT_PTR_NULL(buf); /* written only on success */
    rmdir(dir);
}

static void test_sbuf(void)
{
    struct sbuf sb;
    sbuf_init(&sb);
    CU_ASSERT_STRING_EQUAL(sbuf_str(&sb), "");
    CU_ASSERT_EQUAL(sbuf_len(&sb), 0);
    CU_ASSERT_EQUAL(sbuf_puts(&sb, "hello"), 0);
    CU_ASSERT_EQUAL(sbuf_putc(&sb, ' '), 0);
    CU_ASSERT_EQUAL(sbuf_appendf(&sb, "%d-%s", 42, "x"), 0);
    CU_ASSERT_STRING_EQUAL(sbuf_str(&sb), "hello 42-x");
    CU_ASSERT_EQUAL(sbuf_len(&sb), 10);
    /* Grow past the first allocation, with a long formatted piece. */
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(sbuf_appendf(&sb, "%s", big), 0);
    CU_ASSERT_EQUAL(sbuf_len(&sb), 10 + 9990);
    CU_ASSERT_EQUAL(strlen(sbuf_str(&sb)), 10 + 9990);
    /* Embedded bytes via append. */
    sbuf_reset(&sb);
    CU_ASSERT_EQUAL(sbuf_append(&sb, "a\0b", 3), 0);
    CU_ASSERT_EQUAL(sbuf_len(&sb), 3);
    size_t len = 0;
    char *s = sbuf_detach(&sb, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT_EQUAL(memcmp(s, "a\0b", 4), 0);
    free(s);
    /* After detach the buffer is empty and reusable; detaching nothing gives "". */
    CU_ASSERT_EQUAL(sbuf_len(&sb), 0);
    s = sbuf_detach(&sb, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    /* Zero-initialised equals sbuf_init. */
    struct sbuf z = {0};
    CU_ASSERT_EQUAL(sbuf_puts(&z, "ok"), 0);
    CU_ASSERT_STRING_EQUAL(sbuf_str(&z), "ok");
    sbuf_free(&z);
    sbuf_free(&sb);
    sbuf_free(NULL);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"clocks", test_clocks},
        {"monotonic timed wait", test_mono_wait},
        {"file read", test_file_read},
        {"rfc3339 format", test_rfc3339_format},
        {"rfc3339 parse", test_rfc3339_parse},
        {"parse_i64", test_parse_i64},
        {"parse_double", test_parse_double},
        {"fnv1a64 and shards", test_fnv_and_shard},
        {"dns1123 and label values", test_dns1123},
        {"k8s name that fits", test_k8s_name_fits},
        {"k8s name shortened", test_k8s_name_shortened},
        {"k8s name trailing - and .", test_k8s_name_trailing},
        {"k8s names distinct", test_k8s_name_distinct},
        {"label value shortener", test_label_value},
        {"strlcpy", test_strlcpy},
        {"wipe", test_wipe},
        {"sbuf", test_sbuf},
        {NULL, NULL},
    };
    return unit_run("util", NULL, NULL, tests);
}

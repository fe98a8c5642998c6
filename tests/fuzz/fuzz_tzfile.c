/* libFuzzer target for the zone readers: the input as a TZif file and, cut at its
 * first NUL or newline, as a POSIX TZ string. A zone that parses must give spans
 * that contain the time asked, with offsets in RFC 8536's range, and the cron
 * search must finish on it with a later time or a clean error. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cron/cron.h"
#include "lib/cron/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct tz_zone *z, int64_t t)
{
    struct tz_span sp;
    if (tz_span_at(z, t, &sp) != 0)
        abort();
    if (sp.start > t || sp.end <= t || sp.utoff < -89999 || sp.utoff > 93599)
        abort();
}

static void exercise(const struct tz_zone *z, int64_t seed)
{
    static const int64_t times[] = {
        -TZ_TIME_LIMIT, -TZ_TIME_LIMIT + 1, -1,           0, 999, 1000, 1767225600,
        4102444800,     253402300799,       TZ_TIME_LIMIT};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        probe(z, times[i]);
    probe(z, seed % TZ_TIME_LIMIT);
    struct cron_sched s;
    int64_t next, after = 1767225600 + seed % (INT64_C(200) * 365 * 86400);
    if (cron_parse("*/7 0-3 * * *", &s, NULL, 0) != 0)
        abort();
    int rc = cron_next(&s, z, after, &next);
    if (rc == 0 && next <= after)
        abort();
    if (rc != 0 && rc != -ENOENT && rc != -ERANGE)
        abort();
}

static int64_t seed_of(const uint8_t *data, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size && i < 8; i++)
        v = v << 8 | data[size - 1 - i];
    return (int64_t)(v >> 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tz_zone *z = NULL;
    char err[TZ_ERR_MAX];
    int64_t seed = seed_of(data, size);
    if (tz_parse_tzif(data, size, "fuzz", &z, err, sizeof(err)) == 0) {
        exercise(z, seed);
        tz_free(z);
    }
    char str[300];
    size_t n = 0;
    while (n < size && n < sizeof(str) - 1 && data[n] != '\0' && data[n] != '\n')
        n++;
    memcpy(str, data, n);
    str[n] = '\0';
    z = NULL;
    if (tz_parse_posix(str, &z, err, sizeof(err)) == 0) {
        exercise(z, seed);
        tz_free(z);
    }
    return 0;
}

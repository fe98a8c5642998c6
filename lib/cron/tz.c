/* Zones: the span lookup over transitions and footer rule, the built-in UTC zone,
 * zone name checks, and the process-wide cache of zones read from the zoneinfo
 * directory (see tz.h for the contract). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cron/tz_impl.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

static struct tz_type utc_type = {0, false};
static const struct tz_zone utc_zone = {.name = (char *)"UTC", .types = &utc_type, .ntypes = 1};

/* The cache: zones read by tz_get(), kept for the life of the process. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_zone **cache;
static size_t cache_len, cache_cap;

const struct tz_zone *tz_utc(void)
{
    return &utc_zone;
}

const char *tz_name(const struct tz_zone *zone)
{
    return zone->name;
}

void tz_free(struct tz_zone *zone)
{
    if (zone == NULL)
        return;
    free(zone->name);
    free(zone->trans);
    free(zone->tidx);
    free(zone->types);
    free(zone);
}

int tz_parse_posix(const char *tzstr, struct tz_zone **zone, char *err, size_t errlen)
{
    struct tz_zone *z = calloc(1, sizeof(*z));
    int rc = -ENOMEM;
    if (z == NULL || (z->name = strdup(tzstr)) == NULL ||
        (z->types = calloc(1, sizeof(*z->types))) == NULL)
        goto fail;
    z->ntypes = 1;
    rc = tz_rule_parse(tzstr, &z->rule, err, errlen);
    if (rc != 0)
        goto fail;
    z->has_rule = true;
    z->types[0].utoff = z->rule.std_off;
    *zone = z;
    return 0;
fail:
    tz_free(z);
    return rc;
}

/* Number of transitions at or before t. */
static size_t count_le(const struct tz_zone *z, int64_t t)
{
    size_t lo = 0, hi = z->ntrans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tz_span_at(const struct tz_zone *z, int64_t t, struct tz_span *span)
{
    if (t < -TZ_TIME_LIMIT || t > TZ_TIME_LIMIT)
        return -ERANGE;
    size_t i = count_le(z, t);
    struct tz_span sp = {-TZ_FOREVER, TZ_FOREVER, z->types[0].utoff};
    if (z->ntrans == 0 && z->has_rule) {
        sp = tz_rule_span(&z->rule, t);
    } else if (i == 0) {
        if (z->ntrans > 0)
            sp.end = z->trans[0];
    } else if (i < z->ntrans) {
        sp = (struct tz_span){z->trans[i - 1], z->trans[i], z->types[z->tidx[i - 1]].utoff};
    } else if (z->has_rule) {
        sp = tz_rule_span(&z->rule, t);
        if (sp.start < z->trans[i - 1])
            sp.start = z->trans[i - 1];
    } else {
        sp = (struct tz_span){z->trans[i - 1], TZ_FOREVER, z->types[z->tidx[i - 1]].utoff};
    }
    *span = sp;
    return 0;
}

int tz_offset_at(const struct tz_zone *zone, int64_t t, int32_t *utoff)
{
    struct tz_span sp;
    int rc = tz_span_at(zone, t, &sp);
    if (rc == 0)
        *utoff = sp.utoff;
    return rc;
}

static bool name_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '/' || ch == '_' || ch == '-' || ch == '+' || ch == '.';
}

static const char *name_problem(const char *name)
{
    size_t n = strnlen(name, TZ_NAME_MAX + 1);
    if (n == 0)
        return "it is empty";
    if (n > TZ_NAME_MAX)
        return "it is too long";
    if (name[0] == '/')
        return "it is an absolute path";
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(name[i]))
            return "it has a character other than letters, digits and /_-+.";
    /* Every component non-empty and neither "." nor "..". */
    for (const char *c = name; *c != '\0';) {
        size_t len = strcspn(c, "/");
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return "it has an empty, \".\" or \"..\" path component";
        c += len;
        if (*c == '/' && *++c == '\0')
            return "it ends with /";
    }
    return NULL;
}

int tz_name_check(const char *name, char *err, size_t errlen)
{
    const char *why = name == NULL ? "it is empty" : name_problem(name);
    if (why == NULL)
        return 0;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "invalid time zone name \"%.64s\": %s", name ? name : "", why);
    return -EINVAL;
}

static int read_file(int fd, uint8_t **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -ENOENT;
    if (st.st_size > TZ_FILE_MAX)
        return -EBADMSG;
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return -EIO;
        }
        got += (size_t)n;
    }
    *data = buf;
    *len = got;
    return 0;
}

static void load_error(int rc, const char *name, const char *dir, const char *why, char *err,
                       size_t errlen)
{
    if (err == NULL || errlen == 0)
        return;
    if (rc == -ENOENT)
        snprintf(err, errlen, "unknown time zone \"%s\" (no such zone in %s)", name, dir);
    else if (rc == -EBADMSG)
        snprintf(err, errlen, "time zone \"%s\" in %s is unusable: %s", name, dir, why);
    else
        snprintf(err, errlen, "time zone \"%s\" could not be read from %s: %s", name, dir,
                 rc == -ENOMEM         ? "out of memory"
                 : rc == -ENAMETOOLONG ? "the path is too long"
                                       : "read error");
}

/* Reads and parses dir/name. */
static int load(const char *name, struct tz_zone **zone, char *err, size_t errlen)
{
    const char *dir = getenv("ZONEINFO");
    if (dir == NULL || dir[0] == '\0')
        dir = TZ_DEFAULT_DIR;
    char path[4096], why[TZ_ERR_MAX] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = -ENAMETOOLONG;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        goto fail;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOTDIR || errno == ENOENT || errno == EISDIR ? -ENOENT : -errno;
        goto fail;
    }
    rc = read_file(fd, &data, &len);
    close(fd);
    if (rc == 0)
        rc = tz_parse_tzif(data, len, name, zone, why, sizeof(why));
fail:
    free(data);
    if (rc != 0)
        load_error(rc, name, dir, why, err, errlen);
    return rc;
}

static const struct tz_zone *cache_find(const char *name)
{
    for (size_t i = 0; i < cache_len; i++)
        if (strcmp(cache[i]->name, name) == 0)
            return cache[i];
    return NULL;
}

static int cache_add(struct tz_zone *z)
{
    if (cache_len == cache_cap) {
        size_t cap = cache_cap == 0 ? 16 : cache_cap * 2;
        struct tz_zone **nc = realloc(cache, cap * sizeof(*nc));
        if (nc == NULL)
            return -ENOMEM;
        cache = nc;
        cache_cap = cap;
    }
    cache[cache_len++] = z;
    return 0;
}

int tz_get(const char *name, const struct tz_zone **zone, char *err, size_t errlen)
{
    if (name != NULL && strcmp(name, "UTC") == 0) {
        *zone = &utc_zone;
        return 0;
    }
    int rc = tz_name_check(name, err, errlen);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&cache_lock);
    const struct tz_zone *found = cache_find(name);
    struct tz_zone *z = NULL;
    if (found == NULL) {
        rc = load(name, &z, err, errlen);
        if (rc == 0 && (rc = cache_add(z)) != 0) {
            tz_free(z);
            load_error(rc, name, "the zone cache", "", err, errlen);
        }
        found = rc == 0 ? z : NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    if (rc == 0)
        *zone = found;
    return rc;
}

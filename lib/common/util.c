/* Small utilities: clocks and monotonic timed waits, RFC 3339, strict number
 * parsing, FNV-1a and sharding, Kubernetes name shortening, secure wiping, file
 * reading, the growable string buffer. */
#include "lib/common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- clocks ---- */

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t util_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

int64_t util_mono_ms(void)
{
    return util_mono_ns() / 1000000;
}

int64_t util_wall_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t util_wall_ms(void)
{
    return util_wall_ns() / 1000000;
}

int util_mono_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return -rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return -rc;
}

struct timespec util_mono_deadline(int64_t ms)
{
    int64_t ns = util_mono_ns() + ms * 1000000;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* ---- RFC 3339 ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so parsing never depends on TZ or timegm. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int util_rfc3339_format(int64_t unix_ns, int frac_digits, char *out, size_t outsz)
{
    if (frac_digits < 0 || frac_digits > 9 || out == NULL)
        return -EINVAL;
    int64_t sec = unix_ns / 1000000000LL;
    int64_t ns = unix_ns % 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return -EINVAL;
    char buf[UTIL_RFC3339_MAX];
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac_digits > 0) {
        long frac = (long)ns;
        for (int i = frac_digits; i < 9; i++)
            frac /= 10;
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%0*ld", frac_digits, frac);
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "Z");
    return util_strlcpy(out, buf, outsz);
}

/* Reads exactly n digits. */
static int digits(const char **sp, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*sp)[i]))
            return -EINVAL;
        v = v * 10 + ((*sp)[i] - '0');
    }
    *sp += n;
    *out = v;
    return 0;
}

static int expect(const char **sp, char c)
{
    if (**sp != c)
        return -EINVAL;
    (*sp)++;
    return 0;
}

/* Fraction after '.': at least one digit; digits past the ninth are dropped. */
static int fraction(const char **sp, int64_t *ns)
{
    const char *s = *sp;
    int64_t v = 0;
    int n = 0;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    for (; isdigit((unsigned char)*s); s++, n++)
        if (n < 9)
            v = v * 10 + (*s - '0');
    for (; n < 9; n++)
        v *= 10;
    *sp = s;
    *ns = v;
    return 0;
}

/* 'Z' or +hh:mm / -hh:mm, as seconds east of UTC. */
static int zone(const char **sp, int64_t *off)
{
    char c = **sp;
    if (c == 'Z' || c == 'z') {
        (*sp)++;
        *off = 0;
        return 0;
    }
    if (c != '+' && c != '-')
        return -EINVAL;
    (*sp)++;
    int hh, mm;
    if (digits(sp, 2, &hh) != 0 || expect(sp, ':') != 0 || digits(sp, 2, &mm) != 0)
        return -EINVAL;
    if (hh > 23 || mm > 59)
        return -EINVAL;
    *off = (c == '-' ? -1 : 1) * (int64_t)(hh * 3600 + mm * 60);
    return 0;
}

struct civil {
    int y, mo, d, h, mi, s;
};

static int parse_civil(const char **sp, struct civil *c)
{
    if (digits(sp, 4, &c->y) != 0 || expect(sp, '-') != 0 || digits(sp, 2, &c->mo) != 0 ||
        expect(sp, '-') != 0 || digits(sp, 2, &c->d) != 0)
        return -EINVAL;
    if (**sp != 'T' && **sp != 't')
        return -EINVAL;
    (*sp)++;
    if (digits(sp, 2, &c->h) != 0 || expect(sp, ':') != 0 || digits(sp, 2, &c->mi) != 0 ||
        expect(sp, ':') != 0 || digits(sp, 2, &c->s) != 0)
        return -EINVAL;
    if (c->mo < 1 || c->mo > 12 || c->d < 1 || c->d > days_in_month(c->y, c->mo) || c->h > 23 ||
        c->mi > 59 || c->s > 59)
        return -EINVAL;
    return 0;
}

int util_rfc3339_parse(const char *s, int64_t *unix_ns)
{
    struct civil c;
    int64_t frac = 0, off = 0, ns;
    if (s == NULL || parse_civil(&s, &c) != 0)
        return -EINVAL;
    if (*s == '.') {
        s++;
        if (fraction(&s, &frac) != 0)
            return -EINVAL;
    }
    if (zone(&s, &off) != 0 || *s != '\0')
        return -EINVAL;
    int64_t secs = days_from_civil(c.y, c.mo, c.d) * 86400 + c.h * 3600 + c.mi * 60 + c.s - off;
    if (__builtin_mul_overflow(secs, 1000000000LL, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return -ERANGE;
    *unix_ns = ns;
    return 0;
}

/* ---- numbers ---- */

/* strtoll/strtod skip leading spaces and accept a lone sign: refuse both. */
static bool number_start_ok(const char *s)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    return true;
}

int util_parse_i64(const char *s, long long min, long long max, long long *out)
{
    if (!number_start_ok(s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int util_parse_double(const char *s, double min, double max, double *out)
{
    if (!number_start_ok(s))
        return -EINVAL;
    /* Only plain decimals: strtod would also take hex, "inf" and "nan". */
    for (const char *p = s; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p) && strchr("+-.eE", *p) == NULL)
            return -EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return -EINVAL;
    if (errno == ERANGE || !isfinite(v) || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* ---- hashing and sharding ---- */

uint64_t util_fnv1a64_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t util_fnv1a64(const void *data, size_t len)
{
    return util_fnv1a64_update(UTIL_FNV1A64_INIT, data, len);
}

int util_shard_of(const char *ns, const char *name, int nshards)
{
    if (nshards < 1 || ns == NULL || name == NULL)
        return -EINVAL;
    uint64_t h = util_fnv1a64_update(UTIL_FNV1A64_INIT, ns, strlen(ns));
    h = util_fnv1a64_update(h, "/", 1);
    h = util_fnv1a64_update(h, name, strlen(name));
    return (int)(h % (uint64_t)nshards);
}

/* ---- Kubernetes names ---- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

static bool label_part_valid(const char *s, size_t n)
{
    if (n == 0 || n > UTIL_K8S_LABEL_MAX || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool util_dns1123_label_valid(const char *s)
{
    return s != NULL && label_part_valid(s, strlen(s));
}

bool util_dns1123_subdomain_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0 || n > UTIL_K8S_SUBDOMAIN_MAX)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (!label_part_valid(p, len))
            return false;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

static bool label_value_char(char c)
{
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

bool util_label_value_valid(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n > UTIL_K8S_LABEL_MAX || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_value_char(s[i]))
            return false;
    return true;
}

/* 8 hex digits: the 64-bit hash folded to 32 bits. */
static void hash8(char out[9], uint64_t h)
{
    snprintf(out, 9, "%08x", (unsigned)((h ^ (h >> 32)) & 0xffffffffu));
}

int util_k8s_name(char *out, size_t outsz, const char *base, const char *suffix, size_t maxlen)
{
    if (out == NULL || base == NULL)
        return -EINVAL;
    if (suffix == NULL)
        suffix = "";
    size_t bl = strlen(base), sl = strlen(suffix);
    if (bl + sl <= maxlen) {
        if (bl + sl + 1 > outsz)
            return -ENOSPC;
        memcpy(out, base, bl);
        memcpy(out + bl, suffix, sl + 1);
        return 0;
    }
    if (sl + 8 > maxlen)
        return -EINVAL;
    char h[9];
    uint64_t hv = util_fnv1a64_update(UTIL_FNV1A64_INIT, base, bl);
    hash8(h, util_fnv1a64_update(hv, suffix, sl));
    /* Room for the prefix and its '-': what maxlen leaves after hash and suffix. */
    size_t room = maxlen - sl - 8;
    size_t keep = room > 0 ? room - 1 : 0;
    if (keep > bl)
        keep = bl;
    while (keep > 0 && (base[keep - 1] == '-' || base[keep - 1] == '.'))
        keep--;
    size_t total = keep + (keep > 0 ? 1 : 0) + 8 + sl;
    if (total + 1 > outsz)
        return -ENOSPC;
    memcpy(out, base, keep);
    size_t o = keep;
    if (keep > 0)
        out[o++] = '-';
    memcpy(out + o, h, 8);
    memcpy(out + o + 8, suffix, sl + 1);
    return 0;
}

int util_label_value(char *out, size_t outsz, const char *value)
{
    if (out == NULL || value == NULL)
        return -EINVAL;
    if (util_label_value_valid(value))
        return util_strlcpy(out, value, outsz);
    if (outsz < UTIL_K8S_LABEL_MAX + 1)
        return -ENOSPC;
    char h[9];
    hash8(h, util_fnv1a64(value, strlen(value)));
    /* Prefix: sanitised, from the first alphanumeric, at most 63 - 9 long. */
    const char *p = value;
    while (*p != '\0' && !is_alnum(*p))
        p++;
    size_t n = 0;
    for (; p[n] != '\0' && n < UTIL_K8S_LABEL_MAX - 9; n++)
        out[n] = label_value_char(p[n]) ? p[n] : '-';
    while (n > 0 && !is_alnum(out[n - 1]))
        n--;
    if (n > 0)
        out[n++] = '-';
    memcpy(out + n, h, 9);
    return 0;
}

int util_strlcpy(char *dst, const char *src, size_t dstsz)
{
    if (dstsz == 0)
        return -ENOSPC;
    size_t n = strlen(src);
    if (n >= dstsz) {
        memcpy(dst, src, dstsz - 1);
        dst[dstsz - 1] = '\0';
        return -ENOSPC;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- secrets ---- */

void util_wipe(void *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
}

void util_free_secret(char *s)
{
    if (s != NULL)
        util_free_secret_n(s, strlen(s));
}

void util_free_secret_n(void *p, size_t n)
{
    util_wipe(p, n);
    free(p);
}

/* ---- files ---- */

static int read_fd(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = -EFBIG;
                goto fail;
            }
            char *nb = malloc(cap * 2 + 1);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            memcpy(nb, buf, n);
            util_free_secret_n(buf, cap);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        rc = -EFBIG;
        goto fail;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
fail:
    util_free_secret_n(buf, cap);
    return rc;
}

int util_file_read(const char *path, size_t max, char **out, size_t *len)
{
    /* O_NONBLOCK so that a FIFO named in a hostile configuration cannot block us;
     * only regular files are read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EINVAL;
    else if ((uint64_t)st.st_size > max)
        rc = -EFBIG;
    else
        rc = read_fd(fd, max, out, len);
    close(fd);
    return rc;
}

/* ---- string buffer ---- */

void sbuf_init(struct sbuf *sb)
{
    sb->sb_buf = NULL;
    sb->sb_len = 0;
    sb->sb_cap = 0;
    sb->sb_err = 0;
}

/* Makes room for n more bytes plus the NUL. */
static int sbuf_grow(struct sbuf *sb, size_t n)
{
    if (sb->sb_err != 0)
        return sb->sb_err;
    if (n < sb->sb_cap - sb->sb_len)
        return 0;
    size_t need;
    if (__builtin_add_overflow(sb->sb_len, n + 1, &need) || n == SIZE_MAX)
        goto fail;
    size_t cap = sb->sb_cap != 0 ? sb->sb_cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    char *nb = realloc(sb->sb_buf, cap);
    if (nb == NULL)
        goto fail;
    sb->sb_buf = nb;
    sb->sb_cap = cap;
    return 0;
fail:
    sb->sb_err = -ENOMEM;
    return sb->sb_err;
}

int sbuf_append(struct sbuf *sb, const void *data, size_t n)
{
    int rc = sbuf_grow(sb, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(sb->sb_buf + sb->sb_len, data, n);
    sb->sb_len += n;
    sb->sb_buf[sb->sb_len] = '\0';
    return 0;
}

int sbuf_puts(struct sbuf *sb, const char *s)
{
    return sbuf_append(sb, s, strlen(s));
}

int sbuf_putc(struct sbuf *sb, char c)
{
    return sbuf_append(sb, &c, 1);
}

int sbuf_vappendf(struct sbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return sbuf_append(sb, small, (size_t)n);
    int rc = sbuf_grow(sb, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf(sb->sb_buf + sb->sb_len, (size_t)n + 1, fmt, ap);
    sb->sb_len += (size_t)n;
    return 0;
}

int sbuf_appendf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sbuf_vappendf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

const char *sbuf_str(const struct sbuf *sb)
{
    return sb->sb_buf != NULL ? sb->sb_buf : "";
}

size_t sbuf_len(const struct sbuf *sb)
{
    return sb->sb_len;
}

void sbuf_reset(struct sbuf *sb)
{
    sb->sb_len = 0;
    sb->sb_err = 0;
    if (sb->sb_buf != NULL)
        sb->sb_buf[0] = '\0';
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
    if (sb->sb_err == 0 && sb->sb_buf == NULL)
        sbuf_grow(sb, 0);
    if (sb->sb_err != 0) {
        sbuf_free(sb);
        return NULL;
    }
    char *s = sb->sb_buf;
    s[sb->sb_len] = '\0';
    if (len != NULL)
        *len = sb->sb_len;
    sbuf_init(sb);
    return s;
}

void sbuf_free(struct sbuf *sb)
{
    if (sb == NULL)
        return;
    free(sb->sb_buf);
    sbuf_init(sb);
}

/* Structured logging to stderr. Each line is assembled in one buffer and written
 * with one write(2), so lines from concurrent processes never interleave. */
#include "lib/common/log.h"
#include "lib/common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
/* Kept free for what closes a line that was cut short: a quote, the truncation
 * marker and "}\n". */
#define LOG_TAIL 32

static struct {
    char role[32];
    enum log_level level;
    enum log_format format;
    int fd;
} lg = {"omjob-operator", LOG_LVL_INFO, LOG_FMT_JSON, 2};

/* A line being built. Pieces are added whole or not at all (an escape or a UTF-8
 * sequence is never split); after the first that does not fit, nothing more is
 * added and the line is closed and marked truncated, so it stays valid JSON. */
struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
    bool full;
};

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

const char *log_level_str(enum log_level lvl)
{
    if ((unsigned)lvl > LOG_LVL_ERROR)
        return "UNKNOWN";
    return level_names[lvl];
}

int log_level_parse(const char *s, enum log_level *out)
{
    if (s == NULL)
        return -EINVAL;
    for (int i = 0; i <= LOG_LVL_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "WARNING") == 0) {
        *out = LOG_LVL_WARN;
        return 0;
    }
    return -EINVAL;
}

void log_init(const char *role)
{
    if (role != NULL)
        snprintf(lg.role, sizeof(lg.role), "%s", role);
    enum log_level lvl;
    if (log_level_parse(getenv("LOG_LEVEL"), &lvl) == 0)
        lg.level = lvl;
    const char *f = getenv("LOG_FORMAT");
    lg.format = (f != NULL && strcasecmp(f, "text") == 0) ? LOG_FMT_TEXT : LOG_FMT_JSON;
}

void log_set_level(enum log_level lvl)
{
    lg.level = lvl;
}

void log_set_format(enum log_format fmt)
{
    lg.format = fmt;
}

void log_set_fd(int fd)
{
    lg.fd = fd < 0 ? 2 : fd;
}

bool log_enabled(enum log_level lvl)
{
    return lvl >= lg.level;
}

static bool put(struct line *l, const char *s, size_t n)
{
    const size_t lim = LOG_LINE_MAX - LOG_TAIL;
    /* len may already be past lim when a closing quote went into the tail. */
    if (l->full || l->len > lim || n > lim - l->len) {
        l->full = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

/* Writes into the reserved tail: only for closing what was opened. */
static void put_tail(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof(l->buf) - l->len)
        n = sizeof(l->buf) - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Length of the UTF-8 sequence starting at s, or 1 for a stray byte. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

/* Escapes one character (or UTF-8 sequence) of s and returns its length.
 * quotes: also escape '"' and '\\' (JSON strings); text messages keep them. */
static size_t put_char(struct line *l, const char *s, bool quotes)
{
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (quotes && (c == '"' || c == '\\')) {
        esc[0] = '\\';
        esc[1] = (char)c;
        put(l, esc, 2);
    } else if (c == '\n') {
        put(l, "\\n", 2);
    } else if (c == '\t') {
        put(l, "\\t", 2);
    } else if (c < 0x20 || c == 0x7f) {
        snprintf(esc, sizeof(esc), "\\u%04x", c);
        put(l, esc, 6);
    } else {
        size_t n = utf8_len((const unsigned char *)s);
        put(l, s, n);
        return n;
    }
    return 1;
}

/* JSON string escaping (RFC 8259); control bytes as \u00XX. A string cut short
 * is still closed. */
static void put_json_str(struct line *l, const char *s)
{
    if (!put(l, "\"", 1))
        return;
    while (*s != '\0' && !l->full)
        s += put_char(l, s, true);
    put_tail(l, "\"");
}

/* Text values are quoted only when they contain spaces or quotes. */
static void put_text_val(struct line *l, const char *s)
{
    if (strpbrk(s, " \"=\t\n\\") == NULL && *s != '\0') {
        for (; *s != '\0' && !l->full;)
            s += put_char(l, s, false);
        return;
    }
    put_json_str(l, s);
}

static void put_time(struct line *l)
{
    char t[UTIL_RFC3339_MAX];
    util_rfc3339_format(util_wall_ns(), 3, t, sizeof(t));
    puts_(l, t);
}

static void head_json(struct line *l, enum log_level lvl, const char *msg)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    puts_(l, "{\"time\":\"");
    put_time(l);
    puts_(l, "\",\"level\":\"");
    puts_(l, log_level_str(lvl));
    puts_(l, "\",\"role\":");
    put_json_str(l, lg.role);
    puts_(l, ",\"pid\":");
    puts_(l, pid);
    puts_(l, ",\"msg\":");
    put_json_str(l, msg);
}

static void head_text(struct line *l, enum log_level lvl, const char *msg)
{
    char pid[24];
    snprintf(pid, sizeof(pid), "[%ld] ", (long)getpid());
    put_time(l);
    puts_(l, " ");
    puts_(l, log_level_str(lvl));
    puts_(l, " ");
    puts_(l, lg.role);
    puts_(l, pid);
    /* One event, one line: control characters in the message are escaped. */
    while (*msg != '\0' && !l->full)
        msg += put_char(l, msg, false);
}

static void field(struct line *l, const char *k, const char *v)
{
    size_t mark = l->len;
    if (lg.format == LOG_FMT_JSON) {
        puts_(l, ",");
        put_json_str(l, k);
        puts_(l, ":");
    } else {
        puts_(l, " ");
        puts_(l, k);
        puts_(l, "=");
    }
    if (l->full) { /* not even the key fits: leave the field out */
        l->len = mark;
        return;
    }
    size_t vstart = l->len;
    if (v == NULL)
        puts_(l, "null");
    else if (lg.format == LOG_FMT_JSON)
        put_json_str(l, v);
    else
        put_text_val(l, v);
    if (l->len == vstart)
        l->len = mark;
}

static void emit(struct line *l)
{
    if (l->full)
        put_tail(l, lg.format == LOG_FMT_JSON ? ",\"truncated\":true" : " truncated=true");
    if (lg.format == LOG_FMT_JSON)
        l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(lg.fd, l->buf + off, l->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += (size_t)w;
    }
}

void log_vkv(enum log_level lvl, const char *msg, va_list ap)
{
    if (!log_enabled(lvl))
        return;
    int saved = errno;
    struct line l;
    l.len = 0;
    l.full = false;
    if (lg.format == LOG_FMT_JSON)
        head_json(&l, lvl, msg != NULL ? msg : "");
    else
        head_text(&l, lvl, msg != NULL ? msg : "");
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        field(&l, k, v);
    }
    emit(&l);
    errno = saved;
}

void log_kv(enum log_level lvl, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    log_vkv(lvl, msg, ap);
    va_end(ap);
}

void log_fmt(enum log_level lvl, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_kv(lvl, msg, NULL);
}

/* Structured logging: one JSON object per line on stderr (or text with
 * LOG_FORMAT=text), with time, level, role, pid, message and key/value fields. */
#ifndef OMJOB_LIB_COMMON_LOG_H
#define OMJOB_LIB_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_JSON, LOG_FMT_TEXT };

const char *log_level_str(enum log_level lvl);
/* Parses DEBUG, INFO, WARN (or WARNING), ERROR, case-insensitive. 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* Sets the role name printed on every line and reads LOG_LEVEL and LOG_FORMAT from
 * the environment (invalid values are left to cfg_load to report). */
void log_init(const char *role);
void log_set_level(enum log_level lvl);
void log_set_format(enum log_format fmt);
bool log_enabled(enum log_level lvl);

/* Logs msg with fields given as key, value string pairs ending with a NULL key.
 * A NULL value is printed as null. Values are escaped; never pass secrets. A line
 * is at most 8 KiB: a longer one is cut (never inside an escape or a UTF-8
 * character), stays valid JSON, and ends with "truncated":true. */
void log_kv(enum log_level lvl, const char *msg, ...) __attribute__((sentinel));
void log_vkv(enum log_level lvl, const char *msg, va_list ap);
/* printf-style message without fields. */
void log_fmt(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_kv(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_kv(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_kv(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_kv(LOG_LVL_ERROR, __VA_ARGS__)

/* Test hook: log lines go to fd instead of stderr (-1 restores stderr). */
void log_set_fd(int fd);

#endif

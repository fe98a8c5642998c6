/* Small utilities shared by every layer: clocks and timed waits on the monotonic
 * one, RFC 3339 timestamps, strict number parsing, FNV-1a hashing and sharding,
 * Kubernetes name shortening, secure wiping, reading small files and a growable
 * string buffer. */
#ifndef OMJOB_LIB_COMMON_UTIL_H
#define OMJOB_LIB_COMMON_UTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Clocks, named by clock. mono: CLOCK_MONOTONIC, for timeouts, deadlines and
 * durations (never jumps, meaningless across processes and boots). wall:
 * CLOCK_REALTIME, time since the epoch, for timestamps and for times shared with
 * other processes or the API server (jumps when the system clock is set). */
int64_t util_mono_ms(void);
int64_t util_mono_ns(void);
int64_t util_wall_ms(void);
int64_t util_wall_ns(void);

/* Timed waits on the monotonic clock (pthread's default, the wall clock, would
 * stretch or cut a wait when the system clock is set). util_mono_cond_init
 * initialises cv for CLOCK_MONOTONIC: 0 or a negative errno. util_mono_deadline
 * is the absolute time ms from now to pass to pthread_cond_timedwait on it. */
int util_mono_cond_init(pthread_cond_t *cv);
struct timespec util_mono_deadline(int64_t ms);

/* Longest string util_rfc3339_format writes, with its NUL. */
#define UTIL_RFC3339_MAX 36

/* Formats unix_ns (nanoseconds since the epoch, UTC) as RFC 3339 in UTC with
 * frac_digits (0..9) fractional digits, truncated: 0 gives Kubernetes' metav1.Time
 * ("2026-11-25T09:31:27Z"), 6 its MicroTime. 0, -EINVAL or -ENOSPC. */
int util_rfc3339_format(int64_t unix_ns, int frac_digits, char *out, size_t outsz);
/* Parses an RFC 3339 timestamp: date 'T' time, optional fraction (digits beyond
 * nanoseconds are dropped), then 'Z' or a +hh:mm/-hh:mm offset. 0, -EINVAL, or
 * -ERANGE outside what int64 nanoseconds hold (1677-09-21 to 2262-04-11). */
int util_rfc3339_parse(const char *s, int64_t *unix_ns);

/* Parses a whole decimal integer (optional sign, no spaces, nothing after it) in
 * [min, max]. 0, -EINVAL (not a number) or -ERANGE (out of range). */
int util_parse_i64(const char *s, long long min, long long max, long long *out);
/* The same for a finite decimal number (no hex, inf or nan). */
int util_parse_double(const char *s, double min, double max, double *out);

/* FNV-1a, 64 bit. Start from UTIL_FNV1A64_INIT and chain _update for pieces. */
#define UTIL_FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t util_fnv1a64_update(uint64_t h, const void *data, size_t len);
uint64_t util_fnv1a64(const void *data, size_t len);
/* The shard, in [0, nshards), that owns the object "ns/name": FNV-1a of that
 * string mod nshards, stable across processes and releases. -EINVAL if nshards < 1. */
int util_shard_of(const char *ns, const char *name, int nshards);

/* Kubernetes length limits. */
#define UTIL_K8S_LABEL_MAX 63      /* DNS-1123 labels, label values, label name parts */
#define UTIL_K8S_SUBDOMAIN_MAX 253 /* DNS-1123 subdomains: most object names */

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 (namespaces, etc.). */
bool util_dns1123_label_valid(const char *s);
/* DNS-1123 subdomain: labels joined by '.', at most 253 (pod names, etc.). */
bool util_dns1123_subdomain_valid(const char *s);
/* Label value: empty, or [A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?, at most 63. */
bool util_label_value_valid(const char *s);

/* Writes base + suffix to out when it is at most maxlen long; otherwise a prefix
 * of base, stripped of trailing '-' and '.', then '-', 8 hex digits of the FNV-1a
 * hash of base + suffix, then suffix. Deterministic; distinct inputs give distinct
 * outputs but for hash collisions. A valid DNS-1123 base and suffix give a valid
 * result. 0, -EINVAL (suffix leaves no room for the hash) or -ENOSPC (outsz). */
int util_k8s_name(char *out, size_t outsz, const char *base, const char *suffix, size_t maxlen);
/* Writes value to out when it is a valid label value; otherwise its characters
 * outside [-_.A-Za-z0-9] replaced by '-', cut so that it starts and ends
 * alphanumeric and the result with "-<8 hex of hash(value)>" fits in 63. out must
 * hold 64 bytes. 0 or -ENOSPC. */
int util_label_value(char *out, size_t outsz, const char *value);

/* Copies src into dst (always NUL-terminated when dstsz > 0). 0, or -ENOSPC when
 * truncated. */
int util_strlcpy(char *dst, const char *src, size_t dstsz);

/* Zeroes memory in a way the compiler cannot drop (secrets before free). */
void util_wipe(void *p, size_t n);
/* Wipes the string s (strlen bytes) and frees it. NULL is a no-op. */
void util_free_secret(char *s);
/* Wipes n bytes at p (a buffer that held a secret: its capacity, not only what
 * was read into it) and frees it. NULL is a no-op. */
void util_free_secret_n(void *p, size_t n);

/* Reads the regular file path, of at most max bytes, into a new NUL-terminated
 * buffer: *out (the caller frees it; util_free_secret_n(*out, *len) when it may
 * hold a secret; buffers outgrown on the way are wiped) and *len. Opened
 * non-blocking, so that a FIFO in its place cannot hang the caller. 0, or -errno
 * (-EFBIG when larger than max, -EINVAL when not a regular file). */
int util_file_read(const char *path, size_t max, char **out, size_t *len);

/* Growable NUL-terminated byte buffer. Errors are sticky: after an allocation
 * failure every call is a no-op returning -ENOMEM, so callers may check once at
 * the end. Zero-initialisation ({0}) equals sbuf_init. */
struct sbuf {
    char *sb_buf;
    size_t sb_len;
    size_t sb_cap;
    int sb_err;
};

void sbuf_init(struct sbuf *sb);
int sbuf_append(struct sbuf *sb, const void *data, size_t n);
int sbuf_puts(struct sbuf *sb, const char *s);
int sbuf_putc(struct sbuf *sb, char c);
int sbuf_appendf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_vappendf(struct sbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The contents so far; "" when empty. Borrowed until the next call. */
const char *sbuf_str(const struct sbuf *sb);
size_t sbuf_len(const struct sbuf *sb);
/* Forgets the contents, keeps the memory and clears the error. */
void sbuf_reset(struct sbuf *sb);
/* Hands the buffer to the caller, who frees it (never NULL on success; "" when
 * empty), and re-initialises sb. NULL after an earlier error (sb is freed). */
char *sbuf_detach(struct sbuf *sb, size_t *len);
void sbuf_free(struct sbuf *sb);

#endif

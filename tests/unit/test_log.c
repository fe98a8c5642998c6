/* Unit tests for common/log: JSON lines parsed back with json-c (fields,
 * escaping, truncation that stays valid JSON), levels, and the text format. */
#include <CUnit/Basic.h>

#include "support/unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/json.h"
#include "lib/common/log.h"
#include "lib/common/util.h"

static int pfd[2] = {-1, -1};

static int setup(void)
{
    if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
    log_set_fd(pfd[1]);
    return 0;
}

static int teardown(void)
{
    log_set_fd(-1);
    close(pfd[0]);
    close(pfd[1]);
    return 0;
}

/* Everything logged since the last call (malloc'd). */
static char *drain(void)
{
    struct sbuf sb;
    sbuf_init(&sb);
    char buf[4096];
    ssize_t n;
    while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
        sbuf_append(&sb, buf, (size_t)n);
    return sbuf_detach(&sb, NULL);
}

/* Exactly one line, parsed as JSON; NULL (and a failed assertion) otherwise. */
static struct json_object *one_json_line(char **raw)
{
    char *s = drain();
    struct json_object *o = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t len = strlen(s);
    CU_ASSERT(len > 0 && s[len - 1] == '\n');
    CU_ASSERT_PTR_EQUAL(strchr(s, '\n'), s + len - 1);
    char err[128] = "";
    int rc = jx_parse(s, len, &o, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "\n  not JSON (%s): %s\n", err, s);
    CU_ASSERT_EQUAL(rc, 0);
    if (raw != NULL)
        *raw = s;
    else
        free(s);
    return o;
}

static const char *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void test_json_fields(void)
{
    log_init("test-role");
    log_set_format(LOG_FMT_JSON);
    log_set_level(LOG_LVL_DEBUG);
    log_info("hello \"world\"\nsecond line", "omjob.namespace", "ns1", "omjob.name", "my-job",
             "nothing", NULL, NULL);
    struct json_object *o = one_json_line(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(member(o, "level"), "INFO");
    CU_ASSERT_STRING_EQUAL(member(o, "role"), "test-role");
    CU_ASSERT_STRING_EQUAL(member(o, "msg"), "hello \"world\"\nsecond line");
    CU_ASSERT_STRING_EQUAL(member(o, "omjob.namespace"), "ns1");
    CU_ASSERT_STRING_EQUAL(member(o, "omjob.name"), "my-job");
    struct json_object *v = (struct json_object *)&v;
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "nothing", &v));
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(jx_i64_or(o, "pid", -1), getpid());
    /* time: RFC 3339 in UTC with milliseconds, close to now. */
    const char *t = member(o, "time");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(strlen(t), 24);
    int64_t ns = 0;
    CU_ASSERT_EQUAL(util_rfc3339_parse(t, &ns), 0);
    int64_t now = util_wall_ns();
    CU_ASSERT(ns <= now && now - ns < 10LL * 1000000000LL);
    CU_ASSERT_EQUAL(json_object_object_length(o), 8);
    json_object_put(o);
}

static void test_json_escaping(void)
{
    log_set_format(LOG_FMT_JSON);
    log_set_level(LOG_LVL_DEBUG);
    char *raw = NULL;
    log_warn("ctl\x01 tab\t back\\slash del\x7f", "k\"ey", "v\\al\"ue\r", NULL);
    struct json_object *o = one_json_line(&raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(member(o, "level"), "WARN");
    CU_ASSERT_STRING_EQUAL(member(o, "msg"), "ctl\x01 tab\t back\\slash del\x7f");
    CU_ASSERT_STRING_EQUAL(member(o, "k\"ey"), "v\\al\"ue\r");
    CU_ASSERT_PTR_NOT_NULL(strstr(raw, "ctl\\u0001 tab\\t back\\\\slash del\\u007f"));
    /* UTF-8 passes through unchanged. */
    log_error("caf\xc3\xa9 \xe2\x82\xac", NULL);
    json_object_put(o);
    free(raw);
    o = one_json_line(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(member(o, "msg"), "caf\xc3\xa9 \xe2\x82\xac");
    CU_ASSERT_STRING_EQUAL(member(o, "level"), "ERROR");
    json_object_put(o);
}

static void test_levels(void)
{
    log_set_format(LOG_FMT_JSON);
    log_set_level(LOG_LVL_WARN);
    CU_ASSERT_FALSE(log_enabled(LOG_LVL_INFO));
    CU_ASSERT_TRUE(log_enabled(LOG_LVL_ERROR));
    log_debug("no", NULL);
    log_info("no", NULL);
    char *s = drain();
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
    log_warn("yes", NULL);
    struct json_object *o = one_json_line(NULL);
    CU_ASSERT_STRING_EQUAL(member(o, "msg"), "yes");
    json_object_put(o);

    enum log_level l = LOG_LVL_ERROR;
    CU_ASSERT_EQUAL(log_level_parse("debug", &l), 0);
    CU_ASSERT_EQUAL(l, LOG_LVL_DEBUG);
    CU_ASSERT_EQUAL(log_level_parse("Warning", &l), 0);
    CU_ASSERT_EQUAL(l, LOG_LVL_WARN);
    CU_ASSERT_EQUAL(log_level_parse("TRACE", &l), -EINVAL);
    CU_ASSERT_EQUAL(log_level_parse(NULL, &l), -EINVAL);
    CU_ASSERT_EQUAL(l, LOG_LVL_WARN);
    CU_ASSERT_STRING_EQUAL(log_level_str(LOG_LVL_ERROR), "ERROR");
    CU_ASSERT_STRING_EQUAL(log_level_str((enum log_level)42), "UNKNOWN");
}

static void test_init_from_env(void)
{
    setenv("LOG_LEVEL", "error", 1);
    setenv("LOG_FORMAT", "text", 1);
    log_init("envrole");
    CU_ASSERT_FALSE(log_enabled(LOG_LVL_WARN));
    CU_ASSERT_TRUE(log_enabled(LOG_LVL_ERROR));
    log_error("in text", NULL);
    char *s = drain();
    CU_ASSERT_PTR_NOT_NULL(strstr(s, " ERROR envrole["));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "] in text\n"));
    free(s);
    /* An invalid level keeps the current one (cfg_load reports it). */
    setenv("LOG_LEVEL", "bogus", 1);
    unsetenv("LOG_FORMAT");
    log_init(NULL);
    CU_ASSERT_FALSE(log_enabled(LOG_LVL_WARN));
    unsetenv("LOG_LEVEL");
    log_init("test-role");
}

static void test_text_format(void)
{
    log_set_format(LOG_FMT_TEXT);
    log_set_level(LOG_LVL_DEBUG);
    log_info("two\nlines", "omjob.name", "job-1", "msg", "has space", "q", "say \"x\"", "e", "",
             "n", NULL, NULL);
    char *s = drain();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char want[256];
    snprintf(want, sizeof(want),
             " INFO test-role[%ld] two\\nlines omjob.name=job-1 msg=\"has space\" "
             "q=\"say \\\"x\\\"\" e=\"\" n=null\n",
             (long)getpid());
    /* "2026-11-25T09:31:27.123Z" then the rest. */
    CU_ASSERT_EQUAL(strlen(s), 24 + strlen(want));
    if (strlen(s) > 24) {
        CU_ASSERT_STRING_EQUAL(s + 24, want);
        int64_t ns;
        char t[25];
        memcpy(t, s, 24);
        t[24] = '\0';
        CU_ASSERT_EQUAL(util_rfc3339_parse(t, &ns), 0);
    }
    free(s);
    log_set_format(LOG_FMT_JSON);
}

static void test_fmt(void)
{
    log_set_format(LOG_FMT_JSON);
    log_set_level(LOG_LVL_DEBUG);
    log_fmt(LOG_LVL_DEBUG, "%d pods in %s", 3, "ns");
    struct json_object *o = one_json_line(NULL);
    CU_ASSERT_STRING_EQUAL(member(o, "msg"), "3 pods in ns");
    CU_ASSERT_STRING_EQUAL(member(o, "level"), "DEBUG");
    json_object_put(o);
    /* errno survives logging. */
    errno = EAGAIN;
    log_info("x", NULL);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    free(drain());
}

static void test_truncation(void)
{
    log_set_format(LOG_FMT_JSON);
    log_set_level(LOG_LVL_DEBUG);
    /* A huge value: the line is cut to the buffer, stays one valid JSON object,
     * keeps the fields before it and says it was truncated. */
    size_t n = 20000;
    char *big = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    for (size_t i = 0; i < n; i++)
        big[i] = "ab\"\n"[i % 4];
    big[n] = '\0';
    char *raw = NULL;
    log_info("big", "first", "kept", "body", big, "after", "dropped", NULL);
    struct json_object *o = one_json_line(&raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(strlen(raw) <= 8192);
    CU_ASSERT_STRING_EQUAL(member(o, "first"), "kept");
    CU_ASSERT_PTR_NOT_NULL(member(o, "body"));
    CU_ASSERT(strlen(member(o, "body")) > 4000);
    CU_ASSERT_EQUAL(strncmp(member(o, "body"), big, strlen(member(o, "body"))), 0);
    CU_ASSERT_PTR_NULL(member(o, "after"));
    CU_ASSERT_TRUE(jx_bool_or(o, "truncated", false));
    json_object_put(o);
    free(raw);

    /* A huge message, made of 2-byte UTF-8 characters: never split mid-character. */
    for (size_t i = 0; i + 1 < n; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    log_info(big, "k", "v", NULL);
    o = one_json_line(&raw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    const char *msg = member(o, "msg");
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    size_t ml = strlen(msg);
    CU_ASSERT(ml > 4000 && ml % 2 == 0);
    CU_ASSERT_EQUAL(strncmp(msg, big, ml), 0);
    CU_ASSERT_PTR_NULL(member(o, "k"));
    CU_ASSERT_TRUE(jx_bool_or(o, "truncated", false));
    json_object_put(o);
    free(raw);

    /* Sweep the cut across the boundary, with escapes of every width at the end:
     * every line stays one valid JSON object within the limit. */
    char after[200];
    memset(after, 'z', sizeof(after) - 1);
    after[sizeof(after) - 1] = '\0';
    for (size_t len = 7950; len < 8200; len++) {
        memset(big, 'x', len);
        big[len] = '\0';
        big[len - 1] = (char)(len % 3 == 0 ? '\x01' : len % 3 == 1 ? '"' : 'y');
        log_info("m", "k", big, "after", after, NULL);
        o = one_json_line(&raw);
        CU_ASSERT_PTR_NOT_NULL(o);
        CU_ASSERT(strlen(raw) <= 8192);
        json_object_put(o);
        free(raw);
    }
    /* Text format cuts the same way. */
    log_set_format(LOG_FMT_TEXT);
    log_info("big", "body", big, NULL);
    char *s = drain();
    size_t sl = strlen(s);
    CU_ASSERT(sl <= 8192 && sl > 4000);
    CU_ASSERT(sl > 16 && strcmp(s + sl - 16, " truncated=true\n") == 0);
    CU_ASSERT_PTR_EQUAL(strchr(s, '\n'), s + sl - 1);
    free(s);
    log_set_format(LOG_FMT_JSON);
    free(big);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"JSON fields", test_json_fields}, {"JSON escaping", test_json_escaping},
        {"levels", test_levels},           {"init from environment", test_init_from_env},
        {"text format", test_text_format}, {"log_fmt and errno", test_fmt},
        {"truncation", test_truncation},   {NULL, NULL},
    };
    return unit_run("log", setup, teardown, tests);
}

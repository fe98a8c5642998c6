/* Unit tests of `omjob-operator cache` (roles/watcher/cachecmd.c): the request each
 * command line sends to the watcher's truth socket, the reply printed on stdout,
 * an error reply (well-formed or not) on stderr with status 1, and every bad
 * command line refused with the usage (64) before anything is sent. A fake
 * watcher answers in a child process started before this one uses NNG; each
 * command runs in a child process of its own, as on the command line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/unit.h"

#include "lib/common/util.h"
#include "lib/ipc/ipc.h"
#include "runtime/role.h"
#include "roles/watcher/watcher.h"

static char rundir[64];
static char outpath[96], errpath[96];
static pid_t fake = -1;

/* The fake watcher: GET_KEY ns/j answers its JSON, ns/gone an error, ns/garbled
 * an error body that cannot be decoded; LIST_SHARD answers with the request's
 * own body, so the test sees what was sent. */
static int answer(void *arg, const struct ipc_msg *req, struct ipc_reply *rep)
{
    (void)arg;
    char key[128], body[256];
    snprintf(key, sizeof(key), "%.*s", (int)req->body_len, (const char *)req->body);
    if (req->type == IPC_REQ_LIST_SHARD) {
        rep->type = IPC_REQ_LIST_SHARD_REPLY;
        snprintf(body, sizeof(body), "{\"asked\":%.*s}", (int)req->body_len,
                 (const char *)req->body);
    } else if (strcmp(key, "ns/gone") == 0) {
        return -ENOENT;
    } else if (strcmp(key, "ns/garbled") == 0) {
        rep->type = IPC_REQ_ERROR;
        snprintf(body, sizeof(body), "?");
    } else {
        rep->type = IPC_REQ_GET_KEY_REPLY;
        snprintf(body, sizeof(body), "{\"key\":\"%s\"}", key);
    }
    rep->len = strlen(body);
    rep->body = strdup(body);
    return rep->body != NULL ? 0 : -ENOMEM;
}

static int fake_main(void)
{
    char url[IPC_URL_MAX];
    struct ipc_rep *r = NULL;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (ipc_endpoint_url(url, sizeof(url), rundir, IPC_EP_TRUTH, NULL) != 0 ||
        ipc_rep_open(&r, url, 1, answer, NULL) != 0)
        return 1;
    sigwait(&set, &sig);
    ipc_rep_close(r);
    ipc_fini();
    return 0;
}

/* Runs the command in a child process, as the command line runs it (one call,
 * then exit: it leaves its NNG socket to the kernel), with stdout and stderr into
 * files; its exit status (under valgrind, 99 when the child leaked). */
static int run(const char *a1, const char *a2)
{
    char *argv[] = {"cache", (char *)a1, (char *)a2, NULL};
    int argc = a1 == NULL ? 1 : a2 == NULL ? 2 : 3, st = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int fe = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        dup2(fo, 1);
        dup2(fe, 2);
        int rc = watcher_cache_command(argc, argv);
        fflush(NULL);
        _exit(rc);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static const char *slurp(const char *path)
{
    static char buf[2][4096];
    static int k;
    char *b = buf[k++ % 2];
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(b, 1, sizeof(buf[0]) - 1, f) : 0;
    b[n] = '\0';
    if (f != NULL)
        fclose(f);
    return b;
}

static void test_requests(void)
{
    CU_ASSERT_EQUAL(run("ns/j", NULL), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"key\":\"ns/j\"}\n");
    CU_ASSERT_EQUAL(run("--cron", "ns/c"), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"key\":\"CRONOMJOB ns/c\"}\n");
    CU_ASSERT_EQUAL(run("--all", NULL), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"asked\":{}}\n");
    CU_ASSERT_EQUAL(run("--crons", NULL), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"asked\":{\"kind\":\"CRONOMJOB\"}}\n");
    CU_ASSERT_EQUAL(run("--shard", "3/4"), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"asked\":{\"shard\":3,\"shards\":4}}\n");
    CU_ASSERT_EQUAL(run("--shard", "0/1024"), 0);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "{\"asked\":{\"shard\":0,\"shards\":1024}}\n");
    CU_ASSERT_STRING_EQUAL(slurp(errpath), "");
}

static void test_error_replies(void)
{
    char want[512];
    CU_ASSERT_EQUAL(run("ns/gone", NULL), 1);
    CU_ASSERT_STRING_EQUAL(slurp(outpath), "");
    CU_ASSERT_PTR_NOT_NULL(strstr(slurp(errpath), "omjob-operator cache: the watcher at ipc://"));
    snprintf(want, sizeof(want), "(errno %d)\n", ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(slurp(errpath), want));
    CU_ASSERT_EQUAL(run("ns/garbled", NULL), 1);
    snprintf(want, sizeof(want), "answered: malformed error reply (errno %d)\n", EBADMSG);
    CU_ASSERT_PTR_NOT_NULL(strstr(slurp(errpath), want));
}

/* Refused before anything is sent: usage on stderr, status 64, stdout empty. */
static void test_usage(void)
{
    static const char *const bad[][2] = {
        {NULL, NULL},          {"--bogus", NULL},
        {"-", NULL},           {"--shard", "4/4"},
        {"--shard", "1"},      {"--shard", "x/4"},
        {"--shard", "1/0"},    {"--shard", "-1/4"},
        {"--shard", "0/1025"}, {"--shard", "00000000000000001/4"},
        {"--shard", NULL},     {"--all", "x"},
        {"no-slash", NULL},    {"ns/a/b", NULL},
        {"--cron", "bad key"}, {"--cron", NULL},
        {"ns/j", "extra"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(run(bad[i][0], bad[i][1]), ROLE_EX_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(slurp(errpath), "usage: omjob-operator cache"));
        CU_ASSERT_STRING_EQUAL(slurp(outpath), "");
    }
}

static int init(void)
{
    char url[IPC_URL_MAX];
    struct stat st;
    snprintf(rundir, sizeof(rundir), "/tmp/omjob-cachecmd-test-XXXXXX");
    if (mkdtemp(rundir) == NULL)
        return -1;
    snprintf(outpath, sizeof(outpath), "%s/out", rundir);
    snprintf(errpath, sizeof(errpath), "%s/err", rundir);
    setenv("OMJOB_RUN_DIR", rundir, 1);
    if (ipc_endpoint_url(url, sizeof(url), rundir, IPC_EP_TRUTH, NULL) != 0)
        return -1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL); /* the child sigwaits; inherited */
    fflush(NULL);
    if ((fake = fork()) == 0)
        exit(fake_main());
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    int64_t end = util_mono_ms() + (getenv("OMJOB_UNDER_VALGRIND") ? 60000 : 10000);
    while (stat(url + strlen("ipc://"), &st) != 0 && util_mono_ms() < end)
        usleep(5000);
    return fake > 0 && stat(url + strlen("ipc://"), &st) == 0 ? 0 : -1;
}

static int clean(void)
{
    int st = -1;
    char cmd[128];
    if (fake > 0) {
        kill(fake, SIGTERM);
        waitpid(fake, &st, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    return system(cmd) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"requests and printed replies", test_requests},
        {"error replies", test_error_replies},
        {"bad command lines", test_usage},
        {NULL, NULL},
    };
    return unit_run("watcher_cachecmd", init, clean, tests);
}

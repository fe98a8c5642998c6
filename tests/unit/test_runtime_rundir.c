/* Unit tests of the run directory preparer (runtime/rundir.c): created 0700 with
 * its parents, a loose mode on our own directory tightened, a symbolic link, a
 * file or another owner's directory refused with a sentence. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/unit.h"

#include "runtime/rundir.h"

static char base[64];

static int make_base(void)
{
    snprintf(base, sizeof(base), "/tmp/omjob-rundir-test-XXXXXX");
    return mkdtemp(base) != NULL ? 0 : -1;
}

static int remove_base(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 01000000;
}

static void test_created(void)
{
    char dir[128], err[256] = "";
    snprintf(dir, sizeof(dir), "%s/a/b/run", base);
    CU_ASSERT_EQUAL(rundir_prepare(dir, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(mode_of(dir), 0700);
    snprintf(dir, sizeof(dir), "%s/a", base); /* parents too */
    CU_ASSERT_EQUAL(mode_of(dir), 0700);
    snprintf(dir, sizeof(dir), "%s/a/b/run", base);
    CU_ASSERT_EQUAL(rundir_prepare(dir, err, sizeof(err)), 0); /* exists: fine */
    CU_ASSERT_EQUAL(rundir_prepare("relative/dir", err, sizeof(err)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not an absolute path"));
}

static void test_tightened(void)
{
    static const unsigned loose[] = {0750, 0701, 0755, 0777, 02770};
    char dir[128], err[256] = "";
    snprintf(dir, sizeof(dir), "%s/loose", base);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(chmod(dir, loose[i]), 0);
        CU_ASSERT_EQUAL(rundir_prepare(dir, err, sizeof(err)), 0);
        CU_ASSERT_EQUAL(mode_of(dir), 0700);
    }
}

static void test_refused(void)
{
    char dir[128], path[128], err[256];
    snprintf(dir, sizeof(dir), "%s/target", base);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    /* A symbolic link in place of the directory, even to one of ours. */
    snprintf(path, sizeof(path), "%s/link", base);
    CU_ASSERT_EQUAL_FATAL(symlink(dir, path), 0);
    CU_ASSERT_EQUAL(rundir_prepare(path, err, sizeof(err)), -ENOTDIR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a directory"));
    CU_ASSERT_EQUAL(mode_of(dir), 0755); /* the link's target untouched */
    /* A file, and a file as a parent. */
    snprintf(path, sizeof(path), "%s/file", base);
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(rundir_prepare(path, err, sizeof(err)), -ENOTDIR);
    snprintf(path, sizeof(path), "%s/file/run", base);
    CU_ASSERT_EQUAL(rundir_prepare(path, err, sizeof(err)), -ENOTDIR);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot create"));
    /* Another owner's directory (only root can give one away). */
    if (geteuid() == 0) {
        CU_ASSERT_EQUAL_FATAL(chown(dir, 65534, 65534), 0);
        CU_ASSERT_EQUAL(rundir_prepare(dir, err, sizeof(err)), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "belongs to uid 65534"));
        CU_ASSERT_EQUAL(mode_of(dir), 0755); /* not ours: not changed */
    }
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"created 0700 with its parents", test_created},
        {"a loose mode on our own directory tightened", test_tightened},
        {"a link, a file, another owner refused", test_refused},
        {NULL, NULL},
    };
    if (make_base() != 0) {
        perror("mkdtemp");
        return 2;
    }
    int rc = unit_run("runtime_rundir", NULL, NULL, tests);
    return remove_base() == 0 ? rc : 1;
}

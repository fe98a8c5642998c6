/* Run directory creation and checks, and the supervisor lock (a POSIX record
 * lock: the kernel drops it when the supervisor dies, however it dies, and
 * F_GETLK tells others who holds it). */
#include "runtime/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/common/util.h"

#define LOCK_NAME "supervisor.lock"

int rundir_path(char *buf, size_t bufsz, const char *dir, const char *name)
{
    int n = snprintf(buf, bufsz, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= bufsz ? -ENAMETOOLONG : 0;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    if (util_strlcpy(p, dir, sizeof(p)) != 0)
        return -ENAMETOOLONG;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -errno;
        *s = c;
        if (c == '\0')
            return 0;
    }
}

/* Checks the open run directory dir: ours, and private once we have closed it. */
static int check_dir(const char *dir, int fd, char *err, size_t errsz)
{
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(err, errsz, "cannot stat run directory %s: %s", dir, strerror(-rc));
    } else if (st.st_uid != geteuid()) {
        snprintf(err, errsz, "run directory %s belongs to uid %lu, not to us (uid %lu)", dir,
                 (unsigned long)st.st_uid, (unsigned long)geteuid());
        rc = -EPERM;
    } else if ((st.st_mode & 077) != 0 && fchmod(fd, 0700) != 0) {
        rc = -errno;
        snprintf(err, errsz, "cannot make run directory %s private: %s", dir, strerror(-rc));
    }
    return rc;
}

int rundir_prepare(const char *dir, char *err, size_t errsz)
{
    if (dir == NULL || dir[0] != '/') {
        snprintf(err, errsz, "run directory %s is not an absolute path", dir ? dir : "(none)");
        return -EINVAL;
    }
    int rc = mkdirs(dir);
    if (rc != 0) {
        snprintf(err, errsz, "cannot create run directory %s: %s", dir, strerror(-rc));
        return rc;
    }
    /* O_NOFOLLOW: a symbolic link planted in place of the directory is refused,
     * and the checks apply to what we opened, not to a path that may change. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ELOOP ? -ENOTDIR : -errno;
        if (rc == -ENOTDIR)
            snprintf(err, errsz, "run directory %s is not a directory", dir);
        else
            snprintf(err, errsz, "cannot open run directory %s: %s", dir, strerror(-rc));
        return rc;
    }
    rc = check_dir(dir, fd, err, errsz);
    close(fd);
    return rc;
}

static void whole_file(struct flock *fl, short type)
{
    memset(fl, 0, sizeof(*fl));
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
}

int rundir_lock(const char *dir, int *fd, pid_t *holder)
{
    char path[PATH_MAX];
    char pid[24];
    struct flock fl;
    int rc = rundir_path(path, sizeof(path), dir, LOCK_NAME);
    if (rc != 0)
        return rc;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0)
        return -errno;
    whole_file(&fl, F_WRLCK);
    if (fcntl(f, F_SETLK, &fl) != 0) {
        rc = errno == EAGAIN || errno == EACCES ? -EAGAIN : -errno;
        whole_file(&fl, F_WRLCK);
        if (rc == -EAGAIN && fcntl(f, F_GETLK, &fl) == 0)
            *holder = fl.l_type == F_UNLCK ? 0 : fl.l_pid;
        goto fail;
    }
    /* For people who look: the holder's pid, as F_GETLK would tell. */
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || write(f, pid, (size_t)n) != n) {
        rc = -errno;
        goto fail;
    }
    *fd = f;
    return 0;
fail:
    close(f);
    return rc;
}

pid_t rundir_lock_holder(const char *dir)
{
    char path[PATH_MAX];
    struct flock fl;
    if (rundir_path(path, sizeof(path), dir, LOCK_NAME) != 0)
        return -ENAMETOOLONG;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0)
        return errno == ENOENT ? 0 : -errno;
    whole_file(&fl, F_WRLCK);
    pid_t rc = fcntl(f, F_GETLK, &fl) != 0 ? -errno : fl.l_type == F_UNLCK ? 0 : fl.l_pid;
    close(f);
    return rc;
}

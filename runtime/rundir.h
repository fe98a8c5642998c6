/* The run directory (OMJOB_RUN_DIR, mode 0700): home of the IPC sockets, the
 * status file and supervisor.lock, whose POSIX lock says which supervisor owns
 * the directory. */
#ifndef OMJOB_RUNTIME_RUNDIR_H
#define OMJOB_RUNTIME_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

/* The watcher's report on the installed CRDs (roles/watcher/crdcheck.h), which
 * httpd serves as /info's "crds". */
#define RUNDIR_CRD_REPORT "crds.json"

/* Makes dir the run directory of this process: creates it and its missing
 * parents with mode 0700, then checks on the opened directory that dir itself is
 * a directory (not a symbolic link) owned by the effective uid, and closes it to
 * group and others. Called by the supervisor before it forks, and by the watcher,
 * which also runs without a supervisor (tests, a role run by hand).
 *
 * A looser mode on a directory we own is tightened to 0700, not refused: it comes
 * from a directory made by hand (mkdir under umask 022 gives 0755), only we (and
 * root) may change it, and once it is 0700 nobody else can reach a path inside.
 * A directory owned by another uid is refused: we cannot close it, and its owner
 * could replace our sockets and status file.
 *
 * The effective uid, not the real one, because it owns what mkdir creates and is
 * what the kernel checks (they differ only in a set-uid process, which the
 * operator never is; the default directory's name uses it too, lib/common/cfg.c).
 *
 * 0; or with a sentence in err: -EINVAL (dir not absolute), -ENOTDIR (dir, or a
 * parent, is not a directory, or dir is a symbolic link), -EPERM (another
 * owner), another -errno from mkdir, open or fchmod. */
int rundir_prepare(const char *dir, char *err, size_t errsz);

/* Takes the supervisor lock: 0 with *fd (close-on-exec, keep it open while
 * running), -EAGAIN when another process holds it (*holder its pid), -errno. */
int rundir_lock(const char *dir, int *fd, pid_t *holder);

/* The pid holding the supervisor lock of dir, 0 when none does, or -errno. */
pid_t rundir_lock_holder(const char *dir);

/* Writes dir/name into buf. 0 or -ENAMETOOLONG. */
int rundir_path(char *buf, size_t bufsz, const char *dir, const char *name);

#endif

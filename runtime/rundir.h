/* The supervisor's run directory (OMJOB_RUN_DIR, mode 0700): home of the IPC
 * sockets, the status file and supervisor.lock, whose POSIX lock says which
 * supervisor owns the directory. */
#ifndef OMJOB_RUNTIME_RUNDIR_H
#define OMJOB_RUNTIME_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Creates dir and its missing parents with mode 0700 and checks that dir is a
 * directory owned by us and closed to others (a looser mode on our own
 * directory is tightened). 0, or -errno with a sentence in err. */
int rundir_prepare(const char *dir, char *err, size_t errsz);

/* Takes the supervisor lock: 0 with *fd (close-on-exec, keep it open while
 * running), -EAGAIN when another process holds it (*holder its pid), -errno. */
int rundir_lock(const char *dir, int *fd, pid_t *holder);

/* The pid holding the supervisor lock of dir, 0 when none does, or -errno. */
pid_t rundir_lock_holder(const char *dir);

/* Writes dir/name into buf. 0 or -ENAMETOOLONG. */
int rundir_path(char *buf, size_t bufsz, const char *dir, const char *name);

#endif

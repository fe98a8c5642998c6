/* The role side of the supervisor protocol (docs/PROTOCOL.md, "Supervisor and
 * roles"), used by every role process (watcher, reconciler, cleaner, httpd):
 * readiness handshake, stop signals, and noticing that the supervisor is gone. A
 * role started by hand (no supervisor) works the same; the handshake is then a
 * no-op. */
#ifndef OMJOB_RUNTIME_ROLE_H
#define OMJOB_RUNTIME_ROLE_H

#include <stdbool.h>

/* Exit status for a bad command line (sysexits.h EX_USAGE). */
#define ROLE_EX_USAGE 64

/* First call of a role's entry point, before any thread exists. name is the
 * instance name for logs ("reconciler-2"). Initialises logging, ignores SIGPIPE,
 * blocks SIGTERM and SIGINT and delivers them through role_stop_fd(), takes over
 * OMJOB_READY_FD and OMJOB_PARENT_FD when the supervisor passed them, and applies
 * the OMJOB_TEST_ROLE_* knobs (docs/DEBUGGING.md). May exit: that is a knob's
 * purpose, or the process is unusable (no signalfd). */
void role_init(const char *name);

/* Tells the supervisor this role is initialised: writes "READY\n" to the
 * readiness pipe and closes it. Idempotent; a no-op when run by hand. */
void role_ready(void);
/* Writes one line (at most PIPE_BUF bytes, so one atomic write) to the readiness
 * pipe and keeps it open: for the elector, which reports "READY" and then its
 * leadership on it (docs/PROTOCOL.md, "Supervisor and roles"). 0, a negative
 * errno, or 0 with nothing written when run by hand. */
int role_report(const char *line);

/* Readable when SIGTERM or SIGINT arrived; role_take_stop() consumes one. */
int role_stop_fd(void);
/* Consumes one pending stop signal. Its number, or 0 when none was pending. */
int role_take_stop(void);

/* Readable (EOF) once the supervisor has died; -1 when run by hand. A role
 * polls it with its other descriptors and exits when it fires. */
int role_parent_fd(void);

/* True when started by a supervisor (OMJOB_PARENT_FD was given). */
bool role_supervised(void);

/* After role_stop_fd() polled readable: consumes the signal and logs it the way
 * every role does ("stopping signal=SIGTERM"). 0: stop now; -1: go on (nothing
 * pending, or OMJOB_TEST_ROLE_HANG). */
int role_handle_stop(void);
/* Logs, the way every role does, that role_parent_fd() fired. */
void role_log_parent_gone(void);

/* The wait at the bottom of a role's main loop: up to timeout_ms for fd (-1 for
 * none) to be readable, a stop signal, or the supervisor's death.
 * ROLE_POLL_GO_ON: loop again; ROLE_POLL_STOP: stop signal handled (exit 0);
 * ROLE_POLL_EXIT: the supervisor died or poll failed, already logged (exit 1). */
enum { ROLE_POLL_GO_ON = -1, ROLE_POLL_STOP = 0, ROLE_POLL_EXIT = 1 };
int role_poll(int fd, int timeout_ms);
/* The same for up to ROLE_POLL_MAX_FDS fds (-1 entries are ignored). */
#define ROLE_POLL_MAX_FDS 4
int role_poll_fds(const int *fds, int nfds, int timeout_ms);

/* For placeholder roles: blocks until a stop signal (returns 0) or the
 * supervisor's death (returns 1), and logs which. */
int role_wait_stop(void);

/* Closes what role_init opened. */
void role_fini(void);

#endif

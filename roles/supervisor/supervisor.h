/* The supervisor: omjob-operator run without a role. It starts every role of
 * the role table as a child process (forked; see proc_spawn), restarts the ones that die, reaps
 * every child (it is safe as PID 1), and on SIGTERM or SIGINT stops the roles in order and exits 0.
 */
#ifndef OMJOB_ROLES_SUPERVISOR_SUPERVISOR_H
#define OMJOB_ROLES_SUPERVISOR_SUPERVISOR_H

#include <stdint.h>

#include "roles/supervisor/proc.h"

struct sup_opts {
    const char *so_argv0;           /* argv[0], reused for the roles (ps shows it) */
    const char *const *so_disabled; /* --disable-role names */
    int so_ndisabled;
    int64_t so_t0_mono_ms;                /* when main() began, for the start-to-ready time */
    int (*so_run)(int argc, char **argv); /* a role's entry, run in forked children */
    const struct proc_def *so_roles;      /* the role table (cmd/main.c) */
    int so_nroles;
};

/* Runs until stopped. Returns the exit status: 0 after a signal-requested stop,
 * 64 for an unknown --disable-role, 78 for bad configuration (cfg_load or the run
 * directory), 1 for other failures (another supervisor owns the run directory). */
int supervisor(const struct sup_opts *o);

#endif

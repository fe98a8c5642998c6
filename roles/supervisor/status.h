/* `omjob-operator status`: the supervisor's status file as a table. */
#ifndef OMJOB_ROLES_SUPERVISOR_STATUS_H
#define OMJOB_ROLES_SUPERVISOR_STATUS_H

/* `omjob-operator status [args]`: prints the role table of the supervisor owning
 * the run directory. Returns the exit status: 0 when it runs, 1 when it does not
 * (with a message on stderr), 64 for bad arguments, 78 for bad configuration. */
int status_command(int argc, char **argv);

#endif

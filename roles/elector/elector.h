/* The elector role's entry point (see roles/elector/elector.c). */
#ifndef OMJOB_ROLES_ELECTOR_ELECTOR_H
#define OMJOB_ROLES_ELECTOR_ELECTOR_H

/* Runs the elector role; argv[0] is "elector". Returns the process exit status. */
int elector(int argc, char **argv);

#endif

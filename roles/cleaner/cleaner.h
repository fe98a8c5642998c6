/* The cleaner role's entry point (see roles/cleaner/cleaner.c). */
#ifndef OMJOB_ROLES_CLEANER_CLEANER_H
#define OMJOB_ROLES_CLEANER_CLEANER_H

/* Runs the cleaner role; argv[0] is "cleaner". Returns the process exit status. */
int cleaner(int argc, char **argv);

#endif

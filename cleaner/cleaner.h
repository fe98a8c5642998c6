/* The cleaner role's entry point (see cleaner/cleaner.c). */
#ifndef OMJOB_CLEANER_H
#define OMJOB_CLEANER_H

/* Runs the cleaner role; argv[0] is "cleaner". Returns the process exit status. */
int cleaner(int argc, char **argv);

#endif

/* The watcher role's entry point (see watcher/watcher.c). */
#ifndef OMJOB_WATCHER_H
#define OMJOB_WATCHER_H

/* Runs the watcher role; argv[0] is "watcher". Returns the process exit status. */
int watcher(int argc, char **argv);

#endif

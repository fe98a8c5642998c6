/* The scheduler role's entry point (see roles/scheduler/scheduler.c). */
#ifndef OMJOB_ROLES_SCHEDULER_SCHEDULER_H
#define OMJOB_ROLES_SCHEDULER_SCHEDULER_H

/* Runs the scheduler role; argv[0] is "scheduler". Returns the process exit status. */
int scheduler(int argc, char **argv);

#endif

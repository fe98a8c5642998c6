/* The watcher role's entry point (see roles/watcher/watcher.c) and the `cache` command
 * that queries a running watcher (roles/watcher/cachecmd.c). */
#ifndef OMJOB_ROLES_WATCHER_WATCHER_H
#define OMJOB_ROLES_WATCHER_WATCHER_H

/* Runs the watcher role; argv[0] is "watcher". Returns the process exit status. */
int watcher(int argc, char **argv);

/* `omjob-operator cache KEY | --cron KEY | --shard I/N | --all | --crons`: asks
 * the watcher's truth socket (OMJOB_RUN_DIR) and prints the JSON reply on stdout.
 * argv[0] is "cache". Exit status 0, 1 (no answer, or an error reply) or 64. */
int watcher_cache_command(int argc, char **argv);

#endif

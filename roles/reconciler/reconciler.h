/* The reconciler role's entry point (see roles/reconciler/reconciler.c). */
#ifndef OMJOB_ROLES_RECONCILER_RECONCILER_H
#define OMJOB_ROLES_RECONCILER_RECONCILER_H

/* Runs one reconciler shard; argv is "reconciler --shard I/N". Returns the
 * process exit status. */
int reconciler(int argc, char **argv);

/* `omjob-operator release [--dry-run]` (release.c): removes the operator's
 * finalizers from every pod and OMJob it watches. Returns the exit status. */
int reconciler_release_command(int argc, char **argv);

/* Parses "I/N" with 0 <= I < N <= max. 0 or -EINVAL; outputs written on success. */
int reconciler_parse_shard(const char *s, int max, int *shard, int *nshards);

#endif

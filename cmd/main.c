/* omjob-operator's entry point, above every role: the one table of roles, and
 * the command line, which runs the supervisor (no role given), one role in the
 * foreground, or a command (status, cache, release). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roles/cleaner/cleaner.h"
#include "roles/elector/elector.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "roles/httpd/httpd.h"
#include "roles/reconciler/reconciler.h"
#include "roles/scheduler/scheduler.h"
#include "roles/supervisor/status.h"
#include "roles/supervisor/supervisor.h"
#include "runtime/role.h"
#include "lib/common/version.h"
#include "roles/watcher/watcher.h"

/* The one table of roles: what the supervisor starts (in this order; they stop
 * writers first), and the commands run in the foreground. A role's name is also
 * its command word: `omjob-operator watcher` runs the watcher by hand. */
static const struct proc_def roles[] = {
    {"watcher", watcher, PROC_DEF_PROCESS},
    {"elector", elector, PROC_DEF_PROCESS | PROC_DEF_ELECTOR}, /* LEADER_ELECTION=true only */
    {"reconciler", reconciler, PROC_DEF_PROCESS | PROC_DEF_SHARDED | PROC_DEF_WRITES},
    {"cleaner", cleaner, PROC_DEF_PROCESS | PROC_DEF_WRITES},
    {"scheduler", scheduler, PROC_DEF_PROCESS | PROC_DEF_WRITES},
    {"httpd", httpd, PROC_DEF_PROCESS},
    {"status", status_command, 0},
    {"cache", watcher_cache_command, 0},
    {"release", reconciler_release_command, 0},
};
#define NROLES ((int)(sizeof(roles) / sizeof(roles[0])))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: omjob-operator [--disable-role NAME]...   run the supervisor and every role\n"
            "       omjob-operator status                     show the roles of the running one\n"
            "       omjob-operator cache KEY | --shard I/N    query the watcher's cache\n"
            "       omjob-operator release [--dry-run]        remove our finalizers\n"
            "       omjob-operator watcher | elector | cleaner | scheduler | httpd\n"
            "                                                 run one role in the foreground\n"
            "       omjob-operator reconciler --shard I/N     run reconciler shard I of N\n"
            "       omjob-operator --version | --help\n"
            "\n"
            "Runs OpenMetadata ingestion jobs (OMJob resources) and guarantees that each\n"
            "job's exit handler runs. Without a role it is the supervisor, which starts\n"
            "the watcher, RECONCILIATION_THREADS reconcilers (reconciler-0...), the cleaner,\n"
            "the scheduler (CronOMJobs) and httpd as child processes; with\n"
            "LEADER_ELECTION=true also the elector, and then the roles that write run only\n"
            "while this replica holds the Lease. --disable-role NAME\n"
            "(repeatable; 'reconciler' means every shard) leaves one out so that you can\n"
            "run it by hand, e.g. under gdb (docs/DEBUGGING.md).\n"
            "\n"
            "Configuration comes from the environment: KUBECONFIG, OPERATOR_NAMESPACE,\n"
            "WATCH_NAMESPACES, RECONCILIATION_THREADS, HEALTH_CHECK_PORT, METRICS_PORT,\n"
            "LOG_LEVEL, LOG_FORMAT, OMJOB_RUN_DIR, OMJOB_ROLE_GRACE_SECONDS (see README.md).\n"
            "\n"
            "Exit status: 0 stopped by SIGTERM/SIGINT, 1 failure, 64 bad command line,\n"
            "78 bad configuration.\n");
}

static int run_command(int argc, char **argv, int ndisabled)
{
    for (int i = 0; i < NROLES; i++) {
        if (strcmp(argv[0], roles[i].pd_name) != 0)
            continue;
        if (ndisabled > 0) {
            fprintf(stderr,
                    "omjob-operator: --disable-role applies to the supervisor only, "
                    "not to '%s'\n",
                    argv[0]);
            return ROLE_EX_USAGE;
        }
        return roles[i].pd_main(argc, argv);
    }
    fprintf(stderr, "omjob-operator: unknown role or command '%s' (roles:", argv[0]);
    for (int pass = 0; pass < 2; pass++) { /* the roles, then the commands */
        const char *sep = pass == 0 ? " " : "; commands: ";
        for (int i = 0; i < NROLES; i++) {
            if (((roles[i].pd_flags & PROC_DEF_PROCESS) != 0) != (pass == 0))
                continue;
            fprintf(stderr, "%s%s", sep, roles[i].pd_name);
            sep = ", ";
        }
    }
    fprintf(stderr, "; try --help)\n");
    return ROLE_EX_USAGE;
}

/* Parses the supervisor's options up to the first word that is not one. */
static int parse(int argc, char **argv, const char **disabled, int *ndisabled, int *cmd)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("omjob-operator %s (build %s)\n", OMJOB_VERSION, OMJOB_BUILD);
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--disable-role") == 0 && i + 1 < argc) {
            disabled[(*ndisabled)++] = argv[++i];
        } else if (strncmp(a, "--disable-role=", 15) == 0) {
            disabled[(*ndisabled)++] = a + 15;
        } else {
            fprintf(stderr, "omjob-operator: %s '%s' (try --help)\n",
                    strcmp(a, "--disable-role") == 0 ? "missing role name after"
                                                     : "unknown argument",
                    a);
            return ROLE_EX_USAGE;
        }
    }
    *cmd = i;
    return -1;
}

/* A role in a child the supervisor forked (proc_spawn). */
static int run_role(int argc, char **argv)
{
    return run_command(argc, argv, 0);
}

/* glibc's per-thread cache (tcache: up to 7 freed blocks per size class, per
 * thread) keeps the blocks a burst freed out of malloc's free lists, where
 * malloc_trim cannot give their pages back and they cannot merge with their free
 * neighbours: after 200 OMJobs, the watcher's heap held 0.5 MiB in 1,200 cached
 * blocks, 0.75 MiB of pages resident for them alone (ARCHITECTURE.md, "Idle
 * memory"). glibc reads its tunables only when a program starts, so the
 * operator sets glibc.malloc.tcache_count=0 and executes itself again, once,
 * before anything else: the same pid, the same argv, the same executable.
 * GLIBC_TUNABLES already set (by the user, or by this) is left as it is; so is
 * a run under valgrind or ASan (their own allocators; /proc/self/exe would be
 * valgrind's). */
static void malloc_tunables(char **argv)
{
#ifndef __SANITIZE_ADDRESS__
    const char *pre = getenv("LD_PRELOAD");
    if (getenv("GLIBC_TUNABLES") != NULL || (pre != NULL && strstr(pre, "vgpreload") != NULL))
        return;
    /* The executable's path, not /proc/self/exe: exec names the process after
     * it (ps, top: "omjob-operator", not "exe"). */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
        return;
    exe[n] = '\0';
    if (setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1) != 0)
        return;
    execv(exe, argv);
    unsetenv("GLIBC_TUNABLES"); /* no exec (the file replaced, ...): go on with the cache */
#else
    (void)argv;
#endif
}

int main(int argc, char **argv)
{
    malloc_tunables(argv);
    struct sup_opts o = {.so_argv0 = argv[0],
                         .so_t0_mono_ms = util_mono_ms(),
                         .so_run = run_role,
                         .so_roles = roles,
                         .so_nroles = NROLES};
    const char **disabled = calloc((size_t)argc, sizeof(*disabled));
    int n = 0, cmd = argc, rc;
    if (disabled == NULL)
        return 1;
    /* Two malloc arenas, not 8 per core: the roles are small and mostly idle, and
     * each arena's touched pages count in every process (measured -0.9 MiB PSS for
     * the operator). Forked roles inherit it; MALLOC_ARENA_MAX still overrides. */
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, 2);
    /* A fixed mmap threshold: blocks of 256 KiB and more (large OMJobs, their parse
     * buffers) are mapped on their own and go back to the kernel when freed. With
     * glibc's default the threshold rises to the largest block freed, and the
     * buffers of each 1 MB object then stay in the heap between the cached ones
     * (measured: the watcher held 28 MiB beyond 40 MB of cached OMJobs). */
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
        mallopt(M_MMAP_THRESHOLD, 256 << 10);
    log_init("supervisor");
    rc = parse(argc, argv, disabled, &n, &cmd);
    if (rc < 0 && cmd < argc)
        rc = run_command(argc - cmd, argv + cmd, n);
    else if (rc < 0) {
        o.so_disabled = disabled;
        o.so_ndisabled = n;
        rc = supervisor(&o);
    }
    free(disabled);
    return rc;
}

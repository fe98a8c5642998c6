/* The supervisor's table of role processes: one entry per process (watcher,
 * reconciler-i, cleaner, httpd) built from the role table of cmd/main.c, its
 * state, and the rules for starting and restarting it. Only the supervisor
 * process uses this module. */
#ifndef OMJOB_ROLES_SUPERVISOR_PROC_H
#define OMJOB_ROLES_SUPERVISOR_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/statusfile.h"

/* Restart pacing: two starts of one role are at least PROC_BACKOFF_MIN_MS apart;
 * the distance doubles with each restart up to PROC_BACKOFF_MAX_MS, and falls back
 * to the minimum once a role has run PROC_HEALTHY_MS. */
#define PROC_BACKOFF_MIN_MS 1000
#define PROC_BACKOFF_MAX_MS 30000
#define PROC_HEALTHY_MS 60000

/* Exit status of a role whose configuration is bad (sysexits.h EX_CONFIG). */
#define PROC_EXIT_CONFIG 78

/* One row of the role table, which cmd/main.c owns: a role process the
 * supervisor starts (PROC_DEF_PROCESS), or a command run in the foreground. */
struct proc_def {
    const char *pd_name;                   /* "watcher": the command word */
    int (*pd_main)(int argc, char **argv); /* its entry point */
    unsigned pd_flags;                     /* PROC_DEF_* */
};
enum {
    PROC_DEF_PROCESS = 1, /* the supervisor runs it as a child process */
    PROC_DEF_SHARDED = 2, /* one process per shard: RECONCILIATION_THREADS of them */
    PROC_DEF_WRITES = 4,  /* writes to the API server: stopped before the others */
    /* Holds the leader-election Lease; run only with LEADER_ELECTION=true, and then
     * the WRITES rows run only while it reports LEADER on its readiness pipe. */
    PROC_DEF_ELECTOR = 8,
};

struct proc_role {
    char pr_name[ROLE_NAME_MAX];   /* "watcher", "reconciler-2", ... */
    const struct proc_def *pr_def; /* its row in the role table */
    char pr_shard[24];             /* "i/N" for reconcilers, "" otherwise */
    const char *pr_argv[5];        /* role argv without argv[0]: points into this struct */
    bool pr_disabled;              /* --disable-role: never started */
    enum role_state pr_state;
    pid_t pr_pid;             /* 0 when not running */
    int pr_ready_fd;          /* read end of the readiness pipe, or -1 */
    unsigned pr_restarts;     /* starts after the first */
    int64_t pr_start_mono_ms; /* last start, monotonic */
    int64_t pr_start_wall_ms; /* last start, unix ms (for status) */
    int64_t pr_next_start_ms; /* BACKOFF, FAILED_CONFIG: next start, monotonic */
    int64_t pr_backoff_ms;    /* least distance from this start to the next */
    int pr_last_status;       /* last waitpid status, -1 before the first exit */
};

struct proc_table {
    struct proc_role *pt_roles;
    int pt_n;
};

/* Builds the table from the role table's PROC_DEF_PROCESS rows, in its order, a
 * sharded row once per shard (name-0 .. name-<nshards-1>), all STOPPED.
 * 0 or -ENOMEM/-EINVAL; free with proc_table_free. */
int proc_table_init(struct proc_table *t, const struct proc_def *defs, int ndefs, int nshards);
void proc_table_free(struct proc_table *t);
/* True for a role that writes to the API server (PROC_DEF_WRITES): those stop
 * before the watcher and httpd, which they depend on. */
bool proc_writes(const struct proc_role *r);
/* True for the elector (PROC_DEF_ELECTOR). */
bool proc_elector(const struct proc_role *r);
/* Removes the rows with any of flags from the table (the elector without
 * LEADER_ELECTION). */
void proc_table_drop(struct proc_table *t, unsigned flags);

struct proc_role *proc_by_pid(struct proc_table *t, pid_t pid);
/* Marks the role called name disabled; a sharded row's name ("reconciler")
 * disables every shard.
 * 0 or -ENOENT. */
int proc_disable(struct proc_table *t, const char *name);
/* Writes the valid names for --disable-role into buf. */
void proc_names(const struct proc_table *t, char *buf, size_t bufsz);

/* The distance to the next start after one of cur (PROC_BACKOFF_MIN_MS when
 * cur is 0), capped at PROC_BACKOFF_MAX_MS. */
int64_t proc_backoff_next(int64_t cur);

/* What the supervisor hands to every child it starts. */
struct proc_spawn_ctx {
    const char *ps_argv0;    /* shown by ps: the supervisor's own argv[0] */
    int ps_exe_fd;           /* open("/proc/self/exe"): the image to run */
    int ps_parent_rd;        /* read end of the parent-liveness pipe */
    pid_t ps_supervisor;     /* getpid() of the supervisor */
    char *const *ps_environ; /* the supervisor's environment */
    /* The role entry (main's dispatch). Set: the child runs it straight after fork,
     * sharing the supervisor's loaded and relocated libraries (see proc_spawn).
     * NULL: the child execs ps_exe_fd (OMJOB_ROLE_EXEC=1). */
    int (*ps_run)(int argc, char **argv);
};

/* Forks and runs r's role: ctx->ps_run in the child, or an exec of the supervisor's own
 * image (ps_exe_fd) when ps_run is NULL. Running without exec is safe because the
 * supervisor has no threads, no NNG and no curl (keep it so); it saves each role the
 * private pages of relocating ~40 shared libraries (measured: 26.5 -> 16.2 MiB PSS
 * for the operator with 5 reconcilers). Either way the role gets OMJOB_READY_FD (write
 * end of a new readiness pipe whose read end becomes r->pr_ready_fd) and OMJOB_PARENT_FD
 * in its environment (docs/PROTOCOL.md, "Supervisor and roles"). The child dies with
 * SIGTERM when the supervisor dies. On success r is STARTING with its pid; on failure
 * (-errno) r is unchanged. now_*: the current clocks. */
int proc_spawn(struct proc_role *r, const struct proc_spawn_ctx *ctx, int64_t now_mono,
               int64_t now_wall);

/* Records that r's process ended with waitpid status st at now (monotonic) and
 * moves r to BACKOFF or FAILED_CONFIG with its next start time, or to STOPPED
 * when stopping. Closes the readiness pipe. */
void proc_exited(struct proc_role *r, int st, int64_t now, bool stopping);

/* "exit 1", "exit 78 (bad configuration)", "signal 9 (Killed)", or "-" before
 * the first exit. */
void proc_status_str(int st, char *buf, size_t bufsz);

#endif

/* The supervisor's status file and `omjob-operator status`. The supervisor
 * rewrites <run dir>/status atomically (tmp + rename) on every role state change;
 * the status command reads it and checks that its writer still holds the
 * supervisor lock. This stands in for the supervisor's req/rep control socket
 * (ipc/), which will answer the same question once it exists. */
#ifndef OMJOB_SUPERVISOR_STATUS_H
#define OMJOB_SUPERVISOR_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/proc.h"

/* What the status file says about the supervisor itself. */
struct status_sup {
    pid_t ss_pid;
    int64_t ss_started_wall_ms;
    bool ss_stopping;
    bool ss_ready;          /* every enabled role is READY */
    int64_t ss_ready_ms;    /* from start to the first time all were READY; -1 */
    int64_t ss_now_mono_ms; /* to turn pr_next_start_ms into wall time */
    int64_t ss_now_wall_ms;
};

/* Writes dir/status atomically. 0 or -errno. Called by the supervisor only. */
int status_write(const char *dir, const struct status_sup *s, const struct proc_table *t);
/* Removes dir/status (at a clean exit). */
void status_remove(const char *dir);

/* The status file as read back; for `status` and for httpd, which exports the
 * restart counts (omjob_component_restarts_total). */
struct status_row {
    char name[PROC_NAME_MAX]; /* "reconciler-2" */
    long long pid;            /* 0 when not running; in the supervisor's pid namespace */
    long long restarts;
    long long started_ms;  /* last start, unix ms; 0 when not running */
    long long next_ms;     /* BACKOFF, FAILED_CONFIG: next start, unix ms; else 0 */
    long long disabled;    /* 1 for --disable-role */
    long long last_status; /* waitpid status of the last exit, -1 before one */
    enum proc_state state;
};

struct status_file {
    long long pid;        /* the supervisor's, in its own pid namespace */
    long long started_ms; /* unix ms */
    long long ready;      /* 1 when every enabled role is READY */
    long long ready_ms;   /* start to the first all-READY, -1 before */
    bool stopping;
    struct status_row *rows; /* in role table order */
    int n;
};

/* Reads dir/status. 0, -ENOENT (no supervisor has written one: not running or
 * just starting), -EINVAL (malformed), -ENOMEM. *out is written on success only;
 * free it with status_file_free. Whether its writer is alive is the caller's to
 * check (rundir_lock_holder). */
int status_read(const char *dir, struct status_file *out);
/* The same from the file's text. 0, -EINVAL or -ENOMEM; *out on success only. */
int status_parse(const char *text, struct status_file *out);
void status_file_free(struct status_file *sf);

/* `omjob-operator status [args]`: prints the role table of the supervisor owning
 * the run directory. Returns the exit status: 0 when it runs, 1 when it does not
 * (with a message on stderr), 64 for bad arguments, 78 for bad configuration. */
int status_command(int argc, char **argv);

#endif

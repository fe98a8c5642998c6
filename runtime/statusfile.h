/* The status file (<run dir>/status): what the supervisor says of itself and of
 * each role process. The supervisor writes it; `omjob-operator status` and httpd
 * read it. The states are those of the supervisor's role table. */
#ifndef OMJOB_RUNTIME_STATUSFILE_H
#define OMJOB_RUNTIME_STATUSFILE_H

#include <stdbool.h>

/* A role process's state in the supervisor's table. */
enum role_state {
    ROLE_STARTING,      /* forked, has not said READY yet */
    ROLE_READY,         /* wrote READY on its readiness pipe */
    ROLE_BACKOFF,       /* exited; restarts at its next start time */
    ROLE_STOPPED,       /* disabled, or stopped during shutdown */
    ROLE_FAILED_CONFIG, /* exited 78; retried only every 30 s */
    ROLE_STANDBY,       /* writes to the API server: runs only while this replica leads */
};
const char *role_state_str(enum role_state s);
/* The inverse of role_state_str. 0 or -EINVAL. */
int role_state_parse(const char *s, enum role_state *out);

/* A role instance's name: "watcher", "reconciler-2", ... */
#define ROLE_NAME_MAX 32

/* The status file's content. httpd exports the restart counts
 * (omjob_component_restarts_total) and the states (/readyz). */
struct status_row {
    char name[ROLE_NAME_MAX]; /* "reconciler-2" */
    long long pid;            /* 0 when not running; in the supervisor's pid namespace */
    long long restarts;
    long long started_ms;  /* last start, unix ms; 0 when not running */
    long long next_ms;     /* BACKOFF, FAILED_CONFIG: next start, unix ms; else 0 */
    long long disabled;    /* 1 for --disable-role */
    long long last_status; /* waitpid status of the last exit, -1 before one */
    enum role_state state;
};

struct status_file {
    long long pid;        /* the supervisor's, in its own pid namespace */
    long long started_ms; /* unix ms */
    long long ready;      /* 1 when every enabled role is READY */
    long long ready_ms;   /* start to the first all-READY, -1 before */
    bool stopping;
    bool election;           /* LEADER_ELECTION=true: the line "leader" is written */
    bool leading;            /* this replica holds the Lease (its elector said so) */
    char holder[256];        /* the Lease's holder as the elector last saw it, "" unknown */
    struct status_row *rows; /* in role table order */
    int n;
};

/* Writes sf to dir/status atomically. 0 or -errno. Called by the supervisor only. */
int status_write(const char *dir, const struct status_file *sf);
/* Removes dir/status (at a clean exit). */
void status_remove(const char *dir);

/* Reads dir/status. 0, -ENOENT (no supervisor has written one: not running or
 * just starting), -EINVAL (malformed, or not a regular file), -EFBIG, -ENOMEM. *out is written on
 * success only; free it with status_file_free. Whether its writer is alive is the caller's to check
 * (rundir_lock_holder). */
int status_read(const char *dir, struct status_file *out);
/* The same from the file's text. 0, -EINVAL or -ENOMEM; *out on success only. */
int status_parse(const char *text, struct status_file *out);
void status_file_free(struct status_file *sf);

#endif

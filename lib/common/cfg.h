/* The operator's configuration: every environment variable it reads, with its
 * default, validated once at start-up by cfg_load. */
#ifndef OMJOB_LIB_COMMON_CFG_H
#define OMJOB_LIB_COMMON_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "lib/common/log.h"

/* Exit status for bad configuration (sysexits.h): the supervisor does not restart
 * a role that exits with it. */
#define EX_CONFIG 78

/* Longest OMJOB_RUN_DIR: IPC socket paths ("ipc://" + dir + "/" + name) must fit
 * in sun_path (108 bytes with the NUL). */
#define CFG_RUN_DIR_MAX 80

/* Bounds, shared with the documentation. */
#define CFG_THREADS_MAX 64
#define CFG_ROLE_GRACE_MAX 29 /* below Kubernetes' 30 s default termination grace */

/* OMJOB_MAX_OBJECT_BYTES: etcd stores objects up to ~1.5 MB; the upper bound
 * keeps an OMJob and its pods inside one GET_KEY reply (IPC_BODY_MAX, 16 MiB). */
#define CFG_MAX_OBJECT_DEFAULT (4 << 20)
#define CFG_MAX_OBJECT_MIN (64 << 10)
#define CFG_MAX_OBJECT_MAX (8 << 20)

/* Every field is valid after cfg_load; strings are owned by the struct and freed
 * by cfg_free. Empty variables count as unset. */
struct cfg {
    char *namespace;            /* OPERATOR_NAMESPACE, DNS-1123 label ("default") */
    enum log_level log_level;   /* LOG_LEVEL: DEBUG|INFO|WARN|ERROR (INFO) */
    enum log_format log_format; /* LOG_FORMAT: json|text (json) */
    int reconcile_threads;      /* RECONCILIATION_THREADS, 1..64 (5): reconciler shards */
    int nng_cpus;     /* OMJOB_NNG_CPUS, 0..64 (1): CPUs NNG sizes its pools for (0: all; role.c) */
    int health_port;  /* HEALTH_CHECK_PORT (8080) */
    int metrics_port; /* METRICS_PORT (8081); may equal health_port */
    bool watch_all;   /* WATCH_NAMESPACES=ALL (the default) */
    char **watch_namespaces;       /* otherwise the listed namespaces, deduplicated */
    size_t n_watch_namespaces;     /* 0 when watch_all */
    double kube_qps;               /* KUBE_QPS, > 0, fractions allowed (50) */
    int kube_burst;                /* KUBE_BURST (100) */
    char *run_dir;                 /* OMJOB_RUN_DIR, absolute, at most CFG_RUN_DIR_MAX */
    int start_timeout_s;           /* OMJOB_START_TIMEOUT_SECONDS (600) */
    int node_lost_timeout_s;       /* OMJOB_NODE_LOST_TIMEOUT_SECONDS (300) */
    int cancel_deadline_s;         /* OMJOB_CANCEL_DEADLINE_SECONDS (900) */
    int exit_handler_max_attempts; /* OMJOB_EXIT_HANDLER_MAX_ATTEMPTS (3) */
    int resync_s;                  /* OMJOB_RESYNC_SECONDS (300) */
    int max_object_bytes;          /* OMJOB_MAX_OBJECT_BYTES (4 MiB): larger OMJobs and
                                      CronOMJobs (compact JSON) are skipped with a Warning */
    int role_grace_s;              /* OMJOB_ROLE_GRACE_SECONDS, 1..29 (20) */
    bool leader_election;          /* LEADER_ELECTION: true|false (false) */
    bool sched_batch;              /* OMJOB_SCHED_BATCH: true|false (true) */
    char *lease_name;              /* LEADER_ELECTION_LEASE_NAME ("omjob-operator") */
    int lease_duration_s;          /* LEADER_ELECTION_LEASE_DURATION_SECONDS (15) */
    int renew_deadline_s;          /* LEADER_ELECTION_RENEW_DEADLINE_SECONDS (10) */
    int retry_period_s;            /* LEADER_ELECTION_RETRY_PERIOD_SECONDS (2); duration >
                                      deadline > 1.2 x retry, as client-go requires */
    char *kubeconfig;              /* KUBECONFIG as given, NULL when unset; kube/ reads it */
};

/* Reads and validates every variable. 0, -EINVAL with err holding one message per
 * bad variable joined by "; ", each naming the variable, the bad value and the
 * accepted form (RECONCILIATION_THREADS="abc": expected an integer from 1 to 64),
 * or -ENOMEM. *out is written only on success; err may be NULL. */
int cfg_load(struct cfg *out, char *err, size_t errsz);

/* cfg_load, or on failure log_error + a line on stderr and exit(EX_CONFIG). The one
 * function in common/ that exits: for main() and role entry points only. */
void cfg_load_or_exit(struct cfg *out);

/* Frees the strings of c and zeroes it. NULL is a no-op. */
void cfg_free(struct cfg *c);

/* The configuration in effect as a JSON object keyed by variable name, for /info.
 * Variables whose names contain TOKEN, PASSWORD, SECRET or KEY show "<redacted>".
 * New reference the caller puts; NULL on ENOMEM. */
struct json_object *cfg_to_json(const struct cfg *c);

/* True for variable names that must never be shown (see cfg_to_json). */
bool cfg_is_secret_name(const char *name);

#endif

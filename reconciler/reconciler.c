/* The reconciler role: shard I of N owns the OMJobs whose key hashes to I and
 * runs their state machine, writing to the API server.
 *
 * PLACEHOLDER: this only parses its shard and speaks the supervisor protocol
 * (readiness, stop signals, parent death) so that the process architecture can
 * be built and tested. The real role arrives with the runtime issue. */
#include "reconciler/reconciler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/util.h"
#include "ipc/ipc.h"
#include "runtime/ctl.h"
#include "supervisor/role.h"

int reconciler_parse_shard(const char *s, int max, int *shard, int *nshards)
{
    char num[16];
    long long i, n;
    const char *slash = strchr(s, '/');
    if (slash == NULL || (size_t)(slash - s) >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, (size_t)(slash - s));
    num[slash - s] = '\0';
    if (util_parse_i64(num, 0, max - 1, &i) != 0 || util_parse_i64(slash + 1, 1, max, &n) != 0 ||
        i >= n)
        return -EINVAL;
    *shard = (int)i;
    *nshards = (int)n;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: omjob-operator reconciler --shard I/N   (0 <= I < N <= %d)\n",
            CFG_THREADS_MAX);
}

/* 0 with the shard, or ROLE_EX_USAGE after a message. */
static int parse_args(int argc, char **argv, int *shard, int *nshards)
{
    const char *v = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc) {
            v = argv[++i];
        } else if (strncmp(argv[i], "--shard=", 8) == 0) {
            v = argv[i] + 8;
        } else {
            fprintf(stderr, "omjob-operator reconciler: unexpected argument '%s'\n", argv[i]);
            usage();
            return ROLE_EX_USAGE;
        }
    }
    if (v == NULL) {
        fprintf(stderr, "omjob-operator reconciler: --shard I/N is required\n");
        usage();
        return ROLE_EX_USAGE;
    }
    if (reconciler_parse_shard(v, CFG_THREADS_MAX, shard, nshards) != 0) {
        fprintf(stderr,
                "omjob-operator reconciler: bad --shard '%s': expected I/N with 0 <= I < N <= %d, "
                "e.g. --shard 2/5\n",
                v, CFG_THREADS_MAX);
        return ROLE_EX_USAGE;
    }
    return 0;
}

int reconciler(int argc, char **argv)
{
    struct cfg c;
    struct ctl *ctl;
    char name[32], shard_s[24];
    int shard, nshards;
    if (parse_args(argc, argv, &shard, &nshards) != 0)
        return ROLE_EX_USAGE;
    snprintf(name, sizeof(name), "reconciler-%d", shard);
    snprintf(shard_s, sizeof(shard_s), "%d/%d", shard, nshards);
    role_init(name);
    cfg_load_or_exit(&c);
    if (nshards != c.reconcile_threads)
        log_warn("--shard N differs from RECONCILIATION_THREADS: shards would overlap", "shard",
                 shard_s, NULL);
    log_info("placeholder reconciler started: the real role arrives with the runtime issue",
             "shard", shard_s, NULL);
    int rc = ctl_open(name, &c, &ctl);
    if (rc != 0) {
        log_error("cannot open the control socket", "error", strerror(-rc), NULL);
        cfg_free(&c);
        return 1;
    }
    ctl_set_ready(ctl, true);
    role_ready();
    rc = ctl_wait_stop(ctl);
    ctl_close(ctl);
    ipc_fini();
    role_fini();
    cfg_free(&c);
    return rc;
}

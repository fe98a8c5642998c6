/* The watcher role: LIST+WATCH of OMJobs, CronOMJobs and operator-owned Pods; the cache; change
 * hints.
 *
 * PLACEHOLDER: this only speaks the supervisor protocol (readiness, stop
 * signals, parent death) so that the process architecture can be built and
 * tested. The real role arrives with the runtime issue. */
#include "watcher/watcher.h"

#include <stdio.h>

#include "common/cfg.h"
#include "common/log.h"
#include "supervisor/role.h"

int watcher(int argc, char **argv)
{
    struct cfg c;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator watcher: unexpected argument '%s' (the watcher takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("watcher");
    cfg_load_or_exit(&c);
    log_info("placeholder watcher started: the real role arrives with the runtime issue", NULL);
    role_ready();
    int rc = role_wait_stop();
    role_fini();
    cfg_free(&c);
    return rc;
}

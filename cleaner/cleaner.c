/* The cleaner role: TTL deletion of finished OMJobs and CronOMJob history limits.
 *
 * PLACEHOLDER: this only speaks the supervisor protocol (readiness, stop
 * signals, parent death) so that the process architecture can be built and
 * tested. The real role arrives with the runtime issue. */
#include "cleaner/cleaner.h"

#include <stdio.h>

#include "common/cfg.h"
#include "common/log.h"
#include "supervisor/role.h"

int cleaner(int argc, char **argv)
{
    struct cfg c;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator cleaner: unexpected argument '%s' (the cleaner takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("cleaner");
    cfg_load_or_exit(&c);
    log_info("placeholder cleaner started: the real role arrives with the runtime issue", NULL);
    role_ready();
    int rc = role_wait_stop();
    role_fini();
    cfg_free(&c);
    return rc;
}

/* The cleaner role: TTL deletion of finished OMJobs and CronOMJob history limits.
 *
 * PLACEHOLDER: this only speaks the supervisor protocol (readiness, stop
 * signals, parent death) so that the process architecture can be built and
 * tested. The real role arrives with the runtime issue. */
#include "cleaner/cleaner.h"

#include <stdio.h>
#include <string.h>

#include "common/cfg.h"
#include "common/log.h"
#include "ipc/ipc.h"
#include "runtime/ctl.h"
#include "supervisor/role.h"

int cleaner(int argc, char **argv)
{
    struct cfg c;
    struct ctl *ctl;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator cleaner: unexpected argument '%s' (the cleaner takes none)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    role_init("cleaner");
    cfg_load_or_exit(&c);
    log_info("placeholder cleaner started: the real role arrives with the runtime issue", NULL);
    int rc = ctl_open("cleaner", &c, &ctl);
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

/* `omjob-operator status`: prints the status file (runtime/statusfile.h) of the
 * supervisor owning the run directory as a table. */
#include "roles/supervisor/status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/common/cfg.h"
#include "lib/common/log.h"
#include "lib/common/util.h"
#include "roles/supervisor/proc.h"
#include "runtime/role.h"
#include "runtime/rundir.h"
#include "runtime/statusfile.h"

static void fmt_dur(char *buf, size_t bufsz, long long ms)
{
    long long s = ms < 0 ? 0 : ms / 1000;
    if (s < 60)
        snprintf(buf, bufsz, "%llds", s);
    else if (s < 3600)
        snprintf(buf, bufsz, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, bufsz, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, bufsz, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static int count_reconcilers(const struct status_file *sf)
{
    int n = 0;
    for (int i = 0; i < sf->n; i++)
        n += strncmp(sf->rows[i].name, "reconciler-", 11) == 0;
    return n;
}

static void row_note(char *buf, size_t bufsz, const struct status_row *r, int nrec, long long now)
{
    char d[32];
    fmt_dur(d, sizeof(d), r->next_ms - now + 999);
    if (r->disabled && strncmp(r->name, "reconciler-", 11) == 0)
        snprintf(buf, bufsz, "disabled: run omjob-operator reconciler --shard %s/%d", r->name + 11,
                 nrec);
    else if (r->disabled)
        snprintf(buf, bufsz, "disabled: run omjob-operator %s", r->name);
    else if (r->state == ROLE_FAILED_CONFIG)
        snprintf(buf, bufsz, "bad configuration (see its log); next try in %s", d);
    else if (r->state == ROLE_BACKOFF)
        snprintf(buf, bufsz, "restart in %s", d);
    else if (r->state == ROLE_STANDBY)
        snprintf(buf, bufsz, "runs while this replica leads");
    else
        buf[0] = '\0';
}

/* holder: the lock holder's pid as we see it; differs from sf->pid when the
 * supervisor runs in another pid namespace (a container seen from the host). */
static void print_table(const struct status_file *sf, pid_t holder)
{
    long long now = util_wall_ms();
    char up[32], ready[64] = "", here[40] = "", lead[320] = "";
    int nrec = count_reconcilers(sf);
    fmt_dur(up, sizeof(up), now - sf->started_ms);
    if (sf->ready_ms >= 0)
        snprintf(ready, sizeof(ready), "; all roles were ready %lld ms after start", sf->ready_ms);
    if (holder != sf->pid)
        snprintf(here, sizeof(here), " (pid %ld here)", (long)holder);
    /* On the first line: scripts read the roles from the third line on. */
    if (sf->election)
        snprintf(lead, sizeof(lead), "; leader election: this replica %s (Lease holder %s)",
                 sf->leading ? "leads" : "follows", sf->holder[0] != '\0' ? sf->holder : "unknown");
    printf("omjob-operator %s: supervisor pid %lld%s, up %s%s%s\n",
           sf->stopping ? "stopping"
           : sf->ready  ? "ready"
                        : "NOT READY",
           sf->pid, here, up, ready, lead);
    printf("%-14s %-8s %-13s %8s  %-8s %-30s %s\n", "ROLE", "PID", "STATE", "RESTARTS", "UPTIME",
           "LAST EXIT", "NOTE");
    for (int i = 0; i < sf->n; i++) {
        const struct status_row *r = &sf->rows[i];
        char pid[24] = "-", upt[32] = "-", last[96], note[128];
        if (r->pid > 0) {
            snprintf(pid, sizeof(pid), "%lld", r->pid);
            fmt_dur(upt, sizeof(upt), now - r->started_ms);
        }
        proc_status_str((int)r->last_status, last, sizeof(last));
        row_note(note, sizeof(note), r, nrec, now);
        printf("%-14s %-8s %-13s %8lld  %-8s %-30s %s\n", r->name, pid, role_state_str(r->state),
               r->restarts, upt, last, note);
    }
}

static int status_show(const char *dir)
{
    struct status_file sf = {0};
    pid_t holder = rundir_lock_holder(dir);
    int rc = 1;
    if (holder <= 0) {
        fprintf(stderr,
                "omjob-operator: not running (no supervisor holds %s/supervisor.lock%s%s)\n", dir,
                holder < 0 ? ": " : "", holder < 0 ? strerror(-holder) : "");
        return 1;
    }
    /* The supervisor removes any older status file once it holds the lock, so
     * the file there now is the holder's. */
    int err = status_read(dir, &sf);
    if (err != 0) {
        fprintf(stderr, "omjob-operator: supervisor pid %ld runs, but %s/status is %s\n",
                (long)holder, dir, err == -ENOENT ? "not there yet" : "unreadable");
    } else {
        print_table(&sf, holder);
        rc = 0;
    }
    status_file_free(&sf);
    return rc;
}

int status_command(int argc, char **argv)
{
    struct cfg c;
    if (argc > 1) {
        fprintf(stderr,
                "omjob-operator status: unexpected argument '%s' (status takes none; "
                "OMJOB_RUN_DIR chooses the operator)\n",
                argv[1]);
        return ROLE_EX_USAGE;
    }
    log_init("status");
    cfg_load_or_exit(&c);
    int rc = status_show(c.run_dir);
    cfg_free(&c);
    return rc;
}

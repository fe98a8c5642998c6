/* The supervisor's table of role processes and the mechanics of one role's life: spawning it with
 * its readiness and parent-liveness pipes, recording its exit, pacing its restarts. */
#include "roles/supervisor/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/common/util.h"

bool proc_writes(const struct proc_role *r)
{
    return (r->pr_def->pd_flags & PROC_DEF_WRITES) != 0;
}

bool proc_elector(const struct proc_role *r)
{
    return (r->pr_def->pd_flags & PROC_DEF_ELECTOR) != 0;
}

static bool proc_sharded(const struct proc_role *r)
{
    return (r->pr_def->pd_flags & PROC_DEF_SHARDED) != 0;
}

static void role_setup(struct proc_role *r, const struct proc_def *d, int shard, int nshards)
{
    memset(r, 0, sizeof(*r));
    r->pr_def = d;
    r->pr_state = ROLE_STOPPED;
    r->pr_ready_fd = -1;
    r->pr_backoff_ms = PROC_BACKOFF_MIN_MS;
    r->pr_last_status = -1;
    r->pr_argv[0] = d->pd_name;
    if (!proc_sharded(r)) {
        util_strlcpy(r->pr_name, d->pd_name, sizeof(r->pr_name));
        return;
    }
    snprintf(r->pr_name, sizeof(r->pr_name), "%s-%d", d->pd_name, shard);
    snprintf(r->pr_shard, sizeof(r->pr_shard), "%d/%d", shard, nshards);
    r->pr_argv[1] = "--shard";
    r->pr_argv[2] = r->pr_shard;
}

int proc_table_init(struct proc_table *t, const struct proc_def *defs, int ndefs, int nshards)
{
    int n = 0, cap = 0;
    if (nshards < 1)
        return -EINVAL;
    for (int i = 0; i < ndefs; i++)
        if (defs[i].pd_flags & PROC_DEF_PROCESS)
            cap += defs[i].pd_flags & PROC_DEF_SHARDED ? nshards : 1;
    struct proc_role *roles = calloc((size_t)cap + 1, sizeof(*roles));
    if (roles == NULL)
        return -ENOMEM;
    for (int i = 0; i < ndefs; i++) {
        if (!(defs[i].pd_flags & PROC_DEF_PROCESS))
            continue;
        int shards = defs[i].pd_flags & PROC_DEF_SHARDED ? nshards : 1;
        for (int k = 0; k < shards; k++)
            role_setup(&roles[n++], &defs[i], k, nshards);
    }
    t->pt_roles = roles;
    t->pt_n = n;
    return 0;
}

void proc_table_drop(struct proc_table *t, unsigned flags)
{
    int n = 0;
    for (int i = 0; i < t->pt_n; i++) {
        struct proc_role *r = &t->pt_roles[i];
        if ((r->pr_def->pd_flags & flags) != 0)
            continue;
        t->pt_roles[n] = *r;
        if (proc_sharded(r)) /* pr_argv points into the row */
            t->pt_roles[n].pr_argv[2] = t->pt_roles[n].pr_shard;
        n++;
    }
    t->pt_n = n;
}

void proc_table_free(struct proc_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->pt_n; i++)
        if (t->pt_roles[i].pr_ready_fd >= 0)
            close(t->pt_roles[i].pr_ready_fd);
    free(t->pt_roles);
    t->pt_roles = NULL;
    t->pt_n = 0;
}

struct proc_role *proc_by_pid(struct proc_table *t, pid_t pid)
{
    for (int i = 0; i < t->pt_n; i++)
        if (t->pt_roles[i].pr_pid == pid)
            return &t->pt_roles[i];
    return NULL;
}

int proc_disable(struct proc_table *t, const char *name)
{
    int found = 0;
    for (int i = 0; i < t->pt_n; i++) {
        struct proc_role *r = &t->pt_roles[i];
        if (strcmp(r->pr_name, name) == 0 ||
            (proc_sharded(r) && strcmp(name, r->pr_def->pd_name) == 0)) {
            r->pr_disabled = true;
            found = 1;
        }
    }
    return found ? 0 : -ENOENT;
}

void proc_names(const struct proc_table *t, char *buf, size_t bufsz)
{
    struct sbuf sb = {0};
    for (int i = 0; i < t->pt_n; i++) {
        const struct proc_role *r = &t->pt_roles[i];
        bool first_shard = proc_sharded(r) && strncmp(r->pr_shard, "0/", 2) == 0;
        sbuf_appendf(&sb, "%s", i > 0 ? ", " : "");
        if (first_shard)
            sbuf_appendf(&sb, "%s (every shard), ", r->pr_def->pd_name);
        sbuf_appendf(&sb, "%s", r->pr_name);
    }
    util_strlcpy(buf, sbuf_str(&sb), bufsz);
    sbuf_free(&sb);
}

int64_t proc_backoff_next(int64_t cur)
{
    if (cur < PROC_BACKOFF_MIN_MS)
        return PROC_BACKOFF_MIN_MS;
    return cur >= PROC_BACKOFF_MAX_MS / 2 ? PROC_BACKOFF_MAX_MS : cur * 2;
}

static bool env_is_ours(const char *e)
{
    static const char *const names[] = {"OMJOB_READY_FD=", "OMJOB_PARENT_FD="};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

/* The child's environment: the supervisor's, with our two variables replaced.
 * The array is the caller's to free; its strings are borrowed from env and vars. */
static char **child_env(char *const *env, char vars[2][48])
{
    size_t n = 0;
    while (env[n] != NULL)
        n++;
    char **out = calloc(n + 3, sizeof(*out));
    if (out == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!env_is_ours(env[i]))
            out[k++] = env[i];
    for (int i = 0; i < 2; i++)
        out[k++] = vars[i];
    out[k] = NULL;
    return out;
}

static void child_fail(const char *what)
{
    static const char pre[] = "omjob-operator: starting a role failed: ";
    ssize_t w = write(2, pre, sizeof(pre) - 1);
    w = write(2, what, strlen(what));
    w = write(2, "\n", 1);
    (void)w;
}

/* Closes every descriptor from 3 up but a and b (a < b). */
static void close_all_but(int a, int b)
{
    if (a > 3)
        close_range(3, (unsigned)a - 1, 0);
    if (b > a + 1)
        close_range((unsigned)a + 1, (unsigned)b - 1, 0);
    close_range((unsigned)b + 1, ~0U, 0);
}

/* The role in this forked child, without exec: it inherits the supervisor's
 * memory image, so give it the role's environment, only its own descriptors and
 * its name in ps, then run it. */
__attribute__((noreturn)) static void child_run(const struct proc_spawn_ctx *ctx,
                                                char *const argv[], char *const envp[],
                                                int ready_wr, const char *name)
{
    extern char **environ;
    environ = (char **)envp;
    int a = ready_wr < ctx->ps_parent_rd ? ready_wr : ctx->ps_parent_rd;
    int b = ready_wr < ctx->ps_parent_rd ? ctx->ps_parent_rd : ready_wr;
    close_all_but(a, b);
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    char comm[16]; /* "reconciler-2" in ps -o comm and top; the kernel keeps 15 */
    size_t n = strnlen(name, sizeof(comm) - 1);
    memcpy(comm, name, n);
    comm[n] = '\0';
    prctl(PR_SET_NAME, comm);
    exit(ctx->ps_run(argc - 1, (char **)argv + 1));
}

/* Runs in the child between fork and exec (or the role): the supervisor has one
 * thread, but keep to async-signal-safe calls until the role starts. */
__attribute__((noreturn)) static void child_exec(const struct proc_spawn_ctx *ctx,
                                                 char *const argv[], char *const envp[],
                                                 int ready_wr, const char *name)
{
    /* Die with the supervisor; if it died before prctl took effect we have been
     * reparented already, and must not run an orphaned role. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != ctx->ps_supervisor)
        _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &dfl, NULL);
    /* Own process group: a terminal's ^C reaches only the supervisor, which
     * stops the roles in order. */
    setpgid(0, 0);
    if (fcntl(ready_wr, F_SETFD, 0) != 0 || fcntl(ctx->ps_parent_rd, F_SETFD, 0) != 0) {
        child_fail("fcntl");
        _exit(127);
    }
    if (ctx->ps_run != NULL)
        child_run(ctx, argv, envp, ready_wr, name);
    execveat(ctx->ps_exe_fd, "", argv, envp, AT_EMPTY_PATH);
    child_fail("execveat of the supervisor's own executable");
    _exit(127);
}

int proc_spawn(struct proc_role *r, const struct proc_spawn_ctx *ctx, int64_t now_mono,
               int64_t now_wall)
{
    int p[2];
    char vars[2][48];
    const char *argv[7] = {ctx->ps_argv0};
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    snprintf(vars[0], sizeof(vars[0]), "OMJOB_READY_FD=%d", p[1]);
    snprintf(vars[1], sizeof(vars[1]), "OMJOB_PARENT_FD=%d", ctx->ps_parent_rd);
    for (int i = 0; i < 5 && r->pr_argv[i] != NULL; i++)
        argv[i + 1] = r->pr_argv[i];
    int rc = -ENOMEM;
    pid_t pid;
    char **envp = child_env(ctx->ps_environ, vars);
    if (envp == NULL)
        goto fail;
    fflush(NULL); /* nothing buffered may be written twice */
    pid = fork();
    if (pid == 0)
        child_exec(ctx, (char *const *)argv, envp, p[1], r->pr_name);
    rc = -errno;
    free(envp);
    if (pid < 0)
        goto fail;
    close(p[1]);
    r->pr_pid = pid;
    r->pr_ready_fd = p[0];
    r->pr_state = ROLE_STARTING;
    r->pr_start_mono_ms = now_mono;
    r->pr_start_wall_ms = now_wall;
    return 0;
fail:
    close(p[0]);
    close(p[1]);
    return rc;
}

void proc_exited(struct proc_role *r, int st, int64_t now, bool stopping)
{
    if (r->pr_ready_fd >= 0)
        close(r->pr_ready_fd);
    r->pr_ready_fd = -1;
    r->pr_pid = 0;
    r->pr_last_status = st;
    if (stopping) {
        r->pr_state = ROLE_STOPPED;
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == PROC_EXIT_CONFIG) {
        /* Configuration does not fix itself within seconds; but a mounted file
         * (kubeconfig, token) may appear later, so try again at the cap. */
        r->pr_state = ROLE_FAILED_CONFIG;
        r->pr_next_start_ms = now + PROC_BACKOFF_MAX_MS;
        return;
    }
    if (now - r->pr_start_mono_ms >= PROC_HEALTHY_MS)
        r->pr_backoff_ms = PROC_BACKOFF_MIN_MS;
    int64_t next = r->pr_start_mono_ms + r->pr_backoff_ms;
    r->pr_next_start_ms = next > now ? next : now;
    r->pr_backoff_ms = proc_backoff_next(r->pr_backoff_ms);
    r->pr_state = ROLE_BACKOFF;
}

void proc_status_str(int st, char *buf, size_t bufsz)
{
    if (st < 0)
        snprintf(buf, bufsz, "-");
    else if (WIFEXITED(st))
        snprintf(buf, bufsz, "exit %d%s", WEXITSTATUS(st),
                 WEXITSTATUS(st) == PROC_EXIT_CONFIG ? " (bad configuration)" : "");
    else if (WIFSIGNALED(st))
        snprintf(buf, bufsz, "signal %d (SIG%s)%s", WTERMSIG(st),
                 sigabbrev_np(WTERMSIG(st)) != NULL ? sigabbrev_np(WTERMSIG(st)) : "?",
                 WCOREDUMP(st) ? ", core dumped" : "");
    else
        snprintf(buf, bufsz, "status 0x%x", (unsigned)st);
}

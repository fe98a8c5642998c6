/* Listening endpoints: ownership by flock, and a watchdog that re-creates a
 * listener NNG 1.5.2 has stopped serving (nanomsg/nng#1518; see lib/ipc/internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/transport/ipc/ipc.h>

#include "lib/common/log.h"
#include "lib/common/util.h"
#include "lib/ipc/endpoints.h"
#include "lib/ipc/internal.h"
#include "lib/ipc/ipc.h"

#define WD_PROBE_MS 2000

static atomic_int wd_interval = 5000;

struct ipc_listener {
    nng_socket li_sock;
    nng_listener li_nl;
    int li_lockfd;
    uint16_t li_peer;
    char li_url[IPC_URL_MAX];
    const char *li_path; /* li_url without "ipc://" */
    atomic_uint li_adds, li_restarts;
    atomic_int li_pipes;
    atomic_bool li_stop;
    int li_interval;
    bool li_wd_running;
    pthread_t li_wd;
    pthread_mutex_t li_mu;
    pthread_cond_t li_cv;
    struct ipc_listener *li_next; /* in open_listeners */
};

/* Every open listener, for ipc_stop_accepting. */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ipc_listener *open_listeners;

void ipc_watchdog_set_interval(int ms)
{
    atomic_store(&wd_interval, ms < 0 ? 0 : ms);
}

int ipc_watchdog_interval(void)
{
    return atomic_load(&wd_interval);
}

/* Runs on an NNG thread. */
static void pipe_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    struct ipc_listener *l = arg;
    if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_fetch_add(&l->li_adds, 1);
        atomic_fetch_add(&l->li_pipes, 1);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        atomic_fetch_sub(&l->li_pipes, 1);
    }
}

static int do_listen(struct ipc_listener *l)
{
    int rv = nng_listener_create(&l->li_nl, l->li_sock, l->li_url);
    if (rv != 0)
        return ipc_nng_errno(rv);
    /* The run directory is already private; the socket file is too. */
    if ((rv = nng_listener_set_int(l->li_nl, NNG_OPT_IPC_PERMISSIONS, 0600)) != 0 ||
        (rv = nng_listener_set_size(l->li_nl, NNG_OPT_RECVMAXSZ, IPC_MSG_MAX)) != 0 ||
        (rv = nng_listener_start(l->li_nl, 0)) != 0) {
        nng_listener_close(l->li_nl);
        return ipc_nng_errno(rv);
    }
    return 0;
}

/* Connects, presents an SP header as a peer would, and waits until NNG has sent
 * its header and added the connection as a pipe. 1 if it did; *fd is left open
 * (closing before NNG has written its header would itself trigger the bug). */
static int wd_probe(struct ipc_listener *l, int *fd)
{
    unsigned before = atomic_load(&l->li_adds);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->li_path);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return 1; /* our problem, not the listener's */
    uint8_t hdr[8] = {0, 'S', 'P', 0, (uint8_t)(l->li_peer >> 8), (uint8_t)l->li_peer, 0, 0};
    if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(*fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
        return 0; /* refused, backlog full, or the file is gone */
    size_t got = 0;
    uint8_t in[8];
    int64_t t0 = util_mono_ms();
    for (;;) {
        if (got == sizeof(in) && atomic_load(&l->li_adds) != before)
            return 1;
        if (util_mono_ms() - t0 > WD_PROBE_MS || atomic_load(&l->li_stop))
            return atomic_load(&l->li_stop); /* stopping: no verdict */
        struct pollfd p = {.fd = *fd, .events = POLLIN};
        if (got < sizeof(in) && poll(&p, 1, 10) == 1) {
            ssize_t n = read(*fd, in + got, sizeof(in) - got);
            if (n <= 0)
                return 0;
            got += (size_t)n;
        } else if (got == sizeof(in)) {
            poll(NULL, 0, 5);
        }
    }
}

static void wd_relisten(struct ipc_listener *l)
{
    nng_listener_close(l->li_nl);
    unlink(l->li_path); /* we hold the lock: the file is ours */
    int rc = do_listen(l);
    atomic_fetch_add(&l->li_restarts, 1);
    if (rc == 0)
        log_warn("ipc listener stopped accepting connections, re-created it", "url", l->li_url,
                 NULL);
    else
        log_error("ipc listener could not be re-created", "url", l->li_url, "error", strerror(-rc),
                  NULL);
}

static void *wd_main(void *arg)
{
    struct ipc_listener *l = arg;
    pthread_mutex_lock(&l->li_mu);
    while (!atomic_load(&l->li_stop)) {
        struct timespec until = util_mono_deadline(l->li_interval);
        pthread_cond_timedwait(&l->li_cv, &l->li_mu, &until);
        if (atomic_load(&l->li_stop))
            break;
        pthread_mutex_unlock(&l->li_mu);
        int fd = -1;
        if (!wd_probe(l, &fd))
            wd_relisten(l);
        if (fd >= 0)
            close(fd);
        pthread_mutex_lock(&l->li_mu);
    }
    pthread_mutex_unlock(&l->li_mu);
    return NULL;
}

/* The exclusive lock on "<path>.lock", never unlinked (unlinking would let two
 * processes each lock a different file of the same name). */
static int take_lock(struct ipc_listener *l)
{
    char lock[IPC_PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s.lock", l->li_path);
    l->li_lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (l->li_lockfd < 0)
        return -errno;
    if (flock(l->li_lockfd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
        close(l->li_lockfd);
        l->li_lockfd = -1;
        return rc;
    }
    return 0;
}

static int wd_start(struct ipc_listener *l)
{
    l->li_interval = ipc_watchdog_interval();
    if (l->li_interval <= 0)
        return 0;
    int rc = util_mono_cond_init(&l->li_cv);
    if (rc != 0)
        return rc;
    rc = pthread_create(&l->li_wd, NULL, wd_main, l);
    if (rc != 0) {
        pthread_cond_destroy(&l->li_cv);
        return -rc;
    }
    l->li_wd_running = true;
    return 0;
}

static int notify(struct ipc_listener *l, nng_pipe_cb cb)
{
    int rv = nng_pipe_notify(l->li_sock, NNG_PIPE_EV_ADD_POST, cb, l);
    if (rv == 0)
        rv = nng_pipe_notify(l->li_sock, NNG_PIPE_EV_REM_POST, cb, l);
    return ipc_nng_errno(rv);
}

int ipc_listener_open(struct ipc_listener **out, nng_socket s, const char *url, uint16_t peer_proto)
{
    if (out == NULL || url == NULL || strncmp(url, "ipc://", 6) != 0 ||
        strlen(url) - 6 > IPC_PATH_MAX)
        return -EINVAL;
    struct ipc_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->li_sock = s;
    l->li_peer = peer_proto;
    snprintf(l->li_url, sizeof(l->li_url), "%s", url);
    l->li_path = l->li_url + 6;
    pthread_mutex_init(&l->li_mu, NULL);
    int rc = take_lock(l);
    if (rc != 0)
        goto fail;
    if (unlink(l->li_path) != 0 && errno != ENOENT) { /* a crashed owner's file */
        rc = -errno;
        goto fail;
    }
    if ((rc = notify(l, pipe_cb)) != 0 || (rc = do_listen(l)) != 0 || (rc = wd_start(l)) != 0)
        goto fail;
    pthread_mutex_lock(&open_mu);
    l->li_next = open_listeners;
    open_listeners = l;
    pthread_mutex_unlock(&open_mu);
    *out = l;
    return 0;
fail:
    notify(l, NULL); /* no callback may see l after this */
    if (l->li_lockfd >= 0)
        close(l->li_lockfd);
    pthread_mutex_destroy(&l->li_mu);
    free(l);
    return rc;
}

/* Stops l's watchdog (which would re-create a listener whose file is gone) and
 * removes its socket file: no new connection can reach it. Idempotent. */
static void stop_accepting(struct ipc_listener *l)
{
    pthread_mutex_lock(&l->li_mu);
    atomic_store(&l->li_stop, true);
    bool join = l->li_wd_running;
    l->li_wd_running = false;
    if (join)
        pthread_cond_signal(&l->li_cv);
    pthread_mutex_unlock(&l->li_mu);
    if (join) {
        pthread_join(l->li_wd, NULL);
        pthread_cond_destroy(&l->li_cv);
    }
    unlink(l->li_path); /* we hold the lock: the file is ours */
}

void ipc_stop_accepting(void)
{
    pthread_mutex_lock(&open_mu);
    for (struct ipc_listener *l = open_listeners; l != NULL; l = l->li_next)
        stop_accepting(l);
    pthread_mutex_unlock(&open_mu);
}

int ipc_listener_close(struct ipc_listener *l)
{
    if (l == NULL)
        return 0;
    pthread_mutex_lock(&open_mu);
    struct ipc_listener **pp = &open_listeners;
    while (*pp != NULL && *pp != l)
        pp = &(*pp)->li_next;
    if (*pp == l)
        *pp = l->li_next;
    stop_accepting(l);
    pthread_mutex_unlock(&open_mu);
    /* Closes the listener first, then waits for pipe callbacks. */
    int rc = ipc_nng_close(l->li_sock);
    close(l->li_lockfd); /* releases the endpoint */
    if (rc != 0) {
        ipc_park(l); /* pipe callbacks may still see l */
        return rc;
    }
    pthread_mutex_destroy(&l->li_mu);
    free(l);
    return 0;
}

int ipc_listener_pipes(const struct ipc_listener *l)
{
    return atomic_load(&l->li_pipes);
}

unsigned ipc_listener_restarts(const struct ipc_listener *l)
{
    return atomic_load(&l->li_restarts);
}

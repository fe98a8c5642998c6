/* tcpstall: a loopback TCP proxy for tests that can go silent. It forwards every
 * connection to a target; on SIGUSR1 it stops forwarding every connection open at
 * that moment, in both directions, without closing it (a dead peer, a stuck
 * proxy: the client sees an open connection that delivers nothing), while new
 * connections are forwarded as before. Single-threaded, poll(2).
 *
 *   tcpstall LISTEN_PORT TARGET_PORT     (both on 127.0.0.1)
 *
 * Prints "listening" once it accepts, and "froze N connections" on each SIGUSR1
 * (stdout, line-buffered). Ends on SIGTERM/SIGINT. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN 256

struct pair {
    int a, b; /* client side, target side; -1 when unused */
    bool frozen;
};

static volatile sig_atomic_t freeze_req, stop_req;
static struct pair conns[MAX_CONN];

static void on_usr1(int sig)
{
    (void)sig;
    freeze_req = 1;
}

static void on_term(int sig)
{
    (void)sig;
    stop_req = 1;
}

static int parse_port(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s != '\0' && *end == '\0' && v > 0 && v < 65536) ? (int)v : -1;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static void pair_close(struct pair *p)
{
    close(p->a);
    close(p->b);
    p->a = p->b = -1;
    p->frozen = false;
}

/* Copies what is readable on from to to; false when either side is done. */
static bool pump(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static void accept_one(int lfd, int target)
{
    int a = accept(lfd, NULL, NULL);
    if (a < 0)
        return;
    struct sockaddr_in sa = loopback(target);
    int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b < 0 || connect(b, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(a);
        if (b >= 0)
            close(b);
        return;
    }
    for (int i = 0; i < MAX_CONN; i++) {
        if (conns[i].a < 0) {
            conns[i] = (struct pair){.a = a, .b = b};
            return;
        }
    }
    close(a);
    close(b);
}

static void freeze_all(void)
{
    int n = 0;
    for (int i = 0; i < MAX_CONN; i++) {
        if (conns[i].a >= 0 && !conns[i].frozen) {
            conns[i].frozen = true;
            n++;
        }
    }
    printf("froze %d connections\n", n);
}

static int serve(int lfd, int target)
{
    struct pollfd pf[1 + 2 * MAX_CONN];
    int owner[1 + 2 * MAX_CONN];
    while (!stop_req) {
        if (freeze_req) {
            freeze_req = 0;
            freeze_all();
        }
        int n = 0;
        pf[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONN; i++) {
            if (conns[i].a < 0 || conns[i].frozen)
                continue;
            owner[n] = i;
            pf[n++] = (struct pollfd){.fd = conns[i].a, .events = POLLIN};
            owner[n] = i;
            pf[n++] = (struct pollfd){.fd = conns[i].b, .events = POLLIN};
        }
        if (poll(pf, (nfds_t)n, 500) < 0) {
            if (errno == EINTR)
                continue;
            perror("tcpstall: poll");
            return 1;
        }
        if (pf[0].revents & POLLIN)
            accept_one(lfd, target);
        for (int k = 1; k < n; k++) {
            struct pair *p = &conns[owner[k]];
            if (p->a < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            bool from_a = pf[k].fd == p->a;
            if (!pump(pf[k].fd, from_a ? p->b : p->a))
                pair_close(p);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int lport = argc == 3 ? parse_port(argv[1]) : -1, target = argc == 3 ? parse_port(argv[2]) : -1;
    if (lport < 0 || target < 0) {
        fprintf(stderr, "usage: tcpstall LISTEN_PORT TARGET_PORT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (int i = 0; i < MAX_CONN; i++)
        conns[i] = (struct pair){.a = -1, .b = -1};
    struct sockaddr_in la = loopback(lport);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&la, sizeof(la)) != 0 || listen(lfd, 64) != 0) {
        perror("tcpstall: listen");
        return 1;
    }
    printf("listening\n");
    int rc = serve(lfd, target);
    close(lfd);
    return rc;
}

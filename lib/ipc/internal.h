/* Helpers shared by the ipc library only: NNG error mapping, dial/listen with the project's
 * options, envelope <-> nng_msg. Not a public header: nothing outside ipc/ includes
 * it (it includes NNG). */
#ifndef OMJOB_LIB_IPC_INTERNAL_H
#define OMJOB_LIB_IPC_INTERNAL_H

#include <stdint.h>

#include <nng/nng.h>

#include "lib/ipc/msg.h"

/* Redial quickly after a peer restarts, but back off to this at most (ms). */
#define IPC_RECONN_MIN_MS 10
#define IPC_RECONN_MAX_MS 500

/* An NNG error as a negative errno value (0 stays 0). */
int ipc_nng_errno(int rv);

/* A random nonzero 32-bit id (getrandom, falling back to time and pid). */
uint32_t ipc_random_id(void);

/* A listening endpoint. NNG 1.5.2 has a bug (nanomsg/nng#1518, fixed in 1.6): a
 * peer that disconnects during the connection handshake makes the listener stop
 * handing new connections to the socket, for good. Two defences:
 *  - an exclusive flock on "<path>.lock", held while listening, decides who owns
 *    the endpoint, so a second process that tries the same endpoint gets
 *    -EADDRINUSE from us and never runs NNG's stale-socket probe (a connect and
 *    close that triggers the bug) against the live listener;
 *  - a watchdog thread completes a handshake with the listener every
 *    ipc_watchdog_interval() ms and, if the connection never becomes a pipe of
 *    the socket, closes and re-creates the listener (existing pipes drop; peers
 *    redial, REQ resends, SUB sees a gap or a reconnect). */
struct ipc_listener;

/* Takes the endpoint lock, removes a stale socket file, registers pipe
 * notifications on s and listens on url (socket file mode 0600, messages up to
 * IPC_MSG_MAX). peer_proto is the NNG protocol number of the peers (what the
 * watchdog presents itself as). -EADDRINUSE if another listener owns url. */
int ipc_listener_open(struct ipc_listener **out, nng_socket s, const char *url,
                      uint16_t peer_proto);
/* Stops the watchdog and removes the socket file (as ipc_stop_accepting does, if
 * it has not), closes the socket s (which must not be used after) with
 * ipc_nng_close, releases the lock and frees. 0, or -ETIMEDOUT if the close hung
 * (l is then leaked on purpose). NULL is a no-op. */
int ipc_listener_close(struct ipc_listener *l);
/* Pipes connected right now (a watchdog probe counts while it lasts). */
int ipc_listener_pipes(const struct ipc_listener *l);
/* How many times the watchdog re-created the listener. */
unsigned ipc_listener_restarts(const struct ipc_listener *l);

/* NNG protocol numbers of the peers the watchdog presents itself as. */
#define IPC_PROTO_SUB0 0x21
#define IPC_PROTO_REQ0 0x30

/* Dials url without waiting for the peer: NNG keeps redialling in the background. */
int ipc_dial(nng_socket s, const char *url);

/* NNG 1.5.2's nng_close can hang for good when a message arrives on a pipe while
 * the socket closes (nanomsg/nng#1543 and relatives, fixed in later releases):
 * seen with a SUB closing under a stream of hints and a REQ closing as a late
 * reply to an abandoned request arrives. ipc_nng_close runs nng_close on a helper
 * thread and waits IPC_CLOSE_WAIT_MS for it: 0 when closed, or -ETIMEDOUT when
 * the close hung, in which case the caller must leak every object NNG may still
 * reference (callback arguments, contexts, aios), and ipc_fini skips nng_fini. */
#define IPC_CLOSE_WAIT_MS 3000
int ipc_nng_close(nng_socket s);

/* Keeps p, an object leaked after a hung close, reachable for the life of the
 * process (never freed), so that a leak checker does not report it as lost
 * (valgrind_ipc_pubsub under load: "32 bytes definitely lost" in ipc_sub_open). */
void ipc_park(void *p);

/* A new nng_msg holding m encoded; the caller owns it. Negative errno on failure. */
int ipc_nng_msg_encode(const struct ipc_msg *m, nng_msg **out);

#endif

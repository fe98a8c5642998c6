/* The IPC library in one include: envelope and message types, endpoints, pub/sub
 * hints, req/rep queries. Only ipc/ includes NNG; nothing here exposes it. */
#ifndef OMJOB_LIB_IPC_IPC_H
#define OMJOB_LIB_IPC_IPC_H

#include "lib/ipc/endpoints.h"
#include "lib/ipc/msg.h"
#include "lib/ipc/pubsub.h"
#include "lib/ipc/reqrep.h"
#include "lib/ipc/seqtrack.h"

/* Releases NNG's global state and threads. Call once, at exit, after every ipc
 * object is closed (valgrind then sees no thread leaks). NNG itself starts lazily
 * at the first open, never at load time, and must not be used before fork. */
void ipc_fini(void);

/* Makes every listening endpoint of the process unreachable (its socket file
 * removed, its watchdog stopped) without closing it: a role calls it first when it
 * stops, so that no connection is still being accepted when its sockets close
 * later (NNG 1.5.2 can leak or hang a close that races one, tests/lsan.supp).
 * Pipes already connected keep working until their socket closes. */
void ipc_stop_accepting(void);

/* Every listening endpoint checks every ms milliseconds that it still accepts
 * connections, and re-creates itself if not (works around an NNG 1.5.2 bug, see
 * lib/ipc/listener.c). Default 5000; 0 turns the check off. Applies to endpoints
 * opened afterwards. Tests use short intervals. */
void ipc_watchdog_set_interval(int ms);
int ipc_watchdog_interval(void);

#endif

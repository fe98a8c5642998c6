/* A fake API server for unit tests of code that talks to Kubernetes through the
 * kube client: a thread on a loopback port that records every request and
 * answers each with the next canned (code, body) reply, in order. When no reply
 * is left it answers 599 with an empty body, which a test sees as a failure.
 * One connection is served at a time (free one client before the next talks).
 * Plain HTTP only; the client's own behaviour is tested in test_kube_http.c. */
#ifndef OMJOB_TESTS_UNIT_SUPPORT_FAKEAPI_H
#define OMJOB_TESTS_UNIT_SUPPORT_FAKEAPI_H

#include <stddef.h>

#define FAKEAPI_MAX 32

struct fakeapi;

/* Listens on 127.0.0.1 (a free port) and serves on a thread. 0 or -1. */
int fakeapi_start(struct fakeapi **out);
/* Stops the thread and frees. NULL is a no-op. */
void fakeapi_stop(struct fakeapi *f);
int fakeapi_port(const struct fakeapi *f);
/* A kubeconfig (YAML) for a client of f with a static token, into buf. */
void fakeapi_kubeconfig(const struct fakeapi *f, char *buf, size_t cap);
/* Queues the reply to the next request not yet answered: code and a JSON body. */
void fakeapi_reply(struct fakeapi *f, int code, const char *body);
/* Queues a Kubernetes Status reply with this code, reason and message. */
void fakeapi_status(struct fakeapi *f, int code, const char *reason, const char *message);
/* Forgets the requests seen and the replies not used. */
void fakeapi_reset(struct fakeapi *f);
/* Requests received so far. */
int fakeapi_nreqs(struct fakeapi *f);
/* Request i as "METHOD PATH" (query included), or "" when there is none. */
const char *fakeapi_line(struct fakeapi *f, int i);
/* The body of request i, or "". */
const char *fakeapi_body(struct fakeapi *f, int i);

#endif

/* Unit tests of the ipc library's NNG glue (lib/ipc/nngutil.c): every NNG error as
 * the errno the rest of the code tests for, the envelope into an nng_msg and the
 * inputs it refuses, dialling a URL NNG cannot dial, and publisher ids. */
#include <errno.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "test_ipc_helpers.h"

#include "lib/ipc/internal.h"

static void test_errno_table(void)
{
    static const struct {
        int nng, err;
    } map[] = {
        {0, 0},
        {NNG_EINTR, -EINTR},
        {NNG_ENOMEM, -ENOMEM},
        {NNG_EINVAL, -EINVAL},
        {NNG_EADDRINVAL, -EINVAL},
        {NNG_EBUSY, -EBUSY},
        {NNG_ETIMEDOUT, -ETIMEDOUT},
        {NNG_ECONNREFUSED, -ECONNREFUSED},
        {NNG_ECLOSED, -EBADF},
        {NNG_EAGAIN, -EAGAIN},
        {NNG_ENOTSUP, -ENOTSUP},
        {NNG_EADDRINUSE, -EADDRINUSE},
        {NNG_ENOENT, -ENOENT},
        {NNG_EPERM, -EPERM},
        {NNG_EMSGSIZE, -EMSGSIZE},
        {NNG_ECONNABORTED, -ECONNABORTED},
        {NNG_ECONNRESET, -ECONNRESET},
        {NNG_ECONNSHUT, -ECONNRESET},
        {NNG_ECANCELED, -ECANCELED},
        {NNG_ENOFILES, -EMFILE},
        {NNG_ENOSPC, -ENOSPC},
        {NNG_EEXIST, -EEXIST},
        /* What has no errno of its own is a protocol error. */
        {NNG_ESTATE, -EPROTO},
        {NNG_ECRYPTO, -EPROTO},
        {NNG_EINTERNAL, -EPROTO},
        {9999, -EPROTO},
        /* A system error carries its errno. */
        {NNG_ESYSERR | EIO, -EIO},
        {NNG_ESYSERR | ENOTDIR, -ENOTDIR},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        CU_ASSERT_EQUAL(ipc_nng_errno(map[i].nng), map[i].err);
}

static void test_msg_encode(void)
{
    nng_msg *msg = (nng_msg *)&msg;
    struct ipc_msg m = {.topic = "shard.3",
                        .type = IPC_EV_CHANGE,
                        .seq = 7,
                        .pubid = 9,
                        .body = (const uint8_t *)"abc",
                        .body_len = 3};
    CU_ASSERT_EQUAL_FATAL(ipc_nng_msg_encode(&m, &msg), 0);
    struct ipc_msg d;
    CU_ASSERT_EQUAL(nng_msg_len(msg), ipc_msg_size(strlen("shard.3"), 3));
    CU_ASSERT_EQUAL_FATAL(ipc_msg_decode(nng_msg_body(msg), nng_msg_len(msg), &d), 0);
    CU_ASSERT_STRING_EQUAL(d.topic, "shard.3");
    CU_ASSERT_EQUAL(d.seq, 7);
    CU_ASSERT_EQUAL(d.pubid, 9);
    CU_ASSERT_EQUAL(d.body_len, 3);
    nng_msg_free(msg);
    /* Refused, and *out untouched. */
    msg = (nng_msg *)&msg;
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(NULL, &msg), -EINVAL);
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&m, NULL), -EINVAL);
    struct ipc_msg bad = m;
    bad.topic = NULL;
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&bad, &msg), -EINVAL);
    char long_topic[IPC_TOPIC_MAX + 2];
    memset(long_topic, 'a', sizeof(long_topic) - 1);
    long_topic[sizeof(long_topic) - 1] = '\0';
    bad = m;
    bad.topic = long_topic;
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&bad, &msg), -EINVAL);
    bad = m;
    bad.body_len = IPC_BODY_MAX + 1;
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&bad, &msg), -EINVAL);
    bad = m;
    bad.type = (enum ipc_type)0x7e; /* fits, but no such type: the envelope refuses it */
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&bad, &msg), -EINVAL);
    bad = m;
    bad.topic = "bad topic";
    CU_ASSERT_EQUAL(ipc_nng_msg_encode(&bad, &msg), -EINVAL);
    CU_ASSERT_PTR_EQUAL(msg, (nng_msg *)&msg);
}

static void test_dial_refused(void)
{
    nng_socket s;
    CU_ASSERT_EQUAL_FATAL(nng_sub0_open(&s), 0);
    CU_ASSERT_EQUAL(ipc_dial(s, "bogus://nowhere"), -ENOTSUP);
    CU_ASSERT(ipc_dial(s, "not a url") < 0);
    /* A socket that is not there yet is fine: NNG redials in the background. */
    CU_ASSERT_EQUAL(ipc_dial(s, "ipc:///tmp/omjob-nngutil-test-nobody-listens"), 0);
    CU_ASSERT_EQUAL(ipc_nng_close(s), 0);
}

static void test_random_id(void)
{
    uint32_t a = ipc_random_id(), b = ipc_random_id();
    CU_ASSERT_NOT_EQUAL(a, 0);
    CU_ASSERT_NOT_EQUAL(b, 0);
    CU_ASSERT_NOT_EQUAL(a, b); /* 1 in 2^32 */
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"NNG errors as errno", test_errno_table},
        {"envelope into an nng_msg", test_msg_encode},
        {"dial refused", test_dial_refused},
        {"random ids", test_random_id},
        {NULL, NULL},
    };
    return run_suite("ipc_nngutil", tests);
}

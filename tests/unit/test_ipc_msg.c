/* Unit tests of the IPC envelope, hint and error bodies and the sequence tracker:
 * round trips, every malformation, every truncation, random corruption. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "test_ipc_helpers.h"

static const enum ipc_type all_types[] = {
    IPC_CTL_HEALTH,  IPC_CTL_HEALTH_REPLY,  IPC_CTL_METRICS,    IPC_CTL_METRICS_REPLY,
    IPC_CTL_STATUS,  IPC_CTL_STATUS_REPLY,  IPC_CTL_STOP,       IPC_CTL_ACK,
    IPC_EV_CHANGE,   IPC_EV_RESYNC,         IPC_EV_TICK,        IPC_EV_CHANGES,
    IPC_REQ_GET_KEY, IPC_REQ_GET_KEY_REPLY, IPC_REQ_LIST_SHARD, IPC_REQ_LIST_SHARD_REPLY,
    IPC_REQ_ERROR,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/* xorshift64: deterministic corruption. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t encode_sample(uint8_t *buf, size_t cap, enum ipc_type t, const char *topic,
                            const char *body)
{
    struct ipc_msg m = {.topic = topic,
                        .type = t,
                        .seq = 0x0102030405060708ull,
                        .pubid = 0xdeadbeef,
                        .body = (const uint8_t *)body,
                        .body_len = body == NULL ? 0 : strlen(body)};
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(ipc_msg_encode(&m, buf, cap, &len), 0);
    return len;
}

static void test_round_trip_every_type(void)
{
    uint8_t buf[256];
    for (size_t i = 0; i < NTYPES; i++) {
        const char *body = (i % 2) ? "{\"k\":\"v\"}" : NULL;
        size_t len = encode_sample(buf, sizeof(buf), all_types[i], "shard.7", body);
        CU_ASSERT_EQUAL(len, ipc_msg_size(7, body ? strlen(body) : 0));
        struct ipc_msg m;
        CU_ASSERT_EQUAL_FATAL(ipc_msg_decode(buf, len, &m), 0);
        CU_ASSERT_STRING_EQUAL(m.topic, "shard.7");
        CU_ASSERT_EQUAL(m.topic_len, 7);
        CU_ASSERT_EQUAL(m.type, all_types[i]);
        CU_ASSERT_EQUAL(m.seq, 0x0102030405060708ull);
        CU_ASSERT_EQUAL(m.pubid, 0xdeadbeef);
        CU_ASSERT_EQUAL(m.flags, 0);
        CU_ASSERT_EQUAL(m.body_len, body ? strlen(body) : 0);
        if (body != NULL)
            CU_ASSERT_EQUAL(memcmp(m.body, body, strlen(body)), 0);
        CU_ASSERT(ipc_type_valid(all_types[i]));
        CU_ASSERT_STRING_NOT_EQUAL(ipc_type_str(all_types[i]), "UNKNOWN");
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(ipc_type_str(all_types[i]), ipc_type_str(all_types[j]));
    }
    CU_ASSERT_STRING_EQUAL(ipc_type_str((enum ipc_type)0x7f), "UNKNOWN");
    CU_ASSERT(!ipc_type_valid(0));
    CU_ASSERT(!ipc_type_valid(0x10)); /* unassigned */
    CU_ASSERT(!ipc_type_valid(0x11));
    CU_ASSERT(!ipc_type_valid(0x1a));
    /* The wire values stay what they were. */
    CU_ASSERT_EQUAL(IPC_CTL_HEALTH, 0x12);
    CU_ASSERT_EQUAL(IPC_CTL_ACK, 0x19);
    CU_ASSERT_EQUAL(IPC_EV_CHANGE, 0x20);
    CU_ASSERT_EQUAL(IPC_EV_CHANGES, 0x23);
    CU_ASSERT_EQUAL(IPC_REQ_GET_KEY, 0x30);
    CU_ASSERT_EQUAL(IPC_REQ_ERROR, 0x3f);
    CU_ASSERT(ipc_type_is_reply(IPC_REQ_ERROR));
    CU_ASSERT(!ipc_type_is_reply(IPC_REQ_GET_KEY));
}

static void test_wire_layout(void)
{
    uint8_t buf[64];
    size_t len = encode_sample(buf, sizeof(buf), IPC_EV_CHANGE, "ttl", "ab");
    static const uint8_t want[] = {'t', 't', 'l', 0,    1,    0x20, 0,    0, 1, 2, 3, 4,   5,
                                   6,   7,   8,   0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 2, 'a', 'b'};
    CU_ASSERT_EQUAL_FATAL(len, sizeof(want));
    CU_ASSERT_EQUAL(memcmp(buf, want, len), 0);
}

static void test_encode_rejects(void)
{
    uint8_t buf[256];
    size_t len = 99;
    struct ipc_msg m = {.topic = "ok", .type = IPC_CTL_ACK};
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, ipc_msg_size(2, 0) - 1, &len), -ENOSPC);
    CU_ASSERT_EQUAL(len, 99);
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, ipc_msg_size(2, 0), &len), 0);
    m.topic = "";
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    m.topic = "has space";
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    m.topic = "x\x01";
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    char longt[IPC_TOPIC_MAX + 2];
    memset(longt, 'a', sizeof(longt) - 1);
    longt[sizeof(longt) - 1] = '\0';
    m.topic = longt;
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    longt[IPC_TOPIC_MAX] = '\0';
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), 0);
    m.topic = "ok";
    m.type = (enum ipc_type)0x55;
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    m.type = IPC_CTL_ACK;
    m.flags = 1;
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    m.flags = 0;
    m.body_len = 3; /* body NULL */
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
    m.body = buf;
    m.body_len = (size_t)IPC_BODY_MAX + 1;
    CU_ASSERT_EQUAL(ipc_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

static void test_decode_rejects(void)
{
    uint8_t good[64], b[64];
    size_t len = encode_sample(good, sizeof(good), IPC_REQ_GET_KEY, "req", "ns/a");
    struct ipc_msg m;
    memset(&m, 0x5a, sizeof(m));
    struct ipc_msg untouched = m;

    memcpy(b, good, len);
    b[3] = 'x'; /* no NUL where the topic should end: NUL found later, in header */
    CU_ASSERT_NOT_EQUAL(ipc_msg_decode(b, len, &m), 0);
    memcpy(b, good, len);
    b[0] = '\0'; /* empty topic */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EBADMSG);
    memcpy(b, good, len);
    b[1] = ' ';
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EBADMSG);
    memcpy(b, good, len);
    b[4] = 2; /* version */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EPROTONOSUPPORT);
    memcpy(b, good, len);
    b[5] = 0x7e; /* type */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -ENOMSG);
    memcpy(b, good, len);
    b[7] = 1; /* flags */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EPROTONOSUPPORT);
    memcpy(b, good, len);
    b[23] = 5; /* body length one more than present */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EBADMSG);
    b[23] = 3; /* one less: trailing byte */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EBADMSG);
    memcpy(b, good, len);
    b[20] = 0xff; /* huge body length */
    CU_ASSERT_EQUAL(ipc_msg_decode(b, len, &m), -EBADMSG);
    CU_ASSERT_EQUAL(ipc_msg_decode(b, 0, &m), -EBADMSG);
    /* A topic of 65 bytes has no NUL in the first 65 bytes. */
    uint8_t big[IPC_TOPIC_MAX + 1 + IPC_HDR_LEN + 1];
    memset(big, 'a', sizeof(big));
    CU_ASSERT_EQUAL(ipc_msg_decode(big, sizeof(big), &m), -EBADMSG);
    CU_ASSERT_EQUAL(memcmp(&m, &untouched, sizeof(m)), 0); /* out only on success */
}

/* Every prefix of a valid message must be rejected, within bounds (ASan checks it:
 * each prefix is copied into an exactly sized heap block). */
static void test_decode_every_truncation(void)
{
    uint8_t good[128];
    for (size_t t = 0; t < NTYPES; t++) {
        size_t len = encode_sample(good, sizeof(good), all_types[t], "shard.12", "{\"x\":1}");
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            memcpy(p, good, cut);
            struct ipc_msg m;
            CU_ASSERT(ipc_msg_decode(p, cut, &m) < 0);
            free(p);
        }
    }
}

/* Random corruption: the decoder returns an error, or a message that is valid and
 * encodes back to exactly the same bytes. */
static void test_decode_random_corruption(void)
{
    uint8_t good[128];
    int rounds = under_valgrind() ? 20000 : 300000, ok = 0;
    for (int r = 0; r < rounds; r++) {
        size_t len = encode_sample(good, sizeof(good), all_types[r % NTYPES], "shard.3",
                                   (r & 1) ? "body" : NULL);
        int nflip = 1 + (int)(rng() % 4);
        for (int i = 0; i < nflip; i++)
            good[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
        size_t cut = (rng() % 8 == 0) ? rng() % (len + 1) : len;
        uint8_t *p = malloc(cut ? cut : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p, good, cut);
        struct ipc_msg m;
        if (ipc_msg_decode(p, cut, &m) == 0) {
            uint8_t again[128];
            size_t alen;
            CU_ASSERT_EQUAL(ipc_msg_encode(&m, again, sizeof(again), &alen), 0);
            CU_ASSERT_EQUAL(alen, cut);
            CU_ASSERT_EQUAL(memcmp(again, p, cut), 0);
            ok++;
        }
        free(p);
    }
    CU_ASSERT(ok > 0); /* some flips hit the seq or body and stay valid */
}

static void test_decode_dup(void)
{
    uint8_t buf[64];
    size_t len = encode_sample(buf, sizeof(buf), IPC_CTL_STATUS_REPLY, "rep", "table");
    struct ipc_msg *m = NULL;
    CU_ASSERT_EQUAL_FATAL(ipc_msg_decode_dup(buf, len, &m), 0);
    memset(buf, 0, sizeof(buf)); /* the copy owns its bytes */
    CU_ASSERT_STRING_EQUAL(m->topic, "rep");
    CU_ASSERT_EQUAL(m->body_len, 5);
    CU_ASSERT_EQUAL(memcmp(m->body, "table", 5), 0);
    ipc_msg_free(m);
    ipc_msg_free(NULL);
    m = NULL;
    CU_ASSERT_EQUAL(ipc_msg_decode_dup(buf, len, &m), -EBADMSG);
    CU_ASSERT_PTR_NULL(m);
}

static void test_hint(void)
{
    struct ipc_hint h = {.kind = IPC_KIND_POD, .seq = 42}, out;
    snprintf(h.key, sizeof(h.key), "team-a/ingest-1");
    uint8_t buf[IPC_HINT_MAX];
    size_t len;
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, IPC_HINT_HDR_LEN + strlen(h.key));
    CU_ASSERT_EQUAL_FATAL(ipc_hint_decode(buf, len, &out), 0);
    CU_ASSERT_EQUAL(out.kind, IPC_KIND_POD);
    CU_ASSERT_EQUAL(out.seq, 42);
    CU_ASSERT_STRING_EQUAL(out.key, "team-a/ingest-1");
    for (size_t cut = 0; cut < len; cut++)
        CU_ASSERT(ipc_hint_decode(buf, cut, &out) < 0);
    buf[0] = 9;
    CU_ASSERT_EQUAL(ipc_hint_decode(buf, len, &out), -ENOMSG);
    buf[0] = IPC_KIND_OMJOB;
    buf[1] = 1;
    CU_ASSERT_EQUAL(ipc_hint_decode(buf, len, &out), -EBADMSG);
    CU_ASSERT_EQUAL(ipc_hint_encode(&h, buf, len - 1, &len), -ENOSPC);
    static const char *bad[] = {"noslash", "/name", "ns/", "a/b/c", "ns/na me", "ns//x", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(h.key, sizeof(h.key), "%s", bad[i]);
        CU_ASSERT_EQUAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), -EINVAL);
        CU_ASSERT_EQUAL(ipc_key_check(bad[i], strlen(bad[i])), -EINVAL);
    }
    memset(h.key, 'k', IPC_KEY_MAX);
    h.key[10] = '/';
    h.key[IPC_KEY_MAX] = '\0';
    CU_ASSERT_EQUAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, IPC_HINT_HDR_LEN + IPC_KEY_MAX);
    h.kind = (enum ipc_kind)0;
    CU_ASSERT_EQUAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), -EINVAL);
    CU_ASSERT_STRING_EQUAL(ipc_kind_str(IPC_KIND_CRONOMJOB), "CRONOMJOB");
    CU_ASSERT_STRING_EQUAL(ipc_kind_str((enum ipc_kind)7), "UNKNOWN");
}

/* Collects what ipc_hints_decode hands out. */
struct got {
    int n;
    struct ipc_hint h[4];
};

static int got_add(void *ctx, const struct ipc_hint *h)
{
    struct got *g = ctx;
    if (g->n < 4)
        g->h[g->n] = *h;
    g->n++;
    return 0;
}

static int stop_at_second(void *ctx, const struct ipc_hint *h)
{
    (void)h;
    return ++*(int *)ctx == 2 ? -ECANCELED : 0;
}

/* A batch of two hints (ns-a/job-1 OMJOB seq 7, ns-b/job-22 POD seq 9) into buf. */
static void two_hints(struct ipc_hint *a, struct ipc_hint *b, uint8_t *buf, size_t cap, size_t *len)
{
    *a = (struct ipc_hint){.kind = IPC_KIND_OMJOB, .seq = 7};
    *b = (struct ipc_hint){.kind = IPC_KIND_POD, .seq = 9};
    snprintf(a->key, sizeof(a->key), "ns-a/job-1");
    snprintf(b->key, sizeof(b->key), "ns-b/job-22");
    *len = 0;
    CU_ASSERT_EQUAL_FATAL(ipc_hints_add(buf, cap, len, a), 0);
    CU_ASSERT_EQUAL(*len, IPC_HINTS_HDR_LEN + IPC_HINT_HDR_LEN + strlen(a->key));
    CU_ASSERT_EQUAL_FATAL(ipc_hints_add(buf, cap, len, b), 0);
}

/* An OMJob hint with the TTL extension (the "ttl" topic's): its wire form, its
 * round trip alone and in a batch, and every way it can be malformed. */
static void test_hint_ttl(void)
{
    struct ipc_hint h = {.kind = IPC_KIND_OMJOB, .seq = 5, .key = "ns/job", .has_ttl = true};
    h.ttl = (struct ipc_ttl){.flags = IPC_TTL_PRESENT | IPC_TTL_SET | IPC_TTL_FINISHED,
                             .ttl_s = 30,
                             .completion_ms = 1795600980000LL,
                             .uid = "0c6f-u1",
                             .rv = "812"};
    uint8_t buf[IPC_HINT_MAX], bad[IPC_HINT_MAX];
    size_t len;
    struct ipc_hint out;
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, IPC_HINT_HDR_LEN + 6 + IPC_TTL_HDR_LEN + 7 + 3);
    CU_ASSERT_EQUAL(buf[1], IPC_TTL_HDR_LEN + 7 + 3); /* ext_len */
    const uint8_t *x = buf + IPC_HINT_HDR_LEN + 6;
    CU_ASSERT(x[0] == (IPC_TTL_PRESENT | IPC_TTL_SET | IPC_TTL_FINISHED) && x[1] == 7 &&
              x[2] == 3 && x[3] == 0);
    CU_ASSERT(x[11] == 30 && memcmp(x + IPC_TTL_HDR_LEN, "0c6f-u1812", 10) == 0);
    memset(&out, 0xa5, sizeof(out));
    CU_ASSERT_EQUAL_FATAL(ipc_hint_decode(buf, len, &out), 0);
    CU_ASSERT(out.has_ttl && out.kind == IPC_KIND_OMJOB && out.seq == 5);
    CU_ASSERT_STRING_EQUAL(out.key, "ns/job");
    CU_ASSERT(out.ttl.flags == h.ttl.flags && out.ttl.ttl_s == 30 &&
              out.ttl.completion_ms == 1795600980000LL);
    CU_ASSERT_STRING_EQUAL(out.ttl.uid, "0c6f-u1");
    CU_ASSERT_STRING_EQUAL(out.ttl.rv, "812");
    for (size_t cut = 0; cut < len; cut++)
        CU_ASSERT(ipc_hint_decode(buf, cut, &out) < 0);
    CU_ASSERT_EQUAL(ipc_hint_encode(&h, buf, len - 1, &len), -ENOSPC);

    /* Gone: only the flag-less form; and a hint without it decodes without it. */
    struct ipc_hint g = {.kind = IPC_KIND_OMJOB, .seq = 6, .key = "ns/job", .has_ttl = true};
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&g, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL(len, IPC_HINT_HDR_LEN + 6 + IPC_TTL_HDR_LEN);
    CU_ASSERT(ipc_hint_decode(buf, len, &out) == 0 && out.has_ttl && out.ttl.flags == 0);
    g.has_ttl = false;
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&g, buf, sizeof(buf), &len), 0);
    CU_ASSERT(ipc_hint_decode(buf, len, &out) == 0 && !out.has_ttl);

    /* The encoder refuses what the decoder would: not canonical, or not an OMJob. */
    struct ipc_hint e;
    static const struct {
        unsigned flags;
        int64_t ttl_s, completion_ms;
        const char *uid, *rv;
        enum ipc_kind kind;
    } no[] = {
        {IPC_TTL_PRESENT, 0, 0, "u", "1", IPC_KIND_POD},
        {0, 0, 0, "u", "", IPC_KIND_OMJOB},               /* gone, with a uid */
        {IPC_TTL_FINISHED, 0, 0, "", "", IPC_KIND_OMJOB}, /* gone, with a flag */
        {IPC_TTL_PRESENT | 32, 0, 0, "u", "1", IPC_KIND_OMJOB},
        {IPC_TTL_PRESENT | IPC_TTL_SET | IPC_TTL_BAD, 3, 0, "u", "1", IPC_KIND_OMJOB},
        {IPC_TTL_PRESENT, 3, 0, "u", "1", IPC_KIND_OMJOB}, /* ttl_s without SET */
        {IPC_TTL_PRESENT, 0, 9, "u", "1", IPC_KIND_OMJOB}, /* completion without FINISHED */
        {IPC_TTL_PRESENT, 0, 0, "u 1", "1", IPC_KIND_OMJOB},
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        e = (struct ipc_hint){.kind = no[i].kind, .seq = 1, .key = "ns/job", .has_ttl = true};
        e.ttl.flags = no[i].flags;
        e.ttl.ttl_s = no[i].ttl_s;
        e.ttl.completion_ms = no[i].completion_ms;
        snprintf(e.ttl.uid, sizeof(e.ttl.uid), "%s", no[i].uid);
        snprintf(e.ttl.rv, sizeof(e.ttl.rv), "%s", no[i].rv);
        CU_ASSERT_EQUAL(ipc_hint_encode(&e, buf, sizeof(buf), &len), -EINVAL);
    }
    memset(e.ttl.uid, 'u', sizeof(e.ttl.uid)); /* no NUL: too long */
    e.kind = IPC_KIND_OMJOB;
    e.ttl.flags = IPC_TTL_PRESENT;
    CU_ASSERT_EQUAL(ipc_hint_encode(&e, buf, sizeof(buf), &len), -EINVAL);

    /* The decoder: each byte of the good one changed where it must not be. */
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&h, buf, sizeof(buf), &len), 0);
    size_t xo = IPC_HINT_HDR_LEN + 6;
    static const struct {
        size_t at;
        uint8_t v;
    } flip[] = {
        {0, IPC_KIND_POD}, /* an extension on a pod hint */
        {1, 0},            /* ext_len says none: bytes left over */
        {1, 255},          /* ext_len past the end */
    };
    for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
        memcpy(bad, buf, len);
        bad[flip[i].at] = flip[i].v;
        CU_ASSERT_EQUAL(ipc_hint_decode(bad, len, &out), -EBADMSG);
    }
    static const struct {
        size_t at;
        uint8_t v;
    } xflip[] = {
        {0, IPC_TTL_PRESENT | IPC_TTL_SET | IPC_TTL_FINISHED | 64}, /* unknown flag */
        {0, IPC_TTL_PRESENT | IPC_TTL_FINISHED},                    /* ttl_s without SET */
        {0, IPC_TTL_PRESENT | IPC_TTL_SET}, /* completion without FINISHED */
        {0, 0},                             /* gone, with values */
        {1, 8},                             /* uid_len != ext */
        {2, 2},                             /* rv_len != ext */
        {3, 1},                             /* reserved */
        {IPC_TTL_HDR_LEN + 1, 0},           /* NUL in the uid */
        {IPC_TTL_HDR_LEN + 1, ' '},         /* space in the uid */
        {IPC_TTL_HDR_LEN + 8, 0x7f},        /* DEL in the rv */
    };
    for (size_t i = 0; i < sizeof(xflip) / sizeof(xflip[0]); i++) {
        memcpy(bad, buf, len);
        bad[xo + xflip[i].at] = xflip[i].v;
        CU_ASSERT_EQUAL(ipc_hint_decode(bad, len, &out), -EBADMSG);
    }

    /* In a batch, with hints that have none: each record ends where its lengths say. */
    uint8_t body[1024];
    size_t blen = 0;
    struct ipc_hint p = {.kind = IPC_KIND_POD, .seq = 4, .key = "ns/job"};
    CU_ASSERT_EQUAL(ipc_hints_add(body, sizeof(body), &blen, &p), 0);
    CU_ASSERT_EQUAL(ipc_hints_add(body, sizeof(body), &blen, &h), 0);
    CU_ASSERT_EQUAL(ipc_hints_add(body, sizeof(body), &blen, &g), 0);
    struct got got = {0};
    CU_ASSERT_EQUAL(ipc_hints_decode(body, blen, got_add, &got), 3);
    CU_ASSERT_FATAL(got.n == 3);
    CU_ASSERT(!got.h[0].has_ttl && got.h[1].has_ttl && !got.h[2].has_ttl);
    CU_ASSERT_STRING_EQUAL(got.h[1].ttl.rv, "812");
    for (size_t cut = 0; cut < blen; cut++)
        CU_ASSERT(ipc_hints_decode(body, cut, got_add, &got) < 0);
}

static void test_hints_body(void)
{
    struct ipc_hint a, b;
    uint8_t buf[256];
    size_t len;
    two_hints(&a, &b, buf, sizeof(buf), &len);
    size_t full = len;
    /* Wire: u16 count, then the hint bodies back to back. */
    CU_ASSERT_EQUAL(buf[0], 0);
    CU_ASSERT_EQUAL(buf[1], 2);
    uint8_t one[IPC_HINT_MAX];
    size_t olen;
    CU_ASSERT_EQUAL_FATAL(ipc_hint_encode(&b, one, sizeof(one), &olen), 0);
    CU_ASSERT_EQUAL(memcmp(buf + full - olen, one, olen), 0);

    struct got g = {0};
    CU_ASSERT_EQUAL(ipc_hints_decode(buf, full, got_add, &g), 2);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_EQUAL(g.h[0].kind, IPC_KIND_OMJOB);
    CU_ASSERT_EQUAL(g.h[0].seq, 7);
    CU_ASSERT_STRING_EQUAL(g.h[0].key, "ns-a/job-1");
    CU_ASSERT_EQUAL(g.h[1].kind, IPC_KIND_POD);
    CU_ASSERT_EQUAL(g.h[1].seq, 9);
    CU_ASSERT_STRING_EQUAL(g.h[1].key, "ns-b/job-22");

    /* A callback's nonzero return stops the walk. */
    int calls = 0;
    CU_ASSERT_EQUAL(ipc_hints_decode(buf, full, stop_at_second, &calls), -ECANCELED);
    CU_ASSERT_EQUAL(calls, 2);

    /* ipc_msg_hints: one hint or a batch, nothing else. */
    struct ipc_msg m = {.type = IPC_EV_CHANGES, .body = buf, .body_len = full};
    g.n = 0;
    CU_ASSERT_EQUAL(ipc_msg_hints(&m, got_add, &g), 2);
    m.type = IPC_EV_CHANGE;
    m.body = one;
    m.body_len = olen;
    g.n = 0;
    CU_ASSERT_EQUAL(ipc_msg_hints(&m, got_add, &g), 1);
    CU_ASSERT_STRING_EQUAL(g.h[0].key, "ns-b/job-22");
    m.type = IPC_EV_TICK;
    CU_ASSERT_EQUAL(ipc_msg_hints(&m, got_add, &g), -ENOMSG);

    /* Full: -ENOSPC, the body unchanged. */
    size_t small = full;
    CU_ASSERT_EQUAL(ipc_hints_add(buf, full + 4, &small, &a), -ENOSPC);
    CU_ASSERT_EQUAL(small, full);
    CU_ASSERT_EQUAL(buf[1], 2);
    /* A bad hint is refused. */
    struct ipc_hint bad = {.kind = IPC_KIND_POD};
    snprintf(bad.key, sizeof(bad.key), "noslash");
    CU_ASSERT_EQUAL(ipc_hints_add(buf, sizeof(buf), &small, &bad), -EINVAL);
    CU_ASSERT_EQUAL(small, full);
}

/* At most IPC_HINTS_MAX hints per body, whatever room is left. */
static void test_hints_count_limit(void)
{
    static uint8_t buf[IPC_HINTS_BODY_MAX];
    struct ipc_hint h = {.kind = IPC_KIND_OMJOB, .seq = 1};
    snprintf(h.key, sizeof(h.key), "a/b");
    size_t len = 0;
    int n = 0;
    while (ipc_hints_add(buf, sizeof(buf), &len, &h) == 0)
        n++;
    CU_ASSERT_EQUAL(n, IPC_HINTS_MAX);
    struct got g = {0};
    CU_ASSERT_EQUAL(ipc_hints_decode(buf, len, got_add, &g), IPC_HINTS_MAX);
    CU_ASSERT_EQUAL(g.n, IPC_HINTS_MAX);
    /* A count above the limit is malformed even when the records are there. */
    static uint8_t big[IPC_HINTS_BODY_MAX];
    memcpy(big, buf, len);
    memcpy(big + len, buf + IPC_HINTS_HDR_LEN, IPC_HINT_HDR_LEN + 3);
    big[0] = (uint8_t)((IPC_HINTS_MAX + 1) >> 8);
    big[1] = (uint8_t)((IPC_HINTS_MAX + 1) & 0xff);
    g.n = 0;
    CU_ASSERT_EQUAL(ipc_hints_decode(big, len + IPC_HINT_HDR_LEN + 3, got_add, &g), -EBADMSG);
    CU_ASSERT_EQUAL(g.n, 0);
}

/* Malformed batches: a clear error, no hint handed out, nothing read outside. */
static void test_hints_malformed(void)
{
    struct ipc_hint a, b;
    uint8_t buf[256];
    size_t len;
    two_hints(&a, &b, buf, sizeof(buf), &len);
    struct got g = {0};
    /* Every truncation, each in a buffer of exactly its size (ASan sees overreads). */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut > 0 ? cut : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        memcpy(t, buf, cut);
        CU_ASSERT_EQUAL(ipc_hints_decode(t, cut, got_add, &g), -EBADMSG);
        free(t);
    }
    CU_ASSERT_EQUAL(g.n, 0);
    /* Trailing bytes after the last record. */
    uint8_t more[257];
    memcpy(more, buf, len);
    more[len] = 0;
    CU_ASSERT_EQUAL(ipc_hints_decode(more, len + 1, got_add, &g), -EBADMSG);
    /* A count of zero, one too few, one too many. */
    uint8_t t[256];
    memcpy(t, buf, len);
    t[1] = 0;
    CU_ASSERT_EQUAL(ipc_hints_decode(t, IPC_HINTS_HDR_LEN, got_add, &g), -EBADMSG);
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    t[1] = 1;
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    t[1] = 3;
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    /* A key_len that runs past the body; one that stops short of it. */
    memcpy(t, buf, len);
    size_t second = IPC_HINTS_HDR_LEN + IPC_HINT_HDR_LEN + strlen(a.key);
    t[second + 3] = 0xff;
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    memcpy(t, buf, len);
    t[IPC_HINTS_HDR_LEN + 3] = (uint8_t)(strlen(a.key) - 1); /* ends inside the key */
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    /* A bad record after a good one: the good one is not handed out either. */
    memcpy(t, buf, len);
    t[second + IPC_HINT_HDR_LEN + 4] = ' '; /* a space in the second key */
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    memcpy(t, buf, len);
    t[second] = 9; /* an unknown kind */
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -ENOMSG);
    memcpy(t, buf, len);
    t[second + 1] = 1; /* the reserved byte */
    CU_ASSERT_EQUAL(ipc_hints_decode(t, len, got_add, &g), -EBADMSG);
    CU_ASSERT_EQUAL(g.n, 0);
    /* Over the size limit; NULL arguments. */
    CU_ASSERT_EQUAL(ipc_hints_decode(buf, IPC_HINTS_BODY_MAX + 1, got_add, &g), -EBADMSG);
    CU_ASSERT_EQUAL(ipc_hints_decode(NULL, len, got_add, &g), -EINVAL);
    CU_ASSERT_EQUAL(ipc_hints_decode(buf, len, NULL, &g), -EINVAL);
    CU_ASSERT_EQUAL(ipc_msg_hints(NULL, got_add, &g), -EINVAL);
    /* Random corruption never crashes and never hands out part of a bad body. */
    srand(14);
    for (int i = 0; i < 20000; i++) {
        memcpy(t, buf, len);
        t[rand() % (int)len] = (uint8_t)rand();
        struct got r = {0};
        int rc = ipc_hints_decode(t, len, got_add, &r);
        CU_ASSERT(rc < 0 ? r.n == 0 : r.n == rc);
    }
}

static void test_err_body(void)
{
    uint8_t buf[IPC_ERR_MAX];
    size_t len;
    int code;
    const char *text;
    size_t tlen;
    CU_ASSERT_EQUAL_FATAL(ipc_err_encode(-ENOENT, "no such key\n", buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_err_decode(buf, len, &code, &text, &tlen), 0);
    CU_ASSERT_EQUAL(code, -ENOENT);
    CU_ASSERT_EQUAL(tlen, 12);
    CU_ASSERT_EQUAL(memcmp(text, "no such key?", 12), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_err_encode(-ETIMEDOUT, NULL, buf, sizeof(buf), &len), 0);
    CU_ASSERT_EQUAL_FATAL(ipc_err_decode(buf, len, &code, &text, &tlen), 0);
    CU_ASSERT_EQUAL(code, -ETIMEDOUT);
    CU_ASSERT(tlen > 0);
    CU_ASSERT_EQUAL(ipc_err_encode(0, NULL, buf, sizeof(buf), &len), -EINVAL);
    CU_ASSERT_EQUAL(ipc_err_encode(-EIO, "abc", buf, 6, &len), -ENOSPC);
    CU_ASSERT_EQUAL(ipc_err_decode(buf, 3, &code, &text, &tlen), -EBADMSG);
    memset(buf, 0, 4);
    CU_ASSERT_EQUAL(ipc_err_decode(buf, 4, &code, &text, &tlen), -EBADMSG);
}

static void test_seqtrack(void)
{
    struct ipc_seqtrack *t = ipc_seqtrack_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t missed = 99, seq;
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 7, 5, &missed), IPC_SEQ_FIRST);
    CU_ASSERT_EQUAL(missed, 0);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 7, 6, &missed), IPC_SEQ_OK);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 7, 10, &missed), IPC_SEQ_GAP);
    CU_ASSERT_EQUAL(missed, 3);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.10", 7, 1, &missed), IPC_SEQ_FIRST);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 8, 1, &missed), IPC_SEQ_NEW_PUBLISHER);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 8, 2, &missed), IPC_SEQ_OK);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "shard.1", 8, 2, &missed), IPC_SEQ_NEW_PUBLISHER);
    CU_ASSERT_EQUAL(ipc_seqtrack_update(t, "bad topic", 8, 2, &missed), -EINVAL);
    CU_ASSERT_EQUAL(ipc_seqtrack_count(t), 2);
    for (int i = 0; i < 100; i++) { /* growth */
        char topic[16];
        snprintf(topic, sizeof(topic), "t.%d", i);
        CU_ASSERT_EQUAL(ipc_seqtrack_next(t, topic, &seq), 0);
        CU_ASSERT_EQUAL(seq, 1);
    }
    CU_ASSERT_EQUAL(ipc_seqtrack_next(t, "t.5", &seq), 0);
    CU_ASSERT_EQUAL(seq, 2);
    CU_ASSERT_EQUAL(ipc_seqtrack_count(t), 102);
    CU_ASSERT_STRING_EQUAL(ipc_seq_str(IPC_SEQ_NEW_PUBLISHER), "NEW_PUBLISHER");
    ipc_seqtrack_free(t);
    ipc_seqtrack_free(NULL);
}

int main(void)
{
    static const struct unit_test tests[] = {
        {"round trip of every type", test_round_trip_every_type},
        {"wire layout", test_wire_layout},
        {"encode rejects bad input", test_encode_rejects},
        {"decode rejects malformed input", test_decode_rejects},
        {"decode every truncation", test_decode_every_truncation},
        {"decode random corruption", test_decode_random_corruption},
        {"decode_dup owns a copy", test_decode_dup},
        {"hint body", test_hint},
        {"hint body with the TTL extension", test_hint_ttl},
        {"hints body (a batch)", test_hints_body},
        {"hints body: at most IPC_HINTS_MAX", test_hints_count_limit},
        {"hints body: malformed batches", test_hints_malformed},
        {"error body", test_err_body},
        {"sequence tracker", test_seqtrack},
        {NULL, NULL},
    };
    return run_suite("ipc_msg", tests);
}

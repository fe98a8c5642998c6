/* The TZif reader (RFC 8536): header, the 32-bit (version 1) or 64-bit (version 2
 * and later) data block, and the footer's POSIX TZ string. Every count is checked
 * against the bytes present before anything is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cron/tz_impl.h"

#define HDR_LEN 44

struct hdr {
    char version; /* 0, '2', '3' or '4' */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

struct reader {
    const uint8_t *p;
    size_t len;
    char *err;
    size_t errlen;
};

static int bad(struct reader *r, const char *what)
{
    if (r->err != NULL && r->errlen > 0)
        snprintf(r->err, r->errlen, "not a valid TZif file: %s", what);
    return -EBADMSG;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(struct reader *r, struct hdr *h)
{
    if (r->len < HDR_LEN || memcmp(r->p, "TZif", 4) != 0)
        return bad(r, "no TZif header");
    h->version = (char)r->p[4];
    if (h->version != 0 && (h->version < '2' || h->version > '4'))
        return bad(r, "unknown version");
    const uint8_t *c = r->p + 20;
    h->isutcnt = be32(c);
    h->isstdcnt = be32(c + 4);
    h->leapcnt = be32(c + 8);
    h->timecnt = be32(c + 12);
    h->typecnt = be32(c + 16);
    h->charcnt = be32(c + 20);
    if (h->typecnt == 0 || h->typecnt > 256)
        return bad(r, "type count not in 1-256");
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return bad(r, "indicator count differs from the type count");
    if (h->timecnt > TZ_FILE_MAX || h->leapcnt > TZ_FILE_MAX || h->charcnt > TZ_FILE_MAX)
        return bad(r, "count too large");
    r->p += HDR_LEN;
    r->len -= HDR_LEN;
    return 0;
}

/* Bytes of the data block after a header, with times of tsize bytes. Counts are
 * at most TZ_FILE_MAX each, so this cannot overflow. */
static size_t block_len(const struct hdr *h, size_t tsize)
{
    return h->timecnt * (tsize + 1) + h->typecnt * 6 + h->charcnt + h->leapcnt * (tsize + 4) +
           h->isstdcnt + h->isutcnt;
}

static int read_types(struct reader *r, const struct hdr *h, const uint8_t *p, struct tz_zone *z)
{
    z->types = calloc(h->typecnt, sizeof(*z->types));
    if (z->types == NULL)
        return -ENOMEM;
    z->ntypes = h->typecnt;
    for (uint32_t i = 0; i < h->typecnt; i++, p += 6) {
        int32_t off = (int32_t)be32(p);
        if (off < TZ_UTOFF_MIN || off > TZ_UTOFF_MAX)
            return bad(r, "UTC offset out of range");
        if (p[4] > 1 || (h->charcnt > 0 && p[5] >= h->charcnt))
            return bad(r, "bad local time type");
        z->types[i].utoff = off;
        z->types[i].isdst = p[4] == 1;
    }
    return 0;
}

static int read_block(struct reader *r, const struct hdr *h, size_t tsize, struct tz_zone *z)
{
    const uint8_t *p = r->p;
    if (r->len < block_len(h, tsize))
        return bad(r, "truncated data block");
    if (h->timecnt > 0) {
        z->trans = malloc(h->timecnt * sizeof(*z->trans));
        z->tidx = malloc(h->timecnt);
        if (z->trans == NULL || z->tidx == NULL)
            return -ENOMEM;
    }
    z->ntrans = h->timecnt;
    for (uint32_t i = 0; i < h->timecnt; i++, p += tsize) {
        int64_t t = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (t < -TZ_TRANS_LIMIT || t > TZ_TRANS_LIMIT)
            return bad(r, "transition time out of range");
        if (i > 0 && t <= z->trans[i - 1])
            return bad(r, "transition times not ascending");
        z->trans[i] = t;
    }
    for (uint32_t i = 0; i < h->timecnt; i++, p++) {
        if (*p >= h->typecnt)
            return bad(r, "transition type index out of range");
        z->tidx[i] = *p;
    }
    int rc = read_types(r, h, p, z);
    if (rc != 0)
        return rc;
    r->p += block_len(h, tsize);
    r->len -= block_len(h, tsize);
    return 0;
}

/* "\n<TZ string>\n" after the version 2+ data; an empty string means no rule. */
static int read_footer(struct reader *r, struct tz_zone *z)
{
    if (r->len < 2 || r->p[0] != '\n')
        return bad(r, "missing footer");
    const uint8_t *nl = memchr(r->p + 1, '\n', r->len - 1);
    if (nl == NULL)
        return bad(r, "unterminated footer");
    size_t n = (size_t)(nl - (r->p + 1));
    if (n == 0)
        return 0;
    if (memchr(r->p + 1, '\0', n) != NULL || n > 255)
        return bad(r, "bad footer");
    char s[256];
    memcpy(s, r->p + 1, n);
    s[n] = '\0';
    char why[TZ_ERR_MAX];
    if (tz_rule_parse(s, &z->rule, why, sizeof(why)) != 0)
        return bad(r, why);
    z->has_rule = true;
    return 0;
}

/* The data of the first header is skipped when a 64-bit block follows. */
static int read_all(struct reader *r, struct tz_zone *z)
{
    struct hdr h;
    int rc = read_header(r, &h);
    if (rc != 0)
        return rc;
    if (h.version == 0)
        return read_block(r, &h, 4, z);
    if (r->len < block_len(&h, 4))
        return bad(r, "truncated version 1 data block");
    r->p += block_len(&h, 4);
    r->len -= block_len(&h, 4);
    rc = read_header(r, &h);
    if (rc == 0)
        rc = read_block(r, &h, 8, z);
    if (rc == 0)
        rc = read_footer(r, z);
    return rc;
}

int tz_parse_tzif(const void *data, size_t len, const char *name, struct tz_zone **zone, char *err,
                  size_t errlen)
{
    struct reader r = {data, len, err, errlen};
    if (len > TZ_FILE_MAX)
        return bad(&r, "file too large");
    struct tz_zone *z = calloc(1, sizeof(*z));
    int rc = -ENOMEM;
    if (z == NULL || (z->name = strdup(name != NULL ? name : "")) == NULL)
        goto fail;
    rc = read_all(&r, z);
    if (rc != 0)
        goto fail;
    *zone = z;
    return 0;
fail:
    if (rc == -ENOMEM && err != NULL && errlen > 0)
        snprintf(err, errlen, "out of memory reading a TZif file");
    tz_free(z);
    return rc;
}

/* Base64 decoding for the kube sources (kubeconfig's inline certificates and
 * keys). */
#include "lib/kube/internal.h"

#include "lib/common/util.h"

#include <errno.h>
#include <stdlib.h>

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int kube_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *buf = malloc(len / 4 * 3 + 4);
    if (buf == NULL)
        return -ENOMEM;
    size_t n = 0, pad = 0, quads = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_val(c);
        if (v < 0 || pad > 0)
            goto fail; /* bad character, or data after padding */
        acc = acc << 6 | (uint32_t)v;
        if (++quads == 4) {
            buf[n++] = (unsigned char)(acc >> 16);
            buf[n++] = (unsigned char)(acc >> 8);
            buf[n++] = (unsigned char)acc;
            acc = 0;
            quads = 0;
        }
    }
    if (quads == 1 || pad > 2 || (pad > 0 && quads + pad != 4))
        goto fail;
    if (quads == 2) {
        buf[n++] = (unsigned char)(acc >> 4);
    } else if (quads == 3) {
        buf[n++] = (unsigned char)(acc >> 10);
        buf[n++] = (unsigned char)(acc >> 2);
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
fail:
    util_free_secret_n(buf, len / 4 * 3 + 4);
    return -EINVAL;
}

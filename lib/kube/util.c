/* Helpers shared by the kube sources: reading small regular files, base64
 * decoding. */
#include "lib/kube/internal.h"

#include "lib/common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fd(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = -EFBIG;
                goto fail;
            }
            char *nb = malloc(cap * 2 + 1);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            memcpy(nb, buf, n);
            util_free_secret_n(buf, cap);
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        rc = -EFBIG;
        goto fail;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
fail:
    util_free_secret_n(buf, cap);
    return rc;
}

int kube_file_read(const char *path, size_t max, char **out, size_t *len)
{
    /* O_NONBLOCK so that a FIFO named in a hostile kubeconfig cannot block us;
     * only regular files are read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EINVAL;
    else if ((uint64_t)st.st_size > max)
        rc = -EFBIG;
    else
        rc = read_fd(fd, max, out, len);
    close(fd);
    return rc;
}

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

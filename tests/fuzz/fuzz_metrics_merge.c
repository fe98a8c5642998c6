/* libFuzzer target for metrics_merge: the input is split at NUL bytes into up to
 * eight expositions. Merging must never crash, and merging its own output again
 * must give the same text (the output is one valid exposition). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common/log.h"
#include "lib/common/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAXIN = 8 };
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *texts[MAXIN];
    size_t n = 0;
    for (char *p = buf; n < MAXIN && p <= buf + size; p += strlen(p) + 1)
        texts[n++] = p;
    log_set_level(LOG_LVL_ERROR); /* left-out inputs are expected here */
    char *once = NULL, *twice = NULL;
    if (metrics_merge(texts, n, &once) >= 0) {
        const char *const again[1] = {once};
        if (metrics_merge(again, 1, &twice) != 0 || strcmp(once, twice) != 0)
            abort();
    }
    free(once);
    free(twice);
    free(buf);
    return 0;
}

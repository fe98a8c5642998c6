/* Views older than this process's own writes: see behind.h. */
#include "roles/reconciler/behind.h"

#include <stdlib.h>
#include <string.h>

void behind_note(struct behind **bp, const char *rv)
{
    if (rv == NULL || rv[0] == '\0' || strlen(rv) >= BEHIND_RV_BUF)
        return;
    if (*bp == NULL && (*bp = calloc(1, sizeof(**bp))) == NULL)
        return;
    struct behind *b = *bp;
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->rv[i], rv) == 0)
            return;
    if (b->n == BEHIND_MAX) {
        memmove(b->rv[0], b->rv[1], sizeof(b->rv[0]) * (BEHIND_MAX - 1));
        b->n--;
    }
    memcpy(b->rv[b->n++], rv, strlen(rv) + 1);
}

enum behind_verdict behind_check(struct behind **bp, const char *rv, int64_t now_ms)
{
    struct behind *b = *bp;
    if (b == NULL)
        return BEHIND_FRESH;
    bool seen = false;
    for (int i = 0; rv != NULL && i < b->n; i++)
        seen = seen || strcmp(b->rv[i], rv) == 0;
    if (!seen) {
        behind_free(bp);
        return BEHIND_FRESH;
    }
    if (b->since_ms == 0)
        b->since_ms = now_ms;
    if (now_ms - b->since_ms < BEHIND_GIVE_UP_MS)
        return BEHIND_WAIT;
    behind_free(bp);
    return BEHIND_GIVE_UP;
}

void behind_free(struct behind **bp)
{
    free(*bp);
    *bp = NULL;
}

/* Per-topic (publisher id, sequence) table: a small array searched linearly, since
 * a process sees a handful of topics (its shard, ttl, a few more). */
#include "lib/ipc/seqtrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipc/msg.h"

struct seq_entry {
    char se_topic[IPC_TOPIC_MAX + 1];
    uint32_t se_pubid;
    uint64_t se_seq;
};

struct ipc_seqtrack {
    struct seq_entry *st_v;
    unsigned st_n, st_cap;
};

const char *ipc_seq_str(enum ipc_seq_status s)
{
    switch (s) {
    case IPC_SEQ_OK:
        return "OK";
    case IPC_SEQ_FIRST:
        return "FIRST";
    case IPC_SEQ_GAP:
        return "GAP";
    case IPC_SEQ_NEW_PUBLISHER:
        return "NEW_PUBLISHER";
    }
    return "UNKNOWN";
}

struct ipc_seqtrack *ipc_seqtrack_new(void)
{
    return calloc(1, sizeof(struct ipc_seqtrack));
}

void ipc_seqtrack_free(struct ipc_seqtrack *t)
{
    if (t == NULL)
        return;
    free(t->st_v);
    free(t);
}

unsigned ipc_seqtrack_count(const struct ipc_seqtrack *t)
{
    return t == NULL ? 0 : t->st_n;
}

static struct seq_entry *find(struct ipc_seqtrack *t, const char *topic)
{
    for (unsigned i = 0; i < t->st_n; i++)
        if (strcmp(t->st_v[i].se_topic, topic) == 0)
            return &t->st_v[i];
    return NULL;
}

/* Appends a zeroed entry for topic (already checked). NULL when out of memory. */
static struct seq_entry *add(struct ipc_seqtrack *t, const char *topic)
{
    if (t->st_n == t->st_cap) {
        unsigned cap = t->st_cap == 0 ? 8 : t->st_cap * 2;
        struct seq_entry *v = realloc(t->st_v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        t->st_v = v;
        t->st_cap = cap;
    }
    struct seq_entry *e = &t->st_v[t->st_n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->se_topic, topic, strlen(topic) + 1);
    return e;
}

static int topic_ok(const char *topic)
{
    return topic != NULL && ipc_topic_check(topic, strnlen(topic, IPC_TOPIC_MAX + 1)) == 0;
}

int ipc_seqtrack_update(struct ipc_seqtrack *t, const char *topic, uint32_t pubid, uint64_t seq,
                        uint64_t *missed)
{
    if (t == NULL || !topic_ok(topic) || missed == NULL)
        return -EINVAL;
    struct seq_entry *e = find(t, topic);
    int st;
    uint64_t lost = 0;
    if (e == NULL) {
        if ((e = add(t, topic)) == NULL)
            return -ENOMEM;
        st = IPC_SEQ_FIRST;
    } else if (e->se_pubid != pubid || seq <= e->se_seq) {
        /* NNG never duplicates or reorders on one pipe: a sequence going back under
         * the same id can only be a restarted publisher that drew the same id. */
        st = IPC_SEQ_NEW_PUBLISHER;
    } else if (seq != e->se_seq + 1) {
        st = IPC_SEQ_GAP;
        lost = seq - e->se_seq - 1;
    } else {
        st = IPC_SEQ_OK;
    }
    e->se_pubid = pubid;
    e->se_seq = seq;
    *missed = lost;
    return st;
}

int ipc_seqtrack_next(struct ipc_seqtrack *t, const char *topic, uint64_t *seq)
{
    if (t == NULL || !topic_ok(topic) || seq == NULL)
        return -EINVAL;
    struct seq_entry *e = find(t, topic);
    if (e == NULL && (e = add(t, topic)) == NULL)
        return -ENOMEM;
    *seq = ++e->se_seq;
    return 0;
}

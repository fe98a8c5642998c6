/* Per-topic sequence numbers: the publisher's counters and the subscriber's gap
 * detector. Pure data structure, no NNG; not thread-safe (one owner). */
#ifndef OMJOB_LIB_IPC_SEQTRACK_H
#define OMJOB_LIB_IPC_SEQTRACK_H

#include <stdint.h>

/* What a received message means for the caller's view of its topic. */
enum ipc_seq_status {
    IPC_SEQ_OK,            /* the next message, nothing lost */
    IPC_SEQ_FIRST,         /* first message seen on this topic: resync */
    IPC_SEQ_GAP,           /* messages were lost (count in *missed): resync */
    IPC_SEQ_NEW_PUBLISHER, /* publisher restarted (other id, or seq went back): resync */
};

/* "OK", "FIRST", "GAP", "NEW_PUBLISHER"; "UNKNOWN" otherwise. */
const char *ipc_seq_str(enum ipc_seq_status s);

struct ipc_seqtrack;

/* Returns NULL when out of memory. Caller frees with ipc_seqtrack_free. */
struct ipc_seqtrack *ipc_seqtrack_new(void);
void ipc_seqtrack_free(struct ipc_seqtrack *t);

/* Subscriber side: records (pubid, seq) as the last message seen on topic and
 * returns its enum ipc_seq_status; *missed gets the number of lost messages for
 * IPC_SEQ_GAP, else 0. -EINVAL on a bad topic, -ENOMEM. */
int ipc_seqtrack_update(struct ipc_seqtrack *t, const char *topic, uint32_t pubid, uint64_t seq,
                        uint64_t *missed);

/* Publisher side: the next sequence number for topic (1, 2, ...). -EINVAL, -ENOMEM. */
int ipc_seqtrack_next(struct ipc_seqtrack *t, const char *topic, uint64_t *seq);

/* Number of topics tracked. */
unsigned ipc_seqtrack_count(const struct ipc_seqtrack *t);

#endif

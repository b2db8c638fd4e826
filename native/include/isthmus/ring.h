/* Isthmus rings, protocol v1 (docs/ring.md is the contract; section numbers below refer
 * to it). A ring lives in one region:
 *
 *  offset  size
 *       0   128  region header (immutable after init, except state)        §1.1
 *     128    64  producer line: tail u32 @128, seq u32 @132                 §1.2
 *     192    64  consumer line: head u32 @192
 *     256    64  notify line: data_futex @256, data_sleepers @260,
 *                             space_futex @264, space_sleepers @268
 *     320    64  broadcast line: bc_intent @320, bc_last @324, bc_min @328
 *     384  64×S  participant slots                                          §1.3
 *       D     C  data area (D = data_offset, a multiple of 4096)
 *
 * All functions return 0 or a negative errno unless stated. The ring handle is
 * process-local (it holds the cached cursors); one handle per participant, not shared
 * between threads. */
#ifndef ISTHMUS_RING_H
#define ISTHMUS_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { ISTHMUS_RING_SPSC = 1, ISTHMUS_RING_MPSC = 2, ISTHMUS_RING_BROADCAST = 3 };
enum { ISTHMUS_POLICY_BLOCK = 0, ISTHMUS_POLICY_OVERWRITE = 1 };
enum {
  ISTHMUS_ROLE_PRODUCER = 1,
  ISTHMUS_ROLE_CONSUMER = 2,
  ISTHMUS_ROLE_PUBLISHER = 3,
  ISTHMUS_ROLE_SUBSCRIBER = 4
};
#define ISTHMUS_RING_HEADER_SIZE 384u
#define ISTHMUS_SLOT_SIZE 64u
#define ISTHMUS_RECORD_HEADER 32u

typedef struct isthmus_ring_params {
  uint32_t kind;        /* ISTHMUS_RING_* */
  uint32_t policy;      /* broadcast only */
  uint32_t slots;       /* 1..1024 */
  uint32_t capacity;    /* power of two, 4096..2^30 */
  uint32_t max_message; /* <= capacity/2 - 32 */
  uint64_t type_id;     /* 0: any */
  uint64_t unblock_ns;  /* 0: default 1 s */
  /* creator identity; pid 0 means "this process" (getpid/getuid/start time, realtime) */
  uint32_t creator_pid, creator_uid;
  uint64_t creator_start, created_ns;
} isthmus_ring_params;

/* Bytes a region needs for these params: round_up(384 + 64*slots, 4096) + capacity. */
uint64_t isthmus_ring_region_size(uint32_t slots, uint32_t capacity);

/* Writes the header into a zeroed region of `size` bytes (size must equal
 * isthmus_ring_region_size) and stores state = 1 (release). The creator takes no slot. */
int isthmus_ring_format(void *base, size_t size, const isthmus_ring_params *p);

typedef struct isthmus_ring {
  unsigned char *base; /* region start */
  unsigned char *data; /* base + data_offset */
  uint32_t cap, mask, max_message, kind, policy, slots;
  uint64_t unblock_ns;
  uint32_t slot;       /* 1-based slot held, 0 none */
  uint32_t role;
  /* producer-local */
  uint32_t cached_head, tail_local, loan_pos, loan_need, loan_total, loaned;
  /* consumer-local */
  uint32_t head_local, cached_tail, read_pos;
  uint32_t cursor_seq; /* broadcast subscriber: sequence number expected next */
  uint32_t lost;       /* broadcast overwrite subscriber: messages lost so far */
  uint32_t gap_pending; /* lost messages not yet reported with a delivered record */
  unsigned char *copy; /* overwrite subscriber: private copy buffer (max_message + 32),
                          allocated by join, freed by leave */
} isthmus_ring;

/* Maps nothing: validates the header at base (§1.1): state ready, magic, version,
 * region_size == size, layout_version, kind, policy, slots, capacity, max_message,
 * data_offset and, when expect_type_id != 0, type_id. On error writes a message naming
 * the field into err (may be NULL) and returns -EINVAL (-EAGAIN when state != 1). */
int isthmus_ring_open(void *base, size_t size, uint64_t expect_type_id, isthmus_ring *out,
                      char *err, size_t errlen);

/* Takes a slot (§5) with the given role. slot == 0: the first free slot; otherwise that
 * exact slot. pid == 0: this process's identity. A second consumer/publisher whose
 * holder is alive is refused with -EBUSY; a dead one is taken over. */
int isthmus_ring_join(isthmus_ring *r, uint32_t role, uint32_t slot, uint32_t pid,
                      uint32_t uid, uint64_t start_time);
/* Frees the own slot (zeroes its fields, store_release(state, 0)). */
void isthmus_ring_leave(isthmus_ring *r);

/* Producer/publisher: a writable payload area of n bytes in the ring, or NULL with
 * *rc = -ENOSPC (full), -EMSGSIZE (n > max_message), -EBUSY (a loan is open),
 * -EPERM (wrong role). The area is valid until commit/abort. */
void *isthmus_ring_loan(isthmus_ring *r, uint32_t n, int *rc);
/* Publishes len <= n bytes of the open loan. MPSC: -ECANCELED when the claim was
 * recovered as abandoned (§6); nothing was published. */
int isthmus_ring_commit(isthmus_ring *r, uint32_t len, uint64_t correlation, uint32_t flags);
/* Drops the open loan (SPSC/broadcast: nothing published; MPSC: the claim turns into
 * padding, since claimed space cannot be given back). */
void isthmus_ring_abort(isthmus_ring *r);

typedef struct isthmus_record {
  const unsigned char *payload; /* in place (overwrite subscribers: the copy in `copy`) */
  uint32_t len, seq, sender, flags;
  uint64_t correlation;
  uint32_t gap; /* broadcast overwrite: messages lost before this one */
} isthmus_record;

/* Consumer/subscriber: the next record (not released), 0; -EAGAIN empty; -EIO corrupt. */
int isthmus_ring_receive(isthmus_ring *r, isthmus_record *rec);
/* Releases every record received so far. */
void isthmus_ring_release(isthmus_ring *r);

/* §3 waits: spin, yield, then park on the shared futex. 0 when data/space may be there,
 * -ETIMEDOUT. need: the payload size the producer wants room for. */
int isthmus_ring_wait_data(isthmus_ring *r, int64_t timeout_ns);
int isthmus_ring_wait_space(isthmus_ring *r, uint32_t need, int64_t timeout_ns);

/* §6 MPSC consumer: when head is stuck on a claim of a producer that is dead
 * (is_dead(slot) != 0; NULL: /proc liveness), turns that claim into padding. 1
 * recovered, 0 nothing to do. The caller decides that unblock_ns has elapsed. */
int isthmus_ring_recover(isthmus_ring *r, int (*is_dead)(void *ctx, uint32_t slot), void *ctx);

#ifdef __cplusplus
}
#endif
#endif

/* Rings, protocol v1 (include/isthmus/ring.h, docs/ring.md). */
#define _GNU_SOURCE
#include "isthmus/ring.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"

#include "isthmus/notify.h"
#include "isthmus/proc.h"

/* header offsets (§1.1, §1.2) */
#define H_STATE 12
#define H_REGION_SIZE 16
#define H_TYPE_ID 24
#define H_LAYOUT 32
#define H_KIND 36
#define H_POLICY 40
#define H_SLOTS 44
#define H_CPID 48
#define H_CUID 52
#define H_CSTART 56
#define H_CAP 64
#define H_MAXMSG 68
#define H_DATA_OFF 72
#define H_UNBLOCK 80
#define H_CREATED 88
#define L_TAIL 128
#define L_SEQ 132
#define L_HEAD 192
#define L_DATA_FUTEX 256
#define L_DATA_SLEEPERS 260
#define L_SPACE_FUTEX 264
#define L_SPACE_SLEEPERS 268
#define L_BC_INTENT 320
#define L_BC_LAST 324
#define L_BC_MIN 328
/* slot fields (§1.3) */
#define S_STATE 0
#define S_ROLE 4
#define S_PID 8
#define S_UID 12
#define S_START 16
#define S_IPOS 24
#define S_ILEN 28
#define S_CURSOR 32
#define S_CSEQ 36
#define S_LOST 40
/* record states (§2) */
#define REC_FREE 0u
#define REC_CLAIMED 1u
#define REC_COMMITTED 2u
#define REC_PADDING 3u


static inline uint32_t align8(uint32_t n) { return (n + 7u) & ~7u; }
static inline unsigned char *slot_at(const isthmus_ring *r, uint32_t s) {
  return r->base + ISTHMUS_RING_HEADER_SIZE + (size_t)(s - 1) * ISTHMUS_SLOT_SIZE;
}
static inline unsigned char *rec_at(const isthmus_ring *r, uint32_t pos) { return r->data + (pos & r->mask); }

uint64_t isthmus_ring_region_size(uint32_t slots, uint32_t capacity) {
  uint64_t d = ((uint64_t)ISTHMUS_RING_HEADER_SIZE + 64ull * slots + 4095ull) & ~4095ull;
  return d + capacity;
}

static int valid_geometry(uint32_t kind, uint32_t policy, uint32_t slots, uint32_t cap, uint32_t maxm) {
  if (kind < 1 || kind > 3) return 0;
  if (policy > 1 || (kind != ISTHMUS_RING_BROADCAST && policy != 0)) return 0;
  if (slots < 1 || slots > 1024) return 0;
  if (cap < 4096 || cap > (1u << 30) || (cap & (cap - 1))) return 0;
  if (maxm == 0 || maxm > cap / 2 - 32) return 0;
  return 1;
}

int isthmus_ring_format(void *base, size_t size, const isthmus_ring_params *p) {
  if (!base || !p) return -EINVAL;
  if (!valid_geometry(p->kind, p->policy, p->slots, p->capacity, p->max_message)) return -EINVAL;
  uint64_t need = isthmus_ring_region_size(p->slots, p->capacity);
  if ((uint64_t)size != need) return -EINVAL;
  unsigned char *b = base;
  memset(b, 0, (size_t)(need - p->capacity)); /* header, lines, slots; data read as zero */
  memcpy(b, "ISTHRING", 8);
  put32(b + 8, 1);
  put64(b + H_REGION_SIZE, need);
  put64(b + H_TYPE_ID, p->type_id);
  put32(b + H_LAYOUT, 1);
  put32(b + H_KIND, p->kind);
  put32(b + H_POLICY, p->policy);
  put32(b + H_SLOTS, p->slots);
  uint32_t pid = p->creator_pid, uid = p->creator_uid;
  uint64_t start = p->creator_start, created = p->created_ns;
  if (pid == 0) {
    pid = (uint32_t)getpid();
    uid = (uint32_t)getuid();
    isthmus_proc_start_time((int)pid, &start);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    created = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  }
  put32(b + H_CPID, pid);
  put32(b + H_CUID, uid);
  put64(b + H_CSTART, start);
  put32(b + H_CAP, p->capacity);
  put32(b + H_MAXMSG, p->max_message);
  put64(b + H_DATA_OFF, need - p->capacity);
  put64(b + H_UNBLOCK, p->unblock_ns ? p->unblock_ns : 1000000000ull);
  put64(b + H_CREATED, created);
  /* release: pairs with the opener's load_acquire(state); every header byte above
   * happens-before an opener's checks. */
  atomic_store_explicit(A(b, H_STATE), 1, memory_order_release);
  return 0;
}

int isthmus_ring_open(void *base, size_t size, uint64_t expect_type_id, isthmus_ring *out,
                      char *err, size_t errlen) {
  if (!base || !out) return fail(err, errlen, -EINVAL, "ring: null argument");
  memset(out, 0, sizeof *out);
  unsigned char *b = base;
  if (size < ISTHMUS_RING_HEADER_SIZE) return fail(err, errlen, -EINVAL, "region_size: mapping of %zu bytes is smaller than the header", size);
  /* acquire: pairs with the creator's store_release(state, 1) */
  uint32_t st = atomic_load_explicit(A(b, H_STATE), memory_order_acquire);
  if (st != 1) return fail(err, errlen, st == 0 ? -EAGAIN : -EINVAL, "state: %u (expected 1 ready)", st);
  if (memcmp(b, "ISTHRING", 8) != 0) return fail(err, errlen, -EINVAL, "magic: not \"ISTHRING\"");
  if (get32(b + 8) != 1) return fail(err, errlen, -EINVAL, "version: %u (expected 1)", get32(b + 8));
  uint64_t rs = get64(b + H_REGION_SIZE);
  if (rs != (uint64_t)size) return fail(err, errlen, -EINVAL, "region_size: %llu (mapping is %zu bytes)", (unsigned long long)rs, size);
  if (get32(b + H_LAYOUT) != 1) return fail(err, errlen, -EINVAL, "layout_version: %u (expected 1)", get32(b + H_LAYOUT));
  uint32_t kind = get32(b + H_KIND), policy = get32(b + H_POLICY), slots = get32(b + H_SLOTS);
  uint32_t cap = get32(b + H_CAP), maxm = get32(b + H_MAXMSG);
  uint64_t doff = get64(b + H_DATA_OFF);
  if (kind < 1 || kind > 3) return fail(err, errlen, -EINVAL, "kind: %u (expected 1, 2 or 3)", kind);
  if (policy > 1 || (kind != ISTHMUS_RING_BROADCAST && policy != 0)) return fail(err, errlen, -EINVAL, "policy: %u", policy);
  if (slots < 1 || slots > 1024) return fail(err, errlen, -EINVAL, "slots: %u (expected 1..1024)", slots);
  if (cap < 4096 || cap > (1u << 30) || (cap & (cap - 1))) return fail(err, errlen, -EINVAL, "capacity: %u (a power of two in 4096..2^30)", cap);
  if (maxm == 0 || maxm > cap / 2 - 32) return fail(err, errlen, -EINVAL, "max_message: %u (at most capacity/2 - 32 = %u)", maxm, cap / 2 - 32);
  if ((doff & 4095) || doff < ISTHMUS_RING_HEADER_SIZE + 64ull * slots || doff + cap > rs)
    return fail(err, errlen, -EINVAL, "data_offset: %llu", (unsigned long long)doff);
  uint64_t tid = get64(b + H_TYPE_ID);
  if (expect_type_id && tid != expect_type_id)
    return fail(err, errlen, -EINVAL, "type_id: 0x%016llx (expected 0x%016llx)", (unsigned long long)tid, (unsigned long long)expect_type_id);
  out->base = b;
  out->data = b + doff;
  out->cap = cap;
  out->mask = cap - 1;
  out->max_message = maxm;
  out->kind = kind;
  out->policy = policy;
  out->slots = slots;
  out->unblock_ns = get64(b + H_UNBLOCK);
  return 0;
}

static void slot_free(unsigned char *s) {
  memset(s + 4, 0, ISTHMUS_SLOT_SIZE - 4);
  /* release: the zeroed fields happen-before the next taker's cas(0 -> 1) */
  atomic_store_explicit(A(s, S_STATE), 0, memory_order_release);
}

static void wake(isthmus_ring *r, size_t futex_off, size_t sleepers_off);

static int slot_alive(unsigned char *s) {
  return isthmus_proc_alive((int)get32(s + S_PID), get64(s + S_START));
}

int isthmus_ring_join(isthmus_ring *r, uint32_t role, uint32_t slot, uint32_t pid, uint32_t uid, uint64_t start_time) {
  if (!r || !r->base || r->slot) return -EINVAL;
  int ok_role = (r->kind == ISTHMUS_RING_BROADCAST) ? (role == ISTHMUS_ROLE_PUBLISHER || role == ISTHMUS_ROLE_SUBSCRIBER)
                                                    : (role == ISTHMUS_ROLE_PRODUCER || role == ISTHMUS_ROLE_CONSUMER);
  if (!ok_role || slot > r->slots) return -EINVAL;
  if (pid == 0) {
    pid = (uint32_t)getpid();
    uid = (uint32_t)getuid();
    if (isthmus_proc_start_time((int)pid, &start_time) != 0) return -ESRCH;
  }
  /* single roles: consumer (SPSC/MPSC), producer (SPSC), publisher */
  int single = role == ISTHMUS_ROLE_CONSUMER || role == ISTHMUS_ROLE_PUBLISHER ||
               (role == ISTHMUS_ROLE_PRODUCER && r->kind == ISTHMUS_RING_SPSC);
  if (single) {
    for (uint32_t i = 1; i <= r->slots; i++) {
      unsigned char *s = slot_at(r, i);
      /* acquire: pairs with the holder's store_release(state, 2); role/pid are filled */
      if (atomic_load_explicit(A(s, S_STATE), memory_order_acquire) == 2 && get32(s + S_ROLE) == role) {
        if (slot_alive(s)) return -EBUSY;
        slot_free(s); /* take over a dead holder's role */
      }
    }
  }
  uint32_t from = slot ? slot : 1, to = slot ? slot : r->slots;
  for (uint32_t i = from; i <= to; i++) {
    unsigned char *s = slot_at(r, i);
    uint32_t z = 0;
    if (atomic_compare_exchange_strong(A(s, S_STATE), &z, 1)) {
      put32(s + S_ROLE, role);
      put32(s + S_PID, pid);
      put32(s + S_UID, uid);
      put64(s + S_START, start_time);
      put32(s + S_IPOS, 0);
      atomic_store_explicit(A(s, S_ILEN), 0, memory_order_relaxed);
      if (role == ISTHMUS_ROLE_SUBSCRIBER) {
        uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
        atomic_store_explicit(A(s, S_CURSOR), t, memory_order_relaxed);
        put32(s + S_CSEQ, get32(r->base + L_SEQ));
        r->head_local = t;
        r->read_pos = t;
        r->cached_tail = t;
        r->cursor_seq = get32(r->base + L_SEQ);
        r->lost = 0;
        r->gap_pending = 0;
        if (r->policy == ISTHMUS_POLICY_OVERWRITE) {
          r->copy = malloc((size_t)r->max_message + ISTHMUS_RECORD_HEADER + 8);
          if (!r->copy) { slot_free(s); return -ENOMEM; }
        }
      }
      /* release: every field above happens-before a reader's load_acquire(state) == 2.
       * seq_cst, for the subscriber's re-read of tail below (store → load order). */
      atomic_store_explicit(A(s, S_STATE), 2, memory_order_seq_cst);
      if (role == ISTHMUS_ROLE_SUBSCRIBER) {
        /* §4.3 join: a block publisher that scanned the slots before the store above did
         * not count this cursor and may have lapped the tail read before it. Every scan
         * after it does count it, so the tail read now is a position whose bytes stay
         * intact until this subscriber releases them. */
        uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_seq_cst);
        uint32_t q = get32(r->base + L_SEQ);
        put32(s + S_CSEQ, q);
        atomic_store_explicit(A(s, S_CURSOR), t, memory_order_release);
        r->head_local = r->read_pos = r->cached_tail = t;
        r->cursor_seq = q;
        /* A publisher that counted the first (older) cursor may be parked: this one frees room. */
        wake(r, L_SPACE_FUTEX, L_SPACE_SLEEPERS);
      }
      r->slot = i;
      r->role = role;
      r->loaned = 0;
      if (role == ISTHMUS_ROLE_PRODUCER || role == ISTHMUS_ROLE_PUBLISHER) {
        r->tail_local = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
        r->cached_head = atomic_load_explicit(A(r->base, L_HEAD), memory_order_acquire);
      }
      if (role == ISTHMUS_ROLE_CONSUMER) {
        r->head_local = r->read_pos = atomic_load_explicit(A(r->base, L_HEAD), memory_order_acquire);
        r->cached_tail = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
      }
      return 0;
    }
  }
  return slot ? -EBUSY : -ENOSPC;
}

void isthmus_ring_leave(isthmus_ring *r) {
  if (!r || !r->slot) return;
  slot_free(slot_at(r, r->slot));
  free(r->copy);
  r->copy = NULL;
  r->slot = 0;
  r->role = 0;
}

/* §3 waker side: after a seq_cst publish, one load; a syscall only when someone sleeps. */
static void wake(isthmus_ring *r, size_t futex_off, size_t sleepers_off) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load_explicit(A(r->base, sleepers_off), memory_order_seq_cst) != 0) {
    atomic_fetch_add_explicit(A(r->base, futex_off), 1, memory_order_seq_cst);
    isthmus_futex_wake((const uint32_t *)(r->base + futex_off), INT_MAX);
  }
}

/* Slowest active subscriber cursor (broadcast block policy); tail when none. */
static uint32_t bc_scan_min(isthmus_ring *r, uint32_t tail) {
  uint32_t min = tail, dist = 0;
  for (uint32_t i = 1; i <= r->slots; i++) {
    unsigned char *s = slot_at(r, i);
    if (atomic_load_explicit(A(s, S_STATE), memory_order_acquire) != 2 || get32(s + S_ROLE) != ISTHMUS_ROLE_SUBSCRIBER) continue;
    /* acquire: pairs with the subscriber's store_release(cursor): its reads are done */
    uint32_t c = atomic_load_explicit(A(s, S_CURSOR), memory_order_acquire);
    if (tail - c > dist) { dist = tail - c; min = c; }
  }
  atomic_store_explicit(A(r->base, L_BC_MIN), min, memory_order_relaxed);
  return min;
}

void *isthmus_ring_loan(isthmus_ring *r, uint32_t n, int *rc) {
  int dummy;
  if (!rc) rc = &dummy;
  if (!r || (r->role != ISTHMUS_ROLE_PRODUCER && r->role != ISTHMUS_ROLE_PUBLISHER)) { *rc = -EPERM; return NULL; }
  if (r->loaned) { *rc = -EBUSY; return NULL; }
  if (n > r->max_message) { *rc = -EMSGSIZE; return NULL; }
  uint32_t need = align8(ISTHMUS_RECORD_HEADER + n);
  if (r->kind == ISTHMUS_RING_MPSC) {
    unsigned char *s = slot_at(r, r->slot);
    for (;;) {
      /* acquire: pairs with other producers' successful cas on tail */
      uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
      uint32_t i = t & r->mask;
      uint32_t pad = (i + need > r->cap) ? r->cap - i : 0, total = pad + need;
      if (t + total - r->cached_head > r->cap) {
        /* acquire: pairs with the consumer's store_release(head) after zeroing */
        r->cached_head = atomic_load_explicit(A(r->base, L_HEAD), memory_order_acquire);
        if (t + total - r->cached_head > r->cap) { *rc = -ENOSPC; return NULL; }
      }
      put32(s + S_IPOS, t);
      atomic_store_explicit(A(s, S_ILEN), total, memory_order_relaxed);
      /* seq_cst cas: orders the intent stores before the claim is visible */
      if (!atomic_compare_exchange_strong(A(r->base, L_TAIL), &t, t + total)) continue;
      uint32_t rp = t + pad;
      if (pad) {
        uint32_t z = 0;
        if (!atomic_compare_exchange_strong(A(rec_at(r, t), 0), &z, pad | REC_PADDING)) goto aborted;
        put32(rec_at(r, t) + 4, t);
      }
      uint32_t z = 0;
      if (!atomic_compare_exchange_strong(A(rec_at(r, rp), 0), &z, need | REC_CLAIMED)) goto aborted;
      r->loan_pos = rp;
      r->loan_need = need;
      r->loan_total = total;
      r->loaned = 1;
      *rc = 0;
      return rec_at(r, rp) + ISTHMUS_RECORD_HEADER;
    aborted:
      atomic_store_explicit(A(s, S_ILEN), 0, memory_order_relaxed);
      *rc = -ECANCELED;
      return NULL;
    }
  }
  /* SPSC / broadcast: single writer of tail */
  uint32_t t = r->tail_local;
  uint32_t i = t & r->mask;
  uint32_t pad = (i + need > r->cap) ? r->cap - i : 0;
  if (r->kind == ISTHMUS_RING_SPSC) {
    if (t + pad + need - r->cached_head > r->cap) {
      /* acquire: pairs with the consumer's store_release(head): its reads are done */
      r->cached_head = atomic_load_explicit(A(r->base, L_HEAD), memory_order_acquire);
      if (t + pad + need - r->cached_head > r->cap) { *rc = -ENOSPC; return NULL; }
    }
  } else if (r->policy == ISTHMUS_POLICY_BLOCK) {
    uint32_t m = atomic_load_explicit(A(r->base, L_BC_MIN), memory_order_relaxed);
    if (t - m > r->cap || t + pad + need - m > r->cap) {
      m = bc_scan_min(r, t);
      if (t + pad + need - m > r->cap) { *rc = -ENOSPC; return NULL; }
    }
  } else {
    /* overwrite: announce the end of what we are about to overwrite (seq_cst) */
    atomic_store_explicit(A(r->base, L_BC_INTENT), t + pad + need, memory_order_seq_cst);
  }
  if (pad) {
    put32(rec_at(r, t) + 4, t);
    atomic_store_explicit(A(rec_at(r, t), 0), pad | REC_PADDING, memory_order_relaxed);
    t += pad;
  }
  r->tail_local = t;
  r->loan_pos = t;
  r->loan_need = need;
  r->loaned = 1;
  *rc = 0;
  return rec_at(r, t) + ISTHMUS_RECORD_HEADER;
}

int isthmus_ring_commit(isthmus_ring *r, uint32_t len, uint64_t correlation, uint32_t flags) {
  if (!r || !r->loaned) return -EINVAL;
  uint32_t need = align8(ISTHMUS_RECORD_HEADER + len);
  if (need > r->loan_need) return -EINVAL;
  unsigned char *h = rec_at(r, r->loan_pos);
  r->loaned = 0;
  put32(h + 4, r->loan_pos);
  put32(h + 12, r->slot);
  put64(h + 16, correlation);
  put32(h + 24, len);
  put32(h + 28, flags);
  if (r->kind == ISTHMUS_RING_MPSC) {
    put32(h + 8, 0);
    /* padding for the unused tail of the claim (shrink): the claim's length is fixed */
    uint32_t ln = r->loan_need;
    put32(h + 24, len);
    uint32_t exp = ln | REC_CLAIMED;
    /* cas (release): pairs with the consumer's load_acquire(len_state) */
    int ok = atomic_compare_exchange_strong(A(h, 0), &exp, ln | REC_COMMITTED);
    atomic_store_explicit(A(slot_at(r, r->slot), S_ILEN), 0, memory_order_relaxed);
    if (!ok) return -ECANCELED;
    wake(r, L_DATA_FUTEX, L_DATA_SLEEPERS);
    return 0;
  }
  uint32_t seq = get32(r->base + L_SEQ);
  put32(h + 8, seq);
  atomic_store_explicit(A(h, 0), need | REC_COMMITTED, memory_order_relaxed);
  put32(r->base + L_SEQ, seq + 1);
  uint32_t end = r->loan_pos + need;
  if (r->kind == ISTHMUS_RING_BROADCAST && r->policy == ISTHMUS_POLICY_OVERWRITE)
    atomic_store_explicit(A(r->base, L_BC_LAST), r->loan_pos, memory_order_release);
  /* seq_cst (⊇ release): pairs with the consumer's load_acquire(tail); the record
   * happens-before its read, and the Dekker pairing with data_sleepers (§3). */
  atomic_store_explicit(A(r->base, L_TAIL), end, memory_order_seq_cst);
  r->tail_local = end;
  wake(r, L_DATA_FUTEX, L_DATA_SLEEPERS);
  return 0;
}

void isthmus_ring_abort(isthmus_ring *r) {
  if (!r || !r->loaned) return;
  r->loaned = 0;
  if (r->kind == ISTHMUS_RING_MPSC) {
    unsigned char *h = rec_at(r, r->loan_pos);
    uint32_t exp = r->loan_need | REC_CLAIMED;
    put32(h + 4, r->loan_pos);
    atomic_compare_exchange_strong(A(h, 0), &exp, r->loan_need | REC_PADDING);
    atomic_store_explicit(A(slot_at(r, r->slot), S_ILEN), 0, memory_order_relaxed);
    wake(r, L_DATA_FUTEX, L_DATA_SLEEPERS);
  }
  /* SPSC/broadcast: a padding record written by loan stays unpublished until the next
   * commit publishes a tail past it; tail_local already includes it, which is fine. */
}

/* §4.3 overwrite subscriber: copy, then re-check the intact bound (no torn delivery). */
static int receive_overwrite(isthmus_ring *r, isthmus_record *rec) {
  for (;;) {
    uint32_t p = r->read_pos;
    /* acquire: pairs with the publisher's store_release(tail) */
    uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
    /* empty when p has caught up with tail; after a jump to bc_last, p may be AHEAD of a
     * tail the publisher has not stored yet (it stores bc_last, then tail): then the bytes
     * at p are not published either and must not be read (§4.3 step 1) */
    if ((int32_t)(t - p) <= 0) return -EAGAIN;
    uint32_t intent = atomic_load_explicit(A(r->base, L_BC_INTENT), memory_order_seq_cst);
    if ((int32_t)(intent - r->cap - p) > 0) {
      /* lapped: jump to the newest committed record (acquire pairs with store_release(bc_last)) */
      uint32_t last = atomic_load_explicit(A(r->base, L_BC_LAST), memory_order_acquire);
      uint32_t seq = get32(rec_at(r, last) + 8);
      atomic_thread_fence(memory_order_acquire);
      intent = atomic_load_explicit(A(r->base, L_BC_INTENT), memory_order_seq_cst);
      if ((int32_t)(intent - r->cap - last) > 0) continue; /* lapped again while reading */
      r->gap_pending += seq - r->cursor_seq; /* kept across an empty return */
      r->lost += seq - r->cursor_seq;
      r->cursor_seq = seq;
      put32(slot_at(r, r->slot) + S_LOST, r->lost);
      r->read_pos = last;
      continue;
    }
    unsigned char *h = rec_at(r, p);
    uint32_t w = atomic_load_explicit(A(h, 0), memory_order_relaxed);
    uint32_t len = w & ~7u, st = w & 7u;
    uint32_t n = len;
    if (n > r->max_message + ISTHMUS_RECORD_HEADER + 8) n = r->max_message + ISTHMUS_RECORD_HEADER + 8;
    if (st == REC_PADDING) n = 8;
    if (n < 8) n = 8;
    /* a torn length may be anything: never copy past the end of the data area */
    if (n > r->cap - (p & r->mask)) n = r->cap - (p & r->mask);
    memcpy(r->copy, h, n);
    atomic_thread_fence(memory_order_acquire); /* load-load: the copy before the re-check */
    intent = atomic_load_explicit(A(r->base, L_BC_INTENT), memory_order_seq_cst);
    if ((int32_t)(intent - r->cap - p) > 0) continue; /* torn: go to the lap path */
    if (get32(r->copy + 4) != p || len < 8 || len > t - p) return -EIO;
    if (st == REC_PADDING) { r->read_pos = p + len; continue; }
    if (st != REC_COMMITTED) return -EIO;
    uint32_t plen = get32(r->copy + 24);
    if (len < ISTHMUS_RECORD_HEADER + plen || plen > r->max_message) return -EIO;
    rec->payload = r->copy + ISTHMUS_RECORD_HEADER;
    rec->len = plen;
    rec->seq = get32(r->copy + 8);
    rec->sender = get32(r->copy + 12);
    rec->correlation = get64(r->copy + 16);
    rec->flags = get32(r->copy + 28);
    rec->gap = r->gap_pending;
    r->gap_pending = 0;
    r->cursor_seq = rec->seq + 1;
    r->read_pos = p + len;
    return 0;
  }
}

int isthmus_ring_receive(isthmus_ring *r, isthmus_record *rec) {
  if (!r || !rec || (r->role != ISTHMUS_ROLE_CONSUMER && r->role != ISTHMUS_ROLE_SUBSCRIBER)) return -EPERM;
  if (r->role == ISTHMUS_ROLE_SUBSCRIBER && r->policy == ISTHMUS_POLICY_OVERWRITE) return receive_overwrite(r, rec);
  for (;;) {
    uint32_t p = r->read_pos;
    if (p == r->cached_tail) {
      /* acquire: pairs with the producer's release/seq_cst store of tail */
      r->cached_tail = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
      if (p == r->cached_tail) return -EAGAIN;
    }
    unsigned char *h = rec_at(r, p);
    /* acquire: MPSC pairs with the producer's commit cas */
    uint32_t w = atomic_load_explicit(A(h, 0), memory_order_acquire);
    uint32_t len = w & ~7u, st = w & 7u;
    if (st == REC_PADDING) {
      if (len < 8 || len > r->cached_tail - p) return -EIO;
      r->read_pos = p + len; /* released (MPSC: zeroed) with the next release */
      continue;
    }
    if (st != REC_COMMITTED) {
      if (r->kind == ISTHMUS_RING_MPSC) return -EAGAIN; /* claimed or not yet claimed */
      return -EIO;
    }
    uint32_t plen = get32(h + 24);
    if (get32(h + 4) != p || len < ISTHMUS_RECORD_HEADER + plen || len > r->cached_tail - p) return -EIO;
    rec->payload = h + ISTHMUS_RECORD_HEADER;
    rec->len = plen;
    rec->seq = get32(h + 8);
    rec->sender = get32(h + 12);
    rec->correlation = get64(h + 16);
    rec->flags = get32(h + 28);
    rec->gap = 0;
    r->read_pos = p + len;
    if (r->role == ISTHMUS_ROLE_SUBSCRIBER) r->cursor_seq = rec->seq + 1;
    return 0;
  }
}

void isthmus_ring_release(isthmus_ring *r) {
  if (!r || r->read_pos == r->head_local) return;
  if (r->role == ISTHMUS_ROLE_SUBSCRIBER) {
    r->head_local = r->read_pos;
    put32(slot_at(r, r->slot) + S_CSEQ, r->cursor_seq);
    /* release: pairs with the publisher's load_acquire(cursor) */
    atomic_store_explicit(A(slot_at(r, r->slot), S_CURSOR), r->head_local, memory_order_seq_cst);
    wake(r, L_SPACE_FUTEX, L_SPACE_SLEEPERS);
    return;
  }
  if (r->kind == ISTHMUS_RING_MPSC) {
    /* zero [head, read_pos): free space must read 0 (§4.2) */
    uint32_t p = r->head_local;
    while (p != r->read_pos) {
      uint32_t i = p & r->mask, n = r->read_pos - p;
      if (n > r->cap - i) n = r->cap - i;
      memset(r->data + i, 0, n);
      p += n;
    }
  }
  r->head_local = r->read_pos;
  /* seq_cst (⊇ release): pairs with the producer's load_acquire(head) */
  atomic_store_explicit(A(r->base, L_HEAD), r->head_local, memory_order_seq_cst);
  wake(r, L_SPACE_FUTEX, L_SPACE_SLEEPERS);
}

static int has_data(isthmus_ring *r) {
  uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_seq_cst);
  /* signed: an overwrite subscriber that jumped to bc_last may be ahead of tail (§4.3) */
  if ((int32_t)(t - r->read_pos) <= 0) return 0;
  if (r->kind != ISTHMUS_RING_MPSC) return 1;
  uint32_t w = atomic_load_explicit(A(rec_at(r, r->read_pos), 0), memory_order_seq_cst) & 7u;
  return w == REC_COMMITTED || w == REC_PADDING;
}

static int has_space(isthmus_ring *r, uint32_t n) {
  uint32_t need = align8(ISTHMUS_RECORD_HEADER + n);
  uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_seq_cst);
  uint32_t i = t & r->mask, pad = (i + need > r->cap) ? r->cap - i : 0;
  uint32_t h;
  if (r->kind == ISTHMUS_RING_BROADCAST) {
    if (r->policy == ISTHMUS_POLICY_OVERWRITE) return 1;
    h = bc_scan_min(r, t);
  } else {
    h = atomic_load_explicit(A(r->base, L_HEAD), memory_order_seq_cst);
  }
  return t + pad + need - h <= r->cap;
}

/* §3: spin, yield, park (sleepers++, load futex, re-check, futex_wait, sleepers--). */
static int wait_for(isthmus_ring *r, int (*ready)(isthmus_ring *, uint32_t), uint32_t arg,
                    size_t futex_off, size_t sleepers_off, int64_t timeout_ns) {
  int64_t deadline = mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
  for (int i = 0; i < 256; i++) if (ready(r, arg)) return 0;
  for (int i = 0; i < 16; i++) { if (ready(r, arg)) return 0; sched_yield(); }
  for (;;) {
    atomic_fetch_add_explicit(A(r->base, sleepers_off), 1, memory_order_seq_cst);
    uint32_t f = atomic_load_explicit(A(r->base, futex_off), memory_order_seq_cst);
    int ok = ready(r, arg);
    int64_t left = deadline - mono_ns();
    if (!ok && left > 0) isthmus_futex_wait((const uint32_t *)(r->base + futex_off), f, left);
    atomic_fetch_sub_explicit(A(r->base, sleepers_off), 1, memory_order_seq_cst);
    if (ok || ready(r, arg)) return 0;
    if (deadline - mono_ns() <= 0) return -ETIMEDOUT;
  }
}
static int ready_data(isthmus_ring *r, uint32_t unused) { (void)unused; return has_data(r); }
static int ready_space(isthmus_ring *r, uint32_t n) { return has_space(r, n); }

static int default_dead(void *ctx, uint32_t slot);

/* Broadcast block policy, §6: frees the slots of dead subscribers so that they stop
 * holding the publisher back. Returns how many were freed. */
static int bc_free_dead(isthmus_ring *r) {
  int freed = 0;
  for (uint32_t i = 1; i <= r->slots; i++) {
    unsigned char *s = slot_at(r, i);
    if (atomic_load_explicit(A(s, S_STATE), memory_order_acquire) != 2 || get32(s + S_ROLE) != ISTHMUS_ROLE_SUBSCRIBER) continue;
    if (!slot_alive(s)) { slot_free(s); freed++; }
  }
  if (freed) atomic_store_explicit(A(r->base, L_BC_MIN), atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire), memory_order_relaxed);
  return freed;
}

/* Waits in slices of unblock_ns; after each slice without progress runs the §6 recovery
 * that fits the caller's role (MPSC consumer: abandoned claims of dead producers;
 * broadcast block publisher: dead subscribers). */
int isthmus_ring_wait_data(isthmus_ring *r, int64_t timeout_ns) {
  if (r->kind != ISTHMUS_RING_MPSC) return wait_for(r, ready_data, 0, L_DATA_FUTEX, L_DATA_SLEEPERS, timeout_ns);
  int64_t deadline = mono_ns() + timeout_ns;
  for (;;) {
    int64_t left = deadline - mono_ns();
    int64_t slice = (int64_t)r->unblock_ns < left ? (int64_t)r->unblock_ns : left;
    if (wait_for(r, ready_data, 0, L_DATA_FUTEX, L_DATA_SLEEPERS, slice) == 0) return 0;
    uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
    if (t != r->read_pos && isthmus_ring_recover(r, NULL, NULL) == 1) return 0;
    if (deadline - mono_ns() <= 0) return -ETIMEDOUT;
  }
}
int isthmus_ring_wait_space(isthmus_ring *r, uint32_t need, int64_t timeout_ns) {
  if (r->kind != ISTHMUS_RING_BROADCAST || r->policy != ISTHMUS_POLICY_BLOCK)
    return wait_for(r, ready_space, need, L_SPACE_FUTEX, L_SPACE_SLEEPERS, timeout_ns);
  int64_t deadline = mono_ns() + timeout_ns;
  for (;;) {
    int64_t left = deadline - mono_ns();
    int64_t slice = (int64_t)r->unblock_ns < left ? (int64_t)r->unblock_ns : left;
    if (wait_for(r, ready_space, need, L_SPACE_FUTEX, L_SPACE_SLEEPERS, slice) == 0) return 0;
    if (bc_free_dead(r) > 0) return 0;
    if (deadline - mono_ns() <= 0) return -ETIMEDOUT;
  }
}

static int default_dead(void *ctx, uint32_t slot) {
  isthmus_ring *r = ctx;
  return !slot_alive(slot_at(r, slot));
}

int isthmus_ring_recover(isthmus_ring *r, int (*is_dead)(void *ctx, uint32_t slot), void *ctx) {
  if (!r || r->kind != ISTHMUS_RING_MPSC || r->role != ISTHMUS_ROLE_CONSUMER) return -EPERM;
  if (!is_dead) { is_dead = default_dead; ctx = r; }
  uint32_t p = r->read_pos;
  uint32_t t = atomic_load_explicit(A(r->base, L_TAIL), memory_order_acquire);
  if (p == t) return 0;
  for (uint32_t i = 1; i <= r->slots; i++) {
    unsigned char *s = slot_at(r, i);
    if (atomic_load_explicit(A(s, S_STATE), memory_order_acquire) != 2 || get32(s + S_ROLE) != ISTHMUS_ROLE_PRODUCER) continue;
    uint32_t ilen = atomic_load_explicit(A(s, S_ILEN), memory_order_acquire), ipos = get32(s + S_IPOS);
    if (!ilen || p - ipos >= ilen) continue; /* intent does not cover p */
    if (!is_dead(ctx, i)) continue;
    /* the claim [ipos, ipos+ilen): turn each header in it at/after p into padding */
    unsigned char *h = rec_at(r, p);
    uint32_t w = atomic_load_explicit(A(h, 0), memory_order_acquire);
    uint32_t rest = ipos + ilen - p;
    uint32_t want;
    if ((w & 7u) == REC_FREE) {
      uint32_t room = r->cap - (p & r->mask);
      want = (rest < room ? rest : room) | REC_PADDING;
    } else if ((w & 7u) == REC_CLAIMED) {
      want = (w & ~7u) | REC_PADDING;
    } else {
      return 0;
    }
    if (atomic_compare_exchange_strong(A(h, 0), &w, want)) {
      put32(h + 4, p);
      return 1;
    }
    return 0;
  }
  return 0;
}

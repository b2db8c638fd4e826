/* Arenas: a directory of named regions in one mapping (include/isthmus/arena.h,
 * docs/ring.md §9). No Node headers. */
#define _GNU_SOURCE
#include "isthmus/arena.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"

#define H_VERSION 8
#define H_STATE 12
#define H_SIZE 16
#define H_ENTRIES 20
#define H_DATA 24
#define H_BUMP 28
#define H_LOCK 32
#define G_STATE 128
#define G_PID 132
#define G_UID 136
#define G_START 144
#define E_STATE 0
#define E_OFFSET 4
#define E_SIZE 8
#define E_NAMELEN 12
#define E_NAME 16

static inline unsigned char *entry_at(const isthmus_arena *a, uint32_t e) {
  return a->base + ISTHMUS_ARENA_DIR + (size_t)e * ISTHMUS_ARENA_ENTRY;
}

uint32_t isthmus_arena_data_offset(uint32_t entries) {
  return (uint32_t)((ISTHMUS_ARENA_DIR + (uint64_t)ISTHMUS_ARENA_ENTRY * entries + 4095u) & ~4095ull);
}

int isthmus_arena_format(void *base, size_t size, uint32_t entries) {
  if (!base || entries < 1 || entries > 65536) return -EINVAL;
  if ((size & 4095u) || (uint64_t)size > 0xFFFFF000ull) return -EINVAL;
  uint32_t data = isthmus_arena_data_offset(entries);
  if ((uint64_t)size < (uint64_t)data + 8192u) return -EINVAL;
  unsigned char *b = base;
  memcpy(b, "ISTHAREN", 8);
  put32(b + H_VERSION, ISTHMUS_ARENA_VERSION);
  put32(b + H_SIZE, (uint32_t)size);
  put32(b + H_ENTRIES, entries);
  put32(b + H_DATA, data);
  put32(b + H_BUMP, data);
  /* release: pairs with the attacher's load_acquire(state); the fields above are visible */
  atomic_store_explicit(A(b, H_STATE), 1, memory_order_release);
  return 0;
}

int isthmus_arena_attach(void *base, size_t size, uint32_t tag, isthmus_arena *out, char *err, size_t errlen) {
  if (!base || !out) return fail(err, errlen, -EINVAL, "arena: null argument");
  memset(out, 0, sizeof *out);
  unsigned char *b = base;
  if (size < ISTHMUS_ARENA_DIR + ISTHMUS_ARENA_ENTRY) return fail(err, errlen, -EINVAL, "size: mapping of %zu bytes is too small for an arena", size);
  /* acquire: pairs with the formatter's store_release(state, 1) */
  uint32_t st = atomic_load_explicit(A(b, H_STATE), memory_order_acquire);
  if (memcmp(b, "ISTHAREN", 8) != 0) return fail(err, errlen, st == 0 ? -EAGAIN : -EINVAL, "magic: not \"ISTHAREN\" (state %u)", st);
  if (st != 1) return fail(err, errlen, st == 0 ? -EAGAIN : -EINVAL, "state: %u (expected 1 ready)", st);
  if (get32(b + H_VERSION) != ISTHMUS_ARENA_VERSION) return fail(err, errlen, -EINVAL, "version: %u (expected %u)", get32(b + H_VERSION), ISTHMUS_ARENA_VERSION);
  uint32_t asize = get32(b + H_SIZE), entries = get32(b + H_ENTRIES), data = get32(b + H_DATA);
  if ((uint64_t)asize != (uint64_t)size) return fail(err, errlen, -EINVAL, "size: %u (the mapping is %zu bytes)", asize, size);
  if (entries < 1 || entries > 65536) return fail(err, errlen, -EINVAL, "entries: %u (expected 1..65536)", entries);
  if (data != isthmus_arena_data_offset(entries)) return fail(err, errlen, -EINVAL, "data_offset: %u (expected %u for %u entries)", data, isthmus_arena_data_offset(entries), entries);
  out->base = b;
  out->size = size;
  out->entries = entries;
  out->data_offset = data;
  out->tag = tag ? tag : (uint32_t)getpid();
  out->lock_timeout_ns = 2000000000LL;
  return 0;
}

/* cas(lock, 0 -> tag), acquire on success (seq_cst: the same order the TS side uses):
 * pairs with the previous holder's store_release(lock, 0). */
static int lock(isthmus_arena *a) {
  au32 *l = A(a->base, H_LOCK);
  int64_t start = 0;
  for (uint32_t n = 0;; n++) {
    uint32_t z = 0;
    if (atomic_compare_exchange_weak_explicit(l, &z, a->tag, memory_order_seq_cst, memory_order_relaxed)) return 0;
    if (n < 1000) continue;
    if (n < 1100) { sched_yield(); continue; }
    if (start == 0) start = mono_ns();
    else if (mono_ns() - start > a->lock_timeout_ns) return -ETIMEDOUT;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
}
static void unlock(isthmus_arena *a) {
  /* release: every directory write under the lock happens-before the next holder's reads */
  atomic_store_explicit(A(a->base, H_LOCK), 0, memory_order_seq_cst);
}

static uint32_t entry_state(const isthmus_arena *a, uint32_t e) {
  /* acquire: pairs with the publisher's store_release(state, 2) */
  return atomic_load_explicit(A(entry_at(a, e), E_STATE), memory_order_acquire);
}

static int name_is(const unsigned char *e, const char *name, size_t n) {
  return get32(e + E_NAMELEN) == n && memcmp(e + E_NAME, name, n) == 0;
}

/* An entry in state s1 or s2 called name, or -1. Lock held. */
static int64_t find(isthmus_arena *a, const char *name, size_t n, uint32_t s1, uint32_t s2) {
  for (uint32_t e = 0; e < a->entries; e++) {
    uint32_t s = entry_state(a, e);
    if ((s == s1 || s == s2) && name_is(entry_at(a, e), name, n)) return e;
  }
  return -1;
}

int isthmus_arena_create(isthmus_arena *a, const char *name, uint32_t size, void **region, uint32_t *entry) {
  if (!a || !a->base || !name || !region || size == 0) return -EINVAL;
  size_t n = strlen(name);
  if (n == 0 || n > ISTHMUS_ARENA_NAME_MAX) return -ENAMETOOLONG;
  uint64_t need = ((uint64_t)size + 4095u) & ~4095ull;
  int rc = lock(a);
  if (rc) return rc;
  if (find(a, name, n, ISTHMUS_ARENA_RESERVED, ISTHMUS_ARENA_PUBLISHED) >= 0) { unlock(a); return -EEXIST; }
  int64_t e = -1;
  for (uint32_t i = 0; i < a->entries && e < 0; i++) {
    uint32_t s = entry_state(a, i);
    if (s == ISTHMUS_ARENA_FREE || s == ISTHMUS_ARENA_REMOVED) e = i;
  }
  uint32_t at = get32(a->base + H_BUMP);
  if (e < 0 || at < a->data_offset || (uint64_t)at + need > a->size) { unlock(a); return -ENOSPC; }
  put32(a->base + H_BUMP, (uint32_t)(at + need));
  unsigned char *p = entry_at(a, (uint32_t)e);
  put32(p + E_OFFSET, at);
  put32(p + E_SIZE, size);
  memset(p + E_NAME, 0, ISTHMUS_ARENA_NAME_MAX);
  memcpy(p + E_NAME, name, n);
  put32(p + E_NAMELEN, (uint32_t)n);
  atomic_store_explicit(A(p, E_STATE), ISTHMUS_ARENA_RESERVED, memory_order_relaxed); /* ordered by unlock */
  unlock(a);
  *region = a->base + at;
  if (entry) *entry = (uint32_t)e;
  return 0;
}

void isthmus_arena_publish(isthmus_arena *a, uint32_t entry) {
  if (!a || entry >= a->entries) return;
  /* release: the region's initialisation happens-before an opener's load_acquire(state) */
  atomic_store_explicit(A(entry_at(a, entry), E_STATE), ISTHMUS_ARENA_PUBLISHED, memory_order_seq_cst);
}

void isthmus_arena_abandon(isthmus_arena *a, uint32_t entry) {
  if (!a || entry >= a->entries) return;
  atomic_store_explicit(A(entry_at(a, entry), E_STATE), ISTHMUS_ARENA_REMOVED, memory_order_seq_cst);
}

int isthmus_arena_open(isthmus_arena *a, const char *name, void **region, uint32_t *size) {
  if (!a || !a->base || !name || !region) return -EINVAL;
  size_t n = strlen(name);
  if (n == 0 || n > ISTHMUS_ARENA_NAME_MAX) return -ENOENT;
  int rc = lock(a);
  if (rc) return rc;
  int64_t e = find(a, name, n, ISTHMUS_ARENA_PUBLISHED, ISTHMUS_ARENA_PUBLISHED);
  if (e < 0) { unlock(a); return -ENOENT; }
  unsigned char *p = entry_at(a, (uint32_t)e);
  uint32_t off = get32(p + E_OFFSET), sz = get32(p + E_SIZE), bump = get32(a->base + H_BUMP);
  unlock(a);
  /* Raw offsets come from the other side: never trust them beyond the arena. */
  if ((off & 4095u) || off < a->data_offset || sz == 0 || (uint64_t)off + sz > bump || bump > a->size) return -EIO;
  *region = a->base + off;
  if (size) *size = sz;
  return 0;
}

int isthmus_arena_remove(isthmus_arena *a, const char *name, uint32_t expect_offset) {
  if (!a || !a->base || !name) return -EINVAL;
  size_t n = strlen(name);
  int rc = lock(a);
  if (rc) return rc;
  int64_t e = find(a, name, n, ISTHMUS_ARENA_PUBLISHED, ISTHMUS_ARENA_PUBLISHED);
  if (e < 0 || (expect_offset && get32(entry_at(a, (uint32_t)e) + E_OFFSET) != expect_offset)) { unlock(a); return -ENOENT; }
  atomic_store_explicit(A(entry_at(a, (uint32_t)e), E_STATE), ISTHMUS_ARENA_REMOVED, memory_order_relaxed);
  unlock(a);
  return 0;
}

int isthmus_arena_list(isthmus_arena *a, void (*fn)(void *, const char *, uint32_t, uint32_t, uint32_t), void *ctx) {
  if (!a || !a->base) return -EINVAL;
  int rc = lock(a);
  if (rc) return rc;
  int count = 0;
  for (uint32_t e = 0; e < a->entries; e++) {
    if (entry_state(a, e) != ISTHMUS_ARENA_PUBLISHED) continue;
    unsigned char *p = entry_at(a, e);
    uint32_t len = get32(p + E_NAMELEN);
    if (len > ISTHMUS_ARENA_NAME_MAX) len = ISTHMUS_ARENA_NAME_MAX;
    if (fn) fn(ctx, (const char *)(p + E_NAME), len, get32(p + E_OFFSET), get32(p + E_SIZE));
    count++;
  }
  unlock(a);
  return count;
}

void isthmus_arena_set_guest_identity(isthmus_arena *a, uint32_t pid, uint32_t uid, uint64_t start_time) {
  put32(a->base + G_PID, pid);
  put32(a->base + G_UID, uid);
  put64(a->base + G_START, start_time);
  /* release: the fields above happen-before a reader's load_acquire(g_state) == 1 */
  atomic_store_explicit(A(a->base, G_STATE), 1, memory_order_release);
}

int isthmus_arena_guest_identity(const isthmus_arena *a, uint32_t *pid, uint32_t *uid, uint64_t *start_time) {
  if (atomic_load_explicit(A(a->base, G_STATE), memory_order_acquire) != 1) return -EAGAIN;
  if (pid) *pid = get32(a->base + G_PID);
  if (uid) *uid = get32(a->base + G_UID);
  if (start_time) *start_time = get64(a->base + G_START);
  return 0;
}

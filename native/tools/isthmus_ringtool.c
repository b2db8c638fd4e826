/* isthmus_ringtool: a C peer for cross-process tests and the C<->C latency benchmark.
 *
 *   ringtool produce <path> <count> [--payload N] [--kind spsc|mpsc|broadcast] [--producers N]
 *                    [--create --capacity C --slots S]
 *   ringtool consume <path> <count> [--payload N] [--role consumer|subscriber]
 *                    [--create --capacity C --slots S --kind K]
 *   ringtool pingpong <path-a> <path-b> <iterations> [--payload N] [--create ...]
 *   ringtool pong <path-a> <path-b> <iterations> [--payload N]
 *   ringtool hold-claim <path>      (MPSC producer: claims, then sleeps until killed)
 *
 * --spin (any command; the IPC benchmark uses it for pingpong/pong): busy-poll
 * isthmus_ring_receive / isthmus_ring_loan instead of waiting in isthmus_ring_wait_*, so
 * a round trip never pays a futex wake-up (the TypeScript peers of the benchmark
 * busy-poll too). The 10 s bound still holds: a spinning side that sees no progress for
 * that long fails the same way.
 *
 * Message payload convention (shared with the TypeScript side): N bytes (N >= 8);
 * bytes 0..7 = u64 LE sequence number i, byte k (k >= 8) = (i + k) & 0xff.
 * Without --spin every wait is a futex wait (§3: spin, yield, park) with a 10 s timeout;
 * a timeout is an error (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isthmus/region.h"
#include "isthmus/ring.h"

#define WAIT_NS 10000000000LL

static const char *opt(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return i + 1 < argc ? argv[i + 1] : "";
  return dflt;
}
static int flag(int argc, char **argv, const char *name) {
  for (int i = 0; i < argc; i++) if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}
static uint32_t kind_of(const char *k) {
  if (strcmp(k, "spsc") == 0) return ISTHMUS_RING_SPSC;
  if (strcmp(k, "mpsc") == 0) return ISTHMUS_RING_MPSC;
  if (strcmp(k, "broadcast") == 0) return ISTHMUS_RING_BROADCAST;
  fprintf(stderr, "unknown kind %s\n", k);
  exit(2);
}
static void die(const char *what, int rc) {
  fprintf(stderr, "%s: %s (%d)\n", what, strerror(-rc), rc);
  exit(1);
}

/* Opens (or with --create creates) the region at path and validates the ring in it. */
static void open_ring(const char *path, int argc, char **argv, isthmus_region *reg, isthmus_ring *r) {
  int rc;
  if (flag(argc, argv, "--create")) {
    isthmus_ring_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind_of(opt(argc, argv, "--kind", "spsc"));
    p.policy = strcmp(opt(argc, argv, "--policy", "block"), "overwrite") == 0;
    p.capacity = (uint32_t)strtoul(opt(argc, argv, "--capacity", "65536"), NULL, 0);
    p.slots = (uint32_t)strtoul(opt(argc, argv, "--slots", "8"), NULL, 0);
    p.max_message = p.capacity / 2 - 32;
    p.unblock_ns = strtoull(opt(argc, argv, "--unblock-ms", "1000"), NULL, 0) * 1000000ull;
    uint64_t size = isthmus_ring_region_size(p.slots, p.capacity);
    rc = isthmus_region_create_path(path, size, 0600, reg);
    if (rc) die("create region", rc);
    rc = isthmus_ring_format(reg->base, reg->size, &p);
    if (rc) die("format ring", rc);
  } else {
    /* the other side may still be creating it: retry for a while */
    for (int i = 0;; i++) {
      rc = isthmus_region_open_path(path, reg);
      if (rc == 0) break;
      if (i > 1000) die("open region", rc);
      usleep(10000);
    }
  }
  char err[160];
  for (int i = 0;; i++) {
    rc = isthmus_ring_open(reg->base, reg->size, 0, r, err, sizeof err);
    if (rc == 0) break;
    if (rc != -EAGAIN || i > 1000) {
      fprintf(stderr, "open ring %s: %s\n", path, err);
      exit(1);
    }
    usleep(10000);
  }
}

/* The pattern bytes (i + k) & 0xff for k = 8..n-1 are table[(i + 8) & 0xff ...], with
 * table[j] = j & 0xff: fill and check are one memcpy / memcmp instead of a byte loop. */
static unsigned char *table;
static uint32_t table_len;
static const unsigned char *pattern(uint64_t i, uint32_t n) {
  if (n + 256 > table_len) {
    unsigned char *t = realloc(table, (size_t)n + 256);
    if (!t) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (uint32_t j = table_len; j < n + 256; j++) t[j] = (unsigned char)(j & 0xff);
    table = t;
    table_len = n + 256;
  }
  return table + ((i + 8) & 0xff);
}

static void fill(unsigned char *p, uint32_t n, uint64_t i) {
  memcpy(p, &i, n < 8 ? n : 8);
  if (n > 8) memcpy(p + 8, pattern(i, n), n - 8);
}

static int spin; /* --spin: busy-poll, never park */

static int64_t now_ns(void);

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* --spin: one more failed poll; dies when polls have failed for WAIT_NS. */
static void spin_once(uint32_t *polls, int64_t *since, const char *what) {
  cpu_relax();
  if ((++*polls & 4095) != 0) return;
  int64_t t = now_ns();
  if (*since == 0) *since = t;
  else if (t - *since > WAIT_NS) die(what, -ETIMEDOUT);
}

/* Writes one message: the pattern of message i, or (echo != NULL) a copy of echo's n bytes. */
static void send_msg(isthmus_ring *r, uint32_t n, uint64_t i, const unsigned char *echo) {
  uint32_t polls = 0;
  int64_t since = 0;
  for (;;) {
    int rc;
    unsigned char *p = isthmus_ring_loan(r, n, &rc);
    if (p) {
      if (echo) memcpy(p, echo, n);
      else fill(p, n, i);
      rc = isthmus_ring_commit(r, n, 0, 0);
      if (rc) die("commit", rc);
      return;
    }
    if (rc != -ENOSPC) die("loan", rc);
    if (spin) { spin_once(&polls, &since, "wait for space"); continue; }
    if (isthmus_ring_wait_space(r, n, WAIT_NS) != 0) die("wait for space", -ETIMEDOUT);
  }
}

static void send_one(isthmus_ring *r, uint32_t n, uint64_t i) { send_msg(r, n, i, NULL); }

static void recv_one(isthmus_ring *r, isthmus_record *rec) {
  uint32_t polls = 0;
  int64_t since = 0;
  for (;;) {
    int rc = isthmus_ring_receive(r, rec);
    if (rc == 0) return;
    if (rc != -EAGAIN) die("receive", rc);
    /* MPSC recovery (§6) runs in the wait below, so a spinning MPSC consumer would not
     * recover a dead producer's claim: --spin is for SPSC/broadcast benchmarks. */
    if (spin) { spin_once(&polls, &since, "wait for data"); continue; }
    /* MPSC: the wait itself recovers a dead producer's claim after unblock_ns (§6) */
    if (isthmus_ring_wait_data(r, WAIT_NS) != 0) die("wait for data", -ETIMEDOUT);
  }
}

/* n == 0: any length >= 8 (the consumer was given no --payload). */
static int check_rec(const isthmus_record *rec, uint32_t n, uint64_t i) {
  if (n == 0) n = rec->len < 8 ? 8 : rec->len;
  if (rec->len != n) { fprintf(stderr, "message %llu: length %u, expected %u\n", (unsigned long long)i, rec->len, n); return 0; }
  uint64_t got = 0;
  memcpy(&got, rec->payload, n < 8 ? n : 8);
  if (got != i) { fprintf(stderr, "message %llu: sequence %llu (loss, duplicate or reorder)\n", (unsigned long long)i, (unsigned long long)got); return 0; }
  if (n > 8 && memcmp(rec->payload + 8, pattern(i, n), n - 8) != 0) {
    for (uint32_t k = 8; k < n; k++)
      if (rec->payload[k] != ((i + k) & 0xff)) { fprintf(stderr, "message %llu: torn payload at byte %u\n", (unsigned long long)i, k); break; }
    return 0;
  }
  return 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ringtool produce|consume|pingpong|pong|hold-claim ...\n");
    return 2;
  }
  const char *cmd = argv[1];
  spin = flag(argc, argv, "--spin");
  isthmus_region reg, reg2;
  isthmus_ring r, r2;
  uint32_t n = (uint32_t)strtoul(opt(argc, argv, "--payload", "64"), NULL, 0);
  if (n < 8) n = 8;
  /* consume checks the length only when --payload was given */
  uint32_t expect_len = opt(argc, argv, "--payload", NULL) ? n : 0;
  if (strcmp(cmd, "produce") == 0 && argc >= 4) {
    open_ring(argv[2], argc, argv, &reg, &r);
    uint64_t count = strtoull(argv[3], NULL, 0);
    uint32_t role = r.kind == ISTHMUS_RING_BROADCAST ? ISTHMUS_ROLE_PUBLISHER : ISTHMUS_ROLE_PRODUCER;
    int rc = isthmus_ring_join(&r, role, 0, 0, 0, 0);
    if (rc) die("join", rc);
    /* --producers N: start only when N producers hold slots (docs/ring.md §1.3: state 2
     * active, role 1), so that no producer finishes and frees its slot for a late one to
     * reuse while the consumer checks order per slot. */
    uint32_t want = (uint32_t)strtoul(opt(argc, argv, "--producers", "0"), NULL, 0);
    for (int64_t t0 = now_ns();;) {
      uint32_t have = 0;
      for (uint32_t k = 0; k < r.slots; k++) {
        const unsigned char *slot = r.base + ISTHMUS_RING_HEADER_SIZE + (size_t)k * ISTHMUS_SLOT_SIZE;
        /* acquire: pairs with the joiner's store_release(state, 2) */
        uint32_t st = atomic_load_explicit((_Atomic uint32_t *)slot, memory_order_acquire), ro;
        memcpy(&ro, slot + 4, 4);
        if (st == 2 && ro == ISTHMUS_ROLE_PRODUCER) have++;
      }
      if (have >= want) break;
      if (now_ns() - t0 > WAIT_NS) die("wait for producers", -ETIMEDOUT);
      usleep(1000);
    }
    for (uint64_t i = 0; i < count; i++) send_one(&r, n, i);
    printf("sent %llu\n", (unsigned long long)count);
    isthmus_ring_leave(&r);
    isthmus_region_close(&reg);
    return 0;
  }
  if (strcmp(cmd, "consume") == 0 && argc >= 4) {
    open_ring(argv[2], argc, argv, &reg, &r);
    uint64_t count = strtoull(argv[3], NULL, 0);
    const char *rl = opt(argc, argv, "--role", r.kind == ISTHMUS_RING_BROADCAST ? "subscriber" : "consumer");
    int rc = isthmus_ring_join(&r, strcmp(rl, "subscriber") == 0 ? ISTHMUS_ROLE_SUBSCRIBER : ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0);
    if (rc) die("join", rc);
    isthmus_record rec;
    for (uint64_t i = 0; i < count; i++) {
      recv_one(&r, &rec);
      if (!check_rec(&rec, expect_len, i)) return 1;
      isthmus_ring_release(&r);
    }
    printf("received %llu ok\n", (unsigned long long)count);
    isthmus_ring_leave(&r);
    isthmus_region_close(&reg);
    return 0;
  }
  if ((strcmp(cmd, "pingpong") == 0 || strcmp(cmd, "pong") == 0) && argc >= 5) {
    /* a: ping -> pong, b: pong -> ping. Both SPSC. */
    int ping = strcmp(cmd, "pingpong") == 0;
    open_ring(argv[2], argc, argv, &reg, &r);
    open_ring(argv[3], argc, argv, &reg2, &r2);
    uint64_t iters = strtoull(argv[4], NULL, 0);
    isthmus_ring *out = ping ? &r : &r2, *in = ping ? &r2 : &r;
    int rc = isthmus_ring_join(out, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0);
    if (!rc) rc = isthmus_ring_join(in, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0);
    if (rc) die("join", rc);
    int64_t *samples = ping ? malloc(sizeof(int64_t) * (iters ? iters : 1)) : NULL;
    isthmus_record rec;
    uint64_t warm = iters / 10; /* both sides run the warm-up rounds */
    for (uint64_t i = 0; i < iters + warm; i++) {
      if (ping) {
        int64_t t0 = now_ns();
        send_one(out, n, i);
        recv_one(in, &rec);
        if (!check_rec(&rec, n, i)) return 1;
        if (i >= warm) samples[i - warm] = (now_ns() - t0) / 2;
        isthmus_ring_release(in); /* before the next send, outside the timed round trip */
      } else {
        /* The echo reads the whole request and writes it into the reply, as the raw-C and
         * TypeScript pong sides do (bench/ipc), so every system moves the same bytes. */
        recv_one(in, &rec);
        uint64_t seq;
        memcpy(&seq, rec.payload, 8);
        send_msg(out, rec.len, seq, rec.payload);
        /* released after the reply is out: the head store (seq_cst) is off the round trip */
        isthmus_ring_release(in);
      }
    }
    if (ping) {
      qsort(samples, iters, sizeof(int64_t), cmp64);
      printf("{\"p50_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld,\"samples\":%llu}\n", (long long)samples[iters / 2],
             (long long)samples[(iters * 99) / 100], (long long)samples[iters - 1], (unsigned long long)iters);
      free(samples);
    }
    return 0;
  }
  if (strcmp(cmd, "hold-claim") == 0) {
    open_ring(argv[2], argc, argv, &reg, &r);
    int rc = isthmus_ring_join(&r, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0);
    if (rc) die("join", rc);
    if (!isthmus_ring_loan(&r, n, &rc)) die("claim", rc);
    printf("claimed\n");
    fflush(stdout);
    for (;;) pause();
  }
  fprintf(stderr, "usage: ringtool produce|consume|pingpong|pong|hold-claim ...\n");
  return 2;
}

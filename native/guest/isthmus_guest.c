/*
 * isthmus_guest: the Isthmus participant inside a VM (docs/vm.md). A static binary built
 * from the C core (the .c files of native/src) that runs as the only program of a tiny initramfs.
 *
 * It finds the ivshmem PCI device (vendor 0x1af4, device 0x1110) in sysfs, maps its BAR2
 * (resource2: the host's arena file, docs/ring.md §9), attaches to the arena and speaks
 * the ring protocol with the host's TypeScript SDK, using market.BookUpdate
 * (schemas/market.isthmus, generated header schemas/generated/c/market.h):
 *
 *   vm.h2g~pub  host publisher  -> guest subscriber   (broadcast, created by the host)
 *   vm.g2h~pub  guest publisher -> host subscribers   (broadcast, created here)
 *   vm.rpc~req  host clients    -> guest server       (MPSC, created here); responses in
 *               vm.rpc~res~<slot> (SPSC, created by each host client)
 *
 * For each message on vm.h2g, after verify():
 *   - seq == 9007199254740993 (book_full's): checks the bytes equal
 *     /golden/book_full.bin and the fields equal book_full.json, prints `golden from host
 *     OK`, and publishes its own encoding of /golden/book_full.value.json on vm.g2h;
 *   - instrument_id == 0xffffffff: stop (leave every ring, print `guest done`, exit 0);
 *   - instrument_id == 0xfffffffe (hostile): first an INVALID message on vm.g2h (the same
 *     bytes with seq + 1000000 but side = 99, not a value of enum market.Side: a host
 *     subscriber's verify() fails with BAD_ENUM and dead-letters it), then the normal echo;
 *   - otherwise echo-transform: the same bytes with seq + 1000000 on vm.g2h.
 * This is the peer contract of test/boundaries.test.ts (test/boundaries/peer.ts implements
 * it in TypeScript for the other boundaries). The channel prefix is fixed: "vm".
 * For each request on vm.rpc~req: the response is the request with seq + 1 and
 * instrument_id + 1; instrument_id 0 gets an error response ("instrument 0 rejected").
 *
 * Slots are registered under the guest identity the host wrote into the arena (§9.3:
 * the pid/start time of the QEMU process on the host), so host-side liveness sees the
 * guest alive exactly while its VM runs. Waiting polls (spin 200 µs, yield until 5 ms, then
 * sleeps of 50 µs doubling to 1 ms; see backoff): futexes do not cross the VM boundary.
 *
 * Also: when the host created a raw region `vm.atomics`, a cross-boundary atomicity
 * check first (see atomics_check); when it created the SPSC rings `vm.raw.ping` and
 * `vm.raw.pong` (type id 0), a raw echo: every ping payload is copied into pong
 * unchanged (bench/vm.bench.ts times that, 64-byte payloads as bench/ipc does).
 *
 *   isthmus_guest [--dev <sysfs pci dir>] [--golden <dir>] [--arena-file <path>]
 *
 * --arena-file maps a plain file instead of the PCI BAR (to run the same program on the
 * host, for debugging). Exit status: 0 done, 1 a failed check or protocol error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "isthmus/arena.h"
#include "isthmus/json_encode.h"
#include "isthmus/ring.h"
#include "market.h"

#define GOLDEN_SEQ UINT64_C(9007199254740993)
#define STOP_INSTRUMENT 0xffffffffu
#define HOSTILE_INSTRUMENT 0xfffffffeu
#define BAD_SIDE 99u
#define TRANSFORM_DELTA 1000000u
#define PUB_CAPACITY (64u * 1024u)
#define REQ_CAPACITY (64u * 1024u)
#define MAX_MSG 4096u
#define SLOTS 8u
#define MAX_CLIENTS 64u

static isthmus_arena arena;
static uint32_t g_pid, g_uid;
static uint64_t g_start;
static unsigned char golden_bin[4096];
static size_t golden_len;
static char *golden_json;
static size_t golden_json_len;

#define LOG(...) do { printf("guest: " __VA_ARGS__); putchar('\n'); } while (0)
#define DIE(...) do { printf("guest: FAIL: " __VA_ARGS__); putchar('\n'); exit(1); } while (0)

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The idle strategy of a polling waiter, by how long it has been idle (`since`: when
 * the idle stretch began, 0 on the first empty poll): spin for the first 200 µs, then
 * sched_yield until 5 ms, then sleep 50 µs, doubling to 1 ms. So a message is noticed at
 * once while traffic flows, and within ~1 ms (plus scheduling) after a long quiet spell.
 * Time-based, not count-based: under TCG one poll costs far more than on hardware. */
#define SPIN_NS 200000LL
#define YIELD_NS 5000000LL
static void backoff(int64_t *since) {
  int64_t now = mono_ns();
  if (*since == 0) { *since = now; return; }
  int64_t idle = now - *since;
  if (idle < SPIN_NS) return;
  if (idle < YIELD_NS) { sched_yield(); return; }
  long ns = 50000L;
  for (int64_t t = YIELD_NS + 50000; t < idle && ns < 1000000L; t += ns) ns *= 2;
  if (ns > 1000000L) ns = 1000000L;
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

static uint32_t read_hex(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned v = 0;
  if (fscanf(f, "%x", &v) != 1) v = 0;
  fclose(f);
  return v;
}

/* The first PCI device with the ivshmem ids, into dev (a sysfs directory). */
static int find_ivshmem(char *dev, size_t n) {
  DIR *d = opendir("/sys/bus/pci/devices");
  if (!d) return -errno;
  struct dirent *e;
  int rc = -ENODEV;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[512];
    snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/vendor", e->d_name);
    uint32_t vendor = read_hex(p);
    snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/device", e->d_name);
    uint32_t device = read_hex(p);
    if (vendor == 0x1af4 && device == 0x1110) {
      snprintf(dev, n, "/sys/bus/pci/devices/%s", e->d_name);
      rc = 0;
      break;
    }
  }
  closedir(d);
  return rc;
}

static void *map_file(const char *path, size_t *size) {
  int fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
  if (fd < 0) DIE("open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) DIE("fstat %s: size %lld", path, (long long)st.st_size);
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) DIE("mmap %s (%lld bytes): %s", path, (long long)st.st_size, strerror(errno));
  close(fd);
  *size = (size_t)st.st_size;
  return p;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) DIE("open %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  if (!buf) DIE("out of memory");
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 >= cap) DIE("%s is larger than %zu bytes", path, cap);
  }
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* ---------------------------------------------------------------- rings in the arena */

/* Creates ring `name` in the arena (format, join with `role`, then publish the name),
 * so a host opener never sees it half made. */
static void create_ring(const char *name, uint32_t kind, uint32_t capacity, uint32_t role, isthmus_ring *r) {
  uint64_t rs = isthmus_ring_region_size(SLOTS, capacity);
  void *base;
  uint32_t entry;
  int rc = isthmus_arena_create(&arena, name, (uint32_t)rs, &base, &entry);
  if (rc != 0) DIE("create region %s (%" PRIu64 " bytes): %s", name, rs, strerror(-rc));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  isthmus_ring_params p = {kind, ISTHMUS_POLICY_BLOCK, SLOTS, capacity, MAX_MSG, MARKET_BOOKUPDATE_TYPE_ID, 0,
                           g_pid, g_uid, g_start, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec};
  if ((rc = isthmus_ring_format(base, rs, &p)) != 0) DIE("format %s: %s", name, strerror(-rc));
  char err[200];
  if ((rc = isthmus_ring_open(base, rs, MARKET_BOOKUPDATE_TYPE_ID, r, err, sizeof err)) != 0) DIE("open %s: %s", name, err);
  if ((rc = isthmus_ring_join(r, role, 0, g_pid, g_uid, g_start)) != 0) DIE("join %s: %s", name, strerror(-rc));
  isthmus_arena_publish(&arena, entry);
}

/* Opens ring `name` carrying type_id (waiting up to wait_ms for the host to create it) and joins it. */
static int open_ring_typed(const char *name, uint64_t type_id, uint32_t role, int64_t wait_ms, isthmus_ring *r) {
  int64_t deadline = mono_ns() + wait_ms * 1000000, since = 0;
  for (;;) {
    void *base;
    uint32_t size;
    int rc = isthmus_arena_open(&arena, name, &base, &size);
    if (rc == 0) {
      char err[200];
      rc = isthmus_ring_open(base, size, type_id, r, err, sizeof err);
      if (rc != 0) DIE("open %s: %s", name, err);
      rc = isthmus_ring_join(r, role, 0, g_pid, g_uid, g_start);
      if (rc != 0) DIE("join %s as role %u: %s", name, role, strerror(-rc));
      return 0;
    }
    if (rc != -ENOENT) DIE("arena open %s: %s", name, strerror(-rc));
    if (mono_ns() > deadline) return -ETIMEDOUT;
    backoff(&since);
  }
}

static int open_ring(const char *name, uint32_t role, int64_t wait_ms, isthmus_ring *r) {
  return open_ring_typed(name, MARKET_BOOKUPDATE_TYPE_ID, role, wait_ms, r);
}

/* Loans n bytes, waiting (polling) up to 1 s for room. */
static unsigned char *loan_wait(isthmus_ring *r, uint32_t n) {
  int64_t deadline = 0, since = 0;
  for (;;) {
    int rc;
    unsigned char *p = isthmus_ring_loan(r, n, &rc);
    if (p) return p;
    if (rc != -ENOSPC) DIE("loan %u bytes: %s", n, strerror(-rc));
    if (deadline == 0) deadline = mono_ns() + 1000000000LL;
    else if (mono_ns() > deadline) return NULL;
    backoff(&since);
  }
}

/* ---------------------------------------------------------------- checks */

static void check_golden_fields(const unsigned char *m, uint32_t len) {
  const market_BookUpdate *f = market_BookUpdate_fixed(m);
  isthmus_str sym = market_BookUpdate_symbol(m, len), ven = market_BookUpdate_venue(m, len);
  isthmus_span bids = market_BookUpdate_bids(m, len), asks = market_BookUpdate_asks(m, len);
  const market_Level *b = (const market_Level *)bids.ptr, *a = (const market_Level *)asks.ptr;
  if (f->seq != GOLDEN_SEQ || f->ts_ns != UINT64_C(1763821020123456789) || f->instrument_id != 4242 || f->side != market_Side_bid)
    DIE("golden fixed fields: seq %" PRIu64 " ts_ns %" PRIu64 " instrument_id %u side %u", f->seq, f->ts_ns, f->instrument_id, f->side);
  if (sym.len != 6 || memcmp(sym.ptr, "EURUSD", 6) || ven.len != 4 || memcmp(ven.ptr, "XLON", 4))
    DIE("golden strings: symbol %.*s venue %.*s", (int)sym.len, sym.ptr, (int)ven.len, ven.ptr);
  if (bids.count != 3 || asks.count != 2) DIE("golden vectors: %u bids, %u asks (expected 3, 2)", bids.count, asks.count);
  if (b[0].price.mantissa != 108345 || b[0].price.exponent != -5 || b[0].qty != 1000000 || b[0].orders != 3 ||
      b[2].qty != UINT64_MAX || b[2].orders != UINT32_MAX || a[1].price.mantissa != -1 || a[1].price.exponent != 127)
    DIE("golden levels: bids[0] %" PRId64 "e%d x %" PRIu64 "/%u, bids[2] qty %" PRIu64 ", asks[1] %" PRId64 "e%d",
        b[0].price.mantissa, b[0].price.exponent, b[0].qty, b[0].orders, b[2].qty, a[1].price.mantissa, a[1].price.exponent);
  if (!market_BookUpdate_has_trade_id(m, len) || market_BookUpdate_trade_id(m, len) != 77)
    DIE("golden trade_id: has %d value %" PRIu64, market_BookUpdate_has_trade_id(m, len), market_BookUpdate_trade_id(m, len));
}

/* Host and guest both increment two words of the raw region `vm.atomics` N times each,
 * with fetch_add (word 0) and a cas loop (word 1); the host checks both end at 2N. Word 2
 * is the host's start flag, word 3 counts finished sides, word 4 is N. A lost update
 * means guest atomics are not atomic against the host (TCG without CF_PARALLEL, docs/vm.md). */
static void atomics_check(void) {
  void *base;
  uint32_t size;
  if (isthmus_arena_open(&arena, "vm.atomics", &base, &size) != 0) return;
  _Atomic uint32_t *w = base;
  for (int64_t since = 0; atomic_load_explicit(&w[2], memory_order_acquire) == 0;) backoff(&since);
  uint32_t n = atomic_load_explicit(&w[4], memory_order_relaxed);
  for (uint32_t i = 0; i < n; i++) {
    atomic_fetch_add_explicit(&w[0], 1, memory_order_seq_cst);
    uint32_t v = atomic_load_explicit(&w[1], memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&w[1], &v, v + 1, memory_order_seq_cst, memory_order_relaxed)) {}
  }
  atomic_fetch_add_explicit(&w[3], 1, memory_order_seq_cst);
  LOG("atomics: %u fetch_add and %u cas increments done", n, n);
}

/* ---------------------------------------------------------------- the server */

typedef struct responder {
  int open;
  uint32_t pid;
  uint64_t start;
  isthmus_ring ring;
} responder;
static responder responders[MAX_CLIENTS + 1];

static isthmus_ring *responder_for(isthmus_ring *req, uint32_t slot) {
  if (slot == 0 || slot > req->slots || slot > MAX_CLIENTS) return NULL;
  const unsigned char *s = req->base + ISTHMUS_RING_HEADER_SIZE + (size_t)(slot - 1) * ISTHMUS_SLOT_SIZE;
  /* acquire: pairs with the client's store_release(state, 2) at join */
  if (atomic_load_explicit((_Atomic uint32_t *)s, memory_order_acquire) != 2) return NULL;
  uint32_t pid;
  uint64_t start;
  memcpy(&pid, s + 8, 4);
  memcpy(&start, s + 16, 8);
  responder *r = &responders[slot];
  if (r->open && r->pid == pid && r->start == start) return &r->ring;
  if (r->open) { isthmus_ring_leave(&r->ring); r->open = 0; }
  char name[160];
  snprintf(name, sizeof name, "vm.rpc~res~%u", slot);
  if (open_ring(name, ISTHMUS_ROLE_PRODUCER, 1000, &r->ring) != 0) return NULL;
  r->open = 1;
  r->pid = pid;
  r->start = start;
  return &r->ring;
}

static int serve_one(isthmus_ring *req, const isthmus_record *rec) {
  isthmus_ring *res = responder_for(req, rec->sender);
  if (!res) { LOG("no response ring for slot %u: dropped", rec->sender); return 0; }
  isthmus_error verr;
  if (market_BookUpdate_verify(rec->payload, rec->len, &verr) != 0) {
    static const char why[] = "invalid request";
    unsigned char *p = loan_wait(res, sizeof why - 1);
    if (!p) return 0;
    memcpy(p, why, sizeof why - 1);
    return isthmus_ring_commit(res, sizeof why - 1, rec->correlation, 1);
  }
  const market_BookUpdate *in = market_BookUpdate_fixed(rec->payload);
  if (in->instrument_id == 0) {
    static const char why[] = "instrument 0 rejected by the guest";
    unsigned char *p = loan_wait(res, sizeof why - 1);
    if (!p) return 0;
    memcpy(p, why, sizeof why - 1);
    return isthmus_ring_commit(res, sizeof why - 1, rec->correlation, 1);
  }
  unsigned char *p = loan_wait(res, rec->len);
  if (!p) { LOG("response ring of slot %u full for 1 s: dropped", rec->sender); return 0; }
  memcpy(p, rec->payload, rec->len);
  market_BookUpdate *out = (market_BookUpdate *)(p + 16);
  out->seq = in->seq + 1;
  out->instrument_id = in->instrument_id + 1;
  return isthmus_ring_commit(res, rec->len, rec->correlation, 0);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  const char *dev = NULL, *golden_dir = "/golden", *arena_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dev") && i + 1 < argc) dev = argv[++i];
    else if (!strcmp(argv[i], "--golden") && i + 1 < argc) golden_dir = argv[++i];
    else if (!strcmp(argv[i], "--arena-file") && i + 1 < argc) arena_file = argv[++i];
    else { fprintf(stderr, "usage: %s [--dev <sysfs pci dir>] [--golden <dir>] [--arena-file <path>]\n", argv[0]); return 2; }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* 1. the shared memory: the ivshmem BAR2 (or a file) */
  char devbuf[512], path[600];
  size_t size;
  void *base;
  if (arena_file) {
    base = map_file(arena_file, &size);
    LOG("arena file %s, %zu bytes", arena_file, size);
  } else {
    if (!dev) {
      int rc = find_ivshmem(devbuf, sizeof devbuf);
      if (rc != 0) DIE("no ivshmem device (PCI 1af4:1110) under /sys/bus/pci/devices: %s", strerror(-rc));
      dev = devbuf;
    }
    snprintf(path, sizeof path, "%s/resource2", dev);
    base = map_file(path, &size);
    LOG("ivshmem %s, BAR2 %zu bytes", dev, size);
  }

  /* 2. the arena and the guest identity the host wrote */
  char err[200];
  int rc;
  int64_t t0 = mono_ns();
  for (int64_t since = 0; (rc = isthmus_arena_attach(base, size, 0x80000000u | (uint32_t)getpid(), &arena, err, sizeof err)) == -EAGAIN;) {
    if (mono_ns() - t0 > 10000000000LL) break;
    backoff(&since);
  }
  if (rc != 0) DIE("attach arena: %s", err);
  for (int64_t since = 0; isthmus_arena_guest_identity(&arena, &g_pid, &g_uid, &g_start) != 0;) {
    if (mono_ns() - t0 > 10000000000LL) DIE("the host wrote no guest identity into the arena within 10 s");
    backoff(&since);
  }
  LOG("arena attached: %u entries, data at %u; registering as host pid %u (start time %" PRIu64 ")", arena.entries, arena.data_offset, g_pid, g_start);

  /* 3. goldens: our encoder must produce book_full.bin from book_full.json */
  snprintf(path, sizeof path, "%s/book_full.bin", golden_dir);
  char *bin = read_all(path, &golden_len);
  if (golden_len > sizeof golden_bin) DIE("%s: %zu bytes", path, golden_len);
  memcpy(golden_bin, bin, golden_len);
  free(bin);
  snprintf(path, sizeof path, "%s/book_full.value.json", golden_dir);
  golden_json = read_all(path, &golden_json_len);
  {
    unsigned char tmp[4096];
    size_t n = 0;
    isthmus_error e;
    if (isthmus_encode_json(&isthmus_desc_market_BookUpdate, golden_json, golden_json_len, tmp, sizeof tmp, &n, &e) != 0)
      DIE("encode %s: %s at %s", path, isthmus_error_code_name(e.code), e.path);
    if (n != golden_len || memcmp(tmp, golden_bin, n) != 0) DIE("book_full.json encodes to %zu bytes that differ from book_full.bin (%zu bytes)", n, golden_len);
    check_golden_fields(golden_bin, (uint32_t)golden_len);
    LOG("golden book_full.json encodes to book_full.bin (%zu bytes)", golden_len);
  }

  atomics_check();

  /* 4. rings: ours first (the host waits for them), then the host's */
  isthmus_ring g2h, req, h2g;
  create_ring("vm.g2h~pub", ISTHMUS_RING_BROADCAST, PUB_CAPACITY, ISTHMUS_ROLE_PUBLISHER, &g2h);
  create_ring("vm.rpc~req", ISTHMUS_RING_MPSC, REQ_CAPACITY, ISTHMUS_ROLE_CONSUMER, &req);
  if (open_ring("vm.h2g~pub", ISTHMUS_ROLE_SUBSCRIBER, 30000, &h2g) != 0) DIE("the host created no vm.h2g~pub within 30 s");
  isthmus_ring ping, pong;
  int raw = 0;
  {
    void *b;
    uint32_t sz;
    if (isthmus_arena_open(&arena, "vm.raw.ping", &b, &sz) == 0) {
      if (open_ring_typed("vm.raw.ping", 0, ISTHMUS_ROLE_CONSUMER, 1000, &ping) != 0 ||
          open_ring_typed("vm.raw.pong", 0, ISTHMUS_ROLE_PRODUCER, 1000, &pong) != 0)
        DIE("vm.raw.ping exists but vm.raw.pong does not");
      raw = 1;
      LOG("raw echo on vm.raw.ping -> vm.raw.pong");
    }
  }
  LOG("READY: subscribed to vm.h2g (slot %u), publishing vm.g2h (slot %u), serving vm.rpc (slot %u)", h2g.slot, g2h.slot, req.slot);

  /* 5. the loop: poll both inbound rings, back off when both are empty */
  uint64_t echoed = 0, served = 0, golden = 0, hostile = 0;
  int stop = 0;
  for (int64_t since = 0; !stop;) {
    int busy = 0;
    isthmus_record rec;
    rc = isthmus_ring_receive(&h2g, &rec);
    if (rc == 0) {
      busy = 1;
      isthmus_error verr;
      if (market_BookUpdate_verify(rec.payload, rec.len, &verr) != 0)
        DIE("message %u from the host fails verify: %s at %s (offset %u)", rec.seq, isthmus_error_code_name(verr.code), verr.path, verr.offset);
      const market_BookUpdate *in = market_BookUpdate_fixed(rec.payload);
      if (in->instrument_id == STOP_INSTRUMENT) {
        stop = 1;
      } else if (in->seq == GOLDEN_SEQ) {
        if (rec.len != golden_len || memcmp(rec.payload, golden_bin, golden_len) != 0)
          DIE("the host's book_full (%u bytes) differs from book_full.bin (%zu bytes)", rec.len, golden_len);
        check_golden_fields(rec.payload, rec.len);
        golden++;
        LOG("golden from host OK (%u bytes, verify OK, equal to book_full.bin)", rec.len);
        unsigned char *p = loan_wait(&g2h, MAX_MSG);
        if (!p) DIE("vm.g2h full for 1 s");
        size_t n = 0;
        isthmus_error e;
        if (isthmus_encode_json(&isthmus_desc_market_BookUpdate, golden_json, golden_json_len, p, MAX_MSG, &n, &e) != 0)
          DIE("encode into the ring: %s at %s", isthmus_error_code_name(e.code), e.path);
        if ((rc = isthmus_ring_commit(&g2h, (uint32_t)n, 0, 0)) != 0) DIE("commit: %s", strerror(-rc));
      } else {
        if (in->instrument_id == HOSTILE_INSTRUMENT) {
          /* the hostile extension: an invalid message (bad enum value) before the echo */
          unsigned char *p = loan_wait(&g2h, rec.len);
          if (!p) DIE("vm.g2h full for 1 s (no host subscriber reading?)");
          memcpy(p, rec.payload, rec.len);
          ((market_BookUpdate *)(p + 16))->seq = in->seq + TRANSFORM_DELTA;
          ((market_BookUpdate *)(p + 16))->side = (market_Side)BAD_SIDE;
          if ((rc = isthmus_ring_commit(&g2h, rec.len, 0, 0)) != 0) DIE("commit: %s", strerror(-rc));
          hostile++;
        }
        unsigned char *p = loan_wait(&g2h, rec.len);
        if (!p) DIE("vm.g2h full for 1 s (no host subscriber reading?)");
        memcpy(p, rec.payload, rec.len);
        ((market_BookUpdate *)(p + 16))->seq = in->seq + TRANSFORM_DELTA;
        if ((rc = isthmus_ring_commit(&g2h, rec.len, 0, 0)) != 0) DIE("commit: %s", strerror(-rc));
        echoed++;
      }
      isthmus_ring_release(&h2g);
    } else if (rc != -EAGAIN) {
      DIE("receive on vm.h2g: %s", strerror(-rc));
    }
    rc = isthmus_ring_receive(&req, &rec);
    if (rc == 0) {
      busy = 1;
      if ((rc = serve_one(&req, &rec)) != 0) LOG("response commit: %s", strerror(-rc));
      isthmus_ring_release(&req);
      served++;
    } else if (rc != -EAGAIN) {
      DIE("receive on vm.rpc~req: %s", strerror(-rc));
    }
    if (raw && (rc = isthmus_ring_receive(&ping, &rec)) == 0) {
      busy = 1;
      unsigned char *p = loan_wait(&pong, rec.len);
      if (!p) DIE("vm.raw.pong full for 1 s");
      memcpy(p, rec.payload, rec.len);
      isthmus_ring_release(&ping);
      if ((rc = isthmus_ring_commit(&pong, rec.len, rec.correlation, 0)) != 0) DIE("commit on vm.raw.pong: %s", strerror(-rc));
    } else if (raw && rc != -EAGAIN) {
      DIE("receive on vm.raw.ping: %s", strerror(-rc));
    }
    if (busy) since = 0;
    else backoff(&since);
  }
  isthmus_ring_leave(&h2g);
  isthmus_ring_leave(&g2h);
  isthmus_ring_leave(&req);
  if (raw) { isthmus_ring_leave(&ping); isthmus_ring_leave(&pong); }
  for (uint32_t s = 0; s <= MAX_CLIENTS; s++) if (responders[s].open) isthmus_ring_leave(&responders[s].ring);
  LOG("done: %" PRIu64 " golden, %" PRIu64 " echoed, %" PRIu64 " requests served, %" PRIu64 " hostile", golden, echoed, served, hostile);
  return 0;
}

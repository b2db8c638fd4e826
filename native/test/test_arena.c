/* Arena directory tests (docs/ring.md §9, include/isthmus/arena.h): format/attach checks,
 * create/publish/open/list/remove, the corrupt-entry bound checks, the lock timeout, the
 * guest identity line, and threads creating and opening rings in one arena at once
 * (so that ASan/TSan builds see the lock and the publish/acquire pairing). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "isthmus/arena.h"
#include "isthmus/region.h"
#include "isthmus/ring.h"

#define ARENA_SIZE (8u << 20)

static isthmus_region mk(isthmus_arena *a, uint32_t entries) {
  isthmus_region reg;
  CHECK_EQ(isthmus_region_create_memfd("arena", ARENA_SIZE, &reg), 0);
  CHECK_EQ(isthmus_arena_format(reg.base, reg.size, entries), 0);
  char err[160];
  CHECK_EQ(isthmus_arena_attach(reg.base, reg.size, 7, a, err, sizeof err), 0);
  return reg;
}

static void test_attach_errors(void) {
  isthmus_arena a;
  isthmus_region reg;
  char err[160];
  CHECK_EQ(isthmus_region_create_memfd("arena", ARENA_SIZE, &reg), 0);
  /* zeroed: not formatted yet */
  CHECK_EQ(isthmus_arena_attach(reg.base, reg.size, 0, &a, err, sizeof err), -EAGAIN);
  CHECK_EQ(isthmus_arena_format(reg.base, reg.size, 0), -EINVAL);
  CHECK_EQ(isthmus_arena_format(reg.base, 12345, 4), -EINVAL);
  CHECK_EQ(isthmus_arena_format(reg.base, 8192, 512), -EINVAL); /* too small */
  CHECK_EQ(isthmus_arena_format(reg.base, reg.size, 64), 0);
  CHECK_EQ(isthmus_arena_attach(reg.base, reg.size - 4096, 0, &a, err, sizeof err), -EINVAL);
  CHECK(strstr(err, "size: 8388608") != NULL);
  unsigned char *b = reg.base;
  struct { size_t off; uint32_t v; const char *field; } cases[] = {
      {0, 0x58585858, "magic"}, {8, 9, "version"}, {12, 2, "state"}, {20, 0, "entries"}, {24, 4096, "data_offset"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t old;
    memcpy(&old, b + cases[i].off, 4);
    memcpy(b + cases[i].off, &cases[i].v, 4);
    err[0] = 0;
    CHECK(isthmus_arena_attach(b, reg.size, 0, &a, err, sizeof err) < 0);
    if (!strstr(err, cases[i].field)) {
      fprintf(stderr, "attach error for %s: %s\n", cases[i].field, err);
      CHECK(0);
    }
    memcpy(b + cases[i].off, &old, 4);
  }
  CHECK_EQ(isthmus_arena_attach(b, reg.size, 0, &a, err, sizeof err), 0);
  CHECK(a.tag != 0); /* 0 means getpid() */
  CHECK_EQ(a.data_offset, isthmus_arena_data_offset(64));
  CHECK_EQ(a.data_offset, 12288); /* align4096(256 + 128*64) */
  isthmus_region_close(&reg);
}

static void count_cb(void *ctx, const char *name, uint32_t n, uint32_t off, uint32_t size) {
  (void)name; (void)n; (void)off; (void)size;
  (*(int *)ctx)++;
}

static void test_directory(void) {
  isthmus_arena a;
  isthmus_region reg = mk(&a, 4);
  void *p = NULL, *q = NULL;
  uint32_t e = 99, sz = 0;
  CHECK_EQ(isthmus_arena_open(&a, "x", &p, &sz), -ENOENT);
  CHECK_EQ(isthmus_arena_create(&a, "x", 5000, &p, &e), 0);
  CHECK_EQ(e, 0);
  CHECK_EQ((unsigned char *)p - (unsigned char *)reg.base, a.data_offset);
  CHECK_EQ(isthmus_arena_create(&a, "x", 5000, &q, NULL), -EEXIST);  /* reserved counts */
  CHECK_EQ(isthmus_arena_open(&a, "x", &q, &sz), -ENOENT);           /* not yet published */
  CHECK_EQ(isthmus_arena_list(&a, count_cb, &(int){0}), 0);
  memset(p, 0xab, 5000);
  isthmus_arena_publish(&a, e);
  CHECK_EQ(isthmus_arena_open(&a, "x", &q, &sz), 0);
  CHECK(q == p && sz == 5000);
  CHECK_EQ(((unsigned char *)q)[4999], 0xab);
  /* the next region starts at the next multiple of 4096 */
  CHECK_EQ(isthmus_arena_create(&a, "y", 100, &q, &e), 0);
  CHECK_EQ((unsigned char *)q - (unsigned char *)p, 8192);
  isthmus_arena_abandon(&a, e);
  CHECK_EQ(isthmus_arena_open(&a, "y", &q, &sz), -ENOENT);
  int n = 0;
  CHECK_EQ(isthmus_arena_list(&a, count_cb, &n), 1);
  CHECK_EQ(n, 1);
  /* remove with a wrong expected offset does nothing; with the right one it removes */
  CHECK_EQ(isthmus_arena_remove(&a, "x", a.data_offset + 4096), -ENOENT);
  CHECK_EQ(isthmus_arena_remove(&a, "x", a.data_offset), 0);
  CHECK_EQ(isthmus_arena_open(&a, "x", &q, &sz), -ENOENT);
  /* the name may be created again; the space is not reused */
  CHECK_EQ(isthmus_arena_create(&a, "x", 4096, &q, &e), 0);
  CHECK((unsigned char *)q - (unsigned char *)p == 3 * 4096);
  isthmus_arena_publish(&a, e);
  /* names */
  char longname[200];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  CHECK_EQ(isthmus_arena_create(&a, longname, 4096, &q, &e), -ENAMETOOLONG);
  longname[ISTHMUS_ARENA_NAME_MAX] = 0;
  CHECK_EQ(isthmus_arena_create(&a, longname, 4096, &q, &e), 0);
  isthmus_arena_publish(&a, e);
  CHECK_EQ(isthmus_arena_open(&a, longname, &q, &sz), 0);
  /* 4 entries: x (removed), y (abandoned) were reused; now full */
  CHECK_EQ(isthmus_arena_create(&a, "z1", 4096, &q, &e), 0);
  CHECK_EQ(isthmus_arena_create(&a, "z2", 4096, &q, &e), 0);
  CHECK_EQ(isthmus_arena_create(&a, "z3", 4096, &q, &e), -ENOSPC);
  isthmus_region_close(&reg);

  /* out of space */
  reg = mk(&a, 1);
  CHECK_EQ(isthmus_arena_create(&a, "big", ARENA_SIZE, &q, &e), -ENOSPC);
  CHECK_EQ(isthmus_arena_create(&a, "big", ARENA_SIZE - a.data_offset, &q, &e), 0);
  isthmus_region_close(&reg);
}

static void test_corrupt_entry(void) {
  isthmus_arena a;
  isthmus_region reg = mk(&a, 4);
  void *p;
  uint32_t e, sz;
  CHECK_EQ(isthmus_arena_create(&a, "r", 4096, &p, &e), 0);
  isthmus_arena_publish(&a, e);
  unsigned char *ent = (unsigned char *)reg.base + ISTHMUS_ARENA_DIR + e * ISTHMUS_ARENA_ENTRY;
  uint32_t bad[] = {100, 0, ARENA_SIZE}; /* misaligned, before data, past bump */
  for (int i = 0; i < 3; i++) {
    uint32_t old;
    memcpy(&old, ent + 4, 4);
    memcpy(ent + 4, &bad[i], 4);
    CHECK_EQ(isthmus_arena_open(&a, "r", &p, &sz), -EIO);
    memcpy(ent + 4, &old, 4);
  }
  uint32_t huge = 0xfffff000u;
  memcpy(ent + 8, &huge, 4);
  CHECK_EQ(isthmus_arena_open(&a, "r", &p, &sz), -EIO);
  isthmus_region_close(&reg);
}

static void test_lock_timeout_and_identity(void) {
  isthmus_arena a;
  isthmus_region reg = mk(&a, 4);
  _Atomic uint32_t *lockw = (_Atomic uint32_t *)((unsigned char *)reg.base + 32);
  atomic_store(lockw, 0x80000042u); /* "a guest died holding it" */
  a.lock_timeout_ns = 20 * 1000000LL;
  void *p;
  uint32_t e;
  CHECK_EQ(isthmus_arena_create(&a, "r", 4096, &p, &e), -ETIMEDOUT);
  CHECK_EQ(isthmus_arena_list(&a, NULL, NULL), -ETIMEDOUT);
  atomic_store(lockw, 0);
  CHECK_EQ(isthmus_arena_create(&a, "r", 4096, &p, &e), 0);
  CHECK_EQ(atomic_load(lockw), 0);

  uint32_t pid, uid;
  uint64_t st;
  CHECK_EQ(isthmus_arena_guest_identity(&a, &pid, &uid, &st), -EAGAIN);
  isthmus_arena_set_guest_identity(&a, 4242, 1000, 0x123456789aull);
  CHECK_EQ(isthmus_arena_guest_identity(&a, &pid, &uid, &st), 0);
  CHECK(pid == 4242 && uid == 1000 && st == 0x123456789aull);
  /* the byte positions of §9 */
  CHECK_EQ(*(uint32_t *)((unsigned char *)reg.base + 128), 1);
  CHECK_EQ(*(uint32_t *)((unsigned char *)reg.base + 132), 4242);
  CHECK_EQ(*(uint64_t *)((unsigned char *)reg.base + 144), 0x123456789aull);
  isthmus_region_close(&reg);
}

/* Threads: each creates RINGS rings named t<k>.<i>, formats and publishes them; then
 * opens every other thread's rings by name (retrying until published), checks the ring
 * header and that no two regions overlap. */
#define THREADS 4
#define RINGS 24
static isthmus_arena g_arena;
static unsigned char *g_base;
static uint32_t g_off[THREADS][RINGS];

static void *worker(void *arg) {
  int k = (int)(intptr_t)arg;
  isthmus_arena a = g_arena; /* a handle per thread, own tag */
  a.tag = 100 + (uint32_t)k;
  uint64_t rs = isthmus_ring_region_size(4, 4096);
  for (int i = 0; i < RINGS; i++) {
    char name[32];
    snprintf(name, sizeof name, "t%d.%d", k, i);
    void *p;
    uint32_t e;
    CHECK_EQ(isthmus_arena_create(&a, name, (uint32_t)rs, &p, &e), 0);
    isthmus_ring_params prm = {ISTHMUS_RING_SPSC, 0, 4, 4096, 1024, 0x5151, 0, 1, 1, 1, 1};
    prm.type_id = 0x5100 + (uint64_t)(k * RINGS + i);
    CHECK_EQ(isthmus_ring_format(p, rs, &prm), 0);
    g_off[k][i] = (uint32_t)((unsigned char *)p - g_base);
    isthmus_arena_publish(&a, e);
  }
  for (int j = 0; j < THREADS; j++) {
    for (int i = 0; i < RINGS; i++) {
      char name[32];
      snprintf(name, sizeof name, "t%d.%d", j, i);
      void *p;
      uint32_t sz;
      int rc;
      while ((rc = isthmus_arena_open(&a, name, &p, &sz)) == -ENOENT) sched_yield();
      CHECK_EQ(rc, 0);
      isthmus_ring r;
      char err[128];
      CHECK_EQ(isthmus_ring_open(p, sz, 0x5100 + (uint64_t)(j * RINGS + i), &r, err, sizeof err), 0);
    }
  }
  return NULL;
}

static void test_threads(void) {
  isthmus_region reg = mk(&g_arena, 128);
  g_base = reg.base;
  pthread_t t[THREADS];
  for (int k = 0; k < THREADS; k++) CHECK_EQ(pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k), 0);
  for (int k = 0; k < THREADS; k++) CHECK_EQ(pthread_join(t[k], NULL), 0);
  uint64_t rs = isthmus_ring_region_size(4, 4096);
  for (int a = 0; a < THREADS * RINGS; a++)
    for (int b = a + 1; b < THREADS * RINGS; b++) {
      uint32_t x = g_off[a / RINGS][a % RINGS], y = g_off[b / RINGS][b % RINGS];
      CHECK(x + rs <= y || y + rs <= x);
    }
  CHECK_EQ(isthmus_arena_list(&g_arena, NULL, NULL), THREADS * RINGS);
  isthmus_region_close(&reg);
}

int main(void) {
  test_attach_errors();
  test_directory();
  test_corrupt_entry();
  test_lock_timeout_and_identity();
  test_threads();
  printf("arena: ok\n");
  return 0;
}

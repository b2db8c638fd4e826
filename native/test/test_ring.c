/* Ring unit tests and fork()-based multi-process stress (docs/ring.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "isthmus/region.h"
#include "isthmus/ring.h"

static isthmus_region mk(uint32_t kind, uint32_t policy, uint32_t cap, uint32_t slots, isthmus_ring *r) {
  isthmus_region reg;
  uint64_t sz = isthmus_ring_region_size(slots, cap);
  CHECK_EQ(isthmus_region_create_memfd("ring", sz, &reg), 0);
  isthmus_ring_params p = {kind, policy, slots, cap, cap / 2 - 32, 0x1234, 50000000ull, 0, 0, 0, 0};
  CHECK_EQ(isthmus_ring_format(reg.base, reg.size, &p), 0);
  char err[128];
  CHECK_EQ(isthmus_ring_open(reg.base, reg.size, 0x1234, r, err, sizeof err), 0);
  return reg;
}

static void test_open_errors(void) {
  isthmus_ring r;
  isthmus_region reg = mk(1, 0, 4096, 4, &r);
  unsigned char *b = reg.base;
  char err[128];
  struct { size_t off; uint32_t v; const char *field; } cases[] = {
      {0, 0x58585858, "magic"}, {8, 2, "version"}, {12, 2, "state"}, {16, 1, "region_size"},
      {32, 9, "layout_version"}, {36, 7, "kind"}, {40, 1, "policy"}, {44, 0, "slots"},
      {64, 5000, "capacity"}, {68, 4096, "max_message"}, {72, 100, "data_offset"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint32_t old;
    memcpy(&old, b + cases[i].off, 4);
    memcpy(b + cases[i].off, &cases[i].v, 4);
    err[0] = 0;
    CHECK(isthmus_ring_open(b, reg.size, 0, &r, err, sizeof err) < 0);
    if (strstr(err, cases[i].field) == NULL) {
      fprintf(stderr, "case %s: error '%s'\n", cases[i].field, err);
      CHECK(0);
    }
    memcpy(b + cases[i].off, &old, 4);
  }
  CHECK(isthmus_ring_open(b, reg.size, 0x9999, &r, err, sizeof err) < 0 && strstr(err, "type_id"));
  CHECK_EQ(isthmus_ring_open(b, reg.size - 1, 0, &r, err, sizeof err), -EINVAL);
  CHECK_EQ(isthmus_ring_open(b, reg.size, 0, &r, err, sizeof err), 0);
  isthmus_region_close(&reg);
}

static void fill(unsigned char *p, uint32_t n, uint64_t i) {
  memcpy(p, &i, n < 8 ? n : 8);
  for (uint32_t k = 8; k < n; k++) p[k] = (unsigned char)((i + k) & 0xff);
}
static void check_payload(const isthmus_record *rec, uint32_t n, uint64_t i) {
  CHECK_EQ(rec->len, n);
  uint64_t got = 0;
  memcpy(&got, rec->payload, n < 8 ? n : 8);
  CHECK_EQ(got, i);
  for (uint32_t k = 8; k < n; k++) CHECK_EQ(rec->payload[k], (i + k) & 0xff);
}

static void test_spsc_basic(void) {
  isthmus_ring pr, cr;
  isthmus_region reg = mk(1, 0, 4096, 4, &pr);
  cr = pr;
  CHECK_EQ(isthmus_ring_join(&pr, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), 0);
  isthmus_ring third = pr;
  third.slot = 0;
  CHECK_EQ(isthmus_ring_join(&third, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), -EBUSY);
  int rc;
  isthmus_record rec;
  CHECK_EQ(isthmus_ring_receive(&cr, &rec), -EAGAIN);
  CHECK_EQ(isthmus_ring_wait_data(&cr, 1000000), -ETIMEDOUT);
  /* loan shrink */
  unsigned char *p = isthmus_ring_loan(&pr, 200, &rc);
  CHECK(p && rc == 0);
  fill(p, 50, 7);
  CHECK_EQ(isthmus_ring_commit(&pr, 50, 5, 0), 0);
  CHECK_EQ(isthmus_ring_receive(&cr, &rec), 0);
  check_payload(&rec, 50, 7);
  CHECK_EQ(rec.correlation, 5);
  CHECK_EQ(rec.seq, 0);
  CHECK_EQ(rec.sender, pr.slot);
  isthmus_ring_release(&cr);
  CHECK(isthmus_ring_loan(&pr, 5000, &rc) == NULL && rc == -EMSGSIZE);
  /* fill up to full, then wrap with padding */
  uint64_t sent = 1, got = 1;
  for (int round = 0; round < 50; round++) {
    while ((p = isthmus_ring_loan(&pr, 300, &rc)) != NULL) {
      fill(p, 300, sent);
      CHECK_EQ(isthmus_ring_commit(&pr, 300, 0, 0), 0);
      sent++;
    }
    CHECK_EQ(rc, -ENOSPC);
    CHECK_EQ(isthmus_ring_wait_space(&pr, 300, 1000000), -ETIMEDOUT);
    while (isthmus_ring_receive(&cr, &rec) == 0) {
      check_payload(&rec, 300, got);
      CHECK_EQ(rec.seq, got);
      got++;
    }
    isthmus_ring_release(&cr);
  }
  CHECK_EQ(sent, got);
  isthmus_region_close(&reg);
}

static int dead_set(void *ctx, uint32_t slot) { return (int)(((uintptr_t)ctx >> slot) & 1); }

static void test_mpsc(void) {
  isthmus_ring a, b, c;
  isthmus_region reg = mk(2, 0, 4096, 4, &a);
  b = a;
  c = a;
  CHECK_EQ(isthmus_ring_join(&a, ISTHMUS_ROLE_PRODUCER, 1, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&b, ISTHMUS_ROLE_PRODUCER, 2, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&c, ISTHMUS_ROLE_CONSUMER, 3, 0, 0, 0), 0);
  int rc;
  unsigned char *pa = isthmus_ring_loan(&a, 100, &rc);
  unsigned char *pb = isthmus_ring_loan(&b, 100, &rc);
  CHECK(pa && pb);
  fill(pb, 100, 2);
  CHECK_EQ(isthmus_ring_commit(&b, 100, 0, 0), 0);
  isthmus_record rec;
  CHECK_EQ(isthmus_ring_receive(&c, &rec), -EAGAIN); /* a's claim is first */
  /* a "dies": recovery with a alive does nothing, with a dead turns it into padding */
  CHECK_EQ(isthmus_ring_recover(&c, dead_set, (void *)(uintptr_t)0), 0);
  CHECK_EQ(isthmus_ring_recover(&c, dead_set, (void *)(uintptr_t)(1u << 1)), 1);
  CHECK_EQ(isthmus_ring_receive(&c, &rec), 0);
  check_payload(&rec, 100, 2);
  CHECK_EQ(rec.sender, 2);
  isthmus_ring_release(&c);
  /* the late commit of the recovered claim is aborted */
  CHECK_EQ(isthmus_ring_commit(&a, 100, 0, 0), -ECANCELED);
  /* wrap and full */
  uint64_t sent = 0, got = 0;
  for (int round = 0; round < 40; round++) {
    unsigned char *p;
    while ((p = isthmus_ring_loan(round & 1 ? &a : &b, 200, &rc)) != NULL) {
      fill(p, 200, sent++);
      CHECK_EQ(isthmus_ring_commit(round & 1 ? &a : &b, 200, 0, 0), 0);
    }
    CHECK_EQ(rc, -ENOSPC);
    while (isthmus_ring_receive(&c, &rec) == 0) check_payload(&rec, 200, got++);
    isthmus_ring_release(&c);
  }
  CHECK_EQ(sent, got);
  isthmus_region_close(&reg);
}

static void test_broadcast_block(void) {
  isthmus_ring pub, s1, s2;
  isthmus_region reg = mk(3, 0, 4096, 4, &pub);
  s1 = pub;
  s2 = pub;
  CHECK_EQ(isthmus_ring_join(&pub, ISTHMUS_ROLE_PUBLISHER, 0, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&s1, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&s2, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
  int rc;
  uint64_t sent = 0, g1 = 0, g2 = 0;
  isthmus_record rec;
  for (int round = 0; round < 30; round++) {
    unsigned char *p;
    while ((p = isthmus_ring_loan(&pub, 100, &rc)) != NULL) {
      fill(p, 100, sent++);
      CHECK_EQ(isthmus_ring_commit(&pub, 100, 0, 0), 0);
    }
    CHECK_EQ(rc, -ENOSPC);
    while (isthmus_ring_receive(&s1, &rec) == 0) { check_payload(&rec, 100, g1); CHECK_EQ(rec.seq, g1); g1++; }
    isthmus_ring_release(&s1);
    CHECK(isthmus_ring_loan(&pub, 100, &rc) == NULL); /* s2 holds it back */
    while (isthmus_ring_receive(&s2, &rec) == 0) check_payload(&rec, 100, g2++);
    isthmus_ring_release(&s2);
  }
  CHECK_EQ(g1, sent);
  CHECK_EQ(g2, sent);
  isthmus_region_close(&reg);
}

/* SPSC across processes: 1M messages through a 64 KiB ring, futex waits both ways. */
static void test_spsc_fork(void) {
  isthmus_ring r;
  isthmus_region reg = mk(1, 0, 65536, 4, &r);
  const uint64_t N = 1000000;
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    isthmus_ring cr = r;
    CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), 0);
    isthmus_record rec;
    for (uint64_t i = 0; i < N;) {
      int rc = isthmus_ring_receive(&cr, &rec);
      if (rc == -EAGAIN) { CHECK_EQ(isthmus_ring_wait_data(&cr, 5000000000LL), 0); continue; }
      CHECK_EQ(rc, 0);
      check_payload(&rec, 8 + (uint32_t)(i % 57), i);
      CHECK_EQ(rec.seq, (uint32_t)i);
      i++;
      if ((i & 15) == 0) isthmus_ring_release(&cr);
    }
    isthmus_ring_release(&cr);
    _exit(0);
  }
  CHECK_EQ(isthmus_ring_join(&r, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
  for (uint64_t i = 0; i < N;) {
    int rc;
    uint32_t n = 8 + (uint32_t)(i % 57);
    unsigned char *p = isthmus_ring_loan(&r, n, &rc);
    if (!p) { CHECK_EQ(rc, -ENOSPC); CHECK_EQ(isthmus_ring_wait_space(&r, n, 5000000000LL), 0); continue; }
    fill(p, n, i);
    CHECK_EQ(isthmus_ring_commit(&r, n, 0, 0), 0);
    i++;
  }
  int st;
  CHECK_EQ(waitpid(c, &st, 0), c);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  isthmus_region_close(&reg);
}

/* MPSC: 4 producer processes, one consumer; per-producer order and payload checked. */
static void test_mpsc_fork(void) {
  isthmus_ring r;
  isthmus_region reg = mk(2, 0, 65536, 8, &r);
  const uint64_t N = 100000;
  isthmus_ring cr = r;
  CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 1, 0, 0, 0), 0);
  pid_t kids[4];
  for (int k = 0; k < 4; k++) {
    kids[k] = fork();
    CHECK(kids[k] >= 0);
    if (kids[k] == 0) {
      isthmus_ring pr = r;
      CHECK_EQ(isthmus_ring_join(&pr, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
      for (uint64_t i = 0; i < N;) {
        int rc;
        unsigned char *p = isthmus_ring_loan(&pr, 40, &rc);
        if (!p) { CHECK_EQ(rc, -ENOSPC); CHECK_EQ(isthmus_ring_wait_space(&pr, 40, 5000000000LL), 0); continue; }
        fill(p, 40, i);
        CHECK_EQ(isthmus_ring_commit(&pr, 40, 0, 0), 0);
        i++;
      }
      _exit(0);
    }
  }
  uint64_t next[16] = {0}, total = 0;
  isthmus_record rec;
  while (total < 4 * N) {
    int rc = isthmus_ring_receive(&cr, &rec);
    if (rc == -EAGAIN) { CHECK_EQ(isthmus_ring_wait_data(&cr, 5000000000LL), 0); continue; }
    CHECK_EQ(rc, 0);
    CHECK(rec.sender >= 2 && rec.sender < 16);
    check_payload(&rec, 40, next[rec.sender]);
    next[rec.sender]++;
    total++;
    isthmus_ring_release(&cr);
  }
  for (int k = 0; k < 4; k++) {
    int st;
    CHECK_EQ(waitpid(kids[k], &st, 0), kids[k]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  isthmus_region_close(&reg);
}

/* kill -9 of an MPSC producer mid-claim: the consumer recovers through /proc liveness. */
static void test_mpsc_kill(void) {
  isthmus_ring r;
  isthmus_region reg = mk(2, 0, 4096, 4, &r);
  isthmus_ring cr = r, pr = r;
  CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 1, 0, 0, 0), 0);
  int pipefd[2];
  CHECK_EQ(pipe(pipefd), 0);
  pid_t c = fork();
  if (c == 0) {
    isthmus_ring hr = r;
    CHECK_EQ(isthmus_ring_join(&hr, ISTHMUS_ROLE_PRODUCER, 2, 0, 0, 0), 0);
    int rc;
    CHECK(isthmus_ring_loan(&hr, 100, &rc) != NULL);
    CHECK(write(pipefd[1], "x", 1) == 1);
    for (;;) pause();
  }
  char x;
  CHECK(read(pipefd[0], &x, 1) == 1);
  CHECK_EQ(isthmus_ring_join(&pr, ISTHMUS_ROLE_PRODUCER, 3, 0, 0, 0), 0);
  int rc;
  unsigned char *p = isthmus_ring_loan(&pr, 64, &rc);
  CHECK(p);
  fill(p, 64, 77);
  CHECK_EQ(isthmus_ring_commit(&pr, 64, 0, 0), 0);
  isthmus_record rec;
  CHECK_EQ(isthmus_ring_receive(&cr, &rec), -EAGAIN);
  CHECK_EQ(isthmus_ring_recover(&cr, NULL, NULL), 0); /* alive: waited for */
  kill(c, SIGKILL);
  int st;
  waitpid(c, &st, 0);
  CHECK_EQ(isthmus_ring_recover(&cr, NULL, NULL), 1);
  CHECK_EQ(isthmus_ring_receive(&cr, &rec), 0);
  check_payload(&rec, 64, 77);
  isthmus_region_close(&reg);
}

int main(void) {
  test_open_errors();
  test_spsc_basic();
  test_mpsc();
  test_broadcast_block();
  test_mpsc_kill();
  test_spsc_fork();
  test_mpsc_fork();
  printf("ring: ok\n");
  return 0;
}

/* Multi-process liveness and recovery (docs/ring.md §5, §6) and broadcast fan-out. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "isthmus/region.h"
#include "isthmus/ring.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static isthmus_region mk(uint32_t kind, uint32_t policy, uint32_t cap, uint32_t slots, isthmus_ring *r) {
  isthmus_region reg;
  CHECK_EQ(isthmus_region_create_memfd("stress", isthmus_ring_region_size(slots, cap), &reg), 0);
  isthmus_ring_params p = {kind, policy, slots, cap, cap / 2 - 32, 0, 50000000ull /* 50 ms */, 0, 0, 0, 0};
  CHECK_EQ(isthmus_ring_format(reg.base, reg.size, &p), 0);
  CHECK_EQ(isthmus_ring_open(reg.base, reg.size, 0, r, NULL, 0), 0);
  return reg;
}
static void fill(unsigned char *p, uint32_t n, uint64_t i) {
  memcpy(p, &i, 8);
  for (uint32_t k = 8; k < n; k++) p[k] = (unsigned char)((i + k) & 0xff);
}
static void check_payload(const isthmus_record *rec, uint32_t n, uint64_t i) {
  CHECK_EQ(rec->len, n);
  uint64_t got;
  memcpy(&got, rec->payload, 8);
  CHECK_EQ(got, i);
  for (uint32_t k = 8; k < n; k++) CHECK_EQ(rec->payload[k], (i + k) & 0xff);
}
static void send(isthmus_ring *r, uint32_t n, uint64_t i) {
  for (;;) {
    int rc;
    unsigned char *p = isthmus_ring_loan(r, n, &rc);
    if (p) { fill(p, n, i); CHECK_EQ(isthmus_ring_commit(r, n, 0, 0), 0); return; }
    CHECK_EQ(rc, -ENOSPC);
    CHECK_EQ(isthmus_ring_wait_space(r, n, 5000000000LL), 0);
  }
}
static void recv1(isthmus_ring *r, isthmus_record *rec) {
  for (;;) {
    int rc = isthmus_ring_receive(r, rec);
    if (rc == 0) return;
    CHECK_EQ(rc, -EAGAIN);
    CHECK_EQ(isthmus_ring_wait_data(r, 5000000000LL), 0);
  }
}
static void reap(pid_t c) {
  int st;
  CHECK_EQ(waitpid(c, &st, 0), c);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* kill -9 of an MPSC producer mid-claim: the waiting consumer carries on within
 * unblock_ns (50 ms) plus a liveness check, through wait_data alone. */
static void test_mpsc_kill_unblock(void) {
  isthmus_ring r;
  isthmus_region reg = mk(2, 0, 4096, 4, &r);
  isthmus_ring cr = r;
  CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), 0);
  int fd[2];
  CHECK_EQ(pipe(fd), 0);
  pid_t c = fork();
  if (c == 0) {
    isthmus_ring h = r;
    CHECK_EQ(isthmus_ring_join(&h, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
    int rc;
    CHECK(isthmus_ring_loan(&h, 100, &rc));
    CHECK(write(fd[1], "x", 1) == 1);
    for (;;) pause();
  }
  char x;
  CHECK(read(fd[0], &x, 1) == 1);
  pid_t p2 = fork();
  if (p2 == 0) {
    isthmus_ring pr = r;
    CHECK_EQ(isthmus_ring_join(&pr, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
    for (uint64_t i = 0; i < 20000; i++) send(&pr, 48, i);
    _exit(0);
  }
  usleep(20000);
  kill(c, SIGKILL);
  int64_t t0 = now_ns();
  int st;
  waitpid(c, &st, 0);
  isthmus_record rec;
  recv1(&cr, &rec);
  check_payload(&rec, 48, 0);
  int64_t waited = now_ns() - t0;
  CHECK(waited < 1000000000LL); /* unblock_ns 50 ms + liveness, far under a second */
  isthmus_ring_release(&cr);
  for (uint64_t i = 1; i < 20000; i++) {
    recv1(&cr, &rec);
    check_payload(&rec, 48, i);
    isthmus_ring_release(&cr);
  }
  reap(p2);
  isthmus_region_close(&reg);
}

/* kill -9 of an SPSC consumer mid-read: a new consumer takes over the dead one's role and
 * carries on from the last released record (unreleased records are delivered again). */
static void test_consumer_takeover(void) {
  isthmus_ring r;
  isthmus_region reg = mk(1, 0, 65536, 4, &r);
  isthmus_ring pr = r;
  CHECK_EQ(isthmus_ring_join(&pr, ISTHMUS_ROLE_PRODUCER, 0, 0, 0, 0), 0);
  for (uint64_t i = 0; i < 100; i++) send(&pr, 64, i);
  int fd[2];
  CHECK_EQ(pipe(fd), 0);
  pid_t c = fork();
  if (c == 0) {
    isthmus_ring cr = r;
    CHECK_EQ(isthmus_ring_join(&cr, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), 0);
    isthmus_record rec;
    for (uint64_t i = 0; i < 50; i++) { recv1(&cr, &rec); check_payload(&rec, 64, i); }
    isthmus_ring_release(&cr); /* 0..49 released */
    for (uint64_t i = 50; i < 60; i++) { recv1(&cr, &rec); check_payload(&rec, 64, i); }
    CHECK(write(fd[1], "x", 1) == 1); /* mid-read: 50..59 held, unreleased */
    for (;;) pause();
  }
  char x;
  CHECK(read(fd[0], &x, 1) == 1);
  isthmus_ring nc = r;
  CHECK_EQ(isthmus_ring_join(&nc, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), -EBUSY); /* alive: refused */
  kill(c, SIGKILL);
  int st;
  waitpid(c, &st, 0);
  CHECK_EQ(isthmus_ring_join(&nc, ISTHMUS_ROLE_CONSUMER, 0, 0, 0, 0), 0); /* dead: taken over */
  isthmus_record rec;
  for (uint64_t i = 50; i < 100; i++) { recv1(&nc, &rec); check_payload(&rec, 64, i); isthmus_ring_release(&nc); }
  CHECK_EQ(isthmus_ring_receive(&nc, &rec), -EAGAIN);
  isthmus_region_close(&reg);
}

/* Broadcast (block): one publisher, 3 subscriber processes, every one sees every message
 * in order; then a subscriber killed mid-read is freed after unblock_ns. */
static void test_broadcast_fanout(void) {
  isthmus_ring r;
  isthmus_region reg = mk(3, 0, 65536, 8, &r);
  const uint64_t N = 200000;
  int fd[2];
  CHECK_EQ(pipe(fd), 0);
  pid_t kids[3];
  for (int k = 0; k < 3; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      isthmus_ring s = r;
      CHECK_EQ(isthmus_ring_join(&s, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
      CHECK(write(fd[1], "x", 1) == 1);
      isthmus_record rec;
      for (uint64_t i = 0; i < N; i++) {
        recv1(&s, &rec);
        check_payload(&rec, 8 + (uint32_t)(i % 91), i);
        CHECK_EQ(rec.seq, (uint32_t)i);
        isthmus_ring_release(&s);
      }
      isthmus_ring_leave(&s);
      _exit(0);
    }
  }
  for (int k = 0; k < 3; k++) { char x; CHECK(read(fd[0], &x, 1) == 1); }
  isthmus_ring pub = r;
  CHECK_EQ(isthmus_ring_join(&pub, ISTHMUS_ROLE_PUBLISHER, 0, 0, 0, 0), 0);
  for (uint64_t i = 0; i < N; i++) send(&pub, 8 + (uint32_t)(i % 91), i);
  for (int k = 0; k < 3; k++) reap(kids[k]);
  /* a dead slow subscriber stops holding the publisher back */
  pid_t c = fork();
  if (c == 0) {
    isthmus_ring s = r;
    CHECK_EQ(isthmus_ring_join(&s, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
    CHECK(write(fd[1], "x", 1) == 1);
    for (;;) pause();
  }
  char x;
  CHECK(read(fd[0], &x, 1) == 1);
  int rc;
  while (isthmus_ring_loan(&pub, 1000, &rc)) CHECK_EQ(isthmus_ring_commit(&pub, 1000, 0, 0), 0);
  CHECK_EQ(rc, -ENOSPC);
  CHECK_EQ(isthmus_ring_wait_space(&pub, 1000, 100000000LL), -ETIMEDOUT); /* alive: waited for */
  kill(c, SIGKILL);
  int st;
  waitpid(c, &st, 0);
  int64_t t0 = now_ns();
  CHECK_EQ(isthmus_ring_wait_space(&pub, 1000, 5000000000LL), 0);
  CHECK(now_ns() - t0 < 1000000000LL);
  CHECK(isthmus_ring_loan(&pub, 1000, &rc) != NULL);
  isthmus_ring_abort(&pub);
  isthmus_region_close(&reg);
}

/* Broadcast (overwrite): the publisher never waits; a lapped subscriber reports the gap
 * and then reads intact copies; concurrent subscriber processes never see a torn record. */
static void test_overwrite(void) {
  isthmus_ring r;
  isthmus_region reg = mk(3, 1, 4096, 4, &r);
  isthmus_ring pub = r, sub = r;
  CHECK_EQ(isthmus_ring_join(&pub, ISTHMUS_ROLE_PUBLISHER, 0, 0, 0, 0), 0);
  CHECK_EQ(isthmus_ring_join(&sub, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
  for (uint64_t i = 0; i < 100; i++) send(&pub, 200, i);
  isthmus_record rec;
  CHECK_EQ(isthmus_ring_receive(&sub, &rec), 0);
  check_payload(&rec, 200, 99);
  CHECK_EQ(rec.gap, 99);
  CHECK_EQ(isthmus_ring_receive(&sub, &rec), -EAGAIN);
  isthmus_ring_release(&sub);
  isthmus_ring_leave(&sub);
  pid_t c = fork();
  if (c == 0) {
    isthmus_ring s = r;
    CHECK_EQ(isthmus_ring_join(&s, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0), 0);
    uint64_t seen = 0, last = 0;
    int64_t end = now_ns() + 300000000LL;
    while (now_ns() < end) {
      int rc = isthmus_ring_receive(&s, &rec);
      if (rc == -EAGAIN) continue;
      CHECK_EQ(rc, 0);
      uint64_t i;
      memcpy(&i, rec.payload, 8);
      check_payload(&rec, 8 + (uint32_t)(i % 300), i); /* intact copy */
      if (!(seen == 0 || i == last + 1 + rec.gap)) { fprintf(stderr, "i %llu last %llu gap %u seq %u\n", (unsigned long long)i, (unsigned long long)last, rec.gap, rec.seq); exit(1); }
      last = i;
      seen++;
      isthmus_ring_release(&s);
    }
    CHECK(seen > 0);
    _exit(0);
  }
  int64_t end = now_ns() + 400000000LL;
  for (uint64_t i = 100; now_ns() < end; i++) send(&pub, 8 + (uint32_t)(i % 300), i);
  reap(c);
  isthmus_region_close(&reg);
}

int main(void) {
  test_mpsc_kill_unblock();
  test_consumer_takeover();
  test_broadcast_fanout();
  test_overwrite();
  printf("stress: ok\n");
  return 0;
}

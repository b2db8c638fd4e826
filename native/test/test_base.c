/* Regions, shared futexes and liveness: the API the addon and the rings build on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "isthmus/notify.h"
#include "isthmus/proc.h"
#include "isthmus/region.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_memfd(void) {
  isthmus_region r;
  CHECK_EQ(isthmus_region_create_memfd("t", 8192, &r), 0);
  CHECK(r.base && r.size == 8192 && r.fd >= 0);
  CHECK_EQ(((unsigned char *)r.base)[8191], 0);
  int s = isthmus_region_seals(&r);
  CHECK(s >= 0);
  CHECK((s & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
  CHECK(ftruncate(r.fd, 4096) != 0); /* sealed */
  /* open_fd dups: the second mapping sees the first one's writes */
  isthmus_region r2;
  CHECK_EQ(isthmus_region_open_fd(r.fd, &r2), 0);
  CHECK(r2.fd != r.fd && r2.size == 8192);
  ((volatile char *)r.base)[100] = 42;
  CHECK_EQ(((volatile char *)r2.base)[100], 42);
  isthmus_region_close(&r2);
  isthmus_region_close(&r);
  CHECK(r.fd == -1 && r.base == NULL);
  isthmus_region_close(&r); /* idempotent */
  CHECK_EQ(isthmus_region_create_memfd("t", 0, &r), -EINVAL);
  CHECK_EQ(isthmus_region_open_fd(-1, &r), -EBADF);
}

static void test_path_and_shm(void) {
  char path[] = "/tmp/isthmus-test-XXXXXX";
  int tfd = mkstemp(path);
  CHECK(tfd >= 0);
  close(tfd);
  unlink(path);
  isthmus_region a, b;
  CHECK_EQ(isthmus_region_create_path(path, 4096, 0, &a), 0);
  CHECK_EQ(isthmus_region_create_path(path, 4096, 0, &b), -EEXIST);
  CHECK_EQ(isthmus_region_open_path(path, &b), 0);
  CHECK_EQ(b.size, 4096);
  ((volatile char *)a.base)[7] = 9;
  CHECK_EQ(((volatile char *)b.base)[7], 9);
  isthmus_region_close(&a);
  isthmus_region_close(&b);
  unlink(path);
  CHECK_EQ(isthmus_region_open_path(path, &b), -ENOENT);

  char name[64];
  snprintf(name, sizeof name, "/isthmus-test-%d", (int)getpid());
  CHECK_EQ(isthmus_region_create_shm(name, 4096, 0600, &a), 0);
  CHECK_EQ(isthmus_region_create_shm(name, 4096, 0600, &b), -EEXIST);
  CHECK_EQ(isthmus_region_open_shm(name, &b), 0);
  ((volatile char *)a.base)[1] = 5;
  CHECK_EQ(((volatile char *)b.base)[1], 5);
  isthmus_region_close(&a);
  isthmus_region_close(&b);
  shm_unlink(name);
  CHECK_EQ(isthmus_region_open_shm(name, &b), -ENOENT);
}

static void test_futex(void) {
  isthmus_region r;
  CHECK_EQ(isthmus_region_create_memfd("futex", 4096, &r), 0);
  _Atomic uint32_t *w = (_Atomic uint32_t *)r.base;
  uint32_t *raw = (uint32_t *)r.base;
  /* value differs */
  atomic_store(w, 3);
  CHECK_EQ(isthmus_futex_wait(raw, 2, 1000000), -EAGAIN);
  /* timeout, bounded */
  int64_t t0 = now_ns();
  CHECK_EQ(isthmus_futex_wait(raw, 3, 20000000), -ETIMEDOUT);
  int64_t dt = now_ns() - t0;
  CHECK(dt >= 15000000 && dt < 2000000000);
  /* negative timeout is 0, not forever */
  CHECK_EQ(isthmus_futex_wait(raw, 3, -1), -ETIMEDOUT);
  /* misaligned */
  CHECK_EQ(isthmus_futex_wait((const uint32_t *)((char *)r.base + 2), 0, 0), -EINVAL);
  /* cross-process wake: the child parks, the parent bumps and wakes */
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    int64_t start = now_ns();
    while (atomic_load(w) == 3) {
      int rc = isthmus_futex_wait(raw, 3, 5000000000LL);
      if (rc == -ETIMEDOUT) _exit(2);
    }
    _exit(now_ns() - start < 4000000000LL ? 0 : 3);
  }
  int woken = 0;
  for (int i = 0; i < 200 && woken == 0; i++) {
    usleep(5000);
    atomic_store(w, 4);
    woken = isthmus_futex_wake(raw, INT32_MAX);
    CHECK(woken >= 0);
  }
  int st;
  CHECK_EQ(waitpid(c, &st, 0), c);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK_EQ(isthmus_futex_wake(raw, 1), 0); /* nobody waits */
  isthmus_region_close(&r);
}

static void test_proc(void) {
  uint64_t me;
  CHECK_EQ(isthmus_proc_start_time(getpid(), &me), 0);
  CHECK_EQ(isthmus_proc_alive(getpid(), me), 1);
  CHECK_EQ(isthmus_proc_alive(getpid(), me + 1), 0); /* recycled pid look-alike */
  CHECK_EQ(isthmus_proc_start_time(0, &me), -EINVAL);
  pid_t c = fork();
  CHECK(c >= 0);
  if (c == 0) {
    pause();
    _exit(0);
  }
  uint64_t cs;
  CHECK_EQ(isthmus_proc_start_time(c, &cs), 0);
  CHECK(cs >= me);
  CHECK_EQ(isthmus_proc_alive(c, cs), 1);
  kill(c, SIGKILL);
  /* Killed and not yet reaped: a zombie keeps /proc/<pid>/stat and its start time, but it is
   * dead (docs/ring.md §5). Wait (without reaping) until the kernel shows it as Z. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT), 0);
  uint64_t zs;
  CHECK_EQ(isthmus_proc_start_time(c, &zs), 0);
  CHECK_EQ(zs, cs);
  CHECK_EQ(isthmus_proc_alive(c, cs), 0);
  int st;
  waitpid(c, &st, 0);
  CHECK_EQ(isthmus_proc_alive(c, cs), 0);
  CHECK_EQ(isthmus_proc_start_time(c, &cs), -ESRCH);
}

int main(void) {
  test_memfd();
  test_path_and_shm();
  test_futex();
  test_proc();
  printf("base: ok\n");
  return 0;
}

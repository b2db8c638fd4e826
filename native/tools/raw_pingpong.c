/* raw_pingpong: the physical limit of a cross-process round trip on this machine. Two
 * processes share one MAP_SHARED anonymous mapping and spin on one atomic u32 each way
 * (no ring, no futex). Prints {"p50_ns":..,"p99_ns":..,"max_ns":..} of one-way latency
 * (round trip / 2), the same JSON as `isthmus_ringtool pingpong`.
 *
 *   raw_pingpong [iterations]     (default 100000)
 *
 * Shared mapping: ping word at offset 0, pong word at offset 64 (separate cache lines).
 * The pinger store_release(ping, i); the ponger load_acquire(ping) == i, then
 * store_release(pong, i); the pinger load_acquire(pong) == i ends the round trip. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
  uint32_t iters = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100000;
  if (iters == 0) iters = 1;
  uint32_t warm = iters / 10, total = iters + warm;
  unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) { perror("mmap"); return 1; }
  _Atomic uint32_t *ping = (_Atomic uint32_t *)m, *pong = (_Atomic uint32_t *)(m + 64);
  pid_t c = fork();
  if (c < 0) { perror("fork"); return 1; }
  if (c == 0) {
    for (uint32_t i = 1; i <= total; i++) {
      while (atomic_load_explicit(ping, memory_order_acquire) != i) {
      }
      atomic_store_explicit(pong, i, memory_order_release);
    }
    _exit(0);
  }
  int64_t *s = malloc(sizeof(int64_t) * iters);
  for (uint32_t i = 1; i <= total; i++) {
    int64_t t0 = now_ns();
    atomic_store_explicit(ping, i, memory_order_release);
    while (atomic_load_explicit(pong, memory_order_acquire) != i) {
    }
    if (i > warm) s[i - warm - 1] = (now_ns() - t0) / 2;
  }
  int st;
  waitpid(c, &st, 0);
  qsort(s, iters, sizeof(int64_t), cmp64);
  printf("{\"p50_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld,\"samples\":%u}\n", (long long)s[iters / 2],
         (long long)s[((uint64_t)iters * 99) / 100], (long long)s[iters - 1], iters);
  free(s);
  return 0;
}

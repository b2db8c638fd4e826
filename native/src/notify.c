/* Shared futexes (include/isthmus/notify.h, docs/ring.md §3). */
#define _GNU_SOURCE
#include "isthmus/notify.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int isthmus_futex_wait(const uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
  if (!addr || ((uintptr_t)addr & 3u)) return -EINVAL;
  if (timeout_ns < 0) timeout_ns = 0; /* never forever */
  struct timespec ts;
  ts.tv_sec = (time_t)(timeout_ns / 1000000000);
  ts.tv_nsec = (long)(timeout_ns % 1000000000);
  /* FUTEX_WAIT without FUTEX_PRIVATE_FLAG: keyed on the page, so it matches wakes from
   * other processes mapping the same object. The relative timeout is CLOCK_MONOTONIC. */
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT, expected, &ts, NULL, 0);
  if (rc == 0) return 0;
  int e = errno;
  if (e == EWOULDBLOCK) return -EAGAIN;
  return -e;
}

int isthmus_futex_wake(const uint32_t *addr, int count) {
  if (!addr || ((uintptr_t)addr & 3u)) return -EINVAL;
  if (count <= 0) return 0;
  long rc = syscall(SYS_futex, addr, FUTEX_WAKE, count, NULL, NULL, 0);
  return rc < 0 ? -errno : (int)rc;
}

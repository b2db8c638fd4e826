/* Cross-process wake-ups: shared (not private) futexes on a u32 inside a region
 * (docs/ring.md §3). The word must be naturally aligned (4 bytes) and lie in a
 * MAP_SHARED mapping for a wake in one process to reach a waiter in another. */
#ifndef ISTHMUS_NOTIFY_H
#define ISTHMUS_NOTIFY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sleeps while *addr == expected, at most timeout_ns (a negative timeout is NOT
 * "forever": it is treated as 0, every wait is bounded).
 * Returns 0 woken (or spurious: callers re-check), -EAGAIN the value differed,
 * -ETIMEDOUT, -EINTR (a signal), -EINVAL (misaligned address). */
int isthmus_futex_wait(const uint32_t *addr, uint32_t expected, int64_t timeout_ns);
/* Wakes up to `count` waiters on addr (INT32_MAX: all). Returns the number woken or -errno. */
int isthmus_futex_wake(const uint32_t *addr, int count);

#ifdef __cplusplus
}
#endif
#endif

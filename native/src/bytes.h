/* Private helpers of the C core (not installed): unaligned little-endian field access,
 * the atomic word at a byte offset, the monotonic clock and error-message formatting.
 * The core only builds for little-endian hosts (docs/ring.md: all fields are LE), so a
 * field is read and written with memcpy in host order. */
#ifndef ISTHMUS_SRC_BYTES_H
#define ISTHMUS_SRC_BYTES_H
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef _Atomic uint32_t au32;

/* The u32 at base + off as an atomic; the caller guarantees off is 4-aligned and inside
 * the mapping. */
static inline au32 *A(const void *base, size_t off) { return (au32 *)((unsigned char *)base + off); }
static inline void put32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t get32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static inline int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Formats a message into err (may be NULL) and returns rc: `return fail(err, n, -EINVAL, ...)`. */
static inline int fail(char *err, size_t errlen, int rc, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

#endif

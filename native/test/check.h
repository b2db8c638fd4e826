/* Tiny assertion helpers for the native tests: a failed CHECK prints the file, line and
 * expression and exits 1 (so a forked child's failure reaches the parent's waitpid). */
#ifndef ISTHMUS_TEST_CHECK_H
#define ISTHMUS_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#define CHECK(e)                                                              \
  do {                                                                        \
    if (!(e)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #e);  \
      exit(1);                                                                \
    }                                                                         \
  } while (0)
#define CHECK_EQ(a, b)                                                                  \
  do {                                                                                  \
    long long _a = (long long)(a), _b = (long long)(b);                                 \
    if (_a != _b) {                                                                     \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__,      \
              __LINE__, #a, _a, #b, _b);                                                \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)
#endif

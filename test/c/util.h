/*
 * Helpers shared by the C test programs in test/c/.
 */
#ifndef ISTHMUS_TEST_UTIL_H
#define ISTHMUS_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a buffer of exactly its size (so ASan sees any overrun); malloc aligns it to 16. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = n >= 0 ? (uint8_t *)malloc(n > 0 ? (size_t)n : 1) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

#endif

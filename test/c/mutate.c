/*
 * Random byte mutations under ASan/UBSan: for each of N seeded mutations of a golden
 * vector, isthmus_verify() either rejects it, or accepts it and the JSON walker then reads
 * only inside the buffer. Prints "<accepted> <rejected>" and a code histogram line.
 *
 *   mutate-<schema> <Type> <file.bin> <iterations> <seed>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include SCHEMA_HEADER

static uint64_t state;
static uint32_t next_rand(void) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(state >> 33);
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const isthmus_type *t = NULL;
  for (const isthmus_type *const *p = SCHEMA_MESSAGES; *p; p++)
    if (!strcmp((*p)->name, argv[1])) t = *p;
  FILE *f = fopen(argv[2], "rb");
  if (!t || !f) return 2;
  static uint8_t golden[1 << 16];
  size_t len = fread(golden, 1, sizeof golden, f);
  fclose(f);
  long iterations = atol(argv[3]);
  state = strtoull(argv[4], NULL, 10);
  long accepted = 0, codes[16] = {0};
  size_t cap = 1 << 20;
  char *json = (char *)malloc(cap);
  for (long i = 0; i < iterations; i++) {
    size_t n = next_rand() % 2 ? len : next_rand() % (len + 1);
    uint8_t *b = (uint8_t *)malloc(n ? n : 1);
    memcpy(b, golden, n);
    int edits = 1 + (int)(next_rand() % 4);
    for (int k = 0; k < edits && n; k++) {
      size_t at = next_rand() % n;
      if (next_rand() % 2 && at + 4 <= n) isthmus_st32(b + (at & ~(size_t)3), next_rand() >> (next_rand() % 32));
      else b[at] = (uint8_t)next_rand();
    }
    isthmus_error err;
    if (isthmus_verify(t, b, n, &err) == 0) {
      accepted++;
      isthmus_to_json(t, b, n, json, cap);
    } else {
      codes[err.code & 15]++;
    }
    /* Unverified reads stay inside the buffer too. */
    isthmus_to_json(t, b, n, json, cap);
    free(b);
  }
  printf("%ld %ld\n", accepted, iterations - accepted);
  for (int c = 1; c < 10; c++) printf("%s=%ld ", isthmus_code_name((isthmus_code)c), codes[c]);
  printf("\n");
  free(json);
  return 0;
}

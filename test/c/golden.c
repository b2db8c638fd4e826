/*
 * The C side of the golden-vector tests, in its own process. Built once per schema:
 *
 *   cc -std=c11 -DSCHEMA_HEADER='"market.h"' -DSCHEMA_MESSAGES=isthmus_messages_market \
 *      -I<generated headers> -I bindings/c/include test/c/golden.c -o golden-market
 *
 *   golden-market decode <Type> <file.bin>   verify, then print the JSON value (exit 1 and
 *                                            the verify line when it fails)
 *   golden-market encode <Type> <file.json>  canonical bytes of a JSON value to stdout; on
 *                                            failure exit 1, "CODE path: message" on stderr
 *   golden-market verify <Type> <file.bin>   "OK", or "CODE path offset value: message"
 *   golden-market mutate <Type> <file.bin> <iterations> <seed>
 *       random byte mutations and truncations: each one is verified; accepted ones are
 *       printed as JSON, every one is also printed unverified (both must stay in bounds,
 *       which the ASan build checks). Prints "<accepted> <rejected>" and a code histogram.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include SCHEMA_HEADER
#include "isthmus/json_encode.h"
#include "util.h"

static const isthmus_type *find_type(const char *name) {
  for (const isthmus_type *const *t = SCHEMA_MESSAGES; *t; t++)
    if (!strcmp((*t)->name, name)) return *t;
  return NULL;
}


static void print_error(FILE *to, const isthmus_error *err) {
  fprintf(to, "%s %s %u %lld: %s\n", isthmus_error_code_name(err->code), err->path, err->offset, (long long)err->value, err->message);
}

static char *to_json(const isthmus_type *t, const uint8_t *msg, size_t len) {
  size_t need = isthmus_to_json(t, msg, len, NULL, 0);
  char *out = (char *)malloc(need + 1);
  if (out && isthmus_to_json(t, msg, len, out, need + 1) != need) abort();
  return out;
}

static uint64_t rng_state;
static uint32_t next_rand(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33);
}

static int mutate(const isthmus_type *t, const uint8_t *golden, size_t len, long iterations) {
  long accepted = 0, codes[16] = {0};
  for (long i = 0; i < iterations; i++) {
    size_t n = next_rand() % 4 ? len : next_rand() % (len + 1);
    uint8_t *b = (uint8_t *)malloc(n ? n : 1);
    if (!b) return 1;
    memcpy(b, golden, n);
    int edits = 1 + (int)(next_rand() % 4);
    for (int k = 0; k < edits && n; k++) {
      size_t at = next_rand() % n;
      /* Half the edits write a whole u32 (a plausible offset, count or tag) at a 4-aligned spot. */
      if (next_rand() % 2 && (at & ~(size_t)3) + 4 <= n) isthmus_store_u32(b + (at & ~(size_t)3), next_rand() >> (next_rand() % 32));
      else b[at] = (uint8_t)next_rand();
    }
    isthmus_error err;
    char *json;
    if (isthmus_verify(t, b, n, &err) == 0) {
      accepted++;
      json = to_json(t, b, n);
      if (!json || json[0] != '{') { fprintf(stderr, "accepted mutation %ld did not decode\n", i); return 1; }
      free(json);
    } else {
      codes[err.code & 15]++;
    }
    free(to_json(t, b, n));
    free(b);
  }
  printf("%ld %ld\n", accepted, iterations - accepted);
  for (int c = 1; c <= ISTHMUS_E_BAD_UNION; c++) printf("%s=%ld ", isthmus_error_code_name((isthmus_code)c), codes[c]);
  printf("\n");
  return 0;
}

int main(int argc, char **argv) {
  int mut = argc == 6 && !strcmp(argv[1], "mutate");
  if (argc != 4 && !mut) {
    fprintf(stderr, "usage: %s decode|encode|verify <Type> <file> | mutate <Type> <file> <iterations> <seed>\n", argv[0]);
    return 2;
  }
  const isthmus_type *t = find_type(argv[2]);
  if (!t) {
    fprintf(stderr, "unknown message type '%s'\n", argv[2]);
    return 2;
  }
  size_t len;
  uint8_t *data = read_file(argv[3], &len);
  if (!data) {
    fprintf(stderr, "can not read '%s'\n", argv[3]);
    return 2;
  }
  int rc = 0;
  isthmus_error err;
  if (mut) {
    rng_state = strtoull(argv[5], NULL, 10);
    rc = mutate(t, data, len, atol(argv[4]));
  } else if (!strcmp(argv[1], "verify") || !strcmp(argv[1], "decode")) {
    if (isthmus_verify(t, data, len, &err)) {
      print_error(stdout, &err);
      rc = !strcmp(argv[1], "decode");
    } else if (!strcmp(argv[1], "verify")) {
      printf("OK\n");
    } else {
      char *json = to_json(t, data, len);
      printf("%s\n", json);
      free(json);
    }
  } else if (!strcmp(argv[1], "encode")) {
    size_t cap = 1u << 20, n = 0;
    void *out = malloc(cap);
    if (isthmus_encode_json(t, (const char *)data, len, out, cap, &n, &err)) {
      fprintf(stderr, "%s %s: %s\n", isthmus_error_code_name(err.code), err.path, err.message);
      rc = 1;
    } else {
      fwrite(out, 1, n, stdout);
    }
    free(out);
  } else {
    fprintf(stderr, "unknown command '%s'\n", argv[1]);
    rc = 2;
  }
  free(data);
  return rc;
}

/*
 * The C side of the golden-vector tests, in its own process. Built once per schema:
 *
 *   cc -std=c11 -DSCHEMA_HEADER='"market.h"' -DSCHEMA_MESSAGES=market_MESSAGES \
 *      -I<generated headers> -I bindings/c/include test/c/golden.c -o golden-market
 *
 *   golden-market decode <Type> <file.bin>    prints the JSON value (exit 1 if verify fails)
 *   golden-market encode <Type> <file.json>   writes the canonical bytes of a JSON value to stdout
 *   golden-market verify <Type> <file.bin>    prints OK, or CODE path offset value
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include SCHEMA_HEADER
#include "isthmus/json_encode.h"

static const isthmus_type *find_type(const char *name) {
  for (const isthmus_type *const *t = SCHEMA_MESSAGES; *t; t++)
    if (!strcmp((*t)->name, name)) return *t;
  return NULL;
}

/* Reads a whole file into an 8-aligned buffer of exactly its size (so ASan sees any overrun). */
static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s decode|encode|verify <Type> <file>\n", argv[0]);
    return 2;
  }
  const isthmus_type *t = find_type(argv[2]);
  if (!t) {
    fprintf(stderr, "unknown message type '%s'\n", argv[2]);
    return 2;
  }
  size_t len;
  void *data = read_file(argv[3], &len);
  if (!data) {
    fprintf(stderr, "can not read '%s'\n", argv[3]);
    return 2;
  }
  int rc = 0;
  isthmus_error err;
  if (!strcmp(argv[1], "verify") || !strcmp(argv[1], "decode")) {
    if (isthmus_verify(t, data, len, &err)) {
      printf("%s %s %u %lld\n", isthmus_code_name(err.code), err.path, err.offset, (long long)err.value);
      rc = !strcmp(argv[1], "decode");
    } else if (!strcmp(argv[1], "verify")) {
      printf("OK\n");
    } else {
      size_t need = isthmus_to_json(t, data, len, NULL, 0);
      char *out = (char *)malloc(need + 1);
      isthmus_to_json(t, data, len, out, need + 1);
      printf("%s\n", out);
      free(out);
    }
  } else if (!strcmp(argv[1], "encode")) {
    size_t cap = 1u << 20, n = 0;
    void *out = malloc(cap);
    if (isthmus_encode_json(t, (const char *)data, len, out, cap, &n, &err)) {
      fprintf(stderr, "encode failed at %s (value %lld)\n", err.path, (long long)err.value);
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

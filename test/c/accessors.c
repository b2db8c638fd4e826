/*
 * The generated accessors and builders of market.h and kitchen.h, in their own process:
 *
 *   accessors market <file.bin>    verify, then print the message as JSON read through the
 *                                  generated accessors only (same form as the golden value)
 *   accessors kitchen <file.bin>   verify, then print a JSON digest of kitchen.Everything
 *                                  read through the generated accessors
 *   accessors build                write book_full built with the builder helpers to stdout
 *   accessors capacity             build book_full into every capacity below its size: each
 *                                  build must fail, writing nothing past the capacity (ASan)
 *   accessors probe <file.bin> <iterations> <seed>
 *                                  call every accessor on unverified random mutations and
 *                                  truncations of a market or kitchen message (ASan)
 *
 * cc -std=c11 -I<generated headers> -I bindings/c/include test/c/accessors.c
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "kitchen.h"
#include "market.h"


/* Strings in the test data need no escaping beyond these. */
static void put_str(isthmus_str s) {
  putchar('"');
  for (uint32_t i = 0; i < s.len; i++) {
    if (s.ptr[i] == '"' || s.ptr[i] == '\\') putchar('\\');
    putchar(s.ptr[i]);
  }
  putchar('"');
}

static void put_levels(const void *msg, size_t len, isthmus_span levels) {
  const market_Level *lv = (const market_Level *)levels.ptr;
  putchar('[');
  for (uint32_t i = 0; i < levels.count; i++)
    printf("%s{\"price\":{\"mantissa\":\"%" PRId64 "\",\"exponent\":%d},\"qty\":\"%" PRIu64 "\",\"orders\":%" PRIu32 "}", i ? "," : "",
           lv[i].price.mantissa, lv[i].price.exponent, lv[i].qty, lv[i].orders);
  putchar(']');
  (void)msg;
  (void)len;
}

static int print_market(const uint8_t *msg, size_t len) {
  isthmus_error err;
  if (market_BookUpdate_verify(msg, len, &err)) {
    printf("%s %s: %s\n", isthmus_error_code_name(err.code), err.path, err.message);
    return 1;
  }
  const market_BookUpdate *m = market_BookUpdate_fixed(msg);
  printf("{\"seq\":\"%" PRIu64 "\",\"ts_ns\":\"%" PRIu64 "\",\"instrument_id\":%" PRIu32 ",\"side\":\"%s\",\"symbol\":", m->seq, m->ts_ns, m->instrument_id,
         m->side == market_Side_bid ? "bid" : "ask");
  put_str(market_BookUpdate_symbol(msg, len));
  printf(",\"venue\":");
  put_str(market_BookUpdate_venue(msg, len));
  printf(",\"bids\":");
  put_levels(msg, len, market_BookUpdate_bids(msg, len));
  printf(",\"asks\":");
  put_levels(msg, len, market_BookUpdate_asks(msg, len));
  if (market_BookUpdate_has_trade_id(msg, len)) printf(",\"trade_id\":\"%" PRIu64 "\"}\n", market_BookUpdate_trade_id(msg, len));
  else printf(",\"trade_id\":null}\n");
  return 0;
}

static void put_str_list(const void *msg, size_t len, isthmus_span refs) {
  const isthmus_ref *r = (const isthmus_ref *)refs.ptr;
  putchar('[');
  for (uint32_t i = 0; i < refs.count; i++) {
    if (i) putchar(',');
    put_str(isthmus_str_get(msg, len, &r[i]));
  }
  putchar(']');
}

static const char *const PAYLOAD_CASES[] = {NULL, "point", "text", "named", "number", "list"};

/* One union value as {"<case>": <digest>}: the case getters of kitchen.Payload. */
static void put_payload(const void *msg, size_t len, const isthmus_union_ref *u) {
  const kitchen_Point *p = kitchen_Payload_point(msg, len, u);
  const isthmus_ref *text = kitchen_Payload_text(msg, len, u);
  const kitchen_Named *named = kitchen_Payload_named(msg, len, u);
  const int64_t *number = kitchen_Payload_number(msg, len, u);
  const isthmus_ref *list = kitchen_Payload_list(msg, len, u);
  if (p) printf("{\"point\":[%g,%g,%d]}", p->x, p->y, p->flag);
  else if (text) { printf("{\"text\":"); put_str(isthmus_str_get(msg, len, text)); putchar('}'); }
  else if (named) { printf("{\"named\":"); put_str(kitchen_Named_name(msg, len, named)); putchar('}'); }
  else if (number) printf("{\"number\":\"%" PRId64 "\"}", *number);
  else if (list) {
    isthmus_span s = isthmus_vector_get(msg, len, list, 2);
    printf("{\"list\":[");
    for (uint32_t i = 0; i < s.count; i++) printf("%s%u", i ? "," : "", ((const uint16_t *)s.ptr)[i]);
    printf("]}");
  } else printf("null");
}

static int print_kitchen(const uint8_t *msg, size_t len) {
  isthmus_error err;
  if (kitchen_Everything_verify(msg, len, &err)) {
    printf("%s %s: %s\n", isthmus_error_code_name(err.code), err.path, err.message);
    return 1;
  }
  const kitchen_Everything *m = kitchen_Everything_fixed(msg);
  printf("{\"labels\":[");
  put_str(isthmus_str_get(msg, len, &m->labels[0]));
  putchar(',');
  put_str(isthmus_str_get(msg, len, &m->labels[1]));
  printf("],\"name\":");
  put_str(kitchen_Everything_name(msg, len));
  isthmus_bytes blob = kitchen_Everything_blob(msg, len);
  printf(",\"blob_len\":%" PRIu32 ",\"words\":", blob.len);
  put_str_list(msg, len, kitchen_Everything_words(msg, len));
  printf(",\"people\":[");
  isthmus_span people = kitchen_Everything_people(msg, len);
  for (uint32_t i = 0; i < people.count; i++) {
    const kitchen_Named *p = (const kitchen_Named *)people.ptr + i;
    printf("%s{\"name\":", i ? "," : "");
    put_str(kitchen_Named_name(msg, len, p));
    printf(",\"tags\":");
    put_str_list(msg, len, kitchen_Named_tags(msg, len, p));
    printf(",\"nick\":");
    if (kitchen_Named_has_nick(msg, len, p)) put_str(kitchen_Named_nick(msg, len, p));
    else printf("null");
    putchar('}');
  }
  printf("],\"matrix\":[");
  isthmus_span rows = kitchen_Everything_matrix(msg, len);
  for (uint32_t i = 0; i < rows.count; i++) {
    isthmus_span row = isthmus_vector_get(msg, len, (const isthmus_ref *)rows.ptr + i, 1);
    printf("%s[", i ? "," : "");
    for (uint32_t k = 0; k < row.count; k++) printf("%s%u", k ? "," : "", ((const uint8_t *)row.ptr)[k]);
    putchar(']');
  }
  printf("],\"payload\":");
  put_payload(msg, len, &m->payload);
  printf(",\"payloads\":[");
  isthmus_span payloads = kitchen_Everything_payloads(msg, len);
  for (uint32_t i = 0; i < payloads.count; i++) {
    if (i) putchar(',');
    put_payload(msg, len, (const isthmus_union_ref *)payloads.ptr + i);
  }
  printf("],\"maybe_u32\":");
  if (kitchen_Everything_has_maybe_u32(msg, len)) printf("%" PRIu32, kitchen_Everything_maybe_u32(msg, len));
  else printf("null");
  const kitchen_Point *mp = kitchen_Everything_maybe_point(msg, len);
  if (mp) printf(",\"maybe_point\":[%g,%g,%d]", mp->x, mp->y, mp->flag);
  else printf(",\"maybe_point\":null");
  printf(",\"has_added\":%d,\"added\":%" PRId32 ",\"added_text\":", kitchen_Everything_has_added(msg, len), kitchen_Everything_added(msg, len));
  if (kitchen_Everything_has_added_text(msg, len)) put_str(kitchen_Everything_added_text(msg, len));
  else printf("null");
  printf(",\"payload_case\":\"%s\"}\n", m->payload.tag <= 5 && m->payload.tag ? PAYLOAD_CASES[m->payload.tag] : "");
  return 0;
}

/* book_full.json, written with the builder helpers in depth-first pre-order. Returns its size, or 0. */
static size_t build_book(void *buf, size_t cap) {
  isthmus_builder b;
  market_BookUpdate *m = market_BookUpdate_builder_init(&b, buf, cap);
  if (m) {
    static const struct { int64_t mantissa; int8_t exponent; uint64_t qty; uint32_t orders; } levels[5] = {
      {108345, -5, 1000000, 3}, {108344, -5, 2500000, 7}, {108340, -5, UINT64_MAX, UINT32_MAX}, {108347, -5, 500000, 1}, {-1, 127, 0, 0}};
    m->seq = UINT64_C(9007199254740993);
    m->ts_ns = UINT64_C(1763821020123456789);
    m->instrument_id = 4242;
    m->side = market_Side_bid;
    market_BookUpdate_set_symbol(&b, m, "EURUSD", 6);
    market_BookUpdate_set_venue(&b, m, "XLON", 4);
    market_Level *bids = market_BookUpdate_init_bids(&b, m, 3);
    market_Level *asks = bids ? market_BookUpdate_init_asks(&b, m, 2) : NULL;
    for (int i = 0; asks && i < 5; i++) {
      market_Level *lv = i < 3 ? &bids[i] : &asks[i - 3];
      lv->price.mantissa = levels[i].mantissa;
      lv->price.exponent = levels[i].exponent;
      lv->qty = levels[i].qty;
      lv->orders = levels[i].orders;
    }
    market_BookUpdate_set_trade_id(m, 77);
  }
  return isthmus_builder_finish(&b);
}

static uint64_t rng_state;
static uint32_t next_rand(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33);
}

/* Sums what every accessor returns, so that none of the reads can be optimized away. */
static uint64_t touch_market(const uint8_t *msg, size_t len) {
  uint64_t sum = market_BookUpdate_symbol(msg, len).len + market_BookUpdate_venue(msg, len).len;
  isthmus_span sides[2] = {market_BookUpdate_bids(msg, len), market_BookUpdate_asks(msg, len)};
  for (int s = 0; s < 2; s++)
    for (uint32_t i = 0; i < sides[s].count; i++) sum += ((const market_Level *)sides[s].ptr)[i].qty;
  return sum + (uint64_t)market_BookUpdate_has_trade_id(msg, len) + market_BookUpdate_trade_id(msg, len);
}

static uint64_t touch_kitchen(const uint8_t *msg, size_t len) {
  uint64_t sum = kitchen_Everything_name(msg, len).len + kitchen_Everything_blob(msg, len).len + kitchen_Everything_maybe_text(msg, len).len;
  sum += (uint64_t)kitchen_Everything_has_maybe_u32(msg, len) + kitchen_Everything_maybe_u32(msg, len) + (uint64_t)kitchen_Everything_added(msg, len);
  sum += kitchen_Everything_added_text(msg, len).len + (kitchen_Everything_maybe_point(msg, len) ? 1u : 0u);
  isthmus_span words = kitchen_Everything_words(msg, len);
  for (uint32_t i = 0; i < words.count; i++) sum += isthmus_str_get(msg, len, (const isthmus_ref *)words.ptr + i).len;
  isthmus_span people = kitchen_Everything_people(msg, len);
  for (uint32_t i = 0; i < people.count; i++) {
    const kitchen_Named *p = (const kitchen_Named *)people.ptr + i;
    sum += kitchen_Named_name(msg, len, p).len + kitchen_Named_nick(msg, len, p).len + (uint64_t)kitchen_Named_has_nick(msg, len, p);
    isthmus_span tags = kitchen_Named_tags(msg, len, p);
    for (uint32_t k = 0; k < tags.count; k++) sum += isthmus_str_get(msg, len, (const isthmus_ref *)tags.ptr + k).len;
  }
  isthmus_span payloads = kitchen_Everything_payloads(msg, len);
  for (uint32_t i = 0; i < payloads.count; i++) {
    const isthmus_union_ref *u = (const isthmus_union_ref *)payloads.ptr + i;
    const kitchen_Named *named = kitchen_Payload_named(msg, len, u);
    const isthmus_ref *text = kitchen_Payload_text(msg, len, u);
    const isthmus_ref *list = kitchen_Payload_list(msg, len, u);
    if (named) sum += kitchen_Named_name(msg, len, named).len + kitchen_Named_tags(msg, len, named).count;
    if (text) sum += isthmus_str_get(msg, len, text).len;
    if (list) sum += isthmus_vector_get(msg, len, list, 2).count;
  }
  /* The fixed part's own members are only in reach when the buffer holds it. */
  if (len >= ISTHMUS_HEADER_SIZE + sizeof(kitchen_Everything)) {
    const kitchen_Everything *m = kitchen_Everything_fixed(msg);
    sum += isthmus_str_get(msg, len, &m->labels[1]).len;
    const kitchen_Named *named = kitchen_Payload_named(msg, len, &m->payload);
    if (named) sum += kitchen_Named_nick(msg, len, named).len;
  }
  return sum;
}

static int probe(const uint8_t *golden, size_t len, long iterations) {
  int kitchen = len >= 8 && isthmus_msg_type_id(golden) == KITCHEN_EVERYTHING_TYPE_ID;
  uint64_t sum = 0;
  for (long i = 0; i < iterations; i++) {
    size_t n = next_rand() % 4 ? len : next_rand() % (len + 1);
    uint8_t *b = (uint8_t *)malloc(n ? n : 1);
    if (!b) return 1;
    memcpy(b, golden, n);
    for (int k = 0, edits = 1 + (int)(next_rand() % 4); k < edits && n; k++) {
      size_t at = next_rand() % n;
      if (next_rand() % 2 && (at & ~(size_t)3) + 4 <= n) isthmus_store_u32(b + (at & ~(size_t)3), next_rand() >> (next_rand() % 32));
      else b[at] = (uint8_t)next_rand();
    }
    sum += kitchen ? touch_kitchen(b, n) : touch_market(b, n);
    free(b);
  }
  printf("probed %ld (checksum %" PRIu64 ")\n", iterations, sum);
  return 0;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  if (!strcmp(cmd, "build")) {
    static uint64_t buf[1024];
    size_t n = build_book(buf, sizeof buf);
    fwrite(buf, 1, n, stdout);
    return n ? 0 : 1;
  }
  if (!strcmp(cmd, "capacity")) {
    static uint64_t full[1024];
    size_t size = build_book(full, sizeof full);
    for (size_t cap = 0; cap < size; cap++) {
      void *buf = malloc(cap ? cap : 1);
      if (!buf) return 1;
      if (build_book(buf, cap) != 0) {
        printf("capacity %zu: build of %zu bytes did not fail\n", cap, size);
        return 1;
      }
      free(buf);
    }
    printf("every capacity below %zu failed cleanly\n", size);
    return 0;
  }
  if ((argc == 3 && (!strcmp(cmd, "market") || !strcmp(cmd, "kitchen"))) || (argc == 5 && !strcmp(cmd, "probe"))) {
    size_t len;
    uint8_t *data = read_file(argv[2], &len);
    if (!data) {
      fprintf(stderr, "can not read '%s'\n", argv[2]);
      return 2;
    }
    int rc;
    if (!strcmp(cmd, "probe")) {
      rng_state = strtoull(argv[4], NULL, 10);
      rc = probe(data, len, atol(argv[3]));
    } else {
      rc = !strcmp(cmd, "market") ? print_market(data, len) : print_kitchen(data, len);
    }
    free(data);
    return rc;
  }
  fprintf(stderr, "usage: %s market|kitchen <file.bin> | build | capacity | probe <file.bin> <iterations> <seed>\n", argv[0]);
  return 2;
}

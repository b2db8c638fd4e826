/*
 * The C participant of the Quick-start demo: a subscriber on the TypeScript publisher's
 * `book` channel. It joins the broadcast ring through the C core (native/, the same
 * protocol as the TypeScript SDK: docs/ring.md), verifies each BookUpdate with the
 * generated header and prints its fields, reading them where they lie in the shared
 * mapping. It leaves the channel after `count` messages.
 *
 *   subscriber <region file> <count>
 *
 * Prints `C subscriber (pid P) joined slot S` once joined, then one line per field group.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isthmus/region.h"
#include "isthmus/ring.h"
#include "market.h"

static int fail(const char *what, int rc) {
  fprintf(stderr, "C subscriber: %s: %s\n", what, strerror(-rc));
  return 1;
}

static void print_book(const unsigned char *msg, uint32_t len) {
  const market_BookUpdate *m = market_BookUpdate_fixed(msg);
  isthmus_str symbol = market_BookUpdate_symbol(msg, len);
  isthmus_str venue = market_BookUpdate_venue(msg, len);
  printf("received seq=%" PRIu64 " instrument_id=%" PRIu32 " side=%s symbol=%.*s venue=%.*s", m->seq, m->instrument_id,
         m->side == market_Side_bid ? "bid" : "ask", (int)symbol.len, symbol.ptr, (int)venue.len, venue.ptr);
  const char *names[2] = {"bids", "asks"};
  isthmus_span sides[2] = {market_BookUpdate_bids(msg, len), market_BookUpdate_asks(msg, len)};
  for (int s = 0; s < 2; s++) {
    const market_Level *lv = (const market_Level *)sides[s].ptr;
    for (uint32_t i = 0; i < sides[s].count; i++)
      printf(" %s[%u]=%" PRId64 "e%d x %" PRIu64, names[s], i, lv[i].price.mantissa, lv[i].price.exponent, lv[i].qty);
  }
  if (market_BookUpdate_has_trade_id(msg, len)) printf(" trade_id=%" PRIu64, market_BookUpdate_trade_id(msg, len));
  printf(" (%u bytes, verify OK)\n", len);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <region file> <count>\n", argv[0]);
    return 2;
  }
  long count = strtol(argv[2], NULL, 10);
  setvbuf(stdout, NULL, _IOLBF, 0);

  isthmus_region region;
  int rc = isthmus_region_open_path(argv[1], &region);
  if (rc != 0) return fail(argv[1], rc);
  isthmus_ring ring;
  char err[256];
  rc = isthmus_ring_open(region.base, region.size, MARKET_BOOKUPDATE_TYPE_ID, &ring, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "C subscriber: %s: %s\n", argv[1], err);
    return 1;
  }
  rc = isthmus_ring_join(&ring, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0);
  if (rc != 0) return fail("join", rc);
  printf("C subscriber (pid %d) joined slot %u\n", (int)getpid(), ring.slot);

  for (long got = 0; got < count;) {
    isthmus_record rec;
    rc = isthmus_ring_receive(&ring, &rec);
    if (rc == -EAGAIN) {
      if (isthmus_ring_wait_data(&ring, 10 * 1000000000LL) == -ETIMEDOUT) return fail("no message within 10 s", -ETIMEDOUT);
      continue;
    }
    if (rc != 0) return fail("receive", rc);
    isthmus_error verr;
    if (market_BookUpdate_verify(rec.payload, rec.len, &verr) != 0) {
      printf("rejected: %s at %s (offset %u)\n", isthmus_error_code_name(verr.code), verr.path, verr.offset);
    } else {
      print_book(rec.payload, rec.len);
    }
    isthmus_ring_release(&ring);
    got++;
  }
  isthmus_ring_leave(&ring);
  isthmus_region_close(&region);
  printf("C subscriber left the channel\n");
  return 0;
}

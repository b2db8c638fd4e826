/*
 * The C half of the Quick-start demo: maps the file the TypeScript process wrote, verifies
 * the message and prints its fields, reading each one where it lies in the mapping.
 *
 *   reader <file>
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "market.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <message file>\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(argv[1]);
    return 1;
  }
  size_t len = (size_t)st.st_size;
  /* mmap returns page-aligned memory, so the message start is 8-aligned as the layout requires. */
  const void *msg = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (msg == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  isthmus_error err;
  if (market_BookUpdate_verify(msg, len, &err) != 0) {
    fprintf(stderr, "rejected: %s at %s (offset %u, value %lld)\n", isthmus_error_code_name(err.code), err.path, err.offset, (long long)err.value);
    return 1;
  }
  const market_BookUpdate *m = market_BookUpdate_fixed(msg);
  isthmus_str symbol = market_BookUpdate_symbol(msg, len);
  isthmus_str venue = market_BookUpdate_venue(msg, len);
  printf("C reader (pid %d) mapped %zu bytes: verify OK, type id 0x%016" PRIx64 ", version %u\n", (int)getpid(), len, isthmus_msg_type_id(msg), isthmus_msg_version(msg));
  printf("seq=%" PRIu64 " instrument_id=%" PRIu32 " side=%s symbol=%.*s venue=%.*s\n", m->seq, m->instrument_id,
         m->side == market_Side_bid ? "bid" : "ask", (int)symbol.len, symbol.ptr, (int)venue.len, venue.ptr);
  const char *names[2] = {"bids", "asks"};
  isthmus_span sides[2] = {market_BookUpdate_bids(msg, len), market_BookUpdate_asks(msg, len)};
  for (int s = 0; s < 2; s++) {
    const market_Level *lv = (const market_Level *)sides[s].ptr;
    for (uint32_t i = 0; i < sides[s].count; i++)
      printf("%s[%u]: price=%" PRId64 "e%d qty=%" PRIu64 " orders=%" PRIu32 "\n", names[s], i, lv[i].price.mantissa, lv[i].price.exponent, lv[i].qty, lv[i].orders);
  }
  if (market_BookUpdate_has_trade_id(msg, len)) printf("trade_id=%" PRIu64 "\n", market_BookUpdate_trade_id(msg, len));
  else printf("trade_id=(absent)\n");
  munmap((void *)msg, len);
  return 0;
}

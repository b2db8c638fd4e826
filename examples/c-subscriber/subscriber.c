/*
 * The C side: a subscriber on the TypeScript publisher's channel `samples`. It joins the
 * broadcast ring through the C ring core (the repository's native/, the protocol of
 * docs/ring.md), checks each Sample with the generated telemetry.h (verify) and prints
 * its fields, read where they lie in the shared mapping. Leaves after <count> messages.
 *
 *   subscriber <region file> <count>
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isthmus/region.h"
#include "isthmus/ring.h"
#include "telemetry.h"

static const char *level_name(telemetry_Level l) {
  return l == telemetry_Level_ok ? "ok" : l == telemetry_Level_warn ? "warn" : "alarm";
}

static void print_sample(const unsigned char *msg, uint32_t len) {
  const telemetry_Sample *s = telemetry_Sample_fixed(msg);
  isthmus_str sensor = telemetry_Sample_sensor(msg, len);
  isthmus_span values = telemetry_Sample_values(msg, len);
  printf("received seq=%" PRIu64 " sensor=%.*s level=%s values=[", s->seq, (int)sensor.len, sensor.ptr, level_name(s->level));
  for (uint32_t i = 0; i < values.count; i++) printf(i ? ",%" PRId32 : "%" PRId32, ((const int32_t *)values.ptr)[i]);
  printf("]");
  if (telemetry_Sample_has_note(msg, len)) {
    isthmus_str note = telemetry_Sample_note(msg, len);
    printf(" note=\"%.*s\"", (int)note.len, note.ptr);
  }
  printf(" (%u bytes, verify OK)\n", len);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <region file> <count>\n", argv[0]);
    return 2;
  }
  long count = strtol(argv[2], NULL, 10);
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* The publisher (another process) creates the region: wait up to 10 s for it. */
  isthmus_region region;
  isthmus_ring ring;
  char err[256] = "";
  int rc = -ENOENT;
  for (int tries = 0; tries < 1000 && rc != 0; tries++) {
    rc = isthmus_region_open_path(argv[1], &region);
    if (rc == 0) {
      rc = isthmus_ring_open(region.base, region.size, TELEMETRY_SAMPLE_TYPE_ID, &ring, err, sizeof err);
      if (rc != 0) isthmus_region_close(&region);
      if (rc != 0 && rc != -EAGAIN) break;
    }
    if (rc != 0) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
  }
  if (rc != 0) {
    fprintf(stderr, "C subscriber: %s: %s\n", argv[1], err[0] ? err : strerror(-rc));
    return 1;
  }
  rc = isthmus_ring_join(&ring, ISTHMUS_ROLE_SUBSCRIBER, 0, 0, 0, 0);
  if (rc != 0) {
    fprintf(stderr, "C subscriber: join: %s\n", strerror(-rc));
    return 1;
  }
  printf("C subscriber (pid %d) joined channel \"samples\"\n", (int)getpid());

  for (long got = 0; got < count;) {
    isthmus_record rec;
    rc = isthmus_ring_receive(&ring, &rec);
    if (rc == -EAGAIN) { /* empty: sleep on the ring's shared futex until the publisher writes */
      if (isthmus_ring_wait_data(&ring, 10 * 1000000000LL) == -ETIMEDOUT) {
        fprintf(stderr, "C subscriber: no message within 10 s\n");
        return 1;
      }
      continue;
    }
    if (rc != 0) {
      fprintf(stderr, "C subscriber: receive: %s\n", strerror(-rc));
      return 1;
    }
    isthmus_error verr;
    if (telemetry_Sample_verify(rec.payload, rec.len, &verr) != 0)
      printf("rejected: %s at %s (offset %u)\n", isthmus_error_code_name(verr.code), verr.path, verr.offset);
    else
      print_sample(rec.payload, rec.len);
    isthmus_ring_release(&ring);
    got++;
  }
  isthmus_ring_leave(&ring);
  isthmus_region_close(&region);
  printf("C subscriber left after %ld samples\n", count);
  return 0;
}

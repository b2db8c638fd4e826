/* The host's glue to the C core: open a ring region file, validate its header (§1.1) and
 * take a slot with a role (§5), so that nothing of the ring protocol is re-implemented in
 * Rust. The channel handle is heap-allocated; the caller passes it back to host_detach. */
#include <stdint.h>
#include <stdlib.h>

#include "isthmus/proc.h"
#include "isthmus/region.h"
#include "isthmus/ring.h"

typedef struct host_channel {
  isthmus_region region;
  isthmus_ring ring;
} host_channel;

/* 0 and *out, or a negative errno with a message in err. role: ISTHMUS_ROLE_*. */
int host_attach(const char *path, uint32_t role, host_channel **out, char *err, size_t errlen) {
  host_channel *c = calloc(1, sizeof *c);
  if (!c) return -12; /* ENOMEM */
  int rc = isthmus_region_open_path(path, &c->region);
  if (rc == 0) rc = isthmus_ring_open(c->region.base, c->region.size, 0, &c->ring, err, errlen);
  if (rc == 0) rc = isthmus_ring_join(&c->ring, role, 0, 0, 0, 0);
  if (rc != 0) {
    isthmus_region_close(&c->region);
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void *host_base(const host_channel *c) { return c->region.base; }
size_t host_size(const host_channel *c) { return c->region.size; }
int host_fd(const host_channel *c) { return c->region.fd; }
uint32_t host_slot(const host_channel *c) { return c->ring.slot; }

/* Leaves the slot, unmaps the region's own mapping, closes the file. */
void host_detach(host_channel *c) {
  isthmus_ring_leave(&c->ring);
  isthmus_region_close(&c->region);
  free(c);
}

int host_alive(uint32_t pid, uint64_t start_time) { return isthmus_proc_alive((int)pid, start_time); }

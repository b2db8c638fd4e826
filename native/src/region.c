/* Shared regions (include/isthmus/region.h). */
#define _GNU_SOURCE
#include "isthmus/region.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void region_reset(isthmus_region *out) {
  out->base = NULL;
  out->size = 0;
  out->fd = -1;
}

/* Maps fd (which the region then owns) with `size` bytes; closes fd on failure. */
static int region_map(int fd, size_t size, isthmus_region *out) {
  if (size == 0) {
    close(fd);
    return -EINVAL;
  }
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return -e;
  }
  out->base = p;
  out->size = size;
  out->fd = fd;
  return 0;
}

static int region_size_of(int fd, size_t *size) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (st.st_size <= 0) return -EINVAL;
  if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) return -EFBIG;
  *size = (size_t)st.st_size;
  return 0;
}

int isthmus_region_create_memfd(const char *debug_name, size_t size, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (size == 0 || (uint64_t)size > (uint64_t)INT64_MAX) return -EINVAL;
  int fd = memfd_create(debug_name ? debug_name : "isthmus", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  if (ftruncate(fd, (off_t)size) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return region_map(fd, size, out);
}

/* Sizes and maps a freshly created (O_EXCL) object; on failure removes it again with
 * `unlink_fn(name)` so that a failed create leaves nothing behind. */
static int region_finish_create(int fd, size_t size, const char *name, int (*unlink_fn)(const char *),
                                isthmus_region *out) {
  if (ftruncate(fd, (off_t)size) != 0) {
    int e = errno;
    close(fd);
    unlink_fn(name);
    return -e;
  }
  int rc = region_map(fd, size, out);
  if (rc != 0) unlink_fn(name);
  return rc;
}

/* Maps an opened object at its current size (fstat). */
static int region_finish_open(int fd, isthmus_region *out) {
  if (fd < 0) return -errno;
  size_t size = 0;
  int rc = region_size_of(fd, &size);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return region_map(fd, size, out);
}

int isthmus_region_create_path(const char *path, size_t size, unsigned mode, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (!path || size == 0 || (uint64_t)size > (uint64_t)INT64_MAX) return -EINVAL;
  int fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode ? (mode_t)mode : 0600);
  if (fd < 0) return -errno;
  return region_finish_create(fd, size, path, unlink, out);
}

int isthmus_region_open_path(const char *path, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (!path) return -EINVAL;
  return region_finish_open(open(path, O_RDWR | O_CLOEXEC), out);
}

int isthmus_region_create_shm(const char *name, size_t size, unsigned mode, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (!name || size == 0 || (uint64_t)size > (uint64_t)INT64_MAX) return -EINVAL;
  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode ? (mode_t)mode : 0600);
  if (fd < 0) return -errno;
  return region_finish_create(fd, size, name, shm_unlink, out);
}

int isthmus_region_open_shm(const char *name, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (!name) return -EINVAL;
  return region_finish_open(shm_open(name, O_RDWR | O_CLOEXEC, 0), out);
}

int isthmus_region_open_fd(int fd, isthmus_region *out) {
  if (!out) return -EINVAL;
  region_reset(out);
  if (fd < 0) return -EBADF;
  return region_finish_open(fcntl(fd, F_DUPFD_CLOEXEC, 0), out);
}

int isthmus_region_seals(const isthmus_region *r) {
  if (!r || r->fd < 0) return -EBADF;
  int s = fcntl(r->fd, F_GET_SEALS);
  return s < 0 ? -errno : s;
}

void isthmus_region_close(isthmus_region *r) {
  if (!r) return;
  if (r->base && r->size) munmap(r->base, r->size);
  if (r->fd >= 0) close(r->fd);
  region_reset(r);
}

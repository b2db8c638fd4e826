/* Isthmus shared regions: one MAP_SHARED, PROT_READ|PROT_WRITE mapping of a memfd, a
 * file or a POSIX shm object (docs/ring.md §1). No Node headers.
 *
 * Every function returns 0 on success or a negative errno (-EINVAL, -EEXIST, ...).
 * On failure `*out` is left closed ({NULL, 0, -1}). */
#ifndef ISTHMUS_REGION_H
#define ISTHMUS_REGION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct isthmus_region {
  void *base;  /* MAP_SHARED mapping, PROT_READ|PROT_WRITE */
  size_t size; /* bytes mapped (the object's size) */
  int fd;      /* kept open; -1 after close */
} isthmus_region;

/* Anonymous memfd (MFD_CLOEXEC|MFD_ALLOW_SEALING), ftruncate(size), sealed with
 * F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL, mapped. The contents read as zero. */
int isthmus_region_create_memfd(const char *debug_name, size_t size, isthmus_region *out);
/* A file path: O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC with `mode` (0600 when mode == 0).
 * -EEXIST when the path exists. The file is sized with ftruncate (reads as zero). */
int isthmus_region_create_path(const char *path, size_t size, unsigned mode, isthmus_region *out);
/* Opens an existing file O_RDWR|O_CLOEXEC; the size comes from fstat. */
int isthmus_region_open_path(const char *path, isthmus_region *out);
/* POSIX shm: shm_open(name, O_CREAT|O_EXCL|O_RDWR) with `mode` (0600 when 0). */
int isthmus_region_create_shm(const char *name, size_t size, unsigned mode, isthmus_region *out);
int isthmus_region_open_shm(const char *name, isthmus_region *out);
/* Maps an fd someone passed: dup()s it (F_DUPFD_CLOEXEC); the caller keeps its own. */
int isthmus_region_open_fd(int fd, isthmus_region *out);
/* The seals of the region's fd (F_GET_SEALS), or -errno (-EINVAL for a non-memfd). */
int isthmus_region_seals(const isthmus_region *r);
/* munmap + close; idempotent (a closed or zeroed-by-create-failure region is a no-op). */
void isthmus_region_close(isthmus_region *r);

#ifdef __cplusplus
}
#endif
#endif

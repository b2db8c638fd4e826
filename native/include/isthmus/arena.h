/* Isthmus arenas: many regions (rings) in one shared mapping, found by name through a
 * directory at its start (docs/ring.md §9 is the contract; the TypeScript side is
 * packages/sdk/src/transports/arena.ts). Used where one mapping is all two sides share:
 * a VM guest and its host through an ivshmem BAR, threads of one process.
 *
 *  offset  size
 *       0     8  magic "ISTHAREN"
 *       8     4  version (1)
 *      12     4  state: 0 formatting, 1 ready                      (atomic)
 *      16     4  size: bytes of the arena (multiple of 4096)
 *      20     4  entries: E, directory entries (1..65536)
 *      24     4  data_offset: D = align4096(256 + 128*E)
 *      28     4  bump: next free byte of region space (under the lock)
 *      32     4  lock: 0 free, else the holder's tag               (atomic)
 *      36    92  reserved (zero)
 *     128    64  guest identity line: 128 g_state (atomic: 0 unset, 1 set), 132 pid,
 *                136 uid, 144 start_time (u64): the host-side identity a VM guest's
 *                participants register under (§9.3)
 *     192    64  reserved (zero)
 *     256 128*E  directory entries:
 *                +0 state (0 free, 1 reserved, 2 published, 3 removed; atomic)
 *                +4 offset   +8 size   +12 name_len   +16 name[112] (UTF-8)
 *       D        region space, bump-allocated in multiples of 4096, never reused
 *
 * All functions return 0 or a negative errno. Directory changes and reads take the spin
 * lock (cas(0 -> tag) acquire, store_release(0)); waiting for it spins, yields, then
 * sleeps in 50 us steps, and gives up after lock_timeout_ns with -ETIMEDOUT. The handle
 * is process-local and may be copied; several handles may work on one arena at once. */
#ifndef ISTHMUS_ARENA_H
#define ISTHMUS_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ISTHMUS_ARENA_VERSION 1u
#define ISTHMUS_ARENA_DIR 256u
#define ISTHMUS_ARENA_ENTRY 128u
#define ISTHMUS_ARENA_NAME_MAX 112u
enum { ISTHMUS_ARENA_FREE = 0, ISTHMUS_ARENA_RESERVED = 1, ISTHMUS_ARENA_PUBLISHED = 2, ISTHMUS_ARENA_REMOVED = 3 };

typedef struct isthmus_arena {
  unsigned char *base;      /* arena start */
  size_t size;              /* bytes mapped */
  uint32_t entries;         /* E */
  uint32_t data_offset;     /* D */
  uint32_t tag;             /* lock tag of this handle (nonzero) */
  int64_t lock_timeout_ns;  /* how long to wait for the lock (default 2 s) */
} isthmus_arena;

/* Offset of the region space for `entries` directory entries. */
uint32_t isthmus_arena_data_offset(uint32_t entries);

/* Formats a zeroed mapping of `size` bytes (a multiple of 4096, at most 2^32 - 4096) as
 * an empty arena, then store_release(state, 1). The caller guarantees the bytes read as
 * zero (a fresh file or memfd): region space is handed out without being cleared. */
int isthmus_arena_format(void *base, size_t size, uint32_t entries);

/* Checks the header (state ready, magic, version, size == mapping size, entries,
 * data_offset) and fills *out. tag: this handle's lock tag (0: getpid()). On error
 * writes a message naming the field and its value into err (may be NULL); -EAGAIN
 * when state is not yet 1, -EINVAL otherwise. */
int isthmus_arena_attach(void *base, size_t size, uint32_t tag, isthmus_arena *out, char *err, size_t errlen);

/* Reserves a region of `size` bytes called `name` (1..112 bytes, not NUL-terminated in
 * the directory) and returns its start in *region and its directory entry in *entry.
 * The region reads as zero. It is invisible to open/list until isthmus_arena_publish.
 * -EEXIST the name is reserved or published; -ENOSPC out of space or entries;
 * -ENAMETOOLONG; -ETIMEDOUT the lock. */
int isthmus_arena_create(isthmus_arena *a, const char *name, uint32_t size, void **region, uint32_t *entry);
/* store_release(state, 2): everything written into the region before happens-before
 * an opener's load_acquire. */
void isthmus_arena_publish(isthmus_arena *a, uint32_t entry);
/* A reservation whose initialisation failed: the entry becomes removed (space is lost). */
void isthmus_arena_abandon(isthmus_arena *a, uint32_t entry);

/* Finds the published region `name`: *region, *size. -ENOENT when there is none;
 * -EIO when the entry's offset/size fall outside the arena (a corrupt directory: the
 * other side of the boundary is not trusted with raw offsets). */
int isthmus_arena_open(isthmus_arena *a, const char *name, void **region, uint32_t *size);
/* Unpublishes `name` (state 3). expect_offset != 0: only if the entry still refers to
 * the region at that offset. -ENOENT when not found or it refers to another region. */
int isthmus_arena_remove(isthmus_arena *a, const char *name, uint32_t expect_offset);
/* Calls fn for every published region, under the lock (fn must not call the arena).
 * Returns how many, or -ETIMEDOUT. */
int isthmus_arena_list(isthmus_arena *a, void (*fn)(void *ctx, const char *name, uint32_t name_len, uint32_t offset, uint32_t size), void *ctx);

/* The guest identity line (§9.3). set: fields, then store_release(g_state, 1).
 * get: 0 and the fields when set (load_acquire(g_state) pairs with set), -EAGAIN when not. */
void isthmus_arena_set_guest_identity(isthmus_arena *a, uint32_t pid, uint32_t uid, uint64_t start_time);
int isthmus_arena_guest_identity(const isthmus_arena *a, uint32_t *pid, uint32_t *uid, uint64_t *start_time);

#ifdef __cplusplus
}
#endif
#endif

/* Process identity and liveness (docs/ring.md §5). A participant is alive when
 * /proc/<pid>/stat exists and its field 22 (start time in clock ticks after boot)
 * equals the start time recorded in its slot, so a recycled pid does not look alive. */
#ifndef ISTHMUS_PROC_H
#define ISTHMUS_PROC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Field 22 of /proc/<pid>/stat into *out. -ESRCH when the process is gone, -EIO when the
 * file can not be parsed, -EINVAL for pid <= 0. */
int isthmus_proc_start_time(int pid, uint64_t *out);
/* 1 alive (same pid, same start time, not a zombie), 0 dead (gone, the pid was recycled, or
 * a zombie or dying task: /proc/<pid>/stat field 3 is Z or X). */
int isthmus_proc_alive(int pid, uint64_t start_time);

#ifdef __cplusplus
}
#endif
#endif

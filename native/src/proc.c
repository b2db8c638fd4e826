/* Liveness (include/isthmus/proc.h, docs/ring.md §5). */
#define _GNU_SOURCE
#include "isthmus/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reads field 3 (the state letter) and field 22 (the start time) of /proc/<pid>/stat. */
static int read_stat(int pid, char *state, uint64_t *out) {
  if (pid <= 0 || !out) return -EINVAL;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? -ESRCH : -errno;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -ESRCH; /* a process that exited between open and read */
  buf[n] = 0;
  /* Field 2 (comm) is in parentheses and may hold spaces or ')': fields after it start
   * after the LAST ')'. Field 3 follows; field 22 is 19 fields later. */
  char *p = strrchr(buf, ')');
  if (!p) return -EIO;
  p++;
  while (*p == ' ') p++;
  if (state) *state = *p;
  int field = 2;
  while (*p && field < 22) {
    while (*p == ' ') p++;
    field++;
    if (field == 22) break;
    while (*p && *p != ' ') p++;
  }
  if (field != 22 || *p < '0' || *p > '9') return -EIO;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  *out = v;
  return 0;
}

int isthmus_proc_start_time(int pid, uint64_t *out) { return read_stat(pid, NULL, out); }

int isthmus_proc_alive(int pid, uint64_t start_time) {
  uint64_t t;
  char state = 0;
  if (read_stat(pid, &state, &t) != 0) return 0;
  /* A zombie (Z) or dying task (X) keeps its entry and start time until it is reaped, but
   * runs no more code: dead (docs/ring.md §5). */
  if (state == 'Z' || state == 'X') return 0;
  return t == start_time ? 1 : 0;
}

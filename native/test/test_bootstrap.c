/* Bootstrap sockets: SCM_RIGHTS fd passing between processes, SO_PEERCRED, truncation
 * without fd leaks, listen/connect/accept on a path, timeouts. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "isthmus/bootstrap.h"
#include "isthmus/region.h"

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

/* A child process receives a memfd over the socket, maps it and writes into it; the
 * parent sees the byte through its own mapping: both map the same pages. */
static void test_pass_memfd_across_fork(void) {
  int sv[2];
  CHECK_EQ(isthmus_unix_pair(sv), 0);
  isthmus_region r;
  CHECK_EQ(isthmus_region_create_memfd("bootstrap-test", 8192, &r), 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    close(sv[0]);
    isthmus_region_close(&r);
    char buf[64];
    int fds[ISTHMUS_MAX_FDS];
    size_t nfds = 0;
    int n = isthmus_recv_fds(sv[1], buf, sizeof buf, fds, ISTHMUS_MAX_FDS, &nfds);
    CHECK_EQ(n, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(nfds, 1);
    CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
    isthmus_region m;
    CHECK_EQ(isthmus_region_open_fd(fds[0], &m), 0);
    close(fds[0]);
    CHECK_EQ(m.size, 8192);
    CHECK_EQ(((volatile unsigned char *)m.base)[4000], 7); /* written by the parent */
    ((volatile unsigned char *)m.base)[4001] = 99;
    isthmus_cred pc;
    CHECK_EQ(isthmus_peer_cred(sv[1], &pc), 0);
    CHECK_EQ(pc.pid, getppid());
    CHECK_EQ(isthmus_send_fds(sv[1], "done", 4, NULL, 0), 4);
    isthmus_region_close(&m);
    _exit(0);
  }
  close(sv[1]);
  ((volatile unsigned char *)r.base)[4000] = 7;
  int fd = r.fd;
  CHECK_EQ(isthmus_send_fds(sv[0], "hello", 5, &fd, 1), 5);
  char buf[16];
  size_t nfds = 9;
  CHECK_EQ(isthmus_recv_fds(sv[0], buf, sizeof buf, NULL, 0, &nfds), 4);
  CHECK_EQ(nfds, 0);
  CHECK_EQ(((volatile unsigned char *)r.base)[4001], 99);
  /* SO_PEERCRED of the child's end (socketpair: the creator, us) and of ours. */
  isthmus_cred pc;
  CHECK_EQ(isthmus_peer_cred(sv[0], &pc), 0);
  CHECK_EQ(pc.uid, getuid());
  CHECK_EQ(pc.gid, getgid());
  int st = 0;
  CHECK_EQ(waitpid(child, &st, 0), child);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  /* The child is gone: end of stream. */
  CHECK_EQ(isthmus_recv_fds(sv[0], buf, sizeof buf, NULL, 0, &nfds), 0);
  close(sv[0]);
  isthmus_region_close(&r);
}

/* A message longer than the buffer, or with more fds than the caller accepts, is
 * -EMSGSIZE, consumed, and its fds are closed (none leak); the next message is intact. */
static void test_truncation_closes_fds(void) {
  int sv[2];
  CHECK_EQ(isthmus_unix_pair(sv), 0);
  int base = count_fds();
  int p[2];
  CHECK(pipe(p) == 0);
  int three[3] = {p[0], p[1], p[0]};
  CHECK_EQ(isthmus_send_fds(sv[0], "0123456789", 10, three, 3), 10);
  CHECK_EQ(isthmus_send_fds(sv[0], "abc", 3, three, 3), 3);
  CHECK_EQ(isthmus_send_fds(sv[0], "ok", 2, three, 1), 2);
  close(p[0]);
  close(p[1]);
  CHECK_EQ(count_fds(), base);
  char buf[4];
  int fds[ISTHMUS_MAX_FDS];
  size_t nfds = 0;
  CHECK_EQ(isthmus_recv_fds(sv[1], buf, sizeof buf, fds, ISTHMUS_MAX_FDS, &nfds), -EMSGSIZE);
  CHECK_EQ(nfds, 0);
  CHECK_EQ(count_fds(), base);
  CHECK_EQ(isthmus_recv_fds(sv[1], buf, sizeof buf, fds, 2, &nfds), -EMSGSIZE);
  CHECK_EQ(count_fds(), base);
  CHECK_EQ(isthmus_recv_fds(sv[1], buf, sizeof buf, fds, 2, &nfds), 2);
  CHECK_EQ(nfds, 1);
  CHECK(memcmp(buf, "ok", 2) == 0);
  CHECK_EQ(count_fds(), base + 1);
  close(fds[0]);
  /* Argument checks. */
  int bad = -1;
  CHECK_EQ(isthmus_send_fds(sv[0], "x", 1, &bad, 1), -EBADF);
  CHECK_EQ(isthmus_send_fds(sv[0], "x", 0, NULL, 0), -EINVAL);
  CHECK_EQ(isthmus_send_fds(sv[0], "x", 1, three, ISTHMUS_MAX_FDS + 1), -EINVAL);
  CHECK_EQ(isthmus_recv_fds(sv[1], buf, sizeof buf, fds, ISTHMUS_MAX_FDS + 1, &nfds), -EINVAL);
  close(sv[0]);
  /* The peer is gone: sending is -EPIPE (no SIGPIPE). */
  CHECK_EQ(isthmus_send_fds(sv[1], "x", 1, NULL, 0), -EPIPE);
  close(sv[1]);
}

/* A listening socket on a path: mode, accept (non-blocking), peer credentials of the
 * connecting process, message boundaries, wait timeouts, EADDRINUSE, ENAMETOOLONG. */
static void test_listen_connect(void) {
  char dir[] = "/tmp/isthmus-bootstrap-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/agent.sock", dir);
  int l = isthmus_unix_listen(path, 0666, 8);
  CHECK(l >= 0);
  struct stat st;
  CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0666);
  CHECK_EQ(isthmus_unix_listen(path, 0666, 8), -EADDRINUSE);
  CHECK_EQ(isthmus_unix_accept(l), -EAGAIN);
  CHECK_EQ(isthmus_wait_fd(l, POLLIN, 10), 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    int c = isthmus_unix_connect(path);
    CHECK(c >= 0);
    CHECK(fcntl(c, F_GETFL) & O_NONBLOCK);
    CHECK_EQ(isthmus_send_fds(c, "one", 3, NULL, 0), 3);
    CHECK_EQ(isthmus_send_fds(c, "two!", 4, NULL, 0), 4);
    char b[8];
    size_t nf;
    CHECK_EQ(isthmus_wait_fd(c, POLLIN, 5000), 1);
    CHECK_EQ(isthmus_recv_fds(c, b, sizeof b, NULL, 0, &nf), 0); /* parent closed */
    _exit(0);
  }
  CHECK_EQ(isthmus_wait_fd(l, POLLIN, 5000), 1);
  int a = isthmus_unix_accept(l);
  CHECK(a >= 0);
  isthmus_cred pc;
  CHECK_EQ(isthmus_peer_cred(a, &pc), 0);
  CHECK_EQ(pc.pid, child);
  CHECK_EQ(pc.uid, getuid());
  char b[8];
  size_t nf;
  CHECK_EQ(isthmus_wait_fd(a, POLLIN, 5000), 1);
  CHECK_EQ(isthmus_recv_fds(a, b, sizeof b, NULL, 0, &nf), 3);
  CHECK_EQ(isthmus_wait_fd(a, POLLIN, 5000), 1);
  CHECK_EQ(isthmus_recv_fds(a, b, sizeof b, NULL, 0, &nf), 4);
  CHECK(memcmp(b, "two!", 4) == 0);
  close(a);
  int s = 0;
  CHECK_EQ(waitpid(child, &s, 0), child);
  CHECK(WIFEXITED(s) && WEXITSTATUS(s) == 0);
  close(l);
  unlink(path);
  CHECK_EQ(isthmus_unix_connect(path), -ENOENT);
  char longp[200];
  memset(longp, 'x', sizeof longp - 1);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  CHECK_EQ(isthmus_unix_listen(longp, 0, 1), -ENAMETOOLONG);
  CHECK_EQ(isthmus_unix_connect(longp), -ENAMETOOLONG);
  rmdir(dir);
}

int main(void) {
  test_pass_memfd_across_fork();
  test_truncation_closes_fds();
  test_listen_connect();
  printf("test_bootstrap: ok\n");
  return 0;
}

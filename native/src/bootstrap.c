/* Unix-socket bootstrap: SCM_RIGHTS fd passing and SO_PEERCRED (isthmus/bootstrap.h). */
#define _GNU_SOURCE
#include "isthmus/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len) {
  if (path == NULL || path[0] == '\0') return -EINVAL;
  size_t n = strlen(path);
  if (n >= sizeof sa->sun_path) return -ENAMETOOLONG;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, n + 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  return 0;
}

int isthmus_unix_listen(const char *path, unsigned mode, int backlog) {
  struct sockaddr_un sa;
  socklen_t len;
  int rc = unix_addr(path, &sa, &len);
  if (rc < 0) return rc;
  if (mode > 07777) return -EINVAL;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  /* chmod before listen(): nobody can connect before the mode is final. */
  if (mode != 0 && chmod(path, (mode_t)mode) < 0) {
    rc = -errno;
    unlink(path);
    close(fd);
    return rc;
  }
  if (listen(fd, backlog > 0 ? backlog : 64) < 0) {
    rc = -errno;
    unlink(path);
    close(fd);
    return rc;
  }
  return fd;
}

int isthmus_unix_connect(const char *path) {
  struct sockaddr_un sa;
  socklen_t len;
  int rc = unix_addr(path, &sa, &len);
  if (rc < 0) return rc;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  /* A blocking connect: on a Unix socket it completes at once or fails (a full backlog
   * makes it wait for the listener to accept, which is what a client wants). */
  while ((rc = connect(fd, (struct sockaddr *)&sa, len)) < 0 && errno == EINTR) {
  }
  if (rc < 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

int isthmus_unix_accept(int listen_fd) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == EINTR) continue;
    /* EWOULDBLOCK == EAGAIN on Linux. */
    return -errno;
  }
}

int isthmus_unix_pair(int out[2]) {
  if (out == NULL) return -EINVAL;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, out) < 0) return -errno;
  return 0;
}

int isthmus_send_fds(int sock, const void *msg, size_t len, const int *fds, size_t nfds) {
  if (msg == NULL || len == 0 || len > ISTHMUS_MAX_MESSAGE) return -EINVAL;
  if (nfds > ISTHMUS_MAX_FDS || (nfds > 0 && fds == NULL)) return -EINVAL;
  for (size_t i = 0; i < nfds; i++)
    if (fds[i] < 0) return -EBADF;
  union {
    char buf[CMSG_SPACE(sizeof(int) * ISTHMUS_MAX_FDS)];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n >= 0) return (int)n; /* SEQPACKET: all or nothing */
    if (errno == EINTR) continue;
    return -errno;
  }
}

/* Closes every fd carried by the control messages of `mh`. */
static void close_carried(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      close(fd);
    }
  }
}

int isthmus_recv_fds(int sock, void *buf, size_t cap, int *fds, size_t max_fds, size_t *nfds) {
  if (nfds == NULL || buf == NULL || cap == 0) return -EINVAL;
  if (max_fds > ISTHMUS_MAX_FDS || (max_fds > 0 && fds == NULL)) return -EINVAL;
  *nfds = 0;
  /* Room for the most fds anyone may send, so an over-long list is seen (and closed)
   * rather than silently truncated by the kernel. */
  union {
    char buf[CMSG_SPACE(sizeof(int) * ISTHMUS_MAX_FDS)];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = buf, .iov_len = cap};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  ssize_t n;
  for (;;) {
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    return -errno;
  }
  if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    close_carried(&mh);
    return -EMSGSIZE;
  }
  size_t got = 0;
  int bad = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
      bad = 1;
      continue;
    }
    got += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
  }
  if (bad || got > max_fds) {
    close_carried(&mh);
    return bad ? -EBADMSG : -EMSGSIZE;
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
    *nfds += k;
  }
  return (int)n;
}

int isthmus_peer_cred(int sock, isthmus_cred *out) {
  if (out == NULL) return -EINVAL;
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) return -errno;
  out->pid = (int32_t)uc.pid;
  out->uid = (uint32_t)uc.uid;
  out->gid = (uint32_t)uc.gid;
  return 0;
}

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int isthmus_wait_fd(int fd, short events, int timeout_ms) {
  long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
  struct pollfd p = {.fd = fd, .events = events, .revents = 0};
  for (;;) {
    int left = timeout_ms < 0 ? -1 : (int)(deadline - mono_ms());
    if (timeout_ms >= 0 && left < 0) left = 0;
    int rc = poll(&p, 1, left);
    if (rc > 0) return (p.revents & POLLNVAL) ? -EBADF : 1;
    if (rc == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

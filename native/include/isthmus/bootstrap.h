/* Isthmus bootstrap: Unix-domain sockets that carry file descriptors (SCM_RIGHTS) and
 * tell who is on the other end (SO_PEERCRED). This is how the node agent hands out
 * regions (sealed memfds) to processes in other pid/mount/ipc namespaces: the only thing
 * a container needs is the agent's socket (docs/agent.md). No Node headers.
 *
 * Sockets are SOCK_SEQPACKET (connection-oriented, message boundaries kept by the kernel),
 * so one message = one sendmsg = one recvmsg, and the fds of a message arrive with exactly
 * that message. Every function returns >= 0 on success or a negative errno, and retries
 * EINTR itself. Every fd these functions create is O_CLOEXEC.
 *
 * Raw fds: the caller guarantees that `sock` is a socket it owns and that every fd in
 * `fds` is open for the duration of the call. isthmus_send_fds does not take ownership
 * (the caller still closes its fds; the receiver gets new fds referring to the same open
 * files). Fds returned by isthmus_recv_fds belong to the caller, who must close them. */
#ifndef ISTHMUS_BOOTSTRAP_H
#define ISTHMUS_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most fds one message carries (both directions). */
#define ISTHMUS_MAX_FDS 16
/* Largest message payload either side sends or accepts (docs/agent.md §2). */
#define ISTHMUS_MAX_MESSAGE 65536

typedef struct isthmus_cred {
  int32_t pid;  /* as the caller's pid namespace sees it (0: the peer is outside it) */
  uint32_t uid; /* as the caller's user namespace sees it */
  uint32_t gid;
} isthmus_cred;

/* A listening SOCK_SEQPACKET socket bound to `path` (O_NONBLOCK|O_CLOEXEC). `mode` is
 * applied to the socket file with chmod (0: leave the umask's result). An existing path
 * is not replaced: -EADDRINUSE (the caller decides whether it is stale).
 * -ENAMETOOLONG when `path` does not fit sockaddr_un (107 bytes). */
int isthmus_unix_listen(const char *path, unsigned mode, int backlog);
/* Connects a SOCK_SEQPACKET socket to `path`; the returned fd is O_NONBLOCK|O_CLOEXEC.
 * -ENOENT / -ECONNREFUSED / -EACCES as connect(2) reports them. */
int isthmus_unix_connect(const char *path);
/* accept4(O_NONBLOCK|O_CLOEXEC) on a listening socket; -EAGAIN when none is pending. */
int isthmus_unix_accept(int listen_fd);
/* A connected SOCK_SEQPACKET pair (O_CLOEXEC, blocking), for tests and fork()ed helpers. */
int isthmus_unix_pair(int out[2]);

/* Sends one message of `len` bytes (1..ISTHMUS_MAX_MESSAGE) carrying `nfds` fds
 * (0..ISTHMUS_MAX_FDS) in one SCM_RIGHTS control message. MSG_NOSIGNAL: a closed peer is
 * -EPIPE, never SIGPIPE. On a non-blocking socket a full buffer is -EAGAIN and nothing
 * was sent. Returns len. */
int isthmus_send_fds(int sock, const void *msg, size_t len, const int *fds, size_t nfds);

/* Receives one message into buf[0..cap) and up to `max_fds` fds into `fds`, setting
 * `*nfds`. Returns its length, 0 at end of stream (the peer closed), or:
 *   -EAGAIN    non-blocking socket, nothing pending
 *   -EMSGSIZE  the message was longer than `cap` (MSG_TRUNC) or carried more than
 *              `max_fds` fds (MSG_CTRUNC); the message is consumed and every fd that did
 *              arrive with it is closed, so nothing leaks (*nfds = 0)
 *   -EBADMSG   a control message other than SCM_RIGHTS arrived (its fds are closed)
 * Received fds are O_CLOEXEC (MSG_CMSG_CLOEXEC). */
int isthmus_recv_fds(int sock, void *buf, size_t cap, int *fds, size_t max_fds, size_t *nfds);

/* SO_PEERCRED of a connected Unix socket: the peer's pid, uid and gid as they were when
 * it called connect() (or socketpair()), translated into the caller's namespaces. */
int isthmus_peer_cred(int sock, isthmus_cred *out);

/* poll()s one fd for `events` (POLLIN/POLLOUT) up to `timeout_ms` (< 0: forever; EINTR
 * resumes with the time left). Returns 1 ready (also on POLLHUP/POLLERR), 0 timed out. */
int isthmus_wait_fd(int fd, short events, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif

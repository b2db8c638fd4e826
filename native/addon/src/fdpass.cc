// fd passing over Unix SOCK_SEQPACKET sockets, for JavaScript (the node agent and its
// clients, docs/agent.md). The work is done by the C core (isthmus/bootstrap.h); this file
// validates arguments, turns errno into Errors and lets the event loop watch sockets.
//
// Exports:
//   unixListen(path, mode, backlog) -> fd        non-blocking, listening
//   unixConnect(path)               -> fd        non-blocking, connected
//   unixAccept(listenFd)            -> fd | null null: nothing pending (EAGAIN)
//   unixPair()                      -> [fd, fd]  a connected pair (blocking)
//   sendFds(fd, bytes, fds[])       -> boolean   false: the socket buffer is full (EAGAIN),
//                                                nothing was sent; EPIPE etc. throw
//   recvFds(fd)                     -> { data: Buffer, fds: number[] } | null
//                                      data.length == 0: end of stream; null: EAGAIN
//   recvFdsSync(fd, timeoutMs)      -> the same, after waiting up to timeoutMs for a
//                                      message (null: timed out). Blocks this thread.
//   waitFd(fd, writable, timeoutMs) -> boolean   poll() for readable (or writable); false:
//                                      timed out. Blocks this thread.
//   peerCred(fd)                    -> { pid, uid, gid }   SO_PEERCRED
//   pollStart(fd, cb)               -> handle   cb(events, errno) on the loop: events has
//                                      bit 1 readable, bit 2 writable, bit 4 disconnect;
//                                      errno != 0 on a poll error. Starts readable-only.
//   pollEvents(handle, writable)    -> void     also (or no longer) watch writability
//   pollRef(handle, ref)            -> void     whether the poll keeps the loop alive
//   pollStop(handle)                -> void     idempotent; required before closing fd
//   closeFd(fd)                     -> void
//
// Raw fds: these functions take plain integers. The caller guarantees an fd it passes is
// one it owns and is still open (a closed and reused fd number would be sent, polled or
// closed in its place). sendFds never takes ownership of the fds it sends. Every fd that
// recvFds returns belongs to the caller, which must close it (closeFd / fs.closeSync).
// A poll must be stopped (pollStop) before its fd is closed; a poll left running keeps
// the loop alive and its callback referenced until the env is torn down.

#include "fdpass.h"

#include <node_api.h>
#include <uv.h>

extern "C" {
#include "isthmus/bootstrap.h"
}

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <unistd.h>
#include <poll.h>

namespace isthmus_addon {
namespace {

Napi::Error Errno(Napi::Env env, int neg, const char* op, const std::string& what) {
  int e = neg < 0 ? -neg : neg;
  const char* name = strerrorname_np(e);
  std::string code = name ? name : ("E" + std::to_string(e));
  std::string msg = code + ": " + std::strerror(e) + ", " + op;
  if (!what.empty()) msg += " " + what;
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, op));
  return err;
}

std::string Show(const Napi::Value& v) {
  if (v.IsNumber() || v.IsString() || v.IsBoolean()) return v.ToString().Utf8Value();
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  return "a value of type object";
}

int Fd(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number, got " + Show(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d > INT_MAX)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a file descriptor (an integer >= 0), got " + Show(v));
  return (int)d;
}

std::string Path(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string, got " + Show(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() || s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(info.Env(), "path must be a non-empty string without NUL, got " + Show(v));
  return s;
}

Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  std::string path = Path(info, 0);
  unsigned mode = 0;
  if (!info[1].IsUndefined()) {
    double m = info[1].ToNumber().DoubleValue();
    if (!std::isfinite(m) || m < 0 || m > 07777 || std::trunc(m) != m)
      throw Napi::RangeError::New(info.Env(), "mode must be an integer in [0, 0o7777], got " + Show(info[1]));
    mode = (unsigned)m;
  }
  int backlog = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 64;
  int rc = isthmus_unix_listen(path.c_str(), mode, backlog);
  if (rc < 0) throw Errno(info.Env(), rc, "listen", "'" + path + "'");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  std::string path = Path(info, 0);
  int rc = isthmus_unix_connect(path.c_str());
  if (rc < 0) throw Errno(info.Env(), rc, "connect", "'" + path + "'");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value UnixAccept(const Napi::CallbackInfo& info) {
  int fd = Fd(info, 0, "listenFd");
  int rc = isthmus_unix_accept(fd);
  if (rc == -EAGAIN) return info.Env().Null();
  if (rc < 0) throw Errno(info.Env(), rc, "accept4", "fd " + std::to_string(fd));
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value UnixPair(const Napi::CallbackInfo& info) {
  int sv[2];
  int rc = isthmus_unix_pair(sv);
  if (rc < 0) throw Errno(info.Env(), rc, "socketpair", "");
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Napi::Number::New(info.Env(), sv[0]));
  a.Set(1u, Napi::Number::New(info.Env(), sv[1]));
  return a;
}

Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(info, 0, "fd");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "bytes must be a Uint8Array, got " + Show(info[1]));
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  if (bytes.ByteLength() == 0 || bytes.ByteLength() > ISTHMUS_MAX_MESSAGE)
    throw Napi::RangeError::New(env, "bytes must hold 1.." + std::to_string(ISTHMUS_MAX_MESSAGE) + " bytes, got " +
                                         std::to_string(bytes.ByteLength()));
  int fds[ISTHMUS_MAX_FDS];
  size_t nfds = 0;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsArray()) throw Napi::TypeError::New(env, "fds must be an array of file descriptors, got " + Show(info[2]));
    Napi::Array a = info[2].As<Napi::Array>();
    if (a.Length() > ISTHMUS_MAX_FDS)
      throw Napi::RangeError::New(env, "at most " + std::to_string(ISTHMUS_MAX_FDS) + " fds per message, got " + std::to_string(a.Length()));
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!std::isfinite(d) || std::trunc(d) != d || d < 0 || d > INT_MAX)
        throw Napi::TypeError::New(env, "fds[" + std::to_string(i) + "] must be a file descriptor, got " + Show(v));
      fds[nfds++] = (int)d;
    }
  }
  int rc = isthmus_send_fds(fd, bytes.Data(), bytes.ByteLength(), fds, nfds);
  if (rc == -EAGAIN) return Napi::Boolean::New(env, false);
  if (rc < 0) throw Errno(env, rc, "sendmsg", "fd " + std::to_string(fd));
  return Napi::Boolean::New(env, true);
}

Napi::Value Received(Napi::Env env, int fd, int rc, uint8_t* buf, int* fds, size_t nfds) {
  if (rc == -EAGAIN) return env.Null();
  if (rc < 0) throw Errno(env, rc, "recvmsg", "fd " + std::to_string(fd));
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf, (size_t)rc));
  Napi::Array a = Napi::Array::New(env, nfds);
  for (size_t i = 0; i < nfds; i++) a.Set((uint32_t)i, Napi::Number::New(env, fds[i]));
  o.Set("fds", a);
  return o;
}

Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  int fd = Fd(info, 0, "fd");
  static thread_local uint8_t buf[ISTHMUS_MAX_MESSAGE];
  int fds[ISTHMUS_MAX_FDS];
  size_t nfds = 0;
  int rc = isthmus_recv_fds(fd, buf, sizeof buf, fds, ISTHMUS_MAX_FDS, &nfds);
  return Received(info.Env(), fd, rc, buf, fds, nfds);
}

Napi::Value RecvFdsSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(info, 0, "fd");
  double ms = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(ms) || ms < 0) throw Napi::TypeError::New(env, "timeoutMs must be a finite number >= 0, got " + Show(info[1]));
  int w = isthmus_wait_fd(fd, POLLIN, ms > INT_MAX ? INT_MAX : (int)std::ceil(ms));
  if (w < 0) throw Errno(env, w, "poll", "fd " + std::to_string(fd));
  if (w == 0) return env.Null();
  static thread_local uint8_t buf[ISTHMUS_MAX_MESSAGE];
  int fds[ISTHMUS_MAX_FDS];
  size_t nfds = 0;
  int rc = isthmus_recv_fds(fd, buf, sizeof buf, fds, ISTHMUS_MAX_FDS, &nfds);
  return Received(env, fd, rc, buf, fds, nfds);
}

Napi::Value WaitFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(info, 0, "fd");
  bool writable = info[1].ToBoolean().Value();
  double ms = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(ms) || ms < 0) throw Napi::TypeError::New(env, "timeoutMs must be a finite number >= 0, got " + Show(info[2]));
  int w = isthmus_wait_fd(fd, writable ? POLLOUT : POLLIN, ms > INT_MAX ? INT_MAX : (int)std::ceil(ms));
  if (w < 0) throw Errno(env, w, "poll", "fd " + std::to_string(fd));
  return Napi::Boolean::New(env, w == 1);
}

Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  int fd = Fd(info, 0, "fd");
  isthmus_cred c{};
  int rc = isthmus_peer_cred(fd, &c);
  if (rc < 0) throw Errno(info.Env(), rc, "getsockopt(SO_PEERCRED)", "fd " + std::to_string(fd));
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("pid", Napi::Number::New(info.Env(), c.pid));
  o.Set("uid", Napi::Number::New(info.Env(), c.uid));
  o.Set("gid", Napi::Number::New(info.Env(), c.gid));
  return o;
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = Fd(info, 0, "fd");
  if (close(fd) < 0 && errno != EINTR) throw Errno(info.Env(), -errno, "close", "fd " + std::to_string(fd));
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------
// Event-loop readiness: one uv_poll_t per watched socket, on the loop of the calling env.
//
// Lifetime: the Poll is allocated by pollStart and freed in uv_close's callback, after
// pollStop (or the env's cleanup hook) closed the handle. The JS handle is an External
// pointing at it; `stopped` makes a second pollStop (or one after env cleanup) a no-op.

struct Poll {
  uv_poll_t handle;
  napi_env env = nullptr;
  napi_ref callback = nullptr;
  napi_async_context context = nullptr;
  int fd = -1;
  int events = UV_READABLE | UV_DISCONNECT;
  bool stopped = false;
};

void OnClosed(uv_handle_t* h) {
  delete static_cast<Poll*>(h->data);
}

// Stops the poll and closes its handle; the caller has removed (or is running) the env
// cleanup hook.
void Stop(Poll* p) {
  if (p->stopped) return;
  p->stopped = true;
  uv_poll_stop(&p->handle);
  if (p->callback) napi_delete_reference(p->env, p->callback);
  if (p->context) napi_async_destroy(p->env, p->context);
  p->callback = nullptr;
  p->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), OnClosed);
}

void Cleanup(void* arg) {
  Stop(static_cast<Poll*>(arg));
}

void OnPoll(uv_poll_t* h, int status, int events) {
  Poll* p = static_cast<Poll*>(h->data);
  if (p->stopped || p->callback == nullptr) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, argv[2], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &global);
  int ev = 0;
  if (events & UV_READABLE) ev |= 1;
  if (events & UV_WRITABLE) ev |= 2;
  if (events & UV_DISCONNECT) ev |= 4;
  napi_create_int32(env, status < 0 ? 0 : ev, &argv[0]);
  napi_create_int32(env, status < 0 ? -status : 0, &argv[1]);
  napi_status st = napi_make_callback(env, p->context, global, cb, 2, argv, &result);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

Poll* Handle(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "handle must be a poll handle from pollStart, got " + Show(info[0]));
  return info[0].As<Napi::External<Poll>>().Data();
}

Napi::Value PollStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(info, 0, "fd");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function, got " + Show(info[1]));
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "no event loop");
  Poll* p = new Poll();
  p->env = env;
  p->fd = fd;
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc < 0) {
    delete p;
    throw Errno(env, rc, "uv_poll_init", "fd " + std::to_string(fd));
  }
  p->handle.data = p;
  napi_create_reference(env, info[1], 1, &p->callback);
  napi_async_init(env, nullptr, Napi::String::New(env, "isthmus.poll"), &p->context);
  rc = uv_poll_start(&p->handle, p->events, OnPoll);
  if (rc < 0) {
    Stop(p);
    throw Errno(env, rc, "uv_poll_start", "fd " + std::to_string(fd));
  }
  napi_add_env_cleanup_hook(env, Cleanup, p);
  return Napi::External<Poll>::New(env, p);
}

Napi::Value PollEvents(const Napi::CallbackInfo& info) {
  Poll* p = Handle(info);
  if (p->stopped) return info.Env().Undefined();
  p->events = UV_READABLE | UV_DISCONNECT | (info[1].ToBoolean().Value() ? UV_WRITABLE : 0);
  int rc = uv_poll_start(&p->handle, p->events, OnPoll);
  if (rc < 0) throw Errno(info.Env(), rc, "uv_poll_start", "fd " + std::to_string(p->fd));
  return info.Env().Undefined();
}

Napi::Value PollRef(const Napi::CallbackInfo& info) {
  Poll* p = Handle(info);
  if (p->stopped) return info.Env().Undefined();
  if (info[1].ToBoolean().Value()) uv_ref(reinterpret_cast<uv_handle_t*>(&p->handle));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&p->handle));
  return info.Env().Undefined();
}

Napi::Value PollStop(const Napi::CallbackInfo& info) {
  Poll* p = Handle(info);
  if (!p->stopped) {
    napi_remove_env_cleanup_hook(p->env, Cleanup, p);
    Stop(p);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitFdpass(Napi::Env env, Napi::Object exports) {
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("unixAccept", Napi::Function::New(env, UnixAccept, "unixAccept"));
  exports.Set("unixPair", Napi::Function::New(env, UnixPair, "unixPair"));
  exports.Set("sendFds", Napi::Function::New(env, SendFds, "sendFds"));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds, "recvFds"));
  exports.Set("recvFdsSync", Napi::Function::New(env, RecvFdsSync, "recvFdsSync"));
  exports.Set("waitFd", Napi::Function::New(env, WaitFd, "waitFd"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("pollStart", Napi::Function::New(env, PollStart, "pollStart"));
  exports.Set("pollEvents", Napi::Function::New(env, PollEvents, "pollEvents"));
  exports.Set("pollRef", Napi::Function::New(env, PollRef, "pollRef"));
  exports.Set("pollStop", Napi::Function::New(env, PollStop, "pollStop"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace isthmus_addon

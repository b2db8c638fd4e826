// The Node addon: exposes isthmus regions to JavaScript as SharedArrayBuffers and the
// cross-process futex (docs/ring.md §3) as synchronous and Promise-based waits.
//
// Only this folder includes Node headers; everything it does to memory goes through the
// C core (isthmus/region.h, notify.h, proc.h). The TypeScript package @isthmus/native
// (packages/native/src/index.ts) wraps these exports; this file validates every argument
// itself as well, because it is the layer that turns a JS offset into a raw pointer.
//
// Exports (all synchronous unless noted):
//   createMemfd(name, size)            -> { buffer, fd, size }
//   createFile(path, size, mode)       -> { buffer, fd, size }   mode 0: 0600
//   openFile(path)                     -> { buffer, fd, size }
//   createShm(name, size, mode)        -> { buffer, fd, size }
//   openShm(name)                      -> { buffer, fd, size }
//   openFd(fd)                         -> { buffer, fd, size }   fd is a dup; caller keeps its own
//   seals(fd)                          -> F_GET_SEALS bits
//   futexWait(sab, off, expected, ms)  -> 'ok' | 'not-equal' | 'timed-out'
//   futexWaitAsync(...)                -> Promise of the same
//   futexWake(sab, off, count)         -> number of waiters woken
//   procStartTime(pid)                 -> bigint | null
//   watch(sab, off, callback)          -> handle; unwatch(handle); watchRef(handle, bool)
//                                         (watch.cc: futex words -> eventfd -> event loop)
//
// Lifetime of a mapping: the SharedArrayBuffer owns it. Its backing store's finalizer
// munmaps when V8 collects the last SharedArrayBuffer that refers to it (in any isolate:
// the buffer can be posted to workers). Closing the region closes only the fd, so JS can
// never hold a SharedArrayBuffer over unmapped memory.

#include <napi.h>
#include <node_api.h>

#include "fdpass.h"
#include "wasm_memory.h"
#include "watch.h"

extern "C" {
#include "isthmus/notify.h"
#include "isthmus/proc.h"
#include "isthmus/region.h"
}

#include <cerrno>
#include <climits>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <sys/mman.h>
#include <unistd.h>

namespace {

// ---------------------------------------------------------------------------------------
// Errors

// An errno failure: Error with `code` ('EEXIST'), `errno` (positive), `syscall` and,
// when one applies, `path`; the message names all of them.
Napi::Error ErrnoError(Napi::Env env, int neg_errno, const char* op, const std::string& path) {
  int e = neg_errno < 0 ? -neg_errno : neg_errno;
  const char* name = strerrorname_np(e);
  std::string code = name ? name : ("E" + std::to_string(e));
  std::string msg = code + ": " + std::strerror(e) + ", " + op;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, op));
  if (!path.empty()) err.Set("path", Napi::String::New(env, path));
  return err;
}

[[noreturn]] void ThrowType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

std::string Show(const Napi::Value& v) {
  if (v.IsNumber() || v.IsString() || v.IsBoolean() || v.IsBigInt()) return v.ToString().Utf8Value();
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  return "a value of type " + std::string(v.IsObject() ? "object" : "other");
}

// ---------------------------------------------------------------------------------------
// Argument validation (every error names the argument and the value it got)

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1

double Integer(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number, got " + Show(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d)
    ThrowType(info.Env(), std::string(name) + " must be an integer, got " + Show(v));
  if (d < lo || d > hi)
    ThrowRange(info.Env(), std::string(name) + " must be in [" + std::to_string((long long)lo) + ", " +
                               std::to_string((long long)hi) + "], got " + Show(v));
  return d;
}

size_t Size(const Napi::CallbackInfo& info, size_t i) {
  return (size_t)Integer(info, i, "size", 1, kMaxSafe);
}

std::string Str(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsString()) ThrowType(info.Env(), std::string(name) + " must be a string, got " + Show(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) ThrowType(info.Env(), std::string(name) + " must not be empty");
  if (s.find('\0') != std::string::npos)
    ThrowType(info.Env(), std::string(name) + " must not contain NUL characters");
  return s;
}

unsigned Mode(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsUndefined()) return 0;  // the C core's default: 0600
  return (unsigned)Integer(info, i, "mode", 0, 07777);
}

// A naturally aligned u32 inside a SharedArrayBuffer. The pointer stays valid while the
// caller holds the buffer (a napi_value on the stack, or a napi_ref for async waits).
uint32_t* Word(const Napi::CallbackInfo& info, size_t buf_i, size_t off_i) {
  Napi::Env env = info.Env();
  Napi::Value b = info[buf_i];
  bool is_sab = false;
  if (node_api_is_sharedarraybuffer(env, b, &is_sab) != napi_ok || !is_sab)
    ThrowType(env, "buffer must be a SharedArrayBuffer, got " + Show(b));
  void* data = nullptr;
  size_t len = 0;
  if (napi_get_arraybuffer_info(env, b, &data, &len) != napi_ok)
    ThrowType(env, "buffer must be a SharedArrayBuffer");
  double off = Integer(info, off_i, "byteOffset", 0, kMaxSafe);
  if (std::fmod(off, 4.0) != 0)
    ThrowRange(env, "byteOffset must be a multiple of 4, got " + Show(info[off_i]));
  if (len < 4 || off > (double)(len - 4))
    ThrowRange(env, "byteOffset " + Show(info[off_i]) + " + 4 exceeds the buffer's " +
                        std::to_string(len) + " bytes");
  return reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(data) + (size_t)off);
}

uint32_t Expected(const Napi::CallbackInfo& info, size_t i) {
  // Accepts both the Int32Array and the Uint32Array view of the word.
  double d = Integer(info, i, "expected", -2147483648.0, 4294967295.0);
  return d < 0 ? (uint32_t)(int32_t)d : (uint32_t)d;
}

int64_t TimeoutNs(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), "timeoutMs must be a number, got " + Show(v));
  double ms = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(ms) || ms < 0)
    ThrowType(info.Env(), "timeoutMs must be a finite number >= 0, got " + Show(v));
  double ns = ms * 1e6;
  return ns >= 9.2e18 ? INT64_MAX : (int64_t)ns;
}

// ---------------------------------------------------------------------------------------
// Regions

struct Mapping {
  void* base;
  size_t size;
};

// Runs when the last SharedArrayBuffer over the mapping is collected, on whichever thread
// V8 frees the backing store: it touches nothing but the mapping.
void Unmap(void* /*data*/, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  munmap(m->base, m->size);
  delete m;
}

// Wraps a freshly mapped region: { buffer: SharedArrayBuffer, fd, size }. On any failure
// the mapping and the fd are released before the exception propagates.
Napi::Value Wrap(Napi::Env env, isthmus_region& r) {
  Mapping* m = new Mapping{r.base, r.size};
  napi_value sab = nullptr;
  napi_status st = node_api_create_external_sharedarraybuffer(env, r.base, r.size, Unmap, m, &sab);
  if (st != napi_ok) {
    delete m;
    isthmus_region_close(&r);
    throw Napi::Error::New(env, "node_api_create_external_sharedarraybuffer failed (status " +
                                    std::to_string((int)st) + ")");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffer", Napi::Value(env, sab));
  o.Set("fd", Napi::Number::New(env, r.fd));
  o.Set("size", Napi::Number::New(env, (double)r.size));
  return o;
}

Napi::Value CreateMemfd(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0, "name");
  size_t size = Size(info, 1);
  isthmus_region r{};
  int rc = isthmus_region_create_memfd(name.c_str(), size, &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "memfd_create", name);
  return Wrap(info.Env(), r);
}

Napi::Value CreateFile(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0, "path");
  size_t size = Size(info, 1);
  unsigned mode = Mode(info, 2);
  isthmus_region r{};
  int rc = isthmus_region_create_path(path.c_str(), size, mode, &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "open", path);
  return Wrap(info.Env(), r);
}

Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0, "path");
  isthmus_region r{};
  int rc = isthmus_region_open_path(path.c_str(), &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "open", path);
  return Wrap(info.Env(), r);
}

Napi::Value CreateShm(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0, "name");
  size_t size = Size(info, 1);
  unsigned mode = Mode(info, 2);
  isthmus_region r{};
  int rc = isthmus_region_create_shm(name.c_str(), size, mode, &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "shm_open", name);
  return Wrap(info.Env(), r);
}

Napi::Value OpenShm(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0, "name");
  isthmus_region r{};
  int rc = isthmus_region_open_shm(name.c_str(), &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "shm_open", name);
  return Wrap(info.Env(), r);
}

Napi::Value OpenFd(const Napi::CallbackInfo& info) {
  int fd = (int)Integer(info, 0, "fd", 0, INT_MAX);
  isthmus_region r{};
  int rc = isthmus_region_open_fd(fd, &r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "mmap", "fd " + std::to_string(fd));
  return Wrap(info.Env(), r);
}

Napi::Value Seals(const Napi::CallbackInfo& info) {
  int fd = (int)Integer(info, 0, "fd", 0, INT_MAX);
  isthmus_region r{};
  r.fd = fd;
  int rc = isthmus_region_seals(&r);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "fcntl(F_GET_SEALS)", "fd " + std::to_string(fd));
  return Napi::Number::New(info.Env(), rc);
}

// ---------------------------------------------------------------------------------------
// Futex

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// One wait with the whole timeout: an EINTR (a signal) resumes with the time left, so a
// wait returns only on a wake-up (or a spurious one: 0), a differing value or the timeout.
int WaitWord(const uint32_t* addr, uint32_t expected, int64_t timeout_ns) {
  const int64_t deadline = MonoNs() + timeout_ns;
  for (;;) {
    int rc = isthmus_futex_wait(addr, expected, timeout_ns);
    if (rc != -EINTR) return rc;
    timeout_ns = deadline - MonoNs();
    if (timeout_ns <= 0) return -ETIMEDOUT;
  }
}

const char* Outcome(int rc) {
  switch (rc) {
    case 0: return "ok";
    case -EAGAIN: return "not-equal";
    case -ETIMEDOUT: return "timed-out";
    default: return nullptr;
  }
}

Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  uint32_t* addr = Word(info, 0, 1);
  uint32_t expected = Expected(info, 2);
  int64_t ns = TimeoutNs(info, 3);
  int rc = WaitWord(addr, expected, ns);
  const char* out = Outcome(rc);
  if (!out) throw ErrnoError(info.Env(), rc, "futex(FUTEX_WAIT)", "");
  return Napi::String::New(info.Env(), out);
}

Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  uint32_t* addr = Word(info, 0, 1);
  int count = INT_MAX;
  if (!info[2].IsUndefined()) {
    if (info[2].IsNumber() && info[2].As<Napi::Number>().DoubleValue() == INFINITY) count = INT_MAX;
    else count = (int)Integer(info, 2, "count", 0, INT_MAX);
  }
  int rc = isthmus_futex_wake(addr, count);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "futex(FUTEX_WAKE)", "");
  return Napi::Number::New(info.Env(), rc);
}

// Asynchronous waits.
//
// A futex wait blocks its thread, so an async wait needs a thread of its own. The libuv
// pool is the wrong place: it has 4 threads by default and fs/dns/zlib share them, so
// five pending waits would stall every fs call of the process until a timeout. Instead
// each pending wait gets a dedicated waiter thread from a process-wide pool that grows on
// demand: a wait never queues behind another wait (there are as many threads as pending
// waits), and a thread that finishes parks for kIdle and takes the next wait, so a steady
// stream of waits does not pay a thread creation each. Threads idle longer than kIdle exit.
//
// The result goes back to the waiting env through a thread-safe function (one per wait,
// released after the call), which keeps the event loop alive while the wait is pending,
// like a timer. The SharedArrayBuffer is held by a napi_ref for as long, so the word the
// thread waits on cannot be unmapped under it while its env lives.
//
// An env can be torn down (a worker terminated) while its waits are pending. Node then
// finalizes their thread-safe functions, after which no other thread may touch them: the
// finalizer marks the job orphaned under the job's mutex, and the waiter thread, under the
// same mutex, calls the thread-safe function only when the job is not orphaned. The job is
// freed by whichever of the two lets go of it last. (The buffer may then be unmapped while
// the thread still sleeps on the word: the kernel's futex wait does not fault on that, and
// the thread touches the word through the C core's isthmus_futex_wait only.)
struct WaitJob {
  const uint32_t* addr;
  uint32_t expected;
  int64_t timeout_ns;
  int rc = 0;
  napi_deferred deferred = nullptr;
  napi_ref buffer = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  std::mutex mu;
  bool orphaned = false;        // guarded by mu
  std::atomic<int> owners{2};   // the waiter thread and the thread-safe function

  void Unref() {
    if (owners.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

// Runs on the JS thread when the thread-safe function is destroyed: after the wait
// settled, or at env teardown.
void WaitFinalized(napi_env /*env*/, void* data, void* /*hint*/) {
  WaitJob* job = static_cast<WaitJob*>(data);
  {
    std::lock_guard<std::mutex> lk(job->mu);
    job->orphaned = true;
  }
  job->Unref();
}

// Called by a waiter thread once the wait returned.
void DeliverWait(WaitJob* job) {
  {
    std::lock_guard<std::mutex> lk(job->mu);
    if (!job->orphaned && napi_call_threadsafe_function(job->tsfn, job, napi_tsfn_nonblocking) == napi_ok)
      napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
  }
  job->Unref();
}

class WaiterPool {
 public:
  static WaiterPool& Get() {
    // Never destroyed: detached waiter threads may still use it during process exit.
    static WaiterPool* pool = new WaiterPool();
    return *pool;
  }

  void Submit(WaitJob* job) {
    std::unique_lock<std::mutex> lk(mu_);
    if (idle_ > 0) {
      // Invariant: idle_ == threads parked - jobs queued; a parked thread takes this job.
      --idle_;
      queue_.push_back(job);
      cv_.notify_one();
      return;
    }
    lk.unlock();
    std::thread(&WaiterPool::Run, this, job).detach();
  }

 private:
  static constexpr std::chrono::seconds kIdle{10};

  void Run(WaitJob* job) {
    for (;;) {
      job->rc = WaitWord(job->addr, job->expected, job->timeout_ns);
      DeliverWait(job);

      std::unique_lock<std::mutex> lk(mu_);
      ++idle_;
      if (!cv_.wait_for(lk, kIdle, [this] { return !queue_.empty(); })) {
        --idle_;
        return;
      }
      job = queue_.front();
      queue_.pop_front();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WaitJob*> queue_;
  int idle_ = 0;
};

// Runs on the JS thread of the env that started the wait (env == nullptr when the env is
// being torn down: then there is nothing to settle; WaitFinalized frees the job).
void SettleWait(napi_env env, napi_value /*js_cb*/, void* /*context*/, void* data) {
  WaitJob* job = static_cast<WaitJob*>(data);
  if (env != nullptr) {
    Napi::HandleScope scope(env);
    const char* out = Outcome(job->rc);
    if (out) {
      napi_resolve_deferred(env, job->deferred, Napi::String::New(env, out));
    } else {
      napi_reject_deferred(env, job->deferred,
                           ErrnoError(Napi::Env(env), job->rc, "futex(FUTEX_WAIT)", "").Value());
    }
    napi_delete_reference(env, job->buffer);
  }
}

Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t* addr = Word(info, 0, 1);
  uint32_t expected = Expected(info, 2);
  int64_t ns = TimeoutNs(info, 3);

  WaitJob* job = new WaitJob();
  job->addr = addr;
  job->expected = expected;
  job->timeout_ns = ns;
  napi_value promise;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    delete job;
    throw Napi::Error::New(env, "napi_create_promise failed");
  }
  napi_create_reference(env, info[0], 1, &job->buffer);
  napi_status st = napi_create_threadsafe_function(
      env, nullptr, nullptr, Napi::String::New(env, "isthmus.futexWaitAsync"), 0, 1, job,
      WaitFinalized, nullptr, SettleWait, &job->tsfn);
  if (st != napi_ok) {
    napi_delete_reference(env, job->buffer);
    delete job;
    throw Napi::Error::New(env, "napi_create_threadsafe_function failed");
  }
  try {
    WaiterPool::Get().Submit(job);
  } catch (const std::system_error& e) {
    // No thread could be started (EAGAIN: thread or memory limits). The wait is never
    // made: reject, and let go of the job on the waiter thread's behalf.
    napi_reject_deferred(env, job->deferred,
                         ErrnoError(env, -(e.code().value() ? e.code().value() : EAGAIN),
                                    "pthread_create (futexWaitAsync waiter thread)", "").Value());
    napi_delete_reference(env, job->buffer);
    {
      std::lock_guard<std::mutex> lk(job->mu);
      job->orphaned = true;  // SettleWait must not run for it
    }
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_abort);
    job->Unref();
  }
  return Napi::Value(env, promise);
}

// ---------------------------------------------------------------------------------------
// Liveness (docs/ring.md §5)

Napi::Value ProcStartTime(const Napi::CallbackInfo& info) {
  int pid = (int)Integer(info, 0, "pid", 1, INT_MAX);
  uint64_t t = 0;
  int rc = isthmus_proc_start_time(pid, &t);
  if (rc == -ESRCH) return info.Env().Null();
  if (rc < 0) throw ErrnoError(info.Env(), rc, "read", "/proc/" + std::to_string(pid) + "/stat");
  return Napi::BigInt::New(info.Env(), t);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("createMemfd", Napi::Function::New(env, CreateMemfd, "createMemfd"));
  exports.Set("createFile", Napi::Function::New(env, CreateFile, "createFile"));
  exports.Set("openFile", Napi::Function::New(env, OpenFile, "openFile"));
  exports.Set("createShm", Napi::Function::New(env, CreateShm, "createShm"));
  exports.Set("openShm", Napi::Function::New(env, OpenShm, "openShm"));
  exports.Set("openFd", Napi::Function::New(env, OpenFd, "openFd"));
  exports.Set("seals", Napi::Function::New(env, Seals, "seals"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWaitAsync", Napi::Function::New(env, FutexWaitAsync, "futexWaitAsync"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("procStartTime", Napi::Function::New(env, ProcStartTime, "procStartTime"));
  isthmus_addon::InitWatch(env, exports, Word);
  isthmus_addon::InitWasmMemory(env, exports);
  isthmus_addon::InitFdpass(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(isthmus, Init)

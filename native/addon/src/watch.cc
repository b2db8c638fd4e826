// watch(): futex words observed by one helper thread per process, delivered to each event
// loop through an eventfd polled by libuv. No thread per watch, no libuv pool thread.
//
//   any process                 helper thread (one per process)         event loop (per env)
//   -----------                 -------------------------------         --------------------
//   word += 1 (release)         futex_waitv(all watched words,          uv_poll(eventfd)
//   futexWake(word)      --->       each against its last value)  --->    read(eventfd)
//                               load(word) (acquire) != last:             callback(value)
//                                 last = value; write(eventfd, 1)
//
// Contract:
// - The callback runs on the loop of the thread that called watch(), with the word's
//   value, after the word changed from the value the previous callback got (at first, the
//   value at watch() time). Changes between two loop turns coalesce into one callback
//   with the newest value. A change that is undone before the helper looks (A -> B -> A)
//   is not seen: watch words that only grow (counters), as docs/ring.md §3's futex words
//   do. The writer must futexWake the word after changing it (any process may).
// - The helper's acquire load pairs with the writer's release (or seq_cst) store: data
//   the writer published before changing the word is visible to the callback.
// - At most kMaxWatches words per process (futex_waitv takes 128, one is the helper's own
//   control word). Needs Linux >= 5.16 (futex_waitv); otherwise watch() throws ENOSYS.
// - A watch keeps its buffer alive and (unless unref()'d) the event loop, until close().
//
// Memory safety: the helper dereferences a word only while holding g_mu and only while
// the word's watch is registered; a registered watch holds a strong reference to its
// SharedArrayBuffer, and is unregistered (under g_mu) before that reference is dropped. The
// kernel wait itself may outlive a mapping harmlessly (it is re-armed on every change of
// the set: the control word g_gen is bumped and woken).

#include "watch.h"

#include <node_api.h>
#include <uv.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <linux/futex.h>
#include <mutex>
#include <string>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace isthmus_addon {
namespace {

constexpr size_t kMaxWatches = 127;

struct EnvState;

struct Entry {
  napi_env env;
  const uint32_t* addr;
  uint32_t last;             // g_mu: the value the helper last saw
  uint32_t value;            // g_mu: the value the next callback gets
  bool pending = false;      // g_mu: a callback is due
  bool registered = false;   // g_mu: in g_entries (the helper may read addr)
  EnvState* owner;           // valid while registered
  // JS thread only:
  bool active = true;
  bool refed = true;
  int holds = 1;             // the External; +1 while a dispatch holds it
  napi_ref buffer = nullptr, callback = nullptr, self = nullptr;
  napi_async_context context = nullptr;
};

struct EnvState {
  napi_env env;
  int efd = -1;
  uv_poll_t poll;
  int refs = 0;  // active, ref()'d watches: the poll handle is ref'd while > 0
  napi_async_cleanup_hook_handle hook = nullptr;
};

std::mutex g_mu;
std::vector<Entry*> g_entries;          // g_mu
std::atomic<uint32_t> g_gen{0};         // control word: bumped when g_entries changes
bool g_helper_started = false;          // g_mu

long FutexWaitv(struct futex_waitv* v, unsigned n) {
  return syscall(SYS_futex_waitv, v, n, 0, nullptr, CLOCK_MONOTONIC);
}

void Rearm() {  // caller holds g_mu
  g_gen.fetch_add(1, std::memory_order_seq_cst);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_gen), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

void Signal(EnvState* s) {
  uint64_t one = 1;
  ssize_t r = write(s->efd, &one, sizeof one);  // EAGAIN: the counter is already non-zero
  (void)r;
}

// Marks every registered entry whose word changed; signals its loop. Caller holds g_mu.
void Scan() {
  for (Entry* e : g_entries) {
    uint32_t v = __atomic_load_n(e->addr, __ATOMIC_ACQUIRE);
    if (v == e->last) continue;
    e->last = v;
    e->value = v;
    if (!e->pending) {
      e->pending = true;
      Signal(e->owner);
    }
  }
}

void Helper() {
  std::vector<struct futex_waitv> v;
  v.reserve(kMaxWatches + 1);
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(g_mu);
      Scan();
      v.clear();
      struct futex_waitv ctl{};
      ctl.uaddr = reinterpret_cast<uintptr_t>(&g_gen);
      ctl.val = g_gen.load(std::memory_order_seq_cst);
      ctl.flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
      v.push_back(ctl);
      for (Entry* e : g_entries) {
        struct futex_waitv w{};
        w.uaddr = reinterpret_cast<uintptr_t>(e->addr);
        w.val = e->last;
        w.flags = FUTEX_32;  // shared: woken by any process mapping the word
        v.push_back(w);
      }
    }
    // Returns on a wake of any word, or at once (EAGAIN) when one already differs from
    // its expected value; either way the loop re-scans.
    FutexWaitv(v.data(), (unsigned)v.size());
  }
}

void Unregister(Entry* e) {  // any thread
  std::lock_guard<std::mutex> lk(g_mu);
  if (!e->registered) return;
  e->registered = false;
  for (size_t i = 0; i < g_entries.size(); i++) {
    if (g_entries[i] == e) {
      g_entries[i] = g_entries.back();
      g_entries.pop_back();
      break;
    }
  }
  Rearm();
}

void Release(Entry* e) {
  if (--e->holds == 0) delete e;
}

void UpdateRef(EnvState* s) {
  if (s->refs > 0) uv_ref(reinterpret_cast<uv_handle_t*>(&s->poll));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
}

// libuv: the eventfd is readable. Runs the due callbacks of this env.
void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  EnvState* s = static_cast<EnvState*>(handle->data);
  uint64_t n;
  while (read(s->efd, &n, sizeof n) > 0) {
  }
  if (status < 0) return;
  std::vector<std::pair<Entry*, uint32_t>> due;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    for (Entry* e : g_entries) {
      if (e->owner == s && e->pending) {
        e->pending = false;
        e->holds++;
        due.emplace_back(e, e->value);
      }
    }
  }
  napi_env env = s->env;
  for (auto& [e, value] : due) {
    if (e->active) {
      napi_handle_scope scope;
      napi_open_handle_scope(env, &scope);
      napi_value cb, recv, arg, result;
      napi_get_reference_value(env, e->callback, &cb);
      napi_get_global(env, &recv);  // napi_make_callback needs an object receiver
      napi_create_uint32(env, value, &arg);
      if (napi_make_callback(env, e->context, recv, cb, 1, &arg, &result) == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);  // 'uncaughtException', like an event listener's throw
      }
      napi_close_handle_scope(env, scope);
    }
    Release(e);
  }
}

void OnPollClosed(uv_handle_t* handle) {
  EnvState* s = static_cast<EnvState*>(handle->data);
  close(s->efd);
  napi_remove_async_cleanup_hook(s->hook);
  delete s;
}

// Env teardown (a worker ending, or the process exiting): unregister this env's watches,
// then close the poll handle before the loop closes.
void CleanupEnv(napi_async_cleanup_hook_handle /*handle*/, void* arg) {
  EnvState* s = static_cast<EnvState*>(arg);
  {
    std::lock_guard<std::mutex> lk(g_mu);
    bool changed = false;
    for (size_t i = 0; i < g_entries.size();) {
      if (g_entries[i]->owner == s) {
        g_entries[i]->registered = false;
        g_entries[i]->active = false;
        g_entries[i] = g_entries.back();
        g_entries.pop_back();
        changed = true;
      } else {
        i++;
      }
    }
    if (changed) Rearm();
  }
  uv_poll_stop(&s->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnPollClosed);
}

EnvState* StateOf(Napi::Env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  if (data) return static_cast<EnvState*>(data);
  EnvState* s = new EnvState();
  s->env = env;
  s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->efd < 0) {
    int e = errno;
    delete s;
    throw Napi::Error::New(env, std::string("eventfd: ") + std::strerror(e));
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, s->efd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, OnReadable);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  napi_add_async_cleanup_hook(env, CleanupEnv, s, &s->hook);
  napi_set_instance_data(env, s, nullptr, nullptr);
  return s;
}

// A basic finalizer (runs during GC): touches no JS, only the entry.
void FinalizeEntry(node_api_basic_env /*env*/, void* data, void* /*hint*/) {
  Entry* e = static_cast<Entry*>(data);
  Unregister(e);  // normally done by close(); at env teardown by CleanupEnv
  Release(e);
}

Entry* EntryOf(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "handle must be a watch handle");
  return info[0].As<Napi::External<Entry>>().Data();
}

// watch(buffer, byteOffset, callback) -> handle
Napi::Value Watch(const Napi::CallbackInfo& info, uint32_t* addr) {
  Napi::Env env = info.Env();
  if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  {
    long r = FutexWaitv(nullptr, 0);
    if (r < 0 && errno == ENOSYS) {
      Napi::Error err = Napi::Error::New(env, "ENOSYS: watch() needs futex_waitv (Linux >= 5.16)");
      err.Set("code", Napi::String::New(env, "ENOSYS"));
      throw err;
    }
  }
  EnvState* s = StateOf(env);
  Entry* e = new Entry();
  e->env = env;
  e->addr = addr;
  e->owner = s;
  napi_value ext;
  napi_create_external(env, e, FinalizeEntry, nullptr, &ext);
  napi_create_reference(env, info[0], 1, &e->buffer);
  napi_create_reference(env, info[2], 1, &e->callback);
  napi_create_reference(env, ext, 1, &e->self);
  napi_async_init(env, nullptr, Napi::String::New(env, "isthmus.watch"), &e->context);
  {
    std::lock_guard<std::mutex> lk(g_mu);
    if (g_entries.size() >= kMaxWatches) {
      e->active = false;
      napi_delete_reference(env, e->buffer);
      napi_delete_reference(env, e->callback);
      napi_delete_reference(env, e->self);
      napi_async_destroy(env, e->context);
      e->buffer = e->callback = e->self = nullptr;
      throw Napi::RangeError::New(env, "watch: at most " + std::to_string(kMaxWatches) +
                                           " words can be watched per process");
    }
    e->last = __atomic_load_n(addr, __ATOMIC_ACQUIRE);
    e->registered = true;
    g_entries.push_back(e);
    if (!g_helper_started) {
      g_helper_started = true;
      std::thread(Helper).detach();
    }
    Rearm();
  }
  s->refs++;
  UpdateRef(s);
  return Napi::Value(env, ext);
}

Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  Entry* e = EntryOf(info);
  if (!e->active) return info.Env().Undefined();
  e->active = false;
  Unregister(e);
  napi_env env = info.Env();
  if (e->refed) {
    e->owner->refs--;
    UpdateRef(e->owner);
  }
  napi_delete_reference(env, e->buffer);
  napi_delete_reference(env, e->callback);
  napi_delete_reference(env, e->self);
  napi_async_destroy(env, e->context);
  e->buffer = e->callback = e->self = nullptr;
  e->context = nullptr;
  return info.Env().Undefined();
}

// watchRef(handle, bool): whether this watch keeps the event loop alive.
Napi::Value WatchRef(const Napi::CallbackInfo& info) {
  Entry* e = EntryOf(info);
  bool want = info[1].ToBoolean().Value();
  if (e->active && want != e->refed) {
    e->refed = want;
    e->owner->refs += want ? 1 : -1;
    UpdateRef(e->owner);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitWatch(Napi::Env env, Napi::Object exports, WordGetter word) {
  exports.Set("watch", Napi::Function::New(env, [word](const Napi::CallbackInfo& info) {
    return Watch(info, word(info, 0, 1));
  }, "watch"));
  exports.Set("unwatch", Napi::Function::New(env, Unwatch, "unwatch"));
  exports.Set("watchRef", Napi::Function::New(env, WatchRef, "watchRef"));
}

}  // namespace isthmus_addon

// Zero-copy hosting of a region inside a WebAssembly.Memory (docs/wasm.md, "Hosting").
//
// wasmMap(memory, offset, fd, size)   maps the first `size` bytes of the file behind fd
//                                     over [offset, offset + round64k(size)) of the
//                                     memory's own pages: mmap(MAP_FIXED | MAP_SHARED).
// wasmUnmap(memory, offset, size)     puts private zero pages back over that window:
//                                     mmap(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS).
//
// Why this is sound. V8 reserves a wasm memory's whole address range up front (the
// maximum plus guard regions on 64-bit hosts) and grows it in place by changing the
// protection of pages past the old size, so pages below memory.buffer.byteLength stay
// where they are, and so does a mapping placed there. A memory is only ever freed as a
// whole (munmap of the reservation), which also drops the mapping. What this file must
// therefore guarantee is that it only ever replaces pages that belong to a live wasm
// memory and lie inside its current size:
//   - the memory is branded: the `buffer` getter of WebAssembly.Memory.prototype is
//     called on it (a TypeError for anything that is not a real WebAssembly.Memory);
//   - [offset, offset + window) lies inside the current byteLength;
//   - offset and the window are multiples of 64 KiB (the wasm page), the base address is
//     page aligned;
//   - only the file's pages are mapped (round4k(size) bytes), never past the file's end
//     (a read past EOF in a MAP_SHARED mapping is SIGBUS): size <= fstat(fd).st_size.
//     The rest of the window gets fresh zero pages.
// The caller (packages/native/src/wasm.ts) keeps the Memory object alive while a window
// is mapped and refuses overlapping windows.

#include "wasm_memory.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace isthmus_addon {
namespace {

constexpr size_t kWasmPage = 65536;
constexpr double kMaxSafe = 9007199254740991.0;

std::string Num(double d) {
  char b[64];
  std::snprintf(b, sizeof b, "%.0f", d);
  return b;
}

double Int(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an integer, got " + v.ToString().Utf8Value());
  if (d < lo || d > hi)
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be in [" + Num(lo) + ", " + Num(hi) + "], got " + Num(d));
  return d;
}

// The memory's current base and byte length, through the branded getter.
void MemoryInfo(const Napi::CallbackInfo& info, uint8_t** base, size_t* len, bool* shared) {
  Napi::Env env = info.Env();
  Napi::Object global = env.Global();
  Napi::Object wasm = global.Get("WebAssembly").As<Napi::Object>();
  Napi::Object proto = wasm.Get("Memory").As<Napi::Object>().Get("prototype").As<Napi::Object>();
  Napi::Object objectCtor = global.Get("Object").As<Napi::Object>();
  Napi::Function gopd = objectCtor.Get("getOwnPropertyDescriptor").As<Napi::Function>();
  Napi::Value desc = gopd.Call(objectCtor, {proto, Napi::String::New(env, "buffer")});
  if (!desc.IsObject()) throw Napi::Error::New(env, "WebAssembly.Memory.prototype.buffer is missing");
  Napi::Value getter = desc.As<Napi::Object>().Get("get");
  if (!getter.IsFunction()) throw Napi::Error::New(env, "WebAssembly.Memory.prototype.buffer has no getter");
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "memory must be a WebAssembly.Memory");
  // Throws TypeError ("Receiver is not a WebAssembly.Memory") for anything else.
  Napi::Value buf = getter.As<Napi::Function>().Call(info[0], {});
  void* data = nullptr;
  size_t n = 0;
  bool sab = false;
  if (node_api_is_sharedarraybuffer(env, buf, &sab) != napi_ok) throw Napi::Error::New(env, "memory.buffer: status");
  if (napi_get_arraybuffer_info(env, buf, &data, &n) != napi_ok) throw Napi::TypeError::New(env, "memory.buffer is not an ArrayBuffer");
  *base = static_cast<uint8_t*>(data);
  *len = n;
  *shared = sab;
}

std::string Errno(const char* op, int e) {
  const char* name = strerrorname_np(e);
  return std::string(name ? name : "E?") + ": " + std::strerror(e) + ", " + op;
}

Napi::Value WasmMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* base;
  size_t len;
  bool shared;
  MemoryInfo(info, &base, &len, &shared);
  size_t offset = (size_t)Int(info, 1, "offset", 0, kMaxSafe);
  int fd = (int)Int(info, 2, "fd", 0, 2147483647.0);
  size_t size = (size_t)Int(info, 3, "size", 1, kMaxSafe);
  if (offset % kWasmPage != 0)
    throw Napi::RangeError::New(env, "offset must be a multiple of 65536 (a wasm page), got " + Num((double)offset));
  size_t window = (size + kWasmPage - 1) / kWasmPage * kWasmPage;
  if (((uintptr_t)base & (kWasmPage - 1)) != 0 && ((uintptr_t)base & 4095) != 0)
    throw Napi::Error::New(env, "the memory's base address is not page aligned");
  if (offset > len || window > len - offset)
    throw Napi::RangeError::New(env, "window [" + Num((double)offset) + ", " + Num((double)(offset + window)) +
                                         ") lies beyond the memory's current " + Num((double)len) +
                                         " bytes: grow the memory first");
  struct stat st;
  if (fstat(fd, &st) != 0) throw Napi::Error::New(env, Errno("fstat", errno));
  if ((uint64_t)st.st_size < (uint64_t)size)
    throw Napi::RangeError::New(env, "size " + Num((double)size) + " exceeds the file's " + Num((double)st.st_size) + " bytes");
  long pg = sysconf(_SC_PAGESIZE);
  size_t filePart = (size + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
  void* at = base + offset;
  void* p = mmap(at, filePart, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    // The old pages may be gone already: give the window zero pages back.
    mmap(at, window, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    throw Napi::Error::New(env, Errno("mmap(MAP_FIXED|MAP_SHARED)", e));
  }
  if (window > filePart) {
    void* rest = base + offset + filePart;
    if (mmap(rest, window - filePart, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      throw Napi::Error::New(env, Errno("mmap(MAP_FIXED|MAP_ANONYMOUS)", errno));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("window", Napi::Number::New(env, (double)window));
  o.Set("mapped", Napi::Number::New(env, (double)filePart));
  o.Set("shared", Napi::Boolean::New(env, shared));
  return o;
}

Napi::Value WasmUnmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* base;
  size_t len;
  bool shared;
  MemoryInfo(info, &base, &len, &shared);
  size_t offset = (size_t)Int(info, 1, "offset", 0, kMaxSafe);
  size_t window = (size_t)Int(info, 2, "window", 1, kMaxSafe);
  if (offset % kWasmPage != 0 || window % kWasmPage != 0)
    throw Napi::RangeError::New(env, "offset and window must be multiples of 65536, got " + Num((double)offset) + " and " + Num((double)window));
  if (offset > len || window > len - offset)
    throw Napi::RangeError::New(env, "window [" + Num((double)offset) + ", " + Num((double)(offset + window)) + ") lies beyond the memory's " + Num((double)len) + " bytes");
  if (mmap(base + offset, window, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
    throw Napi::Error::New(env, Errno("mmap(MAP_FIXED|MAP_ANONYMOUS)", errno));
  return env.Undefined();
}

Napi::Value WasmBase(const Napi::CallbackInfo& info) {
  uint8_t* base;
  size_t len;
  bool shared;
  MemoryInfo(info, &base, &len, &shared);
  return Napi::BigInt::New(info.Env(), (uint64_t)(uintptr_t)base);
}

}  // namespace

void InitWasmMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("wasmMap", Napi::Function::New(env, WasmMap, "wasmMap"));
  exports.Set("wasmUnmap", Napi::Function::New(env, WasmUnmap, "wasmUnmap"));
  exports.Set("wasmBase", Napi::Function::New(env, WasmBase, "wasmBase"));
}

}  // namespace isthmus_addon

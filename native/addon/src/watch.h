// watch(): futex words delivered to the event loop through an eventfd (see watch.cc).
#pragma once
#include <napi.h>
#include <cstdint>

namespace isthmus_addon {
// Validates (buffer, byteOffset) at info[buf_i], info[off_i]; returns the word or throws.
using WordGetter = uint32_t* (*)(const Napi::CallbackInfo& info, size_t buf_i, size_t off_i);
// Adds watch(buffer, byteOffset, callback) -> handle, unwatch(handle), watchRef(handle, bool).
void InitWatch(Napi::Env env, Napi::Object exports, WordGetter word);
}  // namespace isthmus_addon

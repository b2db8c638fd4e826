// wasmMap / wasmUnmap / wasmBase: regions mapped into a WebAssembly.Memory (wasm_memory.cc).
#pragma once
#include <napi.h>

namespace isthmus_addon {
// Adds wasmMap(memory, offset, fd, size) -> { window, mapped, shared },
// wasmUnmap(memory, offset, window) and wasmBase(memory) -> bigint.
void InitWasmMemory(Napi::Env env, Napi::Object exports);
}  // namespace isthmus_addon

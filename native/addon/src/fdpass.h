// Unix-socket fd passing for JavaScript (see fdpass.cc): Node's net module cannot send or
// receive SCM_RIGHTS, so the addon owns these sockets.
#pragma once
#include <napi.h>

namespace isthmus_addon {
// Adds unixListen, unixConnect, unixAccept, unixPair, sendFds, recvFds, recvFdsSync,
// peerCred, pollStart, pollEvents, pollStop, closeFd to `exports`.
void InitFdpass(Napi::Env env, Napi::Object exports);
}  // namespace isthmus_addon

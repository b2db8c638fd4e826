/**
 * @isthmus/native: shared-memory regions as SharedArrayBuffers (memfd, file, POSIX shm,
 * received fd), cross-process futex wait/wake, and process identity for liveness checks.
 * Linux only. The addon loads on first use; `available()` / `loadError()` tell whether it can.
 */
export { available, loadError, addonPath, builtPath, prebuiltPath, elfMismatch, ADDON_PATH_ENV } from './loader.js';
export { createMemfd, createFile, openFile, createShm, openShm, openFd, seals, type Region, type RegionKind } from './region.js';
export { futexWait, futexWaitAsync, futexWake, type Outcome } from './futex.js';
export { procStartTime } from './proc.js';
export { watch, type Watch } from './watch.js';
export { mapIntoMemory, mappingsOf, memoryBase, roundToPage, WASM_PAGE, type MemoryMapping, type WasmMemory } from './wasm.js';
export { FdServer, FdSocket, closeFd, connectSync, peerCred, recvSync, sendSync, socketPair, MAX_FDS, MAX_MESSAGE, type PeerCred, type Received } from './fdpass.js';

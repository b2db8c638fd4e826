/**
 * The ring protocol v1 (docs/ring.md) over a SharedArrayBuffer: region header, participant
 * slots, SPSC / MPSC / broadcast rings, notification through a Notifier, liveness and
 * MPSC recovery.
 */
export type { RingKind, RingParams } from './header.js';
export { regionSize, formatRing, markReady, markClosed, validateHeader } from './header.js';
export type { Identity } from './identity.js';
export { selfIdentity, isAlive, procStartTime } from './identity.js';
export { RingError, type RingErrorCode } from './errors.js';
export { Ring, type Role, type Participant, type JoinOptions } from './ring.js';
export { Writer, Reader } from './endpoint.js';
export { type Notifier, type WaitOutcome, inProcessNotifier } from './notify.js';
export { SpscWriter, SpscReader } from './spsc.js';
export { MpscWriter, MpscReader } from './mpsc.js';
export { BroadcastWriter, BroadcastReader, BroadcastOverwriteWriter, BroadcastOverwriteReader } from './broadcast.js';
export * as ringLayout from './layout.js';

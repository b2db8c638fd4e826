/**
 * Region header: sizing, formatting, readiness and validation (docs/ring.md §1.1).
 *
 * Caller guarantees for every function taking (buf, byteOffset): `byteOffset` is a
 * multiple of 8 and the region [byteOffset, byteOffset + regionSize) lies inside `buf`.
 */
import { RingError } from './errors.js';
import type { Identity } from './identity.js';
import * as L from './layout.js';

export type RingKind = 'spsc' | 'mpsc' | 'broadcast';

export interface RingParams {
  kind: RingKind;
  capacity: number;
  slots: number;
  maxMessage: number;
  typeId: bigint;
  policy?: 'block' | 'overwrite';
  unblockNs?: bigint;
}

export const KIND_CODES: Record<RingKind, number> = { spsc: L.KIND_SPSC, mpsc: L.KIND_MPSC, broadcast: L.KIND_BROADCAST };
export const KIND_NAMES: RingKind[] = ['spsc', 'spsc', 'mpsc', 'broadcast'];

/** data_offset + capacity. */
export function regionSize(p: RingParams): number {
  return L.dataOffsetFor(p.slots) + p.capacity;
}

function bad(field: string, message: string): RingError {
  return new RingError('BAD_HEADER', `ring header: ${field} ${message}`, field);
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function checkGeometry(capacity: number, slots: number, maxMessage: number): void {
  if (!isPow2(capacity) || capacity < L.MIN_CAPACITY || capacity > L.MAX_CAPACITY)
    throw bad('capacity', `must be a power of two in [4096, 2^30]: capacity=${capacity}`);
  if (!Number.isInteger(slots) || slots < 1 || slots > L.MAX_SLOTS) throw bad('slots', `must be in [1, 1024]: slots=${slots}`);
  if (!Number.isInteger(maxMessage) || maxMessage < 0 || maxMessage > capacity / 2 - L.RECORD_HEADER)
    throw bad('max_message', `must be in [0, capacity/2 - 32]: max_message=${maxMessage}, capacity=${capacity}`);
}

/**
 * Writes a fresh header (state 0) and zeroes the lines and the participant table.
 * The data area must already read as zero (a fresh memfd, file or SharedArrayBuffer does).
 */
export function formatRing(buf: SharedArrayBuffer, byteOffset: number, p: RingParams, creator: Identity, createdNs?: bigint): void {
  const kind = KIND_CODES[p.kind];
  if (kind === undefined) throw bad('kind', `must be spsc, mpsc or broadcast: kind=${String(p.kind)}`);
  checkGeometry(p.capacity, p.slots, p.maxMessage);
  const size = regionSize(p);
  if (byteOffset % 8 !== 0 || byteOffset < 0 || byteOffset + size > buf.byteLength)
    throw bad('region_size', `region of ${size} bytes at ${byteOffset} does not fit a buffer of ${buf.byteLength}`);
  const d = L.dataOffsetFor(p.slots);
  new Uint8Array(buf, byteOffset, d).fill(0);
  const dv = new DataView(buf, byteOffset, d);
  for (let i = 0; i < 8; i++) dv.setUint8(L.H_MAGIC + i, L.MAGIC.charCodeAt(i));
  dv.setUint32(L.H_VERSION, L.VERSION, true);
  dv.setBigUint64(L.H_REGION_SIZE, BigInt(size), true);
  dv.setBigUint64(L.H_TYPE_ID, BigInt.asUintN(64, p.typeId), true);
  dv.setUint32(L.H_LAYOUT, L.LAYOUT_VERSION, true);
  dv.setUint32(L.H_KIND, kind, true);
  dv.setUint32(L.H_POLICY, p.kind === 'broadcast' && p.policy === 'overwrite' ? L.POLICY_OVERWRITE : L.POLICY_BLOCK, true);
  dv.setUint32(L.H_SLOTS, p.slots, true);
  dv.setUint32(L.H_CREATOR_PID, creator.pid >>> 0, true);
  dv.setUint32(L.H_CREATOR_UID, creator.uid >>> 0, true);
  dv.setBigUint64(L.H_CREATOR_START, creator.startTime, true);
  dv.setUint32(L.H_CAPACITY, p.capacity, true);
  dv.setUint32(L.H_MAX_MESSAGE, p.maxMessage, true);
  dv.setBigUint64(L.H_DATA_OFFSET, BigInt(d), true);
  dv.setBigUint64(L.H_UNBLOCK_NS, p.unblockNs ?? L.DEFAULT_UNBLOCK_NS, true);
  const now = createdNs ?? BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
  dv.setBigUint64(L.H_CREATED_NS, now, true);
}

/** store_release(state, 1): pairs with the opener's load_acquire(state) in Ring.open. */
export function markReady(buf: SharedArrayBuffer, byteOffset: number): void {
  Atomics.store(new Int32Array(buf, byteOffset, 4), L.H_STATE >> 2, L.STATE_READY);
}

/** Marks the region closed (state 2); openers refuse it. */
export function markClosed(buf: SharedArrayBuffer, byteOffset: number): void {
  Atomics.store(new Int32Array(buf, byteOffset, 4), L.H_STATE >> 2, L.STATE_CLOSED);
}

export interface HeaderInfo {
  kind: RingKind;
  policy: 'block' | 'overwrite';
  slots: number;
  capacity: number;
  maxMessage: number;
  typeId: bigint;
  dataOffset: number;
  regionSize: number;
  unblockNs: bigint;
}

/** Checks every header field an opener relies on (§1.1); throws RingError naming the field. */
export function validateHeader(buf: SharedArrayBuffer, byteOffset: number, length: number, expectTypeId?: bigint): HeaderInfo {
  if (byteOffset % 8 !== 0 || byteOffset < 0) throw bad('region_size', `region offset must be a multiple of 8: byteOffset=${byteOffset}`);
  if (length < L.HEADER_SIZE || byteOffset + length > buf.byteLength)
    throw bad('region_size', `region of ${length} bytes at ${byteOffset} does not fit a buffer of ${buf.byteLength}`);
  const dv = new DataView(buf, byteOffset, L.HEADER_SIZE);
  // load_acquire(state): pairs with the creator's store_release in markReady.
  const state = Atomics.load(new Int32Array(buf, byteOffset, 4), L.H_STATE >> 2);
  if (state !== L.STATE_READY)
    throw new RingError(state === L.STATE_CLOSED ? 'CLOSED' : 'BAD_HEADER', `ring header: state is ${state}, expected 1 (ready)`, 'state');
  let magic = '';
  for (let i = 0; i < 8; i++) magic += String.fromCharCode(dv.getUint8(L.H_MAGIC + i));
  if (magic !== L.MAGIC) throw bad('magic', `is ${JSON.stringify(magic)}, expected "ISTHRING"`);
  const version = dv.getUint32(L.H_VERSION, true);
  if (version !== L.VERSION) throw bad('version', `is ${version}, expected 1`);
  const regionSz = dv.getBigUint64(L.H_REGION_SIZE, true);
  if (regionSz > BigInt(length)) throw bad('region_size', `is ${regionSz}, larger than the mapping (${length} bytes)`);
  const layout = dv.getUint32(L.H_LAYOUT, true);
  if (layout !== L.LAYOUT_VERSION) throw bad('layout_version', `is ${layout}, expected 1`);
  const kindCode = dv.getUint32(L.H_KIND, true);
  if (kindCode < 1 || kindCode > 3) throw bad('kind', `is ${kindCode}, expected 1, 2 or 3`);
  const policy = dv.getUint32(L.H_POLICY, true);
  if (policy > 1) throw bad('policy', `is ${policy}, expected 0 or 1`);
  const slots = dv.getUint32(L.H_SLOTS, true);
  if (slots < 1 || slots > L.MAX_SLOTS) throw bad('slots', `is ${slots}, expected 1..1024`);
  const capacity = dv.getUint32(L.H_CAPACITY, true);
  if (!isPow2(capacity) || capacity < L.MIN_CAPACITY || capacity > L.MAX_CAPACITY)
    throw bad('capacity', `is ${capacity}, expected a power of two in [4096, 2^30]`);
  const maxMessage = dv.getUint32(L.H_MAX_MESSAGE, true);
  if (maxMessage > capacity / 2 - L.RECORD_HEADER) throw bad('max_message', `is ${maxMessage}, larger than capacity/2 - 32 = ${capacity / 2 - 32}`);
  const dataOff = dv.getBigUint64(L.H_DATA_OFFSET, true);
  if (dataOff % 4096n !== 0n || dataOff < BigInt(L.SLOTS_OFFSET + L.SLOT_SIZE * slots))
    throw bad('data_offset', `is ${dataOff}, expected a multiple of 4096 past the ${slots}-slot table`);
  if (dataOff + BigInt(capacity) > regionSz)
    throw bad('data_offset', `data_offset ${dataOff} + capacity ${capacity} exceeds region_size ${regionSz}`);
  const typeId = dv.getBigUint64(L.H_TYPE_ID, true);
  if (expectTypeId !== undefined && expectTypeId !== 0n && typeId !== 0n && typeId !== BigInt.asUintN(64, expectTypeId))
    throw new RingError(
      'TYPE_MISMATCH',
      `ring header: type_id is 0x${typeId.toString(16).padStart(16, '0')}, expected 0x${BigInt.asUintN(64, expectTypeId).toString(16).padStart(16, '0')}`,
      'type_id',
    );
  return {
    kind: KIND_NAMES[kindCode]!,
    policy: policy === L.POLICY_OVERWRITE ? 'overwrite' : 'block',
    slots,
    capacity,
    maxMessage,
    typeId,
    dataOffset: Number(dataOff),
    regionSize: Number(regionSz),
    unblockNs: dv.getBigUint64(L.H_UNBLOCK_NS, true),
  };
}

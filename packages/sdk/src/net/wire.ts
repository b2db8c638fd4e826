/**
 * The Isthmus network wire format, version 1 (docs/net.md is the contract; this file is
 * its one TypeScript implementation). A connection carries frames; every frame is
 *
 *   0          4        6        8          12
 *   +----------+--------+--------+----------+------------------------+
 *   | length   | type   | flags  | stream   | body (length − 12)     |
 *   +----------+--------+--------+----------+------------------------+
 *
 * all little-endian: `length` u32 = the whole frame in bytes (12 ≤ length ≤ MAX_FRAME),
 * `type` u16 (FRAME_*), `flags` u16 (0; a receiver rejects other values), `stream` u32
 * (0 for connection-level frames; otherwise the stream id a BIND assigned).
 *
 * DATA bodies are ring records verbatim (docs/ring.md §2): the 32-byte record header
 * followed by exactly `payload_len` payload bytes (no padding), i.e. the same message
 * bytes a shared-memory peer reads in place.
 */
import { IsthmusError } from '../errors.js';
import { ringLayout as L, type RingParams } from '../ring/index.js';

export const NET_MAGIC = 'ISTHNET1';
export const NET_VERSION = 1;
export const FRAME_HEADER = 12;
/** Largest frame a peer may send: a DATA frame of a 16 MiB message plus headers. */
export const MAX_FRAME = (16 << 20) + 64;

export const FRAME_HELLO = 1;
export const FRAME_DIR = 2;
export const FRAME_BIND = 3;
export const FRAME_BOUND = 4;
export const FRAME_ROLES = 5;
export const FRAME_DATA = 6;
export const FRAME_CREDIT = 7;
export const FRAME_UNBIND = 8;
export const FRAME_ERROR = 9;
export const FRAME_PING = 10;
export const FRAME_PONG = 11;
export const FRAME_NAMES = ['?', 'HELLO', 'DIR', 'BIND', 'BOUND', 'ROLES', 'DATA', 'CREDIT', 'UNBIND', 'ERROR', 'PING', 'PONG'];

/** HELLO body: magic[8] version u16 ring_version u16 layout_version u16 role u16 pid u32 max_frame u32. */
export const HELLO_BODY = 24;
export const ROLE_CONNECTOR = 0;
export const ROLE_LISTENER = 1;

/** DIR ops. */
export const DIR_PUT = 1;
export const DIR_DEL = 2;
export const DIR_SYNCED = 3;

/** BIND modes: open the receiver's region of that name, or create it when absent. */
export const BIND_OPEN = 0;
export const BIND_CREATE = 1;

/** ERROR codes (u16). */
export const ERR_PROTOCOL = 1;
export const ERR_VERSION = 2;
export const ERR_NOT_FOUND = 3;
export const ERR_TYPE_MISMATCH = 4;
export const ERR_ROLE_TAKEN = 5;
export const ERR_TOO_LARGE = 6;
export const ERR_UNMAPPED = 7;
export const ERR_INTERNAL = 8;

/** A frame that breaks the contract: the connection is closed after an ERROR frame. */
export class ProtocolError extends IsthmusError {
  readonly wireCode: number;
  constructor(message: string, wireCode = ERR_PROTOCOL) {
    super('TRANSPORT', `net protocol: ${message}`);
    this.name = 'ProtocolError';
    this.wireCode = wireCode;
  }
}

export function writeFrameHeader(buf: Buffer, at: number, length: number, type: number, stream: number): void {
  buf.writeUInt32LE(length, at);
  buf.writeUInt16LE(type, at + 4);
  buf.writeUInt16LE(0, at + 6);
  buf.writeUInt32LE(stream >>> 0, at + 8);
}

export function helloBody(role: number): Buffer {
  const b = Buffer.alloc(HELLO_BODY);
  b.write(NET_MAGIC, 0, 'latin1');
  b.writeUInt16LE(NET_VERSION, 8);
  b.writeUInt16LE(L.VERSION, 10);
  b.writeUInt16LE(L.LAYOUT_VERSION, 12);
  b.writeUInt16LE(role, 14);
  b.writeUInt32LE(process.pid, 16);
  b.writeUInt32LE(MAX_FRAME, 20);
  return b;
}

/** Checks a HELLO body; returns the peer's role and pid. */
export function checkHello(b: Buffer, at: number, len: number, expectRole: number): { role: number; pid: number } {
  if (len !== HELLO_BODY) throw new ProtocolError(`HELLO body is ${len} bytes, expected ${HELLO_BODY}`);
  const magic = b.toString('latin1', at, at + 8);
  if (magic !== NET_MAGIC) throw new ProtocolError(`HELLO magic is ${JSON.stringify(magic)}, expected "${NET_MAGIC}"`, ERR_VERSION);
  const v = b.readUInt16LE(at + 8);
  const rv = b.readUInt16LE(at + 10);
  const lv = b.readUInt16LE(at + 12);
  if (v !== NET_VERSION) throw new ProtocolError(`HELLO version is ${v}, this side speaks ${NET_VERSION}`, ERR_VERSION);
  if (rv !== L.VERSION || lv !== L.LAYOUT_VERSION) throw new ProtocolError(`HELLO ring/layout version is ${rv}/${lv}, expected ${L.VERSION}/${L.LAYOUT_VERSION}`, ERR_VERSION);
  const role = b.readUInt16LE(at + 14);
  if (role !== expectRole) throw new ProtocolError(`HELLO role is ${role}, expected ${expectRole} (a connector talks to a listener)`);
  return { role, pid: b.readUInt32LE(at + 16) };
}

/** Reads a docs/ring.md §1.1 region header carried in a frame; throws ProtocolError naming the field. */
export function parseHeader(b: Buffer, at: number): RingParams {
  const magic = b.toString('latin1', at, at + 8);
  if (magic !== L.MAGIC) throw new ProtocolError(`region header magic is ${JSON.stringify(magic)}, expected "${L.MAGIC}"`);
  const version = b.readUInt32LE(at + L.H_VERSION);
  if (version !== L.VERSION) throw new ProtocolError(`region header version is ${version}, expected ${L.VERSION}`);
  const kind = b.readUInt32LE(at + L.H_KIND);
  if (kind < 1 || kind > 3) throw new ProtocolError(`region header kind is ${kind}, expected 1, 2 or 3`);
  const policy = b.readUInt32LE(at + L.H_POLICY);
  if (policy > 1) throw new ProtocolError(`region header policy is ${policy}, expected 0 or 1`);
  const capacity = b.readUInt32LE(at + L.H_CAPACITY);
  const slots = b.readUInt32LE(at + L.H_SLOTS);
  const maxMessage = b.readUInt32LE(at + L.H_MAX_MESSAGE);
  if ((capacity & (capacity - 1)) !== 0 || capacity < L.MIN_CAPACITY || capacity > 1 << 28) throw new ProtocolError(`region header capacity is ${capacity}, expected a power of two in [4096, 2^28]`);
  if (slots < 1 || slots > L.MAX_SLOTS) throw new ProtocolError(`region header slots is ${slots}, expected 1..${L.MAX_SLOTS}`);
  if (maxMessage > capacity / 2 - L.RECORD_HEADER || maxMessage + L.RECORD_HEADER + FRAME_HEADER > MAX_FRAME) throw new ProtocolError(`region header max_message is ${maxMessage}, larger than capacity/2 − 32 or the frame limit`);
  return {
    kind: kind === 1 ? 'spsc' : kind === 2 ? 'mpsc' : 'broadcast',
    policy: policy === 1 ? 'overwrite' : 'block',
    capacity,
    slots,
    maxMessage,
    typeId: b.readBigUInt64LE(at + L.H_TYPE_ID),
    unblockNs: b.readBigUInt64LE(at + L.H_UNBLOCK_NS),
  };
}

/** Reads a u16-length-prefixed UTF-8 name; returns [name, next offset]. */
export function readName(b: Buffer, at: number, end: number): [string, number] {
  if (at + 2 > end) throw new ProtocolError('frame too short for a name length');
  const n = b.readUInt16LE(at);
  if (n < 1 || n > 200 || at + 2 + n > end) throw new ProtocolError(`name length ${n} outside 1..200 or past the frame end`);
  const name = b.toString('utf8', at + 2, at + 2 + n);
  if (!/^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/.test(name)) throw new ProtocolError(`region name ${JSON.stringify(name)} is not a valid region name`);
  return [name, at + 2 + n];
}

/** Reads a roles block: readers u8, pad u8, n u16, n × u16 writer slots. */
export function readRoles(b: Buffer, at: number, end: number): { readers: boolean; writers: number[]; next: number } {
  if (at + 4 > end) throw new ProtocolError('frame too short for a roles block');
  const r = b.readUInt8(at);
  if (r > 1) throw new ProtocolError(`roles readers is ${r}, expected 0 or 1`);
  const n = b.readUInt16LE(at + 2);
  if (n > L.MAX_SLOTS || at + 4 + 2 * n > end) throw new ProtocolError(`roles count ${n} exceeds ${L.MAX_SLOTS} or the frame`);
  const writers: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = b.readUInt16LE(at + 4 + 2 * i);
    if (s < 1 || s > L.MAX_SLOTS) throw new ProtocolError(`roles writer slot ${s} outside 1..${L.MAX_SLOTS}`);
    writers.push(s);
  }
  return { readers: r === 1, writers, next: at + 4 + 2 * n };
}

export function rolesSize(writers: number[]): number {
  return 4 + 2 * writers.length;
}

export function writeRoles(b: Buffer, at: number, readers: boolean, writers: number[]): number {
  b.writeUInt8(readers ? 1 : 0, at);
  b.writeUInt8(0, at + 1);
  b.writeUInt16LE(writers.length, at + 2);
  for (let i = 0; i < writers.length; i++) b.writeUInt16LE(writers[i]!, at + 4 + 2 * i);
  return at + 4 + 2 * writers.length;
}

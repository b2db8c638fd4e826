/**
 * The node agent's wire protocol (the contract is docs/agent.md §2; this file implements it).
 *
 * Transport: a Unix SOCK_SEQPACKET socket. One frame = one message (one sendmsg, one
 * recvmsg); the kernel keeps the boundaries, and a frame's fds (SCM_RIGHTS) arrive with
 * exactly that frame. A frame is at most 65536 bytes and carries at most 16 fds.
 *
 *   0       4       6       8               12              16
 *   +-------+-------+-------+---------------+---------------+------------------------+
 *   | magic |version|  op   |      id       |   body_len    | body: body_len bytes   |
 *   | "ISAG"|  u16  |  u16  |      u32      |      u32      | of UTF-8 JSON (object) |
 *   +-------+-------+-------+---------------+---------------+------------------------+
 *
 *   magic    the bytes 0x49 0x53 0x41 0x47 ("ISAG")
 *   version  1
 *   op       a request op (1..0x7fff), a reply (0x8000 | request op) or ERROR (0xffff)
 *   id       chosen by the client per request, echoed by the reply (RELEASE has none)
 *   body_len frame length − 16 (a frame whose length differs is malformed)
 *
 * All integers little-endian. A malformed frame gets an ERROR with code PROTOCOL and the
 * connection is closed.
 */

export const MAGIC = 0x47415349; // "ISAG" read as a little-endian u32
export const VERSION = 1;
export const HEADER = 16;
export const MAX_FRAME = 65536;
export const MAX_FDS = 16;

export const Op = {
  HELLO: 1,
  CREATE: 2,
  PUBLISH: 3,
  ABORT: 4,
  OPEN: 5,
  LIST: 6,
  REMOVE: 7,
  RELEASE: 8,
  ALIVE: 9,
  STAT: 10,
} as const;
export type OpName = keyof typeof Op;
export const REPLY = 0x8000;
export const ERROR = 0xffff;

export const OP_NAMES: Record<number, OpName> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k as OpName]));

/** Error codes an ERROR frame's body carries (`{ code, message }`). */
export type AgentErrorCode = 'DENIED' | 'EXISTS' | 'NOT_FOUND' | 'BAD_REQUEST' | 'BAD_RING' | 'TOO_LARGE' | 'PROTOCOL' | 'INTERNAL' | 'SHUTDOWN';

export interface Frame {
  op: number;
  id: number;
  body: Record<string, unknown>;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encode(op: number, id: number, body: Record<string, unknown> = {}): Buffer {
  if (!Number.isInteger(op) || op < 1 || op > 0xffff) throw new RangeError(`op must be in 1..0xffff, got ${op}`);
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`id must be a u32, got ${id}`);
  const json = Buffer.from(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), 'utf8');
  if (HEADER + json.length > MAX_FRAME) throw new ProtocolError(`frame of ${HEADER + json.length} bytes exceeds the ${MAX_FRAME}-byte limit (op ${OP_NAMES[op & 0x7fff] ?? op})`);
  const b = Buffer.alloc(HEADER + json.length);
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt16LE(VERSION, 4);
  b.writeUInt16LE(op, 6);
  b.writeUInt32LE(id, 8);
  b.writeUInt32LE(json.length, 12);
  json.copy(b, HEADER);
  return b;
}

export function decode(b: Uint8Array): Frame {
  if (b.length < HEADER) throw new ProtocolError(`frame of ${b.length} bytes is shorter than the ${HEADER}-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MAGIC) throw new ProtocolError(`bad magic 0x${magic.toString(16).padStart(8, '0')} (want 0x${MAGIC.toString(16)}, "ISAG")`);
  const version = dv.getUint16(4, true);
  if (version !== VERSION) throw new ProtocolError(`unsupported protocol version ${version} (this side speaks ${VERSION})`);
  const op = dv.getUint16(6, true);
  const id = dv.getUint32(8, true);
  const len = dv.getUint32(12, true);
  if (HEADER + len !== b.length) throw new ProtocolError(`body_len ${len} does not match the frame's ${b.length - HEADER} body bytes`);
  let body: unknown;
  try {
    body = len === 0 ? {} : JSON.parse(Buffer.from(b.buffer, b.byteOffset + HEADER, len).toString('utf8'));
  } catch (err) {
    throw new ProtocolError(`body is not JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProtocolError(`body must be a JSON object, got ${Array.isArray(body) ? 'an array' : typeof body}`);
  return { op, id, body: body as Record<string, unknown> };
}

/** An error reply (op ERROR). */
export function errorFrame(id: number, code: AgentErrorCode, message: string): Buffer {
  return encode(ERROR, id, { code, message });
}

/**
 * Byte offsets of the shared structures of a ring region (docs/ring.md §1, §2).
 * This module is the descriptor: the algorithms (spsc.ts, mpsc.ts, broadcast.ts) only
 * use these names. Offsets are relative to the region start (header, lines, slots) or
 * to a record start (R_*); every atomic field is a naturally aligned u32.
 *
 * Region:
 * ```
 *  offset  size
 *       0   128  region header (immutable after init, except `state`)
 *     128    64  producer line   tail@128 seq@132
 *     192    64  consumer line   head@192
 *     256    64  notify line     data_futex@256 data_sleepers@260 space_futex@264 space_sleepers@268
 *     320    64  broadcast line  bc_intent@320 bc_last@324 bc_min@328
 *     384  64×S  participant table
 *       D     C  data area (D = data_offset, a multiple of 4096)
 * ```
 * Region header (bytes 0–127):
 * ```
 *  0       8       12      16              24              32      36      40      44      48
 *  | magic |version| state | region_size   | type_id       |layout | kind  |policy | slots |
 *  48      52      56              64      68      72              80              88
 *  |c_pid  |c_uid  | c_start_time  | cap   |max_msg| data_offset   | unblock_ns    |
 *  88              96                                                            128
 *  | created_ns    | reserved (zero)                                              |
 * ```
 * Participant slot (64 bytes):
 * ```
 *  0       4       8       12      16              24      28      32      36      40      44      48   64
 *  | state | role  | pid   | uid   | start_time    |i_pos  |i_len  |cursor |c_seq  | lost  | flags |  0  |
 * ```
 * Record (starts at a position that is a multiple of 8):
 * ```
 *  0           4     8     12       16            24          28      32
 *  | len_state | pos | seq | sender | correlation | payload_len | flags | payload … zero pad to 8
 * ```
 * `len_state` = record length (multiple of 8) | state (low 3 bits, REC_*).
 */

export const MAGIC = 'ISTHRING';
export const VERSION = 1;
export const LAYOUT_VERSION = 1;

// Region header.
export const H_MAGIC = 0;
export const H_VERSION = 8;
export const H_STATE = 12;
export const H_REGION_SIZE = 16;
export const H_TYPE_ID = 24;
export const H_LAYOUT = 32;
export const H_KIND = 36;
export const H_POLICY = 40;
export const H_SLOTS = 44;
export const H_CREATOR_PID = 48;
export const H_CREATOR_UID = 52;
export const H_CREATOR_START = 56;
export const H_CAPACITY = 64;
export const H_MAX_MESSAGE = 68;
export const H_DATA_OFFSET = 72;
export const H_UNBLOCK_NS = 80;
export const H_CREATED_NS = 88;
export const HEADER_SIZE = 128;

// Region states.
export const STATE_INIT = 0;
export const STATE_READY = 1;
export const STATE_CLOSED = 2;

// Lines.
export const TAIL = 128;
export const SEQ = 132;
export const HEAD = 192;
export const DATA_FUTEX = 256;
export const DATA_SLEEPERS = 260;
export const SPACE_FUTEX = 264;
export const SPACE_SLEEPERS = 268;
export const BC_INTENT = 320;
export const BC_LAST = 324;
export const BC_MIN = 328;

// Participant table.
export const SLOTS_OFFSET = 384;
export const SLOT_SIZE = 64;
export const S_STATE = 0;
export const S_ROLE = 4;
export const S_PID = 8;
export const S_UID = 12;
export const S_START = 16;
export const S_INTENT_POS = 24;
export const S_INTENT_LEN = 28;
export const S_CURSOR = 32;
export const S_CURSOR_SEQ = 36;
export const S_LOST = 40;
export const S_FLAGS = 44;
export const SLOT_FREE = 0;
export const SLOT_FILLING = 1;
export const SLOT_ACTIVE = 2;

export const ROLE_PRODUCER = 1;
export const ROLE_CONSUMER = 2;
export const ROLE_PUBLISHER = 3;
export const ROLE_SUBSCRIBER = 4;

export const KIND_SPSC = 1;
export const KIND_MPSC = 2;
export const KIND_BROADCAST = 3;
export const POLICY_BLOCK = 0;
export const POLICY_OVERWRITE = 1;

// Records.
export const R_LEN_STATE = 0;
export const R_POS = 4;
export const R_SEQ = 8;
export const R_SENDER = 12;
export const R_CORRELATION = 16;
export const R_PAYLOAD_LEN = 24;
export const R_FLAGS = 28;
export const RECORD_HEADER = 32;
export const REC_FREE = 0;
export const REC_CLAIMED = 1;
export const REC_COMMITTED = 2;
export const REC_PADDING = 3;

export const MIN_CAPACITY = 4096;
export const MAX_CAPACITY = 2 ** 30;
export const MAX_SLOTS = 1024;
export const DEFAULT_UNBLOCK_NS = 1_000_000_000n;

/** Record length for a payload of n bytes: align8(32 + n). */
export function recordLength(n: number): number {
  return (RECORD_HEADER + n + 7) & ~7;
}

/** D = round up (384 + 64 × slots) to 4096. */
export function dataOffsetFor(slots: number): number {
  return Math.ceil((SLOTS_OFFSET + SLOT_SIZE * slots) / 4096) * 4096;
}

export function slotOffset(slot: number): number {
  return SLOTS_OFFSET + SLOT_SIZE * (slot - 1);
}

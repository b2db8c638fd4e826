/**
 * The TypeScript runner of the ring conformance suite (docs/ring.md §8).
 *
 *   node test/ring-conformance/runner.ts <scenario.json> <out.bin>   run one scenario
 *   node test/ring-conformance/runner.ts --write                     rewrite every golden <name>.bin
 *
 * A scenario runs against a fresh zeroed region in process memory with a deterministic
 * header (creator pid 1, uid 0, start 0, created_ns 0, unblock_ns 1e9); participants take
 * exactly the slot an op names with identity pid 1000 + slot, uid 0, start_time slot.
 * The output is the final region, byte for byte. Exit 1 with the op index on a failed
 * expectation. The scenario format is described in test/ring-conformance/README.md.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ring as R } from './load-ring.ts';

type Kind = 'spsc' | 'mpsc' | 'broadcast';
export interface Op {
  op: 'join' | 'send' | 'loan' | 'commit' | 'recv' | 'release' | 'abandon' | 'recover' | 'leave';
  slot: number;
  role?: 'producer' | 'consumer' | 'publisher' | 'subscriber';
  len?: number;
  byte?: number;
  correlation?: string;
  flags?: number;
  dead?: number[];
  expect?: unknown;
}
export interface Scenario {
  kind: Kind;
  policy?: 'block' | 'overwrite';
  capacity: number;
  slots: number;
  max_message: number;
  type_id: string;
  ops: Op[];
}

export class ScenarioError extends Error {}

type Writer = InstanceType<typeof R.Writer>;
type Reader = InstanceType<typeof R.Reader>;

export function runScenario(s: Scenario): Uint8Array {
  const params = {
    kind: s.kind,
    capacity: s.capacity,
    slots: s.slots,
    maxMessage: s.max_message,
    typeId: BigInt(s.type_id),
    policy: s.policy ?? 'block',
    unblockNs: 1_000_000_000n,
  } as const;
  const sab = new SharedArrayBuffer(R.regionSize(params));
  R.formatRing(sab, 0, params, { pid: 1, uid: 0, startTime: 0n }, 0n);
  R.markReady(sab, 0);
  const ring = R.Ring.open(sab, 0, sab.byteLength, params.typeId);
  const u8 = new Uint8Array(sab);
  const writers = new Map<number, Writer>();
  const readers = new Map<number, Reader>();
  const loans = new Map<number, number>();
  const abandoned = new Set<number>();

  s.ops.forEach((op, index) => {
    const fail = (msg: string): never => {
      throw new ScenarioError(`op ${index} (${op.op} slot ${op.slot}): ${msg}`);
    };
    const writer = (): Writer => writers.get(op.slot) ?? fail('slot holds no writer');
    const reader = (): Reader => readers.get(op.slot) ?? fail('slot holds no reader');
    const outcome = (got: string): void => {
      const want = op.expect ?? 'ok';
      if (got !== want) fail(`expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    };
    switch (op.op) {
      case 'join': {
        const id = { pid: 1000 + op.slot, uid: 0, startTime: BigInt(op.slot) };
        const e = ring.join(op.role ?? fail('join needs a role'), id, undefined, { slot: op.slot, isAlive: () => true });
        if (e instanceof R.Writer) writers.set(op.slot, e);
        else readers.set(op.slot, e);
        break;
      }
      case 'send': {
        const w = writer();
        const len = op.len ?? 0;
        const off = w.loan(len);
        if (off < 0) return outcome('full');
        u8.fill(op.byte ?? 0, off, off + len);
        w.commit(len, BigInt(op.correlation ?? '0'), op.flags ?? 0);
        outcome('ok');
        break;
      }
      case 'loan': {
        const off = writer().loan(op.len ?? 0);
        if (off < 0) return outcome('full');
        loans.set(op.slot, off);
        outcome('ok');
        break;
      }
      case 'commit': {
        const off = loans.get(op.slot) ?? fail('commit without a loan');
        const len = op.len ?? 0;
        u8.fill(op.byte ?? 0, off, off + len);
        loans.delete(op.slot);
        try {
          writer().commit(len, BigInt(op.correlation ?? '0'), op.flags ?? 0);
          outcome('ok');
        } catch (e) {
          if (e instanceof R.RingError && e.code === 'ABORTED') return outcome('aborted');
          throw e;
        }
        break;
      }
      case 'recv': {
        const r = reader();
        const off = r.receive();
        const want = op.expect ?? 'ok';
        if (off < 0) {
          if (want !== 'empty') fail(`expected a record, got empty`);
          return;
        }
        if (want === 'empty') fail(`expected empty, got a record of ${r.length} bytes`);
        if (typeof want !== 'object' || want === null) return;
        const w = want as Record<string, unknown>;
        const src = r.inShared ? u8 : new Uint8Array(r.copyBuffer!);
        const got: Record<string, unknown> = {
          len: r.length,
          seq: r.seq,
          sender: r.sender,
          flags: r.flags,
          gap: r.gap,
          correlation: r.correlation.toString(),
        };
        for (const k of Object.keys(w)) {
          if (k === 'byte') {
            for (let i = 0; i < r.length; i++)
              if (src[off + i] !== w.byte) fail(`payload byte ${i} is ${src[off + i]}, expected ${String(w.byte)}`);
          } else if (String(got[k]) !== String(w[k])) fail(`${k} is ${String(got[k])}, expected ${String(w[k])}`);
        }
        break;
      }
      case 'release':
        reader().release();
        break;
      case 'abandon':
        writer();
        writers.delete(op.slot);
        abandoned.add(op.slot);
        break;
      case 'recover': {
        const r = reader();
        if (!(r instanceof R.MpscReader)) fail('recover is for an MPSC consumer');
        const dead = new Set(op.dead ?? []);
        const did = (r as InstanceType<typeof R.MpscReader>).recoverDead((_pid, _st, slot) => dead.has(slot));
        if (op.expect !== undefined && op.expect !== did) fail(`expected recover() = ${String(op.expect)}, got ${did}`);
        break;
      }
      case 'leave': {
        const e = writers.get(op.slot) ?? readers.get(op.slot);
        if (e) e.close();
        else if (abandoned.has(op.slot)) ring.freeSlot(op.slot);
        else fail('slot holds nothing');
        writers.delete(op.slot);
        readers.delete(op.slot);
        break;
      }
      default:
        fail(`unknown op ${String((op as { op: unknown }).op)}`);
    }
  });
  return new Uint8Array(sab);
}

const HERE = dirname(fileURLToPath(import.meta.url));

export function scenarioFiles(): string[] {
  return readdirSync(HERE)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(HERE, f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  try {
    if (args[0] === '--write') {
      for (const f of scenarioFiles()) {
        const out = f.replace(/\.json$/, '.bin');
        writeFileSync(out, runScenario(JSON.parse(readFileSync(f, 'utf8')) as Scenario));
        console.log(`wrote ${out}`);
      }
    } else if (args.length === 2) {
      writeFileSync(args[1]!, runScenario(JSON.parse(readFileSync(args[0]!, 'utf8')) as Scenario));
    } else {
      console.error('usage: runner.ts <scenario.json> <out.bin> | --write');
      process.exit(2);
    }
  } catch (e) {
    console.error(e instanceof ScenarioError ? e.message : e);
    process.exit(1);
  }
}

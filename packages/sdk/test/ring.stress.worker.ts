/**
 * Worker side of ring.stress.test.ts: one producer or consumer over a SharedArrayBuffer ring.
 * Payload convention: bytes 0..7 = u64 LE message index i, byte k ≥ 8 = (i + k) & 0xff.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ring as R } from '../../../test/ring-conformance/load-ring.ts';

interface Job {
  sab: SharedArrayBuffer;
  role: 'producer' | 'consumer' | 'publisher' | 'subscriber';
  count: number;
  producers?: number;
  overwrite?: boolean;
}
const job = workerData as Job;
const ring = R.Ring.open(job.sab, 0, job.sab.byteLength);
const id = { pid: process.pid, uid: 0, startTime: R.selfIdentity().startTime };
const n = R.inProcessNotifier;
const u8 = new Uint8Array(job.sab);
const dv = new DataView(job.sab);

function sizeOf(i: number): number {
  return 8 + ((i * 7919) % 300);
}

function produce(): void {
  const w = ring.join(job.role as 'producer', id, n);
  for (let i = 0; i < job.count; i++) {
    const len = sizeOf(i);
    let off = w.loan(len);
    while (off < 0) {
      w.waitSpace(len, 10_000, n);
      off = w.loan(len);
    }
    dv.setBigUint64(off, BigInt(i), true);
    for (let k = 8; k < len; k++) u8[off + k] = (i + k) & 0xff;
    w.commit(len);
  }
  parentPort!.postMessage({ sent: job.count, slot: w.slot });
}

function consume(): void {
  const r = ring.join(job.role as 'consumer', id, n);
  parentPort!.postMessage({ ready: true });
  const expected = new Map<number, number>(); // sender → next index
  let got = 0;
  let gaps = 0;
  let lost = 0;
  let errors = 0;
  let next = 0;
  const total = job.count * (job.producers ?? 1);
  const deadline = Date.now() + 60_000;
  while (got + lost < total && Date.now() < deadline) {
    const off = r.receive();
    if (off < 0) {
      if (r.waitData(10_000, n) === 'timed-out') break;
      continue;
    }
    const src = r.inShared ? u8 : new Uint8Array(r.copyBuffer!);
    const sdv = r.inShared ? dv : new DataView(r.copyBuffer!);
    const i = Number(sdv.getBigUint64(off, true));
    const len = r.length;
    if (len !== sizeOf(i)) errors++;
    for (let k = 8; k < len; k++) if (src[off + k] !== ((i + k) & 0xff)) { errors++; break; }
    if (job.role === 'consumer' && job.producers) {
      const e = expected.get(r.sender) ?? 0;
      if (i !== e) errors++;
      expected.set(r.sender, i + 1);
    } else {
      if (r.gap > 0) { gaps++; lost += r.gap; }
      if (i !== next + r.gap) errors++;
      if (r.seq !== i) errors++;
      next = i + 1;
    }
    got++;
    r.release();
  }
  parentPort!.postMessage({ got, gaps, lost, errors, last: next - 1 });
}

if (job.role === 'producer' || job.role === 'publisher') produce();
else consume();

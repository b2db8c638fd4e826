/**
 * The README's main-job demo runs end to end: a TypeScript publisher process, a TypeScript
 * subscriber process, a C subscriber process and a WASM (AssemblyScript) subscriber module
 * hosted in a process of its own, on one shared-memory channel.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('npm run demo: a TS publisher, TS, C and WASM subscribers in separate processes', () => {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '../demo/run.ts'), '--rate', '200000', '--latency', '2000'], { encoding: 'utf8', timeout: 100_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const pub = /publisher \(pid (\d+)\)/.exec(r.stdout)![1];
  const tsPid = /TS subscriber \(pid (\d+)\) joined/.exec(r.stdout)![1];
  const cPid = /C subscriber \(pid (\d+)\) joined/.exec(r.stdout)![1];
  const wasmPid = /WASM subscriber \(pid (\d+)\) joined slot \d+: the \d+-byte region is mapped at linear-memory offset 0x[0-9a-f]+0000/.exec(r.stdout)![1];
  expect(new Set([pub, tsPid, cPid, wasmPid]).size).toBe(4);
  // Both subscribers print what they read in place, field by field, for the three messages.
  for (const who of ['TS    ', 'C     ', 'WASM  ']) {
    expect(r.stdout).toContain(`${who}| received seq=1 instrument_id=7 side=bid symbol=EURUSD venue=XLON bids[0]=108345e-5 x 1000000 bids[1]=108344e-5 x 2500000 asks[0]=108347e-5 x 500000 trade_id=9001 (200 bytes, verify OK)`);
    expect(r.stdout).toContain(`${who}| received seq=2 instrument_id=7 side=ask symbol=EURUSD venue=XLON asks[0]=108348e-5 x 750000 (136 bytes, verify OK)`);
    expect(r.stdout).toContain(`${who}| received seq=3 instrument_id=12 side=bid symbol=GBPUSD venue=XPAR bids[0]=126010e-5 x 300000 trade_id=9002 (136 bytes, verify OK)`);
  }
  expect(r.stdout).toContain('C subscriber left the channel');
  expect(r.stdout).toContain('WASM subscriber left the channel');
  expect(r.stdout).toContain('TS subscriber: received 202,003, invalid 0, out of order 0');
  expect(r.stdout).toMatch(/rate: \d+\.\d\d M msg\/s/);
  expect(r.stdout).toMatch(/one-way latency publisher → subscriber: p50 \d+\.\d\d µs, p99 \d+\.\d\d µs/);
});

/** The README's main-job demo runs and the C process prints what TypeScript wrote. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('npm run demo: TypeScript writes, C reads in another process', () => {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, '../demo/run.ts')], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const writer = /\(pid (\d+)\)/.exec(r.stdout)![1];
  const reader = /C reader \(pid (\d+)\) mapped 200 bytes: verify OK/.exec(r.stdout)![1];
  expect(reader).not.toBe(writer);
  expect(r.stdout).toContain('seq=42 instrument_id=7 side=bid symbol=EURUSD venue=XLON');
  expect(r.stdout).toContain('bids[1]: price=108344e-5 qty=2500000 orders=7');
  expect(r.stdout).toContain('trade_id=9001');
});

// The publisher process: creates the channel `readings`, waits for a subscriber to join,
// writes four Readings in place in the ring, waits until they have been read, and leaves.
import * as isthmus from '@isthmus/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { Reading, Unit } from './gen/weather.ts';

const readings = [
  ['oslo', Unit.celsius, 21.5],
  ['oslo', Unit.percent, 64],
  ['bergen', Unit.hectopascal, 1013.25],
  ['bergen', Unit.celsius, -3.75],
] as const;

const node = await isthmus.node(); // the shm transport: regions under $XDG_RUNTIME_DIR/isthmus
const pub = await node.publisher('readings', Reading);
console.log(`publisher (pid ${process.pid}) created channel "readings"`);

// A subscriber sees only what is published after it joined.
for (const by = Date.now() + 10_000; pub.subscribers() === 0; await sleep(10)) {
  if (Date.now() > by) throw new Error('no subscriber joined within 10 s');
}

let seq = 0n;
for (const [station, unit, value] of readings) {
  const m = pub.loan(); // a builder over the ring's free bytes
  m.seq = ++seq;
  m.set_station(station);
  m.unit = unit;
  m.value = value;
  pub.send(m); // commits it: nothing is copied
  console.log(`sent seq=${seq} station=${station} value=${value}`);
}
if (!(await pub.flush(5000))) throw new Error('the subscriber did not read everything within 5 s');
console.log(`all ${pub.stats().sent} readings read by ${pub.subscribers()} subscriber`);
node.close();

// The TypeScript side: publishes three Samples on the channel `samples` once a
// subscriber (the C program) has joined, and leaves when it has read them.
import * as isthmus from '@isthmus/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { Level, Sample } from './gen/telemetry.ts';

const samples = [
  { sensor: 'pump-1', level: Level.ok, values: [12, 15, 11], note: null },
  { sensor: 'pump-2', level: Level.warn, values: [48, 51], note: 'bearing temperature rising' },
  { sensor: 'valve-7', level: Level.alarm, values: [-1], note: 'stuck closed' },
];

const node = await isthmus.node();
const pub = await node.publisher('samples', Sample);
console.log(`publisher (pid ${process.pid}) created channel "samples"`);
for (const by = Date.now() + 10_000; pub.subscribers() === 0; await sleep(10)) {
  if (Date.now() > by) throw new Error('no subscriber joined within 10 s');
}

let seq = 0n;
for (const s of samples) {
  const m = pub.loan();
  m.seq = ++seq;
  m.set_sensor(s.sensor);
  m.level = s.level;
  m.set_values(s.values);
  if (s.note !== null) m.set_note(s.note); // an optional field left unset is absent
  pub.send(m);
  console.log(`sent seq=${seq} sensor=${s.sensor}`);
}
if (!(await pub.flush(5000))) throw new Error('the subscriber did not read everything within 5 s');
node.close();

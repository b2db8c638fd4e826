// The producer process: waits for two workers on the queue `jobs`, sends one job per
// word (each goes to exactly one worker, round-robin), then collects one Result per job
// from the queue `results`, where it is the only worker. Prints the results sorted by
// job id, then the totals.
import * as isthmus from '@isthmus/sdk';
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, Result } from './gen/words.ts';

const WORDS = 'one schema one byte layout zero copy rings between processes'.split(' ');

const node = await isthmus.node();
const results = await node.queue('results', Result).worker(); // before any job goes out
const jobs = await node.queue('jobs', Job).producer();
for (const by = Date.now() + 10_000; jobs.workers < 2; await sleep(10), jobs.refresh()) {
  if (Date.now() > by) throw new Error(`${jobs.workers} of 2 workers within 10 s`);
}

const done = new Map<number, { word: string; upper: string; letters: number; worker: number }>();
let all!: () => void;
const allDone = new Promise<void>((resolve) => (all = resolve));
const consuming = results.consume((r) => {
  if (done.has(r.id)) throw new Error(`job ${r.id} was done twice`);
  done.set(r.id, { word: WORDS[r.id - 1]!, upper: r.upper, letters: r.letters, worker: r.worker });
  if (done.size === WORDS.length) all();
});
results.on('error', (e: Error) => console.log(`error: ${e.message}`));

for (const [i, word] of WORDS.entries()) {
  await jobs.sendAsync((j) => {
    j.id = i + 1;
    j.set_word(word);
  }, { timeoutMs: 5000 });
}
console.log(`sent ${WORDS.length} jobs to ${jobs.workers} workers`);

const timer = setTimeout(() => {
  console.error(`producer: ${done.size} of ${WORDS.length} results within 10 s`);
  process.exit(1);
}, 10_000);
await allDone;
clearTimeout(timer);
results.close();
await consuming;
const ids = [...done.keys()].sort((a, b) => a - b);
for (const id of ids) console.log(`job ${id}: ${done.get(id)!.word} → ${done.get(id)!.upper}`);
const letters = ids.reduce((n, id) => n + done.get(id)!.letters, 0);
const perWorker = [0, 1].map((w) => ids.filter((id) => done.get(id)!.worker === w).length);
console.log(`${ids.length} jobs, each done once; ${letters} letters in all; worker 0 did ${perWorker[0]}, worker 1 did ${perWorker[1]}`);
node.close();

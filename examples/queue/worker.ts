// A worker process (run.ts starts two): takes jobs from the queue `jobs` (a ring of its
// own, `jobs~q~<index>`, that producers find and send to), upper-cases the word and sends
// a Result to the queue `results`. Stops on SIGTERM.
import * as isthmus from '@isthmus/sdk';
import { Job, Result } from './gen/words.ts';

const node = await isthmus.node();
const worker = await node.queue('jobs', Job).worker();
const results = await node.queue('results', Result).producer();
process.once('SIGTERM', () => worker.close());
console.log(`worker ${worker.index} (pid ${process.pid}) ready`);

let handled = 0;
await worker.consume(async (job) => {
  const id = job.id; // the job view is valid until this handler settles
  const word = job.word;
  await results.sendAsync((r) => {
    r.id = id;
    r.worker = worker.index;
    r.letters = word.length;
    r.set_upper(word.toUpperCase());
  }, { timeoutMs: 5000 });
  console.log(`worker ${worker.index}: job ${id} "${word}"`);
  handled++;
});
console.log(`worker ${worker.index}: stopped after ${handled} jobs`);
node.close();

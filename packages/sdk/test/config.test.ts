/**
 * Transports chosen by configuration (docs/config.md): transport URLs, isthmus.json (its
 * errors with file:line:column, the walk up from the working directory), precedence, the
 * routing transport (channels in different shm roots, mixed with inproc, a refused tcp
 * route), a child process configured by ISTHMUS_TRANSPORT, and `inproc:` shared with a
 * worker thread through the default arena.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import * as isthmus from '@isthmus/sdk';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';
import { FIXTURES, NODE, ROOT, killAll, run, tempRoot, until, watch } from './helpers.ts';

const FORMS = 'Accepted forms: shm:, shm:///abs/root/dir, inproc:, agent:, agent:///path/to/agent.sock, vm:///path/to/arena/file[?size=N], tcp://host:port[?connectTimeoutMs=N], unix:///path/to/socket[?connectTimeoutMs=N]';

const cleanups: (() => void)[] = [];
const savedEnv = { ISTHMUS_TRANSPORT: process.env.ISTHMUS_TRANSPORT, ISTHMUS_CONFIG: process.env.ISTHMUS_CONFIG };

function tmp(): string {
  const t = tempRoot();
  cleanups.push(t.cleanup);
  return t.root;
}

function setEnv(vars: { ISTHMUS_TRANSPORT?: string; ISTHMUS_CONFIG?: string }): void {
  for (const k of ['ISTHMUS_TRANSPORT', 'ISTHMUS_CONFIG'] as const) {
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
}

afterEach(async () => {
  await killAll();
  setEnv(savedEnv);
  for (const c of cleanups.splice(0)) c();
});

/** The ConfigError `f` throws. */
function configError(f: () => unknown): isthmus.ConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(isthmus.ConfigError);
    return err as isthmus.ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Sends seq 1..n on `pub` and checks `sub` receives them, in order. */
async function roundTrip(pub: isthmus.Publisher<BookUpdate>, sub: isthmus.Subscriber<BookUpdate>, n = 20): Promise<void> {
  const got: bigint[] = [];
  const reading = (async () => {
    for await (const m of sub) {
      got.push(m.seq);
      if (got.length === n) break;
    }
  })();
  for (let i = 1; i <= n; i++) {
    await pub.sendAsync((m) => {
      m.side = 1;
      m.seq = BigInt(i);
    });
  }
  await reading;
  expect(got).toEqual(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
}

/** The channel regions in `dir`, sorted (not a node's own `~counters~…` region). */
function channelFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('~'))
    .sort();
}

/** The same for a transport's list(). */
function channelRegions(t: isthmus.Transport): string[] {
  return t
    .list()
    .filter((f) => !f.startsWith('~'))
    .sort();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('transport URLs', () => {
  it('parses every accepted form', () => {
    const p = (u: string) => isthmus.parseTransportUrl(u, 'ISTHMUS_TRANSPORT');
    expect(p('shm:')).toEqual({ kind: 'shm', url: 'shm:', source: 'ISTHMUS_TRANSPORT' });
    expect(p('shm:///dev/shm/my-app')).toMatchObject({ kind: 'shm', root: '/dev/shm/my-app' });
    expect(p('shm:///dev/shm/my-app/')).toMatchObject({ kind: 'shm', root: '/dev/shm/my-app' });
    expect(p('inproc:')).toEqual({ kind: 'inproc', url: 'inproc:', source: 'ISTHMUS_TRANSPORT' });
    expect(p('agent:')).toEqual({ kind: 'agent', url: 'agent:', source: 'ISTHMUS_TRANSPORT' });
    expect(p('agent:///run/isthmus/agent.sock')).toMatchObject({ kind: 'agent', socket: '/run/isthmus/agent.sock' });
    expect(p('vm:///dev/shm/guest.mem')).toEqual({ kind: 'vm', url: 'vm:///dev/shm/guest.mem', source: 'ISTHMUS_TRANSPORT', path: '/dev/shm/guest.mem' });
    expect(p('vm:///dev/shm/guest.mem?size=16777216')).toMatchObject({ kind: 'vm', path: '/dev/shm/guest.mem', size: 16 << 20 });
    expect(p('tcp://10.0.0.5:7300')).toEqual({ kind: 'tcp', url: 'tcp://10.0.0.5:7300', source: 'ISTHMUS_TRANSPORT', address: 'tcp://10.0.0.5:7300' });
    expect(p('tcp://[::1]:7300?connectTimeoutMs=250')).toMatchObject({ kind: 'tcp', address: 'tcp://[::1]:7300', connectTimeoutMs: 250 });
    expect(p('unix:///run/app/isthmus.sock')).toMatchObject({ kind: 'unix', address: 'unix:///run/app/isthmus.sock' });
    expect(p('unix:///run/app/isthmus.sock?connectTimeoutMs=9')).toMatchObject({ kind: 'unix', connectTimeoutMs: 9 });
  });

  it('rejects bad URLs naming the value, the source and the accepted forms', () => {
    const cases: [string, string][] = [
      ['', 'it is empty'],
      ['shm', 'no scheme'],
      ['shmem:', 'unknown scheme "shmem:"'],
      ['shm://host/dir', 'a host ("host") is not allowed'],
      ['shm:/relative', 'expected shm: or shm:///absolute/path'],
      ['shm:///', 'the path is missing'],
      ['shm:?size=4', 'shm: takes no query parameters'],
      ['inproc:arena', 'nothing may follow the colon'],
      ['agent:sock', 'expected agent: or agent:///absolute/path'],
      ['vm:', 'the path is missing'],
      ['vm:///dev/shm/g?size=1000', 'size=1000 must be a power of two'],
      ['vm:///dev/shm/g?size=abc', 'size="abc" is not a positive integer'],
      ['vm:///dev/shm/g?bytes=4', 'unknown query parameter "bytes"'],
      ['tcp://host', 'expected tcp://host:port'],
      ['tcp://host:99999', 'port 99999 outside 1..65535'],
      ['tcp://h:1?connectTimeoutMs=1&connectTimeoutMs=2', 'given twice'],
      ['unix://relative', 'expected tcp://host:port or unix:///path'],
      ['tcp://h:1#x', 'fragments'],
    ];
    for (const [url, reason] of cases) {
      const e = configError(() => isthmus.parseTransportUrl(url, 'ISTHMUS_TRANSPORT'));
      expect(e.message).toContain(`ISTHMUS_TRANSPORT: invalid transport URL ${JSON.stringify(url)}: `);
      expect(e.message).toContain(reason);
      expect(e.message).toContain(FORMS);
      expect(e.code).toBe('CONFIG');
      expect(e.source).toBe('ISTHMUS_TRANSPORT');
      expect(e.value).toBe(url);
    }
  });

  it('names the file position when the URL came from a file', () => {
    const e = configError(() => isthmus.parseTransportUrl('nope:', { file: '/etc/app/isthmus.json', line: 3, column: 16, what: '"transport"' }));
    expect(e.message.startsWith('/etc/app/isthmus.json:3:16: "transport": invalid transport URL "nope:"')).toBe(true);
    expect(e).toMatchObject({ file: '/etc/app/isthmus.json', line: 3, column: 16, source: '/etc/app/isthmus.json:3:16' });
  });
});

describe('isthmus.json', () => {
  it('parses transport and routes; matchRoute prefers exact, then the longest prefix', () => {
    const text = JSON.stringify({ transport: 'shm:///dev/shm/a', routes: { 'orders.*': 'tcp://10.0.0.5:7300', 'orders.eu.*': 'inproc:', metrics: 'inproc:' } }, null, 2);
    const c = isthmus.parseConfig(text, '/app/isthmus.json');
    expect(c.file).toBe('/app/isthmus.json');
    expect(c.transport).toMatchObject({ kind: 'shm', root: '/dev/shm/a', source: '/app/isthmus.json:2:16 ("transport")' });
    expect(c.routes.map((r) => [r.pattern, r.spec.kind])).toEqual([
      ['orders.*', 'tcp'],
      ['orders.eu.*', 'inproc'],
      ['metrics', 'inproc'],
    ]);
    expect(c.routes[0]!.spec.source).toBe('/app/isthmus.json:4:17 (routes["orders.*"])');
    const patterns = ['orders.*', 'orders.eu.*', 'orders.eu.fr', 'metrics'];
    expect(isthmus.matchRoute(patterns, 'orders.us')).toBe('orders.*');
    expect(isthmus.matchRoute(patterns, 'orders.eu.de')).toBe('orders.eu.*');
    expect(isthmus.matchRoute(patterns, 'orders.eu.fr')).toBe('orders.eu.fr');
    expect(isthmus.matchRoute(patterns, 'metrics')).toBe('metrics');
    expect(isthmus.matchRoute(patterns, 'metrics2')).toBeNull();
    expect(isthmus.matchRoute(patterns, 'orders')).toBeNull();
    expect(isthmus.parseConfig('{}', '/x.json')).toEqual({ file: '/x.json', transport: undefined, routes: [] });
  });

  it('errors carry the file, the line and column of the offending key or value', () => {
    const F = '/srv/app/isthmus.json';
    const text = ['{', '  "transport": "shm:",', '  "routes": {', '    "orders.*": "tcp://10.0.0.5",', '    "metrics": "inproc:"', '  }', '}'].join('\n');
    let e = configError(() => isthmus.parseConfig(text, F));
    expect(e.message).toContain(`${F}:4:17: routes["orders.*"]: invalid transport URL "tcp://10.0.0.5": expected tcp://host:port`);
    expect(e.message).toContain(FORMS);
    expect(e).toMatchObject({ file: F, line: 4, column: 17, value: 'tcp://10.0.0.5' });

    // A bad pattern: the key's position.
    e = configError(() => isthmus.parseConfig('{\n  "routes": {\n    "ok": "shm:",\n      "bad pattern": "shm:"\n  }\n}', F));
    expect(e.message).toContain(`${F}:4:7: routes["bad pattern"]: invalid route pattern "bad pattern"`);
    e = configError(() => isthmus.parseConfig('{ "routes": { "*": "shm:" } }', F));
    expect(e.message).toContain('write it as "transport"');

    // Unknown top-level keys: all named, with their lines; the first one's position.
    e = configError(() => isthmus.parseConfig('{\n  "transprot": "shm:",\n  "routes": {},\n  "extra": 1\n}', F));
    expect(e.message).toContain(`${F}:2:3: unknown keys "transprot" (line 2), "extra" (line 4): the accepted keys are "transport" and "routes"`);
    expect(e.line).toBe(2);

    // Wrong types.
    e = configError(() => isthmus.parseConfig('{\n\n   "transport": 7300\n}', F));
    expect(e.message).toContain(`${F}:3:17: "transport" must be a transport URL string, not number 7300`);
    e = configError(() => isthmus.parseConfig('{ "routes": ["a"] }', F));
    expect(e.message).toContain(`${F}:1:13: "routes" must be an object`);
    e = configError(() => isthmus.parseConfig('{ "routes": { "a": null } }', F));
    expect(e.message).toContain(`${F}:1:20: routes["a"] must be a transport URL string, not null`);
    e = configError(() => isthmus.parseConfig('\n  ["shm:"]', F));
    expect(e.message).toContain(`${F}:2:3: the file holds an array, expected an object`);
  });

  it('JSON syntax errors are reported at line:column', () => {
    const F = '/srv/isthmus.json';
    const cases: [string, number, number][] = [
      ['{\n  "transport": "shm:",\n  }', 3, 3], // trailing comma
      ['{\n  "transport": "shm:"\n  "routes": {}\n}', 3, 3], // missing comma
      ['{\n  "routes": {\n    "a": "shm:",\n  ]\n}', 4, 3], // JSON.parse names no position: the scanner finds it
      ['', 1, 1],
      ['{\n  "transport": "shm:"', 2, 22], // unexpected end
    ];
    for (const [text, line, column] of cases) {
      const e = configError(() => isthmus.parseConfig(text, F));
      expect(e.message, text).toContain(`${F}:${line}:${column}: invalid JSON: `);
      expect(e.message).toContain(isthmus.CONFIG_FILE_FORM);
      expect(e).toMatchObject({ line, column });
      expect(e.message).not.toMatch(/at position/);
    }
    expect(isthmus.lineColumn('ab\ncd\r\nef', 7)).toEqual({ line: 3, column: 1 });
  });

  it('is found walking up from the working directory; ISTHMUS_CONFIG names it instead', () => {
    const top = tmp();
    const deep = join(top, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    expect(isthmus.findConfigFile({ env: {}, cwd: deep })).toBeNull();
    writeFileSync(join(top, 'isthmus.json'), '{ "transport": "inproc:" }');
    expect(isthmus.findConfigFile({ env: {}, cwd: deep })).toEqual({ file: join(top, 'isthmus.json'), via: 'search' });
    expect(isthmus.loadConfig({ env: {}, cwd: deep })!.transport!.kind).toBe('inproc');
    // A nearer one wins; a directory of that name does not count.
    mkdirSync(join(top, 'a', 'b', 'isthmus.json'));
    writeFileSync(join(top, 'a', 'isthmus.json'), '{ "transport": "agent:" }');
    expect(isthmus.findConfigFile({ env: {}, cwd: deep })!.file).toBe(join(top, 'a', 'isthmus.json'));
    // ISTHMUS_CONFIG: relative to cwd; a missing file is an error naming it.
    writeFileSync(join(top, 'other.json'), '{ "transport": "shm:" }');
    expect(isthmus.findConfigFile({ env: { ISTHMUS_CONFIG: '../../../other.json' }, cwd: deep })).toEqual({ file: join(top, 'other.json'), via: 'ISTHMUS_CONFIG' });
    const e = configError(() => isthmus.loadConfig({ env: { ISTHMUS_CONFIG: join(top, 'missing.json') }, cwd: deep }));
    expect(e.message).toBe(`ISTHMUS_CONFIG: cannot read the config file ${JSON.stringify(join(top, 'missing.json'))}: ENOENT`);
  });
});

describe('precedence', () => {
  it('ISTHMUS_TRANSPORT sets the default, the file its routes; the file alone both; else shm:', () => {
    const top = tmp();
    const file = join(top, 'isthmus.json');
    writeFileSync(file, JSON.stringify({ transport: 'shm:///dev/shm/from-file', routes: { 'x.*': 'inproc:' } }));
    const both = isthmus.resolveConfig({ env: { ISTHMUS_TRANSPORT: 'shm:///dev/shm/from-env' }, cwd: top });
    expect(both.transport).toMatchObject({ kind: 'shm', root: '/dev/shm/from-env', source: 'ISTHMUS_TRANSPORT' });
    expect(both.routes.map((r) => r.pattern)).toEqual(['x.*']);
    expect(both.file).toBe(file);
    const fileOnly = isthmus.resolveConfig({ env: {}, cwd: top });
    expect(fileOnly.transport).toMatchObject({ kind: 'shm', root: '/dev/shm/from-file' });
    const empty = tmp();
    expect(isthmus.resolveConfig({ env: { ISTHMUS_TRANSPORT: '' }, cwd: empty })).toEqual({ transport: { kind: 'shm', url: 'shm:', source: 'default' }, routes: [], file: null });
    // A bad ISTHMUS_TRANSPORT is reported even when a file exists; a bad file even when ISTHMUS_TRANSPORT is set.
    expect(configError(() => isthmus.resolveConfig({ env: { ISTHMUS_TRANSPORT: 'tcp:' }, cwd: top })).source).toBe('ISTHMUS_TRANSPORT');
    writeFileSync(file, '{ "routes": { "x": "vm:" } }');
    expect(configError(() => isthmus.resolveConfig({ env: { ISTHMUS_TRANSPORT: 'shm:' }, cwd: top })).source).toBe(`${file}:1:20`);
  });

  it('node(): an explicit transport or root in code wins over ISTHMUS_TRANSPORT', async () => {
    const root = tmp();
    setEnv({ ISTHMUS_TRANSPORT: 'bogus://nothing' });
    const e = await rejection(isthmus.node());
    expect(e).toBeInstanceOf(isthmus.ConfigError);
    expect(e.message).toContain('ISTHMUS_TRANSPORT: invalid transport URL "bogus://nothing": unknown scheme "bogus:"');
    const a = await isthmus.node({ transport: 'inproc' });
    expect(a.transport.kind).toBe('inproc');
    a.close();
    const b = await isthmus.node({ root });
    expect(b.transport.where).toBe(root);
    b.close();
    setEnv({ ISTHMUS_TRANSPORT: `shm://${root}` });
    const c = await isthmus.node();
    expect(c.transport).toBeInstanceOf(isthmus.ShmTransport);
    expect(c.transport.where).toBe(root);
    c.close();
  });

  it('node(): vm: and unix: URLs open their transports; an open failure names the URL and its source', async () => {
    const dir = tmp();
    const file = join(dir, 'guest.mem');
    setEnv({ ISTHMUS_TRANSPORT: `vm://${file}?size=1048576`, ISTHMUS_CONFIG: '' });
    const node = await isthmus.node();
    try {
      expect(node.transport).toBeInstanceOf(isthmus.ArenaTransport);
      expect(node.transport.where).toBe(`vm arena ${file}`);
      await node.publisher('vm.out', BookUpdate, { capacity: 1 << 14 });
      expect(channelRegions(node.transport)).toEqual(['vm.out~pub']);
      expect(statSync(file).size).toBe(1 << 20);
    } finally {
      node.close();
    }
    setEnv({ ISTHMUS_TRANSPORT: `vm://${dir}/missing.mem`, ISTHMUS_CONFIG: '' });
    let e = await rejection(isthmus.node());
    expect(e).toBeInstanceOf(isthmus.IsthmusError);
    expect(e.message).toBe(`vm arena: ${dir}/missing.mem does not exist and no size was given to create it (transport "vm://${dir}/missing.mem" from ISTHMUS_TRANSPORT)`);
    setEnv({ ISTHMUS_TRANSPORT: `unix://${dir}/nobody.sock?connectTimeoutMs=100`, ISTHMUS_CONFIG: '' });
    e = await rejection(isthmus.node());
    expect(e).toBeInstanceOf(isthmus.NetError);
    expect(e.message).toMatch(new RegExp(`^unix://${dir}/nobody\\.sock: .*\\(transport "unix://${dir}/nobody\\.sock\\?connectTimeoutMs=100" from ISTHMUS_TRANSPORT\\)$`));
  });

  it('node(): ISTHMUS_TRANSPORT is the default and the file routes still apply', async () => {
    const [envRoot, fileRoot, routeRoot, dir] = [tmp(), tmp(), tmp(), tmp()];
    writeFileSync(join(dir, 'isthmus.json'), JSON.stringify({ transport: `shm://${fileRoot}`, routes: { 'r.*': `shm://${routeRoot}` } }, null, 2));
    setEnv({ ISTHMUS_TRANSPORT: `shm://${envRoot}`, ISTHMUS_CONFIG: join(dir, 'isthmus.json') });
    const node = await isthmus.node();
    try {
      expect(node.transport).toBeInstanceOf(isthmus.RoutedTransport);
      await node.publisher('r.one', BookUpdate);
      await node.publisher('plain', BookUpdate);
      expect(channelFiles(routeRoot)).toEqual(['r.one~pub']);
      expect(channelFiles(envRoot)).toEqual(['plain~pub']);
      expect(channelFiles(fileRoot)).toEqual([]);
    } finally {
      node.close();
    }
  });
});

describe('routed transport', () => {
  it('channel A in one shm root, channel B in another: pub/sub, rpc, queues, dead letters, list, sweep', async () => {
    const [rootA, rootB, dir] = [tmp(), tmp(), tmp()];
    writeFileSync(join(dir, 'isthmus.json'), JSON.stringify({ transport: `shm://${rootB}`, routes: { 'a.*': `shm://${rootA}` } }));
    setEnv({ ISTHMUS_CONFIG: join(dir, 'isthmus.json') });
    const node = await isthmus.node();
    const peer = await isthmus.node();
    try {
      const t = node.transport as isthmus.RoutedTransport;
      expect(t).toBeInstanceOf(isthmus.RoutedTransport);
      expect(t.kind).toBe('routed');
      expect(t.transports.map((x) => x.where)).toEqual([rootB, rootA]);
      expect(t.where).toBe(`a.* → ${rootA}; (other channels) → ${rootB}`);
      expect(t.whereFor('a.prices')).toBe(rootA);
      expect(t.whereFor('b.prices')).toBe(rootB);

      const pubA = await node.publisher('a.prices', BookUpdate, { capacity: 1 << 14 });
      const pubB = await node.publisher('b.prices', BookUpdate, { capacity: 1 << 14 });
      const subA = await peer.subscriber('a.prices', BookUpdate);
      const subB = await peer.subscriber('b.prices', BookUpdate);
      await roundTrip(pubA, subA);
      await roundTrip(pubB, subB);
      expect(existsSync(join(rootA, 'a.prices~pub'))).toBe(true);
      expect(existsSync(join(rootB, 'a.prices~pub'))).toBe(false);
      expect(existsSync(join(rootB, 'b.prices~pub'))).toBe(true);
      expect(existsSync(join(rootA, 'b.prices~pub'))).toBe(false);

      // Request/response: the request ring and the response rings follow the service's route.
      await node.serve('a.svc', BookUpdate, BookUpdate, (req, res) => {
        res.side = 1;
        res.seq = req.seq + 1n;
      });
      const client = await peer.client('a.svc', BookUpdate, BookUpdate);
      expect((await client.call((q) => {
        q.side = 1;
        q.seq = 41n;
      })).seq).toBe(42n);
      const inA = channelFiles(rootA);
      const res = inA.find((f) => f.startsWith('a.svc~res~'))!;
      expect(res).toMatch(/^a\.svc~res~\d+$/);
      expect(inA).toEqual(['a.prices~pub', 'a.svc~req', res]);

      // A queue on the default route, and a dead-letter reader.
      const worker = await peer.queue('b.jobs', BookUpdate).worker();
      const producer = await node.queue('b.jobs', BookUpdate).producer();
      const job = producer.loan();
      job.side = 1;
      job.seq = 7n;
      producer.send(job);
      await expect.poll(() => worker.tryReceive()?.seq).toBe(7n);
      const dl = await node.deadLetters('a.prices');
      expect(channelFiles(rootB)).toEqual(['b.jobs~q~0', 'b.prices~pub']);
      expect(existsSync(join(rootA, 'a.prices~dead'))).toBe(true);
      dl.close();

      // list(): the union, each name once, from where it is routed.
      expect(channelRegions(t)).toEqual(['a.prices~dead', 'a.prices~pub', 'a.svc~req', res, 'b.jobs~q~0', 'b.prices~pub'].sort());
      expect(new Set(t.list()).size).toBe(t.list().length);
      expect(new Set(node.list().map((c) => `${c.kind}:${c.name}`))).toEqual(new Set(['pubsub:a.prices', 'service:a.svc', 'response:a.svc', 'dead-letters:a.prices', 'pubsub:b.prices', 'queue:b.jobs']));
      // A region of a channel routed elsewhere is not listed (it would not be opened there).
      writeFileSync(join(rootB, 'a.stray~pub'), '');
      expect(t.list()).not.toContain('a.stray~pub');
      // sweep() removes through the route: the dead-letter ring nobody holds any more.
      expect(node.sweep().removed).toEqual(['a.prices~dead']);
      expect(existsSync(join(rootA, 'a.prices~dead'))).toBe(false);
      // NotFound names the channel's own place.
      const nf = await rejection(peer.subscriber('a.nothing', BookUpdate, { waitMs: 0 }));
      expect(nf).toBeInstanceOf(isthmus.NotFoundError);
      expect(nf.message).toBe(`a.nothing: no such channel in ${rootA}`);
    } finally {
      peer.close();
      node.close();
    }
  });

  it('inproc and shm routes in one node: each region waits and wakes with its own transport', async () => {
    const [root, dir] = [tmp(), tmp()];
    writeFileSync(join(dir, 'isthmus.json'), JSON.stringify({ transport: `shm://${root}`, routes: { fast: 'inproc:' } }));
    setEnv({ ISTHMUS_CONFIG: join(dir, 'isthmus.json') });
    const node = await isthmus.node();
    try {
      const t = node.transport as isthmus.RoutedTransport;
      expect(t.transports.map((x) => x.kind)).toEqual(['shm', 'inproc']);
      expect((t.transportFor('fast') as isthmus.InprocTransport).arena).toBe(isthmus.defaultArena());
      const fast = [await node.publisher('fast', BookUpdate), await node.subscriber('fast', BookUpdate)] as const;
      const slow = [await node.publisher('slow', BookUpdate), await node.subscriber('slow', BookUpdate)] as const;
      // The subscribers block in waitAsync (nothing is there yet) and are woken by the sends.
      await Promise.all([roundTrip(fast[0], fast[1], 200), roundTrip(slow[0], slow[1], 200)]);
      expect(channelFiles(root)).toEqual(['slow~pub']);
      expect(isthmus.inproc({ arena: isthmus.defaultArena() }).list()).toContain('fast~pub');
    } finally {
      node.close();
    }
  });

  it('the notifier dispatches on the region buffer; a buffer it never handed out goes to the default', () => {
    const calls: string[] = [];
    const fake = (label: string): isthmus.Transport => {
      const regions = new Map<string, isthmus.Region>();
      return {
        kind: label,
        where: label,
        notifier: {
          wait: () => (calls.push(`${label}.wait`), 'ok'),
          waitAsync: async () => (calls.push(`${label}.waitAsync`), 'ok'),
          wake: () => (calls.push(`${label}.wake`), 0),
        },
        create(name, size, init) {
          const r = { name, buffer: new SharedArrayBuffer(size), byteOffset: 0, byteLength: size, close() {} };
          init(r);
          regions.set(name, r);
          return r;
        },
        open: (name) => regions.get(name) ?? null,
        list: () => [...regions.keys()],
        remove: (name) => regions.delete(name),
        close: () => void calls.push(`${label}.close`),
      };
    };
    const d = fake('d');
    const x = fake('x');
    const t = isthmus.routed(d, [{ pattern: 'x*', transport: x }]);
    const rx = t.create('x1~pub', 4096, (r) => void t.notifier.wake(r.buffer, 0, 1))!; // registered before init
    const rd = t.create('d1~pub', 4096, () => {})!;
    t.notifier.wake(rx.buffer, 0, 1);
    t.notifier.wait(rd.buffer, 0, 0, 0);
    void t.notifier.waitAsync(t.open('x1~pub')!.buffer, 0, 0, 0);
    t.notifier.wake(new SharedArrayBuffer(8), 0, 1);
    expect(calls).toEqual(['x.wake', 'x.wake', 'd.wait', 'x.waitAsync', 'd.wake']);
    expect(x.list()).toEqual(['x1~pub']);
    expect(t.remove('x1~pub')).toBe(true);
    expect(x.list()).toEqual([]);
    t.close();
    expect(calls.slice(-2)).toEqual(['d.close', 'x.close']);
    // One identity per node: transports that disagree are refused.
    const other = Object.assign(fake('agent'), { identity: { pid: 1, uid: 0, startTime: 5n } });
    expect(() => isthmus.routed(d, [{ pattern: 'c', transport: other }], '/app/isthmus.json')).toThrow(/^\/app\/isthmus.json: agent sees this process as pid 1, d as pid \d+/);
  });

  it('a route through a real node agent (same pid namespace: the identities agree)', async () => {
    const [root, dir] = [tmp(), tmp()];
    const socket = join(dir, 'agent.sock');
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ rules: [{ match: { uid: process.getuid!() }, allow: { publish: ['*'], subscribe: ['*'] } }] }));
    const agentProc = run('agent.ts', ['--socket', socket, '--policy', join(dir, 'policy.json')]);
    await until(() => agentProc.stderr.join('').includes(' ready'), 20_000, 'the agent to start');
    writeFileSync(join(dir, 'isthmus.json'), JSON.stringify({ transport: `shm://${root}`, routes: { 'ag.*': `agent://${socket}` } }));
    setEnv({ ISTHMUS_CONFIG: join(dir, 'isthmus.json') });
    const node = await isthmus.node();
    const peer = await isthmus.node();
    try {
      const t = node.transport as isthmus.RoutedTransport;
      expect(t.transports.map((x) => x.kind)).toEqual(['shm', 'agent']);
      expect(node.identity.pid).toBe(process.pid);
      const pub = await node.publisher('ag.prices', BookUpdate);
      const sub = await peer.subscriber('ag.prices', BookUpdate);
      await roundTrip(pub, sub);
      expect(channelFiles(root)).toEqual([]);
      expect(channelRegions(t)).toEqual(['ag.prices~pub']);
      expect(t.whereFor('ag.prices')).toBe(`isthmus agent at ${socket}`);
    } finally {
      peer.close();
      node.close();
    }
  });

  it('a refused tcp route fails node() with the URL and the file position', async () => {
    const [root, dir] = [tmp(), tmp()];
    const port = await freePort();
    const url = `tcp://127.0.0.1:${port}?connectTimeoutMs=300`;
    const file = join(dir, 'isthmus.json');
    writeFileSync(file, `{\n  "transport": "shm://${root}",\n  "routes": {\n    "remote.*": "${url}"\n  }\n}\n`);
    setEnv({ ISTHMUS_CONFIG: file });
    const e = await rejection(isthmus.node());
    expect(e).toBeInstanceOf(isthmus.NetError);
    expect((e as isthmus.NetError).errno).toBe('ECONNREFUSED');
    expect(e.message.startsWith(`tcp://127.0.0.1:${port}: `)).toBe(true);
    expect(e.message).toContain(`(transport ${JSON.stringify(url)} from ${file}:4:17 (routes["remote.*"]))`);
  });
});

describe('configured processes and threads', () => {
  it('a child process with ISTHMUS_TRANSPORT=shm:///dir publishes; this node reads it from that root', async () => {
    const root = tmp();
    const child = watch(
      spawn(NODE, [join(FIXTURES, 'config-pub.ts'), 'cfg.ticks', '50'], { cwd: ROOT, env: { ...process.env, ISTHMUS_TRANSPORT: `shm://${root}`, ISTHMUS_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] }),
      'config-pub',
    );
    expect(await child.waitLine((l) => l.startsWith('where '))).toBe(`where shm ${root}`);
    const node = await isthmus.node({ root });
    try {
      const sub = await node.subscriber('cfg.ticks', BookUpdate, { waitMs: 10_000 });
      let sum = 0n;
      let n = 0;
      for await (const m of sub) {
        sum += m.seq;
        if (++n === 50) break;
      }
      expect(sum).toBe(1275n);
      await child.waitLine((l) => l === 'done');
      expect(await child.exited).toBe(0);
    } finally {
      node.close();
    }
  });

  it('a child process finds isthmus.json above its working directory; a bad ISTHMUS_TRANSPORT stops it with the message', async () => {
    const [root, top] = [tmp(), tmp()];
    const deep = join(top, 'svc', 'bin');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(top, 'isthmus.json'), JSON.stringify({ routes: { 'cfg.*': `shm://${root}` } }));
    const env = { ...process.env, ISTHMUS_CONFIG: '', ISTHMUS_TRANSPORT: 'inproc:' };
    const ok = watch(spawn(NODE, [join(FIXTURES, 'config-pub.ts'), 'cfg.walk', '3'], { cwd: deep, env, stdio: ['ignore', 'pipe', 'pipe'] }), 'config-pub');
    expect(await ok.waitLine((l) => l.startsWith('where '))).toBe(`where routed cfg.* → ${root}; (other channels) → the in-process arena`);
    const node = await isthmus.node({ root });
    try {
      const sub = await node.subscriber('cfg.walk', BookUpdate, { waitMs: 10_000 });
      const got: bigint[] = [];
      for await (const m of sub) if (got.push(m.seq) === 3) break;
      expect(got).toEqual([1n, 2n, 3n]);
      expect(await ok.exited).toBe(0);
    } finally {
      node.close();
    }
    const bad = watch(spawn(NODE, [join(FIXTURES, 'config-pub.ts'), 'x', '1'], { cwd: deep, env: { ...env, ISTHMUS_TRANSPORT: 'tcp://db-host' }, stdio: ['ignore', 'pipe', 'pipe'] }), 'config-pub');
    expect(await bad.exited).toBe(2);
    const err = bad.stderr.join('');
    expect(err).toContain('error ConfigError: ISTHMUS_TRANSPORT: invalid transport URL "tcp://db-host": expected tcp://host:port');
    expect(err).toContain(FORMS);
  });

  it('inproc: is one arena per process, shared with worker threads started after it exists', async () => {
    const arena = isthmus.defaultArena();
    expect(isthmus.defaultArena()).toBe(arena);
    setEnv({ ISTHMUS_TRANSPORT: 'inproc:', ISTHMUS_CONFIG: '' });
    const node = await isthmus.node();
    const w = new Worker(join(FIXTURES, 'config-thread.ts'), { workerData: { channel: 'cfg.thread', count: 500 }, env: { ...process.env } });
    const msgs: unknown[] = [];
    const waiters: (() => void)[] = [];
    w.on('message', (m) => {
      msgs.push(m);
      waiters.splice(0).forEach((f) => f());
    });
    w.on('error', (e) => {
      msgs.push(e);
      waiters.splice(0).forEach((f) => f());
    });
    const next = async (k: number) => {
      while (msgs.length < k) await new Promise<void>((r) => waiters.push(r));
      return msgs[k - 1];
    };
    try {
      expect(node.transport).toBeInstanceOf(isthmus.InprocTransport);
      expect((node.transport as isthmus.InprocTransport).arena).toBe(arena);
      const pub = await node.publisher('cfg.thread', BookUpdate, { capacity: 1 << 14 });
      expect(await next(1)).toBe('ready');
      expect(pub.subscribers()).toBe(1);
      for (let i = 1; i <= 500; i++) {
        await pub.sendAsync((m) => {
          m.side = 1;
          m.seq = BigInt(i);
        });
      }
      expect(await next(2)).toEqual({ kind: 'inproc', n: 500, sum: String((500 * 501) / 2) });
    } finally {
      await w.terminate();
      node.close();
    }
  });
});

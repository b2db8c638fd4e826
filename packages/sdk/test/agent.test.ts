/**
 * The node agent: wire format (encode/decode, every malformation named), the policy
 * (matching, globs, the rights each region operation needs, errors naming the bad value),
 * and a real agent process with real SCM_RIGHTS clients: create/open/list/remove through
 * the agent transport, sealed memfds, exclusivity, per-operation denial, a raw client
 * speaking the documented frames, and cleanup after a SIGKILLed peer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '@isthmus/native';
import * as isthmus from '../dist/index.js';
import { decode, encode, ERROR, MAGIC, Op, REPLY } from '../dist/agent/protocol.js';
import { check, globToRegExp, Policy } from '../dist/agent/policy.js';
import { NODE, run, type Child } from './helpers.ts';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';

describe('agent wire format', () => {
  it('encodes the documented 16-byte header and a JSON body', () => {
    const b = encode(Op.OPEN, 7, { name: 'x~pub' });
    expect([...b.subarray(0, 4)]).toEqual([0x49, 0x53, 0x41, 0x47]); // "ISAG"
    expect(b.readUInt32LE(0)).toBe(MAGIC);
    expect(b.readUInt16LE(4)).toBe(1);
    expect(b.readUInt16LE(6)).toBe(Op.OPEN);
    expect(b.readUInt32LE(8)).toBe(7);
    expect(b.readUInt32LE(12)).toBe(b.length - 16);
    expect(b.subarray(16).toString()).toBe('{"name":"x~pub"}');
    expect(decode(b)).toEqual({ op: Op.OPEN, id: 7, body: { name: 'x~pub' } });
  });

  it('names what is wrong with a malformed frame', () => {
    const good = encode(Op.LIST, 1, {});
    expect(() => decode(good.subarray(0, 10))).toThrow('frame of 10 bytes is shorter than the 16-byte header');
    const badMagic = Buffer.from(good);
    badMagic.writeUInt32LE(0x12345678, 0);
    expect(() => decode(badMagic)).toThrow('bad magic 0x12345678');
    const badVer = Buffer.from(good);
    badVer.writeUInt16LE(9, 4);
    expect(() => decode(badVer)).toThrow('unsupported protocol version 9');
    const badLen = Buffer.from(good);
    badLen.writeUInt32LE(99, 12);
    expect(() => decode(badLen)).toThrow('body_len 99 does not match the frame\'s 2 body bytes');
    const arr = Buffer.concat([good.subarray(0, 16), Buffer.from('[1]')]);
    arr.writeUInt32LE(3, 12);
    expect(() => decode(arr)).toThrow('body must be a JSON object, got an array');
    expect(() => encode(Op.LIST, 1, { big: 'x'.repeat(70000) })).toThrow(/exceeds the 65536-byte limit/);
  });
});

describe('agent policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-policy-'));
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  writeFileSync(group, 'root:x:0:\nmarket:x:2000:alice\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const policy = Policy.parse(
    {
      rules: [
        { match: { user: 'alice' }, allow: { publish: ['book.*'], call: ['pricer'] } },
        { match: { group: 'market' }, allow: { subscribe: ['book.*', 'trades'] } },
        { match: { uid: 0 }, allow: { publish: ['*'], subscribe: ['*'], serve: ['*'], call: ['*'] }, stat: true },
      ],
    },
    'test.json',
    { passwd, group },
  );

  it('unions the rights of every matching rule; an unlisted identity gets none', () => {
    const alice = policy.rights({ uid: 1000, gid: 1000, groups: [1000, 2000], pid: 1 })!;
    expect(alice.rules).toEqual([0, 1]);
    expect(alice.stat).toBe(false);
    expect(check(alice, 'create', 'book.eu~pub').ok).toBe(true);
    expect(check(alice, 'open', 'trades~pub').ok).toBe(true); // subscribe via the group
    expect(check(alice, 'create', 'trades~pub')).toEqual({ ok: false, need: ['publish'], channel: 'trades' });
    expect(check(alice, 'open', 'pricer~req').ok).toBe(true); // call
    expect(check(alice, 'create', 'pricer~req')).toEqual({ ok: false, need: ['serve'], channel: 'pricer' });
    expect(check(alice, 'create', 'pricer~res~3').ok).toBe(true); // a client creates its response ring
    expect(check(alice, 'open', 'book.eu~dead').ok).toBe(true); // dead letters: any right on the channel
    expect(policy.rights({ uid: 1001, gid: 1001, groups: [1001], pid: 1 })).toBeNull();
    expect(policy.rights({ uid: 0, gid: 0, groups: [0], pid: 1 })!.stat).toBe(true);
  });

  it('globs: * any run, ? one character, everything else literal', () => {
    expect(globToRegExp('book.*').test('book.eu')).toBe(true);
    expect(globToRegExp('book.*').test('bookXeu')).toBe(false);
    expect(globToRegExp('t?').test('t1')).toBe(true);
    expect(globToRegExp('t?').test('t12')).toBe(false);
  });

  it('errors name the rule and the bad value', () => {
    const p = (j: unknown) => () => Policy.parse(j, 'p.json', { passwd, group });
    expect(p({})).toThrow('policy p.json: must be an object with a "rules" array');
    expect(p({ rules: [{ match: { uid: -1 } }] })).toThrow('rules[0].match.uid must be an integer >= 0, got -1');
    expect(p({ rules: [{ match: { user: 'mallory' } }] })).toThrow('rules[0].match.user "mallory" is not a user of this system');
    expect(p({ rules: [{ match: { uid: 0 }, allow: { write: ['*'] } }] })).toThrow('rules[0].allow has unknown right "write"');
    expect(p({ rules: [{ match: { uid: 0 }, allow: { publish: 'x' } }] })).toThrow('rules[0].allow.publish must be an array of channel-name globs, got "x"');
    expect(p({ rules: [{ match: { pid: 3 } }] })).toThrow('rules[0].match has unknown key "pid"');
  });
});

// A real agent in a child process (the transport's calls are synchronous round trips, so
// the agent cannot share this process's event loop).
describe('agent process with real clients', () => {
  let dir: string;
  let socket: string;
  let agent: Child;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-agent-'));
    socket = join(dir, 'agent.sock');
    const uid = process.getuid!();
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ rules: [{ match: { uid }, allow: { publish: ['ok.*'], subscribe: ['*'] }, stat: true }] }));
    agent = run('agent.ts', ['--socket', socket, '--policy', join(dir, 'policy.json'), '--sample-ms', '50']);
    const deadline = Date.now() + 20_000;
    while (!agent.stderr.join('').includes(' ready')) {
      if (Date.now() > deadline) throw new Error(`agent did not start: ${agent.stderr.join('')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  afterAll(async () => {
    agent.kill('SIGTERM');
    await agent.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a region that is not a ring is refused at PUBLISH', async () => {
    const t = await isthmus.agent({ socket });
    expect(() => t.create('ok.bad~pub', 8192, () => {})).toThrow(/cannot publish ok\.bad~pub: BAD_RING: PUBLISH ok\.bad~pub: the region is not a valid ring/);
    expect(t.list()).not.toContain('ok.bad~pub');
    expect(t.identity.pid).toBe(process.pid); // same pid namespace: the agent's pid is ours
    expect(t.sameNamespace).toBe(true);
    t.close();
  });

  it('pub/sub through the agent between this process and another; per-operation denial', async () => {
    const node = await isthmus.node({ transport: 'agent', socket });
    const pub = await node.publisher('ok.book', BookUpdate, { capacity: 1 << 14 });
    expect(node.transport.list()).toContain('ok.book~pub');
    const t = node.transport as isthmus.AgentTransport;
    const again = t.create('ok.book~pub', 1 << 16, () => {
      throw new Error('init must not run for an existing name');
    });
    expect(again).toBeNull();
    const o = t.open('ok.book~pub')!;
    expect(o.byteLength).toBeGreaterThan(1 << 14);
    o.close();
    expect(t.remove('ok.book~pub', { ...o, token: 999999 } as never)).toBe(false); // a stale token removes nothing
    // another process subscribes through the agent
    const sub = run('agent-peer.ts', [socket, 'sub', 'ok.book', '3']);
    await sub.waitLine((l) => l === 'ready');
    while (pub.subscribers() === 0) await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i <= 3; i++) await pub.sendAsync((m) => ((m.side = 1), (m.seq = BigInt(i)), m.set_symbol('X')));
    expect(await sub.waitLine((l) => l.startsWith('got'))).toBe('got 1,2,3');
    // publish is allowed on ok.* only
    await expect(node.publisher('nope', BookUpdate)).rejects.toThrow(/DENIED: pid \d+ uid \d+ \(\w+\) gid \d+ may not create region "nope~pub": that needs the right "publish" on channel "nope", which no matching rule of .*policy\.json \(rules 0\) grants/);
    // SIGKILL the subscriber: the agent frees its slot (the publisher sees no subscriber)
    sub.kill('SIGKILL');
    await sub.exited;
    const deadline = Date.now() + 5000;
    while (pub.subscribers() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pub.subscribers()).toBe(0);
    const stat = spawnSync(NODE, [join(import.meta.dirname, 'fixtures/agent-stat.ts'), '--socket', socket, '--json'], { encoding: 'utf8' });
    const s = JSON.parse(stat.stdout);
    expect(s.agent.deadPeers).toBeGreaterThanOrEqual(1);
    expect(s.channels.find((c: { region: string }) => c.region === 'ok.book~pub')).toMatchObject({ messages: 3, participants: { publisher: 1 } });
    // remove with the right token unpublishes; the name is free again
    const o2 = t.open('ok.book~pub')!;
    expect(t.remove('ok.book~pub', o2)).toBe(true);
    expect(t.list()).not.toContain('ok.book~pub');
    expect(t.open('ok.book~pub')).toBeNull();
    o2.close();
    node.close();
  });

  it('a raw client speaking the documented frames gets fds with replies and named errors', () => {
    const fd = native.connectSync(socket);
    const req = (op: number, id: number, body: object) => {
      native.sendSync(fd, encode(op, id, body as Record<string, unknown>));
      const r = native.recvSync(fd, 5000)!;
      return { ...decode(r.data), fds: r.fds };
    };
    const early = req(Op.LIST, 1, {});
    expect(early.op).toBe(ERROR);
    expect(early.body).toEqual({ code: 'PROTOCOL', message: 'LIST before HELLO' });
    const h = req(Op.HELLO, 2, { version: 1, pid: process.pid });
    expect(h.op).toBe(REPLY | Op.HELLO);
    expect(h.body.pid).toBe(process.pid);
    const c = req(Op.CREATE, 3, { name: 'ok.raw2~pub', size: 100 });
    expect(c.body).toEqual({ code: 'TOO_LARGE', message: expect.stringContaining('size 100 is outside 4096..') });
    const c2 = req(Op.CREATE, 4, { name: 'ok.raw2~pub', size: 8192 });
    expect(c2.op).toBe(REPLY | Op.CREATE);
    expect(c2.fds).toHaveLength(1);
    const m = native.openFd(c2.fds[0]!);
    expect(native.seals(m)).toMatchObject({ shrink: true, grow: true, seal: true });
    expect(m.size).toBe(8192);
    for (const f of c2.fds) native.closeFd(f);
    m.close();
    const bad = req(Op.OPEN, 5, { name: '../etc' });
    expect(bad.body.code).toBe('BAD_REQUEST');
    expect(String(bad.body.message)).toContain('"../etc"');
    native.closeFd(fd); // the pending create dies with the connection
  });
});

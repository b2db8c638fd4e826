/**
 * fd passing: a real second process connects to an FdServer, receives a sealed memfd over
 * SCM_RIGHTS, maps it and writes into it, and the first process sees the byte through its
 * own mapping; SO_PEERCRED names the child's pid; sync helpers time out; the event loop is
 * never blocked by the async side.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { native, PKG, tempDir, withAddon } from './helpers.ts';

const { FdServer, FdSocket, closeFd, connectSync, createMemfd, openFd, peerCred, recvSync, sendSync, socketPair, seals } = native;

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const NODE = Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : join(PKG, '../../node_modules/.bin/node');

// The child: connect, receive one message with one fd, map it, check the byte the parent
// wrote at 100, write 42 at 101, report its pid and the seals, and exit.
const CHILD = `
import * as n from ${JSON.stringify(join(PKG, 'dist/index.js'))};
const fd = n.connectSync(process.argv[1]);
const m = n.recvSync(fd, 10000);
const r = n.openFd(m.fds[0]);
n.closeFd(m.fds[0]);
const u8 = new Uint8Array(r.buffer);
const saw = u8[100];
u8[101] = 42;
n.sendSync(fd, Buffer.from(JSON.stringify({ pid: process.pid, text: m.data.toString(), saw, seals: n.seals(r) })));
n.recvSync(fd, 10000); // wait for the parent to hang up
`;

withAddon('fd passing (SCM_RIGHTS, SO_PEERCRED)', () => {
  it('hands a sealed memfd to another process; both map the same pages', async () => {
    const path = join(tmp.dir, 'a.sock');
    const server = new FdServer(path, { mode: 0o600 });
    const region = createMemfd('fdpass-test', 8192);
    new Uint8Array(region.buffer)[100] = 7;
    const got = new Promise<{ reply: { pid: number; text: string; saw: number; seals: { shrink: boolean; grow: boolean; seal: boolean } }; cred: { pid: number; uid: number } }>((resolve, reject) => {
      server.on('connection', (sock: InstanceType<typeof FdSocket>) => {
        const cred = sock.peerCred();
        sock.send(Buffer.from('here is a region'), [region.fd]);
        sock.on('message', (data: Buffer, fds: number[]) => {
          expect(fds).toEqual([]);
          resolve({ reply: JSON.parse(data.toString()), cred });
          sock.close();
        });
        sock.on('close', (err?: Error) => err && reject(err));
      });
    });
    const child = spawn(NODE, ['--input-type=module', '-e', CHILD, path], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    // The event loop keeps running while the server waits: timers fire.
    let ticks = 0;
    const t = setInterval(() => ticks++, 5);
    const { reply, cred } = await got;
    clearInterval(t);
    expect(await exited).toBe(0);
    server.close();
    expect(reply.text).toBe('here is a region');
    expect(reply.saw).toBe(7);
    expect(new Uint8Array(region.buffer)[101]).toBe(42); // written by the child
    expect(reply.seals).toMatchObject({ shrink: true, grow: true, seal: true }); // seals travel with the file
    expect(cred.pid).toBe(reply.pid);
    expect(cred.pid).toBe(child.pid);
    expect(cred.uid).toBe(process.getuid!());
    expect(ticks).toBeGreaterThan(0);
    region.close();
  });

  it('sync helpers: message boundaries, fds per message, timeouts, end of stream', () => {
    const [a, b] = socketPair();
    const r = createMemfd('fdpass-pair', 4096);
    sendSync(a, Buffer.from('one'), [r.fd, r.fd]);
    sendSync(a, Buffer.from('two'));
    const m1 = recvSync(b, 1000)!;
    expect(m1.data.toString()).toBe('one');
    expect(m1.fds).toHaveLength(2);
    expect(m1.fds[0]).not.toBe(r.fd);
    const mapped = openFd(m1.fds[1]!);
    new Uint8Array(r.buffer)[5] = 9;
    expect(new Uint8Array(mapped.buffer)[5]).toBe(9);
    expect(seals(mapped)).toMatchObject({ shrink: true, grow: true, seal: true });
    for (const fd of m1.fds) closeFd(fd);
    const m2 = recvSync(b, 1000)!;
    expect(m2.data.toString()).toBe('two');
    expect(m2.fds).toEqual([]);
    const t0 = Date.now();
    expect(recvSync(b, 50)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(peerCred(b).pid).toBe(process.pid);
    closeFd(a);
    expect(recvSync(b, 1000)!.data.length).toBe(0);
    closeFd(b);
    mapped.close();
    r.close();
  });

  it('errors carry the bad values', () => {
    expect(() => connectSync(join(tmp.dir, 'nobody-here.sock'))).toThrow(/ENOENT.*nobody-here\.sock/);
    const path = join(tmp.dir, 'dup.sock');
    const s = new FdServer(path);
    expect(() => new FdServer(path)).toThrow(/EADDRINUSE.*dup\.sock/);
    s.close();
    const [a, b] = socketPair();
    expect(() => sendSync(a, Buffer.alloc(0))).toThrow(/1\.\.65536 bytes, got 0/);
    expect(() => sendSync(a, Buffer.from('x'), [-3])).toThrow(/fds\[0\] must be a file descriptor, got -3/);
    closeFd(b);
    expect(() => sendSync(a, Buffer.from('x'))).toThrow(/EPIPE/);
    closeFd(a);
  });

  it('FdSocket.connect: async both ways, close is seen by the other end', async () => {
    const path = join(tmp.dir, 'b.sock');
    const server = new FdServer(path);
    const accepted = new Promise<InstanceType<typeof FdSocket>>((r) => server.once('connection', r));
    const c = FdSocket.connect(path);
    const s = await accepted;
    const echoed = new Promise<string>((r) => c.once('message', (d: Buffer) => r(d.toString())));
    s.on('message', (d: Buffer) => s.send(Buffer.concat([Buffer.from('echo:'), d])));
    c.send(Buffer.from('ping'));
    expect(await echoed).toBe('echo:ping');
    const closed = new Promise<Error | undefined>((r) => s.once('close', r));
    c.close();
    expect(await closed).toBeUndefined();
    expect(() => c.send(Buffer.from('x'))).toThrow(/closed socket/);
    server.close();
  });
});

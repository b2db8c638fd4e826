/**
 * File descriptors over Unix sockets (SCM_RIGHTS) and peer credentials (SO_PEERCRED),
 * which Node's `net` module cannot do. Sockets are SOCK_SEQPACKET: one `send` is one
 * message, received whole with the fds sent with it (at most MAX_MESSAGE bytes and
 * MAX_FDS fds per message).
 *
 * Two layers:
 * - `FdServer` / `FdSocket`: asynchronous. The addon owns the socket and libuv polls it;
 *   receiving, accepting and sending never block the event loop (a send that finds the
 *   socket buffer full is queued and flushed when it becomes writable).
 * - `connectSync`, `sendSync`, `recvSync`: for callers behind a synchronous interface (a
 *   Transport's create/open): they block the calling thread, for at most `timeoutMs`.
 *
 * Raw fds: the fds handed to `send` stay owned by the caller (the receiver gets its own
 * fds for the same open files). Every fd in a received message is owned by whoever
 * receives it and must be closed by it (`closeFd`), or it leaks. An fd number passed to
 * these functions must be open and owned by the caller for the duration of the call.
 */
import { EventEmitter } from 'node:events';
import { native } from './loader.js';

/** Largest message (bytes) either side sends or accepts. */
export const MAX_MESSAGE = 65536;
/** Most fds one message carries. */
export const MAX_FDS = 16;

export interface PeerCred {
  /** The peer's pid as this process's pid namespace sees it (0: outside of it). */
  pid: number;
  uid: number;
  gid: number;
}

export interface Received {
  data: Buffer;
  /** Owned by the receiver: close them. */
  fds: number[];
}

type PollHandle = { readonly __poll: unique symbol };
interface FdpassBinding {
  unixListen(path: string, mode?: number, backlog?: number): number;
  unixConnect(path: string): number;
  unixAccept(fd: number): number | null;
  unixPair(): [number, number];
  sendFds(fd: number, bytes: Uint8Array, fds?: number[]): boolean;
  recvFds(fd: number): Received | null;
  recvFdsSync(fd: number, timeoutMs: number): Received | null;
  waitFd(fd: number, writable: boolean, timeoutMs: number): boolean;
  peerCred(fd: number): PeerCred;
  pollStart(fd: number, cb: (events: number, errno: number) => void): PollHandle;
  pollEvents(h: PollHandle, writable: boolean): void;
  pollRef(h: PollHandle, ref: boolean): void;
  pollStop(h: PollHandle): void;
  closeFd(fd: number): void;
}

function b(): FdpassBinding {
  const n = native() as unknown as Partial<FdpassBinding>;
  if (typeof n.sendFds !== 'function') throw new Error('@isthmus/native: this addon build has no fd passing (rebuild it: node scripts/build-native.mjs)');
  return n as FdpassBinding;
}

/** Messages an FdSocket queues behind a full socket buffer before it closes the connection. */
export const MAX_QUEUED = 4096;

const READABLE = 1;
const WRITABLE = 2;
const DISCONNECT = 4;

/** Closes a raw fd. */
export function closeFd(fd: number): void {
  b().closeFd(fd);
}

/** SO_PEERCRED of a connected Unix socket fd. */
export function peerCred(fd: number): PeerCred {
  return b().peerCred(fd);
}

/** A connected SOCK_SEQPACKET pair of raw fds (blocking; for tests and helpers). */
export function socketPair(): [number, number] {
  return b().unixPair();
}

/** Connects to a listening socket; returns the raw (non-blocking) fd. */
export function connectSync(path: string): number {
  return b().unixConnect(path);
}

/** Sends one message on a raw fd, waiting up to `timeoutMs` for buffer space. */
export function sendSync(fd: number, data: Uint8Array, fds: number[] = [], timeoutMs = 5000): void {
  const n = b();
  const deadline = Date.now() + timeoutMs;
  while (!n.sendFds(fd, data, fds)) {
    const left = deadline - Date.now();
    if (left <= 0 || !n.waitFd(fd, true, left)) throw Object.assign(new Error(`sendmsg on fd ${fd}: the socket stayed full for ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
  }
}

/**
 * Receives one message on a raw fd, waiting up to `timeoutMs`; null when none came in
 * time. `data.length === 0` means the peer closed the connection.
 */
export function recvSync(fd: number, timeoutMs: number): Received | null {
  const n = b();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = n.recvFdsSync(fd, Math.max(0, deadline - Date.now()));
    if (r !== null) return r;
    // null is a timeout, or a spurious readiness (EAGAIN) with time left.
    if (Date.now() >= deadline) return null;
  }
}

/**
 * An asynchronous SOCK_SEQPACKET connection.
 *
 * Events: `'message'(data: Buffer, fds: number[])` (the listener owns the fds; with no
 * listener they are closed), `'close'(err?: Error)` once, when the peer hung up, an error
 * occurred or `close()` was called.
 */
export class FdSocket extends EventEmitter {
  #fd: number;
  #poll: PollHandle | null;
  #queue: { data: Uint8Array; fds: number[] }[] = [];
  #closed = false;

  /** Takes ownership of a connected socket fd (closed by `close()`). */
  constructor(fd: number) {
    super();
    this.#fd = fd;
    this.#poll = b().pollStart(fd, (ev, errno) => this.#onPoll(ev, errno));
  }

  /** Connects to `path`. */
  static connect(path: string): FdSocket {
    return new FdSocket(b().unixConnect(path));
  }

  get fd(): number {
    return this.#fd;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** SO_PEERCRED of the other end. */
  peerCred(): PeerCred {
    return b().peerCred(this.#fd);
  }

  /**
   * Sends one message with `fds` (still owned by the caller: they are duplicated into the
   * message when it is sent, so keep them open until then — a queued message is sent
   * later; pass fds only when `send` returns true, or keep them until 'drain').
   * Returns true when sent now, false when queued behind a full socket buffer.
   */
  send(data: Uint8Array, fds: number[] = []): boolean {
    if (this.#closed) throw Object.assign(new Error(`send on a closed socket (fd ${this.#fd})`), { code: 'EPIPE' });
    if (this.#queue.length === 0) {
      try {
        if (b().sendFds(this.#fd, data, fds)) return true;
      } catch (err) {
        this.#fail(err as Error);
        return false;
      }
    }
    if (this.#queue.length >= MAX_QUEUED) {
      // The peer does not read: give up on it rather than buffer without bound.
      this.#fail(Object.assign(new Error(`fd ${this.#fd}: the peer has not read ${MAX_QUEUED} queued messages; closing`), { code: 'ENOBUFS' }));
      return false;
    }
    this.#queue.push({ data, fds });
    b().pollEvents(this.#poll!, true);
    return false;
  }

  /** Whether this socket keeps the event loop alive (default true). */
  ref(on = true): this {
    if (this.#poll) b().pollRef(this.#poll, on);
    return this;
  }
  unref(): this {
    return this.ref(false);
  }

  close(): void {
    this.#fail(undefined);
  }

  #fail(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const n = b();
    if (this.#poll) n.pollStop(this.#poll);
    this.#poll = null;
    n.closeFd(this.#fd);
    this.#queue = [];
    this.emit('close', err);
  }

  #onPoll(ev: number, errno: number): void {
    if (this.#closed) return;
    const n = b();
    if (errno !== 0) return this.#fail(Object.assign(new Error(`poll error on fd ${this.#fd}: errno ${errno}`), { errno }));
    if (ev & WRITABLE) {
      try {
        while (this.#queue.length > 0 && n.sendFds(this.#fd, this.#queue[0]!.data, this.#queue[0]!.fds)) this.#queue.shift();
      } catch (err) {
        return this.#fail(err as Error);
      }
      if (this.#queue.length === 0) {
        n.pollEvents(this.#poll!, false);
        this.emit('drain');
      }
    }
    if (ev & (READABLE | DISCONNECT)) {
      // Drain what is pending now; a burst is delivered in one loop turn.
      for (let i = 0; i < 64 && !this.#closed; i++) {
        let r: Received | null;
        try {
          r = n.recvFds(this.#fd);
        } catch (err) {
          return this.#fail(err as Error);
        }
        if (r === null) break;
        if (r.data.length === 0) return this.#fail(undefined);
        if (this.listenerCount('message') === 0) for (const fd of r.fds) n.closeFd(fd);
        else this.emit('message', r.data, r.fds);
      }
    }
  }
}

/** A listening SOCK_SEQPACKET socket. Events: `'connection'(sock: FdSocket)`, `'error'(err)`. */
export class FdServer extends EventEmitter {
  readonly path: string;
  #fd: number;
  #poll: PollHandle | null;

  /**
   * Binds and listens on `path` with file mode `mode` (default 0o600; the socket's mode
   * decides who may connect). Fails with code EADDRINUSE when the path exists.
   */
  constructor(path: string, opts: { mode?: number; backlog?: number } = {}) {
    super();
    const n = b();
    this.path = path;
    this.#fd = n.unixListen(path, opts.mode ?? 0o600, opts.backlog ?? 64);
    this.#poll = n.pollStart(this.#fd, (_ev, errno) => {
      if (errno !== 0) {
        this.emit('error', Object.assign(new Error(`poll error on listening socket ${path}: errno ${errno}`), { errno }));
        return;
      }
      for (let i = 0; i < 64 && this.#poll; i++) {
        let fd: number | null;
        try {
          fd = n.unixAccept(this.#fd);
        } catch (err) {
          // EMFILE and friends: report; the pending connection stays queued.
          this.emit('error', err);
          return;
        }
        if (fd === null) return;
        this.emit('connection', new FdSocket(fd));
      }
    });
  }

  get fd(): number {
    return this.#fd;
  }

  /** Stops listening and closes the socket (does not unlink `path`). */
  close(): void {
    if (!this.#poll) return;
    const n = b();
    n.pollStop(this.#poll);
    this.#poll = null;
    n.closeFd(this.#fd);
  }
}

/** The part of `@isthmus/native` the agent and its transport use (loaded on first use). */
import { IsthmusError } from '../errors.js';

export interface MemRegion {
  readonly buffer: SharedArrayBuffer;
  readonly size: number;
  readonly fd: number;
  close(): void;
}
export interface Received {
  data: Buffer;
  fds: number[];
}
export interface AsyncSocket {
  readonly fd: number;
  readonly closed: boolean;
  send(data: Uint8Array, fds?: number[]): boolean;
  peerCred(): { pid: number; uid: number; gid: number };
  close(): void;
  unref(): unknown;
  on(ev: 'message', fn: (data: Buffer, fds: number[]) => void): unknown;
  on(ev: 'close', fn: (err?: Error) => void): unknown;
  on(ev: 'drain', fn: () => void): unknown;
}
export interface AsyncServer {
  readonly path: string;
  close(): void;
  on(ev: 'connection', fn: (s: AsyncSocket) => void): unknown;
  on(ev: 'error', fn: (err: Error) => void): unknown;
}
export interface AgentNative {
  createMemfd(name: string, size: number): MemRegion;
  openFd(fd: number): MemRegion;
  seals(region: MemRegion): { shrink: boolean; grow: boolean; seal: boolean; write: boolean };
  futexWait(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out';
  futexWaitAsync(buf: SharedArrayBuffer, byteOffset: number, expected: number, timeoutMs: number): Promise<'ok' | 'not-equal' | 'timed-out'>;
  futexWake(buf: SharedArrayBuffer, byteOffset: number, count?: number): number;
  closeFd(fd: number): void;
  connectSync(path: string): number;
  sendSync(fd: number, data: Uint8Array, fds?: number[], timeoutMs?: number): void;
  recvSync(fd: number, timeoutMs: number): Received | null;
  FdServer: new (path: string, opts?: { mode?: number; backlog?: number }) => AsyncServer;
  FdSocket: { connect(path: string): AsyncSocket };
  available(): boolean;
  loadError(): Error | null;
}

let loaded: AgentNative | undefined;

export async function loadAgentNative(): Promise<AgentNative> {
  if (loaded) return loaded;
  let mod: AgentNative;
  try {
    mod = (await import('@isthmus/native' as string)) as AgentNative;
  } catch (err) {
    throw new IsthmusError('TRANSPORT', `the node agent needs @isthmus/native, which failed to load: ${(err as Error).message}`, undefined, { cause: err });
  }
  if (!mod.available()) throw new IsthmusError('TRANSPORT', `@isthmus/native's addon is not available: ${mod.loadError()?.message}`);
  if (typeof mod.FdServer !== 'function') throw new IsthmusError('TRANSPORT', '@isthmus/native has no fd passing (FdServer): rebuild it (node scripts/build-native.mjs)');
  loaded = mod;
  return mod;
}

/**
 * Participant identity and liveness (docs/ring.md §5): a process is alive when
 * /proc/<pid>/stat exists and its field 22 (start time in clock ticks after boot) equals
 * the recorded start time, so a recycled pid does not look alive. Slow path only.
 */
import { readFileSync } from 'node:fs';

export interface Identity {
  pid: number;
  uid: number;
  startTime: bigint;
}

/** Field 22 of /proc/<pid>/stat (`'self'`: this process, `'thread-self'`: this thread), or null when it does not exist. */
export function procStartTime(pid: number | 'self' | 'thread-self'): bigint | null {
  const f = procStat(pid);
  return f === null ? null : f.startTime;
}

/** Fields 1 (the pid, or the thread id for a thread), 3 (the state letter) and 22 of /proc/<pid>/stat. */
function procStat(pid: number | 'self' | 'thread-self'): { id: number; state: string; startTime: bigint } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Field 2 (comm) is in parentheses and may hold spaces or ')': fields 3… follow the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const f22 = rest[22 - 3];
  return f22 === undefined ? null : { id: Number(text.slice(0, text.indexOf(' '))), state: rest[0]!, startTime: BigInt(f22) };
}

let self: Identity | undefined;

/**
 * This thread's identity (docs/ring.md §5). On the main thread: the process's pid and start
 * time. In a worker_thread: the thread's own id and start time (/proc/thread-self/stat);
 * Linux thread ids share the pid space and /proc/<tid>/stat exists exactly while the thread
 * runs, so a worker that ends without closing its channel ends is seen dead like a killed
 * process. Read once per thread (module state is per thread).
 */
export function selfIdentity(): Identity {
  if (self === undefined) {
    const st = procStat('thread-self') ?? procStat('self');
    if (st === null) throw new Error('cannot read /proc/self/stat: ring liveness needs Linux procfs');
    self = { pid: st.id, uid: process.getuid?.() ?? 0, startTime: st.startTime };
  }
  return { ...self };
}

/**
 * Judges participants that this process's /proc cannot see: ones in another pid namespace,
 * whose slots hold pids as the node agent sees them (docs/ring.md §5, docs/agent.md).
 * Returns true (alive) or false (dead) when it knows the identity, undefined otherwise
 * (then /proc decides). Installed by the agent transport; must be fast (slow path only).
 */
export type LivenessHook = (pid: number, startTime: bigint) => boolean | undefined;
const hooks = new Set<LivenessHook>();

/** Adds a liveness hook; returns its removal. */
export function addLivenessHook(hook: LivenessHook): () => void {
  hooks.add(hook);
  return () => void hooks.delete(hook);
}

export function isAlive(pid: number, startTime: bigint): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  for (const h of hooks) {
    const r = h(pid, startTime);
    if (r !== undefined) return r;
  }
  // A zombie (Z) or a dying task (X) keeps its /proc entry and start time until it is
  // reaped, but runs no more code: dead (docs/ring.md §5).
  const st = procStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

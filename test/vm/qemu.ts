/**
 * Launches and stops a QEMU guest that shares one arena file with the host through
 * ivshmem-plain (docs/vm.md):
 *
 *   qemu-system-x86_64 -accel tcg -cpu max -smp 1,maxcpus=2 -m 256 -nographic -vga none
 *     -nic none -no-reboot -kernel /boot/vmlinuz-*-cloud-amd64 -initrd <initramfs>
 *     -append 'console=ttyS0 quiet panic=-1'
 *     -object memory-backend-file,share=on,mem-path=<arena file>,size=<n>,id=hm
 *     -device ivshmem-plain,memdev=hm
 *
 * `maxcpus=2` matters: with a single possible vCPU, TCG translates the guest's locked
 * instructions without host atomics (no CF_PARALLEL), so a guest cas or fetch_add can
 * lose against a concurrent host one. With maxcpus > 1 it uses host atomics even though
 * only one vCPU runs. test/vm.test.ts checks this (the `vm.atomics` region).
 *
 * After spawning, the launcher writes QEMU's identity (pid, uid, /proc start time) into
 * the arena's guest identity line (docs/ring.md §9.3): the guest registers its ring slots
 * under it, so the host sees the guest's participants alive exactly while QEMU runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ArenaTransport } from '@isthmus/sdk';
import { BUSYBOX } from './initramfs.ts';

export const QEMU = 'qemu-system-x86_64';

/** Field 22 of /proc/<pid>/stat (docs/ring.md §5), or null when the process is gone. */
export function procStartTime(pid: number): bigint | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f22 = text.slice(text.lastIndexOf(')') + 2).split(' ')[22 - 3];
    return f22 === undefined ? null : BigInt(f22);
  } catch {
    return null;
  }
}

/** The newest /boot/vmlinuz-*-cloud-amd64 (or $ISTHMUS_VM_KERNEL), or null. */
export function findKernel(): string | null {
  const env = process.env.ISTHMUS_VM_KERNEL;
  if (env) return existsSync(env) ? env : null;
  let files: string[] = [];
  try {
    files = readdirSync('/boot').filter((f) => /^vmlinuz-.*-cloud-amd64$/.test(f));
  } catch {
    return null;
  }
  files.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return files.length ? `/boot/${files[files.length - 1]}` : null;
}

/** What the VM tests need and this machine lacks, with the Debian package that provides it. */
export function missingDependencies(): string[] {
  const missing: string[] = [];
  if (spawnSync(QEMU, ['--version']).error) missing.push(`${QEMU} (Debian package qemu-system-x86)`);
  if (!findKernel()) missing.push('/boot/vmlinuz-*-cloud-amd64 (Debian package linux-image-cloud-amd64)');
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (Debian package busybox-static)`);
  if (spawnSync('gcc', ['--version']).error) missing.push('gcc (with static glibc: libc6-dev)');
  return missing;
}

export interface GuestOptions {
  /** The arena the guest maps (its file becomes the ivshmem memory backend). */
  transport: ArenaTransport;
  initrd: string;
  kernel?: string;
  /** Guest RAM in MiB (default 256). */
  memMiB?: number;
  /** Extra kernel command line. */
  append?: string;
}

export class Guest {
  readonly proc: ChildProcess;
  /** Everything the guest wrote to its serial console so far. */
  output = '';
  /** Resolves with QEMU's exit code (or the signal name) once it exited. */
  readonly exited: Promise<number | string>;
  private listeners: (() => void)[] = [];

  constructor(proc: ChildProcess) {
    this.proc = proc;
    const onData = (d: Buffer) => {
      this.output += d.toString('utf8');
      for (const l of this.listeners) l();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    // 'close': after the exit and after stdout/stderr ended, so the output is complete.
    this.exited = new Promise((resolve) => proc.on('close', (code, sig) => {
      for (const l of this.listeners) l();
      resolve(code ?? sig ?? 'unknown');
    }));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the match once the console output matches `re`; rejects on timeout or exit. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.output.match(re);
        if (m) return done(() => resolve(m));
        if (!this.running) return done(() => reject(new Error(`the guest exited (${this.proc.exitCode ?? this.proc.signalCode}) before printing ${re}; console:\n${this.output}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${re} on the guest console within ${timeoutMs} ms; console:\n${this.output}`))), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        f();
      };
      this.listeners.push(check);
      check();
    });
  }

  /** Waits up to `graceMs` for QEMU to exit by itself, then SIGTERM, then SIGKILL. */
  async stop(graceMs = 5000): Promise<number | string> {
    const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
    if (!this.running) return this.exited;
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return this.exited;
    this.proc.kill('SIGTERM');
    if ((await Promise.race([this.exited, timeout(2000)])) !== 'timeout') return this.exited;
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

/** The QEMU command line for a guest of `transport`'s arena. */
export function qemuArgs(o: GuestOptions): string[] {
  const kernel = o.kernel ?? findKernel();
  if (!kernel) throw new Error('no kernel: install linux-image-cloud-amd64 or set ISTHMUS_VM_KERNEL');
  const size = o.transport.directory.size;
  return [
    '-accel', 'tcg', '-cpu', 'max', '-smp', process.env.ISTHMUS_VM_SMP ?? '1,maxcpus=2', '-m', String(o.memMiB ?? 256),
    '-nographic', '-vga', 'none', '-nic', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', o.initrd,
    '-append', `console=ttyS0 quiet panic=-1${o.append ? ' ' + o.append : ''}`,
    '-object', `memory-backend-file,share=on,mem-path=${o.transport.path},size=${size},id=hm`,
    '-device', 'ivshmem-plain,memdev=hm',
  ];
}

/** Boots the guest and records QEMU's identity in the arena (see the top of this file). */
export function bootGuest(o: GuestOptions): Guest {
  const proc = spawn(QEMU, qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
  const guest = new Guest(proc);
  if (proc.pid === undefined) throw new Error(`${QEMU} did not start`);
  const startTime = procStartTime(proc.pid);
  if (startTime === null) throw new Error(`${QEMU} (pid ${proc.pid}) exited at once; console:\n${guest.output}`);
  o.transport.setGuestIdentity({ pid: proc.pid, uid: process.getuid?.() ?? 0, startTime });
  return guest;
}

/**
 * Dead letters: a message that fails verify() on receive is published, with the reason,
 * on the channel's dead-letter ring `<channel>~dead` (an MPSC ring of
 * `isthmus.DeadLetter`, schemas/deadletter.isthmus), and the stream moves on.
 *
 * Writing a dead letter never blocks and never throws: when the dead-letter ring is full
 * (nobody reads it) the letter is counted as invalid but not as a dead letter.
 * Read them with `node.deadLetters(channel)` (one reader per channel: the MPSC consumer).
 */
import { utf8Length } from '@isthmus/runtime';
import { Channel, Inbox, acquireRing, waitArgs, type DeadLetterSink, type Joined, type NodeContext, type WaitOptions } from './channel.js';
import { DeadLetter } from './gen/deadletter.js';
import type { Reader, RingParams, Writer } from './ring/index.js';
import { regionNames } from './transport.js';

export { DeadLetter };

export const DEAD_LETTER_PARAMS: RingParams = {
  kind: 'mpsc',
  capacity: 256 * 1024,
  slots: 64,
  maxMessage: 16 * 1024,
  typeId: DeadLetter.TYPE_ID,
};

export class DeadLetterWriter implements DeadLetterSink {
  private readonly rings = new Map<string, Joined<Writer> | null>();
  private readonly msg = new DeadLetter();
  constructor(private readonly ctx: () => NodeContext) {}

  private ring(channel: string): Joined<Writer> | null {
    let j = this.rings.get(channel);
    if (j === undefined) {
      try {
        j = acquireRing<Writer>(this.ctx(), regionNames.dead(channel), DEAD_LETTER_PARAMS, 'producer');
      } catch {
        j = null; // no dead-letter ring (transport out of space, …): letters are only counted
      }
      this.rings.set(channel, j);
    }
    return j;
  }

  write(channel: string, typeId: bigint, code: string, path: string, offset: number, reason: string, payload: Uint8Array, senderSlot: number): boolean {
    try {
      const j = this.ring(channel);
      if (!j) return false;
      const max = j.ring.maxMessage;
      const off = j.end.loan(max);
      if (off < 0) return false;
      reason = reason.length > 1024 ? reason.slice(0, 1024) : reason;
      const strings = utf8Length(channel) + utf8Length(code) + utf8Length(path) + utf8Length(reason);
      const room = Math.max(0, max - 16 - DeadLetter.FIXED_SIZE - strings - 5 * 8);
      const m = this.msg.build(j.ring.buffer, off, max);
      m.set_channel(channel);
      m.set_code(code);
      m.set_path(path);
      m.offset = offset >>> 0;
      m.set_reason(reason);
      m.expected_type_id = typeId;
      m.sender_slot = senderSlot >>> 0;
      m.receiver_pid = process.pid;
      m.ts_ns = BigInt(Date.now()) * 1_000_000n;
      m.set_payload(payload.length > room ? payload.subarray(0, room) : payload);
      m.payload_len = payload.length;
      j.end.commit(m.finish());
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    for (const j of this.rings.values()) {
      if (!j) continue;
      try {
        j.end.close();
        j.region.close();
      } catch {
        /* closing is best effort */
      }
    }
    this.rings.clear();
  }
}

/** Reads a channel's dead letters: `for await (const d of reader) console.log(d.reason)`. */
export class DeadLetterReader extends Channel implements AsyncIterable<DeadLetter> {
  readonly role = 'dead-letter reader';
  private readonly inbox: Inbox<DeadLetter>;
  constructor(
    private readonly ctx: NodeContext,
    channel: string,
    private readonly j: Joined<Reader>,
  ) {
    super(channel);
    this.inbox = new Inbox(ctx, this, this._stats, j.end, j.ring, DeadLetter, { onInvalid: 'drop', verify: true });
  }
  tryReceive(): DeadLetter | null {
    this.checkOpen();
    return this.inbox.tryReceive();
  }
  /** Waits up to `timeoutMs` (default: forever) for the next dead letter; `{ timeoutMs, signal }` also works. */
  receive(arg?: number | WaitOptions): Promise<DeadLetter | null> {
    const { timeoutMs, signal } = waitArgs(arg, Infinity);
    return this.inbox.receive(timeoutMs, () => this._closed, this.ctx.transport.notifier, signal);
  }
  release(): void {
    this.inbox.release();
  }
  /**
   * The dead letters as an async iterable that `signal` ends: an abort rejects the pending
   * step with the signal's reason (the `for await` throws it). Ends on close().
   */
  async *messages(opts: { signal?: AbortSignal } = {}): AsyncGenerator<DeadLetter, void, undefined> {
    for (;;) {
      const m = await this.receive({ signal: opts.signal });
      if (!m) return;
      yield m;
    }
  }
  [Symbol.asyncIterator](): AsyncIterator<DeadLetter> {
    return this.messages();
  }
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.inbox.release();
    this.j.end.close();
    this.j.region.close();
    this.ctx.untrack(this);
  }
}

export async function openDeadLetterReader(ctx: NodeContext, channel: string): Promise<DeadLetterReader> {
  const j = acquireRing<Reader>(ctx, regionNames.dead(channel), DEAD_LETTER_PARAMS, 'consumer');
  const r = new DeadLetterReader(ctx, channel, j);
  ctx.track(r);
  return r;
}

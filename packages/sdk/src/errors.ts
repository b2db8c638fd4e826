/**
 * The errors the SDK throws. Every one extends IsthmusError and carries a stable `code`
 * (switch on `err.code`, or use `instanceof`).
 *
 * Request/response failures are told apart by class:
 *   TimeoutError    no answer within the caller's timeout (the server is alive but slow)
 *   PeerDeadError   the peer process is gone (liveness, docs/ring.md §5)
 *   RejectedError   the server refused the request (invalid message, or its handler threw)
 *   OverloadedError the ring was full: the message was not sent
 */
import type { VerifyError } from '@isthmus/runtime';

export type IsthmusErrorCode =
  | 'TIMEOUT'
  | 'PEER_DEAD'
  | 'REJECTED'
  | 'OVERLOADED'
  | 'NOT_FOUND'
  | 'CLOSED'
  | 'INVALID_MESSAGE'
  | 'ROLE_TAKEN'
  | 'TRANSPORT'
  | 'CORRUPT'
  | 'BAD_ARGUMENT'
  | 'CONFIG';

export class IsthmusError extends Error {
  readonly code: IsthmusErrorCode;
  /** The channel (service, queue) the failure concerns, when there is one. */
  readonly channel: string | undefined;
  constructor(code: IsthmusErrorCode, message: string, channel?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsthmusError';
    this.code = code;
    this.channel = channel;
  }
}

/** No answer arrived within `timeoutMs`; the peer was alive when the time ran out. */
export class TimeoutError extends IsthmusError {
  readonly timeoutMs: number;
  constructor(channel: string, timeoutMs: number, what = 'no response') {
    super('TIMEOUT', `${channel}: ${what} within ${timeoutMs} ms`, channel);
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The peer process (server, consumer, worker) is gone: its pid and start time no longer match a live process. */
export class PeerDeadError extends IsthmusError {
  /** The dead peer's pid, when known. */
  readonly pid: number;
  constructor(channel: string, pid: number, what = 'peer') {
    super('PEER_DEAD', `${channel}: the ${what}${pid ? ` (pid ${pid})` : ''} is no longer running`, channel);
    this.name = 'PeerDeadError';
    this.pid = pid;
  }
}

/** The server refused the request and said why (`reason`, UTF-8 text sent in an error response). */
export class RejectedError extends IsthmusError {
  readonly reason: string;
  constructor(channel: string, reason: string) {
    super('REJECTED', `${channel}: request rejected: ${reason}`, channel);
    this.name = 'RejectedError';
    this.reason = reason;
  }
}

/** The ring was full, so the message was not sent. Back off, or use the waiting variant. */
export class OverloadedError extends IsthmusError {
  constructor(channel: string, what = 'ring is full') {
    super('OVERLOADED', `${channel}: ${what}`, channel);
    this.name = 'OverloadedError';
  }
}

/** Nothing of that name exists (after waiting `waitMs` for it to appear). */
export class NotFoundError extends IsthmusError {
  constructor(channel: string, waitedMs: number, where: string) {
    super('NOT_FOUND', `${channel}: no such channel in ${where}${waitedMs > 0 ? ` (waited ${waitedMs} ms)` : ''}`, channel);
    this.name = 'NotFoundError';
  }
}

/** The channel or node was closed. */
export class ClosedError extends IsthmusError {
  constructor(channel: string) {
    super('CLOSED', `${channel}: closed`, channel);
    this.name = 'ClosedError';
  }
}

/** A received message failed verify() and the channel's policy is `onInvalid: 'throw'`. */
export class InvalidMessageError extends IsthmusError {
  readonly verifyError: VerifyError | null;
  constructor(channel: string, reason: string, verifyError: VerifyError | null) {
    super('INVALID_MESSAGE', `${channel}: invalid message: ${reason}`, channel, { cause: verifyError ?? undefined });
    this.name = 'InvalidMessageError';
    this.verifyError = verifyError;
  }
}

/**
 * A transport URL or configuration file is wrong (docs/config.md). The message starts with
 * `source` (where the value came from: `ISTHMUS_TRANSPORT`, `ISTHMUS_CONFIG`, or
 * `<file>:<line>:<column>`), names the bad value and lists what is accepted.
 */
export class ConfigError extends IsthmusError {
  /** Where the bad value came from, as the message starts: `ISTHMUS_TRANSPORT`, `/etc/app/isthmus.json:4:17`, … */
  readonly source: string;
  /** The offending value (a URL, a key), when there is one. */
  readonly value: string | undefined;
  /** The configuration file, and the 1-based line and column in it, when the value came from one. */
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(source: string, message: string, details: { value?: string; file?: string; line?: number; column?: number; cause?: unknown } = {}) {
    super('CONFIG', `${source}: ${message}`, undefined, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'ConfigError';
    this.source = source;
    this.value = details.value;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
  }
}

/** Errors raised by views, builders and the verifier. */

/** The verify() failure codes of docs/layout.md §8. */
export type VerifyCode =
  | 'TRUNCATED'
  | 'BAD_TYPE_ID'
  | 'BAD_HEADER'
  | 'BAD_BOOL'
  | 'BAD_ENUM'
  | 'BAD_REF'
  | 'OUT_OF_BOUNDS'
  | 'BAD_UTF8'
  | 'BAD_UNION';

/**
 * Why a message failed verification. `path` names the field (`BookUpdate.bids[3].price`),
 * `offset` is the byte offset of that field from message start, and `value` is the
 * offending number (a reference offset, an enum value, a tag, a length).
 */
export class VerifyError extends Error {
  constructor(
    readonly code: VerifyCode,
    readonly path: string,
    readonly offset: number,
    readonly value: number | bigint,
    detail: string,
  ) {
    super(`${code} at ${path} (offset ${offset}): ${detail}`);
    this.name = 'VerifyError';
  }
}

/** An accessor met a reference that points outside the view's range (unverified data). */
export class BoundsError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'BoundsError';
  }
}

/** A builder ran out of the capacity the caller gave it. Nothing past the capacity was written. */
export class CapacityError extends RangeError {
  constructor(
    readonly needed: number,
    readonly capacity: number,
  ) {
    super(`message needs at least ${needed} bytes but the builder's capacity is ${capacity}`);
    this.name = 'CapacityError';
  }
}

/** A value given to an encoder or setter does not fit its field. */
export class EncodeError extends TypeError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'EncodeError';
  }
}

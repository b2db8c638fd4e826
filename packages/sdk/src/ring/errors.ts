export type RingErrorCode =
  | 'BAD_HEADER'
  | 'TYPE_MISMATCH'
  | 'CORRUPT'
  | 'ROLE_TAKEN'
  | 'NO_SLOT'
  | 'TOO_LARGE'
  | 'ABORTED'
  | 'CLOSED';

/** A ring failure; `field` names the header field for BAD_HEADER / TYPE_MISMATCH. */
export class RingError extends Error {
  readonly code: RingErrorCode;
  readonly field?: string;
  constructor(code: RingErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'RingError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

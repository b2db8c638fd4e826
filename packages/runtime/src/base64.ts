/** RFC 4648 base64 with padding, for the JSON form of `bytes` (docs/layout.md §10). */

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Decodes strict base64; throws on any other character or bad padding. */
export function fromBase64(s: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) throw new TypeError(`not canonical base64: ${JSON.stringify(s.slice(0, 40))}`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

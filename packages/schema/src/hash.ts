/** FNV-1a 64-bit over UTF-8 (docs/layout.md §7). */
const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = (1n << 64n) - 1n;

export function fnv1a64(text: string): bigint {
  let h = OFFSET;
  for (const b of new TextEncoder().encode(text)) h = ((h ^ BigInt(b)) * PRIME) & MASK;
  return h;
}

/** `0x` + 16 lowercase hex digits. */
export function hex64(v: bigint): string {
  return '0x' + v.toString(16).padStart(16, '0');
}

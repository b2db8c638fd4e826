/**
 * Hostile messages: verify() returns a typed error naming the field and the offending
 * offset or value, and views over unverified bytes never read outside their range.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFile, typeTable } from '@isthmus/schema';
import { describe, expect, it } from 'vitest';
import { BoundsError, verify, VerifyError, type StructLayout } from '@isthmus/runtime';
import { BookUpdate } from '../../../schemas/generated/ts/market.ts';

const ROOT = join(import.meta.dirname, '../../..');
const market = typeTable(compileFile(join(ROOT, 'schemas/market.isthmus')));
const kitchen = typeTable(compileFile(join(ROOT, 'schemas/kitchen.isthmus')));
const golden = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'schemas/testdata', name)));
const book = market.get('market.BookUpdate') as StructLayout;
const everything = kitchen.get('kitchen.Everything') as StructLayout;
const fieldAt = (s: StructLayout, name: string) => 16 + s.fields.find((f) => f.name === name)!.offset;

function corrupt(name: string, edit: (dv: DataView, b: Uint8Array) => void): Uint8Array {
  const b = golden(name);
  edit(new DataView(b.buffer, b.byteOffset, b.byteLength), b);
  return b;
}

const check = (table: typeof market, type: string, b: Uint8Array, length = b.length) => {
  const e = verify(table, type, b, 0, length);
  expect(e).toBeInstanceOf(VerifyError);
  return e!;
};

describe('verify() on hostile messages', () => {
  it('accepts every golden vector', () => {
    expect(verify(market, 'market.BookUpdate', golden('market/book_full.bin'))).toBeNull();
    expect(verify(kitchen, 'kitchen.Everything', golden('kitchen/everything_full.bin'))).toBeNull();
  });

  it('TRUNCATED: shorter than the header or than total_size', () => {
    const b = golden('market/book_full.bin');
    expect(check(market, 'market.BookUpdate', b, 15)).toMatchObject({ code: 'TRUNCATED', offset: 0, value: 15 });
    expect(check(market, 'market.BookUpdate', b, b.length - 8)).toMatchObject({ code: 'TRUNCATED', path: 'BookUpdate', offset: 8, value: b.length });
  });

  it('BAD_TYPE_ID: another type', () => {
    const e = check(market, 'market.BookUpdate', corrupt('market/book_full.bin', (dv) => dv.setUint8(0, dv.getUint8(0) ^ 1)));
    expect(e.code).toBe('BAD_TYPE_ID');
    expect(e.message).toContain('is not market.BookUpdate (0xb2b95fde7bf016eb)');
  });

  it('BAD_HEADER: sizes, version and flags', () => {
    const bad = (edit: (dv: DataView) => void) => check(market, 'market.BookUpdate', corrupt('market/book_full.bin', edit));
    expect(bad((dv) => dv.setUint8(15, 1))).toMatchObject({ code: 'BAD_HEADER', offset: 15, value: 1 });
    expect(bad((dv) => dv.setUint8(14, 0))).toMatchObject({ code: 'BAD_HEADER', offset: 14 });
    expect(bad((dv) => dv.setUint16(12, 60, true))).toMatchObject({ code: 'BAD_HEADER', offset: 12, value: 60 });
    expect(bad((dv) => dv.setUint16(12, 48, true))).toMatchObject({ code: 'BAD_HEADER', value: 48 });
    expect(bad((dv) => dv.setUint32(8, dv.getUint32(8, true) - 4, true))).toMatchObject({ code: 'BAD_HEADER', offset: 8 });
  });

  it('BAD_ENUM and BAD_BOOL name the field', () => {
    expect(check(market, 'market.BookUpdate', corrupt('market/book_full.bin', (dv) => dv.setUint8(fieldAt(book, 'side'), 9)))).toMatchObject({ code: 'BAD_ENUM', path: 'BookUpdate.side', offset: 36, value: 9 });
    expect(check(kitchen, 'kitchen.Everything', corrupt('kitchen/everything_full.bin', (dv) => dv.setUint8(fieldAt(everything, 'b'), 2)))).toMatchObject({ code: 'BAD_BOOL', path: 'Everything.b', value: 2 });
  });

  it('BAD_REF and OUT_OF_BOUNDS for references', () => {
    const at = fieldAt(book, 'symbol');
    const bad = (edit: (dv: DataView) => void) => check(market, 'market.BookUpdate', corrupt('market/book_full.bin', edit));
    expect(bad((dv) => dv.setUint32(at, dv.getUint32(at, true) + 1, true))).toMatchObject({ code: 'BAD_REF', path: 'BookUpdate.symbol', offset: at });
    expect(bad((dv) => dv.setUint32(at, 0xfffffff8, true))).toMatchObject({ code: 'OUT_OF_BOUNDS', path: 'BookUpdate.symbol', value: 0xfffffff8 });
    expect(bad((dv) => dv.setUint32(at, 16, true))).toMatchObject({ code: 'OUT_OF_BOUNDS', value: 16 });
    const bids = fieldAt(book, 'bids');
    expect(bad((dv) => dv.setUint32(bids + 4, 0x7fffffff, true))).toMatchObject({ code: 'OUT_OF_BOUNDS', path: 'BookUpdate.bids' });
    const venue = fieldAt(book, 'venue');
    expect(bad((dv) => dv.setUint32(venue + 4, 0, true))).toMatchObject({ code: 'BAD_REF', path: 'BookUpdate.venue' });
  });

  it('BAD_UTF8 in nested strings, with the path through vectors', () => {
    const b = golden('kitchen/everything_full.bin');
    const dv = new DataView(b.buffer, b.byteOffset);
    const people = fieldAt(everything, 'people');
    const block = dv.getUint32(people, true);
    const named = kitchen.get('kitchen.Named') as StructLayout;
    const nameRef = block + 48 + named.fields.find((f) => f.name === 'name')!.offset;
    b[dv.getUint32(nameRef, true)] = 0xc0;
    expect(check(kitchen, 'kitchen.Everything', b)).toMatchObject({ code: 'BAD_UTF8', path: 'Everything.people[1].name' });
  });

  it('BAD_UNION for unknown tags', () => {
    const at = fieldAt(everything, 'payload');
    expect(check(kitchen, 'kitchen.Everything', corrupt('kitchen/everything_full.bin', (dv) => dv.setUint32(at, 6, true)))).toMatchObject({ code: 'BAD_UNION', path: 'Everything.payload', value: 6 });
  });
});

describe('views over unverified bytes', () => {
  it('check references against the view, not the message', () => {
    const b = corrupt('market/book_full.bin', (dv) => dv.setUint32(fieldAt(book, 'symbol') + 4, 1 << 20, true));
    const exact = new Uint8Array(new ArrayBuffer(b.length));
    exact.set(b);
    const v = BookUpdate.view(exact);
    expect(v.seq).toBe(9007199254740993n);
    expect(() => v.symbol).toThrow(BoundsError);
  });

  it('refuse a range that can not hold the fixed part the header claims', () => {
    const b = golden('market/book_full.bin');
    expect(() => BookUpdate.view(b, 0, 40)).toThrow(/needs 88 bytes for its fixed part, but the view has 40/);
    expect(() => BookUpdate.view(b, 0, 8)).toThrow(BoundsError);
  });
});

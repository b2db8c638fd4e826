/**
 * The layout pass: IR → layout descriptor (docs/layout.md §3–§7). Computes inline sizes,
 * field offsets, presence bytes, per-version fixed sizes and type ids, and rejects
 * recursive types and oversized messages.
 */
import {
  DESCRIPTOR_FORMAT, REF_ALIGN, REF_SIZE, SCALAR_SIZE,
  type EnumLayout, type FieldLayout, type SchemaLayout, type StructLayout, type TypeLayout, type TypeRef, type UnionLayout,
} from '@isthmus/runtime';
import type { Reporter } from './diagnostics.js';
import { fnv1a64, hex64 } from './hash.js';
import type { IrRecord, IrSchema, IrType, IrTypeRef } from './ir.js';

const MAX_FIXED = 65528;

export class LayoutContext {
  private readonly ir = new Map<string, IrType>();
  private readonly done = new Map<string, TypeLayout>();
  private readonly active = new Set<string>();
  constructor(private readonly report: Reporter) {}

  add(schema: IrSchema): void {
    for (const t of schema.types) this.ir.set(t.fullName, t);
  }

  /** Layout of one schema file; its imports must have been added. */
  schema(s: IrSchema): SchemaLayout {
    this.add(s);
    const order: TypeLayout[] = [];
    const emitted = new Set<string>();
    const own = new Set(s.types.map((t) => t.fullName));
    const visit = (t: IrType): void => {
      if (emitted.has(t.fullName)) return;
      emitted.add(t.fullName);
      for (const dep of deps(t)) {
        const d = this.ir.get(dep);
        if (d && own.has(dep)) visit(d);
      }
      const l = this.type(t.fullName);
      if (l) order.push(l);
    };
    for (const t of s.types) visit(t);
    return {
      format: DESCRIPTOR_FORMAT,
      file: s.file,
      namespace: s.namespace,
      imports: s.imports.map((i, k) => ({ file: s.importFiles[k]!, namespace: i.namespace })),
      types: order,
    };
  }

  type(fullName: string): TypeLayout | undefined {
    const hit = this.done.get(fullName);
    if (hit) return hit;
    const t = this.ir.get(fullName);
    if (!t) return undefined;
    if (this.active.has(fullName)) {
      this.report.error(t.span, `'${t.name}' contains itself (through ${[...this.active].join(' → ')}); recursive types are not supported`);
      return undefined;
    }
    this.active.add(fullName);
    let out: TypeLayout | undefined;
    try {
      if (t.kind === 'enum') out = { kind: 'enum', name: t.name, fullName, base: t.base, values: t.values, ...(t.doc ? { doc: t.doc } : {}) } satisfies EnumLayout;
      else if (t.kind === 'union') out = this.union(t);
      else out = this.record(t);
    } finally {
      this.active.delete(fullName);
    }
    if (out) this.done.set(fullName, out);
    return out;
  }

  private union(t: Extract<IrType, { kind: 'union' }>): UnionLayout | undefined {
    const cases: UnionLayout['cases'][number][] = [];
    let tag = 1;
    for (const c of t.cases) {
      const r = this.ref(c.type);
      if (!r) return undefined;
      cases.push({ name: c.name, tag: tag++, type: r.ref, size: r.size, align: r.align, ...(c.doc ? { doc: c.doc } : {}) });
    }
    return { kind: 'union', name: t.name, fullName: t.fullName, cases, ...(t.doc ? { doc: t.doc } : {}) };
  }

  private record(t: IrRecord): StructLayout | undefined {
    const fields: FieldLayout[] = [];
    const presenceBytes: number[] = [];
    let cursor = 0;
    let align = t.kind === 'message' ? 8 : 1;
    let freeBits = 0;
    const versionEnds: number[] = [];
    for (const f of t.fields) {
      const r = this.ref(f.type);
      if (!r) return undefined;
      let presence: FieldLayout['presence'];
      if (f.optional) {
        if (freeBits === 0) {
          presenceBytes.push(cursor);
          cursor += 1;
          freeBits = 8;
        }
        presence = { offset: presenceBytes[presenceBytes.length - 1]!, bit: 8 - freeBits };
        freeBits--;
      }
      const offset = alignUp(cursor, r.align);
      cursor = offset + r.size;
      align = Math.max(align, r.align);
      versionEnds[f.since] = cursor;
      fields.push({
        name: f.name, offset, size: r.size, align: r.align, type: r.ref, since: f.since, deprecated: f.deprecated,
        ...(presence ? { presence } : {}), ...(f.doc ? { doc: f.doc } : {}),
      });
    }
    const size = alignUp(cursor, align);
    if (t.kind === 'struct') return { kind: 'struct', name: t.name, fullName: t.fullName, size, align, fields, presenceBytes, ...(t.doc ? { doc: t.doc } : {}) };

    if (size > MAX_FIXED) {
      this.report.error(t.span, `message '${t.name}' has a fixed part of ${size} bytes; the header's u16 fixed_size allows at most ${MAX_FIXED}. Move large arrays into vectors.`);
      return undefined;
    }
    const version = t.fields.reduce((v, f) => Math.max(v, f.since), 1);
    const versionSizes: number[] = [];
    let end = 0;
    for (let v = 1; v <= version; v++) {
      end = Math.max(end, versionEnds[v] ?? 0);
      versionSizes.push(alignUp(end, 8));
    }
    let canonical: string | undefined;
    let id = t.id;
    if (id === undefined) {
      canonical = `message ${t.fullName}{${t.fields.filter((f) => f.since === 1).map((f) => this.canon(f.type) + (f.optional ? '?' : '')).join(';')}}`;
      id = fnv1a64(canonical);
    }
    return {
      kind: 'message', name: t.name, fullName: t.fullName, size, align: 8, fields, presenceBytes,
      ...(t.doc ? { doc: t.doc } : {}),
      typeId: hex64(id), version, versionSizes, ...(canonical ? { canonical } : {}),
    };
  }

  /** Canonical shape text of a type (docs/layout.md §7). */
  private canon(r: IrTypeRef): string {
    switch (r.kind) {
      case 'scalar':
        return r.scalar;
      case 'string':
      case 'bytes':
        return r.kind;
      case 'array':
        return `[${this.canon(r.element)};${r.length}]`;
      case 'vector':
        return `vector<${this.canon(r.element)}>`;
      case 'union':
        return 'union';
      case 'enum':
        return `enum:${(this.ir.get(r.name) as Extract<IrType, { kind: 'enum' }>).base}`;
      case 'struct': {
        const s = this.ir.get(r.name) as IrRecord;
        return `struct{${s.fields.map((f) => this.canon(f.type) + (f.optional ? '?' : '')).join(';')}}`;
      }
    }
  }

  private ref(r: IrTypeRef): { ref: TypeRef; size: number; align: number } | undefined {
    switch (r.kind) {
      case 'scalar':
        return { ref: { kind: 'scalar', scalar: r.scalar }, size: SCALAR_SIZE[r.scalar], align: SCALAR_SIZE[r.scalar] };
      case 'string':
      case 'bytes':
        return { ref: { kind: r.kind }, size: REF_SIZE, align: REF_ALIGN };
      case 'enum': {
        const e = this.type(r.name) as EnumLayout | undefined;
        if (!e) return undefined;
        return { ref: { kind: 'enum', name: r.name }, size: SCALAR_SIZE[e.base], align: SCALAR_SIZE[e.base] };
      }
      case 'union':
        if (!this.type(r.name)) return undefined;
        return { ref: { kind: 'union', name: r.name }, size: REF_SIZE, align: REF_ALIGN };
      case 'struct': {
        const s = this.type(r.name) as StructLayout | undefined;
        if (!s) return undefined;
        return { ref: { kind: 'struct', name: r.name }, size: s.size, align: s.align };
      }
      case 'array': {
        const e = this.ref(r.element);
        if (!e) return undefined;
        const stride = alignUp(e.size, e.align);
        return { ref: { kind: 'array', element: e.ref, length: r.length, stride }, size: stride * r.length, align: e.align };
      }
      case 'vector': {
        const e = this.ref(r.element);
        if (!e) return undefined;
        return { ref: { kind: 'vector', element: e.ref, stride: alignUp(e.size, e.align) }, size: REF_SIZE, align: REF_ALIGN };
      }
    }
  }
}

function deps(t: IrType): string[] {
  const out: string[] = [];
  const walk = (r: IrTypeRef): void => {
    if (r.kind === 'enum' || r.kind === 'struct' || r.kind === 'union') out.push(r.name);
    else if (r.kind === 'array' || r.kind === 'vector') walk(r.element);
  };
  if (t.kind === 'union') t.cases.forEach((c) => walk(c.type));
  else if (t.kind !== 'enum') t.fields.forEach((f) => walk(f.type));
  return out;
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

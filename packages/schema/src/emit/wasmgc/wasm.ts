/**
 * A small WebAssembly (with GC) module model that prints as WAT text and encodes as a
 * binary module, so `--emit wasm-gc` needs no assembler at compile time and the `.wat`
 * and `.wasm` outputs come from one source. It covers exactly the instructions the
 * WasmGC emitter uses; `OPS` lists them.
 *
 * Code is written in folded form: an instruction's operands are its `args`, evaluated in
 * order before it. Names (`$x`) are resolved to indices when encoding: locals (params
 * first), globals, functions, types, struct fields (by the struct type named in the same
 * instruction) and labels (innermost first).
 */

export type NumType = 'i32' | 'i64' | 'f32' | 'f64';
/** A reference to a defined type by name, or the bottom heap type `none`. */
export interface RefType {
  readonly ref: string;
  readonly nullable: boolean;
}
export type ValType = NumType | RefType;
export type StorageType = ValType | 'i8' | 'i16';

export interface FieldDef {
  readonly name: string;
  readonly type: StorageType;
}
export type TypeDef =
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly FieldDef[]; readonly comment?: string }
  | { readonly kind: 'array'; readonly name: string; readonly element: StorageType; readonly comment?: string };

export type Imm = number | bigint | string;

export type Instr =
  | { readonly op: string; readonly imm: readonly Imm[]; readonly args: readonly Instr[] }
  | { readonly op: 'block' | 'loop'; readonly label?: string; readonly result?: ValType; readonly body: readonly Instr[] }
  | { readonly op: 'if'; readonly result?: ValType; readonly cond: Instr; readonly then: readonly Instr[]; readonly else?: readonly Instr[] };

export interface Func {
  readonly name: string;
  readonly params: readonly (readonly [string, ValType])[];
  readonly results: readonly ValType[];
  readonly locals: readonly (readonly [string, ValType])[];
  readonly body: readonly Instr[];
  readonly export?: string;
  readonly comment?: string;
}

export interface Global {
  readonly name: string;
  readonly type: NumType;
  readonly comment?: string;
}

export interface Module {
  readonly comment: string;
  /** One rec group holding every struct and array type. */
  readonly types: readonly TypeDef[];
  readonly memoryImport: { readonly module: string; readonly name: string };
  /** Mutable numeric globals, initialised to zero. */
  readonly globals: readonly Global[];
  readonly funcs: readonly Func[];
}

// --- instruction helpers --------------------------------------------------------------------

export const op = (name: string, imm: readonly Imm[], ...args: Instr[]): Instr => ({ op: name, imm, args });
export const i32 = (v: number): Instr => op('i32.const', [v | 0]);
export const i64 = (v: bigint): Instr => op('i64.const', [BigInt.asIntN(64, v)]);
export const get = (local: string): Instr => op('local.get', [local]);
export const set = (local: string, v: Instr): Instr => op('local.set', [local], v);
export const tee = (local: string, v: Instr): Instr => op('local.tee', [local], v);
export const gget = (g: string): Instr => op('global.get', [g]);
export const gset = (g: string, v: Instr): Instr => op('global.set', [g], v);
export const call = (f: string, ...args: Instr[]): Instr => op('call', [f], ...args);
export const block = (label: string | undefined, result: ValType | undefined, body: Instr[]): Instr => ({ op: 'block', label, result, body });
export const loop = (label: string, body: Instr[]): Instr => ({ op: 'loop', label, body });
export const iff = (cond: Instr, then: Instr[], els?: Instr[], result?: ValType): Instr => ({ op: 'if', cond, then, else: els, result });
export const br = (label: string): Instr => op('br', [label]);
export const brIf = (label: string, cond: Instr): Instr => op('br_if', [label], cond);
export const ret = (...v: Instr[]): Instr => op('return', [], ...v);
export const ref = (name: string, nullable = false): RefType => ({ ref: name, nullable });

type ImmKind = 'local' | 'global' | 'func' | 'type' | 'field' | 'label' | 'i32' | 'u32' | 'i64' | 'mem' | 'heap' | 'f32' | 'f64';
interface OpInfo {
  readonly code: readonly number[];
  readonly imm: readonly ImmKind[];
  /** log2 of the access size, for loads and stores. */
  readonly align?: number;
}

const mem = (code: number, align: number): OpInfo => ({ code: [code], imm: ['mem'], align });
const plain = (code: number): OpInfo => ({ code: [code], imm: [] });
const gc = (sub: number, imm: ImmKind[]): OpInfo => ({ code: [0xfb, sub], imm });

export const OPS: Readonly<Record<string, OpInfo>> = {
  unreachable: plain(0x00), br: { code: [0x0c], imm: ['label'] }, br_if: { code: [0x0d], imm: ['label'] },
  return: plain(0x0f), call: { code: [0x10], imm: ['func'] }, drop: plain(0x1a), select: plain(0x1b),
  'local.get': { code: [0x20], imm: ['local'] }, 'local.set': { code: [0x21], imm: ['local'] }, 'local.tee': { code: [0x22], imm: ['local'] },
  'global.get': { code: [0x23], imm: ['global'] }, 'global.set': { code: [0x24], imm: ['global'] },
  'i32.load': mem(0x28, 2), 'i64.load': mem(0x29, 3), 'f32.load': mem(0x2a, 2), 'f64.load': mem(0x2b, 3),
  'i32.load8_s': mem(0x2c, 0), 'i32.load8_u': mem(0x2d, 0), 'i32.load16_s': mem(0x2e, 1), 'i32.load16_u': mem(0x2f, 1),
  'i32.store': mem(0x36, 2), 'i64.store': mem(0x37, 3), 'f32.store': mem(0x38, 2), 'f64.store': mem(0x39, 3),
  'i32.store8': mem(0x3a, 0), 'i32.store16': mem(0x3b, 1),
  'memory.size': { code: [0x3f, 0x00], imm: [] },
  'memory.fill': { code: [0xfc, 0x0b, 0x00], imm: [] },
  'i32.const': { code: [0x41], imm: ['i32'] }, 'i64.const': { code: [0x42], imm: ['i64'] },
  'f32.const': { code: [0x43], imm: ['f32'] }, 'f64.const': { code: [0x44], imm: ['f64'] },
  'i32.eqz': plain(0x45), 'i32.eq': plain(0x46), 'i32.ne': plain(0x47), 'i32.lt_s': plain(0x48), 'i32.lt_u': plain(0x49),
  'i32.gt_s': plain(0x4a), 'i32.gt_u': plain(0x4b), 'i32.le_u': plain(0x4d), 'i32.ge_u': plain(0x4f),
  'i64.eqz': plain(0x50), 'i64.eq': plain(0x51), 'i64.ne': plain(0x52), 'i64.lt_u': plain(0x54), 'i64.gt_u': plain(0x56),
  'i64.le_u': plain(0x58), 'i64.ge_u': plain(0x5a),
  'i32.add': plain(0x6a), 'i32.sub': plain(0x6b), 'i32.mul': plain(0x6c), 'i32.and': plain(0x71), 'i32.or': plain(0x72),
  'i32.shl': plain(0x74), 'i32.shr_u': plain(0x76),
  'i64.add': plain(0x7c), 'i64.sub': plain(0x7d), 'i64.mul': plain(0x7e), 'i64.and': plain(0x83), 'i64.shl': plain(0x86),
  'i32.wrap_i64': plain(0xa7), 'i64.extend_i32_s': plain(0xac), 'i64.extend_i32_u': plain(0xad),
  'ref.null': { code: [0xd0], imm: ['heap'] }, 'ref.is_null': plain(0xd1), 'ref.as_non_null': plain(0xd4),
  br_on_null: { code: [0xd5], imm: ['label'] },
  'struct.new': gc(0, ['type']), 'struct.new_default': gc(1, ['type']), 'struct.get': gc(2, ['type', 'field']),
  'struct.get_s': gc(3, ['type', 'field']), 'struct.get_u': gc(4, ['type', 'field']), 'struct.set': gc(5, ['type', 'field']),
  'array.new': gc(6, ['type']), 'array.new_default': gc(7, ['type']), 'array.new_fixed': gc(8, ['type', 'u32']),
  'array.get': gc(11, ['type']), 'array.get_s': gc(12, ['type']), 'array.get_u': gc(13, ['type']), 'array.set': gc(14, ['type']),
  'array.len': gc(15, []),
};

// --- WAT text -------------------------------------------------------------------------------

function valText(t: StorageType): string {
  if (typeof t === 'string') return t;
  return t.nullable ? `(ref null ${heapText(t.ref)})` : `(ref ${heapText(t.ref)})`;
}
const heapText = (h: string): string => (h === 'none' ? 'none' : `$${h}`);
const comment = (c: string | undefined, ind: string): string => (c ? c.split('\n').map((l) => `${ind};; ${l}`.trimEnd()).join('\n') + '\n' : '');

function instrText(x: Instr, ind: string): string {
  const inner = ind + '  ';
  if (x.op === 'block' || x.op === 'loop') {
    const b = x as Extract<Instr, { body: unknown }>;
    const head = `(${b.op}${b.label ? ` $${b.label}` : ''}${b.result ? ` (result ${valText(b.result)})` : ''}`;
    return `${ind}${head}\n${b.body.map((i) => instrText(i, inner)).join('\n')})`;
  }
  if (x.op === 'if') {
    const f = x as Extract<Instr, { cond: unknown }>;
    let s = `${ind}(if${f.result ? ` (result ${valText(f.result)})` : ''}\n${instrText(f.cond, inner)}\n${inner}(then\n${f.then.map((i) => instrText(i, inner + '  ')).join('\n')})`;
    if (f.else?.length) s += `\n${inner}(else\n${f.else.map((i) => instrText(i, inner + '  ')).join('\n')})`;
    return s + ')';
  }
  const p = x as Extract<Instr, { imm: unknown }>;
  const info = OPS[p.op];
  if (!info) throw new Error(`wasm: unknown instruction '${p.op}'`);
  const imms = p.imm.map((v, k) => {
    const kind = info.imm[k];
    if (kind === 'mem') return v === 0 ? '' : `offset=${v}`;
    if (kind === 'heap') return heapText(String(v));
    if (kind === 'i32' || kind === 'u32' || kind === 'i64' || kind === 'f32' || kind === 'f64') return String(v);
    return `$${v}`;
  }).filter(Boolean);
  const head = `(${p.op}${imms.length ? ' ' + imms.join(' ') : ''}`;
  if (!p.args.length) return `${ind}${head})`;
  const flat = p.args.every((a) => 'imm' in a && a.args.length === 0);
  if (flat && p.args.length <= 2) return `${ind}${head} ${p.args.map((a) => instrText(a, '')).join(' ')})`;
  return `${ind}${head}\n${p.args.map((a) => instrText(a, inner)).join('\n')})`;
}

const ident = (s: string): string => `$${s}`;

/** The module as WAT text (the GC proposal's text format, folded instructions). */
export function toWat(m: Module): string {
  let s = comment(m.comment, '') + '(module\n';
  s += '  (rec\n';
  for (const t of m.types) {
    s += comment(t.comment, '    ');
    if (t.kind === 'array') s += `    (type ${ident(t.name)} (array (mut ${valText(t.element)})))\n`;
    else s += `    (type ${ident(t.name)} (struct${t.fields.map((f) => `\n      (field ${ident(f.name)} (mut ${valText(f.type)}))`).join('')}))\n`;
  }
  s += '  )\n';
  s += `  (import "${m.memoryImport.module}" "${m.memoryImport.name}" (memory $memory 0))\n`;
  for (const g of m.globals) s += comment(g.comment, '  ') + `  (global ${ident(g.name)} (mut ${g.type}) (${g.type}.const 0))\n`;
  for (const f of m.funcs) {
    s += '\n' + comment(f.comment, '  ');
    s += `  (func ${ident(f.name)}${f.export !== undefined ? ` (export ${JSON.stringify(f.export)})` : ''}`;
    for (const [n, t] of f.params) s += ` (param ${ident(n)} ${valText(t)})`;
    if (f.results.length) s += ` (result ${f.results.map(valText).join(' ')})`;
    s += '\n';
    for (const [n, t] of f.locals) s += `    (local ${ident(n)} ${valText(t)})\n`;
    s += f.body.map((i) => instrText(i, '    ')).join('\n') + ')\n';
  }
  return s + ')\n';
}

// --- binary ---------------------------------------------------------------------------------

class Bytes {
  readonly b: number[] = [];
  u8(...v: number[]): this {
    this.b.push(...v);
    return this;
  }
  u32(v: number): this {
    let x = v >>> 0;
    do {
      const byte = x & 0x7f;
      x >>>= 7;
      this.b.push(x ? byte | 0x80 : byte);
    } while (x);
    return this;
  }
  sleb(v: bigint): this {
    let x = v;
    for (;;) {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      const done = (x === 0n && (byte & 0x40) === 0) || (x === -1n && (byte & 0x40) !== 0);
      this.b.push(done ? byte : byte | 0x80);
      if (done) return this;
    }
  }
  name(s: string): this {
    const e = new TextEncoder().encode(s);
    this.u32(e.length);
    for (const c of e) this.b.push(c);
    return this;
  }
  bytes(o: Bytes): this {
    this.u32(o.b.length);
    for (const c of o.b) this.b.push(c);
    return this;
  }
  raw(o: Bytes): this {
    for (const c of o.b) this.b.push(c);
    return this;
  }
}

const HEAP_NONE = 0x71;

/** The module in the binary format. Throws on an unresolved name. */
export function toWasm(m: Module): Uint8Array {
  const typeIdx = new Map(m.types.map((t, i) => [t.name, i]));
  const fieldIdx = new Map<string, Map<string, number>>();
  for (const t of m.types) if (t.kind === 'struct') fieldIdx.set(t.name, new Map(t.fields.map((f, i) => [f.name, i])));
  const funcIdx = new Map(m.funcs.map((f, i) => [f.name, i]));
  const globalIdx = new Map(m.globals.map((g, i) => [g.name, i]));
  const need = <K, V>(map: Map<K, V>, k: K, what: string): V => {
    const v = map.get(k);
    if (v === undefined) throw new Error(`wasm: unknown ${what} '${String(k)}'`);
    return v;
  };
  const heap = (w: Bytes, h: string): void => {
    if (h === 'none') w.u8(HEAP_NONE);
    else w.sleb(BigInt(need(typeIdx, h, 'type')));
  };
  const val = (w: Bytes, t: StorageType): void => {
    switch (t) {
      case 'i32': w.u8(0x7f); return;
      case 'i64': w.u8(0x7e); return;
      case 'f32': w.u8(0x7d); return;
      case 'f64': w.u8(0x7c); return;
      case 'i8': w.u8(0x78); return;
      case 'i16': w.u8(0x77); return;
      default:
        w.u8(t.nullable ? 0x63 : 0x64);
        heap(w, t.ref);
    }
  };

  // Function types, deduplicated, after the rec group.
  const sigs: string[] = [];
  const sigOf = new Map<string, number>();
  const sigKey = (f: Func): string => JSON.stringify([f.params.map((p) => p[1]), f.results]);
  for (const f of m.funcs) {
    const k = sigKey(f);
    if (!sigOf.has(k)) {
      sigOf.set(k, m.types.length + sigs.length);
      sigs.push(k);
    }
  }

  const out = new Bytes().u8(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const section = (id: number, body: Bytes): void => {
    out.u8(id).bytes(body);
  };

  // 1: types
  const ts = new Bytes().u32(1 + sigs.length);
  ts.u8(0x4e).u32(m.types.length);
  for (const t of m.types) {
    if (t.kind === 'array') {
      ts.u8(0x5e);
      val(ts, t.element);
      ts.u8(0x01);
    } else {
      ts.u8(0x5f).u32(t.fields.length);
      for (const f of t.fields) {
        val(ts, f.type);
        ts.u8(0x01);
      }
    }
  }
  for (const k of sigs) {
    const [params, results] = JSON.parse(k) as [StorageType[], StorageType[]];
    ts.u8(0x60).u32(params.length);
    for (const p of params) val(ts, p);
    ts.u32(results.length);
    for (const r of results) val(ts, r);
  }
  section(1, ts);

  // 2: imports (the memory)
  section(2, new Bytes().u32(1).name(m.memoryImport.module).name(m.memoryImport.name).u8(0x02, 0x00).u32(0));
  // 3: functions
  const fs = new Bytes().u32(m.funcs.length);
  for (const f of m.funcs) fs.u32(sigOf.get(sigKey(f))!);
  section(3, fs);
  // 6: globals
  const gs = new Bytes().u32(m.globals.length);
  for (const g of m.globals) {
    val(gs, g.type);
    gs.u8(0x01);
    if (g.type === 'i32') gs.u8(0x41, 0x00);
    else if (g.type === 'i64') gs.u8(0x42, 0x00);
    else if (g.type === 'f32') gs.u8(0x43, 0, 0, 0, 0);
    else gs.u8(0x44, 0, 0, 0, 0, 0, 0, 0, 0);
    gs.u8(0x0b);
  }
  section(6, gs);
  // 7: exports
  const exported = m.funcs.filter((f) => f.export !== undefined);
  const es = new Bytes().u32(exported.length);
  for (const f of exported) es.name(f.export!).u8(0x00).u32(funcIdx.get(f.name)!);
  section(7, es);

  // 10: code
  const cs = new Bytes().u32(m.funcs.length);
  for (const f of m.funcs) {
    const localIdx = new Map<string, number>();
    [...f.params, ...f.locals].forEach(([n], i) => {
      if (localIdx.has(n)) throw new Error(`wasm: local '${n}' declared twice in ${f.name}`);
      localIdx.set(n, i);
    });
    const body = new Bytes().u32(f.locals.length);
    for (const [, t] of f.locals) {
      body.u32(1);
      val(body, t);
    }
    const labels: (string | undefined)[] = [];
    const blockType = (t: ValType | undefined): void => {
      if (t === undefined) body.u8(0x40);
      else val(body, t);
    };
    const emit = (x: Instr): void => {
      if (x.op === 'block' || x.op === 'loop') {
        const b = x as Extract<Instr, { body: unknown }>;
        body.u8(b.op === 'block' ? 0x02 : 0x03);
        blockType(b.result);
        labels.push(b.label);
        b.body.forEach(emit);
        labels.pop();
        body.u8(0x0b);
        return;
      }
      if (x.op === 'if') {
        const c = x as Extract<Instr, { cond: unknown }>;
        emit(c.cond);
        body.u8(0x04);
        blockType(c.result);
        labels.push(undefined);
        c.then.forEach(emit);
        if (c.else?.length) {
          body.u8(0x05);
          c.else.forEach(emit);
        }
        labels.pop();
        body.u8(0x0b);
        return;
      }
      const p = x as Extract<Instr, { imm: unknown }>;
      p.args.forEach(emit);
      const info = OPS[p.op];
      if (!info) throw new Error(`wasm: unknown instruction '${p.op}'`);
      const [first, ...rest] = info.code;
      body.u8(first!);
      // Prefixed opcodes carry their sub-opcode as a u32 LEB.
      if (first === 0xfb || first === 0xfc) {
        body.u32(rest[0]!);
        body.u8(...rest.slice(1));
      } else body.u8(...rest);
      let structType = '';
      p.imm.forEach((v, k) => {
        const kind = info.imm[k];
        switch (kind) {
          case 'local': body.u32(need(localIdx, String(v), `local in ${f.name}`)); break;
          case 'global': body.u32(need(globalIdx, String(v), 'global')); break;
          case 'func': body.u32(need(funcIdx, String(v), 'function')); break;
          case 'type': structType = String(v); body.u32(need(typeIdx, String(v), 'type')); break;
          case 'field': body.u32(need(need(fieldIdx, structType, 'struct type'), String(v), `field of ${structType}`)); break;
          case 'label': {
            const d = labels.lastIndexOf(String(v));
            if (d < 0) throw new Error(`wasm: unknown label '${String(v)}' in ${f.name}`);
            body.u32(labels.length - 1 - d);
            break;
          }
          case 'i32': body.sleb(BigInt(v as number)); break;
          case 'u32': body.u32(Number(v)); break;
          case 'i64': body.sleb(BigInt(v)); break;
          case 'mem': body.u32(info.align!).u32(Number(v)); break;
          case 'heap': heap(body, String(v)); break;
          case 'f32': { const d = new DataView(new ArrayBuffer(4)); d.setFloat32(0, Number(v), true); body.u8(...new Uint8Array(d.buffer)); break; }
          case 'f64': { const d = new DataView(new ArrayBuffer(8)); d.setFloat64(0, Number(v), true); body.u8(...new Uint8Array(d.buffer)); break; }
          default: throw new Error(`wasm: immediate ${k} of '${p.op}' not expected`);
        }
      });
    };
    f.body.forEach(emit);
    body.u8(0x0b);
    cs.bytes(body);
  }
  section(10, cs);

  // Custom "name" section: function (1), local (2), type (4) and field (10) names.
  const names = new Bytes();
  const sub = (id: number, b: Bytes): void => {
    names.u8(id).bytes(b);
  };
  const fnNames = new Bytes().u32(m.funcs.length);
  m.funcs.forEach((f, i) => fnNames.u32(i).name(f.name));
  sub(1, fnNames);
  const locNames = new Bytes().u32(m.funcs.length);
  m.funcs.forEach((f, i) => {
    const all = [...f.params, ...f.locals];
    locNames.u32(i).u32(all.length);
    all.forEach(([n], k) => locNames.u32(k).name(n));
  });
  sub(2, locNames);
  const tyNames = new Bytes().u32(m.types.length);
  m.types.forEach((t, i) => tyNames.u32(i).name(t.name));
  sub(4, tyNames);
  const structs = m.types.map((t, i) => [t, i] as const).filter(([t]) => t.kind === 'struct');
  const fieldNames = new Bytes().u32(structs.length);
  for (const [t, i] of structs) {
    const fields = (t as Extract<TypeDef, { kind: 'struct' }>).fields;
    fieldNames.u32(i).u32(fields.length);
    fields.forEach((f, k) => fieldNames.u32(k).name(f.name));
  }
  sub(10, fieldNames);
  out.u8(0x00).bytes(new Bytes().name('name').raw(names));
  return new Uint8Array(out.b);
}

/**
 * `isthmus check old new`: breaking-change detection between two versions of a schema
 * (docs/layout.md §6). Messages are matched by name or by a pinned `@id`; everything they
 * reach is compared by position and shape, so renames pass and layout changes do not.
 */
import type { EnumLayout, StructLayout, TypeLayout, TypeRef, UnionLayout } from '@isthmus/runtime';
import { typeTable, type CompiledSchema } from './compile.js';

export interface Breakage {
  /** Where: `market.BookUpdate.bids[].price` and the like. */
  readonly path: string;
  readonly message: string;
}

type Table = Map<string, TypeLayout>;

export function checkCompatibility(oldSchema: CompiledSchema, newSchema: CompiledSchema): Breakage[] {
  const ot = typeTable(oldSchema);
  const nt = typeTable(newSchema);
  const out: Breakage[] = [];
  const seen = new Set<string>();
  const report = (path: string, message: string): void => {
    if (seen.has(path + message)) return;
    seen.add(path + message);
    out.push({ path, message });
  };
  const newMessages = newSchema.layout.types.filter((t): t is StructLayout => t.kind === 'message');
  for (const om of oldSchema.layout.types) {
    if (om.kind !== 'message') continue;
    const nm = newMessages.find((m) => m.fullName === om.fullName) ?? newMessages.find((m) => m.typeId === om.typeId);
    if (!nm) {
      report(om.fullName, 'message was removed (or renamed without @id pinning its type id)');
      continue;
    }
    if (nm.typeId !== om.typeId) report(om.fullName, `type id changed from ${om.typeId} to ${nm.typeId}; readers of the old schema will reject every message`);
    compareMessage(om, nm);
  }
  return out;

  function compareMessage(om: StructLayout, nm: StructLayout): void {
    const base = om.fullName;
    om.fields.forEach((of, i) => {
      const path = `${base}.${of.name}`;
      const nf = nm.fields[i];
      const moved = nm.fields.findIndex((f) => f.name === of.name);
      if (!nf) {
        report(path, `field #${i + 1} was removed; deprecate it with @deprecated instead`);
        return;
      }
      if (moved >= 0 && moved !== i && shape(of.type, ot) === shape(nm.fields[moved]!.type, nt)) {
        report(path, `field moved from position ${i + 1} to ${moved + 1}; fields can not be reordered`);
        return;
      }
      if (!!of.presence !== !!nf.presence) report(path, `field became ${nf.presence ? 'optional' : 'required'}; optionality can not change`);
      if (of.since !== nf.since) report(path, `@since changed from ${of.since} to ${nf.since}`);
      compareType(path, of.type, nf.type);
    });
    for (const nf of nm.fields.slice(om.fields.length)) {
      if (nf.since <= om.version!) report(`${base}.${nf.name}`, `field was appended without a new version: give it @since(${om.version! + 1}) or higher (the old schema is version ${om.version})`);
    }
  }

  function compareType(path: string, o: TypeRef, n: TypeRef): void {
    if (o.kind !== n.kind) {
      report(path, `type changed from ${shape(o, ot)} to ${shape(n, nt)}`);
      return;
    }
    switch (o.kind) {
      case 'scalar':
        if (n.kind === 'scalar' && n.scalar !== o.scalar) report(path, `type changed from ${o.scalar} to ${n.scalar}`);
        return;
      case 'string':
      case 'bytes':
        return;
      case 'array':
        if (n.kind === 'array' && n.length !== o.length) report(path, `array length changed from ${o.length} to ${n.length}`);
        compareType(`${path}[]`, o.element, (n as typeof o).element);
        return;
      case 'vector':
        compareType(`${path}[]`, o.element, (n as typeof o).element);
        return;
      case 'enum':
        compareEnum(path, ot.get(o.name) as EnumLayout, nt.get((n as typeof o).name) as EnumLayout);
        return;
      case 'union':
        compareUnion(path, ot.get(o.name) as UnionLayout, nt.get((n as typeof o).name) as UnionLayout);
        return;
      case 'struct': {
        const os = ot.get(o.name) as StructLayout;
        const ns = nt.get((n as typeof o).name) as StructLayout;
        os.fields.forEach((of, i) => {
          const nf = ns.fields[i];
          const p = `${path}.${of.name}`;
          if (!nf) report(p, `field was removed from struct ${os.fullName}; structs are frozen`);
          else {
            if (!!of.presence !== !!nf.presence) report(p, `field became ${nf.presence ? 'optional' : 'required'}; structs are frozen`);
            compareType(p, of.type, nf.type);
          }
        });
        for (const nf of ns.fields.slice(os.fields.length)) report(`${path}.${nf.name}`, `field was added to struct ${ns.fullName}; structs are frozen (only messages can grow)`);
        return;
      }
    }
  }

  function compareEnum(path: string, o: EnumLayout, n: EnumLayout): void {
    if (o.base !== n.base) report(path, `enum ${o.fullName} changed its underlying type from ${o.base} to ${n.base}`);
    for (const v of o.values) {
      if (!n.values.some((x) => x.value === v.value)) {
        const renamed = n.values.find((x) => x.name === v.name);
        report(path, renamed ? `enum ${o.fullName} value '${v.name}' changed from ${v.value} to ${renamed.value}` : `enum ${o.fullName} value '${v.name}' = ${v.value} was removed`);
      }
    }
  }

  function compareUnion(path: string, o: UnionLayout, n: UnionLayout): void {
    o.cases.forEach((c, i) => {
      const nc = n.cases[i];
      if (!nc) report(path, `union ${o.fullName} case '${c.name}' (tag ${c.tag}) was removed`);
      else compareType(`${path}.${c.name}`, c.type, nc.type);
    });
  }
}

/** Shape text of a type, for messages (names of declared types replaced by their shape). */
function shape(t: TypeRef, table: Table): string {
  switch (t.kind) {
    case 'scalar':
      return t.scalar;
    case 'string':
    case 'bytes':
      return t.kind;
    case 'array':
      return `[${shape(t.element, table)}; ${t.length}]`;
    case 'vector':
      return `vector<${shape(t.element, table)}>`;
    case 'enum':
      return `enum ${t.name}`;
    case 'union':
      return `union ${t.name}`;
    case 'struct':
      return `struct ${t.name}`;
  }
}

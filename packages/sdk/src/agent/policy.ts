/**
 * The agent's access policy (docs/agent.md §3): which identities may publish, subscribe,
 * serve or call which channels. A JSON file:
 *
 *   {
 *     "rules": [
 *       { "match": { "user": "market-data" }, "allow": { "publish": ["book.*"] } },
 *       { "match": { "gid": 2000 },           "allow": { "subscribe": ["book.*", "trades"], "call": ["pricer"] } },
 *       { "match": { "uid": 0 },              "allow": { "publish": ["*"], "subscribe": ["*"], "serve": ["*"], "call": ["*"] }, "stat": true }
 *     ]
 *   }
 *
 * A rule matches a peer when every key of `match` does: `uid` (number), `gid` (the
 * primary or any supplementary group), `user` / `group` (names, resolved with the agent's
 * /etc/passwd and /etc/group, i.e. the identities of the agent's user namespace, so they do
 * not depend on the peer's pid or mount namespace). The rights of a peer are the union of
 * the `allow` lists of every rule it matches. A peer no rule matches is refused at HELLO.
 * Globs: `*` any run of characters, `?` one character; on channel names.
 */
import { readFileSync } from 'node:fs';
import { parseRegionName } from '../transport.js';

export type Verb = 'publish' | 'subscribe' | 'serve' | 'call';
export const VERBS: Verb[] = ['publish', 'subscribe', 'serve', 'call'];

export interface PeerIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups (from /proc/<pid>/status), including gid. */
  groups: number[];
  pid: number;
}

interface Rule {
  index: number;
  uid?: number;
  gids?: number[];
  allow: Record<Verb, RegExp[]>;
  globs: Record<Verb, string[]>;
  stat: boolean;
}

export interface Rights {
  rules: number[];
  allow: Record<Verb, RegExp[]>;
  globs: Record<Verb, string[]>;
  stat: boolean;
}

export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const c of glob) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.+()[\]{}|]/g, '\\$&');
  return new RegExp(re + '$');
}

function readIds(file: string): Map<string, { id: number; gid?: number; members?: string[] }> {
  const out = new Map<string, { id: number; gid?: number; members?: string[] }>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0]!.startsWith('#')) continue;
    out.set(f[0]!, { id: Number(f[2]), gid: Number(f[3]), members: (f[3] ?? '').split(',') });
  }
  return out;
}

export class Policy {
  readonly source: string;
  readonly rules: Rule[];

  private constructor(source: string, rules: Rule[]) {
    this.source = source;
    this.rules = rules;
  }

  /** The policy without a file: the agent's own uid and root may do everything. */
  static default(agentUid: number): Policy {
    const all = VERBS.map((v) => [v, ['*']] as const);
    const rule = (uid: number) => ({ match: { uid }, allow: Object.fromEntries(all), stat: true });
    return Policy.parse({ rules: agentUid === 0 ? [rule(0)] : [rule(agentUid), rule(0)] }, `(built in: only uid ${agentUid} and root; pass --policy FILE)`);
  }

  static load(path: string): Policy {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`policy ${path}: cannot read it: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`policy ${path}: not valid JSON: ${(err as Error).message}`);
    }
    return Policy.parse(json, path);
  }

  /** Validates a policy object; every error names the rule and the bad value. */
  static parse(json: unknown, source: string, files: { passwd?: string; group?: string } = {}): Policy {
    const fail = (msg: string): never => {
      throw new Error(`policy ${source}: ${msg}`);
    };
    if (typeof json !== 'object' || json === null || !Array.isArray((json as { rules?: unknown }).rules)) fail('must be an object with a "rules" array');
    const users = readIds(files.passwd ?? '/etc/passwd');
    const groups = readIds(files.group ?? '/etc/group');
    const rules: Rule[] = [];
    (json as { rules: unknown[] }).rules.forEach((r, i) => {
      const where = `rules[${i}]`;
      if (typeof r !== 'object' || r === null) fail(`${where} must be an object, got ${JSON.stringify(r)}`);
      const { match, allow = {}, stat = false, ...rest } = r as { match?: Record<string, unknown>; allow?: Record<string, unknown>; stat?: unknown };
      if (Object.keys(rest).length) fail(`${where} has unknown keys ${Object.keys(rest).map((k) => JSON.stringify(k)).join(', ')} (use match, allow, stat)`);
      if (typeof match !== 'object' || match === null || Object.keys(match).length === 0) fail(`${where}.match must be a non-empty object of uid, gid, user, group`);
      const rule: Rule = { index: i, allow: { publish: [], subscribe: [], serve: [], call: [] }, globs: { publish: [], subscribe: [], serve: [], call: [] }, stat: stat === true };
      if (typeof stat !== 'boolean') fail(`${where}.stat must be true or false, got ${JSON.stringify(stat)}`);
      for (const [k, v] of Object.entries(match!)) {
        if (k === 'uid' || k === 'gid') {
          if (!Number.isInteger(v) || (v as number) < 0) fail(`${where}.match.${k} must be an integer >= 0, got ${JSON.stringify(v)}`);
          if (k === 'uid') rule.uid = v as number;
          else rule.gids = [...(rule.gids ?? []), v as number];
        } else if (k === 'user') {
          const u = typeof v === 'string' ? users.get(v) : undefined;
          if (!u) fail(`${where}.match.user ${JSON.stringify(v)} is not a user of this system (/etc/passwd)`);
          if (rule.uid !== undefined && rule.uid !== u!.id) fail(`${where}.match: user ${JSON.stringify(v)} is uid ${u!.id}, not uid ${rule.uid}`);
          rule.uid = u!.id;
        } else if (k === 'group') {
          const g = typeof v === 'string' ? groups.get(v) : undefined;
          if (!g) fail(`${where}.match.group ${JSON.stringify(v)} is not a group of this system (/etc/group)`);
          rule.gids = [...(rule.gids ?? []), g!.id];
        } else fail(`${where}.match has unknown key ${JSON.stringify(k)} (use uid, gid, user, group)`);
      }
      if (typeof allow !== 'object' || allow === null) fail(`${where}.allow must be an object, got ${JSON.stringify(allow)}`);
      for (const [verb, list] of Object.entries(allow)) {
        if (!VERBS.includes(verb as Verb)) fail(`${where}.allow has unknown right ${JSON.stringify(verb)} (use ${VERBS.join(', ')})`);
        if (!Array.isArray(list) || list.some((g) => typeof g !== 'string' || g === '')) fail(`${where}.allow.${verb} must be an array of channel-name globs, got ${JSON.stringify(list)}`);
        rule.globs[verb as Verb] = list as string[];
        rule.allow[verb as Verb] = (list as string[]).map(globToRegExp);
      }
      rules.push(rule);
    });
    return new Policy(source, rules);
  }

  /** The rights of a peer; null when no rule matches it (refused). */
  rights(id: PeerIdentity): Rights | null {
    const out: Rights = { rules: [], allow: { publish: [], subscribe: [], serve: [], call: [] }, globs: { publish: [], subscribe: [], serve: [], call: [] }, stat: false };
    for (const r of this.rules) {
      if (r.uid !== undefined && r.uid !== id.uid) continue;
      if (r.gids !== undefined && !r.gids.every((g) => g === id.gid || id.groups.includes(g))) continue;
      out.rules.push(r.index);
      for (const v of VERBS) {
        out.allow[v].push(...r.allow[v]);
        out.globs[v].push(...r.globs[v]);
      }
      out.stat ||= r.stat;
    }
    return out.rules.length ? out : null;
  }
}

export function can(rights: Rights, verb: Verb, channel: string): boolean {
  return rights.allow[verb].some((re) => re.test(channel));
}

/**
 * The rights that let a peer do `action` on region `region` (any one suffices), by the
 * region's role suffix (docs/agent.md §3 has the table).
 */
export function verbsFor(action: 'create' | 'open' | 'remove', region: string): { channel: string; verbs: Verb[] } {
  const p = parseRegionName(region);
  const any: Verb[] = [...VERBS];
  switch (p.kind) {
    case 'pub':
      return { channel: p.channel, verbs: action === 'open' ? ['publish', 'subscribe'] : ['publish'] };
    case 'req':
      return { channel: p.channel, verbs: action === 'open' ? ['serve', 'call'] : ['serve'] };
    case 'res':
      return { channel: p.channel, verbs: action === 'create' ? ['call'] : ['call', 'serve'] };
    case 'queue':
      return { channel: p.channel, verbs: action === 'create' ? ['subscribe'] : ['publish', 'subscribe'] };
    case 'dead':
      return { channel: p.channel, verbs: any };
    default:
      return { channel: p.channel, verbs: action === 'open' ? ['publish', 'subscribe'] : ['publish'] };
  }
}

/** Whether `rights` allow `action` on `region`; the reason names what was missing. */
export function check(rights: Rights, action: 'create' | 'open' | 'remove', region: string): { ok: true } | { ok: false; need: Verb[]; channel: string } {
  const { channel, verbs } = verbsFor(action, region);
  if (verbs.some((v) => can(rights, v, channel))) return { ok: true };
  return { ok: false, need: verbs, channel };
}

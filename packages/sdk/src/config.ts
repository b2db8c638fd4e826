/**
 * Transports chosen by configuration (docs/config.md): `isthmus.node()` without a transport
 * option takes it from
 *
 *   1. `$ISTHMUS_TRANSPORT`, a transport URL (`shm:`, `inproc:`, `agent:`, `vm:///…`,
 *      `tcp://host:port`, `unix:///…`), which sets the default transport;
 *   2. a config file — `$ISTHMUS_CONFIG`, else the first `isthmus.json` found walking up
 *      from the working directory — with a default `transport` and per-channel `routes`
 *      (its `transport` is used only when `$ISTHMUS_TRANSPORT` is unset; its routes always
 *      apply);
 *   3. else `shm:` (the shm transport under its default root).
 *
 * An explicit `transport` (or `root`) passed to `node()` in code wins over all of this.
 *
 * Parsing is pure (`parseTransportUrl`, `parseConfig`); `loadConfig`/`resolveConfig` read
 * the environment and the file system; `openTransport`/`configuredTransport` open
 * transports. Every mistake throws ConfigError, whose message names the bad value, where it
 * came from (`ISTHMUS_TRANSPORT`, `ISTHMUS_CONFIG`, or `<file>:<line>:<column>`) and what
 * is accepted.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultSocket } from './agent/cli.js';
import { ConfigError, IsthmusError } from './errors.js';
import type { Transport } from './transport.js';
import { agent } from './transports/agent.js';
import { arena } from './transports/arena.js';
import { defaultArena, inproc } from './transports/inproc.js';
import { connect, NetError, parseNetUrl } from './transports/net.js';
import { routed, type Route } from './transports/routed.js';
import { defaultRoot, shm } from './transports/shm.js';

/** The transport URL forms, as error messages list them. */
export const TRANSPORT_URL_FORMS: readonly string[] = [
  'shm:',
  'shm:///abs/root/dir',
  'inproc:',
  'agent:',
  'agent:///path/to/agent.sock',
  'vm:///path/to/arena/file[?size=N]',
  'tcp://host:port[?connectTimeoutMs=N]',
  'unix:///path/to/socket[?connectTimeoutMs=N]',
];

/** The config file's shape, as error messages show it. */
export const CONFIG_FILE_FORM = '{ "transport": "<transport URL>", "routes": { "<channel>" or "<prefix>*": "<transport URL>" } } (both keys optional)';

/** Where a value was found: a file position, plus what it is there (`transport`, `routes["a*"]`). */
export interface SourceLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** The key the value belongs to, for messages. */
  what?: string;
}

interface SpecBase {
  /** The URL as written. */
  url: string;
  /** Where it came from, for messages: `ISTHMUS_TRANSPORT`, `/app/isthmus.json:3:16 (transport)`, `default`. */
  source: string;
}

/** A parsed transport URL: what `openTransport` opens. */
export type TransportSpec =
  | (SpecBase & { kind: 'shm'; /** absent: defaultRoot() */ root?: string })
  | (SpecBase & { kind: 'inproc' })
  | (SpecBase & { kind: 'agent'; /** absent: defaultSocket() */ socket?: string })
  | (SpecBase & { kind: 'vm'; path: string; /** bytes, for a new arena */ size?: number })
  | (SpecBase & { kind: 'tcp' | 'unix'; /** the URL without its query, for connect() */ address: string; connectTimeoutMs?: number });

/** One route of a config file: channels matching `pattern` use `spec`. */
export interface RouteSpec {
  /** An exact channel name, or a prefix followed by `*`. */
  pattern: string;
  spec: TransportSpec;
}

/** A parsed config file. */
export interface IsthmusConfig {
  file: string;
  /** The file's `transport`, if it has one. */
  transport: TransportSpec | undefined;
  routes: RouteSpec[];
}

/** What a node without a transport option uses: the default transport and the routes. */
export interface TransportConfig {
  transport: TransportSpec;
  routes: RouteSpec[];
  /** The config file read, or null. */
  file: string | null;
}

/** Where to look: the environment (default process.env) and the directory to walk up from (default process.cwd()). */
export interface ConfigLookup {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

// ---------------------------------------------------------------------------------------
// Transport URLs

function sourceText(source: string | SourceLocation): string {
  return typeof source === 'string' ? source : `${source.file}:${source.line}:${source.column}`;
}

function sourceDetails(source: string | SourceLocation): { file?: string; line?: number; column?: number } {
  return typeof source === 'string' ? {} : { file: source.file, line: source.line, column: source.column };
}

/** Query parameters each scheme accepts. */
const QUERY: Record<string, readonly string[]> = {
  shm: [],
  inproc: [],
  agent: [],
  vm: ['size'],
  tcp: ['connectTimeoutMs'],
  unix: ['connectTimeoutMs'],
};

/**
 * Parses a transport URL (the forms of TRANSPORT_URL_FORMS). `source` says where it came
 * from (`'ISTHMUS_TRANSPORT'`, or a file location) and starts the message of the
 * ConfigError thrown for anything else. Paths are taken literally (no percent-decoding),
 * must be absolute, and end at the first `?`.
 */
export function parseTransportUrl(url: string, source: string | SourceLocation): TransportSpec {
  const src = sourceText(source);
  const what = typeof source === 'object' && source.what ? `${source.what}: ` : '';
  const bad = (reason: string) =>
    new ConfigError(src, `${what}invalid transport URL ${JSON.stringify(url)}: ${reason}. Accepted forms: ${TRANSPORT_URL_FORMS.join(', ')}`, { value: String(url), ...sourceDetails(source) });
  if (typeof url !== 'string') throw bad(`a URL is a string, not ${typeof url}`);
  const specSource = typeof source === 'string' ? source : `${src}${source.what ? ` (${source.what})` : ''}`;
  if (url.includes('#')) throw bad("fragments ('#…') are not allowed");
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(base);
  if (!m) throw bad(url === '' ? 'it is empty' : 'no scheme');
  const scheme = m[1]!;
  const rest = m[2]!;
  const allowed = QUERY[scheme];
  if (!allowed) throw bad(`unknown scheme ${JSON.stringify(`${scheme}:`)}`);

  // Query: only the scheme's own parameters, each once, with a positive integer value.
  const params = new Map<string, number>();
  if (q >= 0) {
    const query = url.slice(q + 1);
    if (allowed.length === 0) throw bad(`${scheme}: takes no query parameters (got ${JSON.stringify(`?${query}`)})`);
    for (const part of query.split('&')) {
      const eq = part.indexOf('=');
      const k = eq < 0 ? part : part.slice(0, eq);
      const v = eq < 0 ? '' : part.slice(eq + 1);
      if (!allowed.includes(k)) throw bad(`unknown query parameter ${JSON.stringify(k)} (${scheme}: accepts ${allowed.map((a) => `?${a}=N`).join(', ')})`);
      if (params.has(k)) throw bad(`query parameter ${JSON.stringify(k)} is given twice`);
      if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < 1) throw bad(`${k}=${JSON.stringify(v)} is not a positive integer`);
      params.set(k, Number(v));
    }
  }

  // `<scheme>:` alone (when optional) or `<scheme>:///absolute/path`.
  const pathOf = (optional: boolean): string | undefined => {
    const form = optional ? `${scheme}: or ${scheme}:///absolute/path` : `${scheme}:///absolute/path`;
    if (rest === '') {
      if (optional) return undefined;
      throw bad(`the path is missing: write ${form}`);
    }
    if (!rest.startsWith('//')) throw bad(`expected ${form}`);
    const after = rest.slice(2);
    if (after === '' || after === '/') throw bad(`the path is missing: write ${form}`);
    if (!after.startsWith('/')) throw bad(`a host (${JSON.stringify(after.split('/')[0])}) is not allowed: write ${form} (three slashes)`);
    return after;
  };

  switch (scheme) {
    case 'shm': {
      const root = pathOf(true);
      return root === undefined ? { kind: 'shm', url, source: specSource } : { kind: 'shm', url, source: specSource, root: resolve(root) };
    }
    case 'inproc':
      if (rest !== '') throw bad('expected inproc: (the process-wide default arena; nothing may follow the colon)');
      return { kind: 'inproc', url, source: specSource };
    case 'agent': {
      const socket = pathOf(true);
      return socket === undefined ? { kind: 'agent', url, source: specSource } : { kind: 'agent', url, source: specSource, socket };
    }
    case 'vm': {
      const path = pathOf(false)!;
      const size = params.get('size');
      if (size !== undefined && (size < 1 << 20 || size > 2 ** 31 || (size & (size - 1)) !== 0)) {
        throw bad(`size=${size} must be a power of two between 1048576 (1 MiB) and 2147483648 (2 GiB): the arena becomes a PCI BAR`);
      }
      return size === undefined ? { kind: 'vm', url, source: specSource, path } : { kind: 'vm', url, source: specSource, path, size };
    }
    default: {
      // tcp, unix: the network transport's own parser (docs/net.md) decides.
      let kind: 'tcp' | 'unix';
      try {
        kind = parseNetUrl(base).kind;
      } catch (err) {
        const msg = (err as Error).message;
        const i = msg.indexOf('": ');
        throw bad(i >= 0 ? msg.slice(i + 3) : msg);
      }
      const t = params.get('connectTimeoutMs');
      return t === undefined ? { kind, url, source: specSource, address: base } : { kind, url, source: specSource, address: base, connectTimeoutMs: t };
    }
  }
}

// ---------------------------------------------------------------------------------------
// The config file

/** Converts a UTF-16 offset in `text` to a 1-based line and column. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  const end = Math.min(pos, text.length);
  for (let k = 0; k < end; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      last = k;
    }
  }
  return { line, column: pos - last };
}

class JsonSyntaxError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(message);
  }
}

/** Offsets of the key and the value of every object member, by path (keys joined with NUL). */
type Locations = Map<string, { key: number; value: number }>;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * A strict JSON scanner: the offsets of every object member's key and value, and, for
 * text JSON.parse rejects without saying where, the offset of the first error
 * (JsonSyntaxError). The values themselves come from JSON.parse.
 */
function scanJson(text: string): Locations {
  const locs: Locations = new Map();
  const n = text.length;
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(i, what);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    if (text[i] !== '"') fail('expected a string');
    i++;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c < 32) fail('control character in a string');
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('bad escape in a string');
      } else i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string | null, depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (let k = 0; ; k++) {
        ws();
        const at = i;
        const key = c === '{' ? str() : String(k);
        if (c === '{') {
          ws();
          if (text[i] !== ':') fail(`expected ':' after the key ${JSON.stringify(key)}`);
          i++;
          ws();
        }
        const p = path === null ? key : `${path}\u0000${key}`;
        locs.set(p, { key: at, value: i });
        value(p, depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          return;
        }
        fail(`expected ',' or '${close}'`);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    fail(i >= n ? 'unexpected end of the text' : `unexpected ${JSON.stringify(text[i])}`);
  };
  value(null, 0);
  ws();
  if (i < n) fail('unexpected text after the value');
  return locs;
}

const TOP_KEYS = ['transport', 'routes'];
/** A channel name (transport.ts checkName), or such a prefix followed by one `*`. */
const EXACT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,98}\*$/;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Parses the text of a config file (`file` names it in errors). Pure. Throws ConfigError
 * at `<file>:<line>:<column>` for invalid JSON, a top level that is not an object, unknown
 * top-level keys (all of them named), a bad route pattern, or a bad transport URL.
 */
export function parseConfig(text: string, file: string): IsthmusConfig {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM: invisible to editors' columns
  const at = (pos: number, what?: string): SourceLocation => ({ file, ...lineColumn(text, pos), ...(what !== undefined ? { what } : {}) });
  const fail = (loc: SourceLocation, message: string, value?: string): never => {
    throw new ConfigError(`${loc.file}:${loc.line}:${loc.column}`, message, { file, line: loc.line, column: loc.column, ...(value !== undefined ? { value } : {}) });
  };

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /at position (\d+)/.exec(msg);
    let pos = m ? Number(m[1]) : /end of JSON input/.test(msg) ? text.length : undefined;
    if (pos === undefined) {
      try {
        scanJson(text);
      } catch (e) {
        if (e instanceof JsonSyntaxError) pos = e.pos;
      }
    }
    const reason = msg.replace(/\s*in JSON at position \d+(?: \(line \d+ column \d+\))?/, '').replace(/, ".*" is not valid JSON$/s, '');
    const loc = at(pos ?? 0);
    throw new ConfigError(`${file}:${loc.line}:${loc.column}`, `invalid JSON: ${reason}; the file's form is ${CONFIG_FILE_FORM}`, { file, line: loc.line, column: loc.column, cause: err });
  }
  const locs = scanJson(text);
  const rootPos = text.length - text.trimStart().length;
  const keyAt = (path: string, what?: string) => at(locs.get(path)?.key ?? rootPos, what);
  const valueAt = (path: string, what?: string) => at(locs.get(path)?.value ?? rootPos, what);

  if (data === null || typeof data !== 'object' || Array.isArray(data)) fail(at(rootPos), `the file holds ${describe(data)}, expected an object: ${CONFIG_FILE_FORM}`);
  const obj = data as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !TOP_KEYS.includes(k));
  if (unknown.length > 0) {
    const named = unknown.map((k) => `${JSON.stringify(k)} (line ${keyAt(k).line})`).join(', ');
    fail(keyAt(unknown[0]!), `unknown key${unknown.length > 1 ? 's' : ''} ${named}: the accepted keys are "transport" and "routes": ${CONFIG_FILE_FORM}`, unknown[0]);
  }

  let transport: TransportSpec | undefined;
  if ('transport' in obj) {
    const v = obj.transport;
    if (typeof v !== 'string') fail(valueAt('transport'), `"transport" must be a transport URL string, not ${describe(v)}. Accepted forms: ${TRANSPORT_URL_FORMS.join(', ')}`);
    transport = parseTransportUrl(v as string, valueAt('transport', '"transport"'));
  }

  const routes: RouteSpec[] = [];
  if ('routes' in obj) {
    const r = obj.routes;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) fail(valueAt('routes'), `"routes" must be an object mapping channel names or "prefix*" patterns to transport URLs, not ${describe(r)}`);
    for (const [pattern, v] of Object.entries(r as Record<string, unknown>)) {
      const path = `routes\u0000${pattern}`;
      const what = `routes[${JSON.stringify(pattern)}]`;
      if (pattern === '*') fail(keyAt(path), `${what}: a route for every channel is the default: write it as "transport"`, pattern);
      if (!EXACT.test(pattern) && !PREFIX.test(pattern)) {
        fail(keyAt(path), `${what}: invalid route pattern ${JSON.stringify(pattern)}: use a channel name (1–100 letters, digits, '.', '_' or '-', starting with a letter or digit) or such a prefix followed by one '*' (e.g. "orders.*")`, pattern);
      }
      if (typeof v !== 'string') fail(valueAt(path), `${what} must be a transport URL string, not ${describe(v)}. Accepted forms: ${TRANSPORT_URL_FORMS.join(', ')}`);
      routes.push({ pattern, spec: parseTransportUrl(v as string, valueAt(path, what)) });
    }
  }
  return { file, transport, routes };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The config file to read: `$ISTHMUS_CONFIG` (resolved against `cwd`; it need not exist
 * yet, loadConfig then says so), else the first `isthmus.json` that is a file in `cwd` or
 * any directory above it, up to the file system root; null when there is none.
 */
export function findConfigFile(lookup: ConfigLookup = {}): { file: string; via: 'ISTHMUS_CONFIG' | 'search' } | null {
  const env = lookup.env ?? process.env;
  const cwd = resolve(lookup.cwd ?? process.cwd());
  const explicit = env.ISTHMUS_CONFIG;
  if (explicit) return { file: resolve(cwd, explicit), via: 'ISTHMUS_CONFIG' };
  for (let dir = cwd; ; ) {
    const f = join(dir, 'isthmus.json');
    if (isFile(f)) return { file: f, via: 'search' };
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Finds (findConfigFile), reads and parses the config file; null when there is none. */
export function loadConfig(lookup: ConfigLookup = {}): IsthmusConfig | null {
  const found = findConfigFile(lookup);
  if (!found) return null;
  let text: string;
  try {
    text = readFileSync(found.file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const source = found.via === 'ISTHMUS_CONFIG' ? 'ISTHMUS_CONFIG' : found.file;
    throw new ConfigError(source, `cannot read the config file ${JSON.stringify(found.file)}: ${e.code ?? e.message}`, { value: found.file, file: found.file, cause: err });
  }
  return parseConfig(text, found.file);
}

/**
 * The configuration of a node created without a transport option: `$ISTHMUS_TRANSPORT`
 * (else the file's `transport`, else `shm:`) as the default, and the file's routes.
 * An empty `$ISTHMUS_TRANSPORT` or `$ISTHMUS_CONFIG` counts as unset.
 */
export function resolveConfig(lookup: ConfigLookup = {}): TransportConfig {
  const env = lookup.env ?? process.env;
  const envUrl = env.ISTHMUS_TRANSPORT;
  const fromEnv = envUrl ? parseTransportUrl(envUrl, 'ISTHMUS_TRANSPORT') : undefined;
  const file = loadConfig({ ...lookup, env });
  return {
    transport: fromEnv ?? file?.transport ?? { kind: 'shm', url: 'shm:', source: 'default' },
    routes: file?.routes ?? [],
    file: file?.file ?? null,
  };
}

// ---------------------------------------------------------------------------------------
// Opening

/** Two specs with the same key are the same transport (opened once). */
function specKey(s: TransportSpec): string {
  switch (s.kind) {
    case 'shm':
      return `shm:${resolve(s.root ?? defaultRoot())}`;
    case 'inproc':
      return 'inproc:';
    case 'agent':
      return `agent:${s.socket ?? defaultSocket()}`;
    case 'vm':
      return `vm:${resolve(s.path)}`;
    default:
      return s.address;
  }
}

async function openRaw(s: TransportSpec): Promise<Transport> {
  switch (s.kind) {
    case 'shm':
      return shm(s.root !== undefined ? { root: s.root } : {});
    case 'inproc':
      return inproc({ arena: defaultArena() });
    case 'agent':
      return agent(s.socket !== undefined ? { socket: s.socket } : {});
    case 'vm':
      return arena({ path: s.path, ...(s.size !== undefined ? { size: s.size } : {}) });
    default:
      return connect(s.address, s.connectTimeoutMs !== undefined ? { connectTimeoutMs: s.connectTimeoutMs } : {});
  }
}

/**
 * Opens the transport a spec describes (`inproc:` attaches to defaultArena()). A failure
 * keeps its class and code (NetError for tcp/unix) and its message names the URL and
 * where it came from.
 */
export async function openTransport(spec: TransportSpec): Promise<Transport> {
  try {
    return await openRaw(spec);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const from = `(transport ${JSON.stringify(spec.url)} from ${spec.source})`;
    if (err instanceof NetError && (spec.kind === 'tcp' || spec.kind === 'unix')) {
      const addr = parseNetUrl(spec.address);
      const msg = err.message.startsWith(`${err.url}: `) ? err.message.slice(err.url.length + 2) : err.message;
      throw new NetError(addr, `${msg} ${from}`, err.errno, { cause: err });
    }
    const e = err as Error;
    if (err instanceof IsthmusError) throw new IsthmusError(err.code, `${e.message} ${from}`, err.channel, { cause: err });
    throw new IsthmusError('TRANSPORT', `${e?.message ?? String(err)} ${from}`, undefined, { cause: err });
  }
}

/**
 * Opens what a TransportConfig describes: its transport alone when there are no routes
 * (or every route leads to the same transport), else a RoutedTransport. Every distinct
 * transport is opened once, up front (so a refused connection fails here, not at the first
 * channel); if one fails, those already opened are closed.
 */
export async function openConfigured(config: TransportConfig): Promise<Transport> {
  if (config.routes.length === 0) return openTransport(config.transport);
  const opened = new Map<string, Transport>();
  const get = async (s: TransportSpec): Promise<Transport> => {
    const k = specKey(s);
    let t = opened.get(k);
    if (!t) {
      t = await openTransport(s);
      opened.set(k, t);
    }
    return t;
  };
  try {
    const def = await get(config.transport);
    const routes: Route[] = [];
    for (const r of config.routes) routes.push({ pattern: r.pattern, transport: await get(r.spec) });
    if (opened.size === 1) return def;
    return routed(def, routes, config.file ?? 'routes');
  } catch (err) {
    for (const t of opened.values()) {
      try {
        t.close();
      } catch {
        /* the first error is the one to report */
      }
    }
    throw err;
  }
}

/** The transport of `isthmus.node()` without a transport option: openConfigured(resolveConfig(lookup)). */
export async function configuredTransport(lookup: ConfigLookup = {}): Promise<Transport> {
  return openConfigured(resolveConfig(lookup));
}

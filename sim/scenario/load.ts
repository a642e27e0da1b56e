/**
 * Loads a scenario file (YAML, or JSON when the name ends in .json) into a validated `Scenario`, or
 * fails with a `ScenarioError` listing every problem found, each with the file, line, column, the path
 * inside the file (`workloads[0].mappings[1].size`) and what was expected against what was found.
 *
 * Stages, each reporting all of its problems before the loader stops:
 *   0. syntax: YAML (or JSON) syntax errors, duplicate keys, unusable keys and aliases;
 *   1. the file as written, against `ScenarioFileSchema` (workloads in override form);
 *   2. each workload after its preset is merged in, against `WorkloadSchema` (complete form);
 *   3. meaning: references (nodes, mappings, cgroups), uniqueness, sizes and alignments, and the knobs,
 *      which a small simulated kernel must accept.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { type z } from 'zod';
import { SimKernel, SyscallError } from '../../kernel-model/index.js';
import { mergeWorkload, presetWorkload } from './presets.js';
import { ScenarioFileSchema, WorkloadSchema, type Scenario, type ScenarioFile, type Workload } from './schema.js';

/** One thing wrong with a file. `path` is where inside it (`(root)` for the top). */
export interface Problem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly path: string;
  readonly message: string;
}

/** `FILE:LINE:COL: PATH: MESSAGE` (`FILE: PATH: MESSAGE` when the position is unknown). */
export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.path}: ${p.message}`;
}

/** A file that cannot be used, with every problem found in it (one per line in `message`). */
export class ScenarioError extends Error {
  readonly problems: Problem[];

  constructor(problems: readonly Problem[]) {
    // One line per problem: a message never spans lines (a quoted value may hold a newline).
    const oneLine = problems.map((p) => ({ ...p, message: p.message.replace(/\s*[\r\n]+\s*/g, ' ') }));
    super(oneLine.map(formatProblem).join('\n'));
    this.name = 'ScenarioError';
    this.problems = oneLine;
  }
}

type Seg = string | number;
type Path = readonly Seg[];

/** A problem before it is placed in the file. `key`: point at the key of the last segment, not its value. */
interface Finding {
  readonly path: Path;
  readonly message: string;
  readonly key?: boolean;
  /** The path indexes the workload as written (not merged with its preset). */
  readonly written?: boolean;
}

/** `workloads[0].mappings[1].size`, `machine.knobs["/sys/kernel/mm/ksm/run"]`, `(root)`. */
export function formatPath(path: Path): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

// ---- the text: syntax, and where each path is ---------------------------------------------------------

type YamlDoc = Document.Parsed;

interface Position {
  readonly line: number;
  readonly column: number;
}

/** A parsed file: its data, and the positions of the nodes that data came from. */
export class SourceFile {
  constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: YamlDoc,
    private readonly lines: LineCounter,
  ) {}

  /** Line and column of a source offset (1-based). */
  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where `path` is written: the node at the path, or with `key` the key of its last segment; the nearest
   * existing ancestor when the path is not in the file (a missing key, a value from a preset).
   * `merged`, the data the path refers to when it is not the file's own (a workload merged with its
   * preset), lets list items with a `name` be found by name rather than by index.
   */
  locate(path: Path, key = false, merged?: unknown): Position | undefined {
    let node: unknown = this.doc.contents;
    let at = rangeStart(node);
    let data = merged;
    for (let i = 0; i < path.length; i++) {
      node = this.deref(node);
      const seg = path[i];
      const last = i === path.length - 1;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(this.deref(p.key)) === String(seg));
        if (!pair) break;
        if (last && key) {
          at = rangeStart(pair.key) ?? at;
          break;
        }
        next = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number') {
        next = this.itemOf(node.items, data, seg, path);
      } else break;
      if (next === undefined) break;
      data = child(data, seg);
      node = next;
      at = rangeStart(node) ?? at;
    }
    return at === undefined ? undefined : this.position(at);
  }

  private deref(node: unknown): unknown {
    if (!isAlias(node)) return node;
    try {
      return node.resolve(this.doc) ?? node;
    } catch {
      return node;
    }
  }

  /**
   * The file's item for index `seg` of a list. Inside a workload, an item of the merged data that has a
   * name is the file's item of that name (its n-th, for duplicated names); else the same index.
   */
  private itemOf(items: readonly unknown[], data: unknown, seg: number, path: Path): unknown {
    const list = Array.isArray(data) ? (data as unknown[]) : undefined;
    const name = list && path[0] === 'workloads' && path.length > 3 ? nameOf(list[seg]) : undefined;
    if (list === undefined || name === undefined) return items[seg];
    const occurrence = list.slice(0, seg).filter((d) => nameOf(d) === name).length;
    const same = items.filter((it) => {
      const m = this.deref(it);
      return isMap(m) && m.items.some((p) => keyText(this.deref(p.key)) === 'name' && isScalar(this.deref(p.value)) && scalarText(this.deref(p.value)) === name);
    });
    return same[occurrence];
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? scalarText(key) : undefined;
}

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (v === null) return '';
  if (typeof v === 'string') return v;
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : undefined;
}

function nameOf(v: unknown): string | undefined {
  const name = isRecord(v) ? v.name : undefined;
  return typeof name === 'string' ? name : undefined;
}

function child(data: unknown, seg: Seg): unknown {
  if (Array.isArray(data) && typeof seg === 'number') return data[seg];
  if (isRecord(data) && Object.prototype.hasOwnProperty.call(data, seg)) return data[String(seg)];
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether `path` names a key that the data does not have (as opposed to one holding a bad value). */
function isAbsent(data: unknown, path: Path): boolean {
  let v = data;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') {
      if (seg >= v.length) return true;
      v = v[seg];
    } else if (isRecord(v)) {
      if (!Object.prototype.hasOwnProperty.call(v, seg)) return true;
      v = v[String(seg)];
    } else return false;
  }
  return false;
}

function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) v = child(v, seg);
  return v;
}

/** The first line of a parser's message, without the position it may repeat. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '').trim();
}

/**
 * The path of the innermost node whose source covers `offset` (for syntax errors). An offset on a key
 * gives the key's path with `withKey`, else its map's (a broken line may have been read as a key).
 */
function pathAtOffset(doc: YamlDoc, offset: number, withKey = true): Seg[] {
  const path: Seg[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 1000; depth++) {
    let next: unknown;
    if (isMap(node)) {
      for (const p of node.items) {
        const k = keyText(p.key);
        if (k === undefined) continue;
        if (covers(p.key, offset)) return withKey ? [...path, k] : path;
        if (covers(p.value, offset)) {
          path.push(k);
          next = p.value;
          break;
        }
      }
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => covers(it, offset));
      if (i >= 0) {
        path.push(i);
        next = node.items[i];
      }
    }
    if (next === undefined) break;
    node = next;
  }
  return path;
}

function covers(node: unknown, offset: number): boolean {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === 'number' && typeof range[2] === 'number' && range[0] <= offset && offset < range[2];
}

/**
 * Parses the text of a YAML or JSON file (JSON when `file` ends in .json). Syntax errors, duplicate keys,
 * keys that are lists or mappings, and aliases that cannot be resolved are a ScenarioError.
 */
export function parseSource(text: string, file: string): SourceFile {
  const problems: Problem[] = [];
  const at = (pos: Position | undefined, path: Path, message: string): void =>
    void problems.push({ file, ...(pos ? { line: pos.line, column: pos.column } : {}), path: formatPath(path), message });
  const lines = new LineCounter();
  let jsonFailed = false;
  if (file.toLowerCase().endsWith('.json')) {
    const bom = text.startsWith('\uFEFF') ? 1 : 0;
    try {
      JSON.parse(text.slice(bom));
    } catch (e) {
      jsonFailed = true;
      const message = e instanceof Error ? e.message : String(e);
      // V8 names the position only in some messages, and quotes the text in others.
      const offset = bom + jsonErrorOffset(text.slice(bom));
      const clean = message
        .replace(/,\s*(\.\.\.)?".*"(\.\.\.)?\s*is not valid JSON\s*$/s, '')
        .replace(/\s*at position \d+.*$/s, '')
        .replace(/\s+in JSON$/, '')
        .replace(/\s+/g, ' ');
      problems.push({ file, ...lineColumn(text, offset), path: '(root)', message: `JSON syntax error: ${clean}` });
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const source = new SourceFile(file, undefined, doc, lines);
  if (jsonFailed) throw new ScenarioError(problems);
  for (const err of doc.errors) {
    const offset = err.pos[0];
    const path = pathAtOffset(doc, offset, err.code === 'DUPLICATE_KEY');
    if (err.code === 'DUPLICATE_KEY') {
      const name = path.at(-1);
      const first = firstOccurrence(doc, path, source);
      at(source.position(offset), path, `duplicate key ${JSON.stringify(String(name ?? ''))}${first ? ` (first defined at line ${first.line})` : ''}`);
    } else {
      at(source.position(offset), path, `${file.toLowerCase().endsWith('.json') ? 'JSON' : 'YAML'} syntax error: ${firstLine(err.message)}`);
    }
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  // Keys must be plain scalars (a list as a key would be stringified), and aliases must resolve.
  visit(doc, {
    Pair: (_, pair, nodePath) => {
      let key: unknown = pair.key;
      if (isAlias(key)) key = key.resolve(doc);
      if (pair.key !== null && !isScalar(key)) {
        const start = rangeStart(pair.key);
        at(start === undefined ? undefined : source.position(start), pathOfVisit(nodePath), 'a key must be a plain name or number, not a list or a mapping');
      }
    },
    Alias: (_, alias) => {
      if (alias.resolve(doc) === undefined) {
        const start = rangeStart(alias);
        at(start === undefined ? undefined : source.position(start), pathAtOffset(doc, start ?? 0), `alias *${alias.source} refers to no anchor defined before it`);
      }
    },
  });
  if (problems.length > 0) throw new ScenarioError(problems);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    at(rangeStart(doc.contents) === undefined ? undefined : source.position(rangeStart(doc.contents) ?? 0), [], `the document cannot be read: ${firstLine(e instanceof Error ? e.message : String(e))}`);
    throw new ScenarioError(problems);
  }
  return new SourceFile(file, value, doc, lines);
}

/** The offset of the first JSON syntax error in `text` (which JSON.parse refused). */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw new JsonAt(i);
  };
  const string = (): void => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail();
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail();
        i += 2;
        continue;
      }
      i++;
    }
    fail();
  };
  const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const value = (depth: number): void => {
    if (depth > 5000) fail();
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value(depth + 1);
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    const word = c === 't' ? 'true' : c === 'f' ? 'false' : c === 'n' ? 'null' : undefined;
    if (word !== undefined) {
      for (const w of word) {
        if (text[i] !== w) fail();
        i++;
      }
      return;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) fail();
    i = NUMBER.lastIndex;
  };
  try {
    value(0);
    space();
    return i < text.length ? i : 0;
  } catch (e) {
    return e instanceof JsonAt ? e.offset : 0;
  }
}

class JsonAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** The path of the collection a visited pair belongs to, as far as it can be told from the visit. */
function pathOfVisit(nodePath: readonly unknown[]): Seg[] {
  const path: Seg[] = [];
  for (let i = 1; i < nodePath.length; i++) {
    const parent = nodePath[i - 1];
    const here = nodePath[i];
    if (isSeq(parent)) path.push(parent.items.indexOf(here));
    else if (isMap(parent)) {
      const k = keyText((here as { key?: unknown }).key);
      if (k !== undefined) path.push(k);
    }
  }
  return path;
}

/** Where the first of two equal keys is. */
function firstOccurrence(doc: YamlDoc, path: Path, source: SourceFile): Position | undefined {
  const name = path.at(-1);
  let node: unknown = doc.contents;
  for (const seg of path.slice(0, -1)) {
    if (isMap(node)) node = node.items.find((p) => keyText(p.key) === String(seg))?.value;
    else if (isSeq(node) && typeof seg === 'number') node = node.items[seg];
    else return undefined;
  }
  if (!isMap(node)) return undefined;
  const pair = node.items.find((p) => keyText(p.key) === String(name));
  const start = rangeStart(pair?.key);
  return start === undefined ? undefined : source.position(start);
}

// ---- zod issues as messages -----------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

/** How a found value reads in a message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (ArrayBuffer.isView(v)) return 'binary data';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (isRecord(v)) return Object.keys(v).length === 0 ? 'an empty mapping' : 'a mapping';
  return typeof v;
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
  null: 'an empty value',
};

function typeName(t: string): string {
  return TYPE_NAMES[t] ?? t;
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, small: boolean): string {
  const limit = String((small ? issue.minimum : issue.maximum));
  const n = Number(limit);
  switch (issue.origin) {
    case 'array':
    case 'set':
      return small ? `at least ${limit} item${n === 1 ? '' : 's'}` : `at most ${limit} item${n === 1 ? '' : 's'}`;
    case 'string':
      return small ? `at least ${limit} character${n === 1 ? '' : 's'}` : `at most ${limit} character${n === 1 ? '' : 's'}`;
    default: {
      const op = small ? (issue.inclusive === false ? '>' : '≥') : issue.inclusive === false ? '<' : '≤';
      return `${issue.origin === 'int' ? 'a whole number' : 'a number'} ${op} ${limit}`;
    }
  }
}

/** What an issue says was expected, without what was found. */
function expectation(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return typeName(issue.expected);
    case 'invalid_value':
      return issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return bound(issue, true);
    case 'too_big':
      return bound(issue, false);
    case 'invalid_union': {
      const own = /^expected (.*), got .*$/s.exec(issue.message);
      if (own) return own[1];
      return [...new Set(issue.errors.map((branch) => branch.map(expectation).join(' and ')))].join(' or ');
    }
    default: {
      const own = /^expected (.*), got .*$/s.exec(issue.message);
      return own ? own[1] : issue.message;
    }
  }
}

/** A branch of a union that failed only because the value is of another kind (a number for a list). */
function wrongKind(branch: readonly Issue[]): boolean {
  return branch.every(
    (i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value' || (i.code === 'invalid_union' && i.errors.every(wrongKind))),
  );
}

/** The zod schema at a path inside `schema` (through optional, pipes, lists, records and unions). */
function schemaAt(schema: z.core.$ZodType, path: Path): z.core.$ZodType | undefined {
  let s: z.core.$ZodType | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const current: z.core.$ZodType = unwrap(s);
    const def: z.core.$ZodTypeDef = current._zod.def;
    if (def.type === 'object') s = (def as z.core.$ZodObjectDef).shape[String(seg)];
    else if (def.type === 'array') s = (def as z.core.$ZodArrayDef).element;
    else if (def.type === 'record') s = (def as z.core.$ZodRecordDef).valueType;
    else if (def.type === 'union') {
      const options = (def as z.core.$ZodUnionDef).options.map(unwrap);
      s = options.find((o) => o._zod.def.type === (typeof seg === 'number' ? 'array' : 'object'));
      if (s) s = schemaAt(s, [seg]);
    } else return undefined;
  }
  return s && unwrap(s);
}

function unwrap(s: z.core.$ZodType): z.core.$ZodType {
  for (let i = 0; i < 20; i++) {
    const def = s._zod.def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault' || def.type === 'readonly') {
      s = (def as z.core.$ZodOptionalDef).innerType;
    } else if (def.type === 'pipe') s = (def as z.core.$ZodPipeDef).in;
    else break;
  }
  return s;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function suggestion(key: string, allowed: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const a of allowed) {
    const dist = a.toLowerCase() === lower ? 0 : editDistance(lower, a.toLowerCase());
    if (dist < bestDistance) {
      best = a;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

/** The findings for one zod issue; `data` is what was validated, `schema` what validated it. */
function findingsOf(issue: Issue, data: unknown, schema: z.core.$ZodType, base: Path = []): Finding[] {
  const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  const found = valueAt(data, path);
  const got = `got ${describeValue(found)}`;
  const missing = path.length > 0 && isAbsent(data, path);
  const lastKey = path.at(-1);
  const requiredMessage = (): string => `missing required key ${JSON.stringify(String(lastKey))}: expected ${expectation(issue)}`;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const object = schemaAt(schema, path);
      const allowed = object && object._zod.def.type === 'object' ? Object.keys((object._zod.def as z.core.$ZodObjectDef).shape) : [];
      return issue.keys.map((k) => {
        const like = suggestion(k, allowed);
        const hint = like ? ` (did you mean ${JSON.stringify(like)}?)` : '';
        const list = allowed.length > 0 ? `; allowed keys: ${allowed.join(', ')}` : '';
        return { path: [...path, k], key: true, message: `unknown key ${JSON.stringify(k)}${hint}${list}` };
      });
    }
    case 'invalid_key': {
      const inner = issue.issues[0] as Issue | undefined;
      const what = inner ? expectation(inner) : 'a valid key';
      const expected = /^expected /.test(what) ? what : `expected ${what}`;
      return [{ path, key: true, message: `invalid key ${JSON.stringify(String(lastKey))}: ${expected}` }];
    }
    case 'invalid_union': {
      if (missing) return [{ path, message: requiredMessage() }];
      const fitting = issue.errors.filter((branch) => !wrongKind(branch));
      if (fitting.length === 1) return fitting[0].flatMap((i) => findingsOf(i, data, schema, path));
      return [{ path, message: `expected ${expectation(issue)}, ${got}` }];
    }
    case 'invalid_type':
      if (missing) return [{ path, message: requiredMessage() }];
      return [{ path, message: `expected ${typeName(issue.expected)}, ${got}` }];
    case 'invalid_value':
    case 'too_small':
    case 'too_big':
      if (missing) return [{ path, message: requiredMessage() }];
      return [{ path, message: `expected ${expectation(issue)}, ${got}` }];
    case 'invalid_format':
      return [{ path, message: /^expected /.test(issue.message) ? `${issue.message}, ${got}` : `expected ${issue.format}, ${got}` }];
    case 'not_multiple_of':
      return [{ path, message: `expected a multiple of ${String(issue.divisor)}, ${got}` }];
    case 'custom':
      return [{ path, message: /, got /.test(issue.message) ? issue.message : `${issue.message}, ${got}` }];
    default:
      if (missing) return [{ path, message: requiredMessage() }];
      return [{ path, message: `${issue.message}, ${got}` }];
  }
}

// ---- the stages -----------------------------------------------------------------------------------

/**
 * The findings of a failed parse. zod adds the safe-integer range to every integer: that bound is
 * left out where the value breaks another rule too (`≤ 254` says it all).
 */
function issueFindings(issues: readonly Issue[], data: unknown, schema: z.core.$ZodType): Finding[] {
  const key = (i: Issue): string => JSON.stringify(i.path.map(String));
  const safeRange = (i: Issue): boolean =>
    (i.code === 'too_big' || i.code === 'too_small') && i.origin === 'int' && Math.abs(Number(i.code === 'too_big' ? i.maximum : i.minimum)) === Number.MAX_SAFE_INTEGER;
  const kept = issues.filter((i) => !(safeRange(i) && issues.some((o) => o !== i && !safeRange(o) && key(o) === key(i))));
  return kept.flatMap((i) => findingsOf(i, data, schema));
}

/** Places findings in the file; `merged` as in `SourceFile.locate`. */
function place(source: SourceFile, findings: readonly Finding[], merged?: unknown): Problem[] {
  const problems = findings.map((f): Problem => {
    const pos = source.locate(f.path, f.key ?? false, f.written ? undefined : merged);
    return { file: source.file, ...(pos ? { line: pos.line, column: pos.column } : {}), path: formatPath(f.path), message: f.message };
  });
  // In the order of the file (a stable sort: problems at one place keep their order).
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Parses and validates the text of a scenario file; `file` names it in problems and gives the default name. */
export function parseScenario(text: string, file: string): Scenario {
  try {
    return parseScenarioUnguarded(text, file);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    // A bug of the loader must not look like a crash of the caller: it is reported as a problem.
    throw new ScenarioError([{ file, path: '(root)', message: `internal error while checking the file: ${e instanceof Error ? e.message : String(e)}` }]);
  }
}

/** Reads, parses and validates a scenario file. */
export function loadScenario(file: string): Scenario {
  return parseScenario(readSourceText(file), file);
}

/** The text of a file; a file that cannot be read is a ScenarioError naming it. */
export function readSourceText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const known: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' };
    const why = code !== undefined && code in known ? `${known[code]} (${code})` : e instanceof Error ? e.message : String(e);
    throw new ScenarioError([{ file, path: '(root)', message: `cannot read the file: ${why}` }]);
  }
}

function parseScenarioUnguarded(text: string, file: string): Scenario {
  const source = parseSource(text, file);
  const raw = source.value;

  // Stage 1: the file as written. In an entry with a preset, `key: null` removes the preset's key
  // (presets.ts, mergeWorkload): such keys are not validated here.
  const checked = withoutPresetNulls(raw);
  const written = ScenarioFileSchema.safeParse(checked);
  if (!written.success) {
    throw new ScenarioError(place(source, issueFindings(written.error.issues, checked, ScenarioFileSchema)));
  }
  const sf = written.data;
  const rawRoot = raw as Record<string, unknown>;

  // Stage 2: each workload with its preset merged in, complete.
  const rawEntries = Array.isArray(rawRoot.workloads) ? (rawRoot.workloads as unknown[]) : [];
  const mergedEntries: unknown[] = [];
  const findings: Finding[] = [];
  const workloads: Workload[] = [];
  (sf.workloads ?? []).forEach((w, i) => {
    const entry = rawEntries[i] as Record<string, unknown>;
    let merged: Record<string, unknown>;
    if (w.preset !== undefined) {
      try {
        merged = mergeWorkload(presetWorkload(w.preset), entry);
      } catch (e) {
        findings.push({ path: ['workloads', i, 'preset'], message: `cannot merge preset ${JSON.stringify(w.preset)}: ${e instanceof Error ? e.message : String(e)}` });
        mergedEntries.push(entry);
        return;
      }
    } else merged = entry;
    // A churn workload has no mappings: the complete form's list is then empty (stage 3 checks which).
    if (!isRecord(merged)) merged = {};
    if (!Object.prototype.hasOwnProperty.call(merged, 'mappings')) merged = { ...merged, mappings: [] };
    mergedEntries.push(merged);
    const complete = WorkloadSchema.safeParse(merged);
    if (complete.success) workloads.push(complete.data);
    else {
      const inEntry = issueFindings(complete.error.issues, merged, WorkloadSchema);
      findings.push(...inEntry.map((f) => ({ ...f, path: ['workloads', i, ...f.path] })));
    }
  });
  const mergedRoot = { ...rawRoot, workloads: mergedEntries };
  if (findings.length > 0) throw new ScenarioError(place(source, findings, mergedRoot));

  // Stage 3: meaning.
  const meaning = semanticFindings(sf, workloads);
  if (meaning.length > 0) throw new ScenarioError(place(source, meaning, mergedRoot));

  return {
    file,
    name: sf.name ?? basename(file, extname(file)),
    description: sf.description ?? '',
    seed: sf.seed ?? 1,
    durationMs: sf.duration,
    hotThresholdPerSec: sf.hotThreshold ?? 1,
    sampleEveryMs: sf.sampleEvery ?? 10_000,
    machine: sf.machine,
    cgroups: sf.cgroups ?? [],
    workloads,
  };
}

/** The file's data with the null-valued keys of workload entries that name a preset left out. */
function withoutPresetNulls(raw: unknown): unknown {
  if (!isRecord(raw) || !Array.isArray(raw.workloads)) return raw;
  const strip = (v: unknown, depth: number): unknown => {
    if (depth > 64) return v;
    if (Array.isArray(v)) return v.map((x) => strip(x, depth + 1));
    if (!isRecord(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== null) Object.defineProperty(out, k, { value: strip(x, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const workloads = (raw.workloads as unknown[]).map((w) => (isRecord(w) && w.preset !== undefined && w.preset !== null ? strip(w, 0) : w));
  return { ...raw, workloads };
}

// ---- stage 3: meaning -----------------------------------------------------------------------------

const MiB = 1 << 20;
const PAGE = 4096;

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

function names(list: readonly { name: string }[]): string {
  return [...new Set(list.map((x) => x.name))].join(', ');
}

/** Findings about what the validated file means; paths are the file's. */
function semanticFindings(sf: ScenarioFile, workloads: readonly Workload[]): Finding[] {
  const out: Finding[] = [];
  const add = (path: Path, message: string): void => void out.push({ path, message });
  const m = sf.machine;
  const nodeCount = m.nodes.length;
  const nodeRange = nodeCount === 1 ? 'the machine has 1 node (0)' : `the machine has ${nodeCount} nodes (0–${nodeCount - 1})`;
  const checkNode = (path: Path, id: number): void => {
    if (id >= nodeCount) add(path, `node ${id} does not exist: ${nodeRange}`);
  };

  if (sf.duration <= 0) add(['duration'], 'expected a duration > 0, got 0');
  if (sf.sampleEvery !== undefined && sf.sampleEvery <= 0) add(['sampleEvery'], 'expected a duration > 0, got 0');

  // The machine.
  m.nodes.forEach((n, i) => {
    const path = ['machine', 'nodes', i, 'memory'];
    if (n.memory % MiB !== 0) add(path, `expected a whole number of MiB, got ${n.memory} bytes (${(n.memory / MiB).toFixed(3)} MiB)`);
    else if (n.memory < 64 * MiB) add(path, `expected at least 64MiB, got ${n.memory / MiB}MiB`);
  });
  m.age?.nodes?.forEach((n, k) => checkNode(['machine', 'age', 'nodes', k], n));
  if (m.distances) {
    const d = m.distances;
    if (d.length !== nodeCount) add(['machine', 'distances'], `expected a ${nodeCount}×${nodeCount} matrix (one row per node), got ${d.length} row${d.length === 1 ? '' : 's'}`);
    d.forEach((row, i) => {
      if (row.length !== nodeCount) add(['machine', 'distances', i], `expected ${nodeCount} distance${nodeCount === 1 ? '' : 's'} (one per node), got ${row.length}`);
      row.forEach((v, j) => {
        if (i === j && v !== 10) add(['machine', 'distances', i, j], `expected 10 (a node's distance to itself), got ${v}`);
        if (i !== j && v <= 10) add(['machine', 'distances', i, j], `expected a distance > 10 between two nodes, got ${v}`);
      });
    });
  }

  // Cgroups.
  const cgroups = sf.cgroups ?? [];
  const firstCgroup = new Map<string, number>();
  cgroups.forEach((c, i) => {
    const prior = firstCgroup.get(c.path);
    if (prior !== undefined) add(['cgroups', i, 'path'], `duplicate cgroup ${JSON.stringify(c.path)} (also cgroups[${prior}])`);
    else firstCgroup.set(c.path, i);
  });
  const knownCgroups = new Set<string>(['/']);
  for (const c of cgroups) {
    const parts = c.path.split('/').filter(Boolean);
    for (let k = 1; k <= parts.length; k++) knownCgroups.add(`/${parts.slice(0, k).join('/')}`);
  }

  // Workloads.
  const firstWorkload = new Map<string, number>();
  workloads.forEach((w, i) => {
    const at = (...rest: Seg[]): Seg[] => ['workloads', i, ...rest];
    const prior = firstWorkload.get(w.name);
    if (prior !== undefined) add(at('name'), `duplicate workload name ${JSON.stringify(w.name)} (also workloads[${prior}])`);
    else firstWorkload.set(w.name, i);

    if (typeof w.node === 'number') checkNode(at('node'), w.node);
    else w.node?.forEach((n, k) => checkNode(at('node', k), n));
    if (w.mempolicy) {
      const { mode, nodes } = w.mempolicy;
      nodes?.forEach((n, k) => checkNode(at('mempolicy', 'nodes', k), n));
      if ((mode === 'bind' || mode === 'interleave' || mode === 'preferred') && (nodes ?? []).length === 0) {
        add(at('mempolicy', nodes ? 'nodes' : 'mode'), `mode ${mode} needs nodes: expected a list such as nodes: [0]`);
      }
      if (mode === 'preferred' && nodes && nodes.length > 1) add(at('mempolicy', 'nodes'), `mode preferred takes one node, got ${nodes.length}`);
      if ((mode === 'default' || mode === 'local') && nodes && nodes.length > 0) add(at('mempolicy', 'nodes'), `mode ${mode} takes no nodes (set_mempolicy would fail with EINVAL), got ${nodes.length}`);
    }
    if (w.lifetime !== undefined && w.lifetime <= 0) add(at('lifetime'), 'expected a duration > 0, got 0');
    if (w.cgroup !== undefined && !knownCgroups.has(w.cgroup)) {
      const listed = cgroups.length > 0 ? cgroups.map((c) => c.path).join(', ') : 'none';
      add(at('cgroup'), `cgroup ${JSON.stringify(w.cgroup)} is not declared: expected / or a path of cgroups[] or one of its parents (declared: ${listed})`);
    }
    if (w.start !== undefined && w.stop !== undefined && w.stop <= w.start) add(at('stop'), `expected a stop time after start (${w.start} ms), got ${w.stop} ms`);
    else if (w.start === undefined && w.stop !== undefined && w.stop <= 0) add(at('stop'), `expected a stop time after start (0 ms), got ${w.stop} ms`);

    if (w.churn) {
      if (w.mappings.length > 0) add(at('mappings'), `a churn workload has no mappings (it is kernel activity, not a process), got ${w.mappings.length}`);
      if (w.streams && w.streams.length > 0) add(at('streams'), `a churn workload has no streams, got ${w.streams.length}`);
      if (w.forks && w.forks.length > 0) add(at('forks'), `a churn workload has no forks, got ${w.forks.length}`);
      if (w.churn.pageCacheDropEvery !== undefined && w.churn.pageCacheDropEvery <= 0) add(at('churn', 'pageCacheDropEvery'), 'expected a period > 0, got 0');
    } else if (w.mappings.length === 0) {
      add(at('mappings'), 'a workload needs at least one mapping (or churn, for kernel activity): expected mappings: [{ name, size }]');
    }

    // Names are unique in the entry as written (merging with a preset would fold duplicates together).
    const asWritten = sf.workloads?.[i];
    for (const [list, what] of [[asWritten?.mappings, 'mapping'], [asWritten?.streams, 'stream']] as const) {
      const seen = new Map<string, number>();
      list?.forEach((item, k) => {
        const prior = seen.get(item.name);
        const key = what === 'mapping' ? 'mappings' : 'streams';
        if (prior !== undefined) out.push({ path: at(key, k, 'name'), written: true, message: `duplicate ${what} name ${JSON.stringify(item.name)} (also ${key}[${prior}])` });
        else seen.set(item.name, k);
      });
    }

    const mappingNames = new Set(w.mappings.map((mp) => mp.name));
    w.mappings.forEach((mp, k) => {
      if (mp.size <= 0) add(at('mappings', k, 'size'), `expected a size > 0, got ${mp.size}`);
      else if (mp.size % PAGE !== 0) add(at('mappings', k, 'size'), `expected a multiple of 4KiB (4096 bytes), got ${mp.size} bytes`);
      if (mp.align !== undefined && !(isPowerOfTwo(mp.align) && mp.align >= PAGE)) add(at('mappings', k, 'align'), `expected a power of two ≥ 4KiB (4096), got ${mp.align}`);
      const c = mp.content;
      if (c && (c.duplicated ?? 0) + (c.zero ?? 0) > 1 + 1e-9) {
        add(at('mappings', k, 'content'), `duplicated + zero must be at most 1 (the rest is distinct), got ${c.duplicated ?? 0} + ${c.zero ?? 0} = ${+((c.duplicated ?? 0) + (c.zero ?? 0)).toFixed(6)}`);
      }
    });

    w.streams?.forEach((s, j) => {
      if (!mappingNames.has(s.mapping)) {
        const known = w.mappings.length > 0 ? `mappings: ${names(w.mappings)}` : 'it has no mappings';
        add(at('streams', j, 'mapping'), `no mapping named ${JSON.stringify(s.mapping)} in workload ${JSON.stringify(w.name)} (${known})`);
      }
      const strided = s.pattern === 'strided' || (s.phases ?? []).some((p) => p.pattern === 'strided');
      if (strided && s.stride === undefined) add(at('streams', j, 'stride'), 'missing required key "stride": a strided stream needs the bytes between its accesses, e.g. stride: 4KiB');
      if (s.stride !== undefined && s.stride < 64) add(at('streams', j, 'stride'), `expected a stride ≥ 64 bytes (a cache line), got ${s.stride}`);
      if (s.move && s.move.every <= 0) add(at('streams', j, 'move', 'every'), 'expected a period > 0, got 0');
    });

    w.forks?.forEach((f, k) => {
      if (f.every !== undefined && f.every <= 0) add(at('forks', k, 'every'), 'expected a period > 0, got 0');
    });
  });

  // Knobs: the kernel must take each value, in order.
  out.push(...knobFindings(sf));
  return out;
}

/** Writes each knob into a small simulated kernel with as many nodes; a refusal is a finding. */
function knobFindings(sf: ScenarioFile): Finding[] {
  const knobs = Object.entries(sf.machine.knobs ?? {});
  if (knobs.length === 0) return [];
  const kernel = new SimKernel({ nodes: sf.machine.nodes.map(() => ({ memoryMiB: 64 })), balloon: sf.machine.balloon ?? false });
  const out: Finding[] = [];
  for (const [path, value] of knobs) {
    const text = String(value);
    try {
      kernel.writeFile(path, text);
    } catch (e) {
      let message: string;
      if (e instanceof SyscallError && (e.errno === 'ENOENT' || e.errno === 'ENOTDIR')) message = `the kernel has no file ${path} (${e.errno})`;
      else if (e instanceof SyscallError) {
        let current = '';
        try {
          const read = kernel.readFile(path).trim();
          if (read.length > 0 && read.length <= 100 && !read.includes('\n')) current = `; the file reads: ${read}`;
        } catch {
          // unreadable: nothing to add
        }
        message = `the kernel refused the value ${JSON.stringify(text)} (${e.syscall}: ${e.errno})${current}`;
      } else message = `the kernel refused the value ${JSON.stringify(text)}: ${e instanceof Error ? e.message : String(e)}`;
      out.push({ path: ['machine', 'knobs', path], message });
    }
  }
  return out;
}

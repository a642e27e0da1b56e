/**
 * Config files — YAML, or JSON when the name ends in .json — validated by a zod 4 schema, with every
 * problem reported at once, each with the file, line, column, the path inside the file
 * (`workloads[0].mappings[1].size`) and what was expected against what was found. Used by the daemon's
 * policy files and by the simulator's scenario files (sim/scenario/load.ts, which adds presets).
 *
 * `validateFile` (text) and `loadFile` (a file) run three stages; the first stage that finds problems
 * ends the check with all of them, in a `ConfigFileError`:
 *   0. syntax (`parseSource`): YAML (or JSON) syntax errors, duplicate keys, unusable keys and aliases;
 *   1. the data against the schema (zod's issues in words: zod-messages.ts);
 *   2. meaning: the caller's own findings about the validated value.
 * The parts are exported for loaders with stages of their own: `parseSource` gives a `SourceFile`,
 * which knows where each path is written; `issueFindings` and the caller's findings become problems in
 * the file with `place`.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { type z } from 'zod';
import { child, isRecord, issueFindings, type Finding, type Path, type Seg } from './zod-messages.js';

export { describeValue, issueFindings, type Finding, type Path, type Seg } from './zod-messages.js';

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
export class ConfigFileError extends Error {
  readonly problems: Problem[];

  constructor(problems: readonly Problem[]) {
    // One line per problem: a message never spans lines (a quoted value may hold a newline).
    const oneLine = problems.map((p) => ({ ...p, message: p.message.replace(/\s*[\r\n]+\s*/g, ' ') }));
    super(oneLine.map(formatProblem).join('\n'));
    this.name = 'ConfigFileError';
    this.problems = oneLine;
  }
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

/** A place in a file's text (1-based). */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Data that the paths of findings refer to when it is not the file's own: a scenario's workloads merged
 * with their presets, whose lists hold the preset's items before the file's.
 */
export interface MergedData {
  readonly data: unknown;
  /**
   * Whether, on the way to `path`, an item of a list whose merged item has a `name` is the file's item
   * of that name (its n-th, for duplicated names) rather than the file's item at the same index.
   */
  readonly byName: (path: Path) => boolean;
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
  locate(path: Path, key = false, merged?: MergedData): Position | undefined {
    let node: unknown = this.doc.contents;
    let at = rangeStart(node);
    let data = merged?.data;
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
        next = this.itemOf(node.items, data, seg, path, merged);
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
   * The file's item for index `seg` of a list. Where `merged` says so, an item of the merged data that
   * has a name is the file's item of that name (its n-th, for duplicated names); else the same index.
   */
  private itemOf(items: readonly unknown[], data: unknown, seg: number, path: Path, merged: MergedData | undefined): unknown {
    const list = Array.isArray(data) ? (data as unknown[]) : undefined;
    const name = list && merged?.byName(path) ? nameOf(list[seg]) : undefined;
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
 * keys that are lists or mappings, and aliases that cannot be resolved are a ConfigFileError.
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
  if (jsonFailed) throw new ConfigFileError(problems);
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
  if (problems.length > 0) throw new ConfigFileError(problems);
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
  if (problems.length > 0) throw new ConfigFileError(problems);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    at(rangeStart(doc.contents) === undefined ? undefined : source.position(rangeStart(doc.contents) ?? 0), [], `the document cannot be read: ${firstLine(e instanceof Error ? e.message : String(e))}`);
    throw new ConfigFileError(problems);
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

/** The text of a file; a file that cannot be read is a ConfigFileError naming it. */
export function readSourceText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const known: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' };
    const why = code !== undefined && code in known ? `${known[code]} (${code})` : e instanceof Error ? e.message : String(e);
    throw new ConfigFileError([{ file, path: '(root)', message: `cannot read the file: ${why}` }]);
  }
}

// ---- the stages -----------------------------------------------------------------------------------

/** Places findings in the file, in the order of the file; `merged` as in `SourceFile.locate`. */
export function place(source: SourceFile, findings: readonly Finding[], merged?: MergedData): Problem[] {
  const problems = findings.map((f): Problem => {
    const pos = source.locate(f.path, f.key ?? false, f.written ? undefined : merged);
    return { file: source.file, ...(pos ? { line: pos.line, column: pos.column } : {}), path: formatPath(f.path), message: f.message };
  });
  // In the order of the file (a stable sort: problems at one place keep their order).
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/**
 * Runs `check` on `file`. Any exception but a ConfigFileError is a bug of the checker, which must not
 * look like a crash of the caller: it becomes a ConfigFileError with one problem that says so.
 */
export function reportInternalErrors<T>(file: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ConfigFileError) throw e;
    throw new ConfigFileError([{ file, path: '(root)', message: `internal error while checking the file: ${e instanceof Error ? e.message : String(e)}` }]);
  }
}

/**
 * Parses the text of a config file (YAML, or JSON when `file` ends in .json) and validates it with
 * `schema`, then, when the schema takes it, with `semantic`, whose findings' paths are the file's.
 * Returns the schema's output, or throws a ConfigFileError listing every problem of the first stage that
 * has any: syntax, schema, meaning. `file` names the file in the problems.
 */
export function validateFile<T>(text: string, file: string, schema: z.ZodType<T>, semantic?: (value: T, source: SourceFile) => Finding[]): T {
  return reportInternalErrors(file, () => {
    const source = parseSource(text, file);
    const parsed = schema.safeParse(source.value);
    if (!parsed.success) throw new ConfigFileError(place(source, issueFindings(parsed.error.issues, source.value, schema)));
    const meaning = semantic ? semantic(parsed.data, source) : [];
    if (meaning.length > 0) throw new ConfigFileError(place(source, meaning));
    return parsed.data;
  });
}

/** Reads a config file and validates it as `validateFile` does; a file that cannot be read is a ConfigFileError too. */
export function loadFile<T>(file: string, schema: z.ZodType<T>, semantic?: (value: T, source: SourceFile) => Finding[]): T {
  return validateFile(readSourceText(file), file, schema, semantic);
}

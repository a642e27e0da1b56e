// Helpers shared by the config-file fuzz tests (scenario and policy loaders): the contract every
// reported problem must meet, and structured mutations of a valid file written out as YAML or JSON.
import assert from 'node:assert/strict';
import { stringify } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A reported problem, as the loaders report them. */
export interface ReportedProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly path: string;
  readonly message: string;
}

/**
 * Loads `text` and checks the loaders' contract: a value (checked by `accept`) or an error of
 * `errorClass` whose every problem meets assertProblemContract — never any other exception.
 */
export function checkLoad<T>(
  text: string,
  file: string,
  load: (text: string, file: string) => T,
  accept: (value: T) => void,
  errorClass: new (...args: never[]) => Error & { readonly problems: readonly ReportedProblem[] },
  never?: RegExp,
): 'ok' | 'problems' {
  let error: unknown;
  try {
    accept(load(text, file));
    return 'ok';
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    error = e;
  }
  if (!(error instanceof errorClass)) {
    throw new Error(`not a ${errorClass.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n--- ${file} ---\n${text}`, { cause: error });
  }
  assertProblemContract(error.problems, text, file, never);
  return 'problems';
}

/** Checks every problem of a failed load: the file, a path, a one-line message, a line inside the text. */
export function assertProblemContract(problems: readonly ReportedProblem[], text: string, file: string, never?: RegExp): void {
  assert.ok(problems.length > 0, 'an error without problems');
  const lines = text.split('\n').length;
  for (const p of problems) {
    const where = `${JSON.stringify(p)}\n--- ${file} ---\n${text}`;
    assert.equal(p.file, file, where);
    assert.ok(typeof p.path === 'string' && p.path.length > 0, `no path: ${where}`);
    assert.ok(typeof p.message === 'string' && p.message.length > 0, `no message: ${where}`);
    assert.ok(!p.message.includes('\n'), `a message over several lines: ${where}`);
    assert.ok(!p.message.startsWith('internal error'), `a loader bug: ${where}`);
    if (never) assert.doesNotMatch(p.message, never, where);
    if (p.line !== undefined) {
      assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lines + 1, `line out of the text: ${where}`);
      assert.ok(Number.isInteger(p.column) && (p.column ?? 0) >= 1, `bad column: ${where}`);
    }
  }
}

/** Every path to a value in `v` (the root included). */
export function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setOwn(o: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

export type Mutation = { kind: 'drop' | 'replace' | 'insert'; pick: number; key: string; value: Json };

/** Applies a mutation to a copy of `root`: at the `pick`-th path, drop it, replace its value, or add a key/item. */
export function mutate(root: Json, m: Mutation): Json {
  const copy = structuredClone(root);
  const all = paths(copy);
  const path = all[m.pick % all.length];
  if (path.length === 0) return m.kind === 'replace' ? m.value : copy;
  let parent: Json = copy;
  for (const seg of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[seg];
  const last = path[path.length - 1];
  const target = (parent as Record<string | number, Json>)[last];
  if (m.kind === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete (parent as Record<string, Json>)[String(last)];
  } else if (m.kind === 'replace') {
    if (Array.isArray(parent)) parent[Number(last)] = m.value;
    else setOwn(parent as Record<string, Json>, String(last), m.value);
  } else if (Array.isArray(target)) target.push(m.value);
  else if (target !== null && typeof target === 'object') setOwn(target, m.key, m.value);
  else if (Array.isArray(parent)) parent.push(m.value);
  else setOwn(parent as Record<string, Json>, m.key, m.value);
  return copy;
}

export function serialise(value: Json, format: 'yaml' | 'json' | 'yaml-flow'): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  return stringify(value, { collectionStyle: format === 'yaml-flow' ? 'flow' : 'any', aliasDuplicateObjects: false });
}


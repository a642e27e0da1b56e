/**
 * zod's issues in words, for config files (daemon/config/config-file.ts places them in the file).
 *
 * A `Finding` is a problem before it is placed: a path inside the validated data and a message saying
 * what was expected against what was found (`expected a whole number ≥ 1, got "two"`, `unknown key
 * "sed" (did you mean "seed"?)`, `missing required key "machine": ...`). `issueFindings` turns the
 * issues of a failed zod 4 parse into findings; `describeValue` is how a found value reads. The small
 * helpers for walking data by path are here too, as this is the lowest module of the two.
 */
import { type z } from 'zod';

export type Seg = string | number;
export type Path = readonly Seg[];

/**
 * A problem before it is placed in the file. `key`: point at the key of the last segment, not its value.
 */
export interface Finding {
  readonly path: Path;
  readonly message: string;
  readonly key?: boolean;
  /** The path indexes the file's data as written, not the merged data given to `place` (config-file.ts). */
  readonly written?: boolean;
}

// ---- data, by path --------------------------------------------------------------------------------

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The item `seg` of a list or the own key `seg` of a mapping; undefined when there is none. */
export function child(data: unknown, seg: Seg): unknown {
  if (Array.isArray(data) && typeof seg === 'number') return data[seg];
  if (isRecord(data) && Object.prototype.hasOwnProperty.call(data, seg)) return data[String(seg)];
  return undefined;
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

/**
 * The findings of a failed parse of `data` by `schema` (the issues of its error). zod adds the
 * safe-integer range to every integer: that bound is left out where the value breaks another rule too
 * (`≤ 254` says it all).
 */
export function issueFindings(issues: readonly Issue[], data: unknown, schema: z.core.$ZodType): Finding[] {
  const key = (i: Issue): string => JSON.stringify(i.path.map(String));
  const safeRange = (i: Issue): boolean =>
    (i.code === 'too_big' || i.code === 'too_small') && i.origin === 'int' && Math.abs(Number(i.code === 'too_big' ? i.maximum : i.minimum)) === Number.MAX_SAFE_INTEGER;
  const kept = issues.filter((i) => !(safeRange(i) && issues.some((o) => o !== i && !safeRange(o) && key(o) === key(i))));
  return kept.flatMap((i) => findingsOf(i, data, schema));
}

/**
 * Parsers of the procfs and sysfs texts the daemon reads, for the simulated kernel and a real Linux alike.
 * They follow the formats of Linux 6.18 (fs/proc/meminfo.c, mm/vmstat.c, fs/proc/task_mmu.c,
 * fs/proc/array.c, kernel/sched/psi.c, mm/memcontrol.c, drivers/base/node.c) and take the text exactly as read from the file.
 *
 * Two rules hold for every parser:
 * - Newer kernels add fields. A parser keeps every field it recognises by shape (a `name value` line, a
 *   `key=value` token, a header it knows) in a map keyed by the kernel's own name, so an unknown field is
 *   carried along, never an error; only the fields a record names explicitly are required.
 * - A line of the wrong shape is an error: `ProcfsParseError` names the file kind, the 1-based line
 *   number and the line, so a log shows what the kernel printed.
 *
 * Numbers are JavaScript numbers: exact up to 2^53, which covers counters and every page-aligned address
 * (64-bit addresses like the vsyscall page included, since they are multiples of 4096). The one field
 * that can exceed it, /proc/PID/stat's rsslim (RLIM_INFINITY), is a bigint.
 *
 * This module sees only text: it imports nothing from the kernel model.
 */

/** A procfs/sysfs text that does not have the shape of its file kind. */
export class ProcfsParseError extends Error {
  /**
   * @param kind the file kind, e.g. `meminfo`, `smaps`
   * @param lineNumber 1-based line of the problem, 0 when it concerns the whole text
   * @param line that line's text ('' when lineNumber is 0)
   */
  constructor(
    readonly kind: string,
    readonly lineNumber: number,
    readonly line: string,
    reason: string,
  ) {
    super(lineNumber > 0 ? `${kind}: ${reason} at line ${lineNumber}: ${JSON.stringify(line)}` : `${kind}: ${reason}`);
    this.name = 'ProcfsParseError';
  }
}

/** One line of a text with its 1-based number. */
interface Line {
  readonly n: number;
  readonly text: string;
}

/** The lines of `text`, without the empty string after a final newline. */
function linesOf(text: string): Line[] {
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((t, i) => ({ n: i + 1, text: t }));
}

/** The non-blank lines of `text`. */
function contentLines(text: string): Line[] {
  return linesOf(text).filter((l) => l.text.trim() !== '');
}

/** A decimal integer, or an error naming the line. */
function int(kind: string, at: Line, s: string | undefined): number {
  if (s === undefined || !/^-?\d+$/.test(s)) throw new ProcfsParseError(kind, at.n, at.text, `not a number: ${s ?? '(missing)'}`);
  return Number(s);
}

/** A hexadecimal number without prefix, or an error naming the line. */
function hexNumber(kind: string, at: Line, s: string | undefined): number {
  if (s === undefined || !/^[0-9a-fA-F]+$/.test(s)) throw new ProcfsParseError(kind, at.n, at.text, `not hexadecimal: ${s ?? '(missing)'}`);
  return Number(`0x${s}`);
}

/** `re` matched against the line, or an error saying what was expected. */
function match(kind: string, at: Line, re: RegExp, expected: string): RegExpExecArray {
  const m = re.exec(at.text);
  if (m === null) throw new ProcfsParseError(kind, at.n, at.text, `expected ${expected}`);
  return m;
}

/** Whitespace-separated decimal integers. */
function ints(kind: string, at: Line, s: string): number[] {
  return s.trim().split(/\s+/).map((v) => int(kind, at, v));
}

/** Undoes seq_file's `\ooo` escapes (mangle_path). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

// ---- meminfo-style and vmstat ----------------------------------------------------------------------

/**
 * `Name:   value [kB]` lines: /proc/meminfo, nodeN/meminfo (the `Node N ` prefix is dropped), and any file of
 * that shape. Values are as printed: kB for kB lines, plain counts (HugePages_*) otherwise.
 */
export function parseKeyValueKb(text: string, kind = 'meminfo'): Map<string, number> {
  const values = new Map<string, number>();
  for (const at of contentLines(text)) {
    const m = match(kind, at, /^(?:Node \d+ )?([^\s:]+):\s+(-?\d+)(?: kB)?$/, '"Name: value [kB]"');
    values.set(m[1], int(kind, at, m[2]));
  }
  return values;
}

/** /proc/vmstat: item name to value. */
export function parseVmstat(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const at of contentLines(text)) {
    const m = match('vmstat', at, /^(\S+) (-?\d+)$/, '"name value"');
    values.set(m[1], int('vmstat', at, m[2]));
  }
  return values;
}

// ---- cgroup v2 files -------------------------------------------------------------------------------

/**
 * A cgroup v2 flat-keyed file — `key value` lines: memory.stat, memory.events, memory.events.local —
 * key to value as printed (bytes or counts). `kind` names the file in errors.
 */
export function parseFlatKeyed(text: string, kind = 'flat-keyed'): Map<string, number> {
  const values = new Map<string, number>();
  for (const at of contentLines(text)) {
    const m = match(kind, at, /^(\S+) (\d+)$/, '"key value"');
    values.set(m[1], int(kind, at, m[2]));
  }
  return values;
}

/**
 * cgroup v1 has no `max`: an unlimited memory.limit_in_bytes shows PAGE_COUNTER_MAX pages in bytes
 * (LONG_MAX rounded down to a page, about 2^63). Anything from 2^62 bytes (4 EiB) up is read as that.
 */
export const CGROUP_V1_UNLIMITED = 2 ** 62;

/**
 * A cgroup memory value, either hierarchy: v2's memory.max, memory.high, memory.current, v1's
 * memory.limit_in_bytes, memory.usage_in_bytes. Bytes, or Infinity for v2's `max` and v1's unlimited.
 */
export function parseCgroupLimit(text: string, kind = 'cgroup limit'): number {
  const lines = contentLines(text);
  if (lines.length !== 1) throw new ProcfsParseError(kind, lines[1]?.n ?? 1, lines[1]?.text ?? '', 'expected one line');
  const at = lines[0];
  const m = match(kind, at, /^(max|\d+)$/, '"max" or a byte count');
  if (m[1] === 'max') return Infinity;
  const bytes = int(kind, at, m[1]);
  return bytes >= CGROUP_V1_UNLIMITED ? Infinity : bytes;
}

/** cgroup.procs: the pids, one a line. */
export function parsePidList(text: string, kind = 'cgroup.procs'): number[] {
  return contentLines(text).map((at) => int(kind, at, match(kind, at, /^(\d+)$/, 'a pid')[1]));
}

// ---- buddyinfo and pagetypeinfo --------------------------------------------------------------------

/** One line of /proc/buddyinfo. */
export interface BuddyinfoRecord {
  /** NUMA node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** Free blocks per order, order 0 first. */
  readonly free: number[];
}

/** /proc/buddyinfo, one record per zone line. */
export function parseBuddyinfo(text: string): BuddyinfoRecord[] {
  return contentLines(text).map((at) => {
    const m = match('buddyinfo', at, /^Node (\d+), zone\s+(\S+)((?:\s+\d+)+)\s*$/, '"Node N, zone NAME counts..."');
    return { node: int('buddyinfo', at, m[1]), zone: m[2], free: ints('buddyinfo', at, m[3]) };
  });
}

/** Free blocks of one migratetype of one zone. */
export interface PagetypeFreeRecord {
  /** NUMA node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** Migratetype name (Unmovable, Movable, Reclaimable, HighAtomic, CMA, Isolate). */
  readonly type: string;
  /** Free blocks per order; Linux's capped count `>100000` reads as 100000. */
  readonly counts: number[];
}

/** Pageblocks of each migratetype in one zone. */
export interface PagetypeBlocksRecord {
  /** NUMA node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** Pageblocks per migratetype name. */
  readonly counts: Map<string, number>;
}

/** /proc/pagetypeinfo. */
export interface PagetypeinfoRecord {
  /** `Page block order`. */
  readonly pageblockOrder: number;
  /** `Pages per block`. */
  readonly pagesPerBlock: number;
  /** The free-list rows of every node. */
  readonly free: PagetypeFreeRecord[];
  /** The "Number of blocks type" rows of every node. */
  readonly blocks: PagetypeBlocksRecord[];
}

/** The section of pagetypeinfo being read, with the migratetype names of a block section's header. */
type PagetypeSection = { kind: 'free' } | { kind: 'blocks'; types: string[] } | { kind: 'other' };

const PT = 'pagetypeinfo';
const BLOCKS_HEADER = 'Number of blocks type';

/** /proc/pagetypeinfo; the per-node sections are concatenated. Unknown sections are skipped. */
export function parsePagetypeinfo(text: string): PagetypeinfoRecord {
  const header = new Map<string, number>();
  const free: PagetypeFreeRecord[] = [];
  const blocks: PagetypeBlocksRecord[] = [];
  let section: PagetypeSection = { kind: 'other' };
  for (const at of contentLines(text)) {
    const t = at.text;
    const setting = /^(Page block order|Pages per block):\s*(\d+)$/.exec(t);
    if (setting !== null) header.set(setting[1], int(PT, at, setting[2]));
    else if (t.startsWith('Free pages count per migrate type')) section = { kind: 'free' };
    else if (t.startsWith(BLOCKS_HEADER)) section = { kind: 'blocks', types: t.slice(BLOCKS_HEADER.length).trim().split(/\s+/) };
    else if (!t.startsWith('Node')) section = { kind: 'other' };
    else if (section.kind === 'free') free.push(pagetypeFreeRow(at));
    else if (section.kind === 'blocks') blocks.push(pagetypeBlockRow(at, section.types));
  }
  const pageblockOrder = header.get('Page block order');
  const pagesPerBlock = header.get('Pages per block');
  if (pageblockOrder === undefined || pagesPerBlock === undefined) {
    throw new ProcfsParseError(PT, 0, '', 'no "Page block order" / "Pages per block" header');
  }
  return { pageblockOrder, pagesPerBlock, free, blocks };
}

/** `Node    0, zone   Normal, type    Unmovable    500 ...`. */
function pagetypeFreeRow(at: Line): PagetypeFreeRecord {
  const m = match(PT, at, /^Node\s+(\d+), zone\s+(\S+), type\s+(\S+)((?:\s+>?\d+)+)\s*$/, '"Node N, zone NAME, type TYPE counts..."');
  const counts = m[4].trim().split(/\s+/).map((c) => int(PT, at, c.replace(/^>/, '')));
  return { node: int(PT, at, m[1]), zone: m[2], type: m[3], counts };
}

/** `Node 0, zone   Normal           50 ...` under a "Number of blocks type" header. */
function pagetypeBlockRow(at: Line, types: readonly string[]): PagetypeBlocksRecord {
  const m = match(PT, at, /^Node\s+(\d+), zone\s+(\S+)((?:\s+\d+)+)\s*$/, '"Node N, zone NAME counts..."');
  const values = ints(PT, at, m[3]);
  if (values.length !== types.length) throw new ProcfsParseError(PT, at.n, at.text, `expected ${types.length} block counts`);
  return { node: int(PT, at, m[1]), zone: m[2], counts: new Map(types.map((t, i) => [t, values[i]])) };
}

// ---- zoneinfo --------------------------------------------------------------------------------------

/** One zone of /proc/zoneinfo. */
export interface ZoneinfoRecord {
  /** NUMA node id. */
  readonly node: number;
  /** Zone name. */
  readonly zone: string;
  /** The node's `per-node stats`, present under the node's first populated zone only (else empty). */
  readonly nodeStats: Map<string, number>;
  /** `pages free` (as `free`), boost, min, low, high, promo, spanned, present, managed, cma, node_unreclaimable, start_pfn. */
  readonly fields: Map<string, number>;
  /** lowmem_reserve against each zone type. */
  readonly protection: number[];
  /** Zone counters and NUMA events (populated zones only). */
  readonly stats: Map<string, number>;
  /** Per CPU, CPU 0 first: count, high, batch, high_min, high_max, vm stats threshold. */
  readonly pagesets: Map<string, number>[];
}

/** Which block of a zone the next `name value` line belongs to. */
type ZoneinfoBlock = 'nodeStats' | 'fields' | 'stats' | 'pagesets';

/** Keys after `pagesets` that belong to the zone, not to a CPU. */
const zoneLevelKeys: ReadonlySet<string> = new Set(['node_unreclaimable', 'start_pfn']);

const ZI = 'zoneinfo';

/** /proc/zoneinfo, one record per zone. */
export function parseZoneinfo(text: string): ZoneinfoRecord[] {
  const zones: ZoneinfoRecord[] = [];
  let block: ZoneinfoBlock = 'fields';
  for (const at of contentLines(text)) {
    const header = /^Node (\d+), zone\s+(\S+)$/.exec(at.text);
    if (header !== null) {
      zones.push({ node: int(ZI, at, header[1]), zone: header[2], nodeStats: new Map(), fields: new Map(), protection: [], stats: new Map(), pagesets: [] });
      block = 'fields';
      continue;
    }
    const zone = zones[zones.length - 1];
    if (zone === undefined) throw new ProcfsParseError(ZI, at.n, at.text, 'expected "Node N, zone NAME" first');
    block = zoneinfoLine(zone, block, at);
  }
  return zones;
}

/** Files one line of a zone's block into `zone`; returns the block the next line belongs to. */
function zoneinfoLine(zone: ZoneinfoRecord, block: ZoneinfoBlock, at: Line): ZoneinfoBlock {
  const t = at.text.trim();
  if (t === 'per-node stats') return 'nodeStats';
  if (t === 'pagesets') return 'pagesets';
  const protection = /^protection: \((.*)\)$/.exec(t);
  if (protection !== null) {
    zone.protection.push(...protection[1].split(',').map((p) => int(ZI, at, p.trim())));
    return 'stats';
  }
  const pagesFree = /^pages free\s+(\d+)$/.exec(t);
  if (pagesFree !== null) {
    zone.fields.set('free', int(ZI, at, pagesFree[1]));
    return 'fields';
  }
  if (block === 'pagesets') return zoneinfoPagesetLine(zone, at, t);
  const m = match(ZI, at, /^\s*(\S+)\s+(-?\d+)$/, '"name value"');
  const target = block === 'nodeStats' ? zone.nodeStats : block === 'fields' ? zone.fields : zone.stats;
  target.set(m[1], int(ZI, at, m[2]));
  return block;
}

/** A line after `pagesets`: `cpu: N`, a per-CPU `key: value`, or a zone-level `key: value`. */
function zoneinfoPagesetLine(zone: ZoneinfoRecord, at: Line, t: string): ZoneinfoBlock {
  const m = /^([a-z_ ]+):\s+(-?\d+)$/.exec(t);
  if (m === null) throw new ProcfsParseError(ZI, at.n, at.text, 'expected "key: value"');
  const [key, value] = [m[1], int(ZI, at, m[2])];
  if (key === 'cpu') zone.pagesets.push(new Map());
  else if (zoneLevelKeys.has(key)) zone.fields.set(key, value);
  else {
    const cpu = zone.pagesets[zone.pagesets.length - 1];
    if (cpu === undefined) throw new ProcfsParseError(ZI, at.n, t, 'expected "cpu: N" first');
    cpu.set(key, value);
  }
  return 'pagesets';
}

// ---- maps, smaps, smaps_rollup, numa_maps -----------------------------------------------------------

/** The /proc/PID/maps header of a VMA. */
export interface VmaHeaderRecord {
  /** First address. */
  readonly start: number;
  /** End address (exclusive). */
  readonly end: number;
  /** `rwxp`/`rwxs` column. */
  readonly perms: string;
  /** File offset in bytes. */
  readonly offset: number;
  /** Device major number. */
  readonly major: number;
  /** Device minor number. */
  readonly minor: number;
  /** Inode number. */
  readonly inode: number;
  /** Path or `[heap]`-style name, '' for unnamed anonymous memory. */
  readonly name: string;
}

/** One VMA of /proc/PID/smaps. */
export interface SmapsRecord extends VmaHeaderRecord {
  /** Every `Name: value [kB]` line: kB for kB lines (Rss, AnonHugePages...), plain for the others. */
  readonly fields: Map<string, number>;
  /** THPeligible. */
  readonly thpEligible: boolean;
  /** VmFlags mnemonics in the order printed. */
  readonly vmFlags: string[];
}

/** /proc/PID/smaps_rollup. */
export interface SmapsRollupRecord {
  /** Start of the first VMA. */
  readonly start: number;
  /** End of the last VMA. */
  readonly end: number;
  /** Every `Name: value kB` line, in kB. */
  readonly fields: Map<string, number>;
}

const VMA_HEADER = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+) ?(.*)$/;

/** The header fields of a maps/smaps line, or undefined when the line is not a header. */
function vmaHeader(kind: string, at: Line): VmaHeaderRecord | undefined {
  const m = VMA_HEADER.exec(at.text);
  if (m === null) return undefined;
  return {
    start: hexNumber(kind, at, m[1]), end: hexNumber(kind, at, m[2]), perms: m[3], offset: hexNumber(kind, at, m[4]),
    major: hexNumber(kind, at, m[5]), minor: hexNumber(kind, at, m[6]), inode: int(kind, at, m[7]),
    name: unescapeOctal(m[8].trimStart()),
  };
}

/** A `Name: value [kB]` line of smaps, or undefined when the line has another shape. */
function smapsField(kind: string, at: Line): [string, number] | undefined {
  const m = /^(\w+):\s+(-?\d+)(?: kB)?$/.exec(at.text);
  return m === null ? undefined : [m[1], int(kind, at, m[2])];
}

/** Files a line after a VMA header into that VMA's fields or flags. */
function addSmapsLine(vma: { fields: Map<string, number>; vmFlags: string[] }, at: Line): void {
  const flags = /^VmFlags:(.*)$/.exec(at.text);
  if (flags !== null) {
    vma.vmFlags.push(...flags[1].split(' ').filter((f) => f !== ''));
    return;
  }
  const field = smapsField('smaps', at);
  if (field === undefined) throw new ProcfsParseError('smaps', at.n, at.text, 'expected "Name: value [kB]" or VmFlags');
  vma.fields.set(...field);
}

/**
 * /proc/PID/maps, one record per line (VMA), in the kernel's order (ascending addresses). Every line must
 * be a VMA header — the same header smaps starts each VMA with; the name (after the padding) is
 * unescaped, '' for unnamed anonymous memory.
 */
export function parseMaps(text: string): VmaHeaderRecord[] {
  return contentLines(text).map((at) => {
    const header = vmaHeader('maps', at);
    if (header === undefined) throw new ProcfsParseError('maps', at.n, at.text, 'expected "start-end perms offset major:minor inode [name]"');
    return header;
  });
}

/** /proc/PID/smaps, one record per VMA. */
export function parseSmaps(text: string): SmapsRecord[] {
  const vmas: { header: VmaHeaderRecord; fields: Map<string, number>; vmFlags: string[] }[] = [];
  for (const at of contentLines(text)) {
    const header = vmaHeader('smaps', at);
    if (header !== undefined) {
      vmas.push({ header, fields: new Map(), vmFlags: [] });
      continue;
    }
    const vma = vmas[vmas.length - 1];
    if (vma === undefined) throw new ProcfsParseError('smaps', at.n, at.text, 'expected a VMA header first');
    addSmapsLine(vma, at);
  }
  return vmas.map(({ header, fields, vmFlags }) => ({ ...header, fields, thpEligible: fields.get('THPeligible') === 1, vmFlags }));
}

/** /proc/PID/smaps_rollup. */
export function parseSmapsRollup(text: string): SmapsRollupRecord {
  const [first, ...rest] = contentLines(text);
  if (first === undefined) throw new ProcfsParseError('smaps_rollup', 0, '', 'empty text');
  const header = vmaHeader('smaps_rollup', first);
  if (header?.name !== '[rollup]') throw new ProcfsParseError('smaps_rollup', first.n, first.text, 'expected the [rollup] header');
  const fields = new Map<string, number>();
  for (const at of rest) {
    const field = smapsField('smaps_rollup', at);
    if (field === undefined) throw new ProcfsParseError('smaps_rollup', at.n, at.text, 'expected "Name: value kB"');
    fields.set(...field);
  }
  return { start: header.start, end: header.end, fields };
}

/** One line of /proc/PID/numa_maps. */
export interface NumaMapsRecord {
  /** First address of the VMA. */
  readonly start: number;
  /** Memory policy as printed (`default`, `bind:0-1`, `weighted interleave:0-1`, ...). */
  readonly policy: string;
  /** Path of the mapped file, when file-backed. */
  readonly file?: string;
  /** The initial heap. */
  readonly heap: boolean;
  /** The initial stack. */
  readonly stack: boolean;
  /** A hugetlb mapping. */
  readonly huge: boolean;
  /** Every `key=value` counter: anon, dirty, mapped, mapmax, swapcache, active, writeback, kernelpagesize_kB... */
  readonly counts: Map<string, number>;
  /** Pages per node id (`N0=...`). */
  readonly nodes: Map<number, number>;
}

/** A token that ends the policy: a counter, a node count, `file=` or a marker word. */
const NUMA_NON_POLICY = /^(?:file=|N\d+=|[A-Za-z_]+=\d+$|heap$|stack$|huge$)/;

/** /proc/PID/numa_maps, one record per line. */
export function parseNumaMaps(text: string): NumaMapsRecord[] {
  return contentLines(text).map((at) => {
    const [addr, ...tokens] = at.text.split(' ');
    const policyEnd = tokens.findIndex((t, i) => i > 0 && NUMA_NON_POLICY.test(t));
    const split = policyEnd < 0 ? tokens.length : policyEnd;
    if (split === 0) throw new ProcfsParseError('numa_maps', at.n, at.text, 'expected a memory policy');
    const policy = tokens.slice(0, split).join(' ');
    return { start: hexNumber('numa_maps', at, addr), policy, ...numaMapsTokens(at, tokens.slice(split)) };
  });
}

/** The backing, markers and counters after the policy of a numa_maps line; unknown words are skipped. */
function numaMapsTokens(at: Line, tokens: readonly string[]): Omit<NumaMapsRecord, 'start' | 'policy'> {
  const words = new Set<string>();
  const counts = new Map<string, number>();
  const nodes = new Map<number, number>();
  let file: string | undefined;
  for (const t of tokens) {
    const node = /^N(\d+)=(\d+)$/.exec(t);
    const counter = /^(\w+)=(\d+)$/.exec(t);
    if (t.startsWith('file=')) file = unescapeOctal(t.slice('file='.length));
    else if (node !== null) nodes.set(int('numa_maps', at, node[1]), int('numa_maps', at, node[2]));
    else if (counter !== null) counts.set(counter[1], int('numa_maps', at, counter[2]));
    else if (t.includes('=')) throw new ProcfsParseError('numa_maps', at.n, at.text, `malformed counter ${t}`);
    else words.add(t);
  }
  const markers = { heap: words.has('heap'), stack: words.has('stack'), huge: words.has('huge'), counts, nodes };
  return file === undefined ? markers : { file, ...markers };
}

// ---- status, stat, ksm_stat ------------------------------------------------------------------------

/** /proc/PID/status. */
export interface ProcStatusRecord {
  /** Name, unescaped. */
  readonly name: string;
  /** State letter. */
  readonly state: string;
  /** Tgid. */
  readonly tgid: number;
  /** Pid. */
  readonly pid: number;
  /** PPid. */
  readonly ppid: number;
  /** Threads. */
  readonly threads: number;
  /** THP_enabled, when the kernel prints it (6.x). */
  readonly thpEnabled: boolean | undefined;
  /** Every `Name:\t N kB` line, in kB (VmRSS, RssAnon, VmSwap...). */
  readonly kb: Map<string, number>;
  /** Every line's raw value after `Name:\t`. */
  readonly fields: Map<string, string>;
}

/** /proc/PID/status. */
export function parseStatus(text: string): ProcStatusRecord {
  const fields = new Map<string, string>();
  const lineOf = new Map<string, Line>();
  const kb = new Map<string, number>();
  for (const at of contentLines(text)) {
    const m = match('status', at, /^([^:\t]+):\t?(.*)$/, '"Name:\\tvalue"');
    fields.set(m[1], m[2]);
    lineOf.set(m[1], at);
    const size = /^\s*(\d+) kB$/.exec(m[2]);
    if (size !== null) kb.set(m[1], int('status', at, size[1]));
  }
  const required = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined) throw new ProcfsParseError('status', 0, '', `no ${key} line`);
    return v;
  };
  const number = (key: string): number => int('status', lineOf.get(key) ?? { n: 0, text: '' }, required(key));
  const thp = fields.get('THP_enabled');
  return {
    name: required('Name').replace(/\\(n|\\)/g, (_, c: string) => (c === 'n' ? '\n' : '\\')),
    state: required('State').charAt(0),
    tgid: number('Tgid'), pid: number('Pid'), ppid: number('PPid'), threads: number('Threads'),
    thpEnabled: thp === undefined ? undefined : thp === '1',
    kb, fields,
  };
}

/** /proc/PID/stat, fields named as in proc_pid_stat(5). Times in clock ticks, rss in pages. */
export interface ProcStatRecord {
  readonly pid: number; readonly comm: string; readonly state: string; readonly ppid: number;
  readonly pgrp: number; readonly session: number; readonly ttyNr: number; readonly tpgid: number;
  readonly flags: number; readonly minflt: number; readonly cminflt: number; readonly majflt: number;
  readonly cmajflt: number; readonly utime: number; readonly stime: number; readonly cutime: number;
  readonly cstime: number; readonly priority: number; readonly nice: number; readonly numThreads: number;
  readonly itrealvalue: number; readonly starttime: number; readonly vsize: number; readonly rss: number;
  readonly rsslim: bigint; readonly startcode: number; readonly endcode: number; readonly startstack: number;
  readonly kstkesp: number; readonly kstkeip: number; readonly signal: number; readonly blocked: number;
  readonly sigignore: number; readonly sigcatch: number; readonly wchan: number; readonly nswap: number;
  readonly cnswap: number; readonly exitSignal: number; readonly processor: number; readonly rtPriority: number;
  readonly policy: number; readonly delayacctBlkioTicks: number; readonly guestTime: number;
  readonly cguestTime: number; readonly startData: number; readonly endData: number; readonly startBrk: number;
  readonly argStart: number; readonly argEnd: number; readonly envStart: number; readonly envEnd: number;
  readonly exitCode: number;
}

/** Names of fields 4..52 of stat, in order (25, rsslim, is read as a bigint). */
const statFields = [
  'ppid', 'pgrp', 'session', 'ttyNr', 'tpgid', 'flags', 'minflt', 'cminflt', 'majflt', 'cmajflt', 'utime',
  'stime', 'cutime', 'cstime', 'priority', 'nice', 'numThreads', 'itrealvalue', 'starttime', 'vsize', 'rss',
  'rsslim', 'startcode', 'endcode', 'startstack', 'kstkesp', 'kstkeip', 'signal', 'blocked', 'sigignore',
  'sigcatch', 'wchan', 'nswap', 'cnswap', 'exitSignal', 'processor', 'rtPriority', 'policy',
  'delayacctBlkioTicks', 'guestTime', 'cguestTime', 'startData', 'endData', 'startBrk', 'argStart', 'argEnd',
  'envStart', 'envEnd', 'exitCode',
] as const;

/** /proc/PID/stat. The comm may hold spaces and parentheses: it ends at the last `)`. Extra fields are ignored. */
export function parseStat(text: string): ProcStatRecord {
  const at: Line = { n: 1, text: text.replace(/\n$/, '') };
  const open = at.text.indexOf(' (');
  const close = at.text.lastIndexOf(') ');
  if (open < 0 || close < open) throw new ProcfsParseError('stat', at.n, at.text, 'expected "pid (comm) state ..."');
  const [state, ...rest] = at.text.slice(close + 2).split(' ');
  if (rest.length < statFields.length) throw new ProcfsParseError('stat', at.n, at.text, `expected ${statFields.length + 3} fields`);
  const numeric = statFields.flatMap((name, i) => (name === 'rsslim' ? [] : [[name, int('stat', at, rest[i])] as const]));
  // Every name but rsslim is in `numeric`, so the object has all the numeric fields.
  const numbers = Object.fromEntries(numeric) as Record<Exclude<(typeof statFields)[number], 'rsslim'>, number>;
  const rsslim = rest[statFields.indexOf('rsslim')];
  if (!/^\d+$/.test(rsslim)) throw new ProcfsParseError('stat', at.n, at.text, `not a number: ${rsslim}`);
  return { pid: int('stat', at, at.text.slice(0, open)), comm: at.text.slice(open + 2, close), state, ...numbers, rsslim: BigInt(rsslim) };
}

/** /proc/PID/ksm_stat. */
export interface KsmStatRecord {
  /** ksm_rmap_items. */
  readonly rmapItems: number;
  /** ksm_zero_pages. */
  readonly zeroPages: number;
  /** ksm_merging_pages. */
  readonly mergingPages: number;
  /** ksm_process_profit, bytes (may be negative). */
  readonly processProfit: number;
  /** ksm_merge_any. */
  readonly mergeAny: boolean;
  /** ksm_mergeable. */
  readonly mergeable: boolean;
}

/** /proc/PID/ksm_stat: `name value` and `name: yes|no` lines; unknown lines of either shape are skipped. */
export function parseKsmStat(text: string): KsmStatRecord {
  const values = new Map<string, number>();
  const flags = new Map<string, boolean>();
  for (const at of contentLines(text)) {
    const m = match('ksm_stat', at, /^(\w+)(?: (-?\d+)|: (yes|no))$/, '"name value" or "name: yes|no"');
    if (m[3] === undefined) values.set(m[1], int('ksm_stat', at, m[2]));
    else flags.set(m[1], m[3] === 'yes');
  }
  const need = <T>(map: Map<string, T>, key: string): T => {
    const v = map.get(key);
    if (v === undefined) throw new ProcfsParseError('ksm_stat', 0, '', `no ${key} line`);
    return v;
  };
  return {
    rmapItems: need(values, 'ksm_rmap_items'), zeroPages: need(values, 'ksm_zero_pages'),
    mergingPages: need(values, 'ksm_merging_pages'), processProfit: need(values, 'ksm_process_profit'),
    mergeAny: need(flags, 'ksm_merge_any'), mergeable: need(flags, 'ksm_mergeable'),
  };
}

// ---- pressure, choice files, range lists -----------------------------------------------------------

/** One line of a PSI file. */
export interface PressureLineRecord {
  /** avg10, percent. */
  readonly avg10: number;
  /** avg60, percent. */
  readonly avg60: number;
  /** avg300, percent. */
  readonly avg300: number;
  /** Total stall time, microseconds. */
  readonly total: number;
}

/** /proc/pressure/{memory,io,cpu}. */
export interface PressureRecord {
  /** The `some` line. */
  readonly some: PressureLineRecord;
  /** The `full` line (absent from old kernels' cpu file). */
  readonly full?: PressureLineRecord;
}

/** /proc/pressure/*: `some|full avg10=.. avg60=.. avg300=.. total=..`; unknown keys are ignored. */
export function parsePressure(text: string): PressureRecord {
  const lines = new Map<string, PressureLineRecord>();
  for (const at of contentLines(text)) {
    const m = match('pressure', at, /^(some|full)((?: \w+=[\d.]+)+)$/, '"some|full key=value..."');
    const kv = new Map(m[2].trim().split(' ').map((t) => t.split('=') as [string, string]));
    const num = (key: string): number => {
      const v = kv.get(key);
      if (v === undefined || !/^\d+(?:\.\d+)?$/.test(v)) throw new ProcfsParseError('pressure', at.n, at.text, `bad or missing ${key}`);
      return Number(v);
    };
    lines.set(m[1], { avg10: num('avg10'), avg60: num('avg60'), avg300: num('avg300'), total: num('total') });
  }
  const some = lines.get('some');
  if (some === undefined) throw new ProcfsParseError('pressure', 0, '', 'no "some" line');
  const full = lines.get('full');
  return full === undefined ? { some } : { some, full };
}

/** A choice file's options and its current value. */
export interface ChoiceRecord {
  /** Every choice, in the order printed. */
  readonly choices: string[];
  /** The bracketed one. */
  readonly current: string;
}

/** A sysfs choice file: `always [madvise] never` (surrounding whitespace and newline allowed). */
export function parseChoice(text: string): ChoiceRecord {
  const at: Line = { n: 1, text: text.trim() };
  const tokens = at.text.split(/\s+/);
  const bracketed = tokens.filter((t) => /^\[[^\s[\]]+\]$/.test(t));
  if (bracketed.length !== 1 || tokens.some((t) => /[[\]]/.test(t) && !bracketed.includes(t))) {
    throw new ProcfsParseError('sysfs choice', at.n, at.text, 'expected exactly one [bracketed] choice');
  }
  return { choices: tokens.map((t) => t.replace(/^\[(.*)\]$/, '$1')), current: bracketed[0].slice(1, -1) };
}

/**
 * A `%*pbl` range list (`0-3,8`: Cpus_allowed_list and Mems_allowed_list of status,
 * /sys/devices/system/node/online and nodeN/cpulist) as the numbers, in the order printed (ascending).
 */
export function parseRangeList(text: string): number[] {
  const at: Line = { n: 1, text: text.trim() };
  if (at.text === '') return [];
  return at.text.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new ProcfsParseError('range list', at.n, at.text, `expected "N" or "N-M", got ${part}`);
    const [from, to] = [int('range list', at, m[1]), int('range list', at, m[2] ?? m[1])];
    if (to < from) throw new ProcfsParseError('range list', at.n, at.text, `descending range ${part}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** /proc/PID/cgroup: the process's cgroup in the unified (v2) hierarchy, and per v1 controller. */
export interface ProcCgroupRecord {
  /** Path in the v2 hierarchy (the `0::` line), when the host mounts one. */
  readonly unified: string | undefined;
  /** v1 hierarchies: controller (or `name=...`) → path. */
  readonly v1: ReadonlyMap<string, string>;
}

/**
 * `/proc/PID/cgroup`: lines `hierarchy-ID:controller-list:path`. A v2 host has one line `0::/path`; a
 * v1 host one line per hierarchy (`4:memory:/path`, `1:name=systemd:/`), whose controllers may be
 * comma-separated (`3:cpu,cpuacct:/`); a hybrid host has both.
 */
export function parseProcCgroup(text: string): ProcCgroupRecord {
  let unified: string | undefined;
  const v1 = new Map<string, string>();
  for (const at of contentLines(text)) {
    const m = match('cgroup', at, /^(\d+):([^:]*):(\/.*)$/, '"ID:controllers:/path"');
    if (m[1] === '0' && m[2] === '') unified = m[3];
    else for (const c of m[2].split(',')) if (c !== '') v1.set(c, m[3]);
  }
  return { unified, v1 };
}

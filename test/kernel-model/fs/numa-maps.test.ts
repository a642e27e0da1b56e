import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatNumaMaps, formatNumaMapsVma, type NumaMapsVma } from '../../../kernel-model/fs/numa-maps.js';
import { parseNumaMaps, type NumaMapsRecord } from '../../../daemon/kernel-port/procfs-parsers.js';
import { projectRoot } from '../../support/paths.js';

const golden = (name: string) => readFileSync(join(projectRoot, 'test/fixtures/golden', name), 'utf8');

/** The walk's counters rebuilt from what Linux chose to print. */
function vmaOf(r: NumaMapsRecord): NumaMapsVma {
  const c = (k: string) => r.counts.get(k) ?? 0;
  const pages = r.counts.get('mapped') ?? Math.max(c('anon'), c('dirty'));
  const nodes: number[] = [];
  for (const [node, n] of r.nodes) nodes[node] = n;
  return {
    start: r.start, policy: r.policy,
    ...(r.file === undefined ? {} : { file: r.file }),
    ...(r.heap ? { special: 'heap' as const } : r.stack ? { special: 'stack' as const } : {}),
    pages, anon: c('anon'), dirty: c('dirty'), mapmax: c('mapmax') || 1, swapcache: c('swapcache'),
    active: r.counts.get('active') ?? pages, writeback: c('writeback'), nodes: Array.from(nodes, (n) => n ?? 0),
  };
}

test('formatNumaMaps reproduces /proc/PID/numa_maps byte for byte', () => {
  const text = golden('proc-PID-numa_maps.txt');
  assert.equal(formatNumaMaps(parseNumaMaps(text).map(vmaOf)), text);
});

const vma: NumaMapsVma = {
  start: 0x7f0000000000, policy: 'bind:0-1', pages: 10, anon: 10, dirty: 4, mapmax: 1, swapcache: 0, active: 10,
  writeback: 0, nodes: [0, 6, 4],
};

test('counters follow Linux\'s rules: zero, equal-to-pages and mapcount 1 are left out', () => {
  assert.equal(formatNumaMapsVma(vma), '7f0000000000 bind:0-1 anon=10 dirty=4 N1=6 N2=4 kernelpagesize_kB=4\n');
  assert.equal(
    formatNumaMapsVma({ ...vma, anon: 0, dirty: 0, mapmax: 3, swapcache: 2, active: 1, writeback: 1, file: '/lib/a b=c' }),
    '7f0000000000 bind:0-1 file=/lib/a\\040b\\075c mapped=10 mapmax=3 swapcache=2 active=1 writeback=1 N1=6 N2=4 kernelpagesize_kB=4\n',
  );
});

test('a VMA without resident pages prints only its address, policy and backing', () => {
  assert.equal(formatNumaMapsVma({ ...vma, pages: 0, special: 'stack' }), '7f0000000000 bind:0-1 stack\n');
});

/**
 * KSM's stable tree (mm/ksm.c: stable_tree_search, stable_tree_insert, stable_tree_append,
 * stable_node_dup, remove_node_from_stable_tree): the KSM pages, by content, with the rmap items of the
 * addresses merged into each.
 *
 *   roots[nid]: content ──► regular node ── kpfn, hlist of rmap items (rmap_hlist_len of them)
 *                       └─► chain ── dup ── dup ── dup      (one KSM page each, same content)
 *
 * A KSM page takes sharers while rmap_hlist_len < max_page_sharing; when every page of a content is
 * full, the next identical pair makes a new KSM page and the node becomes a chain of dups
 * (stable_node_chains, stable_node_dups). Lookups take the fullest dup that still has room (the first
 * with room when not pruning); every `stable_node_chains_prune_millisecs` a lookup walks all dups,
 * dropping stale ones and collapsing a chain left with one dup. Linux keeps an rbtree ordered by
 * memcmp; the model keys a Map by the content value, which a KSM page cannot change (it is mapped
 * read-only and a write copies it), so the Map's order-free lookup finds what the rbtree walk finds.
 *
 * Nodes hold no reference on their page ("keyhole reference", ksm_get_folio): a node is stale once its
 * frame is no longer the KSM page it names (freed after its last mapping went, or reused), and stale
 * nodes are removed when a lookup or one of their rmap items runs into them, taking their items out of
 * pages_shared/pages_sharing then. Nodes are a pool of typed arrays like the rmap items (36 bytes each);
 * `pfnNode` maps a KSM frame to its node (Linux keeps it in folio->mapping).
 *
 * Counters: pages_shared = nodes (regular or dup) with at least one rmap item; pages_sharing = the other
 * items of those nodes. An item appended to a node with items counts as sharing, the first as shared;
 * removals mirror that (the last item of a node takes `shared` with it).
 */
import { PG, type PageFrames } from './page-flags.js';
import { STABLE_FLAG, type RmapItems } from './ksm-items.js';

/** rmap_hlist_len of a chain (STABLE_NODE_CHAIN). */
export const STABLE_NODE_CHAIN = -1024;

/** The stable tree. */
export class StableTree {
  kpfn: Int32Array;
  /** rmap_hlist_len, or STABLE_NODE_CHAIN. */
  len: Int32Array;
  nid: Int16Array;
  content: Float64Array;
  /** First rmap item (regular node, dup) or first dup (chain). */
  hlist: Int32Array;
  /** A dup's chain, else -1. */
  chainOf: Int32Array;
  dnext: Int32Array;
  dprev: Int32Array;
  /** A chain's last full prune (ms). */
  pruneTime: Float64Array;
  private capacity: number;
  private top = 0;
  private readonly freeList: number[] = [];
  /** Per tree (one, or one per node without merge_across_nodes): content → top-level node. */
  readonly roots: Map<number, number>[];
  /** KSM frame → its node (folio_stable_node). */
  readonly pfnNode = new Map<number, number>();

  /** ksm_pages_shared, ksm_pages_sharing, ksm_stable_node_chains, ksm_stable_node_dups. */
  pagesShared = 0;
  pagesSharing = 0;
  chains = 0;
  dups = 0;
  maxPageSharing = 256;
  pruneMs = 2000;

  constructor(
    private readonly frames: PageFrames,
    private readonly items: RmapItems,
    nodeCount: number,
    /** mm->ksm_merging_pages of an item's mm changes by `delta`. */
    private readonly mergingPages: (item: number, delta: number) => void,
    private readonly now: () => number,
  ) {
    this.roots = Array.from({ length: nodeCount }, () => new Map<number, number>());
    this.capacity = 256;
    this.kpfn = new Int32Array(256);
    this.len = new Int32Array(256);
    this.nid = new Int16Array(256);
    this.content = new Float64Array(256);
    this.hlist = new Int32Array(256);
    this.chainOf = new Int32Array(256);
    this.dnext = new Int32Array(256);
    this.dprev = new Int32Array(256);
    this.pruneTime = new Float64Array(256);
  }

  /** Nodes of the tree (regular, chains and dups). */
  get nodeCount(): number {
    return this.top - this.freeList.length;
  }

  // ---- lookups ----------------------------------------------------------------------------------

  /** The node of a KSM page (folio_stable_node), or -1. */
  pageStableNode(pfn: number): number {
    if (!this.frames.has(pfn, PG.ksm)) return -1;
    return this.pfnNode.get(pfn) ?? -1;
  }

  /** is_page_sharing_candidate with an offset: the node has items and room for `offset` + 1 more. */
  isCandidate(node: number, offset = 0): boolean {
    const n = this.len[node];
    return n > 0 && n + offset < this.maxPageSharing;
  }

  /** ksm_get_folio: the node's page if it is still that KSM page; a stale node is removed (-1). */
  getFolio(node: number): number {
    const pfn = this.kpfn[node];
    if (this.frames.has(pfn, PG.ksm) && this.pfnNode.get(pfn) === node) return pfn;
    this.removeNode(node);
    return -1;
  }

  /**
   * stable_tree_search: the KSM page `pfn` should merge into — itself when it is already a KSM page (a
   * forked mapping), else a page of equal content with room in tree `nid` — or -1.
   */
  search(pfn: number, nid: number): number {
    if (this.pageStableNode(pfn) >= 0) return pfn;
    const root = this.roots[nid];
    const content = this.frames.content(pfn);
    for (;;) {
      const top = root.get(content);
      if (top === undefined) return -1;
      const found = this.resolve(top, true);
      if (found.pfn < 0) continue; // it was stale and is gone: search again
      return this.isCandidate(found.dup) ? found.pfn : -1;
    }
  }

  /**
   * stable_tree_insert: a node for the new KSM page `kpfn`; a dup of a chain when a page of the same
   * content is already in tree `nid` (all of its pages full).
   */
  insert(kpfn: number, nid: number): number {
    const root = this.roots[nid];
    const content = this.frames.content(kpfn);
    let top = -1;
    for (;;) {
      const t = root.get(content);
      if (t === undefined) break;
      const found = this.resolve(t, false);
      if (found.pfn >= 0) {
        top = found.top;
        break;
      }
    }
    const dup = this.allocNode();
    this.kpfn[dup] = kpfn;
    this.len[dup] = 0;
    this.nid[dup] = nid;
    this.content[dup] = content;
    if (top < 0) root.set(content, dup);
    else {
      const chain = this.len[top] === STABLE_NODE_CHAIN ? top : this.makeChain(top);
      this.addDup(dup, chain);
    }
    this.pfnNode.set(kpfn, dup);
    return dup;
  }

  /**
   * stable_tree_append: item `item` now maps the node's page. (A forked mapping may take a node past
   * max_page_sharing: Linux only skips a warning then, so the model has no bypass flag.)
   */
  append(item: number, node: number): void {
    const it = this.items;
    this.len[node]++;
    const first = this.hlist[node];
    it.head[item] = node;
    it.flags[item] = STABLE_FLAG;
    it.hprev[item] = -1;
    it.hnext[item] = first;
    if (first >= 0) it.hprev[first] = item;
    this.hlist[node] = item;
    if (first >= 0) this.pagesSharing++;
    else this.pagesShared++;
    this.mergingPages(item, 1);
  }

  /** The stable half of remove_rmap_item_from_tree. */
  removeItem(item: number): void {
    const it = this.items;
    const node = it.head[item];
    if (this.getFolio(node) < 0) return; // the stale node took the item out with it
    const prev = it.hprev[item];
    const next = it.hnext[item];
    if (prev >= 0) it.hnext[prev] = next;
    else this.hlist[node] = next;
    if (next >= 0) it.hprev[next] = prev;
    if (this.hlist[node] >= 0) this.pagesSharing--;
    else this.pagesShared--;
    this.mergingPages(item, -1);
    this.len[node]--;
    it.head[item] = -1;
    it.flags[item] = 0;
  }

  /**
   * remove_all_stable_nodes (run=2, and before max_page_sharing or merge_across_nodes may change):
   * forgets every node whose page is no longer mapped; true (EBUSY) if a mapped one stopped it.
   */
  removeAll(): boolean {
    let busy = false;
    for (const root of this.roots) {
      for (;;) {
        const top = root.keys().next();
        if (top.done) break;
        if (this.removeTop(root.get(top.value)!)) {
          busy = true;
          break;
        }
      }
    }
    return busy;
  }

  /** Forgets the node of a frame about to become a new KSM page (folio_set_stable_node(folio, NULL)). */
  forgetFrame(pfn: number): void {
    this.pfnNode.delete(pfn);
  }

  /**
   * folio_migrate_ksm: the KSM page moved from `from` to `to`. With one tree per node (`newNid` given),
   * a node whose page changed node is moved to the new node's tree at once, as a dup if that tree has
   * the content already (Linux parks it on migrate_nodes until ksmd next meets the page).
   */
  migrated(from: number, to: number, newNid: number): void {
    const node = this.pfnNode.get(from);
    if (node === undefined) return;
    this.pfnNode.delete(from);
    this.pfnNode.set(to, node);
    this.kpfn[node] = to;
    if (this.nid[node] === newNid) return;
    this.unlinkNode(node);
    this.nid[node] = newNid;
    const root = this.roots[newNid];
    const content = this.content[node];
    const top = root.get(content);
    if (top === undefined) root.set(content, node);
    else this.addDup(node, this.len[top] === STABLE_NODE_CHAIN ? top : this.makeChain(top));
  }

  // ---- chains -----------------------------------------------------------------------------------

  /**
   * __stable_node_chain: for a regular node, itself and its page; for a chain, the dup to use
   * (stable_node_dup), pruning stale dups when `prune` is asked and due. `top` is what the tree now
   * holds for the content (a chain left with one dup collapses into that dup).
   */
  private resolve(top: number, prune: boolean): { dup: number; pfn: number; top: number } {
    if (this.len[top] !== STABLE_NODE_CHAIN) return { dup: top, pfn: this.getFolio(top), top };
    const chain = top;
    const now = this.now();
    if (prune && now >= this.pruneTime[chain] + this.pruneMs) this.pruneTime[chain] = now;
    else prune = false;
    let found = -1;
    let foundLen = 0;
    let foundPfn = -1;
    for (let dup = this.hlist[chain]; dup >= 0; ) {
      const next = this.dnext[dup];
      const pfn = this.getFolio(dup);
      if (pfn >= 0 && (found < 0 || (this.isCandidate(dup) && (!this.isCandidate(found) || this.len[dup] > foundLen)))) {
        found = dup;
        foundLen = this.len[dup];
        foundPfn = pfn;
        if (!prune && this.isCandidate(found)) break;
      }
      dup = next;
    }
    if (found < 0) {
      this.freeChain(chain);
      return { dup: -1, pfn: -1, top: -1 };
    }
    if (this.hlist[chain] === found && this.dnext[found] < 0) {
      // The chain's only dup: drop the chain, the dup takes its place in the tree.
      this.roots[this.nid[chain]].set(this.content[chain], found);
      this.chainOf[found] = -1;
      this.dnext[found] = -1;
      this.dprev[found] = -1;
      this.releaseNode(chain);
      this.chains--;
      this.dups--;
      return { dup: found, pfn: foundPfn, top: found };
    }
    if (this.hlist[chain] !== found && this.isCandidate(found, 1)) {
      this.unlinkDup(found);
      this.addDup(found, chain, false);
    }
    return { dup: found, pfn: foundPfn, top: chain };
  }

  /** alloc_stable_node_chain: `node` becomes the first dup of a new chain that takes its tree place. */
  private makeChain(node: number): number {
    const chain = this.allocNode();
    this.len[chain] = STABLE_NODE_CHAIN;
    this.kpfn[chain] = -1;
    this.nid[chain] = this.nid[node];
    this.content[chain] = this.content[node];
    this.pruneTime[chain] = this.now();
    this.roots[this.nid[chain]].set(this.content[chain], chain);
    this.chains++;
    this.addDup(node, chain);
    return chain;
  }

  /** stable_node_chain_add_dup: at the head of the chain's dups. */
  private addDup(dup: number, chain: number, count = true): void {
    const first = this.hlist[chain];
    this.chainOf[dup] = chain;
    this.dprev[dup] = -1;
    this.dnext[dup] = first;
    if (first >= 0) this.dprev[first] = dup;
    this.hlist[chain] = dup;
    if (count) this.dups++;
  }

  private unlinkDup(dup: number): void {
    const chain = this.chainOf[dup];
    const prev = this.dprev[dup];
    const next = this.dnext[dup];
    if (prev >= 0) this.dnext[prev] = next;
    else this.hlist[chain] = next;
    if (next >= 0) this.dprev[next] = prev;
  }

  private freeChain(chain: number): void {
    const root = this.roots[this.nid[chain]];
    if (root.get(this.content[chain]) === chain) root.delete(this.content[chain]);
    this.releaseNode(chain);
    this.chains--;
  }

  // ---- removal ----------------------------------------------------------------------------------

  /**
   * remove_node_from_stable_tree: every item of the node leaves pages_shared/pages_sharing (the items
   * stay in their mms' lists, in no tree), then the node leaves its chain or the tree.
   */
  private removeNode(node: number): void {
    const it = this.items;
    for (let item = this.hlist[node]; item >= 0; item = it.hnext[item]) {
      if (it.hnext[item] >= 0) this.pagesSharing--;
      else this.pagesShared--;
      this.mergingPages(item, -1);
      this.len[node]--;
      it.head[item] = -1;
      it.flags[item] = 0;
    }
    this.hlist[node] = -1;
    this.unlinkNode(node);
    if (this.pfnNode.get(this.kpfn[node]) === node) this.pfnNode.delete(this.kpfn[node]);
    this.releaseNode(node);
  }

  /** stable_node_dup_del: out of its chain (dups - 1) or out of the tree. */
  private unlinkNode(node: number): void {
    if (this.chainOf[node] >= 0) {
      this.unlinkDup(node);
      this.chainOf[node] = -1;
      this.dups--;
      return;
    }
    const root = this.roots[this.nid[node]];
    if (root.get(this.content[node]) === node) root.delete(this.content[node]);
  }

  /** remove_stable_node_chain: true (EBUSY) when a page of the entry is still mapped. */
  private removeTop(top: number): boolean {
    if (this.len[top] !== STABLE_NODE_CHAIN) return this.removeStableNode(top);
    for (let dup = this.hlist[top]; dup >= 0; ) {
      const next = this.dnext[dup];
      if (this.removeStableNode(dup)) return true;
      dup = next;
    }
    this.freeChain(top);
    return false;
  }

  /** remove_stable_node: a node whose page is unmapped is forgotten; a mapped one is EBUSY. */
  private removeStableNode(node: number): boolean {
    const pfn = this.getFolio(node);
    if (pfn < 0) return false;
    if (this.frames.getMapcount(pfn) > 0) return true;
    this.removeNode(node);
    return false;
  }

  /** For tests: the counters agree with the trees (nodes, chains, dups, every node's item list). */
  check(): void {
    const it = this.items;
    let shared = 0;
    let items = 0;
    let chains = 0;
    let dups = 0;
    const node = (n: number, chain: number): void => {
      let len = 0;
      for (let i = this.hlist[n]; i >= 0; i = it.hnext[i]) {
        if (it.head[i] !== n || !(it.flags[i] & STABLE_FLAG)) throw new Error(`ksm: item ${i} on node ${n}'s list points elsewhere`);
        len++;
      }
      if (len !== this.len[n]) throw new Error(`ksm: node ${n} has rmap_hlist_len ${this.len[n]} but lists ${len} items`);
      if (this.chainOf[n] !== chain) throw new Error(`ksm: node ${n} names chain ${this.chainOf[n]}, sits in ${chain}`);
      if (len > 0) shared++;
      items += len;
    };
    for (const root of this.roots) {
      for (const top of root.values()) {
        if (this.len[top] !== STABLE_NODE_CHAIN) {
          node(top, -1);
          continue;
        }
        chains++;
        for (let d = this.hlist[top]; d >= 0; d = this.dnext[d]) {
          dups++;
          node(d, top);
        }
      }
    }
    const got = { shared, sharing: items - shared, chains, dups };
    const want = { shared: this.pagesShared, sharing: this.pagesSharing, chains: this.chains, dups: this.dups };
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`ksm: counters ${JSON.stringify(want)}, trees hold ${JSON.stringify(got)}`);
  }

  // ---- the node pool ----------------------------------------------------------------------------

  private allocNode(): number {
    let id = this.freeList.pop();
    if (id === undefined) {
      if (this.top === this.capacity) this.grow();
      id = this.top++;
    }
    this.hlist[id] = -1;
    this.chainOf[id] = -1;
    this.dnext[id] = -1;
    this.dprev[id] = -1;
    this.len[id] = 0;
    return id;
  }

  private releaseNode(id: number): void {
    this.kpfn[id] = -1;
    this.len[id] = 0;
    this.freeList.push(id);
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const grow = <T extends Int32Array | Float64Array | Int16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.kpfn = grow(this.kpfn);
    this.len = grow(this.len);
    this.nid = grow(this.nid);
    this.content = grow(this.content);
    this.hlist = grow(this.hlist);
    this.chainOf = grow(this.chainOf);
    this.dnext = grow(this.dnext);
    this.dprev = grow(this.dprev);
    this.pruneTime = grow(this.pruneTime);
    this.capacity = cap;
  }
}

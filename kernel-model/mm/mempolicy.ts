/**
 * NUMA memory policies (Linux mm/mempolicy.c): which nodes an allocation may use, in which order.
 * `default`/`local` prefer the node of the CPU the task runs on and fall back by distance; `preferred`
 * tries its node first; `bind` allows only its nodes; `interleave` spreads pages round-robin by offset.
 */

/** A memory policy. */
export interface Mempolicy {
  readonly mode: 'default' | 'local' | 'preferred' | 'bind' | 'interleave';
  readonly nodes: readonly number[];
}

export const defaultPolicy: Mempolicy = { mode: 'default', nodes: [] };

/**
 * The nodes an allocation may try, in order. `local` is the task's node, `distances` the SLIT matrix,
 * `ilxIndex` the page's interleave index (address offset in units of the allocation's size).
 */
export function policyNodeOrder(
  policy: Mempolicy,
  local: number,
  distances: readonly (readonly number[])[],
  ilxIndex: number,
): readonly number[] {
  if (policy.mode === 'interleave') return computeNodeOrder(policy, local, distances, ilxIndex);
  // Every other mode's order depends only on (machine, policy, local node): cache it, faults ask for it
  // per page. The machine is part of the key: `defaultPolicy` is one object shared by every kernel.
  let perMachine = orderCache.get(distances);
  if (!perMachine) orderCache.set(distances, (perMachine = new WeakMap<Mempolicy, Map<number, readonly number[]>>()));
  let perPolicy = perMachine.get(policy);
  if (!perPolicy) perMachine.set(policy, (perPolicy = new Map<number, readonly number[]>()));
  let order = perPolicy.get(local);
  if (!order) perPolicy.set(local, (order = computeNodeOrder(policy, local, distances, 0)));
  return order;
}

/** Node orders by distance matrix (the machine), policy object and local node (policies are immutable values). */
const orderCache = new WeakMap<readonly (readonly number[])[], WeakMap<Mempolicy, Map<number, readonly number[]>>>();

function computeNodeOrder(
  policy: Mempolicy,
  local: number,
  distances: readonly (readonly number[])[],
  ilxIndex: number,
): number[] {
  const byDistance = (from: number, allowed: readonly number[]): number[] =>
    [...allowed].sort((a, b) => distances[from][a] - distances[from][b] || a - b);
  const all = distances.map((_, i) => i);
  switch (policy.mode) {
    case 'default':
    case 'local':
      return byDistance(local, all);
    case 'preferred': {
      const first = policy.nodes[0] ?? local;
      return [first, ...byDistance(first, all).filter((n) => n !== first)];
    }
    case 'bind': {
      const allowed = policy.nodes.length > 0 ? policy.nodes : all;
      return byDistance(allowed.includes(local) ? local : allowed[0], allowed);
    }
    case 'interleave': {
      const nodes = policy.nodes.length > 0 ? policy.nodes : all;
      const first = nodes[ilxIndex % nodes.length];
      return [first, ...byDistance(first, all).filter((n) => n !== first)];
    }
  }
}

/** Whether the policy lets the allocation fall back to nodes outside its preferred one. */
export function policyAllowsFallback(policy: Mempolicy): boolean {
  return policy.mode !== 'bind';
}

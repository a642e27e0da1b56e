/**
 * Loading a policy file: YAML (or JSON when the name ends in .json) validated against the policy schema
 * (policy-schema.ts), then for meaning — what a schema cannot say about one field alone. Every problem is
 * reported at once, each with the file, line, column and path (config-file.ts); a file is either a valid
 * Policy or a ConfigFileError, never anything else.
 */
import { loadFile, validateFile, type Finding } from './config-file.js';
import { PolicyFileSchema, type Policy } from './policy-schema.js';

/** A policy from its text; throws ConfigFileError listing every problem. */
export function parsePolicy(text: string, file: string): Policy {
  return validateFile(text, file, PolicyFileSchema, semanticFindings);
}

/** A policy from its file; throws ConfigFileError listing every problem (an unreadable file is one). */
export function loadPolicy(file: string): Policy {
  return loadFile(file, PolicyFileSchema, semanticFindings);
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/** What the schema cannot check field by field. */
function semanticFindings(policy: Policy): Finding[] {
  const findings: Finding[] = [];
  const firstOfName = new Map<string, number>();
  let catchAll: number | undefined;
  let shares = 0;
  let lastShare = -1;
  policy.classes.forEach((c, i) => {
    const first = firstOfName.get(c.name);
    if (first !== undefined) findings.push({ path: ['classes', i, 'name'], message: `a second class named ${JSON.stringify(c.name)} (the first is classes[${first}]): names must be unique` });
    else firstOfName.set(c.name, i);
    if (catchAll !== undefined) {
      findings.push({ path: ['classes', i, 'match'], message: `never matches: classes[${catchAll}] (${JSON.stringify(policy.classes[catchAll].name)}) comes first and matches every process` });
    } else if (Object.keys(c.match).length === 0) catchAll = i;
    if (c.budgetShare !== undefined) {
      shares += c.budgetShare;
      lastShare = i;
    }
  });
  if (shares > 1 + 1e-9) {
    findings.push({ path: ['classes', lastShare, 'budgetShare'], message: `the classes' budget shares add up to ${pct(shares)}; they may add up to 100% at most` });
  }
  const p = policy.pacing;
  if (p.minInterval > p.maxInterval) findings.push({ path: ['pacing', 'minInterval'], message: `minInterval (${p.minInterval} ms) is longer than maxInterval (${p.maxInterval} ms)` });
  else if (p.interval < p.minInterval || p.interval > p.maxInterval) {
    findings.push({ path: ['pacing', 'interval'], message: `interval (${p.interval} ms) must lie between minInterval (${p.minInterval} ms) and maxInterval (${p.maxInterval} ms)` });
  }
  const seenScorers = new Map<string, number>();
  policy.scorers.forEach((s, i) => {
    const first = seenScorers.get(s.name);
    if (first !== undefined) findings.push({ path: ['scorers', i, 'name'], message: `scorer ${JSON.stringify(s.name)} is listed twice (first at scorers[${first}]): give it one weight` });
    else seenScorers.set(s.name, i);
  });
  if (policy.scorers.every((s) => s.weight === 0)) findings.push({ path: ['scorers'], message: 'every scorer has weight 0: no candidate could be ranked above another' });
  return findings;
}

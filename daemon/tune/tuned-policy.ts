/**
 * The tuned policy: the input policy file with the proposed changes applied through the `yaml`
 * package's Document API (so the comments and layout of the original stay where they can), then
 * validated as any policy file is (policy.ts). An invalid result is never returned.
 */
import { isSeq, parseDocument } from 'yaml';
import { parsePolicy } from '../config/policy.js';
import type { Policy } from '../config/policy-schema.js';
import type { ProposedChange } from './findings.js';

/** The tuned policy's text and its validated value; throws ConfigFileError if it would be invalid. */
export function tunedPolicyText(originalText: string, targetFile: string, changes: readonly ProposedChange[]): { text: string; policy: Policy } {
  const doc = parseDocument(originalText);
  for (const c of changes) {
    const value = Array.isArray(c.to) ? doc.createNode(c.to) : c.to;
    const old = doc.getIn(c.path, true);
    // A list written in flow style ([a, b]) stays in flow style.
    if (isSeq(value) && isSeq(old)) value.flow = old.flow;
    doc.setIn(c.path, value);
  }
  const text = doc.toString({ flowCollectionPadding: false });
  return { text, policy: parsePolicy(text, targetFile) };
}

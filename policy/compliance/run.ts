// Runs every control of a pack over one evidence document and shapes each
// answer into a ControlResult. A control that fails to evaluate, or answers
// outside the contract, is reported as such (status insufficient_evidence
// with `error`), never dropped and never a pass.

import { controlAnswerProblems, controlEntrypoint, MAX_COUNTEREXAMPLES, type ControlResult } from './contract.ts';
import type { EvidenceDocument } from './evidence.ts';
import { packPolicy, type ControlPack } from './pack.ts';

export async function runControls(pack: ControlPack, evidence: EvidenceDocument): Promise<ControlResult[]> {
  const policy = await packPolicy(pack);
  const ids = policy.entrypoints as Record<string, number>;
  return pack.controls.map((id) => {
    const entrypoint = controlEntrypoint(id);
    let answer: unknown;
    try {
      const rs = policy.evaluate(evidence, ids[entrypoint]) as { result?: unknown }[];
      answer = rs[0]?.result;
    } catch (e) {
      return broken(id, `${entrypoint}: evaluation failed: ${(e as Error).message}`);
    }
    const problems = controlAnswerProblems(answer);
    if (problems.length) return broken(id, `${entrypoint}: ${problems.join('; ')}`, answer);
    const a = answer as Record<string, unknown> & { metadata: Record<string, unknown> };
    const examples = (a.counterexamples ?? []) as Record<string, unknown>[];
    return {
      id,
      title: a.metadata.title as string,
      description: (a.metadata.description as string | undefined) ?? '',
      clauses: (a.metadata.clauses as ControlResult['clauses'] | undefined) ?? {},
      status: a.status as ControlResult['status'],
      summary: a.summary as string,
      evidence: (a.evidence ?? {}) as Record<string, number>,
      counterexamples: examples.slice(0, MAX_COUNTEREXAMPLES),
      counterexamples_total: examples.length,
    };
  });
}

function broken(id: string, error: string, answer?: unknown): ControlResult {
  const m = (answer as { metadata?: { title?: unknown } } | undefined)?.metadata;
  return {
    id, title: typeof m?.title === 'string' ? m.title : id, description: '', clauses: {},
    status: 'insufficient_evidence', summary: `The control could not be evaluated: ${error}`,
    evidence: {}, counterexamples: [], counterexamples_total: 0, error,
  };
}

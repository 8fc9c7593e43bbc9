// assembleContext (PRD §4.17): load every layer's candidates, pack them under the budget, and,
// when an exact counter is configured, check the packed prompt with it and repack tighter if the
// estimate was short. Reads happen in one transaction so the layers are one consistent snapshot.
import type { Database, Queryable } from "../db/types.ts";
import { CONTEXT_LAYERS, type AgentContextPacket, type AssembleContextRequest, type ContextItemInput } from "./contracts.ts";
import type { ExactCounter } from "./exact-count.ts";
import { packContext } from "./pack.ts";
import { renderContext } from "./render.ts";
import { defaultSources, type ContextSources } from "./sources.ts";
import { profilePriorities } from "./statements.ts";
import { estimateCounter } from "./tokens.ts";

export interface AssembleOptions {
  sources?: ContextSources;
  /** Exact counting (Anthropic count-tokens); without it the estimator with its margin is used. */
  exact?: ExactCounter | null;
}

export async function loadCandidates(tx: Queryable, req: AssembleContextRequest, sources: ContextSources) {
  const loads = await Promise.all(CONTEXT_LAYERS.map((l) => sources[l](tx, req)));
  const items: ContextItemInput[] = [];
  for (const [i, load] of loads.entries()) {
    const layer = CONTEXT_LAYERS[i]!;
    // A loader may only fill its own layer.
    for (const item of load.items) items.push({ ...item, layer });
  }
  const summary = loads[CONTEXT_LAYERS.indexOf("conversation")]!.summary ?? null;
  const stored = await profilePriorities(tx, req.agent_slug);
  return { items, summary, priorities: { ...(stored ?? {}), ...(req.priorities ?? {}) } };
}

export async function assembleContext(db: Database | Queryable, req: AssembleContextRequest, opts: AssembleOptions = {}): Promise<AgentContextPacket> {
  const sources = opts.sources ?? defaultSources();
  const load = "transaction" in db ? await db.transaction((tx) => loadCandidates(tx, req, sources)) : await loadCandidates(db, req, sources);
  const input = { system: req.system ?? null, task: req.task ?? null, budget: req.token_budget, items: load.items, summary: load.summary, priorities: load.priorities };
  let packet = packContext(input, estimateCounter);
  if (!opts.exact) return packet;

  // The estimate errs high; when it still errs low for this model, shrink the room by the overshoot.
  let budget = req.token_budget;
  for (let round = 0; round < 4; round++) {
    const exact = await opts.exact.count(packet.system, renderContext(packet));
    if (exact <= req.token_budget || budget <= 1) {
      packet.token_budget = { used: exact, limit: req.token_budget };
      packet.manifest.counter = { kind: "anthropic", model: opts.exact.model };
      return packet;
    }
    budget = Math.max(1, budget - (exact - req.token_budget) - 8);
    packet = packContext({ ...input, budget }, estimateCounter);
  }
  packet.manifest.counter = { kind: "estimate", margin: estimateCounter.margin!, model: opts.exact.model };
  return packet;
}

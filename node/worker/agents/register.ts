// Syncing agent definitions to the registry: what `actp worker` calls at start. The database
// decides whether anything changed (it hashes the canonical definition under a row lock), so any
// number of workers may sync the same agents at once.
import type { Queryable } from "../../../shared/db/types.ts";
import type { RegisterResult } from "../../../shared/agents/contracts.ts";
import { registerAgentDefinition, registerAgentDefinitions } from "../../../shared/agents/statements.ts";
import { ActpError } from "../../../shared/errors.ts";
import type { AnyAgentDefinition } from "./define.ts";

/** Registers one agent: version 1 the first time, version+1 when its definition changed, else nothing. */
export function registerAgent(db: Queryable, agent: AnyAgentDefinition, changelog?: string): Promise<RegisterResult> {
  return registerAgentDefinition(db, agent.registration, changelog);
}

/** Registers every agent in one statement; the results come back in the order given. */
export async function syncAgents(db: Queryable, agents: readonly AnyAgentDefinition[]): Promise<RegisterResult[]> {
  const bySlug = new Map<string, AnyAgentDefinition>();
  for (const agent of agents) {
    const other = bySlug.get(agent.slug);
    // The same definition exported twice is harmless; two different agents under one slug are not.
    if (other && other !== agent) {
      throw new ActpError("agents.conflict", `two different agents are defined with the slug "${agent.slug}"`);
    }
    bySlug.set(agent.slug, agent);
  }
  const ordered = [...bySlug.keys()].sort();
  const results = await registerAgentDefinitions(db, ordered.map((slug) => bySlug.get(slug)!.registration));
  const bySlugResult = new Map(results.map((r) => [r.slug, r]));
  return agents.map((a) => bySlugResult.get(a.slug)!);
}

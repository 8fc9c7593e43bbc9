// Where each memory layer's candidates come from. The assembler only knows this interface; the
// default reads actp's own canonical tables, and a deployment whose conversations or goals live in
// tables of its own passes its own loaders for those layers (see README, "Context assembler").
import type { Queryable } from "../db/types.ts";
import type { AssembleContextRequest, ContextItemInput } from "./contracts.ts";
import { currentFacts, recentEvents, type FactRow } from "./statements.ts";
import { conversationLoader, goalsLoader } from "../memory/adapters.ts";

export interface LayerLoad {
  items: ContextItemInput[];
  /** Conversation only: the store's running summary of older turns. */
  summary?: string | null;
}

export type LayerLoader = (db: Queryable, req: AssembleContextRequest) => Promise<LayerLoad>;

export interface ContextSources {
  conversation: LayerLoader;
  semantic: LayerLoader;
  episodic: LayerLoader;
  procedural: LayerLoader;
  goals: LayerLoader;
}

/** How many candidates each layer offers the packer at most. */
export const LAYER_LIMITS = { conversation: 50, semantic: 40, episodic: 50, procedural: 20, goals: 20 } as const;

const compact = (v: unknown, max = 600) => {
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

export const episodicFromEvents: LayerLoader = async (db, req) => {
  const rows = await recentEvents(db, req.agent_slug, req.job_id ?? null, LAYER_LIMITS.episodic);
  return {
    items: rows.map((e, rank) => ({
      id: e.id,
      layer: "episodic",
      slot: "recent_events",
      rank,
      text: `${e.created_at} ${e.type}${e.tool_name ? ` ${e.tool_name}` : ""}${e.step_id ? ` [${e.step_id}]` : ""} ${compact(e.payload)}`,
      data: { type: e.type, job_id: e.job_id, created_at: e.created_at },
    })),
  };
};

const none: LayerLoader = async () => ({ items: [] });

const factText = (f: FactRow) => `${f.subject} / ${f.key}: ${f.content}`;
const factData = (f: FactRow) => ({ subject: f.subject, key: f.key, recorded_at: f.recorded_at, agent_slug: f.agent_slug, evidence_refs: f.evidence_refs });

/** L3: current semantic facts (actp_memory_facts), most relevant to the query first. */
export const semanticFromFacts: LayerLoader = async (db, req) => {
  const rows = await currentFacts(db, "semantic", req.agent_slug, req.task_type, req.query ?? null, LAYER_LIMITS.semantic);
  return { items: rows.map((f, rank) => ({ id: f.id, layer: "semantic", slot: "facts", rank, text: factText(f), data: factData(f) })) };
};

/** L4: procedures about this task type are its SOPs; the agent's other procedural facts are lessons. */
export const proceduralFromFacts: LayerLoader = async (db, req) => {
  const rows = await currentFacts(db, "procedural", req.agent_slug, req.task_type, req.query ?? null, LAYER_LIMITS.procedural);
  return {
    items: rows.map((f, rank) => ({ id: f.id, layer: "procedural", slot: f.matches_task ? "sops" : "lessons", rank, text: factText(f), data: factData(f) })),
  };
};

/** actp's own stores; layers whose canonical tables a deployment lacks contribute nothing. */
export function defaultSources(overrides: Partial<ContextSources> = {}): ContextSources {
  // Conversation turns and goals: actp's minimal canonical tables (shared/memory/adapters.ts, which
  // also points them at a deployment's own tables).
  return { conversation: conversationLoader(), semantic: semanticFromFacts, procedural: proceduralFromFacts, goals: goalsLoader(), episodic: episodicFromEvents, ...overrides };
}

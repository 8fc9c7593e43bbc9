// Contracts of the context assembler (PRD §4.17): the request, the items each memory layer offers,
// and the AgentContextPacket (the PRD's shape) with a manifest of what was kept, cut and dropped.
import { z } from "zod";
import { AgentSlug } from "../agents/contracts.ts";

export const CONTEXT_LAYERS = ["conversation", "semantic", "episodic", "procedural", "goals"] as const;
export const ContextLayer = z.enum(CONTEXT_LAYERS);
export type ContextLayer = z.infer<typeof ContextLayer>;

/** Relative weight of each layer when the budget is short: higher keeps more of that layer. */
export const LayerPriorities = z.strictObject({
  conversation: z.number().positive().max(100).optional(),
  semantic: z.number().positive().max(100).optional(),
  episodic: z.number().positive().max(100).optional(),
  procedural: z.number().positive().max(100).optional(),
  goals: z.number().positive().max(100).optional(),
});
export type LayerPriorities = z.infer<typeof LayerPriorities>;

export const DEFAULT_PRIORITIES: Required<LayerPriorities> = {
  conversation: 5,
  goals: 4,
  procedural: 4,
  semantic: 3,
  episodic: 2,
};

export const MAX_TOKEN_BUDGET = 1_000_000;
const MAX_TEXT = 200_000;

export const AssembleContextRequest = z.strictObject({
  task_type: z.string().min(1).max(100),
  agent_slug: AgentSlug,
  user_id: z.string().min(1).max(200).optional(),
  job_id: z.uuid().optional(),
  /** What the task is about: ranks semantic memory by retrieval instead of recency. */
  query: z.string().min(1).max(4_000).optional(),
  token_budget: z.int().min(1).max(MAX_TOKEN_BUDGET),
  /** Never trimmed: if system + task alone exceed the budget, assembly fails with context.budget_too_small. */
  system: z.string().max(MAX_TEXT).optional(),
  task: z.string().max(MAX_TEXT).optional(),
  /** Overrides the agent's stored priorities (actp_context_profiles) for this call. */
  priorities: LayerPriorities.optional(),
  /** Model whose tokenizer counts exactly when an Anthropic key is configured. */
  model: z.string().min(1).max(200).optional(),
});
export type AssembleContextRequest = z.infer<typeof AssembleContextRequest>;

/**
 * One unit a layer offers. `atomic` units are kept whole or dropped whole (a tool_use turn and its
 * tool_result travel as one atomic unit); others may be truncated.
 */
export const ContextItem = z.object({
  id: z.string(),
  layer: ContextLayer,
  /** Which list of the packet it goes to (e.g. semantic.facts vs semantic.entities). */
  slot: z.string(),
  /** 0 = most relevant within its layer. */
  rank: z.int().min(0),
  text: z.string(),
  atomic: z.boolean().default(false),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type ContextItem = z.infer<typeof ContextItem>;
export type ContextItemInput = z.input<typeof ContextItem>;

export const PackedItem = z.object({
  id: z.string(),
  text: z.string(),
  tokens: z.int(),
  truncated: z.boolean(),
  data: z.record(z.string(), z.unknown()),
});
export type PackedItem = z.infer<typeof PackedItem>;

export const DropReason = z.enum(["budget", "budget_atomic_pair"]);

export const ContextManifest = z.object({
  counter: z.object({
    kind: z.enum(["anthropic", "estimate"]),
    /** For the estimate: the safety factor applied on top of the raw estimate. */
    margin: z.number().optional(),
    model: z.string().optional(),
  }),
  fixed_tokens: z.object({ system: z.int(), task: z.int() }),
  layers: z.record(ContextLayer, z.object({ tokens: z.int(), kept: z.int(), truncated: z.int(), dropped: z.int(), priority: z.number() })),
  truncated: z.array(z.object({ layer: ContextLayer, id: z.string(), from_tokens: z.int(), to_tokens: z.int(), reason: z.literal("budget") })),
  dropped: z.array(z.object({ layer: ContextLayer, id: z.string(), tokens: z.int(), reason: DropReason })),
});
export type ContextManifest = z.infer<typeof ContextManifest>;

export const AgentContextPacket = z.object({
  system: z.string().nullable(),
  task: z.string().nullable(),
  conversation: z.object({ turns: z.array(PackedItem), summary: z.string().nullable() }),
  semantic: z.object({ entities: z.array(PackedItem), facts: z.array(PackedItem) }),
  episodic: z.object({ recent_events: z.array(PackedItem) }),
  procedural: z.object({ sops: z.array(PackedItem), lessons: z.array(PackedItem) }),
  goals: z.object({ active_objectives: z.array(PackedItem) }),
  token_budget: z.object({ used: z.int(), limit: z.int() }),
  manifest: ContextManifest,
});
export type AgentContextPacket = z.infer<typeof AgentContextPacket>;

/** The packet's slots, by layer: where an item of each slot goes. */
export const SLOTS: Record<ContextLayer, readonly string[]> = {
  conversation: ["turns"],
  semantic: ["entities", "facts"],
  episodic: ["recent_events"],
  procedural: ["sops", "lessons"],
  goals: ["active_objectives"],
};

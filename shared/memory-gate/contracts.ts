// The memory proposal gate's contracts (PRD §4.8) and canonical facts (issue 11 item 1).
// Layers by name; the number PRD §3 gives them (L3 semantic, L4 procedural) is accepted too.
import { z } from "zod";
import { AgentSlug } from "../agents/contracts.ts";

export const FACT_LAYERS = ["semantic", "procedural"] as const;
export const FactLayer = z.enum(FACT_LAYERS);
export type FactLayer = z.infer<typeof FactLayer>;
/** PRD §3: L3 semantic, L4 procedural. */
export const LAYER_NUMBER: Record<FactLayer, 3 | 4> = { semantic: 3, procedural: 4 };

/** "semantic" | "procedural" | 3 | 4, normalized to the name. */
export const LayerInput = z
  .union([FactLayer, z.literal(3), z.literal(4)], { error: "layer is semantic (3) or procedural (4)" })
  .transform((l): FactLayer => (l === 3 ? "semantic" : l === 4 ? "procedural" : l));

export const ProposalStatus = z.enum(["pending", "approved", "rejected", "deferred"]);
export type ProposalStatus = z.infer<typeof ProposalStatus>;

export const ProposeRequest = z.strictObject({
  layer: LayerInput,
  subject: z.string().trim().min(1).max(200),
  key: z.string().trim().min(1).max(500),
  value: z.json(),
  /** The statement in words: what the critic checks and retrieval indexes once approved. */
  content: z.string().trim().min(1).max(20_000),
  evidence_refs: z.array(z.string().trim().min(1).max(200)).min(1, "a proposal needs at least one evidence ref").max(50),
  source_agent: AgentSlug.optional(),
  source_run_id: z.guid().optional(),
  valid_from: z.iso.datetime({ offset: true }).optional(),
  valid_to: z.iso.datetime({ offset: true }).optional(),
  /** Same key, same proposal; default: the hash of what is proposed. */
  idempotency_key: z.string().min(1).max(200).optional(),
});
export type ProposeRequest = z.input<typeof ProposeRequest>;

export const Proposal = z.object({
  id: z.guid(),
  source_agent: z.string().nullable(),
  source_run_id: z.string().nullable(),
  target_layer: z.union([z.literal(3), z.literal(4)]),
  layer: FactLayer,
  target_subject: z.string(),
  target_key: z.string(),
  proposed_value: z.json(),
  content: z.string(),
  evidence_refs: z.array(z.string()),
  valid_from: z.string().nullable(),
  valid_to: z.string().nullable(),
  score: z.number().nullable(),
  critic: z.record(z.string(), z.unknown()).nullable(),
  status: ProposalStatus,
  reason: z.string().nullable(),
  reviewer: z.string().nullable(),
  reviewer_label: z.string().nullable(),
  reviewed_at: z.string().nullable(),
  scored_at: z.string().nullable(),
  idempotency_key: z.string(),
  created_at: z.string(),
});
export type Proposal = z.infer<typeof Proposal>;

export const ReviewDecisionRequest = z.strictObject({
  decision: z.enum(["approve", "reject"]),
  /** A name for the reviewer, kept beside the identity from the token. */
  reviewer: z.string().trim().min(1).max(200).optional(),
  reason: z.string().trim().min(1).max(1000).optional(),
});
export type ReviewDecisionRequest = z.infer<typeof ReviewDecisionRequest>;

export const ScoreRequest = z.strictObject({
  score: z.number().min(0).max(10),
  critic: z.record(z.string(), z.unknown()).optional(),
});

export const Decision = z.object({
  id: z.number(),
  proposal_id: z.guid(),
  outcome: z.enum(["approved", "rejected", "deferred"]),
  rule_version: z.string(),
  inputs: z.record(z.string(), z.unknown()),
  reason_codes: z.array(z.string()),
  decided_by: z.string(),
  label: z.string().nullable(),
  fact_id: z.string().nullable(),
  decided_at: z.string(),
});
export type Decision = z.infer<typeof Decision>;

export const Fact = z.object({
  id: z.guid(),
  layer: FactLayer,
  subject: z.string(),
  key: z.string(),
  value: z.json(),
  content: z.string(),
  proposal_id: z.string().nullable(),
  evidence_refs: z.array(z.string()),
  agent_slug: z.string().nullable(),
  job_id: z.string().nullable(),
  valid_from: z.string(),
  valid_to: z.string().nullable(),
  recorded_at: z.string(),
  superseded_at: z.string().nullable(),
  superseded_by: z.string().nullable(),
});
export type Fact = z.infer<typeof Fact>;

export const ProposalListQuery = z.strictObject({
  status: ProposalStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

export const FactQuery = z.strictObject({
  layer: LayerInput.optional(),
  subject: z.string().min(1).max(200).optional(),
  key: z.string().min(1).max(500).optional(),
  /** What was believed at this time (transaction time); default: now. */
  as_of: z.iso.datetime({ offset: true }).optional(),
  /** Only facts that hold in the world at this time (valid time). */
  valid_at: z.iso.datetime({ offset: true }).optional(),
  /** Every version of the key, superseded ones included. */
  history: z.enum(["true", "false"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

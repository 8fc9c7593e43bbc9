// Contracts of model routing (PRD §4.3): one zod schema per shape, types inferred.
import { z } from "zod";

export const TaskType = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "a task type: lowercase letters, digits and '_', starting with a letter");
export const ModelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "a model id such as claude-haiku-4-5");
const usd = z.number().finite();
const tokens = z.int().min(0).max(100_000_000);

export const RouteConditions = z
  .strictObject({
    max_context_length: tokens.optional().describe("the route serves requests of at most this many input tokens"),
    min_context_length: tokens.optional().describe("the route serves requests of at least this many input tokens"),
  })
  .refine((c) => c.min_context_length === undefined || c.max_context_length === undefined || c.min_context_length <= c.max_context_length, {
    message: "min_context_length must not exceed max_context_length",
  });
export type RouteConditions = z.infer<typeof RouteConditions>;

/** POST /model-router/route and route(): the decision's inputs. */
export const RouteRequest = z.strictObject({
  task_type: TaskType,
  context_length: tokens.nullable().optional(),
  budget_remaining: usd.min(0).nullable().optional(),
});
export type RouteRequest = z.infer<typeof RouteRequest>;

// The fields a route row and a routing candidate share.
const RouteFields = z.object({
  id: z.guid(),
  provider: z.literal("anthropic"),
  model: ModelId,
  priority: z.int(),
  max_cost_usd: z.number().nullable(),
  conditions: z.record(z.string(), z.number()),
  input_usd_per_mtok: z.number(),
  output_usd_per_mtok: z.number(),
});

export const RouteCandidate = RouteFields.extend({
  /** probe_due: the model's breaker is open but its recovery time has come; a call may be the probe. */
  circuit: z.enum(["closed", "probe_due"]),
});
export type RouteCandidate = z.infer<typeof RouteCandidate>;

export const SkipReason = z.enum(["disabled", "context_too_long", "context_too_short", "budget_exhausted", "over_budget", "circuit_open"]);

export const RouteDecision = z.object({
  task_type: TaskType,
  candidates: z.array(RouteCandidate),
  skipped: z.array(z.object({ model: ModelId, priority: z.int(), reason: SkipReason })),
});
export type RouteDecision = z.infer<typeof RouteDecision>;

/** A row of actp_model_routes (GET /routes). */
export const ModelRoute = RouteFields.extend({
  task_type: TaskType,
  enabled: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type ModelRoute = z.infer<typeof ModelRoute>;

const price = usd.min(0).max(1_000_000);

export const ModelRouteCreate = z.strictObject({
  task_type: TaskType,
  provider: z.literal("anthropic").default("anthropic"),
  model: ModelId,
  priority: z.int().min(0).max(10_000),
  max_cost_usd: usd.positive().max(1_000_000).nullable().default(null),
  conditions: RouteConditions.default({}),
  input_usd_per_mtok: price,
  output_usd_per_mtok: price,
  enabled: z.boolean().default(true),
});
export type ModelRouteCreate = z.infer<typeof ModelRouteCreate>;

export const ModelRouteUpdate = z
  .strictObject({
    priority: z.int().min(0).max(10_000),
    max_cost_usd: usd.positive().max(1_000_000).nullable(),
    conditions: RouteConditions,
    input_usd_per_mtok: price,
    output_usd_per_mtok: price,
    enabled: z.boolean(),
  })
  .partial()
  .refine((u) => Object.keys(u).length > 0, { message: "nothing to update" });
export type ModelRouteUpdate = z.infer<typeof ModelRouteUpdate>;

// Contracts of the circuit breakers (PRD §4.12): one zod schema per shape, types inferred.
import { z } from "zod";

/** Tool names as breakers, events and URL paths use them ("browser.fetch", "model:claude-haiku-4-5"). */
export const ToolName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, "a tool name: letters, digits, '.', '_', ':' or '-', at most 200 characters");
export type ToolName = z.infer<typeof ToolName>;

export const CircuitState = z.enum(["closed", "open", "half_open"]);
export type CircuitState = z.infer<typeof CircuitState>;

/** PUT /circuits/:tool/config. Omitted fields keep their current value (or the '*' default). */
export const CircuitConfigInput = z.strictObject({
  failure_threshold: z.int().min(1).max(10_000).optional(),
  window_seconds: z.int().min(1).max(86_400).optional(),
  recovery_probe_seconds: z.int().min(1).max(86_400).optional(),
  probe_lease_seconds: z.int().min(1).max(3_600).optional(),
  fallback_tool: ToolName.nullable().optional(),
});
export type CircuitConfigInput = z.infer<typeof CircuitConfigInput>;

export const ForceOpenInput = z.strictObject({
  seconds: z.int().min(1).max(86_400).optional().describe("how long before a probe is allowed; default recovery_probe_seconds"),
});
export type ForceOpenInput = z.infer<typeof ForceOpenInput>;

/** What actp_circuit_acquire answers. */
export const CircuitDecision = z.discriminatedUnion("decision", [
  z.object({ decision: z.literal("allow"), state: z.literal("closed") }),
  z.object({
    decision: z.literal("probe"),
    state: z.literal("half_open"),
    probe_id: z.guid(),
    lease_expires_at: z.string(),
  }),
  z.object({
    decision: z.literal("reject"),
    state: z.enum(["open", "half_open"]),
    retry_after: z.int().min(1),
    fallback_tool: z.null().optional(),
  }),
  z.object({
    decision: z.literal("fallback"),
    state: z.enum(["open", "half_open"]),
    retry_after: z.int().min(1),
    fallback_tool: ToolName,
  }),
]);
export type CircuitDecision = z.infer<typeof CircuitDecision>;

/** What actp_circuit_record / reset / force_open answer. */
export const CircuitTransition = z.object({
  state: CircuitState,
  transition: z.enum(["opened", "closed"]).nullable(),
  retry_after: z.int().optional(),
  failures: z.int().optional(),
  reopens_at: z.string().optional(),
});
export type CircuitTransition = z.infer<typeof CircuitTransition>;

export const CircuitConfig = z.object({
  failure_threshold: z.int(),
  window_seconds: z.int(),
  recovery_probe_seconds: z.int(),
  probe_lease_seconds: z.int(),
  fallback_tool: ToolName.nullable(),
  is_default: z.boolean(),
});

/** One row of GET /circuits. */
export const CircuitOverview = z.object({
  tool_name: ToolName,
  state: CircuitState,
  failures: z.int(),
  opened_at: z.string().nullable(),
  reopens_at: z.string().nullable(),
  probe_lease_expires_at: z.string().nullable(),
  last_error: z.record(z.string(), z.unknown()).nullable(),
  updated_at: z.string().nullable(),
  config: CircuitConfig,
});
export type CircuitOverview = z.infer<typeof CircuitOverview>;

/** The circuit of a model is the tool "model:<model id>". */
export function modelToolName(model: string): string {
  return `model:${model}`;
}

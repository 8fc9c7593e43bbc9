// The arguments of the `ctx` an agent's handler receives (node/worker/context.ts), as zod contracts:
// the worker validates ctx.tool's options with ToolCallOptionsSchema, and the API reference
// (docs/api/README.md, scripts/gen-api-docs.ts) renders every method from CTX_API below.
import { z } from "zod";
import { ToolName } from "../agents/contracts.ts";
import { FlagKey } from "../flags/contracts.ts";

export const MAX_TOOL_TIMEOUT_MS = 24 * 3600 * 1000;

export const StepName = z.string().min(1).max(200).describe("a stable name, unique within the job: the checkpoint's key");

export const StepOptionsSchema = z.strictObject({
  input: z.unknown().optional().describe("what the step works on; its hash is recorded with the checkpoint (default: the job's input)"),
});

export const ProgressUpdateSchema = z.union([
  z.string().min(1),
  z.looseObject({
    message: z.string(),
    pct: z.number().min(0).max(100).optional(),
    artifact_ref: z.string().optional(),
  }),
]);

/** The data of ctx.tool's options (the `fallbacks` functions are checked separately: they are code). */
export const ToolCallOptionsSchema = z.object({
  action_type: z
    .string()
    .regex(/^[a-z][a-z0-9_.:-]{0,99}$/, 'an action type like "network_read": [a-z][a-z0-9_.:-], at most 100')
    .optional()
    .describe('what the call does, for safety rules (default "tool_call")'),
  estimated_cost_usd: z.number().min(0).max(1e9).optional().describe("reserved against the budgets before the call (default 0)"),
  url: z.string().optional().describe("the URL the call will reach, checked against the allowlist policies; fetch call.url, its canonical form"),
  timeout_ms: z.int().min(1).max(MAX_TOOL_TIMEOUT_MS).optional().describe("the call fails with tool.timeout after this long"),
  fallbacks: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("functions for fallback tools, by tool name: used when this tool's breaker is open and its config names a fallback"),
});

export const TaskTypeArg = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/).describe("a task type with a model route (model-router)");

export const LlmRequestSchema = z
  .looseObject({
    max_tokens: z.int().min(1),
    messages: z.array(z.looseObject({ role: z.enum(["user", "assistant"]), content: z.unknown() })).min(1),
    system: z.unknown().optional(),
  })
  .describe("Anthropic's Messages API parameters without `model` and `stream` (the route picks the model)");

export interface CtxMethod {
  /** How it is called, in TypeScript. */
  signature: string;
  description: string;
  /** The contract of each argument that is data. */
  args?: Record<string, z.ZodType>;
  /** The error codes it throws (from the catalog). */
  throws?: string[];
}

export const CTX_API: readonly CtxMethod[] = [
  {
    signature: "ctx.step<T>(name, fn, options?): Promise<T>",
    description:
      "Runs fn once per job: when a step of this name completed before (an earlier attempt, a crashed worker, or a replay that reuses it), " +
      "its recorded output is returned and fn does not run. The output must be JSON.",
    args: { name: StepName, options: StepOptionsSchema },
    throws: ["jobs.duplicate_step"],
  },
  {
    signature: "ctx.tool<T>(name, args, options, fn): Promise<T>",
    description:
      "Calls a tool under every guardrail: policy check (budget reservation, rate limit, allowlist of options.url, approvals) → circuit breaker " +
      "(or the configured fallback) → fn(call) → settle → events. `args` is hashed for approvals and the timeline; fn gets " +
      "{ toolName, callId, isFallback, url, signal, reportCost(usd) }.",
    args: { name: ToolName, options: ToolCallOptionsSchema },
    throws: ["tool.denied", "tool.circuit_open", "tool.timeout", "tool.invalid_input"],
  },
  {
    signature: "ctx.llm(taskType, request): Promise<{ text, model, cost_usd, ... }>",
    description: "Calls a model for a task type down its route's fallback chain, with the cost reserved and settled like a tool call.",
    args: { taskType: TaskTypeArg, request: LlmRequestSchema },
    throws: ["llm.not_configured", "llm.unavailable", "tool.denied", "tool.invalid_input"],
  },
  {
    signature: "ctx.progress(update): Promise<void>",
    description: "Records progress on the job and emits job.progress.",
    args: { update: ProgressUpdateSchema },
  },
  {
    signature: "ctx.emit(events): Promise<void>",
    description: "Emits events of the registry for this job; job_id, agent_slug and the current step are filled in.",
    throws: ["events.unknown_type", "events.invalid_event"],
  },
  {
    signature: "ctx.scratch.get(key) / set(key, value) / delete(key) / keys()",
    description: "The L0 scratchpad of the step running now (or of the job outside any step): in memory, released when the attempt ends.",
    throws: ["scratchpad.invalid_value", "scratchpad.limit_exceeded", "scratchpad.released"],
  },
  {
    signature: "ctx.flags.isEnabled(flagKey): Promise<boolean>",
    description: "A feature flag evaluated for this agent and job (stickiness: the agent), cached for a few seconds per worker.",
    args: { flagKey: FlagKey },
  },
  {
    signature: "ctx.signal: AbortSignal",
    description: "Aborted on cancellation, on timeout, and when the claim was released to another worker; pass it to fetch and SDK calls.",
  },
  {
    signature: "ctx.jobId, ctx.agent, ctx.input, ctx.attempt",
    description: "The job's id, the agent's slug, the validated input, and the 1-based attempt number.",
  },
  {
    signature: "ctx.currentStep(): string | null",
    description: "The name of the durable step running now, if any.",
  },
];

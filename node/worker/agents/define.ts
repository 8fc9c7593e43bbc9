// defineAgent: how an agent developer declares an agent. The definition carries the handler (code,
// never stored) and its registration (data, synced to the registry). The handler's input type comes
// from the zod schema; its context type is a parameter, so this module does not depend on the job
// runtime that builds the context.
import { z } from "zod";
import {
  AgentRegistration,
  type AgentRegistrationInput,
  type Capability,
  type ModelPolicy,
} from "../../../shared/agents/contracts.ts";
import { ActpError, zodIssues, zodIssuesLine } from "../../../shared/errors.ts";

/**
 * How often and how soon a failed job runs again (pg-boss's retryLimit, retryDelay, retryBackoff,
 * retryDelayMax on the agent's queue; pg-boss counts whole seconds, so delays round up to seconds).
 */
export const AgentRetrySchema = z.strictObject({
  limit: z.int().min(0).max(100).optional().describe("retries after the first attempt (default 2)"),
  backoff: z
    .strictObject({
      type: z.enum(["fixed", "exponential"]),
      delayMs: z.int().min(0).max(24 * 3600 * 1000).optional().describe("fixed delay, or the exponential base"),
      maxDelayMs: z.int().min(1000).max(7 * 24 * 3600 * 1000).optional().describe("cap of an exponential delay"),
    })
    .optional(),
});
export type AgentRetry = z.infer<typeof AgentRetrySchema>;

export type AgentHandler<S extends z.ZodType, Ctx, Out> = (ctx: Ctx, input: z.output<S>) => Promise<Out> | Out;

export interface AgentConfig<S extends z.ZodType, Ctx, Out> {
  slug: string;
  description?: string;
  /** The job input's schema: validates submissions and types the handler's input. */
  input: S;
  capabilities?: readonly Capability[];
  memory_read?: readonly string[];
  memory_write?: readonly string[];
  model_policy?: ModelPolicy;
  /** Retry limit and backoff of this agent's jobs (default: 2 retries, exponential from 1 s, at most 300 s). */
  retry?: AgentRetry;
  /**
   * Accept input keys the schema does not declare (they are dropped). Off by default: an object
   * input rejects unknown keys, at submit and when the attempt starts, so a misspelt field is an
   * error instead of a silently ignored value.
   */
  allowUnknownInput?: boolean;
  handler: AgentHandler<S, Ctx, Out>;
}

const AGENT = Symbol.for("actp.agent-definition");

function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && "_zod" in value && typeof (value as { safeParse?: unknown }).safeParse === "function";
}

export interface AgentDefinition<S extends z.ZodType = z.ZodType, Ctx = unknown, Out = unknown> {
  readonly [AGENT]: true;
  readonly slug: string;
  readonly description: string;
  readonly input: S;
  readonly capabilities: readonly Capability[];
  readonly memory_read: readonly string[];
  readonly memory_write: readonly string[];
  readonly model_policy: ModelPolicy;
  readonly retry: AgentRetry | undefined;
  readonly handler: AgentHandler<S, Ctx, Out>;
  /** The canonical registration payload: what registerAgent sends and the registry hashes. */
  readonly registration: AgentRegistration;
}

/** Any agent definition, whatever its input, context and output types. */
export type AnyAgentDefinition = AgentDefinition<z.ZodType, any, any>;

export function defineAgent<S extends z.ZodType, Ctx = unknown, Out = unknown>(config: AgentConfig<S, Ctx, Out>): AgentDefinition<S, Ctx, Out> {
  // Duck-typed, not instanceof: the agent module's zod is its project's copy, which may not be actp's.
  if (!isZodSchema(config.input)) {
    throw new ActpError("agents.invalid_definition", `agent "${String(config.slug)}": input must be a zod schema`);
  }
  if (typeof config.handler !== "function") {
    throw new ActpError("agents.invalid_definition", `agent "${String(config.slug)}": handler must be a function`);
  }
  const retry = config.retry === undefined ? undefined : AgentRetrySchema.safeParse(config.retry);
  if (retry && !retry.success) {
    throw new ActpError(
      "agents.invalid_definition",
      `agent "${String(config.slug)}": retry: ${retry.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  }
  const input = config.allowUnknownInput ? config.input : rejectUnknownKeys(config.input);
  const registration = toRegistration({
    slug: config.slug,
    description: config.description,
    input_schema: inputJsonSchema(config.slug, input, !config.allowUnknownInput),
    capabilities: config.capabilities ? [...config.capabilities] : undefined,
    memory_read: config.memory_read ? [...config.memory_read] : undefined,
    memory_write: config.memory_write ? [...config.memory_write] : undefined,
    model_policy: config.model_policy,
  });
  return Object.freeze({
    [AGENT]: true as const,
    slug: registration.slug,
    description: registration.description,
    input,
    capabilities: registration.capabilities,
    memory_read: registration.memory_read,
    memory_write: registration.memory_write,
    model_policy: registration.model_policy,
    retry: retry?.data,
    handler: config.handler,
    registration,
  });
}

export function isAgentDefinition(value: unknown): value is AnyAgentDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[AGENT] === true;
}

/**
 * Validates a registration and puts it in canonical order (capabilities by tool, namespaces sorted
 * and deduplicated, JSON Schema `required` lists sorted), so the same agent declared in a different
 * order is the same payload. The registry canonicalises again and is the authority; this keeps
 * what the SDK sends, logs and compares stable.
 */
export function toRegistration(input: AgentRegistrationInput): AgentRegistration {
  const r = AgentRegistration.safeParse(input);
  if (!r.success) {
    const slug = typeof input.slug === "string" ? input.slug : "?";
    throw new ActpError(
      "agents.invalid_definition",
      `agent "${slug}": ${zodIssuesLine(r.error)}`, { details: zodIssues(r.error) });
  }
  const d = r.data;
  const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    ...d,
    input_schema: sortRequired(d.input_schema) as Record<string, unknown>,
    capabilities: [...d.capabilities].sort((a, b) => byCodePoint(a.tool, b.tool)),
    memory_read: [...new Set(d.memory_read)].sort(byCodePoint),
    memory_write: [...new Set(d.memory_write)].sort(byCodePoint),
  };
}

/**
 * A plain z.object (zod's default strips unknown keys) becomes strict: its JSON Schema then says
 * additionalProperties: false, so submitters are refused too. A schema that chose its own policy
 * (z.looseObject, .catchall, z.strictObject) and non-object inputs are left as they are.
 */
function rejectUnknownKeys<S extends z.ZodType>(schema: S): S {
  if (schema instanceof z.ZodObject && schema._zod.def.catchall === undefined) return schema.strict() as unknown as S;
  return schema;
}

function inputJsonSchema(slug: string, schema: z.ZodType, closeNested: boolean): Record<string, unknown> {
  try {
    // The input side: HTTP submitters send what the schema accepts, before any transform.
    const json = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
    return closeNested ? (closePlainObjects(json, false) as Record<string, unknown>) : json;
  } catch (err) {
    throw new ActpError(
      "agents.invalid_definition",
      `agent "${slug}": its input schema cannot be expressed as JSON Schema (job input is JSON): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * Nested plain z.object()s are closed as the top level is: zod leaves additionalProperties out of a
 * plain object's input schema (parsing strips unknown keys), so `{ "filters": { "tpoic": ... } }`
 * was accepted and the misspelt key dropped without a word. An object that chose its own policy
 * (z.looseObject: `{}`, .catchall(s), z.record: a schema) keeps it. The members of an allOf
 * (z.intersection) stay open: each one closed would refuse the other's keys.
 */
function closePlainObjects(node: unknown, inAllOf: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => closePlainObjects(n, inAllOf));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "allOf" && Array.isArray(v)) out[k] = v.map((member) => closePlainObjects(member, true));
    else out[k] = closePlainObjects(v, false);
  }
  if (!inAllOf && out.type === "object" && out.properties !== null && typeof out.properties === "object" && !("additionalProperties" in out)) {
    out.additionalProperties = false;
  }
  return out;
}

// `required` is a set; zod lists it in declaration order, which must not make a new version.
function sortRequired(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortRequired);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === "required" && Array.isArray(v) && v.every((x) => typeof x === "string") ? [...v].sort() : sortRequired(v);
  }
  return out;
}

// Contracts of the agent registry (PRD §4.1): what a registration carries, the shapes of
// capabilities and model policies, the version snapshot, and the API's answers. The database holds
// the same rules (migrations/20261124000011_agent_registry.sql); these give callers zod's issues
// before a request reaches it.
import { z } from "zod";

/** Least to most powerful. The database's actp_agents_capability_tiers() returns the same list. */
export const CAPABILITY_TIERS = ["read", "write", "network_write", "system_admin"] as const;
export const CapabilityTier = z.enum(CAPABILITY_TIERS);
export type CapabilityTier = z.infer<typeof CapabilityTier>;

export const AgentSlug = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, "a slug is 1 to 63 characters: a lowercase letter, then lowercase letters, digits, _ or -");
export type AgentSlug = z.infer<typeof AgentSlug>;

// A capability names one tool, or a family of tools: "web.*", "model:*" (every model ctx.llm may
// route to), or "*" for all; the policy service reads them as the agent's tool allowlist.
export const ToolName = z
  .string()
  .regex(/^(?:[A-Za-z][A-Za-z0-9_.:/-]{0,199}(?:\.\*|:\*)?|\*)$/, 'a tool name like "web.fetch", or a family like "web.*" or "model:*"');

export const Capability = z.strictObject({ tool: ToolName, tier: CapabilityTier });
export type Capability = z.infer<typeof Capability>;

export const Capabilities = z
  .array(Capability)
  .max(500)
  .superRefine((caps, ctx) => {
    const seen = new Set<string>();
    caps.forEach((c, i) => {
      // One tier per tool: two entries for the same tool would make the grant ambiguous.
      if (seen.has(c.tool)) ctx.addIssue({ code: "custom", path: [i, "tool"], message: `tool "${c.tool}" is listed twice` });
      seen.add(c.tool);
    });
  });

export const MemoryNamespace = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/*-]{0,199}$/, 'a memory namespace like "research/findings"');

const ModelName = z.string().min(1).max(200);
export const ModelPolicy = z.strictObject({
  default_model: ModelName.optional(),
  fallback: ModelName.optional(),
  max_cost_usd: z.number().nonnegative().optional(),
});
export type ModelPolicy = z.infer<typeof ModelPolicy>;

/** A JSON Schema document (the agent's input schema, generated from its zod schema). */
export const JsonSchemaObject = z.record(z.string(), z.unknown());

/** What registering sends to public.actp_agents_register: the definition without its code. */
export const AgentRegistration = z.strictObject({
  slug: AgentSlug,
  description: z.string().max(2000).default(""),
  input_schema: JsonSchemaObject.default({}),
  capabilities: Capabilities.default([]),
  memory_read: z.array(MemoryNamespace).max(500).default([]),
  memory_write: z.array(MemoryNamespace).max(500).default([]),
  model_policy: ModelPolicy.default({}),
});
export type AgentRegistration = z.infer<typeof AgentRegistration>;
export type AgentRegistrationInput = z.input<typeof AgentRegistration>;

export const Changelog = z.string().trim().min(1).max(5000);

/** Body of POST /agents: the registration, and optionally the changelog for the version it makes. */
export const RegisterAgentRequest = AgentRegistration.extend({ changelog: Changelog.optional() });
export type RegisterAgentRequest = z.infer<typeof RegisterAgentRequest>;

export const RegisterResult = z.object({
  slug: AgentSlug,
  version: z.number().int().min(1),
  changed: z.boolean(),
  /** The changelog of the version this registration made; null when nothing changed. */
  changelog: z.string().nullable(),
});
export type RegisterResult = z.infer<typeof RegisterResult>;

export const SetEnabledResult = z.object({
  slug: AgentSlug,
  enabled: z.boolean(),
  version: z.number().int().min(1),
  changed: z.boolean(),
});
export type SetEnabledResult = z.infer<typeof SetEnabledResult>;

/** A version row's snapshot: the canonical definition as it was, with its version and hash. */
export const AgentSnapshot = AgentRegistration.required().extend({
  version: z.number().int().min(1),
  definition_hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AgentSnapshot = z.infer<typeof AgentSnapshot>;

const Timestamp = z.string();

export const AgentSummary = z.object({
  slug: AgentSlug,
  version: z.number().int(),
  description: z.string(),
  enabled: z.boolean(),
  capability_count: z.number().int(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type AgentSummary = z.infer<typeof AgentSummary>;

export const AgentDetail = z.object({
  id: z.uuid(),
  slug: AgentSlug,
  version: z.number().int(),
  description: z.string(),
  enabled: z.boolean(),
  capabilities: z.array(Capability),
  memory_read: z.array(z.string()),
  memory_write: z.array(z.string()),
  model_policy: ModelPolicy,
  input_schema: JsonSchemaObject,
  definition_hash: z.string(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type AgentDetail = z.infer<typeof AgentDetail>;

export const AgentCapabilities = z.object({
  slug: AgentSlug,
  version: z.number().int(),
  enabled: z.boolean(),
  capabilities: z.array(Capability),
  memory_read: z.array(z.string()),
  memory_write: z.array(z.string()),
});
export type AgentCapabilities = z.infer<typeof AgentCapabilities>;

export const AgentVersion = z.object({
  version: z.number().int(),
  changelog: z.string(),
  snapshot: AgentSnapshot,
  deployed_at: Timestamp,
});
export type AgentVersion = z.infer<typeof AgentVersion>;

export const AgentListQuery = z.strictObject({
  enabled: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});
export type AgentListQuery = z.infer<typeof AgentListQuery>;

export const AgentVersionsQuery = z.strictObject({
  /** Versions older than this one (keyset pagination, newest first). */
  before: z.coerce.number().int().min(2).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type AgentVersionsQuery = z.infer<typeof AgentVersionsQuery>;

export const AgentVersionsPage = z.object({
  slug: AgentSlug,
  versions: z.array(AgentVersion),
  /** Pass as `before` for the next page; null when this page is the last. */
  next_before: z.number().int().nullable(),
});
export type AgentVersionsPage = z.infer<typeof AgentVersionsPage>;

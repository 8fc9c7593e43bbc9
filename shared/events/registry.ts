/**
 * The one canonical registry of event types (PRD-018 §4.5, plus `tool.circuit_half_open` from §4.12).
 *
 * Everything else is derived from this file: the JSON Schemas in event_schemas/ and the rows of
 * actp_event_types (both written by scripts/gen-event-schemas.ts), so the database refuses an unknown
 * type through its foreign key and a test keeps the three equal.
 *
 * The events row already carries job_id, step_id, agent_slug and tool_name, so payloads hold only what
 * is specific to the type. Payloads are loose objects: producers may add fields, consumers may rely on
 * the declared ones.
 */
import { z } from "zod";

export const EVENT_GROUPS = [
  "job",
  "tool",
  "research",
  "memory",
  "scheduler",
  "reliability",
  "telemetry",
] as const;
export type EventGroup = (typeof EVENT_GROUPS)[number];

/** jsonb rows stay small: the events table is read as a timeline, big data belongs in its own table. */
export const MAX_EVENT_PAYLOAD_BYTES = 64 * 1024;
export const MAX_EVENT_BATCH = 500;
const MAX_PAYLOAD_DEPTH = 32;

// ---------------------------------------------------------------------------------------------------
// Secrets and JSON safety

// Matched against the key after camelCase and dashes are folded to snake_case, so `accessToken`,
// `X-Api-Key` and `client_secret` are all caught while `input_tokens` or `token_count` are not.
const SECRET_KEY = /(^|_)(password|passwd|secret|api_key|apikey|authorization|token|private_key|access_key|cookie)$/i;

// Only shapes that are almost never anything but a credential, so an honest message is not rejected.
const SECRET_VALUE_PATTERNS: readonly RegExp[] = [
  /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/,
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, // JWT, e.g. a Supabase service key
  /\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}/,
  /-----BEGIN [A-Z ]*PRIVATE[ ]KEY-----/,
];

// Postgres text and jsonb refuse NUL and lone surrogates; catching them here turns a 500 into a 400.
const PG_UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What redactSecrets puts in place of a secret; accepted under a secret-looking key. */
export const REDACTED = "[REDACTED]";

export function isSecretKey(key: string): boolean {
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[-\s.]+/g, "_");
  return SECRET_KEY.test(snake);
}

export function looksLikeSecretValue(value: string): boolean {
  return SECRET_VALUE_PATTERNS.some((re) => re.test(value));
}

export type PayloadProblem = {
  path: (string | number)[];
  reason: "secret_key" | "secret_value" | "not_json" | "cycle" | "too_deep" | "unsafe_text";
  message: string;
};

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Every problem that would make a value unfit for an event payload: secret-looking keys or values,
 * anything jsonb cannot hold faithfully (Date, Map, bigint, NaN, functions...), cycles, excessive depth.
 */
export function findPayloadProblems(value: unknown): PayloadProblem[] {
  const problems: PayloadProblem[] = [];
  const ancestors = new Set<object>();

  const visit = (v: unknown, path: (string | number)[], inArray: boolean): void => {
    switch (typeof v) {
      case "string":
        if (PG_UNSAFE_TEXT.test(v)) {
          problems.push({ path, reason: "unsafe_text", message: "string contains a NUL character or a lone surrogate, which Postgres cannot store" });
        } else if (looksLikeSecretValue(v)) {
          problems.push({ path, reason: "secret_value", message: "value looks like a credential (bearer token, JWT, API key or private key); events must not carry secrets" });
        }
        return;
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) problems.push({ path, reason: "not_json", message: `${v} is not representable in JSON` });
        return;
      case "undefined":
        // Object properties holding undefined are simply omitted by JSON; in arrays they would become null.
        if (inArray) problems.push({ path, reason: "not_json", message: "undefined inside an array is not representable in JSON; use null" });
        return;
      case "object":
        break;
      default:
        problems.push({ path, reason: "not_json", message: `${typeof v} is not representable in JSON` });
        return;
    }
    if (v === null) return;
    if (ancestors.has(v)) {
      problems.push({ path, reason: "cycle", message: "value contains a reference cycle" });
      return;
    }
    if (path.length >= MAX_PAYLOAD_DEPTH) {
      problems.push({ path, reason: "too_deep", message: `value is nested deeper than ${MAX_PAYLOAD_DEPTH} levels` });
      return;
    }
    if (Array.isArray(v)) {
      ancestors.add(v);
      for (let i = 0; i < v.length; i++) visit(v[i], [...path, i], true);
      ancestors.delete(v);
      return;
    }
    if (!isPlainObject(v)) {
      const hint = v instanceof Date ? "; use date.toISOString()" : "";
      problems.push({ path, reason: "not_json", message: `${describeValue(v)} is not a plain JSON object${hint}` });
      return;
    }
    ancestors.add(v);
    for (const [key, child] of Object.entries(v)) {
      // The marker left by redactSecrets shows the field existed without exposing it.
      if (isSecretKey(key) && child !== REDACTED) {
        problems.push({ path: [...path, key], reason: "secret_key", message: `key "${key}" looks like a secret; events must not carry secrets` });
        continue;
      }
      if (PG_UNSAFE_TEXT.test(key)) {
        problems.push({ path: [...path, key], reason: "unsafe_text", message: "key contains a NUL character or a lone surrogate" });
        continue;
      }
      visit(child, [...path, key], false);
    }
    ancestors.delete(v);
  };

  visit(value, [], false);
  return problems;
}

/** Paths of keys or string values that look like secrets. */
export function findSecretPaths(value: unknown): (string | number)[][] {
  return findPayloadProblems(value)
    .filter((p) => p.reason === "secret_key" || p.reason === "secret_value")
    .map((p) => p.path);
}

/**
 * A copy with secret-keyed values and credential-looking substrings replaced, for producers that must
 * emit something built from untrusted text (an upstream error message, say) rather than drop the event.
 */
export function redactSecrets<T>(value: T): T {
  const seen = new WeakMap<object, unknown>();
  const scrubString = (s: string): string =>
    SECRET_VALUE_PATTERNS.reduce((acc, re) => acc.replace(new RegExp(re.source, "g"), REDACTED), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return scrubString(v);
    if (typeof v !== "object" || v === null) return v;
    const cached = seen.get(v);
    if (cached !== undefined) return cached;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item));
      return out;
    }
    if (!isPlainObject(v)) return v;
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const [key, child] of Object.entries(v)) out[key] = isSecretKey(key) ? REDACTED : walk(child);
    return out;
  };
  return walk(value) as T;
}

// The UTF-8 size Postgres will store; TextEncoder exists in Deno and Node alike.
const utf8 = new TextEncoder();
function utf8Length(s: string): number {
  return utf8.encode(s).byteLength;
}

// Runs even when field validation already failed (`when`), so one response lists a missing field and
// a leaked secret together instead of making the producer fix them one round trip at a time.
function checkPayload(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const problems = findPayloadProblems(value);
  for (const p of problems) {
    ctx.addIssue({ code: "custom", path: p.path, message: p.message, params: { reason: p.reason }, input: undefined });
  }
  if (problems.length > 0 || typeof value !== "object" || value === null) return;
  const bytes = utf8Length(JSON.stringify(value));
  if (bytes > MAX_EVENT_PAYLOAD_BYTES) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: `payload is ${bytes} bytes of JSON, over the ${MAX_EVENT_PAYLOAD_BYTES} byte limit; store large data elsewhere and reference it`,
      params: { reason: "too_large", bytes, limit: MAX_EVENT_PAYLOAD_BYTES },
      input: undefined,
    });
  }
}

function payloadObject<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.looseObject(shape).superRefine(checkPayload, { when: () => true });
}

// ---------------------------------------------------------------------------------------------------
// Building blocks shared by payloads

const label = (max = 200) => z.string().min(1).max(max);
const uuid = () => z.guid();
const timestamp = () => z.iso.datetime({ offset: true }).describe("ISO 8601 timestamp with a UTC offset or Z");
const durationMs = () => z.int().nonnegative().describe("milliseconds");
const count = () => z.int().nonnegative();
const attemptNo = () => z.int().min(1).describe("1-based attempt number");
const costUsd = () => z.number().nonnegative().describe("US dollars");
const digest = () => label().describe("content digest, e.g. sha256:<hex>");
const sha256 = () => z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 lowercase hex digits>");
const reason = () => label(1000);
const jobType = () => label().describe("job type, e.g. research_synthesis");
const workerId = () => label().describe("id of the worker process");
const scheduleName = () => label().describe("schedule name, e.g. actp:sla:measure");

/** Every hop of a guarded request (ctx.fetch): the host it reached and what that host answered. */
const netHops = () =>
  z
    .array(
      z.strictObject({
        host: label(260),
        status: z.int().min(100).max(599).nullable().describe("HTTP status; null when refused before sending"),
        address: label(64).nullable().optional().describe("the checked address the connection went to"),
      }),
    )
    .max(20)
    .describe("each hop of the request, redirects included, in order");

const errorInfo = () =>
  z
    .looseObject({
      message: label(4000),
      code: label().optional().describe("stable error code, e.g. policy.budget_exceeded"),
      where: label().optional().describe("where it failed: a step id, tool name or function"),
    })
    .describe("what went wrong, without secrets or stack traces of user data");

const MEMORY_LAYERS = ["working", "episodic", "semantic", "procedural", "archival"] as const;
const memoryLayer = () => z.enum(MEMORY_LAYERS).describe("L1 working, L2 episodic, L3 semantic, L4 procedural, L5 archival");

const RESEARCH_STAGES = ["plan", "search", "fetch", "rank", "synthesize", "propose"] as const;

// tool.circuit_* (what §4.12 says the breaker emits) and circuit.* (the reliability group of §4.5)
// describe the same transitions; one shape each keeps dashboards from needing two parsers.
const circuitOpenPayload = payloadObject({
  tool: label().describe("the tool whose breaker changed state, e.g. browser.fetch"),
  failures: z.int().min(0).describe("failures counted in the window that tripped the breaker (0 when an operator forced it open)"),
  reason: z.enum(["failure_threshold", "probe_failed", "forced"]).optional().describe("why the breaker opened"),
  window_seconds: z.int().min(1),
  reopens_at: timestamp().describe("when the breaker lets one probe call through (half-open)"),
  threshold: z.int().min(1).optional(),
  fallback: label().nullable().optional().describe("tool used instead while open, if any"),
  last_error: errorInfo().optional(),
});
const circuitHalfOpenPayload = payloadObject({
  tool: label(),
  opened_at: timestamp().describe("when the breaker opened"),
});
const circuitClosedPayload = payloadObject({
  tool: label(),
  reason: z.enum(["probe_succeeded", "manual_reset"]),
  open_ms: durationMs().optional().describe("how long the breaker was not closed"),
});

// ---------------------------------------------------------------------------------------------------
// The registry

type EventDefinition<S extends z.ZodType> = {
  readonly group: EventGroup;
  readonly description: string;
  readonly payload: S;
  /** A realistic payload: documentation, JSON Schema `examples`, and the registry's own tests. */
  readonly example: z.input<S>;
};

function defineEvent<S extends z.ZodType>(def: EventDefinition<S>): EventDefinition<S> {
  return Object.freeze(def);
}

export const EVENT_TYPES = {
  // --- job lifecycle --------------------------------------------------------------------------------
  "job.received": defineEvent({
    group: "job",
    description: "A job was accepted. Starts the SLA clock (§4.9). Row: job_id, agent_slug.",
    payload: payloadObject({
      job_type: jobType(),
      input_hash: digest().optional(),
      priority: z.int().optional().describe("higher runs first"),
      source: label().optional().describe("who submitted it: api, schedule, sdk, replay, ..."),
      warning: label(1000).optional().describe("why the job may not run soon, e.g. no live worker serves the agent"),
    }),
    example: { job_type: "research_synthesis", input_hash: "sha256:9f2c1e0b7a4d4c1f8e3b2a1908d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2918070", priority: 0, source: "api" },
  }),
  "job.planning": defineEvent({
    group: "job",
    description: "The agent started planning the job (intent parsing, task decomposition).",
    payload: payloadObject({
      planner: label().optional().describe("planner or model doing the planning"),
      planned_steps: z.array(label()).max(500).optional().describe("step ids the plan will run, once known"),
    }),
    example: { planner: "claude-sonnet", planned_steps: ["search", "fetch", "synthesize"] },
  }),
  "job.dispatched": defineEvent({
    group: "job",
    description: "The job was put on a queue for workers to claim.",
    payload: payloadObject({
      queue: label().describe("pg-boss queue name"),
      attempt: attemptNo().optional(),
      run_after: timestamp().optional().describe("earliest start, when delayed"),
    }),
    example: { queue: "actp.research_synthesis", attempt: 1 },
  }),
  "job.progress": defineEvent({
    group: "job",
    description: "A progress update for the requester. The first one stops the time-to-first-update SLA clock.",
    payload: payloadObject({
      message: label(2000),
      pct: z.number().min(0).max(100).optional().describe("percent complete"),
      artifact_ref: label(1000).optional().describe("reference to a partial artifact"),
    }),
    example: { message: "Fetched 6 of 10 sources", pct: 60 },
  }),
  "job.completed": defineEvent({
    group: "job",
    description: "The job finished successfully. Stops the completion SLA clock.",
    payload: payloadObject({
      duration_ms: durationMs().describe("from job.received to completion"),
      attempt: attemptNo(),
      output_hash: digest().optional(),
      tool_rounds: count().optional(),
      cost_usd: costUsd().optional(),
    }),
    example: { duration_ms: 48210, attempt: 1, tool_rounds: 7, cost_usd: 0.0841 },
  }),
  "job.failed": defineEvent({
    group: "job",
    description: "An attempt failed. will_retry tells whether job.retrying follows or the job is finished (and may go to the DLQ).",
    payload: payloadObject({
      error: errorInfo(),
      attempt: attemptNo().describe("the attempt that failed"),
      will_retry: z.boolean(),
      reason: label()
        .optional()
        .describe(
          "why it will or will not run again: backoff, retry_after, policy_retry_after, circuit_open (retried); non_retriable, invalid_input, duplicate_step, invalid_tool_input, not_configured, policy_denied, retries_exhausted, incident_fail_fast (not)",
        ),
      max_attempts: attemptNo().optional().describe("attempts allowed in total"),
      duration_ms: durationMs().optional(),
    }),
    example: {
      error: { message: "upstream returned 503", code: "tool.unavailable", where: "fetch" },
      attempt: 2,
      will_retry: true,
      max_attempts: 3,
    },
  }),
  "job.cancelled": defineEvent({
    group: "job",
    description: "The job was cancelled before it finished.",
    payload: payloadObject({
      reason: reason(),
      cancelled_by: label().optional().describe("who cancelled, from the token: operator:<sub>, service_role"),
      label: label().optional().describe("the name the request gave, kept beside cancelled_by"),
    }),
    example: { reason: "superseded by a newer request", cancelled_by: "operator" },
  }),
  "job.timed_out": defineEvent({
    group: "job",
    description: "An attempt ran past its timeout and was stopped or its claim released.",
    payload: payloadObject({
      timeout_ms: z.int().min(1),
      elapsed_ms: durationMs().optional(),
      attempt: attemptNo().optional(),
      will_retry: z.boolean().optional(),
    }),
    example: { timeout_ms: 120000, elapsed_ms: 120450, attempt: 1, will_retry: true },
  }),
  "job.retrying": defineEvent({
    group: "job",
    description: "The job will run again after a delay.",
    payload: payloadObject({
      attempt: z.int().min(2).describe("the attempt about to run"),
      delay_ms: durationMs(),
      run_at: timestamp().optional().describe("when the next attempt becomes due (pg-boss's start_after)"),
      reason: label(1000).optional().describe("why: backoff, retry_after, or what happened to the worker that held it"),
      error: errorInfo().describe("the failure that caused the retry"),
      max_attempts: attemptNo().optional().describe("attempts allowed in total"),
    }),
    example: { attempt: 2, delay_ms: 4000, error: { message: "rate limited by provider", code: "tool.rate_limited" }, max_attempts: 3 },
  }),

  // --- tool calls -----------------------------------------------------------------------------------
  "tool.call_started": defineEvent({
    group: "tool",
    description: "A tool call passed policy checks and started. Row: tool_name, step_id.",
    payload: payloadObject({
      call_id: label().optional().describe("correlates started/completed/failed of one call"),
      action_type: label().optional().describe("policy action type, e.g. network_read"),
      input_hash: digest().optional(),
    }),
    example: { call_id: "call_01", action_type: "network_read" },
  }),
  "tool.call_completed": defineEvent({
    group: "tool",
    description: "A tool call returned successfully.",
    payload: payloadObject({
      duration_ms: durationMs(),
      cost_usd: costUsd().optional(),
      call_id: label().optional(),
      output_hash: digest().optional(),
      hops: netHops().optional(),
    }),
    example: { duration_ms: 812, cost_usd: 0.0004, call_id: "call_01" },
  }),
  "tool.call_failed": defineEvent({
    group: "tool",
    description: "A tool call failed or was refused. kind separates tool errors (which count toward the circuit breaker) from refusals.",
    payload: payloadObject({
      error: errorInfo(),
      kind: z.enum(["error", "timeout", "policy_denied", "rate_limited", "circuit_open"]),
      duration_ms: durationMs().optional(),
      call_id: label().optional(),
      retry_after_ms: durationMs().optional(),
      hops: netHops().optional(),
    }),
    example: { error: { message: "connect ETIMEDOUT", code: "tool.timeout" }, kind: "timeout", duration_ms: 30000, call_id: "call_02" },
  }),
  "tool.circuit_open": defineEvent({
    group: "tool",
    description: "A tool's circuit breaker opened: calls to it are refused until reopens_at (§4.12). Same payload as circuit.open.",
    payload: circuitOpenPayload,
    example: { tool: "browser.fetch", failures: 5, window_seconds: 60, reopens_at: "2026-11-24T18:05:30Z", threshold: 5, fallback: null },
  }),
  "tool.circuit_half_open": defineEvent({
    group: "tool",
    description: "A tool's circuit breaker lets one probe call through (§4.12). Same payload as circuit.half_open.",
    payload: circuitHalfOpenPayload,
    example: { tool: "browser.fetch", opened_at: "2026-11-24T18:05:00Z" },
  }),
  "tool.circuit_closed": defineEvent({
    group: "tool",
    description: "A tool's circuit breaker closed again (§4.12). Same payload as circuit.closed.",
    payload: circuitClosedPayload,
    example: { tool: "browser.fetch", reason: "probe_succeeded", open_ms: 31200 },
  }),

  // --- research -------------------------------------------------------------------------------------
  "research.plan_created": defineEvent({
    group: "research",
    description: "A ResearchWorker turned a question into a search plan.",
    payload: payloadObject({
      question: label(4000),
      queries: z.array(label(1000)).min(1).max(100),
      budget_usd: costUsd().optional(),
      max_sources: z.int().min(1).optional(),
    }),
    example: { question: "Which Postgres queues support dead-letter queues?", queries: ["pg-boss dead letter", "graphile worker failed jobs"], budget_usd: 0.5, max_sources: 10 },
  }),
  "research.stage_completed": defineEvent({
    group: "research",
    description: "A stage of the research pipeline finished and was checkpointed.",
    payload: payloadObject({
      stage: z.enum(RESEARCH_STAGES),
      duration_ms: durationMs(),
      items: count().optional().describe("what the stage produced: queries, results, pages, ranked sources, claims"),
      cost_usd: costUsd().optional(),
    }),
    example: { stage: "fetch", duration_ms: 5230, items: 8, cost_usd: 0 },
  }),
  "research.evidence_stored": defineEvent({
    group: "research",
    description: "A fetched page passed the sanitization pipeline (§4.15) and was stored as evidence.",
    payload: payloadObject({
      evidence_id: uuid(),
      url: z.url({ protocol: /^https?$/ }),
      content_hash: sha256(),
      sanitized: z.boolean(),
      injection_flags: z.array(label()).max(100).optional().describe("names of prompt-injection patterns found and redacted"),
      authority: z.number().min(0).max(1).optional().describe("source authority score"),
      domain: label(260).optional().describe("registrable domain of the page"),
      flagged: z.boolean().optional().describe("the scanner found injection patterns (redacted in the stored text)"),
      quarantined: z.boolean().optional().describe("above the severity threshold: stored for audit, never used as evidence"),
      risk_score: z.number().min(0).optional().describe("sum of the findings' weights"),
      max_severity: z.enum(["none", "low", "medium", "high", "critical"]).optional(),
      hops: netHops().optional(),
    }),
    example: {
      evidence_id: "2b7e4c1a-9d3f-4e8b-a6c5-0f1e2d3c4b5a",
      url: "https://github.com/timgit/pg-boss",
      content_hash: "sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
      sanitized: true,
      injection_flags: [],
      authority: 0.8,
    },
  }),
  "research.proposal_created": defineEvent({
    group: "research",
    description: "A claim became a memory proposal awaiting the gate (§4.8).",
    payload: payloadObject({
      proposal_id: uuid(),
      target_layer: z.int().min(3).max(4).describe("actp_memory_proposals.target_layer, PRD §3 numbering: 3 semantic (L3), 4 procedural (L4)"),
      target_key: label(500),
      layer: z.enum(["semantic", "procedural"]).optional().describe("target_layer by name"),
      subject: label().optional().describe("the fact's subject; (layer, subject, key) names the fact"),
      key: label(500).optional(),
      evidence_count: count(),
    }),
    example: { proposal_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", target_layer: 3, target_key: "dead_letter", layer: "semantic", subject: "pg-boss", key: "dead_letter", evidence_count: 2 },
  }),
  "research.proposal_approved": defineEvent({
    group: "research",
    description: "The memory proposal gate approved a proposal; a memory.write follows.",
    payload: payloadObject({
      proposal_id: uuid(),
      score: z.number().min(0).max(10).describe("critic score"),
      reviewer: label().describe('"auto" (the gate) or the reviewer\'s identity from the token (actp_caller_actor())'),
      reviewer_label: label().optional().describe("a name the reviewer gave, kept beside the identity"),
      fact_id: uuid().optional().describe("the actp_memory_facts row the approval wrote"),
    }),
    example: { proposal_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", score: 8.2, reviewer: "auto" },
  }),
  "research.proposal_rejected": defineEvent({
    group: "research",
    description: "The memory proposal gate rejected or deferred a proposal.",
    payload: payloadObject({
      proposal_id: uuid(),
      reason: reason(),
      outcome: z.enum(["rejected", "deferred"]),
      score: z.number().min(0).max(10).optional(),
      reviewer: label(),
      reviewer_label: label().optional().describe("a name the reviewer gave, kept beside the identity"),
    }),
    example: { proposal_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", reason: "no source with authority >= 0.7", outcome: "deferred", score: 7.4, reviewer: "auto" },
  }),

  // --- memory ---------------------------------------------------------------------------------------
  "memory.write": defineEvent({
    group: "memory",
    description: "A value was written to a long-lived memory layer.",
    payload: payloadObject({
      layer: memoryLayer(),
      namespace: label(),
      key: label(500),
      proposal_id: uuid().optional().describe("the approved proposal, when gated"),
      content_hash: digest().optional(),
      fact_id: uuid().optional().describe("the actp_memory_facts row written"),
      supersedes: uuid().optional().describe("the fact of the same key it replaced"),
    }),
    example: { layer: "semantic", namespace: "tools", key: "pg-boss/dead_letter", proposal_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7" },
  }),
  "memory.promote": defineEvent({
    group: "memory",
    description: "A memory moved to a longer-lived layer (e.g. episodic to semantic).",
    payload: payloadObject({
      from_layer: memoryLayer(),
      to_layer: memoryLayer(),
      namespace: label(),
      key: label(500),
    }),
    example: { from_layer: "episodic", to_layer: "semantic", namespace: "projects", key: "actp/deploy_target" },
  }),
  "memory.forget": defineEvent({
    group: "memory",
    description: "A memory was deleted or archived away.",
    payload: payloadObject({
      layer: memoryLayer(),
      namespace: label(),
      key: label(500),
      reason: reason(),
    }),
    example: { layer: "semantic", namespace: "tools", key: "legacy/queue", reason: "contradicted by newer evidence" },
  }),
  "memory.checkpoint": defineEvent({
    group: "memory",
    description: "A step's result was checkpointed (L1 working memory), so a retry or replay can resume after it. Row: step_id.",
    payload: payloadObject({
      checkpoint_id: label(),
      bytes: count().optional(),
      output_hash: digest().optional(),
    }),
    example: { checkpoint_id: "fetch", bytes: 18432 },
  }),

  // --- scheduler ------------------------------------------------------------------------------------
  "schedule.fired": defineEvent({
    group: "scheduler",
    description: "A schedule ran its task. executor says whether pg_cron or the local runner fired it.",
    payload: payloadObject({
      schedule: scheduleName(),
      scheduled_for: timestamp(),
      executor: z.enum(["pg_cron", "local"]),
      lag_ms: durationMs().optional().describe("fired this long after scheduled_for"),
    }),
    example: { schedule: "actp:sla:measure", scheduled_for: "2026-11-24T18:00:00Z", executor: "pg_cron", lag_ms: 140 },
  }),
  "schedule.missed": defineEvent({
    group: "scheduler",
    description: "A scheduled run did not happen in its window.",
    payload: payloadObject({
      schedule: scheduleName(),
      scheduled_for: timestamp(),
      reason: reason(),
    }),
    example: { schedule: "actp:incident:detect", scheduled_for: "2026-11-24T17:55:00Z", reason: "no executor was running" },
  }),
  "schedule.skipped": defineEvent({
    group: "scheduler",
    description: "A scheduled run was deliberately not run (incident mode, concurrency limit, disabled).",
    payload: payloadObject({
      schedule: scheduleName(),
      scheduled_for: timestamp(),
      reason: reason(),
    }),
    example: { schedule: "actp:digest:daily", scheduled_for: "2026-11-24T18:00:00Z", reason: "incident mode suspends non-critical schedules" },
  }),
  "schedule.coalesced": defineEvent({
    group: "scheduler",
    description: "Several missed runs of a schedule were folded into one run.",
    payload: payloadObject({
      schedule: scheduleName(),
      missed_count: z.int().min(1),
      first_missed_for: timestamp(),
      last_missed_for: timestamp(),
    }),
    example: { schedule: "actp:sla:measure", missed_count: 3, first_missed_for: "2026-11-24T17:45:00Z", last_missed_for: "2026-11-24T17:55:00Z" },
  }),
  "run.claimed": defineEvent({
    group: "scheduler",
    description: "A worker claimed a job run and holds a lease on it.",
    payload: payloadObject({
      worker_id: workerId(),
      lease_expires_at: timestamp(),
      attempt: attemptNo().optional(),
    }),
    example: { worker_id: "worker-7f3a", lease_expires_at: "2026-11-24T18:10:00Z", attempt: 1 },
  }),
  "run.lease_renewed": defineEvent({
    group: "scheduler",
    description: "A worker extended its lease on a claimed run.",
    payload: payloadObject({
      worker_id: workerId(),
      lease_expires_at: timestamp(),
    }),
    example: { worker_id: "worker-7f3a", lease_expires_at: "2026-11-24T18:15:00Z" },
  }),

  // --- reliability ----------------------------------------------------------------------------------
  "circuit.open": defineEvent({
    group: "reliability",
    description: "A circuit breaker opened. Same payload as tool.circuit_open.",
    payload: circuitOpenPayload,
    example: { tool: "browser.fetch", failures: 5, window_seconds: 60, reopens_at: "2026-11-24T18:05:30Z" },
  }),
  "circuit.half_open": defineEvent({
    group: "reliability",
    description: "A circuit breaker moved to half-open to probe recovery. Same payload as tool.circuit_half_open.",
    payload: circuitHalfOpenPayload,
    example: { tool: "browser.fetch", opened_at: "2026-11-24T18:05:00Z" },
  }),
  "circuit.closed": defineEvent({
    group: "reliability",
    description: "A circuit breaker closed. Same payload as tool.circuit_closed.",
    payload: circuitClosedPayload,
    example: { tool: "browser.fetch", reason: "manual_reset" },
  }),
  "dlq.enqueued": defineEvent({
    group: "reliability",
    description: "A job exhausted its retries and went to the dead-letter queue (§4.11). Row: job_id is the original job.",
    payload: payloadObject({
      dlq_id: uuid(),
      job_type: jobType(),
      retry_count: count(),
      failure_reason: reason(),
    }),
    example: { dlq_id: "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f", job_type: "content_generation", retry_count: 3, failure_reason: "model returned invalid JSON three times" },
  }),
  "dlq.reviewed": defineEvent({
    group: "reliability",
    description: "A person resolved a dead-letter entry.",
    payload: payloadObject({
      dlq_id: uuid(),
      action: z.enum(["replayed", "discarded", "manual_fix"]),
      reviewed_by: label().describe("who acted, from the token: operator:<sub> <email>, service_role"),
      reviewer_label: label().optional().describe("the reviewer name the request gave"),
      note: label(2000).optional(),
      new_job_id: uuid().optional().describe("the replay, when action is replayed"),
    }),
    example: { dlq_id: "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f", action: "replayed", reviewed_by: "isaiah", new_job_id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" },
  }),
  "job.replayed": defineEvent({
    group: "reliability",
    description: "A past job was re-run, from the start or from a step (§4.14).",
    payload: payloadObject({
      original_job_id: uuid(),
      new_job_id: uuid(),
      from_step: label().nullable().optional().describe("step id resumed from; absent or null means from the start"),
      requested_by: label().optional().describe("who asked, from the token: operator:<sub>, service_role"),
      label: label().optional().describe("the name the request gave, kept beside requested_by"),
    }),
    example: { original_job_id: "1b4e28ba-2fa1-41d2-883f-0016d3cca427", new_job_id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", from_step: "synthesize", requested_by: "cli" },
  }),

  // --- telemetry ------------------------------------------------------------------------------------
  "heartbeat.ok": defineEvent({
    group: "telemetry",
    description: "A worker reported it is alive.",
    payload: payloadObject({
      worker_id: workerId(),
      last_heartbeat_at: timestamp().optional(),
      rss_bytes: count().optional(),
      active_jobs: count().optional(),
    }),
    example: { worker_id: "worker-7f3a", last_heartbeat_at: "2026-11-24T18:03:00Z", rss_bytes: 187695104, active_jobs: 2 },
  }),
  "heartbeat.stale": defineEvent({
    group: "telemetry",
    description: "A worker's heartbeat stopped; the supervisor may release its claims (§4.13).",
    payload: payloadObject({
      worker_id: workerId(),
      last_heartbeat_at: timestamp().optional(),
      stale_ms: durationMs().optional(),
      rss_bytes: count().optional(),
    }),
    example: { worker_id: "worker-7f3a", last_heartbeat_at: "2026-11-24T17:58:00Z", stale_ms: 300000 },
  }),
  "agent.stalled": defineEvent({
    group: "telemetry",
    description: "A running job made no progress for too long; action says what the supervisor did.",
    payload: payloadObject({
      stalled_ms: durationMs(),
      last_progress_at: timestamp().optional(),
      worker_id: workerId().optional(),
      action: z.enum(["alerted", "claim_released", "requeued", "worker_restarted"]).optional(),
    }),
    example: { stalled_ms: 600000, last_progress_at: "2026-11-24T17:53:00Z", worker_id: "worker-7f3a", action: "requeued" },
  }),
  "sla.breach": defineEvent({
    group: "telemetry",
    description: "A job exceeded its SLA target (§4.9).",
    payload: payloadObject({
      job_type: jobType(),
      metric: z.enum(["time_to_first_update_ms", "time_to_completion_ms"]),
      target_ms: z.int().min(1),
      actual_ms: durationMs(),
      in_flight: z.boolean().optional().describe("found by the sweep while the job was still running"),
      breach_id: z.int().min(1).optional().describe("row of actp_sla_breaches (one per job and metric)"),
    }),
    example: { job_type: "research_synthesis", metric: "time_to_completion_ms", target_ms: 120000, actual_ms: 134500, in_flight: false },
  }),
  "incident.declared": defineEvent({
    group: "telemetry",
    description: "The system entered degraded or incident mode (§4.10).",
    payload: payloadObject({
      incident_id: uuid(),
      trigger_reason: reason(),
      mode: z.enum(["degraded", "incident"]),
      trigger_data: z.record(z.string(), z.unknown()).optional().describe("the measurements behind the trigger"),
      declared_by: label().optional().describe("operator identity, or detector for an automatic declaration"),
    }),
    example: {
      incident_id: "5d2f8a10-3c4b-4e6f-a7b8-9c0d1e2f3a4b",
      trigger_reason: "error rate above 20% over 5 minutes",
      mode: "incident",
      trigger_data: { error_rate: 0.27, window_minutes: 5 },
    },
  }),
  "incident.acknowledged": defineEvent({
    group: "telemetry",
    description: "An operator acknowledged the open incident: repeat alerts stop (§4.10).",
    payload: payloadObject({
      incident_id: uuid(),
      acknowledged_by: label(),
      note: label(2000).optional(),
    }),
    example: { incident_id: "5d2f8a10-3c4b-4e6f-a7b8-9c0d1e2f3a4b", acknowledged_by: "operator:7c1e <ops@example.com>", note: "looking at the provider" },
  }),
  "incident.mode_changed": defineEvent({
    group: "telemetry",
    description: "The platform mode stepped between normal, degraded and incident; evidence is what the detectors measured (§4.10).",
    payload: payloadObject({
      incident_id: uuid().optional(),
      from_mode: z.enum(["normal", "degraded", "incident"]),
      to_mode: z.enum(["normal", "degraded", "incident"]),
      actor: label(),
      reason: reason(),
      evidence: z.record(z.string(), z.unknown()).optional(),
    }),
    example: {
      incident_id: "5d2f8a10-3c4b-4e6f-a7b8-9c0d1e2f3a4b",
      from_mode: "incident",
      to_mode: "degraded",
      actor: "detector",
      reason: "every detector below its clear threshold for 600 s",
      evidence: { firing: [] },
    },
  }),
  "incident.resolved": defineEvent({
    group: "telemetry",
    description: "The system returned to normal mode.",
    payload: payloadObject({
      incident_id: uuid(),
      resolution_note: label(2000).optional(),
      duration_ms: durationMs().optional(),
      resolved_by: label().optional().describe("operator identity, or detector when the detectors stepped it down"),
      evidence: z.record(z.string(), z.unknown()).optional().describe("the detector readings at resolution"),
    }),
    example: { incident_id: "5d2f8a10-3c4b-4e6f-a7b8-9c0d1e2f3a4b", resolution_note: "provider recovered", duration_ms: 1860000 },
  }),
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export type EventPayloadSchema<T extends EventType> = (typeof EVENT_TYPES)[T]["payload"];
/** A payload as consumers see it after validation. */
export type EventPayload<T extends EventType> = z.output<EventPayloadSchema<T>>;
/** A payload as producers may write it. */
export type EventPayloadInput<T extends EventType> = z.input<EventPayloadSchema<T>>;

export const eventTypeNames: readonly EventType[] = Object.freeze(
  (Object.keys(EVENT_TYPES) as EventType[]).sort(),
);
const eventTypeSet: ReadonlySet<string> = new Set(eventTypeNames);

export function isEventType(s: unknown): s is EventType {
  return typeof s === "string" && eventTypeSet.has(s);
}

export function payloadSchemaFor<T extends EventType>(type: T): EventPayloadSchema<T> {
  return EVENT_TYPES[type].payload;
}

export function eventTypesInGroup(group: EventGroup): EventType[] {
  return eventTypeNames.filter((t) => EVENT_TYPES[t].group === group);
}

// ---------------------------------------------------------------------------------------------------
// "Did you mean"

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let curr = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      curr[j] = Math.min(prev[j]! + 1, curr[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length]!;
}

/**
 * Closest registered names to a mistyped one: names the input is a prefix of (or that prefix it)
 * first, then by edit distance. Names too far away are left out, since a random suggestion misleads.
 */
export function nearestEventTypes(input: string, n = 3): EventType[] {
  const s = input.trim().toLowerCase();
  if (s.length === 0 || n <= 0) return [];
  const maxDistance = Math.max(3, Math.ceil(s.length * 0.4));
  const ranked: { name: EventType; prefix: boolean; distance: number }[] = [];
  for (const name of eventTypeNames) {
    const prefix = name.startsWith(s) || s.startsWith(name);
    // "completed" should find "job.completed": compare against the part after the group too.
    const suffix = name.slice(name.indexOf(".") + 1);
    const distance = Math.min(levenshtein(s, name), s.includes(".") ? Infinity : levenshtein(s, suffix) + 1);
    if (prefix || distance <= maxDistance) ranked.push({ name, prefix, distance });
  }
  ranked.sort((x, y) => Number(y.prefix) - Number(x.prefix) || x.distance - y.distance || x.name.localeCompare(y.name));
  return ranked.slice(0, n).map((r) => r.name);
}

function unknownTypeMessage(input: unknown): string {
  if (typeof input !== "string") return "event type must be a string naming a registered event type";
  const near = nearestEventTypes(input);
  const hint = near.length > 0 ? `; did you mean ${near.map((t) => `"${t}"`).join(", ")}?` : "";
  return `unknown event type "${input}"${hint}`;
}

// ---------------------------------------------------------------------------------------------------
// One event to emit

const pgText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !PG_UNSAFE_TEXT.test(s), "contains a NUL character or a lone surrogate, which Postgres cannot store");

// Strict: a misspelt envelope key (jobId, step) would otherwise be dropped and the row silently lose it.
export const EventInput = z.strictObject({
  type: z.enum(eventTypeNames as [EventType, ...EventType[]], { error: (issue) => unknownTypeMessage(issue.input) }),
  job_id: z.guid().nullable().optional(),
  step_id: pgText(200).nullable().optional(),
  // Limits match the column checks on actp_events, so a too-long value is a 400 here, not a 500 there.
  agent_slug: pgText(100).nullable().optional(),
  tool_name: pgText(200).nullable().optional(),
  payload: z.record(z.string(), z.unknown()).describe("validated against the type's payload schema"),
});
export type EventInput = z.input<typeof EventInput>;

type ValidEventOf<T extends EventType> = {
  type: T;
  job_id: string | null;
  step_id: string | null;
  agent_slug: string | null;
  tool_name: string | null;
  payload: EventPayload<T>;
};
/** An event whose envelope and payload were validated; absent columns are null, ready to insert. */
export type ValidEvent = { [T in EventType]: ValidEventOf<T> }[EventType];

export type EventErrorCode = "events.unknown_type" | "events.invalid_event";

// Shaped like zod's safeParse, so callers read it the same way.
export type ParseEventResult =
  | { success: true; data: ValidEvent }
  | {
      success: false;
      code: EventErrorCode;
      message: string;
      issues: z.core.$ZodIssue[];
      /** The offending `type` when it names no registered event type. */
      unknownType?: string;
      /** Present when the type is unknown: the nearest registered names. */
      suggestions?: EventType[];
    };

function prefixIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): z.core.$ZodIssue[] {
  return issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] }));
}

function summarize(issues: readonly z.core.$ZodIssue[], what: string): string {
  const first = issues[0];
  if (!first) return `invalid ${what}`;
  const where = first.path.length > 0 ? `${first.path.map(String).join(".")}: ` : "";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return `invalid ${what}: ${where}${first.message}${more}`;
}

/** Validates the envelope and the payload against its type's schema. Never throws. */
export function parseEventInput(input: unknown): ParseEventResult {
  const envelope = EventInput.safeParse(input);
  const rawType = typeof input === "object" && input !== null ? (input as { type?: unknown }).type : undefined;
  const type = isEventType(rawType) ? rawType : undefined;

  let issues: z.core.$ZodIssue[] = envelope.success ? [] : [...envelope.error.issues];
  let payload: unknown;
  if (type !== undefined) {
    const rawPayload = (input as { payload?: unknown }).payload;
    // The envelope already reports a missing or non-object payload; don't say it twice.
    if (typeof rawPayload === "object" && rawPayload !== null && !Array.isArray(rawPayload)) {
      const parsed = payloadSchemaFor(type).safeParse(rawPayload);
      if (parsed.success) payload = parsed.data;
      else issues = [...issues, ...prefixIssues(parsed.error.issues, ["payload"])];
    }
  }

  if (type === undefined && typeof input === "object" && input !== null && "type" in input) {
    const unknownType = typeof rawType === "string" ? rawType : String(rawType);
    const suggestions = typeof rawType === "string" ? nearestEventTypes(rawType) : [];
    return { success: false, code: "events.unknown_type", message: unknownTypeMessage(rawType), issues, unknownType, suggestions };
  }
  if (!envelope.success || issues.length > 0) {
    return { success: false, code: "events.invalid_event", message: summarize(issues, type ? `${type} event` : "event"), issues };
  }

  const e = envelope.data;
  return {
    success: true,
    data: {
      type: e.type,
      job_id: e.job_id ?? null,
      step_id: e.step_id ?? null,
      agent_slug: e.agent_slug ?? null,
      tool_name: e.tool_name ?? null,
      payload,
    } as ValidEvent,
  };
}

export type ParseEventBatchResult =
  | { success: true; data: ValidEvent[] }
  | { success: false; code: EventErrorCode | "events.invalid_batch"; message: string; issues: z.core.$ZodIssue[] };

/**
 * A batch is accepted whole or not at all (it becomes one INSERT), so every item's issues are
 * reported together, each path starting with the item's index.
 */
export function parseEventBatch(input: unknown, maxEvents = MAX_EVENT_BATCH): ParseEventBatchResult {
  if (!Array.isArray(input) || input.length === 0 || input.length > maxEvents) {
    const message = `expected an array of 1 to ${maxEvents} events`;
    return {
      success: false,
      code: "events.invalid_batch",
      message,
      issues: [{ code: "custom", path: [], message, input: undefined } as z.core.$ZodIssue],
    };
  }
  const events: ValidEvent[] = [];
  const issues: z.core.$ZodIssue[] = [];
  let unknownType: string | undefined;
  let firstMessage: string | undefined;
  input.forEach((item, i) => {
    const r = parseEventInput(item);
    if (r.success) {
      events.push(r.data);
      return;
    }
    issues.push(...prefixIssues(r.issues, [i]));
    firstMessage ??= `event ${i}: ${r.message}`;
    if (r.code === "events.unknown_type") unknownType ??= `event ${i}: ${r.message}`;
  });
  if (issues.length === 0) return { success: true, data: events };
  // An unknown type is the most actionable fault, so it decides the code even if others come first.
  return unknownType !== undefined
    ? { success: false, code: "events.unknown_type", message: unknownType, issues }
    : { success: false, code: "events.invalid_event", message: firstMessage ?? "invalid events", issues };
}

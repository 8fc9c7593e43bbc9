// submitJob: the SDK's way in, and what the jobs function, `actp enqueue`, replay and DLQ replay
// call. The input is checked against the agent's registered JSON Schema here (the agent read once per
// few seconds per database handle); everything else (agent exists, is enabled and is still the version
// that validated the input, pg-boss job, actp record, job.received) is one SQL call.
import type { Queryable } from "../db/types.ts";
import { SubmitOptionsSchema, type SubmitOptions, type SubmitResponse } from "./contracts.ts";
import { rethrowJobsError, toJobsError } from "./errors.ts";
import { ActpError, badRequest, zodIssues } from "../errors.ts";
import { agentForSubmit, submit, type AgentForSubmit } from "./plans.ts";
import { assertValidInput } from "./validate.ts";
import { assertSafeJson } from "../input/safe-json.ts";

/** Submits a job; the id. enqueueJob also answers the status and any warning. */
export async function submitJob(db: Queryable, agent: string, input: unknown, options: SubmitOptions = {}): Promise<string> {
  return (await enqueueJob(db, agent, input, options)).id;
}

// The agents a submitter validated against recently, per database handle: a steady stream of
// submissions costs one round trip each instead of two. Safe because the database checks the version
// the input was validated against (jobs.agent_changed), and a stale entry is then read again.
const AGENT_TTL_MS = 5000;
const agentCache = new WeakMap<object, Map<string, { def: AgentForSubmit; at: number }>>();

async function agentFor(db: Queryable, slug: string, fresh: boolean): Promise<AgentForSubmit | null> {
  let byDb = agentCache.get(db);
  if (!byDb) agentCache.set(db, (byDb = new Map()));
  const hit = byDb.get(slug);
  if (!fresh && hit && Date.now() - hit.at < AGENT_TTL_MS) return hit.def;
  const def = await agentForSubmit(db, slug);
  if (def && def.enabled) byDb.set(slug, { def, at: Date.now() });
  else byDb.delete(slug);
  return def;
}

/** Submits a job: {id, status, warning?}; warning says why it may not run soon (no live worker serves the agent). */
export async function enqueueJob(db: Queryable, agent: string, input: unknown, options: SubmitOptions = {}): Promise<SubmitResponse> {
  // Before zod and SQL: NUL, broken Unicode and runaway nesting are the caller's 400.
  assertSafeJson(agent, "agent");
  assertSafeJson(input, "input");
  assertSafeJson(options, "options");
  const parsed = SubmitOptionsSchema.safeParse(options);
  if (!parsed.success) throw badRequest("jobs.invalid_options", "options do not match the contract", { issues: zodIssues(parsed.error) });
  for (let fresh = false; ; fresh = true) {
    const def = await agentFor(db, agent, fresh);
    // Unknown and disabled agents are refused by the SQL function too; answering here avoids
    // validating input against a schema that does not exist.
    if (!def) throw new ActpError("jobs.agent_not_found", `no agent "${agent}" is registered`);
    if (!def.enabled) throw new ActpError("jobs.agent_disabled", `agent "${agent}" is disabled; enable it before submitting jobs`);
    assertValidInput(agent, def.input_schema, input);
    try {
      return await submit(db, agent, input, parsed.data, def.version);
    } catch (err) {
      const e = toJobsError(err);
      // The agent changed (or was disabled) since it was cached: read it again and validate again, once.
      if (!fresh && (e?.code === "jobs.agent_changed" || e?.code === "jobs.agent_disabled")) continue;
      rethrowJobsError(err);
    }
  }
}

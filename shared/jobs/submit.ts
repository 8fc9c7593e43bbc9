// submitJob: the SDK's way in, and what the jobs function, `actp enqueue`, replay and DLQ replay
// call. The input is checked against the agent's registered JSON Schema here; everything else
// (agent exists and is enabled, pg-boss job, actp record, job.received) is one SQL call.
import type { Queryable } from "../db/types.ts";
import { SubmitOptionsSchema, type SubmitOptions, type SubmitResponse } from "./contracts.ts";
import { rethrowJobsError } from "./errors.ts";
import { ActpError, badRequest, zodIssues } from "../errors.ts";
import { agentForSubmit, submit } from "./plans.ts";
import { assertValidInput } from "./validate.ts";

/** Submits a job; the id. enqueueJob also answers the status and any warning. */
export async function submitJob(db: Queryable, agent: string, input: unknown, options: SubmitOptions = {}): Promise<string> {
  return (await enqueueJob(db, agent, input, options)).id;
}

/** Submits a job: {id, status, warning?}; warning says why it may not run soon (no live worker serves the agent). */
export async function enqueueJob(db: Queryable, agent: string, input: unknown, options: SubmitOptions = {}): Promise<SubmitResponse> {
  const parsed = SubmitOptionsSchema.safeParse(options);
  if (!parsed.success) throw badRequest("jobs.invalid_options", "options do not match the contract", { issues: zodIssues(parsed.error) });
  const def = await agentForSubmit(db, agent);
  // Unknown and disabled agents are refused by the SQL function too; answering here avoids
  // validating input against a schema that does not exist.
  if (!def) throw new ActpError("jobs.agent_not_found", `no agent "${agent}" is registered`);
  if (!def.enabled) {
    throw new ActpError("jobs.agent_disabled", `agent "${agent}" is disabled; enable it before submitting jobs`);
  }
  assertValidInput(agent, def.input_schema, input);
  try {
    return await submit(db, agent, input, parsed.data);
  } catch (err) {
    rethrowJobsError(err);
  }
}

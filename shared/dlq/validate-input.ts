// A manual fix must be an input the agent accepts: checked with the same JSON Schema validation the
// jobs submitter uses (shared/jobs/validate.ts), reported under `input` in the fix request's body.
import { ActpError, badRequest } from "../errors.ts";
import { inputIssues } from "../jobs/validate.ts";

export function validateAgentInput(agentSlug: string, inputSchema: Record<string, unknown>, input: unknown): void {
  let issues;
  try {
    issues = inputIssues(inputSchema, input);
  } catch (err) {
    // Not the reviewer's fault, and replaying unvalidated input is what a fix must not do.
    throw new ActpError(
      "dlq.unvalidatable_input",
      `agent "${agentSlug}" has an input schema that cannot be checked (${err instanceof Error ? err.message : String(err)}); fix the agent's registration first`,
      { cause: err },
    );
  }
  if (issues.length > 0) {
    throw badRequest(
      "dlq.invalid_input",
      `the fixed input does not match the input schema of agent "${agentSlug}"`,
      { issues: issues.map((i) => ({ ...i, path: ["input", ...i.path] })) },
    );
  }
}

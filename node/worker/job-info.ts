// What a guardrail (ctx.tool, ctx.llm, ...) needs to know about the job it runs in. The job
// runtime builds one per job; guardrail modules take it instead of reaching into the runtime.
import type { Database } from "../../shared/db/types.ts";

export interface JobInfo {
  db: Database;
  jobId: string;
  agentSlug: string;
  /** Aborted when the job is cancelled or times out. */
  signal: AbortSignal;
  /** The durable step currently running, if any (events carry it as step_id). */
  currentStep(): string | null;
}

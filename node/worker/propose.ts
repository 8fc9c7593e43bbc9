// ctx.propose(): a job's claim becomes a memory proposal (PRD §4.8) with the job as its source; the
// gate decides once the critic has scored it. Submitting the same proposal again (a retried step)
// returns the first one.
import type { Database } from "../../shared/db/types.ts";
import type { ProposeRequest, Proposal } from "../../shared/memory-gate/contracts.ts";
import { propose } from "../../shared/memory-gate/statements.ts";

/** What a handler passes: the proposal without its source, which is the job. */
export type JobProposal = Omit<ProposeRequest, "source_agent" | "source_run_id">;

export function proposeForJob(db: Database, job: { agent: string; jobId: string }, input: JobProposal): Promise<{ proposal: Proposal; created: boolean }> {
  return propose(db, { ...input, source_agent: job.agent, source_run_id: job.jobId });
}

// The critic's job for one proposal (queue actp.memory.critic): review the proposal's statement
// against its stored evidence, every sentence citing all of the proposal's refs unless it cites its
// own, and set the score; the gate trigger decides in that same statement.
import type { Database } from "../db/types.ts";
import { claimWithCitations } from "../critic/proposal-claim.ts";
import { review } from "../critic/review.ts";
import type { JudgeModel } from "../critic/judge.ts";
import { MAX_CLAIM_CHARS, type ReviewResult } from "../critic/contracts.ts";
import { proposalForCritic, scoreProposal } from "./statements.ts";
import type { Proposal } from "./contracts.ts";

export const CRITIC_QUEUE = "actp.memory.critic";

export interface CriticJobResult {
  proposal_id: string;
  skipped?: "not_found" | "already_scored";
  review?: ReviewResult;
  status?: Proposal["status"];
}

export async function runProposalCritic(db: Database, proposalId: string, judge: JudgeModel | null): Promise<CriticJobResult> {
  const found = await proposalForCritic(db, proposalId);
  if (!found) return { proposal_id: proposalId, skipped: "not_found" };
  if (found.proposal.status !== "pending" || found.proposal.score !== null) {
    return { proposal_id: proposalId, skipped: "already_scored", status: found.proposal.status };
  }
  // Only stored evidence can be checked; a ref that is not (a tool output id) stays uncited, and the
  // critic's completeness and the gate's authority rule both see that.
  const resolvable = found.evidence.map((e) => e.id);
  const claim = claimWithCitations(found.proposal.content, resolvable).slice(0, MAX_CLAIM_CHARS);
  const result = await review({ claim, evidence: found.evidence }, { judge });
  const scored = await scoreProposal(db, proposalId, result.score, { ...result, rule: "critic-v1" });
  return { proposal_id: proposalId, review: result, status: scored.proposal.status };
}

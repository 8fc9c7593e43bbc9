// ctx.research: the §4.15 research pipeline for a job. Pages come through ctx.fetch as the tool
// research.fetch (so its allowlist, RESEARCH_ALLOWED_DOMAINS, and the agent's own apply to every
// hop), are sanitized, scanned and stored as evidence of this job, with research.evidence_stored on
// the job's timeline.
import type { EvidenceRecord } from "../../shared/research/evidence.ts";
import { researchFetch, RESEARCH_TOOL } from "../../shared/research/fetch.ts";
import { anthropicJudge, type Judge } from "../../shared/research/judge.ts";
import { spotlight, SPOTLIGHT_INSTRUCTIONS } from "../../shared/research/spotlight.ts";
import { mediaType } from "../../shared/net/guard.ts";
import { runGuardedFetch, type FetchDeps } from "./guardrails/fetch.ts";
import type { JobInfo } from "./job-info.ts";

export interface ResearchApi {
  /**
   * Fetches, sanitizes, scans and stores a page as evidence. A quarantined page comes back with
   * quarantined: true and no text (it is stored for audit only); check it before citing.
   */
  fetch(url: string): Promise<EvidenceRecord>;
  /** Evidence text delimited and datamarked for a prompt; pair it with SPOTLIGHT_INSTRUCTIONS in the system prompt. */
  spotlight(evidence: Pick<EvidenceRecord, "id" | "url" | "text" | "quarantined">): string;
  readonly instructions: string;
}

export interface ResearchDepsForJob extends FetchDeps {
  /** Default: an Anthropic judge when ANTHROPIC_API_KEY is set, else none. */
  judge?: Judge | null;
}

export function researchFor(info: JobInfo, deps: ResearchDepsForJob = {}): ResearchApi {
  let judge: Judge | null | undefined = deps.judge;
  return {
    instructions: SPOTLIGHT_INSTRUCTIONS,
    fetch(url: string) {
      if (judge === undefined) judge = anthropicJudge();
      return researchFetch(
        {
          db: info.db,
          judge,
          agentSlug: info.agentSlug,
          jobId: info.jobId,
          stepId: info.currentStep(),
          fetchPage: async (u, limits) => {
            const res = await runGuardedFetch(info, u, { tool: RESEARCH_TOOL, limits, headers: { accept: "text/html, text/plain;q=0.9, application/json;q=0.8" } }, deps);
            return { response: res, url: res.finalUrl, hops: [...res.hops], contentType: mediaType(res.headers.get("content-type")) };
          },
        },
        url,
      );
    },
    spotlight(e) {
      if (e.quarantined) throw new Error(`evidence ${e.id} is quarantined and cannot be used`);
      return spotlight(e.text, { id: e.id, url: e.url });
    },
  };
}

// ctx.context(): the context assembler (PRD §4.17) for the job that is running, counting tokens
// exactly through Anthropic's count-tokens call when ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) is
// set, and with the calibrated estimator otherwise; the packet's manifest says which.
import { z } from "zod";
import type { Database } from "../../shared/db/types.ts";
import { parseWith } from "../../shared/errors.ts";
import { assembleContext } from "../../shared/context/assemble.ts";
import { AssembleContextRequest, type AgentContextPacket } from "../../shared/context/contracts.ts";
import { anthropicCounter, type ExactCounter } from "../../shared/context/exact-count.ts";
import { renderContext } from "../../shared/context/render.ts";
import type { ContextSources } from "../../shared/context/sources.ts";

/** What a handler passes to ctx.context(): the request without the job's own agent and id. */
export const JobContextRequest = AssembleContextRequest.omit({ agent_slug: true, job_id: true });
export type JobContextRequest = z.input<typeof JobContextRequest>;

export type AssembledContext = AgentContextPacket & { /** The packet rendered as the model will read it. */ text: string };

export const DEFAULT_COUNT_MODEL = "claude-sonnet-4-5";

/** The exact counter this process can use, or null (no key and no base URL configured). */
export function exactCounterFromEnv(model?: string): ExactCounter | null {
  const apiKey = process.env.ANTHROPIC_API_KEY?.trim() || null;
  const baseURL = process.env.ANTHROPIC_BASE_URL?.trim() || null;
  if (!apiKey && !baseURL) return null;
  return anthropicCounter({ apiKey, baseURL, model: model ?? process.env.ACTP_CONTEXT_COUNT_MODEL?.trim() ?? DEFAULT_COUNT_MODEL });
}

export async function assembleForJob(
  db: Database,
  job: { agent: string; jobId: string },
  request: JobContextRequest,
  sources?: ContextSources,
): Promise<AssembledContext> {
  const parsed = parseWith(JobContextRequest, request, "context.invalid_request", "ctx.context() arguments do not match the contract");
  const req = { ...parsed, agent_slug: job.agent, job_id: job.jobId };
  const packet = await assembleContext(db, req, { exact: exactCounterFromEnv(req.model), ...(sources ? { sources } : {}) });
  return { ...packet, text: renderContext(packet) };
}

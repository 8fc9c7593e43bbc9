// ctx.research.fetch and the research function's POST /fetch, one code path (PRD §4.15): the page
// comes through the outbound guard (each hop re-checked against the research.fetch allowlist and
// the agent's own, private addresses refused, only text/html, text/plain and JSON, size and time
// limits), then the pipeline, then storage with its event. A quarantined page is stored for audit
// and handed back without its text: never as evidence.
import type { Queryable } from "../db/types.ts";
import { ActpError } from "../errors.ts";
import { readText, type GuardedResponse, type GuardLimits } from "../net/guard.ts";
import type { EvidenceRecord } from "./evidence.ts";
import type { Judge } from "./judge.ts";
import { processPage, RESEARCH_CONTENT_TYPES, type ResearchContentType } from "./pipeline.ts";
import { storeEvidence, withheldIfQuarantined } from "./store.ts";

/** The tool name research fetches are checked and recorded as; its allowlist is RESEARCH_ALLOWED_DOMAINS. */
export const RESEARCH_TOOL = "research.fetch";

export const RESEARCH_LIMITS: GuardLimits = {
  maxBytes: 2 * 1024 * 1024,
  timeoutMs: 15_000,
  maxRedirects: 5,
  contentTypes: RESEARCH_CONTENT_TYPES,
};

export type PageFetcher = (url: string, limits: GuardLimits) => Promise<GuardedResponse>;

export interface ResearchDeps {
  db: Queryable;
  fetchPage: PageFetcher;
  judge?: Judge | null;
  agentSlug?: string | null;
  jobId?: string | null;
  stepId?: string | null;
}

export async function researchFetch(deps: ResearchDeps, url: string): Promise<EvidenceRecord> {
  const got = await deps.fetchPage(url, RESEARCH_LIMITS);
  if (!got.response.ok) {
    await got.response.body?.cancel().catch(() => {});
    throw new ActpError("research.http_error", `${got.url} answered ${got.response.status}`, { details: { status: got.response.status, url: got.url } });
  }
  const body = await readText(got.response);
  const contentType = got.contentType as ResearchContentType;
  const page = await processPage({ url: got.url, body, contentType }, { judge: deps.judge ?? null });
  const last = got.hops.at(-1)!;
  const record = await storeEvidence(deps.db, {
    url,
    finalUrl: got.url,
    host: last.host,
    contentType,
    bytes: new TextEncoder().encode(body).length,
    hops: got.hops,
    page,
    jobId: deps.jobId ?? null,
    agentSlug: deps.agentSlug ?? null,
    stepId: deps.stepId ?? null,
  });
  return withheldIfQuarantined(record);
}

// research (PRD §4.15): the research pipeline over HTTP. POST /fetch runs the whole pipeline for an
// agent (its policies and the research.fetch allowlist decide every hop; 201 with the evidence
// record, 403 with the denial's reason and nothing requested past the refused hop). POST /scan runs
// it without the network on HTML fetched elsewhere. GET /evidence/:id reads a record. Writes are
// the service role's; readers (operators, viewers) may read evidence.
import { z } from "zod";
import { authenticate, createFunctionApp, jsonBody, parseWith, requireReader, requireServiceRole } from "../_shared/http.ts";
import { functionNet } from "../_shared/net.ts";
import { runtime } from "../_shared/runtime.ts";
import { ActpError } from "../../shared/errors.ts";
import { guardedFetch, NetDeniedError } from "../../shared/net/guard.ts";
import { sqlHopPolicy } from "../../shared/net/hop-policy.ts";
import { getEvidence } from "../../shared/research/evidence.ts";
import { researchFetch, RESEARCH_TOOL } from "../../shared/research/fetch.ts";
import { anthropicJudge } from "../../shared/research/judge.ts";
import { processPage } from "../../shared/research/pipeline.ts";

export const app = createFunctionApp("research");

export const ResearchFetchRequest = z.strictObject({
  agent_slug: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "agent_slug must be an agent slug"),
  url: z.string().min(1).max(8192),
  job_id: z.uuid().optional().describe("the job the evidence belongs to, if any"),
});
export type ResearchFetchRequest = z.infer<typeof ResearchFetchRequest>;

export const ResearchScanRequest = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(8192),
  html: z.string().max(900_000),
});
export type ResearchScanRequest = z.infer<typeof ResearchScanRequest>;

app.post("/fetch", authenticate, requireServiceRole, async (c) => {
  const body = parseWith(ResearchFetchRequest, await jsonBody(c, z.unknown()), "research.invalid_request");
  const db = runtime().db;
  const net = functionNet();
  try {
    const record = await researchFetch(
      {
        db,
        judge: anthropicJudge(),
        agentSlug: body.agent_slug,
        jobId: body.job_id ?? null,
        fetchPage: (url, limits) => guardedFetch(url, { limits, headers: { accept: "text/html, text/plain;q=0.9, application/json;q=0.8" } }, { policy: sqlHopPolicy(db, body.agent_slug, RESEARCH_TOOL), ...net }),
      },
      body.url,
    );
    return c.json(record, 201);
  } catch (err) {
    if (err instanceof NetDeniedError) {
      throw new ActpError(`research.${err.reason}`, err.message, 403, err.details);
    }
    throw err;
  }
});

app.post("/scan", authenticate, requireServiceRole, async (c) => {
  const body = parseWith(ResearchScanRequest, await jsonBody(c, z.unknown()), "research.invalid_request");
  const page = await processPage({ url: body.url, body: body.html, contentType: "text/html" }, { judge: anthropicJudge() });
  return c.json({
    flagged: page.flagged,
    quarantined: page.quarantined,
    text: page.quarantined ? "" : page.text,
    title: page.quarantined ? "" : page.title,
    findings: page.findings,
    content_hash: page.content_hash,
    risk_score: page.risk_score,
    max_severity: page.max_severity,
    judge: page.judge,
  });
});

app.get("/evidence/:id", authenticate, requireReader, async (c) => {
  const id = c.req.param("id");
  const record = await runtime().db.asRole(c.get("claims"), (tx) => getEvidence(tx, id));
  return c.json(record);
});

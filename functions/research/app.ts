// research (PRD §4.15): the research pipeline over HTTP. POST /fetch runs the whole pipeline for an
// agent as a policy-checked call of the tool research.fetch, as ctx.research.fetch does in a job:
// the policy service decides first (capabilities, rate limits, budgets, approvals; 403 or 429 with
// the reason), then the allowlist decides every hop (201 with the evidence record, 403 with the
// denial's reason and nothing requested past the refused hop). POST /scan runs
// it without the network on HTML fetched elsewhere. GET /evidence/:id reads a record. Writes are
// the service role's; readers (operators, viewers) may read evidence.
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { functionNet } from "../_shared/net.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { ActpError, isErrorCode } from "../../shared/errors.ts";
import { guardedFetch, NetDeniedError } from "../../shared/net/guard.ts";
import { sqlHopPolicy } from "../../shared/net/hop-policy.ts";
import { EvidenceRecord, Finding, getEvidence } from "../../shared/research/evidence.ts";
import { researchFetch, RESEARCH_TOOL } from "../../shared/research/fetch.ts";
import type { PolicyDenied } from "../../shared/policy/contracts.ts";
import { meteredCall } from "../../shared/policy/metered-call.ts";
import { anthropicJudge } from "../../shared/research/judge.ts";
import { processPage } from "../../shared/research/pipeline.ts";

export const app = createFunctionApp("research", {
  title: "actp research",
  description:
    "The research firewall (PRD §4.15): fetch a page for an agent through the outbound guard (allowlist on every hop, no private addresses), " +
    "sanitize, normalize and scan it for prompt injection, and store it as evidence; quarantined pages are kept for audit and never handed out as evidence.",
});

export const ResearchFetchRequest = z.strictObject({
  agent_slug: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "agent_slug must be an agent slug").describe("whose policies decide every hop"),
  url: z.string().min(1).max(8192).describe("http(s) URL to fetch"),
  job_id: z.uuid().optional().describe("the job the evidence belongs to, if any"),
});
export type ResearchFetchRequest = z.infer<typeof ResearchFetchRequest>;

export const ResearchScanRequest = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(8192).describe("where the HTML came from"),
  html: z.string().max(900_000),
});
export type ResearchScanRequest = z.infer<typeof ResearchScanRequest>;

export const ResearchScanResult = z.object({
  flagged: z.boolean(),
  quarantined: z.boolean(),
  text: z.string().describe("sanitized, normalized, redacted text; empty when quarantined"),
  title: z.string(),
  findings: z.array(Finding),
  content_hash: z.string(),
  risk_score: z.number(),
  max_severity: z.enum(["none", "low", "medium", "high", "critical"]),
  judge: z.record(z.string(), z.unknown()).nullable(),
});

const DENIALS = [
  "research.invalid_url",
  "research.domain_not_allowed",
  "research.redirect_not_allowed",
  "research.private_address",
  "research.too_many_redirects",
  "research.unknown_agent",
  "research.agent_disabled",
  "research.denied",
  "research.rate_limited",
  "research.budget_exceeded",
] as const;

route(
  app,
  {
    method: "post",
    path: "/fetch",
    summary: "Fetch a page for an agent through the guard and the pipeline, and store it as evidence",
    access: "service_role",
    body: ResearchFetchRequest,
    invalid: { body: "research.invalid_request" },
    responses: { 201: { description: "the evidence record (text empty when quarantined)", schema: EvidenceRecord } },
    errors: [...DENIALS, "research.http_error", "net.timeout", "net.response_too_large", "net.content_type_not_allowed", "net.dns_failed", "net.connect_failed"],
  },
  async (c, { body }) => {
    const db = runtime().db;
    const net = functionNet();
    // The same check ctx.tool makes before a call (rate-limit slot, budget reservation with its
    // learned floor), a settle whatever happens: a fetch costs nothing in money.
    const denied = (d: PolicyDenied) => {
      const code = `research.${d.reason}`;
      return new ActpError(isErrorCode(code) ? code : "research.denied", d.message, {
        // A URL reason is the first hop's, as the guard reports it for later hops.
        details: {
          reason: d.reason,
          ...(d.reason === "invalid_url" || d.reason === "domain_not_allowed" ? { hop: 0 } : {}),
          retry_after: d.retry_after,
          policy_id: d.policy_id,
        },
      });
    };
    const check = { agent_slug: body.agent_slug, tool_name: RESEARCH_TOOL, action_type: "network_read", target_url: body.url, run_id: body.job_id ?? null };
    const record = await meteredCall(
      db,
      check,
      async () => {
        try {
          return await researchFetch(
            {
              db,
              judge: anthropicJudge(),
              agentSlug: body.agent_slug,
              jobId: body.job_id ?? null,
              fetchPage: (url, limits) =>
                guardedFetch(url, { limits, headers: { accept: "text/html, text/plain;q=0.9, application/json;q=0.8" } }, { policy: sqlHopPolicy(db, body.agent_slug, RESEARCH_TOOL), ...net }),
            },
            body.url,
          );
        } catch (err) {
          if (err instanceof NetDeniedError) {
            const code = `research.${err.reason}`;
            throw new ActpError(isErrorCode(code) ? code : "research.denied", err.message, { details: err.details });
          }
          throw err;
        }
      },
      { denied },
    );
    return c.json(record, 201);
  },
);

route(
  app,
  {
    method: "post",
    path: "/scan",
    summary: "Run the pipeline (sanitize, normalize, scan, redact, hash) on HTML fetched elsewhere; nothing is stored",
    access: "service_role",
    body: ResearchScanRequest,
    invalid: { body: "research.invalid_request" },
    responses: { 200: { description: "the scan", schema: ResearchScanResult } },
  },
  async (c, { body }) => {
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
  },
);

route(
  app,
  {
    method: "get",
    path: "/evidence/:id",
    summary: "Read one evidence record (quarantined ones included, for audit)",
    access: "reader",
    params: { id: z.string().max(100) },
    responses: { 200: { description: "the evidence record", schema: EvidenceRecord } },
    errors: ["research.invalid_evidence_id", "research.evidence_not_found"],
  },
  async (c, { params }) => {
    const record = await runtime().db.asRole(c.get("claims"), (tx) => getEvidence(tx, params.id));
    return c.json(record);
  },
);

// The memory proposal gate (PRD §4.8) and canonical facts over HTTPS, mounted on the memory app.
import type { Hono } from "hono";
import { z } from "zod";
import type { FnEnv } from "../_shared/http.ts";
import { actAsCaller } from "../_shared/act.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { Decision, Fact, FactQuery, Proposal, ProposalListQuery, ProposeRequest, ReviewDecisionRequest, ScoreRequest } from "../../shared/memory-gate/contracts.ts";
import { getProposal, listFacts, listProposals, propose, reviewProposal, scoreProposal } from "../../shared/memory-gate/statements.ts";

const ProposalId = z.guid("a proposal id is a uuid");
const ProposeResponse = z.object({ proposal: Proposal, created: z.boolean() });
const tags = ["memory proposals"];

export function mountProposalRoutes(app: Hono<FnEnv>): void {
  route(
    app,
    {
      method: "post",
      path: "/proposals",
      summary: "Propose a fact for semantic or procedural memory",
      description: "Stored pending; the critic job scores it and the gate decides. The same proposal twice (same idempotency_key, by default the hash of what is proposed) is one proposal: 201 the first time, 200 after.",
      access: "service_role",
      body: ProposeRequest,
      // propose() validates with the same contract, so the SDK (ctx.propose) gets the same 400s.
      validate: false,
      invalid: { body: "memory.invalid_proposal" },
      responses: { 201: { description: "a new proposal", schema: ProposeResponse }, 200: { description: "the same proposal, submitted before", schema: ProposeResponse } },
      errors: ["memory.invalid_layer", "memory.unknown_evidence", "memory.idempotency_conflict"],
      tags,
    },
    async (c, { body }) => {
      const r = await runtime().db.asRole(c.get("claims"), (tx) => propose(tx, body));
      return c.json(r, r.created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/proposals",
      summary: "List proposals, newest first",
      access: "reader",
      query: ProposalListQuery,
      invalid: { query: "memory.invalid_query" },
      responses: { 200: { description: "proposals", schema: z.object({ proposals: z.array(Proposal) }) } },
      tags,
    },
    async (c, { query }) => {
      const proposals = await runtime().db.asRole(c.get("claims"), (tx) => listProposals(tx, query));
      return c.json({ proposals });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/proposals/:id",
      summary: "A proposal, its decision log and the fact it wrote",
      access: "reader",
      params: { id: ProposalId },
      invalid: { params: "memory.invalid_id" },
      responses: { 200: { description: "the proposal", schema: z.object({ proposal: Proposal, decisions: z.array(Decision), fact: Fact.nullable() }) } },
      errors: ["memory.proposal_not_found"],
      tags,
    },
    async (c, { params }) => {
      const found = await runtime().db.asRole(c.get("claims"), (tx) => getProposal(tx, params.id));
      if (!found) throw notFound("memory.proposal_not_found", `no proposal ${params.id}`);
      return c.json(found);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/proposals/:id/score",
      summary: "Set a pending proposal's critic score; the gate decides in the same transaction",
      description: "Rule gate-v1: score >= 7.0 and a cited, non-quarantined source with authority >= 0.7 approves; a quarantined source or a score under 5 rejects; anything else is deferred. A proposal scored before is returned unchanged (scored: false).",
      access: "service_role",
      params: { id: ProposalId },
      body: ScoreRequest,
      invalid: { params: "memory.invalid_id", body: "memory.invalid_score" },
      responses: { 200: { description: "the proposal after the gate", schema: z.object({ proposal: Proposal, scored: z.boolean() }) } },
      errors: ["memory.proposal_not_found"],
      tags,
    },
    async (c, { params, body }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => scoreProposal(tx, params.id, body.score, body.critic ?? null))),
  );

  route(
    app,
    {
      method: "post",
      path: "/proposals/:id/review",
      summary: "Approve or reject a deferred proposal",
      description: "The reviewer recorded is the caller's token identity; `reviewer` in the body is a label kept beside it. Approval writes the fact (superseding the current fact of the same key).",
      access: "operator",
      params: { id: ProposalId },
      body: ReviewDecisionRequest,
      invalid: { params: "memory.invalid_id", body: "memory.invalid_decision" },
      responses: { 200: { description: "the decided proposal", schema: z.object({ proposal: Proposal }) } },
      errors: ["memory.proposal_not_found", "memory.proposal_state_conflict"],
      tags,
    },
    async (c, { params, body }) => {
      const proposal = await actAsCaller(c, (tx) => reviewProposal(tx, params.id, body.decision, body.reviewer, body.reason));
      return c.json({ proposal });
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/facts",
      summary: "Facts believed now, or as of a time, or a key's whole history",
      access: "reader",
      query: FactQuery,
      invalid: { query: "memory.invalid_query" },
      responses: { 200: { description: "facts", schema: z.object({ facts: z.array(Fact) }) } },
      tags: ["memory facts"],
    },
    async (c, { query: q }) => {
      const facts = await runtime().db.asRole(c.get("claims"), (tx) =>
        listFacts(tx, {
          ...(q.layer ? { layer: q.layer } : {}),
          ...(q.subject ? { subject: q.subject } : {}),
          ...(q.key ? { key: q.key } : {}),
          ...(q.as_of ? { asOf: q.as_of } : {}),
          ...(q.valid_at ? { validAt: q.valid_at } : {}),
          history: q.history === "true",
          ...(q.limit ? { limit: q.limit } : {}),
        }),
      );
      return c.json({ facts });
    },
  );
}

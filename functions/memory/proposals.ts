// The memory proposal gate (PRD §4.8) and canonical facts over HTTPS, mounted on the memory app:
//   POST /proposals               submit (service role); 201 new, 200 the same proposal again
//   GET  /proposals[?status]      list (readers)
//   GET  /proposals/:id           the proposal, its decision log and its fact (readers)
//   POST /proposals/:id/score     set the critic's score, the gate decides (service role)
//   POST /proposals/:id/review    approve or reject a deferred proposal (operators, service role)
//   GET  /facts                   current facts, or as of a time, or a key's history (readers)
import type { Hono } from "hono";
import { z } from "zod";
import { authenticate, jsonBody, parseWith, queryParams, requireOperator, requireReader, requireServiceRole, type FnEnv } from "../_shared/http.ts";
import { actAsCaller } from "../_shared/act.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { FactQuery, ProposalListQuery, ReviewDecisionRequest, ScoreRequest } from "../../shared/memory-gate/contracts.ts";
import { getProposal, listFacts, listProposals, propose, reviewProposal, scoreProposal } from "../../shared/memory-gate/statements.ts";

const ProposalId = z.guid("a proposal id is a uuid");

export function mountProposalRoutes(app: Hono<FnEnv>): void {
  app.post("/proposals", authenticate, requireServiceRole, async (c) => {
    const body = await jsonBody(c, z.unknown());
    const r = await runtime().db.asRole(c.get("claims"), (tx) => propose(tx, body));
    return c.json(r, r.created ? 201 : 200);
  });

  app.get("/proposals", authenticate, requireReader, async (c) => {
    const q = parseWith(ProposalListQuery, queryParams(c));
    const proposals = await runtime().db.asRole(c.get("claims"), (tx) => listProposals(tx, q));
    return c.json({ proposals });
  });

  app.get("/proposals/:id", authenticate, requireReader, async (c) => {
    const id = parseWith(ProposalId, c.req.param("id"), "memory.invalid_id");
    const found = await runtime().db.asRole(c.get("claims"), (tx) => getProposal(tx, id));
    if (!found) throw notFound("memory.proposal_not_found", `no proposal ${id}`);
    return c.json(found);
  });

  app.post("/proposals/:id/score", authenticate, requireServiceRole, async (c) => {
    const id = parseWith(ProposalId, c.req.param("id"), "memory.invalid_id");
    const body = await jsonBody(c, ScoreRequest);
    const r = await runtime().db.asRole(c.get("claims"), (tx) => scoreProposal(tx, id, body.score, body.critic ?? null));
    return c.json(r);
  });

  app.post("/proposals/:id/review", authenticate, requireOperator, async (c) => {
    const id = parseWith(ProposalId, c.req.param("id"), "memory.invalid_id");
    const body = await jsonBody(c, ReviewDecisionRequest);
    // The reviewer recorded is the token's identity (actp_caller_actor()); body.reviewer is a label beside it.
    const proposal = await actAsCaller(c, (tx) => reviewProposal(tx, id, body.decision, body.reviewer, body.reason));
    return c.json({ proposal });
  });

  app.get("/facts", authenticate, requireReader, async (c) => {
    const q = parseWith(FactQuery, queryParams(c));
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
  });
}

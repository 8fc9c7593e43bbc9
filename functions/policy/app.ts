// policy: the policy service over HTTP (PRD §4.2). POST /check and /settle are what a worker asks
// around a tool call; policies, spend and approvals are for operators. Everything here is service
// role only: a check reserves budget, and policies and approvals change what agents may do.
import { z } from "zod";
import { createFunctionApp, authenticate, requireServiceRole, jsonBody, parseWith, queryParams } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { ApprovalDecisionRequest, PolicyCheckRequest, SettleRequest } from "../../shared/policy/contracts.ts";
import {
  checkPolicy,
  createPolicy,
  decideApproval,
  deletePolicy,
  getPolicy,
  listApprovals,
  listPolicies,
  settlePolicy,
  spendTotals,
  updatePolicy,
} from "../../shared/policy/statements.ts";

export const app = createFunctionApp("policy");
app.use("*", authenticate, requireServiceRole);

const Id = z.uuid({ error: "id must be a UUID" });
const id = (raw: string | undefined) => parseWith(Id, raw, "policy.invalid_id");

// Bodies are validated by the statements (zod issues in the 400), so non-HTTP callers get the same rules.
const json = { passthrough: z.unknown() };

app.post("/check", async (c) => {
  const body = await jsonBody(c, PolicyCheckRequest);
  const decision = await runtime().db.asRole(c.get("claims"), (tx) => checkPolicy(tx, body));
  return c.json(decision);
});

app.post("/settle", async (c) => {
  const body = await jsonBody(c, SettleRequest);
  const result = await runtime().db.asRole(c.get("claims"), (tx) => settlePolicy(tx, body.reservation_id, body.actual_cost_usd));
  return c.json(result, 201);
});

app.get("/policies", async (c) => {
  const q = queryParams(c);
  const policies = await runtime().db.asRole(c.get("claims"), (tx) => listPolicies(tx, q as never));
  return c.json({ policies });
});

app.get("/policies/:id", async (c) => {
  const policyId = id(c.req.param("id"));
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => getPolicy(tx, policyId));
  return c.json(policy);
});

app.post("/policies", async (c) => {
  const body = await jsonBody(c, json.passthrough);
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => createPolicy(tx, body as never));
  return c.json(policy, 201);
});

app.patch("/policies/:id", async (c) => {
  const policyId = id(c.req.param("id"));
  const body = await jsonBody(c, json.passthrough);
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => updatePolicy(tx, policyId, body as never));
  return c.json(policy);
});

app.delete("/policies/:id", async (c) => {
  const policyId = id(c.req.param("id"));
  await runtime().db.asRole(c.get("claims"), (tx) => deletePolicy(tx, policyId));
  return c.body(null, 204);
});

app.get("/spend", async (c) => {
  const q = queryParams(c);
  const totals = await runtime().db.asRole(c.get("claims"), (tx) => spendTotals(tx, q as never));
  return c.json({ totals });
});

app.get("/approvals", async (c) => {
  const q = queryParams(c);
  const approvals = await runtime().db.asRole(c.get("claims"), (tx) => listApprovals(tx, q as never));
  return c.json({ approvals });
});

for (const decision of ["approve", "deny"] as const) {
  app.post(`/approvals/:id/${decision}`, async (c) => {
    const approvalId = id(c.req.param("id"));
    const body = await jsonBody(c, ApprovalDecisionRequest);
    const approval = await runtime().db.asRole(c.get("claims"), (tx) => decideApproval(tx, approvalId, decision, body.decided_by, body.note));
    return c.json(approval);
  });
}

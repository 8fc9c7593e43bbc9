// policy: the policy service over HTTP (PRD §4.2). POST /check and /settle are what a worker asks
// around a tool call (service role: a check reserves budget). Policies, spend and approvals are read by
// readers (service role, operators, viewers); approvals are decided by operators and the service role,
// recorded as the token's identity; policies are changed by the service role only.
import { z } from "zod";
import { createFunctionApp, authenticate, requireOperator, requireReader, requireServiceRole, jsonBody, parseWith, queryParams } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { actAsCaller } from "../_shared/act.ts";
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
app.use("*", authenticate);

const Id = z.uuid({ error: "id must be a UUID" });
const id = (raw: string | undefined) => parseWith(Id, raw, "policy.invalid_id");

// Bodies are validated by the statements (zod issues in the 400), so non-HTTP callers get the same rules.
const json = { passthrough: z.unknown() };

app.post("/check", requireServiceRole, async (c) => {
  const body = await jsonBody(c, PolicyCheckRequest);
  const decision = await runtime().db.asRole(c.get("claims"), (tx) => checkPolicy(tx, body));
  return c.json(decision);
});

app.post("/settle", requireServiceRole, async (c) => {
  const body = await jsonBody(c, SettleRequest);
  const result = await runtime().db.asRole(c.get("claims"), (tx) => settlePolicy(tx, body.reservation_id, body.actual_cost_usd));
  return c.json(result, 201);
});

app.get("/policies", requireReader, async (c) => {
  const q = queryParams(c);
  const policies = await runtime().db.asRole(c.get("claims"), (tx) => listPolicies(tx, q as never));
  return c.json({ policies });
});

app.get("/policies/:id", requireReader, async (c) => {
  const policyId = id(c.req.param("id"));
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => getPolicy(tx, policyId));
  return c.json(policy);
});

app.post("/policies", requireServiceRole, async (c) => {
  const body = await jsonBody(c, json.passthrough);
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => createPolicy(tx, body as never));
  return c.json(policy, 201);
});

app.patch("/policies/:id", requireServiceRole, async (c) => {
  const policyId = id(c.req.param("id"));
  const body = await jsonBody(c, json.passthrough);
  const policy = await runtime().db.asRole(c.get("claims"), (tx) => updatePolicy(tx, policyId, body as never));
  return c.json(policy);
});

app.delete("/policies/:id", requireServiceRole, async (c) => {
  const policyId = id(c.req.param("id"));
  await runtime().db.asRole(c.get("claims"), (tx) => deletePolicy(tx, policyId));
  return c.body(null, 204);
});

app.get("/spend", requireReader, async (c) => {
  const q = queryParams(c);
  const totals = await runtime().db.asRole(c.get("claims"), (tx) => spendTotals(tx, q as never));
  return c.json({ totals });
});

app.get("/approvals", requireReader, async (c) => {
  const q = queryParams(c);
  const approvals = await runtime().db.asRole(c.get("claims"), (tx) => listApprovals(tx, q as never));
  return c.json({ approvals });
});

for (const decision of ["approve", "deny"] as const) {
  app.post(`/approvals/:id/${decision}`, requireOperator, async (c) => {
    const approvalId = id(c.req.param("id"));
    const body = await jsonBody(c, ApprovalDecisionRequest);
    const approval = await actAsCaller(c, (tx) => decideApproval(tx, approvalId, decision, body.decided_by, body.note));
    return c.json(approval);
  });
}

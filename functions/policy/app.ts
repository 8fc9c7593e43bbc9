// policy: the policy service over HTTP (PRD §4.2). POST /check and /settle are what a worker asks
// around a tool call (service role: a check reserves budget). Policies, spend and approvals are read by
// readers (service role, operators, viewers); approvals are decided by operators and the service role,
// recorded as the token's identity; policies are changed by the service role only.
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { actAsCaller } from "../_shared/act.ts";
import { runtime } from "../_shared/runtime.ts";
import {
  Approval,
  ApprovalDecisionRequest,
  ApprovalQuery,
  Policy,
  PolicyCheckRequest,
  PolicyDecision,
  PolicyInput,
  PolicyListQuery,
  PolicyPatch,
  SettleRequest,
  SettleResult,
  SpendQuery,
  SpendRow,
  OverrunRow,
} from "../../shared/policy/contracts.ts";
import {
  checkPolicy,
  createPolicy,
  decideApproval,
  deletePolicy,
  getPolicy,
  listApprovals,
  listPolicies,
  settlePolicy,
  spendOverruns,
  spendTotals,
  updatePolicy,
} from "../../shared/policy/statements.ts";

export const app = createFunctionApp("policy", {
  title: "actp policy",
  description:
    "The policy service: a check before a tool call (budget reservation, rate limit, allowlist, approvals) and its settlement, " +
    "policies of four types (budget, rate_limit, allowlist, safety), spend totals and approvals.",
});

const id = { id: z.uuid({ error: "id must be a UUID" }) };
const invalidId = { params: "policy.invalid_id" } as const;

route(
  app,
  {
    method: "post",
    path: "/check",
    summary: "Check a tool call and reserve its estimated cost",
    access: "service_role",
    body: PolicyCheckRequest,
    responses: { 200: { description: "allowed (with a reservation) or denied (with a reason and retry_after)", schema: PolicyDecision } },
  },
  async (c, { body }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => checkPolicy(tx, body))),
);

route(
  app,
  {
    method: "post",
    path: "/settle",
    summary: "Settle a reservation with the actual cost",
    access: "service_role",
    body: SettleRequest,
    responses: { 201: { description: "settled", schema: SettleResult } },
    errors: ["policy.reservation.not_found", "policy.reservation.conflict"],
  },
  async (c, { body }) => {
    const result = await runtime().db.asRole(c.get("claims"), (tx) => settlePolicy(tx, body.reservation_id, body.actual_cost_usd));
    return c.json(result, 201);
  },
);

route(
  app,
  {
    method: "get",
    path: "/policies",
    summary: "List policies",
    access: "reader",
    query: PolicyListQuery,
    validate: false,
    invalid: { query: "policy.invalid_query" },
    responses: { 200: { description: "{ policies }", schema: z.object({ policies: z.array(Policy) }) } },
  },
  async (c, { query }) => c.json({ policies: await runtime().db.asRole(c.get("claims"), (tx) => listPolicies(tx, query as never)) }),
);

route(
  app,
  { method: "get", path: "/policies/:id", summary: "One policy", access: "reader", params: id, invalid: invalidId, responses: { 200: { description: "the policy", schema: Policy } }, errors: ["policy.not_found"] },
  async (c, { params }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => getPolicy(tx, params.id))),
);

route(
  app,
  {
    method: "post",
    path: "/policies",
    summary: "Create a policy",
    description: "The config's shape depends on policy_type: budget, rate_limit, allowlist or safety (see the policy configs in the API reference).",
    access: "service_role",
    body: PolicyInput,
    validate: false,
    invalid: { body: "policy.invalid_policy" },
    responses: { 201: { description: "the policy", schema: Policy } },
  },
  async (c, { body }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => createPolicy(tx, body as never)), 201),
);

route(
  app,
  {
    method: "patch",
    path: "/policies/:id",
    summary: "Change a policy",
    access: "service_role",
    params: id,
    body: PolicyPatch,
    validate: false,
    invalid: { params: "policy.invalid_id", body: "policy.invalid_patch" },
    responses: { 200: { description: "the policy", schema: Policy } },
    errors: ["policy.not_found", "policy.invalid_config"],
  },
  async (c, { params, body }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => updatePolicy(tx, params.id, body as never))),
);

route(
  app,
  { method: "delete", path: "/policies/:id", summary: "Delete a policy", access: "service_role", params: id, invalid: invalidId, responses: { 204: { description: "deleted" } }, errors: ["policy.not_found"] },
  async (c, { params }) => {
    await runtime().db.asRole(c.get("claims"), (tx) => deletePolicy(tx, params.id));
    return c.body(null, 204);
  },
);

route(
  app,
  {
    method: "get",
    path: "/spend",
    summary: "Spend totals, grouped by agent, tool, run or day, and every overrun with its reservation",
    access: "reader",
    query: SpendQuery,
    validate: false,
    invalid: { query: "policy.invalid_spend_query" },
    responses: {
      200: { description: "{ totals, overruns }", schema: z.object({ totals: z.array(SpendRow), overruns: z.array(OverrunRow) }) },
    },
  },
  async (c, { query }) =>
    c.json(
      await runtime().db.asRole(c.get("claims"), async (tx) => ({
        totals: await spendTotals(tx, query as never),
        overruns: await spendOverruns(tx, query as never),
      })),
    ),
);

route(
  app,
  {
    method: "get",
    path: "/approvals",
    summary: "List approvals",
    access: "reader",
    query: ApprovalQuery,
    validate: false,
    invalid: { query: "policy.invalid_approval_query" },
    responses: { 200: { description: "{ approvals }", schema: z.object({ approvals: z.array(Approval) }) } },
  },
  async (c, { query }) => c.json({ approvals: await runtime().db.asRole(c.get("claims"), (tx) => listApprovals(tx, query as never)) }),
);

for (const decision of ["approve", "deny"] as const) {
  route(
    app,
    {
      method: "post",
      path: `/approvals/:id/${decision}`,
      summary: decision === "approve" ? "Approve a pending action" : "Deny a pending action",
      access: "operator",
      params: id,
      body: ApprovalDecisionRequest,
      invalid: invalidId,
      responses: { 200: { description: "the approval", schema: Approval } },
      errors: ["policy.approval.not_found", "policy.approval.conflict"],
    },
    async (c, { params, body }) =>
      c.json(await actAsCaller(c, (tx) => decideApproval(tx, params.id, decision, body.decided_by, body.note))),
  );
}

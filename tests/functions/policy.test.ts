import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/policy/app.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let slug: string;
beforeAll(async () => {
  h = await functionHarness();
  slug = `fnpol-${randomBytes(4).toString("hex")}`;
  await h.db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
});
afterAll(() => h.db.end());

type Role = "anon" | "service_role" | "none";
const call = (method: string, path: string, body?: unknown, role: Role = "service_role") =>
  app.request(`/policy${path}`, {
    method,
    headers: h.headers(role, body === undefined ? {} : { "content-type": "application/json" }),
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

const as = async (kind: "operator" | "viewer" | "user", method: string, path: string, body?: unknown, opts?: { sub?: string; email?: string }) =>
  app.request(`/policy${path}`, {
    method,
    headers: { authorization: `Bearer ${await h.token(kind, opts)}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("who may do what", () => {
  it("readers read policies, spend and approvals; a plain user reads nothing; only the service role checks, settles and writes policies", async () => {
    for (const path of ["/policies", "/spend", "/approvals"]) {
      expect((await as("viewer", "GET", path)).status, path).toBe(200);
      expect((await as("operator", "GET", path)).status, path).toBe(200);
      expect((await as("user", "GET", path)).status, path).toBe(403);
    }
    const check = { agent_slug: slug, tool_name: "x.y", action_type: "read", estimated_cost_usd: 0 };
    for (const kind of ["operator", "viewer", "user"] as const) {
      expect((await as(kind, "POST", "/check", check)).status).toBe(403);
      expect((await as(kind, "POST", "/policies", { scope: "global", policy_type: "budget", config: { daily_usd: 0 } })).status).toBe(403);
    }
  });

  it("an operator decides an approval, recorded as the token's identity; a viewer may not", async () => {
    const tool = `fn.${randomBytes(3).toString("hex")}`;
    await call("POST", "/policies", { scope: `tool:${tool}`, policy_type: "safety", config: { require_approval_for: ["network_write"] } });
    const req = { agent_slug: slug, tool_name: tool, action_type: "network_write", run_id: randomUUID(), args_hash: "b2" };
    const d = await (await call("POST", "/check", req)).json();
    const id = (d.details as { approval_id: string }).approval_id;
    expect((await as("viewer", "POST", `/approvals/${id}/approve`, { decided_by: "viewer" })).status).toBe(403);
    const sub = randomUUID();
    const ok = await as("operator", "POST", `/approvals/${id}/approve`, { decided_by: "the boss said so" }, { sub, email: "ops@example.com" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "approved", decided_by: `operator:${sub} <ops@example.com>`, decided_label: "the boss said so" });
  });
});

describe("policy function", () => {
  it("is service role only", async () => {
    expect((await call("GET", "/policies", undefined, "none")).status).toBe(401);
    const anon = await call("POST", "/policies", { scope: "global", policy_type: "budget", config: { daily_usd: 0 } }, "anon");
    expect(anon.status).toBe(403);
    expect((await anon.json()).error.code).toBe("auth.forbidden");
    expect((await call("GET", "/spend", undefined, "anon")).status).toBe(403);
  });

  it("CRUD with structured 400s for bad policies", async () => {
    const tool = `fn.${randomBytes(3).toString("hex")}`;
    const bad = await call("POST", "/policies", { scope: "tools:x", policy_type: "budget", config: { daily_usd: -2 } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: "policy.invalid_policy", details: expect.any(Array) });
    expect((await call("POST", "/policies", "{not json")).status).toBe(400);

    const created = await call("POST", "/policies", { scope: `tool:${tool}`, policy_type: "rate_limit", config: { max_per_minute: 1 } });
    expect(created.status).toBe(201);
    const p = await created.json();
    expect(p).toMatchObject({ scope: `tool:${tool}`, enabled: true });

    const list = await (await call("GET", `/policies?scope=tool:${tool}`)).json();
    expect(list.policies.map((x: { id: string }) => x.id)).toEqual([p.id]);
    expect((await call("GET", `/policies?policy_type=nope`)).status).toBe(400);

    const patched = await call("PATCH", `/policies/${p.id}`, { config: { max_per_minute: "many" } });
    expect(patched.status).toBe(400);
    const disabled = await call("PATCH", `/policies/${p.id}`, { enabled: false });
    expect((await disabled.json()).enabled).toBe(false);
    expect((await call("PATCH", `/policies/not-a-uuid`, { enabled: true })).status).toBe(400);
    expect((await call("DELETE", `/policies/${p.id}`)).status).toBe(204);
    expect((await call("DELETE", `/policies/${p.id}`)).status).toBe(404);
  });

  it("check → settle → spend, with settle errors as 404 / 409", async () => {
    const tool = `fn.${randomBytes(3).toString("hex")}`;
    const runId = randomUUID();
    const d = await (await call("POST", "/check", { agent_slug: slug, tool_name: tool, action_type: "llm", run_id: runId, estimated_cost_usd: 0.5 })).json();
    expect(d).toMatchObject({ allowed: true, reservation_id: expect.any(String) });
    const s = await call("POST", "/settle", { reservation_id: d.reservation_id, actual_cost_usd: 0.25 });
    expect(s.status).toBe(201);
    expect(await s.json()).toMatchObject({ cost_usd: 0.25, released_usd: 0.25 });
    const again = await call("POST", "/settle", { reservation_id: d.reservation_id, actual_cost_usd: 0.25 });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("policy.reservation.conflict");
    expect((await call("POST", "/settle", { reservation_id: randomUUID(), actual_cost_usd: 0.1 })).status).toBe(404);
    expect((await call("POST", "/settle", { reservation_id: d.reservation_id, actual_cost_usd: "0.1" })).status).toBe(400);

    const spend = await (await call("GET", `/spend?run_id=${runId}&group_by=tool,day`)).json();
    expect(spend.totals).toEqual([{ tool_name: tool, day: expect.any(String), total_usd: 0.25, calls: 1 }]);
    expect((await call("GET", `/spend?group_by=weather`)).status).toBe(400);
  });

  it("check denials and bad input", async () => {
    const ghost = await (await call("POST", "/check", { agent_slug: "nobody-here", tool_name: "x.y", action_type: "llm" })).json();
    expect(ghost).toMatchObject({ allowed: false, reason: "unknown_agent" });
    const badUrl = await (await call("POST", "/check", { agent_slug: slug, tool_name: "x.y", action_type: "net", target_url: "file:///etc/passwd" })).json();
    expect(badUrl).toMatchObject({ allowed: false, reason: "invalid_url" });
    const neg = await call("POST", "/check", { agent_slug: slug, tool_name: "x.y", action_type: "net", estimated_cost_usd: -1 });
    expect(neg.status).toBe(400);
    expect((await neg.json()).error.details[0].path).toEqual(["estimated_cost_usd"]);
  });

  it("approvals: list pending, approve, deny", async () => {
    const tool = `fn.${randomBytes(3).toString("hex")}`;
    await call("POST", "/policies", { scope: `tool:${tool}`, policy_type: "safety", config: { require_approval_for: ["network_write"] } });
    const req = { agent_slug: slug, tool_name: tool, action_type: "network_write", run_id: randomUUID(), args_hash: "a1" };
    const d = await (await call("POST", "/check", req)).json();
    expect(d).toMatchObject({ allowed: false, reason: "approval_required" });
    const pending = await (await call("GET", `/approvals?status=pending&run_id=${req.run_id}`)).json();
    expect(pending.approvals).toHaveLength(1);
    const id = pending.approvals[0].id;
    expect((await call("POST", `/approvals/${id}/approve`, { decided_by: "" })).status).toBe(400);
    const ok = await call("POST", `/approvals/${id}/approve`, { decided_by: "ops" });
    expect(await ok.json()).toMatchObject({ status: "approved", decided_by: "service_role", decided_label: "ops" });
    expect((await call("POST", `/approvals/${id}/deny`, { decided_by: "ops" })).status).toBe(409);
    expect((await call("POST", `/approvals/${randomUUID()}/deny`, { decided_by: "ops" })).status).toBe(404);
    expect(await (await call("POST", "/check", req)).json()).toMatchObject({ allowed: true });
  });
});

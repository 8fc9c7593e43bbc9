// The sla and incidents functions and the DLQ groups routes: who may read, who may act, and bad
// input as structured 4xx. Declaring by hand here uses "degraded" (no effects on budgets or
// schedules), because the function tests share one database with other files.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { app as dlqApp } from "../../functions/dlq/app.ts";
import { app as incidentsApp } from "../../functions/incidents/app.ts";
import { app as slaApp } from "../../functions/sla/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { createAgent, deadJob, ensurePgBoss, insertJob, markDead, uniqueSlug } from "../support/dlq-scenarios.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
const tokens: Record<"operator" | "viewer" | "user", string> = { operator: "", viewer: "", user: "" };
const opSub = randomUUID();

beforeAll(async () => {
  h = await functionHarness();
  tokens.operator = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: opSub, email: "op@example.com", app_metadata: { actp_role: "operator" } });
  tokens.viewer = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID(), app_metadata: { actp_role: "viewer" } });
  tokens.user = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID() });
  await ensurePgBoss(inject("dbUrl"));
});
afterAll(() => h.db.end());

type Who = "service_role" | "anon" | "operator" | "viewer" | "user";
const auth = (who: Who): Record<string, string> =>
  who === "service_role" || who === "anon" ? h.headers(who) : { authorization: `Bearer ${tokens[who]}` };
const call = (a: { request: (p: string, i?: RequestInit) => Response | Promise<Response> }, method: string, path: string, who: Who, body?: unknown) =>
  a.request(path, {
    method,
    headers: { ...auth(who), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe("sla", () => {
  const jt = uniqueSlug("fn_sla").replace(/-/g, "_");

  it("targets: the service role writes; negative or non-integer targets are 400; readers read; others 403", async () => {
    const ok = await call(slaApp, "PUT", `/sla/targets/${jt}`, "service_role", { time_to_first_update_ms: 2000, time_to_completion_ms: 20000, success_objective: 0.995 });
    expect(ok.status).toBe(200);
    expect((await ok.json()).target).toMatchObject({ job_type: jt, time_to_first_update_ms: 2000, success_objective: 0.995, updated_by: "service_role" });
    for (const bad of [
      { time_to_first_update_ms: -1, time_to_completion_ms: 20000 },
      { time_to_first_update_ms: 1.5, time_to_completion_ms: 20000 },
      { time_to_first_update_ms: 1000, time_to_completion_ms: "30s" },
      { time_to_first_update_ms: 1000, time_to_completion_ms: 2000, success_objective: 1 },
    ]) {
      const r = await call(slaApp, "PUT", `/sla/targets/${jt}`, "service_role", bad);
      expect(r.status).toBe(400);
      expect((await r.json()).error.code).toBe("validation.failed");
    }
    expect((await call(slaApp, "PUT", `/sla/targets/${jt}`, "operator", { time_to_first_update_ms: 1, time_to_completion_ms: 2 })).status).toBe(403);
    expect((await call(slaApp, "GET", `/sla/targets/${jt}`, "viewer")).status).toBe(200);
    expect((await call(slaApp, "GET", "/sla/targets", "user")).status).toBe(403);
    expect((await call(slaApp, "GET", "/sla/targets", "anon")).status).toBe(403);
    expect((await call(slaApp, "DELETE", "/sla/targets/*", "service_role")).status).toBe(400);
    expect((await call(slaApp, "DELETE", `/sla/targets/${jt}`, "service_role")).status).toBe(200);
    expect((await call(slaApp, "GET", `/sla/targets/${jt}`, "viewer")).status).toBe(404);
  });

  it("the report takes a window; a job's measurement by id", async () => {
    const r = await call(slaApp, "GET", "/sla/report?window=6h", "viewer");
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.window_seconds).toBe(21600);
    expect(body.job_types.map((t: { job_type: string }) => t.job_type)).toEqual(expect.arrayContaining(["health_check", "research_synthesis"]));
    expect((await call(slaApp, "GET", "/sla/report?window=0h", "viewer")).status).toBe(400);
    expect((await call(slaApp, "GET", "/sla/report?window=91d", "viewer")).status).toBe(400);
    const id = randomUUID();
    await h.db.query(`select public.actp_emit('job.received', '{"job_type":"health_check"}', $1)`, [id]);
    const m = await call(slaApp, "GET", `/sla/jobs/${id}`, "operator");
    expect((await m.json()).measurement).toMatchObject({ job_id: id, job_type: "health_check", outcome: "running", target: { time_to_completion_ms: 30000 } });
    expect((await call(slaApp, "GET", `/sla/jobs/${randomUUID()}`, "operator")).status).toBe(404);
    expect((await call(slaApp, "GET", "/sla/jobs/nope", "operator")).status).toBe(400);
  });
});

describe("incidents", () => {
  it("readers see the mode, detectors and history; viewers and plain users may not declare", async () => {
    const r = await call(incidentsApp, "GET", "/incidents", "viewer");
    expect(r.status).toBe(200);
    const s = await r.json();
    expect(["normal", "degraded", "incident"]).toContain(s.mode);
    expect(s.detectors.map((d: { name: string }) => d.name)).toEqual(["dlq_growth", "error_rate", "heartbeat_failures", "open_circuits", "sla_page_burn", "spend_spike"]);
    expect((await call(incidentsApp, "GET", "/incidents/history?limit=5", "viewer")).status).toBe(200);
    expect((await call(incidentsApp, "GET", "/incidents", "user")).status).toBe(403);
    for (const who of ["viewer", "user", "anon"] as const) {
      const d = await call(incidentsApp, "POST", "/incidents/declare", who, { mode: "degraded", reason: "x" });
      expect(d.status).toBe(403);
    }
    expect((await call(incidentsApp, "POST", "/incidents/declare", "operator", { mode: "panic", reason: "x" })).status).toBe(400);
    expect((await call(incidentsApp, "POST", "/incidents/declare", "operator", { reason: "" })).status).toBe(400);
    expect((await call(incidentsApp, "POST", "/incidents/resolve", "operator", {})).status).toBe(400);
  });

  it("an operator declares, acknowledges and resolves with a note; the token is the identity", async () => {
    const before = await (await call(incidentsApp, "GET", "/incidents", "viewer")).json();
    if (before.mode !== "normal") return; // another file is mid-incident: this shared database cannot host a second one
    const d = await call(incidentsApp, "POST", "/incidents/declare", "operator", { mode: "degraded", reason: "payments provider slow", note: "watching" });
    expect(d.status).toBe(201);
    const declared = await d.json();
    try {
      expect(declared).toMatchObject({ mode: "degraded", manual: true, incident: { declared_by: `operator:${opSub} <op@example.com>`, source: "manual" } });
      expect((await call(incidentsApp, "POST", "/incidents/declare", "operator", { mode: "degraded", reason: "again" })).status).toBe(409);
      const a = await call(incidentsApp, "POST", "/incidents/acknowledge", "operator");
      expect((await a.json()).incident.acknowledged_by).toBe(`operator:${opSub} <op@example.com>`);
    } finally {
      const r = await call(incidentsApp, "POST", "/incidents/resolve", "operator", { note: "provider recovered" });
      expect(r.status).toBe(200);
      expect((await r.json()).incident).toMatchObject({ resolved_by: `operator:${opSub} <op@example.com>`, resolution_note: "provider recovered" });
    }
    expect((await call(incidentsApp, "POST", "/incidents/resolve", "operator", { note: "again" })).status).toBe(404);
    const hist = await (await call(incidentsApp, "GET", "/incidents/history", "viewer")).json();
    expect(hist.incidents[0]).toMatchObject({ id: declared.incident.id, transitions: [{ to_mode: "degraded" }, { to_mode: "normal" }] });
  });
});

describe("dlq groups", () => {
  it("groups by fingerprint with count, first and last seen; an operator replays a group; a viewer may not", async () => {
    const agent = await createAgent(h.db, uniqueSlug("fn_grp"));
    const jobType = uniqueSlug("grp");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const jobId = await insertJob(h.db, { agent, input: { n: i }, status: "running", attempts: 3, jobType });
      // Different ids and numbers in the message: one fingerprint.
      await markDead(h.db, jobId, { message: `timeout after ${1000 + i} ms fetching ${randomUUID()}`, name: "TimeoutError", step: "fetch" });
      ids.push(jobId);
    }
    await deadJob(h.db, agent, { topic: "other" }, jobType);
    const r = await call(dlqApp, "GET", `/dlq/groups?job_type=${jobType}`, "viewer");
    expect(r.status).toBe(200);
    const { groups } = await r.json();
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({ job_type: jobType, pending: 3, total: 3, error_name: "TimeoutError", step: "fetch", message_pattern: "timeout after <n> ms fetching <id>" });
    expect(Date.parse(groups[0].first_seen)).toBeLessThanOrEqual(Date.parse(groups[0].last_seen));
    expect((await call(dlqApp, "POST", `/dlq/groups/${groups[0].fingerprint}/replay`, "viewer")).status).toBe(403);
    expect((await call(dlqApp, "POST", "/dlq/groups/nothex/replay", "operator")).status).toBe(400);
    const rep = await call(dlqApp, "POST", `/dlq/groups/${groups[0].fingerprint}/replay`, "operator", { note: "provider back" });
    expect(rep.status).toBe(200);
    expect(await rep.json()).toMatchObject({ matched: 3, replayed: 3, failed: 0, remaining: 0, reviewed_by: `operator:${opSub} <op@example.com>` });
    const after = await (await call(dlqApp, "GET", `/dlq/groups?job_type=${jobType}`, "viewer")).json();
    expect(after.groups).toHaveLength(1);
  });

  it("the Studio views answer readers only", async () => {
    for (const view of ["actp_ops_sla_report", "actp_ops_incidents", "actp_ops_dlq_groups"]) {
      const asRole = async (claims: Record<string, unknown>) =>
        h.db.asRole(claims as never, async (tx) => (await tx.query(`select count(*)::int as n from public.${view}`)).rows[0] as { n: number });
      const viewer = await asRole({ role: "authenticated", sub: "v", app_metadata: { actp_role: "viewer" } });
      const user = await asRole({ role: "authenticated", sub: "u" });
      expect(user.n).toBe(0);
      if (view === "actp_ops_sla_report") expect(viewer.n).toBeGreaterThanOrEqual(5);
      await expect(h.db.asRole({ role: "anon" }, (tx) => tx.query(`select 1 from public.${view} limit 1`))).rejects.toThrow(/permission denied/);
    }
  });
});

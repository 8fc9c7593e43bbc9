// The replay function: timeline, fork-from-step and diff over HTTP, with their auth rules and errors.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { app } from "../../functions/replay/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";
import { at, createAgent, ensurePgBoss, insertEvent, insertJob, insertSteps, uniqueSlug } from "../support/dlq-scenarios.ts";

let h: FunctionHarness;
let agent: string;
let userToken: string;
let viewerToken: string;

beforeAll(async () => {
  h = await functionHarness();
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(h.db, uniqueSlug("replayfn"));
  userToken = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID() });
  viewerToken = await h.token("viewer");
});
afterAll(() => h.db.end());

type Role = "anon" | "service_role" | "none" | "user" | "viewer";
const headers = (role: Role, extra: Record<string, string> = {}) =>
  role === "user"
    ? { ...extra, authorization: `Bearer ${userToken}` }
    : role === "viewer"
      ? { ...extra, authorization: `Bearer ${viewerToken}` }
      : h.headers(role, extra);
const get = (path: string, role: Role = "service_role") => app.request(`/replay${path}`, { headers: headers(role) });
const post = (path: string, body?: unknown, role: Role = "service_role") =>
  app.request(`/replay${path}`, {
    method: "POST",
    headers: headers(role, body === undefined ? {} : { "content-type": "application/json" }),
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });

async function run(output: unknown): Promise<string> {
  const base = Date.parse("2026-11-22T08:00:00Z");
  const id = await insertJob(h.db, { agent, input: { q: "why" }, status: "completed", createdAt: at(base, 0), startedAt: at(base, 100), finishedAt: at(base, 900), output });
  await insertEvent(h.db, { type: "job.received", jobId: id, at: at(base, 0), payload: { job_type: agent } });
  await insertSteps(h.db, id, [
    { ordinal: 0, name: "think", startedAt: at(base, 100), finishedAt: at(base, 400), output: { idea: 1 } },
    { ordinal: 1, name: "answer", startedAt: at(base, 400), finishedAt: at(base, 880), output },
  ]);
  await insertEvent(h.db, { type: "job.completed", jobId: id, at: at(base, 900), payload: { duration_ms: 900, attempt: 1 } });
  return id;
}

describe("GET /replay/:job_id/timeline", () => {
  it("returns the merged timeline; 404 unknown, 400 malformed, 401/403", async () => {
    const id = await run({ text: "because" });
    expect((await get(`/${id}/timeline`, "user")).status).toBe(403);
    const res = await get(`/${id}/timeline`, "viewer");
    expect(res.status).toBe(200);
    const t = await res.json();
    expect(t.entries.map((e: { kind: string; type?: string; name?: string }) => e.type ?? e.name)).toEqual(["job.received", "think", "answer", "job.completed"]);
    expect(t.summary.total_ms).toBe(900);
    const unknown = await get(`/${randomUUID()}/timeline`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("forensics.not_found");
    expect((await get(`/nope/timeline`)).status).toBe(400);
    expect((await get(`/${id}/timeline`, "none")).status).toBe(401);
    expect((await get(`/${id}/timeline`, "anon")).status).toBe(403);
  });
});

describe("POST /replay/:job_id", () => {
  it("201 with the linked job, by step name or number or from the start", async () => {
    const id = await run({ text: "because" });
    const byName = await post(`/${id}`, { from_step: "answer" });
    expect(byName.status).toBe(201);
    expect(await byName.json()).toMatchObject({ replay_of: id, from_step: "answer", reused_steps: ["think"] });
    const byNumber = await post(`/${id}`, { from_step: 2, requested_by: "ops" });
    expect((await byNumber.json()).from_step).toBe("answer");
    const fromStart = await post(`/${id}`);
    expect(fromStart.status).toBe(201);
    expect((await fromStart.json()).from_step).toBeNull();
  });

  it("400 unknown step or bad body, 404 unknown job, 401/403 without the service role", async () => {
    const id = await run({ text: "because" });
    const step = await post(`/${id}`, { from_step: "render" });
    expect(step.status).toBe(400);
    expect((await step.json()).error.code).toBe("forensics.unknown_step");
    expect((await post(`/${id}`, { from_step: 0 })).status).toBe(400);
    expect((await post(`/${id}`, { from: "answer" })).status).toBe(400);
    expect((await post(`/${id}`, "[")).status).toBe(400);
    expect((await post(`/${randomUUID()}`, {})).status).toBe(404);
    expect((await post(`/${id}`, {}, "none")).status).toBe(401);
    expect((await post(`/${id}`, {}, "anon")).status).toBe(403);
    expect((await post(`/${id}`, {}, "user")).status).toBe(403);
    const made = await h.db.query(`select 1 from public.actp_jobs where replay_of = $1`, [id]);
    expect(made.rows).toHaveLength(0);
  });
});

describe("GET /replay/diff", () => {
  it("diffs two runs; 404 for an unknown job; 400 without both ids", async () => {
    const a = await run({ text: "because" });
    const b = await run({ text: "because of X" });
    expect((await get(`/diff?a=${a}&b=${b}`, "user")).status).toBe(403);
    const res = await get(`/diff?a=${a}&b=${b}`, "viewer");
    expect(res.status).toBe(200);
    const d = await res.json();
    expect(d.first_divergence).toBe("answer");
    expect(d.output.changes).toEqual([{ op: "changed", path: "$.text", a: "because", b: "because of X" }]);
    expect(d.steps.map((s: { name: string; change: string }) => [s.name, s.change])).toEqual([
      ["think", "same"],
      ["answer", "changed"],
    ]);
    expect((await get(`/diff?a=${a}&b=${randomUUID()}`)).status).toBe(404);
    expect((await get(`/diff?a=${a}`)).status).toBe(400);
    expect((await get(`/diff?a=${a}&b=${b}`, "anon")).status).toBe(403);
  });
});

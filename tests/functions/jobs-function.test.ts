// The jobs function's contract: who may submit, read and cancel, and the structured errors for
// unknown and disabled agents, bad input and unknown jobs.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { z } from "zod";
import { app } from "../../functions/jobs/app.ts";
import { defineAgent, syncAgents } from "../../node/worker/agents/index.ts";
import { installQueueEngine } from "../../node/worker/boss.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

const tag = randomBytes(3).toString("hex");
const agent = defineAgent({ slug: `jf-${tag}`, input: z.object({ q: z.string().min(2) }), handler: () => null });
const off = defineAgent({ slug: `jf-off-${tag}`, input: z.object({}), handler: () => null });
let h: FunctionHarness;

beforeAll(async () => {
  h = await functionHarness();
  await installQueueEngine(inject("dbUrl"));
  await syncAgents(h.db, [agent, off]);
  await h.db.query(`update public.actp_agent_definitions set enabled = false where slug = $1`, [off.slug]);
}, 60_000);
afterAll(() => h.db.end());

const post = (path: string, role: "anon" | "service_role" | "none", body?: unknown) =>
  app.request(path, { method: "POST", headers: h.headers(role, { "content-type": "application/json" }), body: body === undefined ? undefined : JSON.stringify(body) });

describe("jobs function", () => {
  it("submits, reads and cancels a job", async () => {
    const res = await post("/jobs", "service_role", { agent: agent.slug, input: { q: "hello" }, options: { priority: 1 } });
    expect(res.status).toBe(201);
    const { id, status, warning } = (await res.json()) as { id: string; status: string; warning?: string };
    expect(status).toBe("queued");
    // No worker serves this agent in the test: the answer says so instead of leaving it to sit queued.
    expect(warning).toMatch(/no live worker serves agent/);
    const got = await app.request(`/jobs/${id}`, { headers: h.headers("service_role") });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ id, status: "queued", agent: agent.slug, attempts: 0, steps: [] });
    const cancelled = await post(`/jobs/${id}/cancel`, "service_role", { reason: "test", cancelled_by: "ana (on call)" });
    expect(cancelled.status).toBe(200);
    // cancelled_by is the token's identity; the body's name is kept beside it as a label.
    const { rows } = await h.db.query<{ payload: unknown }>(`select payload from public.actp_events where job_id = $1 and type = 'job.cancelled'`, [id]);
    expect(rows.map((r) => r.payload)).toEqual([{ reason: "test", cancelled_by: "service_role", label: "ana (on call)" }]);
    // A plain signed-up user and a viewer read nothing of it.
    expect((await app.request(`/jobs/${id}`, { headers: await h.as("user") })).status).toBe(403);
    expect((await app.request(`/jobs/${id}`, { headers: await h.as("viewer") })).status).toBe(200);
    expect((await post(`/jobs/${id}/cancel`, "service_role")).status).toBe(409);
  });

  it("answers 404, 409 and 400 with the error shape", async () => {
    const unknown = await post("/jobs", "service_role", { agent: `nope-${tag}`, input: {} });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "jobs.agent_not_found" } });
    const disabled = await post("/jobs", "service_role", { agent: off.slug, input: {} });
    expect(disabled.status).toBe(409);
    const bad = await post("/jobs", "service_role", { agent: agent.slug, input: { q: 1 } });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; details: { issues: { path: string[] }[] } } };
    expect(body.error.code).toBe("jobs.invalid_input");
    expect(body.error.details.issues[0]!.path).toEqual(["q"]);
    expect((await post("/jobs", "service_role", { agent: agent.slug })).status).toBe(400);
    const missing = await app.request(`/jobs/00000000-0000-4000-8000-000000000000`, { headers: h.headers("service_role") });
    expect(missing.status).toBe(404);
    expect((await app.request(`/jobs/not-a-uuid`, { headers: h.headers("service_role") })).status).toBe(400);
    expect((await post(`/jobs/00000000-0000-4000-8000-000000000000/cancel`, "service_role")).status).toBe(404);
  });

  it("needs the service role to submit or cancel", async () => {
    expect((await post("/jobs", "none", { agent: agent.slug, input: { q: "hi" } })).status).toBe(401);
    expect((await post("/jobs", "anon", { agent: agent.slug, input: { q: "hi" } })).status).toBe(403);
    expect((await post(`/jobs/00000000-0000-4000-8000-000000000000/cancel`, "anon")).status).toBe(403);
    const { rows } = await h.db.query(`select 1 from public.actp_jobs where agent_slug = $1 and input = '{"q":"hi"}'::jsonb`, [agent.slug]);
    expect(rows).toHaveLength(0);
  });
});

// The dlq function: every route, its auth rules and its errors, over the tier's database.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { app } from "../../functions/dlq/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";
import { createAgent, deadJob, ensurePgBoss, uniqueSlug } from "../support/dlq-scenarios.ts";

let h: FunctionHarness;
let agent: string;
let userToken: string;
let viewerToken: string;
let operatorToken: string;
const operatorSub = randomUUID();

beforeAll(async () => {
  h = await functionHarness();
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(h.db, uniqueSlug("dlqfn"), {
    type: "object",
    properties: { topic: { type: "string", minLength: 3 } },
    required: ["topic"],
  });
  userToken = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID() });
  viewerToken = await h.token("viewer");
  operatorToken = await h.token("operator", { sub: operatorSub, email: "ana@example.com" });
});
afterAll(() => h.db.end());

type Role = "anon" | "service_role" | "none" | "user" | "viewer" | "operator";
const bearer: Partial<Record<Role, () => string>> = { user: () => userToken, viewer: () => viewerToken, operator: () => operatorToken };
const headers = (role: Role, extra: Record<string, string> = {}) => {
  const token = bearer[role];
  return token ? { ...extra, authorization: `Bearer ${token()}` } : h.headers(role as "anon" | "service_role" | "none", extra);
};
const get = (path: string, role: Role = "service_role") => app.request(`/dlq${path}`, { headers: headers(role) });
const post = (path: string, body?: unknown, role: Role = "service_role") =>
  app.request(`/dlq${path}`, {
    method: "POST",
    headers: headers(role, body === undefined ? {} : { "content-type": "application/json" }),
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });

describe("GET /dlq", () => {
  it("lists pending items with filters and pagination for readers (viewer, service role); a plain user is 403", async () => {
    const jobType = uniqueSlug("fn_list");
    const a = await deadJob(h.db, agent, { topic: "one" }, jobType);
    const b = await deadJob(h.db, agent, { topic: "two" }, jobType);
    expect((await get(`?job_type=${jobType}&limit=1`, "user")).status).toBe(403);
    const res = await get(`?job_type=${jobType}&limit=1`, "viewer");
    expect(res.status).toBe(200);
    const page = await res.json();
    expect(page.items.map((i: { id: string }) => i.id)).toEqual([a.dlqId]);
    expect(page.items[0]).toMatchObject({ failure_reason: "HttpError: upstream returned 503 (thrown at fetch)", agent_slug: agent, resolution: null });
    expect(page.pending.by_job_type[jobType]).toBe(2);
    const next = await (await get(`?job_type=${jobType}&limit=1&after=${page.next_cursor}`)).json();
    expect(next.items.map((i: { id: string }) => i.id)).toEqual([b.dlqId]);
    expect(next.next_cursor).toBeNull();
  });

  it("400 for a bad query, 401 without a token, 403 for anon", async () => {
    for (const qs of ["?limit=0", "?status=done", "?from=yesterday", "?nope=1", "?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "?after=zzz"]) {
      const res = await get(qs);
      expect(res.status, qs).toBe(400);
      expect((await res.json()).error.code).toMatch(/^dlq\./);
    }
    expect((await get("")).status).toBe(200);
    expect((await get("", "none")).status).toBe(401);
    expect((await get("", "anon")).status).toBe(403);
  });
});

describe("GET /dlq/:id", () => {
  it("shows the input, the errors and the job's timeline; 404 unknown, 400 malformed", async () => {
    const { jobId, dlqId } = await deadJob(h.db, agent, { topic: "shown" });
    expect((await get(`/${dlqId}`, "user")).status).toBe(403);
    const res = await get(`/${dlqId}`, "viewer");
    expect(res.status).toBe(200);
    const item = await res.json();
    expect(item).toMatchObject({ id: dlqId, original_job_id: jobId, input_data: { topic: "shown" } });
    expect(item.errors.at(-1)).toMatchObject({ message: "upstream returned 503", where: "fetch" });
    expect(item.timeline.job.id).toBe(jobId);
    expect((await get(`/${randomUUID()}`)).status).toBe(404);
    expect((await get(`/not-a-uuid`)).status).toBe(400);
    expect((await get(`/${dlqId}`, "anon")).status).toBe(403);
  });
});

describe("POST /dlq/:id/replay", () => {
  it("201 with the new job, then 200 with the same job; service role only", async () => {
    const { dlqId } = await deadJob(h.db, agent);
    expect((await post(`/${dlqId}/replay`, undefined, "none")).status).toBe(401);
    expect((await post(`/${dlqId}/replay`, undefined, "anon")).status).toBe(403);
    expect((await post(`/${dlqId}/replay`, { reviewer: "ana" }, "user")).status).toBe(403);

    const first = await post(`/${dlqId}/replay`);
    expect(first.status).toBe(201);
    const r1 = await first.json();
    expect(r1).toMatchObject({ resolution: "replayed", reviewed_by: "service_role", already_resolved: false });
    const second = await post(`/${dlqId}/replay`, { reviewer: "ana", note: "again" });
    expect(second.status).toBe(200);
    expect((await second.json()).replay_job_id).toBe(r1.replay_job_id);
  });

  it("404 unknown, 400 for a bad body or non-JSON", async () => {
    expect((await post(`/${randomUUID()}/replay`, { reviewer: "ana" })).status).toBe(404);
    const { dlqId } = await deadJob(h.db, agent);
    expect((await post(`/${dlqId}/replay`, { reviewer: "" })).status).toBe(400);
    expect((await post(`/${dlqId}/replay`, { reviewer: "ana", extra: 1 })).status).toBe(400);
    expect((await post(`/${dlqId}/replay`, "{nope")).status).toBe(400);
    const still = await (await get(`/${dlqId}`)).json();
    expect(still.resolution).toBeNull();
  });
});

describe("POST /dlq/:id/discard", () => {
  it("discards once; refuses on a replayed item; a blank reviewer label is 400", async () => {
    const { dlqId } = await deadJob(h.db, agent);
    const blank = await post(`/${dlqId}/discard`, { reviewer: " ", note: "blank reviewer" });
    expect(blank.status).toBe(400);
    expect((await blank.json()).error.details[0].path).toEqual(["reviewer"]);
    const ok = await post(`/${dlqId}/discard`, { reviewer: "ana", note: "spam" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ resolution: "discarded", reviewed_by: "service_role", reviewer_label: "ana", note: "spam" });
    expect((await (await post(`/${dlqId}/discard`, { reviewer: "bob" })).json()).already_resolved).toBe(true);
    expect((await post(`/${dlqId}/discard`, { reviewer: "ana" }, "anon")).status).toBe(403);
    expect((await post(`/${randomUUID()}/discard`, { reviewer: "ana" })).status).toBe(404);

    const other = await deadJob(h.db, agent);
    await post(`/${other.dlqId}/replay`, { reviewer: "ana" });
    const conflict = await post(`/${other.dlqId}/discard`, { reviewer: "bob" });
    expect(conflict.status).toBe(409);
    expect((await conflict.json()).error.code).toBe("dlq.conflict");
  });
});

describe("POST /dlq/:id/fix", () => {
  it("400 with the schema issues for an input the agent refuses; 201 replays the fixed input", async () => {
    const { jobId, dlqId } = await deadJob(h.db, agent, { topic: "x" });
    const bad = await post(`/${dlqId}/fix`, { reviewer: "ana", input: { topic: "no" } });
    expect(bad.status).toBe(400);
    const err = (await bad.json()).error;
    expect(err.code).toBe("dlq.invalid_input");
    expect(err.details.issues[0].path).toEqual(["input", "topic"]);
    expect((await post(`/${dlqId}/fix`, { reviewer: "ana" })).status).toBe(400);

    const ok = await post(`/${dlqId}/fix`, { reviewer: "ana", input: { topic: "fixed topic" } });
    expect(ok.status).toBe(201);
    const r = await ok.json();
    expect(r).toMatchObject({ resolution: "manual_fix", reviewed_by: "service_role", reviewer_label: "ana" });
    const job = (await h.db.query(`select input, replay_of from public.actp_jobs where id = $1`, [r.replay_job_id])).rows[0];
    expect(job).toEqual({ input: { topic: "fixed topic" }, replay_of: jobId });
    expect((await post(`/${randomUUID()}/fix`, { reviewer: "ana", input: { topic: "abc" } })).status).toBe(404);
    expect((await post(`/${dlqId}/fix`, { reviewer: "ana", input: { topic: "abc" } }, "anon")).status).toBe(403);
  });
});

describe("operators", () => {
  it("an operator replays and discards, recorded as the token's identity with the body's reviewer as a label; a viewer may not", async () => {
    const one = await deadJob(h.db, agent);
    const two = await deadJob(h.db, agent);
    expect((await post(`/${one.dlqId}/replay`, { reviewer: "ana" }, "viewer")).status).toBe(403);
    expect((await post(`/${one.dlqId}/discard`, {}, "viewer")).status).toBe(403);

    const replayed = await post(`/${one.dlqId}/replay`, { reviewer: "someone else entirely" }, "operator");
    expect(replayed.status).toBe(201);
    expect(await replayed.json()).toMatchObject({ reviewed_by: `operator:${operatorSub} <ana@example.com>`, reviewer_label: "someone else entirely" });
    const discarded = await post(`/${two.dlqId}/discard`, undefined, "operator");
    expect(discarded.status).toBe(200);
    expect(await discarded.json()).toMatchObject({ reviewed_by: `operator:${operatorSub} <ana@example.com>`, reviewer_label: null });
    const { rows } = await h.db.query<{ reviewed_by: string; reviewer_label: string | null }>(
      `select reviewed_by, reviewer_label from public.actp_dlq where id = any($1::uuid[]) order by reviewer_label nulls last`,
      [[one.dlqId, two.dlqId]],
    );
    expect(rows).toEqual([
      { reviewed_by: `operator:${operatorSub} <ana@example.com>`, reviewer_label: "someone else entirely" },
      { reviewed_by: `operator:${operatorSub} <ana@example.com>`, reviewer_label: null },
    ]);
  });
});

describe("POST /dlq/replay (bulk)", () => {
  it("replays by filter with per-item results; 400 for a bad filter; service role only", async () => {
    const jobType = uniqueSlug("fn_bulk");
    const a = await deadJob(h.db, agent, { topic: "bulk one" }, jobType);
    const b = await deadJob(h.db, agent, { topic: "bulk two" }, jobType);
    expect((await post(`/replay`, { filter: { job_type: jobType }, reviewer: "ana" }, "user")).status).toBe(403);
    expect((await post(`/replay`, { filter: { job_type: jobType, limit: 5000 }, reviewer: "ana" })).status).toBe(400);
    expect((await post(`/replay`, { reviewer: "ana" })).status).toBe(400);
    const res = await post(`/replay`, { filter: { job_type: jobType, to: new Date(Date.now() + 60_000).toISOString() }, reviewer: "ana" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ matched: 2, replayed: 2, failed: 0 });
    expect(body.items.map((i: { dlq_id: string; ok: boolean }) => [i.dlq_id, i.ok])).toEqual([
      [a.dlqId, true],
      [b.dlqId, true],
    ]);
  });
});

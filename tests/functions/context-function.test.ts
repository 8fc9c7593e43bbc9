import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/context/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { emit } from "../../shared/events/emit.ts";
import { FakeAnthropic } from "../support/fake-anthropic.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let fake: FakeAnthropic;
const tokens: Record<string, string> = {};
const agent = `ctx-${randomUUID().slice(0, 8)}`;
const jobId = randomUUID();

beforeAll(async () => {
  h = await functionHarness();
  fake = await FakeAnthropic.start();
  const sub = randomUUID();
  tokens.user = await signApiKey(h.keys.jwtSecret, "authenticated", { sub });
  tokens.viewer = await signApiKey(h.keys.jwtSecret, "authenticated", { sub, app_metadata: { actp_role: "viewer" } });
  const events = [];
  for (let i = 0; i < 30; i++) {
    events.push({ type: "job.progress" as const, job_id: i < 10 ? jobId : randomUUID(), agent_slug: agent, payload: { message: `step ${i} of the survey: read source ${i} about retrieval freshness`, pct: i } });
  }
  await emit(h.db, events);
});
afterAll(async () => {
  delete process.env.ANTHROPIC_BASE_URL;
  await fake.stop();
  await h.db.end();
});

const post = (body: unknown, who: "service_role" | "viewer" | "user" | "anon" = "service_role") =>
  app.request("/context/assemble", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${who === "service_role" ? h.keys.serviceRoleKey : who === "anon" ? h.keys.anonKey : tokens[who]}`,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const req = (over: Record<string, unknown> = {}) => ({
  task_type: "research",
  agent_slug: agent,
  job_id: jobId,
  token_budget: 4000,
  system: "You are a careful research agent.",
  task: "Summarize what we learned.",
  ...over,
});

describe("POST /context/assemble", () => {
  it("answers the PRD's packet with this job's events first and a manifest", async () => {
    const r = await post(req());
    expect(r.status).toBe(200);
    const p = await r.json();
    expect(Object.keys(p).sort()).toEqual(["conversation", "episodic", "goals", "manifest", "procedural", "semantic", "system", "task", "token_budget"]);
    expect(p.episodic.recent_events.length).toBe(30);
    expect(p.episodic.recent_events.slice(0, 10).every((e: { data: { job_id: string } }) => e.data.job_id === jobId)).toBe(true);
    expect(p.token_budget.limit).toBe(4000);
    expect(p.token_budget.used).toBeLessThanOrEqual(4000);
    expect(p.manifest.counter.kind).toBe("estimate");
  });

  it("cuts under a small budget and says what it cut", async () => {
    const p = await (await post(req({ token_budget: 200 }))).json();
    expect(p.token_budget.used).toBeLessThanOrEqual(200);
    expect(p.manifest.dropped.length + p.manifest.truncated.length).toBeGreaterThan(0);
    expect(p.manifest.layers.episodic.dropped).toBeGreaterThan(0);
  });

  it("a budget below system plus task is a typed 400, no packet", async () => {
    const r = await post(req({ token_budget: 5, system: "a much longer system prompt than five tokens can hold" }));
    expect(r.status).toBe(400);
    expect((await r.json()).error.code).toBe("context.budget_too_small");
  });

  it("refuses bad input with the structured error", async () => {
    for (const body of [req({ token_budget: 0 }), req({ token_budget: 1.5 }), req({ surprise: 1 }), req({ agent_slug: "Bad Slug" }), req({ job_id: "nope" }), "{not json"]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect((await r.json()).error.code).toMatch(/^(validation|http)\./);
    }
  });

  it("is closed to anon and to signed-up users without an actp role; viewers may read", async () => {
    expect((await post(req(), "anon")).status).toBe(403);
    expect((await post(req(), "user")).status).toBe(403);
    expect((await post(req(), "viewer")).status).toBe(200);
  });

  it("counts exactly through Anthropic's count-tokens when configured, and repacks when the estimate ran short", async () => {
    process.env.ANTHROPIC_BASE_URL = fake.url;
    try {
      const p = await (await post(req({ token_budget: 600 }))).json();
      expect(p.manifest.counter).toMatchObject({ kind: "anthropic" });
      expect(p.token_budget.used).toBeLessThanOrEqual(600);
      fake.countSkew = 300; // the model's tokenizer says 300 more than the packer thought
      const tight = await (await post(req({ token_budget: 600 }))).json();
      expect(tight.token_budget.used).toBeLessThanOrEqual(600);
      expect(tight.manifest.counter.kind).toBe("anthropic");
      expect(tight.episodic.recent_events.length).toBeLessThan(p.episodic.recent_events.length);
    } finally {
      fake.countSkew = 0;
      delete process.env.ANTHROPIC_BASE_URL;
    }
  });
});

describe("semantic and procedural memory from actp_memory_facts", () => {
  it("current facts only; procedures about the task type are SOPs, others lessons; the query ranks", async () => {
    const subject = `ctx-subject-${randomUUID().slice(0, 6)}`;
    const ins = async (layer: string, subj: string, key: string, content: string, extra = "") =>
      (await h.db.query<{ id: string }>(
        `insert into actp_memory_facts (layer, subject, key, value, content, agent_slug${extra ? ", recorded_at, superseded_at, superseded_by" : ""})
         values ($1, $2, $3, '{}'::jsonb, $4, $5${extra}) returning id::text`,
        [layer, subj, key, content, agent],
      )).rows[0]!.id;
    const current = await ins("semantic", subject, "freshness", "The index is fresh by construction: triggers enqueue embeddings.");
    await ins("semantic", subject, "freshness", "OLD belief that was superseded", `, now() - interval '1 hour', now(), '${current}'::uuid`);
    await ins("semantic", subject, "pgvector", "HNSW indexes need pgvector 0.5 or newer.");
    await ins("procedural", "research", "research.cite", "Cite every claim with an evidence id.");
    await ins("procedural", subject, "deploy", "Run supabase db push before deploying functions.");

    const p = await (await post(req({ query: "HNSW pgvector" }))).json();
    const facts = p.semantic.facts.map((f: { text: string }) => f.text).join("\n");
    expect(facts).toContain("fresh by construction");
    expect(facts).not.toContain("OLD belief");
    expect(p.semantic.facts[0].text).toContain("HNSW");
    expect(p.procedural.sops.map((f: { text: string }) => f.text)).toEqual([expect.stringContaining("Cite every claim")]);
    expect(p.procedural.lessons.some((f: { text: string }) => f.text.includes("supabase db push"))).toBe(true);
  });
});

describe("profiles", () => {
  it("stored priorities are applied to the packing; only the service role sets them", async () => {
    const put = (body: unknown, who = h.keys.serviceRoleKey) =>
      app.request(`/context/profiles/${agent}`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${who}` }, body: JSON.stringify(body) });
    expect((await put({ priorities: { episodic: 0 } })).status).toBe(400);
    expect((await put({ priorities: { nope: 1 } })).status).toBe(400);
    expect((await put({ priorities: { episodic: 9 } }, tokens.viewer)).status).toBe(403);
    const before = await (await post(req({ token_budget: 300, system: undefined, task: undefined }))).json();
    expect((await put({ priorities: { episodic: 1 } })).status).toBe(200);
    const got = await app.request(`/context/profiles/${agent}`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    expect((await got.json()).profile.priorities).toEqual({ episodic: 1 });
    // Alone in its layer, a lower priority only lowers each event's share: fewer events fit.
    const after = await (await post(req({ token_budget: 300, system: undefined, task: undefined }))).json();
    expect(after.manifest.layers.episodic.priority).toBe(1);
    expect(before.manifest.layers.episodic.priority).toBe(2);
  });

  it("the database refuses a bad profile row itself", async () => {
    await expect(h.db.query(`insert into actp_context_profiles (agent_slug, priorities) values ('x-bad', '{"episodic": -1}')`)).rejects.toThrow(/check/);
  });
});

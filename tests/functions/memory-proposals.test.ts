import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/memory/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let operator: string;
let viewer: string;
let user: string;
const operatorSub = randomUUID();

beforeAll(async () => {
  h = await functionHarness();
  operator = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: operatorSub, email: "ops@example.org", app_metadata: { actp_role: "operator" } });
  viewer = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID(), app_metadata: { actp_role: "viewer" } });
  user = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: randomUUID() });
});
afterAll(() => h.db.end());

const call = (method: string, path: string, body?: unknown, token?: string) =>
  app.request(`/memory${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? h.keys.serviceRoleKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function evidence(text: string, authority: number): Promise<string> {
  const { rows } = await h.db.query<{ id: string }>(
    `insert into actp_research_evidence (url, final_url, domain, content_type, text, content_hash, authority)
     values ('https://docs.example.org/f', 'https://docs.example.org/f', 'example.org', 'text/plain', $1, $2, $3) returning id`,
    [text, "sha256:" + createHash("sha256").update(text + randomUUID()).digest("hex"), authority],
  );
  return rows[0]!.id;
}

describe("memory proposal routes", () => {
  it("submit (201, then 200 for the same), score → deferred, operator review → approved fact, facts as of a time", async () => {
    const ev = await evidence("The free plan pauses projects after 1 week of inactivity.", 0.5);
    const subject = `fn-${randomUUID().slice(0, 8)}`;
    const body = { layer: "semantic", subject, key: "pause", value: { days: 7 }, content: "Free projects pause after 1 week of inactivity.", evidence_refs: [ev] };
    const first = await call("POST", "/proposals", body);
    expect(first.status).toBe(201);
    const { proposal } = await first.json();
    expect((await call("POST", "/proposals", { ...body, layer: 3 })).status).toBe(200);

    expect((await call("POST", `/proposals/${proposal.id}/score`, { score: 8.5 })).status).toBe(200);
    const shown = await (await call("GET", `/proposals/${proposal.id}`, undefined, viewer)).json();
    expect(shown.proposal).toMatchObject({ status: "deferred", reason: "no_authoritative_source" });

    expect((await call("POST", `/proposals/${proposal.id}/review`, { decision: "approve" }, viewer)).status).toBe(403);
    const reviewed = await call("POST", `/proposals/${proposal.id}/review`, { decision: "approve", reviewer: "Sam (body label)", reviewer_id: "spoof" }, operator);
    expect(reviewed.status).toBe(400); // strict body: an identity cannot be given in the body
    const ok = await call("POST", `/proposals/${proposal.id}/review`, { decision: "approve", reviewer: "Sam (body label)" }, operator);
    expect(ok.status).toBe(200);
    expect((await ok.json()).proposal).toMatchObject({ status: "approved", reviewer: `operator:${operatorSub} <ops@example.org>`, reviewer_label: "Sam (body label)" });

    const facts = await (await call("GET", `/facts?subject=${subject}`, undefined, viewer)).json();
    expect(facts.facts).toEqual([expect.objectContaining({ layer: "semantic", key: "pause", value: { days: 7 }, proposal_id: proposal.id })]);
    const before = await (await call("GET", `/facts?subject=${subject}&as_of=2000-01-01T00:00:00Z`)).json();
    expect(before.facts).toEqual([]);
    const listed = await (await call("GET", `/proposals?status=approved&limit=500`, undefined, viewer)).json();
    expect(listed.proposals.map((p: { id: string }) => p.id)).toContain(proposal.id);
  });

  it("400 for a proposal without evidence refs, an unknown layer, a score outside 0-10; nothing written", async () => {
    const subject = `fn-bad-${randomUUID().slice(0, 8)}`;
    const base = { layer: "semantic", subject, key: "k", value: 1, content: "A fact in words." };
    for (const b of [{ ...base, evidence_refs: [] }, { ...base }, { ...base, layer: "episodic", evidence_refs: ["x"] }, { ...base, layer: 1, evidence_refs: ["x"] }]) {
      const res = await call("POST", "/proposals", b);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("memory.invalid_proposal");
    }
    const missing = randomUUID();
    const res = await call("POST", "/proposals", { ...base, evidence_refs: [missing] });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain(missing);
    const { rows } = await h.db.query(`select 1 from actp_memory_proposals where target_subject = $1`, [subject]);
    expect(rows).toHaveLength(0);

    const ok = await (await call("POST", "/proposals", { ...base, evidence_refs: ["tool:1"] })).json();
    for (const score of [11, -1, "9", null]) expect((await call("POST", `/proposals/${ok.proposal.id}/score`, { score })).status).toBe(400);
    expect((await (await call("GET", `/proposals/${ok.proposal.id}`)).json()).proposal).toMatchObject({ status: "pending", score: null });
    expect((await call("GET", `/proposals/not-a-uuid`)).status).toBe(400);
    expect((await call("GET", `/proposals/${randomUUID()}`)).status).toBe(404);
  });

  it("a signed-up user without an actp role and anon get nothing", async () => {
    expect((await call("GET", "/proposals", undefined, user)).status).toBe(403);
    expect((await call("GET", "/facts", undefined, h.keys.anonKey)).status).toBe(403);
    expect((await call("POST", "/proposals", { layer: "semantic" }, operator)).status).toBe(403);
  });
});

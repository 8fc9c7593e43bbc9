// End to end on the embedded database with a real pg-boss: an agent proposes through ctx.propose,
// the worker's platform queue runs the critic, and the gate decides, with no other process involved.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { defineAgent } from "../../node/worker/agents/index.ts";
import type { JobContext } from "../../node/worker/context.ts";
import { JobWorker } from "../../node/worker/runtime.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { getProposal } from "../../shared/memory-gate/statements.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(12);
const tag = randomBytes(3).toString("hex");
let worker: JobWorker;

const Input = z.object({ evidence: z.string(), content: z.string(), key: z.string() });
type Input = z.infer<typeof Input>;
const proposer = defineAgent({
  slug: `gate-proposer-${tag}`,
  input: Input,
  handler: async (ctx: JobContext<Input>, input: Input) => {
    const r = await ctx.step("propose", () =>
      ctx.propose({ layer: "semantic", subject: `gate-e2e-${tag}`, key: input.key, value: { text: input.content }, content: input.content, evidence_refs: [input.evidence] }),
    );
    return { proposal_id: r.proposal.id };
  },
});

async function evidence(text: string, authority: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into actp_research_evidence (url, final_url, domain, content_type, text, content_hash, authority)
     values ('https://docs.example.org/e', 'https://docs.example.org/e', 'example.org', 'text/plain', $1, $2, $3) returning id`,
    [text, "sha256:" + createHash("sha256").update(text + randomUUID()).digest("hex"), authority],
  );
  return rows[0]!.id;
}

async function decided(jobId: string, timeoutMs = 30_000) {
  const t0 = Date.now();
  for (;;) {
    const out = await db.query<{ output: { proposal_id?: string } | null }>(`select output from actp_jobs where id = $1 and status = 'completed'`, [jobId]);
    const pid = out.rows[0]?.output?.proposal_id;
    if (pid) {
      const p = await db.asRole({ role: "service_role" }, (tx) => getProposal(tx, pid));
      if (p && p.proposal.status !== "pending") return p;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`proposal of job ${jobId} not decided after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  worker = new JobWorker({ db, connectionString: inject("dbUrl"), agents: [proposer], concurrency: 2, heartbeatIntervalMs: 300, listenNotify: false, supervise: false });
  await worker.start();
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await db.end();
});

describe("ctx.propose → critic job → gate", () => {
  it("a supported claim from an authoritative source becomes a fact; the job is the fact's source", async () => {
    const ev = await evidence("PostgreSQL 15 added the MERGE command.", 0.9);
    const jobId = await submitJob(db, proposer.slug, { evidence: ev, content: "PostgreSQL 15 added the MERGE command.", key: "merge" });
    const d = await decided(jobId);
    expect(d.proposal).toMatchObject({ status: "approved", source_agent: proposer.slug, source_run_id: jobId, reviewer: "auto" });
    expect(d.proposal.critic).toMatchObject({ verdict: "approve", checks: "deterministic" });
    expect(d.fact).toMatchObject({ key: "merge", agent_slug: proposer.slug, job_id: jobId });
  });

  it("a claim with a changed number is rejected and writes no fact", async () => {
    const ev = await evidence("PostgreSQL 15 added the MERGE command.", 0.9);
    const jobId = await submitJob(db, proposer.slug, { evidence: ev, content: "PostgreSQL 14 added the MERGE command.", key: "merge-wrong" });
    const d = await decided(jobId);
    expect(d.proposal.status).not.toBe("approved");
    expect(d.fact).toBeNull();
    expect((d.proposal.critic as { issues: { type: string }[] }).issues.map((i) => i.type)).toContain("number_mismatch");
  });
});

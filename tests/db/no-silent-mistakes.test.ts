// No silent mistakes (issue 9): a policy scoped to an agent that is not registered is refused unless
// allowed on purpose (and then flagged); a job for an agent no live worker serves is accepted with a
// warning, in the answer and in job.received.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAgent, syncAgents } from "../../node/worker/agents/index.ts";
import { ActpError } from "../../shared/errors.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { enqueueJob } from "../../shared/jobs/submit.ts";
import { createPolicy, updatePolicy } from "../../shared/policy/statements.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(4);
const tag = randomBytes(3).toString("hex");
const agent = defineAgent({ slug: `nsm-${tag}`, input: z.object({}), handler: () => null });

afterAll(() => db.end());

describe("policies for unknown agents", () => {
  it("refuses agent:<slug> for an agent that is not registered, writing nothing", async () => {
    const err = await createPolicy(db, { scope: `agent:nobody-${tag}`, policy_type: "budget", config: { daily_usd: 5 } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ActpError);
    expect(err).toMatchObject({ code: "policy.unknown_agent", status: 400 });
    expect((err as ActpError).message).toContain(`nobody-${tag}`);
    const { rows } = await db.query(`select 1 from public.actp_policies where scope = $1`, [`agent:nobody-${tag}`]);
    expect(rows).toHaveLength(0);
  });

  it("accepts it with allow_unknown, flagged, and refuses moving a policy onto an unknown agent", async () => {
    const p = await createPolicy(db, { scope: `agent:later-${tag}`, policy_type: "budget", config: { daily_usd: 5 }, allow_unknown: true });
    expect(p).toMatchObject({ scope: `agent:later-${tag}`, allow_unknown: true });

    await syncAgents(db, [agent]);
    const known = await createPolicy(db, { scope: `agent:${agent.slug}`, policy_type: "budget", config: { daily_usd: 5 } });
    expect(known.allow_unknown).toBe(false);
    await expect(updatePolicy(db, known.id, { scope: `agent:typo-${tag}` })).rejects.toMatchObject({ code: "policy.unknown_agent" });
  });
});

describe("submit against a cached agent", () => {
  it("validates against the agent's current version: a change since the last submit is read again, nothing written on the way", async () => {
    const v1 = defineAgent({ slug: `nsm-ver-${tag}`, input: z.object({ a: z.int() }), handler: () => null });
    await syncAgents(db, [v1]);
    const first = await enqueueJob(db, v1.slug, { a: 1 });
    const v2 = defineAgent({ slug: v1.slug, input: z.object({ a: z.int(), b: z.string() }), handler: () => null });
    await syncAgents(db, [v2]);
    // Same handle, within the cache's lifetime: the database says the agent changed, the submitter reads it again.
    await expect(enqueueJob(db, v1.slug, { a: 2 })).rejects.toMatchObject({ code: "jobs.invalid_input" });
    const ok = await enqueueJob(db, v1.slug, { a: 3, b: "x" });
    const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from public.actp_jobs where agent_slug = $1`, [v1.slug]);
    expect(rows[0]!.n).toBe(2);
    for (const id of [first.id, ok.id]) await plans.cancel(db, id, "test", null);
  });
});

describe("jobs no live worker serves", () => {
  it("answers with a warning and says so in job.received; a live worker's agent gets none", async () => {
    await syncAgents(db, [agent]);
    const lonely = await enqueueJob(db, agent.slug, {});
    expect(lonely).toMatchObject({ status: "queued", warning: expect.stringContaining(`no live worker serves agent "${agent.slug}"`) });
    const { rows } = await db.query<{ payload: Record<string, unknown> }>(
      `select payload from public.actp_events where job_id = $1 and type = 'job.received'`,
      [lonely.id],
    );
    expect(rows[0]!.payload.warning).toBe(lonely.warning);

    const worker = `nsm-worker-${tag}`;
    await plans.registerWorker(db, { workerId: worker, host: "here", pid: 1, agents: [agent.slug], rssBytes: 1, heartbeatMs: 5000 });
    const served = await enqueueJob(db, agent.slug, {});
    expect(served.warning).toBeUndefined();

    // A worker that stopped heart-beating serves nothing.
    await db.query(`update public.actp_worker_registrations set last_heartbeat_at = now() - interval '20 seconds' where worker_id = $1`, [worker]);
    expect((await enqueueJob(db, agent.slug, {})).warning).toBeDefined();
    await db.query(`update public.actp_worker_registrations set status = 'dead' where worker_id = $1`, [worker]);
    for (const id of [lonely.id, served.id]) await plans.cancel(db, id, "test", null);
  });
});

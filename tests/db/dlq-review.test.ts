// DLQ entry (trigger) and human review (SQL functions) on the embedded database.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { EVENT_TYPES } from "../../shared/events/registry.ts";
import { ActpError, fromPgError } from "../../shared/errors.ts";
import { discardDlq, fixDlq, getDlqItem, listDlq, replayDlq, replayDlqBulk } from "../../shared/dlq/queries.ts";
import { asRoleRolledBack, claimsFor, testDatabase } from "../support/db.ts";
import { createAgent, deadJob, ensurePgBoss, insertJob, markDead, uniqueSlug } from "../support/dlq-scenarios.ts";

const db = testDatabase();
const svc = <T>(fn: Parameters<typeof db.asRole>[1]) => db.asRole({ role: "service_role" }, fn) as Promise<T>;
let agent: string;

beforeAll(async () => {
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(db, uniqueSlug("dlq"), {
    type: "object",
    properties: { topic: { type: "string", minLength: 3 } },
    required: ["topic"],
    additionalProperties: false,
  });
});
afterAll(() => db.end());

async function codeOf(p: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err instanceof ActpError ? err : fromPgError(err);
    if (!e) throw err;
    return { code: e.code, status: e.status, message: e.message };
  }
  throw new Error("expected a failure");
}

const eventsOf = async (jobId: string, type: string) =>
  (await db.query<{ payload: Record<string, unknown>; agent_slug: string }>(
    `select payload, agent_slug from public.actp_events where job_id = $1 and type = $2 order by seq`,
    [jobId, type],
  )).rows;

describe("DLQ entry", () => {
  it("a job becoming dead inserts the DLQ row and emits dlq.enqueued, once", async () => {
    const input = { topic: "vector databases", depth: 2 };
    const jobId = await insertJob(db, { agent, input, attempts: 3, jobType: "research_synthesis" });
    await markDead(db, jobId, { message: "upstream returned 503", where: "fetch", name: "HttpError" });
    // A second transition to dead (a duplicate settle) must not create a second entry.
    await db.query(`update public.actp_jobs set status = 'dead' where id = $1`, [jobId]);

    const { rows } = await db.query(`select * from public.actp_dlq where original_job_id = $1`, [jobId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      job_type: "research_synthesis",
      input_data: input,
      failure_reason: "HttpError: upstream returned 503 (thrown at fetch)",
      retry_count: 2,
      resolution: null,
      error: { message: "upstream returned 503", where: "fetch", name: "HttpError" },
    });
    const events = await eventsOf(jobId, "dlq.enqueued");
    expect(events).toHaveLength(1);
    expect(events[0]!.agent_slug).toBe(agent);
    const payload = EVENT_TYPES["dlq.enqueued"].payload.parse(events[0]!.payload);
    expect(payload).toMatchObject({ dlq_id: rows[0]!.id, retry_count: 2, attempts: 3, where: "fetch" });
  });

  it("without an error on the job, the last failed step says what and where", async () => {
    const jobId = await insertJob(db, { agent, attempts: 1 });
    await db.query(
      `insert into public.actp_job_steps (job_id, ordinal, name, status, error, finished_at) values ($1, 0, 'parse', 'failed', $2, now())`,
      [jobId, JSON.stringify({ message: "unexpected token" })],
    );
    await markDead(db, jobId, null, 1);
    const { rows } = await db.query<{ failure_reason: string; retry_count: number }>(
      `select failure_reason, retry_count from public.actp_dlq where original_job_id = $1`,
      [jobId],
    );
    expect(rows[0]).toEqual({ failure_reason: 'unexpected token (step "parse")', retry_count: 0 });
  });

  it("other status changes do not enqueue", async () => {
    const jobId = await insertJob(db, { agent });
    await db.query(`update public.actp_jobs set status = 'failed' where id = $1`, [jobId]);
    expect((await db.query(`select 1 from public.actp_dlq where original_job_id = $1`, [jobId])).rows).toHaveLength(0);
  });

  it("the dead-lettered record cannot be rewritten", async () => {
    const { dlqId } = await deadJob(db, agent);
    const e = await codeOf(db.query(`update public.actp_dlq set input_data = '{}' where id = $1`, [dlqId]));
    expect(e.code).toBe("dlq.immutable");
  });
});

describe("replay", () => {
  it("re-enqueues one linked job however often it is called", async () => {
    const { jobId, dlqId } = await deadJob(db, agent, { topic: "graph rag" });
    const first = await svc<Awaited<ReturnType<typeof replayDlq>>>((tx) => replayDlq(tx, dlqId, "ana", "upstream is back"));
    // Who acted is the session's identity (the service role here); "ana" is the label the caller gave.
    expect(first).toMatchObject({ dlq_id: dlqId, original_job_id: jobId, resolution: "replayed", reviewed_by: "service_role", reviewer_label: "ana", already_resolved: false });
    const second = await svc<Awaited<ReturnType<typeof replayDlq>>>((tx) => replayDlq(tx, dlqId, "bob"));
    expect(second.replay_job_id).toBe(first.replay_job_id);
    expect(second).toMatchObject({ already_resolved: true, reviewed_by: "service_role", reviewer_label: "ana" });

    const jobs = await db.query<{ id: string; input: unknown; status: string }>(
      `select id, input, status from public.actp_jobs where replay_of = $1`,
      [jobId],
    );
    expect(jobs.rows).toEqual([{ id: first.replay_job_id, input: { topic: "graph rag" }, status: "queued" }]);
    const boss = await db.query(`select 1 from pgboss.job where id = $1`, [first.replay_job_id]);
    expect(boss.rows).toHaveLength(1);

    const replayed = await eventsOf(jobId, "job.replayed");
    expect(replayed).toHaveLength(1);
    expect(EVENT_TYPES["job.replayed"].payload.parse(replayed[0]!.payload)).toMatchObject({ new_job_id: first.replay_job_id, requested_by: "service_role", label: "ana" });
    const reviewed = await eventsOf(jobId, "dlq.reviewed");
    expect(reviewed).toHaveLength(1);
    expect(EVENT_TYPES["dlq.reviewed"].payload.parse(reviewed[0]!.payload)).toMatchObject({
      action: "replayed",
      reviewed_by: "service_role",
      reviewer_label: "ana",
      note: "upstream is back",
      new_job_id: first.replay_job_id,
    });
    const row = (await db.query(`select reviewed_by, reviewer_label, reviewed_at, resolution from public.actp_dlq where id = $1`, [dlqId])).rows[0]!;
    expect(row).toMatchObject({ reviewed_by: "service_role", reviewer_label: "ana" });
    expect(row.reviewed_at).toBeInstanceOf(Date);
  });

  it("404 for an unknown item; a label is optional, a blank one is none, an overlong one is 400", async () => {
    expect(await codeOf(svc((tx) => replayDlq(tx, randomUUID(), "ana")))).toMatchObject({ code: "dlq.not_found", status: 404 });
    const { dlqId } = await deadJob(db, agent);
    expect(await codeOf(svc((tx) => replayDlq(tx, dlqId, "x".repeat(201))))).toMatchObject({ code: "dlq.invalid_reviewer", status: 400 });
    expect(await svc((tx) => replayDlq(tx, dlqId, "  "))).toMatchObject({ reviewed_by: "service_role", reviewer_label: null });
  });

  it("records the operator from the token, whatever reviewer the body names", async () => {
    const { jobId, dlqId } = await deadJob(db, agent);
    const sub = randomUUID();
    const asOperator = await db.transaction(async (tx) => {
      // What the operator routes do (functions/_shared/act.ts): service role privileges, the caller's claims.
      await tx.query(`select set_config('role', 'service_role', true), set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ role: "authenticated", sub, email: "ana@example.com", app_metadata: { actp_role: "operator" } }),
      ]);
      return replayDlq(tx, dlqId, "the CEO", "label says CEO");
    });
    expect(asOperator).toMatchObject({ reviewed_by: `operator:${sub} <ana@example.com>`, reviewer_label: "the CEO" });
    const reviewed = await eventsOf(jobId, "dlq.reviewed");
    expect(reviewed[0]!.payload).toMatchObject({ reviewed_by: `operator:${sub} <ana@example.com>`, reviewer_label: "the CEO" });
    // A viewer's claims cannot act, even with the service role's privileges.
    const other = await deadJob(db, agent);
    const viewer = await codeOf(
      db.transaction(async (tx) => {
        await tx.query(`select set_config('role', 'service_role', true), set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ role: "authenticated", sub, app_metadata: { actp_role: "viewer" } }),
        ]);
        return discardDlq(tx, other.dlqId, "me");
      }),
    );
    expect(viewer).toMatchObject({ code: "auth.forbidden", status: 403 });
  });

  it("a disabled agent refuses the replay and nothing is written", async () => {
    const off = await createAgent(db, uniqueSlug("dlq-off"));
    const { jobId, dlqId } = await deadJob(db, off);
    await db.query(`update public.actp_agent_definitions set enabled = false where slug = $1`, [off]);
    expect((await codeOf(svc((tx) => replayDlq(tx, dlqId, "ana")))).code).toBe("jobs.agent_disabled");
    const row = (await db.query(`select resolution from public.actp_dlq where id = $1`, [dlqId])).rows[0]!;
    expect(row.resolution).toBeNull();
    expect(await eventsOf(jobId, "dlq.reviewed")).toHaveLength(0);
  });
});

describe("discard", () => {
  it("is idempotent, and then refuses a replay", async () => {
    const { jobId, dlqId } = await deadJob(db, agent);
    expect(await codeOf(svc((tx) => discardDlq(tx, dlqId, "ana", " ")))).toMatchObject({ code: "dlq.invalid_note", status: 400 });
    expect((await db.query(`select resolution from public.actp_dlq where id = $1`, [dlqId])).rows[0]!.resolution).toBeNull();

    const r = await svc<Awaited<ReturnType<typeof discardDlq>>>((tx) => discardDlq(tx, dlqId, "ana", "bad input, user notified"));
    expect(r).toMatchObject({ resolution: "discarded", reviewed_by: "service_role", reviewer_label: "ana", replay_job_id: null, already_resolved: false });
    const again = await svc<Awaited<ReturnType<typeof discardDlq>>>((tx) => discardDlq(tx, dlqId, "bob"));
    expect(again).toMatchObject({ already_resolved: true, reviewed_by: "service_role", reviewer_label: "ana" });
    expect(await codeOf(svc((tx) => replayDlq(tx, dlqId, "bob")))).toMatchObject({ code: "dlq.conflict", status: 409 });
    expect(await eventsOf(jobId, "dlq.reviewed")).toHaveLength(1);
    expect(await eventsOf(jobId, "job.replayed")).toHaveLength(0);
  });
});

describe("manual fix", () => {
  it("validates the input against the agent's schema, then replays with it", async () => {
    const { jobId, dlqId } = await deadJob(db, agent, { topic: "x" });
    const bad = await codeOf(svc((tx) => fixDlq(tx, dlqId, "ana", { topic: 42 })));
    expect(bad).toMatchObject({ code: "dlq.invalid_input", status: 400 });
    expect((await db.query(`select 1 from public.actp_jobs where replay_of = $1`, [jobId])).rows).toHaveLength(0);

    const r = await svc<Awaited<ReturnType<typeof fixDlq>>>((tx) => fixDlq(tx, dlqId, "ana", { topic: "xylophones" }, "topic was truncated"));
    expect(r).toMatchObject({ resolution: "manual_fix", already_resolved: false });
    const job = (await db.query(`select input, replay_of from public.actp_jobs where id = $1`, [r.replay_job_id])).rows[0]!;
    expect(job).toEqual({ input: { topic: "xylophones" }, replay_of: jobId });
    const row = (await db.query(`select input_data, fixed_input from public.actp_dlq where id = $1`, [dlqId])).rows[0]!;
    expect(row).toEqual({ input_data: { topic: "x" }, fixed_input: { topic: "xylophones" } });

    // The same fix again is the same result; a different one is a conflict; a plain replay is a no-op.
    const same = await svc<Awaited<ReturnType<typeof fixDlq>>>((tx) => fixDlq(tx, dlqId, "ana", { topic: "xylophones" }));
    expect(same).toMatchObject({ already_resolved: true, replay_job_id: r.replay_job_id });
    expect((await codeOf(svc((tx) => fixDlq(tx, dlqId, "ana", { topic: "other" })))).code).toBe("dlq.conflict");
    const replay = await svc<Awaited<ReturnType<typeof replayDlq>>>((tx) => replayDlq(tx, dlqId, "bob"));
    expect(replay.replay_job_id).toBe(r.replay_job_id);
  });
});

describe("bulk replay", () => {
  it("replays pending items matching the filter, with a result per item", async () => {
    const jobType = uniqueSlug("bulk_type");
    const off = await createAgent(db, uniqueSlug("dlq-boff"));
    const a = await deadJob(db, agent, { topic: "one" }, jobType);
    const b = await deadJob(db, agent, { topic: "two" }, jobType);
    const c = await deadJob(db, off, {}, jobType);
    const other = await deadJob(db, agent, { topic: "not this type" });
    await db.query(`update public.actp_agent_definitions set enabled = false where slug = $1`, [off]);

    const res = await svc<Awaited<ReturnType<typeof replayDlqBulk>>>((tx) =>
      replayDlqBulk(tx, { filter: { job_type: jobType, limit: 10 }, reviewer: "ana" }),
    );
    expect(res).toMatchObject({ matched: 3, replayed: 2, failed: 1 });
    expect(res.items.map((i) => i.dlq_id)).toEqual([a.dlqId, b.dlqId, c.dlqId]);
    const failed = res.items.find((i) => !i.ok);
    expect(failed).toMatchObject({ dlq_id: c.dlqId, error: { code: "jobs.agent_disabled" } });
    const pending = await db.query<{ id: string }>(`select id from public.actp_dlq where resolution is null and id = any($1)`, [
      [a.dlqId, b.dlqId, c.dlqId, other.dlqId],
    ]);
    expect(pending.rows.map((r) => r.id).sort()).toEqual([c.dlqId, other.dlqId].sort());

    // Nothing pending matches any more except the item that cannot be replayed.
    const again = await svc<Awaited<ReturnType<typeof replayDlqBulk>>>((tx) =>
      replayDlqBulk(tx, { filter: { job_type: jobType }, reviewer: "ana" }),
    );
    expect(again).toMatchObject({ matched: 1, replayed: 0, failed: 1 });
  });

  it("rejects a bad filter", async () => {
    const e = await codeOf(svc((tx) => replayDlqBulk(tx, { filter: { limit: 0 }, reviewer: "ana" })));
    expect(e).toMatchObject({ code: "dlq.invalid_filter", status: 400 });
    const sqlLevel = await codeOf(svc((tx) => tx.query(`select public.actp_dlq_replay_bulk('{"limit": 5000}', 'ana')`)));
    expect(sqlLevel.code).toBe("dlq.invalid_filter");
  });
});

describe("reads", () => {
  it("lists pending items by type and time with keyset pagination, and shows one with its errors and timeline", async () => {
    const jobType = uniqueSlug("list_type");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await deadJob(db, agent, { topic: `t${i}` }, jobType)).dlqId);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await db.asRole(claimsFor("viewer"), (tx) => listDlq(tx, { job_type: jobType, limit: 2, after }));
      seen.push(...page.items.map((i) => i.id));
      expect(page.pending.by_job_type[jobType]).toBe(5);
      after = page.next_cursor ?? undefined;
      pages++;
    } while (after);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);

    const future = await listDlq(db, { job_type: jobType, from: new Date(Date.now() + 3600_000).toISOString() });
    expect(future.items).toHaveLength(0);
    const resolved = await listDlq(db, { job_type: jobType, status: "resolved" });
    expect(resolved.items).toHaveLength(0);

    const item = await db.asRole(claimsFor("viewer"), (tx) => getDlqItem(tx, ids[0]!));
    expect(item).toMatchObject({ id: ids[0], input_data: { topic: "t0" }, agent_slug: agent, attempts: 3, retry_count: 2 });
    expect(item.errors.at(-1)).toMatchObject({ source: "job", message: "upstream returned 503", where: "fetch", name: "HttpError" });
    expect(item.timeline.job.id).toBe(item.original_job_id);
    expect(item.timeline.entries.some((e) => e.kind === "event" && e.type === "dlq.enqueued")).toBe(true);
    expect(await codeOf(getDlqItem(db, randomUUID()))).toMatchObject({ status: 404 });
    expect(await codeOf(listDlq(db, { after: "bm90IGEgY3Vyc29y" }))).toMatchObject({ code: "dlq.invalid_cursor", status: 400 });
  });
});

describe("RLS and grants", () => {
  it("anon reads nothing and may not act; a plain user sees no row; viewers and operators read but may not act in SQL", async () => {
    const { dlqId } = await deadJob(db, agent);
    const anonRead = await codeOf(asRoleRolledBack(db, "anon", (tx) => tx.query(`select * from public.actp_dlq`)));
    expect(anonRead.status).toBe(403);
    const anonAct = await codeOf(asRoleRolledBack(db, "anon", (tx) => replayDlq(tx, dlqId, "mallory")));
    expect(anonAct.status).toBe(403);
    const anonTimeline = await codeOf(asRoleRolledBack(db, "anon", (tx) => tx.query(`select public.actp_inspect_timeline($1)`, [randomUUID()])));
    expect(anonTimeline.status).toBe(403);

    const authRead = await asRoleRolledBack<{ rows: unknown[] }>(db, "viewer", (tx) => tx.query(`select id from public.actp_dlq where id = $1`, [dlqId]));
    expect(authRead.rows).toHaveLength(1);
    const userRead = await asRoleRolledBack<{ rows: unknown[] }>(db, "authenticated", (tx) => tx.query(`select id from public.actp_dlq where id = $1`, [dlqId]));
    expect(userRead.rows).toHaveLength(0);
    for (const sql of [
      `select public.actp_dlq_replay($1, 'mallory')`,
      `select public.actp_dlq_discard($1, 'mallory')`,
      `select public.actp_dlq_manual_fix($1, 'mallory', '{}')`,
    ]) {
      for (const who of ["authenticated", "operator"] as const) {
        const e = await codeOf(asRoleRolledBack(db, who, (tx) => tx.query(sql, [dlqId])));
        expect(e.status).toBe(403);
      }
    }
    const e = await codeOf(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`update public.actp_dlq set resolution = 'discarded', reviewed_by = 'x', reviewed_at = now() where id = $1`, [dlqId])));
    expect(e.status).toBe(403);
    expect((await db.query(`select resolution from public.actp_dlq where id = $1`, [dlqId])).rows[0]!.resolution).toBeNull();
  });
});

// SLA tracking (PRD §4.9) on the embedded database: the trigger on actp_events keeps one measurement
// per job, the sweep finds in-flight breaches once, error budgets burn the SRE way, silence where
// traffic is expected is missing data. Events are written at chosen times in the future, so each
// test's windows hold its own events only.
import { afterAll, describe, expect, it } from "vitest";
import { parseEventInput } from "../../shared/events/registry.ts";
import { slaJob, slaReport, sweep, upsertTarget } from "../../shared/sla/queries.ts";
import { testDatabase } from "../support/db.ts";
import { eventAt, jobLife, plus, rolledBack, uniq } from "../support/ops-fixtures.ts";

const db = testDatabase();
afterAll(() => db.end());

const T0 = new Date("2031-03-01T10:00:00Z");

async function target(jobType: string, o: Partial<{ ttfu: number; ttc: number; objective: number; minBad: number; perHour: number | null }> = {}) {
  await upsertTarget(db, jobType, {
    time_to_first_update_ms: o.ttfu ?? 5000,
    time_to_completion_ms: o.ttc ?? 30000,
    success_objective: o.objective ?? 0.99,
    objective_window_days: 30,
    min_bad_jobs: o.minBad ?? 5,
    expected_jobs_per_hour: o.perHour ?? null,
  }, "test");
}

async function budget(jobType: string, now: Date) {
  const { rows } = await db.query<Record<string, unknown>>(`select * from public.actp_sla_budget_status($1) where job_type = $2`, [now.toISOString(), jobType]);
  return rows[0]!;
}

describe("measurements from events", () => {
  it("first progress, dispatch, completion and tool rounds; retries do not close the row", async () => {
    const jt = uniq("sla_m");
    await target(jt);
    const id = await jobLife(db, T0, jt, [
      [100, "job.dispatched", { queue: "q", attempt: 1 }],
      [1200, "job.progress", { message: "a" }],
      [1300, "tool.call_started", {}],
      [1400, "job.progress", { message: "b" }],
      [2000, "job.failed", { will_retry: true, attempt: 1, error: { message: "x" } }],
      [2500, "tool.call_started", {}],
      [4000, "job.completed", { duration_ms: 4000, attempt: 2 }],
    ]);
    const m = await slaJob(db, id);
    expect(m).toMatchObject({
      job_type: jt,
      outcome: "succeeded",
      time_to_dispatch_ms: 100,
      time_to_first_update_ms: 1200,
      time_to_completion_ms: 4000,
      tool_rounds: 2,
      sla_breached: false,
      bad: false,
      breaches: [],
    });
  });

  it("a final failure closes the row as bad; a slow completion breaches once with one sla.breach", async () => {
    const jt = uniq("sla_b");
    await target(jt, { ttc: 3000 });
    const failed = await jobLife(db, T0, jt, [[500, "job.progress", { message: "a" }], [900, "job.failed", { will_retry: false, attempt: 3, error: { message: "x" } }]]);
    expect(await slaJob(db, failed)).toMatchObject({ outcome: "failed", bad: true, sla_breached: false });
    const slow = await jobLife(db, T0, jt, [[8000, "job.completed", { duration_ms: 8000, attempt: 1 }]]);
    const m = await slaJob(db, slow);
    // No progress at all: the completion is the first update, so both targets are breached.
    expect(m).toMatchObject({ outcome: "succeeded", sla_breached: true, bad: true, time_to_first_update_ms: 8000 });
    expect((m.breaches as unknown[]).length).toBe(2);
    const { rows } = await db.query<{ type: string; payload: Record<string, unknown> }>(
      `select type, payload from actp_events where job_id = $1 and type = 'sla.breach' order by seq`,
      [slow],
    );
    expect(rows.map((r) => r.payload.metric).sort()).toEqual(["time_to_completion_ms", "time_to_first_update_ms"]);
    for (const r of rows) expect(parseEventInput({ type: r.type, job_id: slow, payload: r.payload }).success).toBe(true);
  });

  it("a job still running past its target breaches when the target passes, once, found by the sweep", async () => {
    const jt = uniq("sla_f");
    await target(jt, { ttfu: 5000, ttc: 60000 });
    const id = await jobLife(db, T0, jt, [[1000, "job.dispatched", { queue: "q" }]]);
    expect(await sweep(db, plus(T0, 4000))).toBeGreaterThanOrEqual(0);
    expect((await slaJob(db, id)).breaches).toEqual([]);
    await sweep(db, plus(T0, 6000));
    await sweep(db, plus(T0, 7000));
    let m = await slaJob(db, id);
    expect(m.breaches).toEqual([expect.objectContaining({ metric: "time_to_first_update_ms", in_flight: true, target_ms: 5000, actual_ms: 6000 })]);
    expect(m).toMatchObject({ outcome: "running", sla_breached: true, bad: true });
    // The job finally ends: the breach already found is not reported again.
    await eventAt(db, plus(T0, 70000), "job.completed", id, { duration_ms: 70000, attempt: 1 });
    m = await slaJob(db, id);
    expect((m.breaches as Array<{ metric: string; in_flight: boolean }>).map((b) => [b.metric, b.in_flight])).toEqual([
      ["time_to_first_update_ms", true],
      ["time_to_completion_ms", false],
    ]);
    const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from actp_events where job_id = $1 and type = 'sla.breach'`, [id]);
    expect(rows[0]!.n).toBe(2);
  });
});

describe("error budgets", () => {
  it("burn rate = bad ratio / (1 - objective) per window; a page needs both windows and the minimum of bad jobs", async () => {
    const jt = uniq("sla_burn");
    await target(jt, { objective: 0.99, minBad: 5 });
    const now = new Date("2031-04-01T12:00:00Z");
    // 4 bad of 10 in the last 3 minutes: burn 40x in both 5 m and 1 h, but only 4 bad jobs: no page.
    for (let i = 0; i < 10; i++) {
      const at = plus(now, -180_000 + i * 1000);
      await jobLife(db, at, jt, [[500, i < 4 ? "job.failed" : "job.completed", i < 4 ? { will_retry: false, attempt: 1, error: { message: "x" } } : { duration_ms: 500, attempt: 1 }]]);
    }
    let b = await budget(jt, now);
    expect(Number(b.burn_5m)).toBeCloseTo(40, 3);
    expect(Number(b.burn_1h)).toBeCloseTo(40, 3);
    expect(b.page).toBe(false);
    // One more bad job reaches the minimum: page.
    await jobLife(db, plus(now, -60_000), jt, [[500, "job.failed", { will_retry: false, attempt: 1, error: { message: "x" } }]]);
    b = await budget(jt, now);
    expect(b).toMatchObject({ page: true, status: "page" });
    // An hour later the short window is quiet: the page stops even though the 6 h window still burns.
    const later = plus(now, 45 * 60_000);
    for (let i = 0; i < 20; i++) await jobLife(db, plus(later, -120_000 + i * 1000), jt, [[200, "job.completed", { duration_ms: 200, attempt: 1 }]]);
    b = await budget(jt, later);
    expect(Number(b.burn_5m)).toBe(0);
    expect(b.page).toBe(false);
    expect(Number(b.budget_remaining)).toBeLessThan(0);
  });

  it("remaining budget and projected exhaustion are queryable", async () => {
    const jt = uniq("sla_rem");
    await target(jt, { objective: 0.9, minBad: 1 });
    const now = new Date("2031-05-01T12:00:00Z");
    // 1 bad of 40 over the last 2 hours: 25% of a 10% budget spent.
    for (let i = 0; i < 40; i++) {
      await jobLife(db, plus(now, -7_000_000 + i * 100_000), jt, [[100, i === 0 ? "job.failed" : "job.completed", i === 0 ? { will_retry: false, attempt: 1, error: { message: "x" } } : { duration_ms: 100, attempt: 1 }]]);
    }
    const b = await budget(jt, now);
    expect(Number(b.budget_remaining)).toBeCloseTo(0.75, 3);
    expect(b.exhaustion_at).not.toBeNull();
    expect(new Date(b.exhaustion_at as string).getTime()).toBeGreaterThan(now.getTime());
  });

  it("3-day and objective windows read hourly rollups made by the sweep, exact to the hour", async () => {
    const jt = uniq("sla_roll");
    await target(jt, { objective: 0.99, minBad: 1 });
    const now = new Date("2031-08-10T12:30:00Z");
    // 2 days ago: 10 jobs, 2 bad; 1 hour ago: 10 good jobs.
    for (let i = 0; i < 10; i++) {
      await jobLife(db, plus(now, -2 * 86_400_000 + i * 1000), jt, [[100, i < 2 ? "job.failed" : "job.completed", i < 2 ? { will_retry: false, attempt: 1, error: { message: "x" } } : { duration_ms: 100, attempt: 1 }]]);
      await jobLife(db, plus(now, -3600_000 + i * 1000), jt, [[100, "job.completed", { duration_ms: 100, attempt: 1 }]]);
    }
    let b = await budget(jt, now);
    expect(Number(b.total_3d)).toBe(10); // the old hour is not rolled up yet
    await sweep(db, now);
    b = await budget(jt, now);
    expect(b).toMatchObject({ total_3d: "20", bad_3d: "2", total_budget_window: "20", bad_budget_window: "2" });
    expect(Number(b.burn_3d)).toBeCloseTo(10, 3);
    expect(Number(b.budget_remaining)).toBeCloseTo(-9, 3);
    // Rolling up twice changes nothing.
    await sweep(db, now);
    expect(await budget(jt, now)).toMatchObject({ total_3d: "20", bad_3d: "2" });
  });

  it("no jobs where traffic is expected is missing data, not health", async () => {
    const jt = uniq("sla_quiet");
    await target(jt, { perHour: 30 });
    const now = new Date("2031-06-01T12:00:00Z");
    await jobLife(db, plus(now, -3 * 3600_000), jt, [[100, "job.completed", { duration_ms: 100, attempt: 1 }]]);
    expect(await budget(jt, now)).toMatchObject({ missing_data: true, status: "missing_data" });
    const jt2 = uniq("sla_rare");
    await target(jt2, { perHour: null });
    await jobLife(db, plus(now, -3 * 3600_000), jt2, [[100, "job.completed", { duration_ms: 100, attempt: 1 }]]);
    expect(await budget(jt2, now)).toMatchObject({ missing_data: false, status: "ok" });
  });
});

describe("the report", () => {
  it("percentiles, success ratio, breaches and the budget per job type", async () => {
    const jt = uniq("sla_rep");
    await target(jt, { ttc: 5000 });
    const now = new Date("2031-07-01T12:00:00Z");
    for (let i = 1; i <= 100; i++) {
      await jobLife(db, plus(now, -3600_000 + i * 10_000), jt, [
        [i * 10, "job.progress", { message: "p" }],
        [i * 100, i % 10 === 0 ? "job.failed" : "job.completed", i % 10 === 0 ? { will_retry: false, attempt: 1, error: { message: "x" } } : { duration_ms: i * 100, attempt: 1 }],
      ]);
    }
    const report = await rolledBack(db, (tx) => slaReport(tx, 2 * 3600, now));
    const row = report.job_types.find((r) => r.job_type === jt)!;
    expect(row).toMatchObject({ jobs: 100, succeeded: 90, failed: 10, success_ratio: 0.9 });
    expect(row.time_to_first_update_ms.p50).toBeCloseTo(505, -1);
    expect(row.time_to_first_update_ms.p99).toBeGreaterThan(980);
    expect(row.breaches.time_to_completion_ms).toBe(45); // completions at 5100..9900 ms, not multiples of 10
    expect(row.budget?.status).toBeDefined();
  });
});

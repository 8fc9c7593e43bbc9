// The local executor of actp_schedules on the embedded database, with a clock the test drives.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalScheduler } from "../../node/scheduler/local-runner.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
const tag = randomBytes(3).toString("hex");
const hits = `sched_hits_${tag}`;
// The first whole minute after the schedule under test was created; set by schedule().
let base: Date;

beforeAll(async () => {
  await db.query(`create table public.${hits} (name text not null, at timestamptz not null default now())`);
});
afterAll(async () => {
  await db.query(`delete from public.actp_schedules where name like $1`, [`test:${tag}:%`]);
  await db.query(`drop table if exists public.${hits}`);
  await db.end();
});

async function schedule(name: string, cron: string, command?: string, critical = false) {
  const full = `test:${tag}:${name}`;
  const { rows } = await db.query<{ updated_at: Date }>(
    `insert into public.actp_schedules (name, cron_expr, command, critical) values ($1, $2, $3, $4) returning updated_at`,
    [full, cron, command ?? `insert into public.${hits} (name) values ('${full}')`, critical],
  );
  base = new Date(Math.floor(rows[0]!.updated_at.getTime() / 60_000) * 60_000 + 60_000);
  return full;
}

const at = (minutes: number, seconds = 5) => new Date(base.getTime() + minutes * 60_000 + seconds * 1000);
const runner = (clock: { now: Date }) => new LocalScheduler(db, { now: () => clock.now });

async function events(type: string, schedule: string) {
  const { rows } = await db.query<{ payload: Record<string, unknown> }>(
    `select payload from public.actp_events where type = $1 and payload->>'schedule' = $2 order by seq`,
    [type, schedule],
  );
  return rows.map((r) => r.payload);
}

describe("local scheduler", () => {
  it("fires a due schedule exactly once, even with two runners racing for the slot", async () => {
    const name = await schedule("every-minute", "* * * * *");
    const clock = { now: at(0) };
    const a = runner(clock);
    const b = runner(clock);
    await a.start();
    await b.start();
    try {
      const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
      const fired = [...ra.fired, ...rb.fired].filter((n) => n === name);
      expect(fired).toHaveLength(1);
      await Promise.all([a.drain(), b.drain()]);
      // Same minute again: nothing new.
      expect((await a.tick()).fired).not.toContain(name);
      const { rows } = await db.query(`select 1 from public.${hits} where name = $1`, [name]);
      expect(rows).toHaveLength(1);
      const fires = await events("schedule.fired", name);
      expect(fires).toEqual([{ schedule: name, scheduled_for: base.toISOString(), executor: "local", lag_ms: 5000 }]);
      const run = await db.query<{ status: string }>(`select status from public.actp_schedule_runs where schedule_name = $1`, [name]);
      expect(run.rows.map((r) => r.status)).toEqual(["succeeded"]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("follows cron fields: a */15 schedule is not due at minute 1", async () => {
    const name = await schedule("quarter", "*/15 * * * *");
    const clock = { now: at(0) };
    const r = runner(clock);
    await r.start();
    try {
      const first = await r.tick();
      const minute = base.getUTCMinutes();
      expect(first.fired.includes(name)).toBe(minute % 15 === 0);
    } finally {
      await r.stop();
    }
  });

  it("reports missed slots like pg_cron (not caught up), coalesced, then fires the current one", async () => {
    const name = await schedule("missed", "* * * * *");
    const clock = { now: at(0) };
    const r = runner(clock);
    await r.start();
    try {
      await r.tick();
      await r.drain();
      clock.now = at(5); // down for minutes 1..4
      const report = await r.tick();
      await r.drain();
      expect(report.fired).toContain(name);
      const missed = await events("schedule.missed", name);
      expect(missed.map((p) => p.scheduled_for)).toEqual([1, 2, 3, 4].map((m) => at(m, 0).toISOString()));
      const coalesced = await events("schedule.coalesced", name);
      expect(coalesced).toHaveLength(1);
      expect(coalesced[0]).toMatchObject({ missed_count: 4, first_missed_for: at(1, 0).toISOString(), last_missed_for: at(4, 0).toISOString() });
      const { rows } = await db.query(`select 1 from public.${hits} where name = $1`, [name]);
      expect(rows).toHaveLength(2); // minute 0 and minute 5, never the missed ones
    } finally {
      await r.stop();
    }
  });

  it("skips a slot while the previous run is still active on a live runner", async () => {
    const name = await schedule("overlap", "* * * * *");
    const other = `local:elsewhere:${tag}`;
    const clock = { now: at(0) };
    await db.query(`insert into public.actp_scheduler_executors (executor_id, kind, last_tick_at) values ($1, 'local', $2)`, [other, at(0).toISOString()]);
    await db.query(
      `insert into public.actp_schedule_runs (schedule_name, scheduled_for, executor, runner_id, status) values ($1, $2, 'local', $3, 'running')`,
      [name, at(-1, 0).toISOString(), other],
    );
    const r = runner(clock);
    await r.start();
    try {
      const report = await r.tick();
      expect(report.skipped).toContain(name);
      expect(await events("schedule.skipped", name)).toEqual([
        { schedule: name, scheduled_for: base.toISOString(), reason: "previous_run_active", executor: "local" },
      ]);
    } finally {
      await r.stop();
      await db.query(`delete from public.actp_scheduler_executors where executor_id = $1`, [other]);
    }
  });

  it("records a failing command as failed with its error", async () => {
    const name = await schedule("failing", "* * * * *", "select 1/0");
    const clock = { now: at(0) };
    const r = runner(clock);
    await r.start();
    try {
      await r.tick();
      await r.drain();
      const { rows } = await db.query<{ status: string; error: string }>(
        `select status, error from public.actp_schedule_runs where schedule_name = $1`,
        [name],
      );
      expect(rows).toEqual([{ status: "failed", error: expect.stringMatching(/division by zero/) }]);
    } finally {
      await r.stop();
    }
  });

  it("ignores disabled schedules", async () => {
    const name = await schedule("disabled", "* * * * *");
    await db.query(`update public.actp_schedules set enabled = false where name = $1`, [name]);
    const clock = { now: at(0) };
    const r = runner(clock);
    await r.start();
    try {
      expect((await r.tick()).fired).not.toContain(name);
    } finally {
      await r.stop();
    }
  });
});

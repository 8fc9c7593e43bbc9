// Incident mode on PostgreSQL 15: concurrent detector passes (and a pass racing an operator) never
// transition twice, because every pass locks the mode row first; and in incident mode pg_cron's
// non-critical schedules are inactive in cron.job, active again after.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../node/db/migrate.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import { freshPgDatabase, PG_URL, type FreshDatabase } from "../support/pg.ts";

const PASSES = 8;
const ROUNDS = 10;
const T = new Date("2033-01-01T00:00:00Z");

describe("concurrent detector passes", () => {
  let fresh: FreshDatabase;
  let clients: pg.Client[];

  beforeAll(async () => {
    fresh = await freshPgDatabase("incidents");
    clients = await Promise.all(
      Array.from({ length: PASSES }, async () => {
        const c = new pg.Client({ connectionString: fresh.url });
        await c.connect();
        return c;
      }),
    );
    await fresh.db.query(`update public.actp_incident_detectors set enabled = (name = 'error_rate'), params = params || '{"window_minutes": 1}'::jsonb`);
    // A firing error rate at T: 15 of 20 attempts failed.
    await fresh.db.query(
      `insert into public.actp_events (type, job_id, payload, created_at)
       select case when i <= 15 then 'job.failed' else 'job.completed' end, gen_random_uuid(),
              case when i <= 15 then '{"will_retry": true, "attempt": 1, "error": {"message": "x"}}'::jsonb else '{"duration_ms": 1, "attempt": 1}'::jsonb end,
              $1::timestamptz - interval '10 seconds'
         from generate_series(1, 20) i`,
      [T.toISOString()],
    );
  });
  afterAll(async () => {
    await Promise.all((clients ?? []).map((c) => c.end()));
    await fresh?.drop();
  });

  async function resetToNormal() {
    await fresh.db.query(`update public.actp_incident_log set resolved_at = declared_at, resolved_by = 'test' where resolved_at is null`);
    await fresh.db.query(`update public.actp_platform_state set mode = 'normal', incident_id = null, manual = false, calm_since = null`);
    await fresh.db.query(`update public.actp_incident_detector_state set firing = false, firing_since = null`);
  }

  it(`${PASSES} passes at once make exactly one transition (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await resetToNormal();
      const before = (await fresh.db.query<{ n: number }>(`select count(*)::int as n from public.actp_incident_transitions`)).rows[0]!.n;
      const results = await Promise.all(clients.map((c) => c.query<{ r: { mode: string; previous_mode: string } }>(`select public.actp_incident_tick($1) as r`, [T.toISOString()])));
      expect(results.every((x) => x.rows[0]!.r.mode === "degraded")).toBe(true);
      expect(results.filter((x) => x.rows[0]!.r.previous_mode === "normal")).toHaveLength(1);
      const after = (await fresh.db.query<{ n: number }>(`select count(*)::int as n from public.actp_incident_transitions`)).rows[0]!.n;
      expect(after - before).toBe(1);
      const open = await fresh.db.query(`select 1 from public.actp_incident_log where resolved_at is null`);
      expect(open.rowCount).toBe(1);
    }
  });

  it("a pass racing an operator's declaration: one incident, both transitions in order", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await resetToNormal();
      const [tick, declare] = await Promise.allSettled([
        clients[0]!.query(`select public.actp_incident_tick($1)`, [T.toISOString()]),
        clients[1]!.query(`select public.actp_incident_declare('incident', 'operator saw it', null, 'service_role:test')`),
      ]);
      expect(tick.status).toBe("fulfilled");
      expect(declare.status).toBe("fulfilled");
      const { rows } = await fresh.db.query<{ mode: string; manual: boolean }>(`select mode, manual from public.actp_platform_state`);
      expect(rows[0]).toEqual({ mode: "incident", manual: true });
      expect((await fresh.db.query(`select 1 from public.actp_incident_log where resolved_at is null`)).rowCount).toBe(1);
    }
  });
});

describe("pg_cron suspension in incident mode", () => {
  // pg_cron lives in one database per cluster (cron.database_name): the server's own.
  const db = createPgDatabase({ connectionString: PG_URL, max: 2 });
  beforeAll(async () => {
    await migrate(PG_URL);
  });
  afterAll(() => db.end());

  it("non-critical schedules are inactive while in incident and active again after; critical ones never stop", async () => {
    await db
      .transaction(async (tx) => {
        const active = async () =>
          Object.fromEntries(
            (
              await tx.query<{ jobname: string; active: boolean }>(
                `select j.jobname, j.active from cron.job j join public.actp_schedules s on s.name = j.jobname order by j.jobname`,
              )
            ).rows.map((r) => [r.jobname, r.active]),
          );
        const before = await active();
        expect(before["actp:incident:detect"]).toBe(true);
        expect(before["actp:scheduler:prune-runs"]).toBe(true);
        await tx.query(`update public.actp_platform_state set mode = 'normal', incident_id = null, manual = false`);
        await tx.query(`select public.actp_incident_declare('incident', 'pg_cron test', null, 'service_role:test')`);
        const during = await active();
        expect(during["actp:scheduler:prune-runs"]).toBe(false);
        expect(during["actp:telegram:prune"]).toBe(false);
        expect(during["actp:incident:detect"]).toBe(true);
        expect(during["actp:supervisor:tick"]).toBe(true);
        expect(during["actp:sla:sweep"]).toBe(true);
        // Were pg_cron to fire it anyway (a race with the update), the wrapper skips it, evented.
        await tx.query(`select public.actp_schedules_run('actp:scheduler:prune-runs')`);
        const skipped = await tx.query<{ payload: { reason: string } }>(
          `select payload from public.actp_events where type = 'schedule.skipped' and payload->>'schedule' = 'actp:scheduler:prune-runs' order by seq desc limit 1`,
        );
        expect(skipped.rows[0]!.payload.reason).toBe("incident_mode");
        // A re-sync during the incident (a schedule row changed) is suspended again by the next pass.
        await tx.query(`update public.actp_schedules set description = description || ' ' where name = 'actp:telegram:prune'`);
        await tx.query(`select public.actp_incident_tick()`);
        expect((await active())["actp:telegram:prune"]).toBe(false);
        await tx.query(`select public.actp_incident_resolve('over', 'service_role:test')`);
        const after = await active();
        expect(Object.values(after).every((a) => a === true)).toBe(true);
        throw new Error(`rollback ${randomUUID()}`);
      })
      .catch((err: Error) => {
        if (!err.message.startsWith("rollback")) throw err;
      });
  });
});

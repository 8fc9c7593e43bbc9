// Telemetry benchmark (issue 12): on PostgreSQL 15 (DATABASE_URL, a throwaway database), else on
// the embedded PGlite.
//   1. What the SLA trigger adds to an event insert: the same inserts with the trigger enabled and
//      disabled, interleaved in rounds in one run, for a realistic job's event mix and for the
//      lifecycle events alone (every one of them fires the trigger). Aim: under 20%.
//   2. One detector pass (actp_incident_tick) with 1,000,000 events in actp_events. Aim: < 200 ms.
//   3. The dashboard overview's API time with that data: GET /incidents and GET /sla/report through
//      the functions' Hono apps as a viewer, one after the other and both at once. Aim: < 300 ms.
// The machine is shared: the load average is printed before and after; read the figures with it.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { configureRuntime } from "../functions/_shared/runtime.ts";
import { app as incidentsApp } from "../functions/incidents/app.ts";
import { app as slaApp } from "../functions/sla/app.ts";
import { startEmbeddedDatabase } from "../node/db/embedded.ts";
import { migrate } from "../node/db/migrate.ts";
import { createThrowawayDatabase } from "../node/db/throwaway.ts";
import { signApiKey } from "../shared/auth/jwt.ts";
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database, Queryable } from "../shared/db/types.ts";
import { fmt, percentile } from "./_support.ts";

const EVENTS = Number(process.env.ACTP_BENCH_EVENTS ?? 1_000_000);
const JOBS_PER_ROUND = Number(process.env.ACTP_BENCH_JOBS ?? 150);
const ROUNDS = Number(process.env.ACTP_BENCH_ROUNDS ?? 6);
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

async function target(): Promise<{ label: string; url: string; close(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
    await migrate(embedded.url);
    return { label: "embedded PGlite (set DATABASE_URL for PostgreSQL 15)", url: embedded.url, close: () => embedded.stop() };
  }
  const t = await createThrowawayDatabase(base, "bench_telemetry");
  return { label: "PostgreSQL (DATABASE_URL, throwaway database)", url: t.url, close: () => t.drop() };
}

const INSERT = `insert into public.actp_events (type, job_id, payload, agent_slug, tool_name) values ($1, $2, $3::jsonb, $4, $5)`;

type Ev = [type: string, payload: Record<string, unknown>, tool?: string];

/** A job as the runtime writes it: 13 events, 5 of which the SLA trigger handles. */
function realisticJob(): Ev[] {
  const out: Ev[] = [
    ["job.received", { job_type: "research_synthesis", source: "api" }],
    ["job.dispatched", { queue: "actp.agent.research_synthesis", attempt: 1 }],
    ["run.claimed", { worker_id: "w1", lease_expires_at: "2026-12-03T10:00:00Z", attempt: 1 }],
    ["job.progress", { message: "planning", pct: 10 }],
  ];
  for (let i = 0; i < 3; i++) {
    out.push(["tool.call_started", { call_id: `c${i}`, action_type: "network_read" }, "web.fetch"]);
    out.push(["tool.call_completed", { call_id: `c${i}`, duration_ms: 120 }, "web.fetch"]);
  }
  out.push(["job.progress", { message: "writing", pct: 80 }]);
  out.push(["run.lease_renewed", { worker_id: "w1", lease_expires_at: "2026-12-03T10:01:00Z" }]);
  out.push(["job.completed", { duration_ms: 4000, attempt: 1 }]);
  return out;
}

function lifecycleJob(): Ev[] {
  return [
    ["job.received", { job_type: "research_synthesis" }],
    ["job.dispatched", { queue: "q", attempt: 1 }],
    ["job.progress", { message: "a" }],
    ["job.progress", { message: "b" }],
    ["job.completed", { duration_ms: 4000, attempt: 1 }],
  ];
}

/** Inserts JOBS_PER_ROUND jobs' events one statement each (as actp_emit does); ms per event. */
async function insertRound(db: Queryable, shape: () => Ev[]): Promise<number> {
  let n = 0;
  const t = performance.now();
  for (let j = 0; j < JOBS_PER_ROUND; j++) {
    const id = randomUUID();
    for (const [type, payload, tool] of shape()) {
      await db.query(INSERT, [type, id, JSON.stringify(payload), "research_synthesis", tool ?? null]);
      n++;
    }
  }
  return (performance.now() - t) / n;
}

async function triggerCost(db: Database) {
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  for (const [label, shape] of [
    ["a realistic job (13 events, 5 handled by the trigger)", realisticJob],
    ["lifecycle events only (every insert handled)", lifecycleJob],
  ] as const) {
    const on: number[] = [];
    const off: number[] = [];
    await insertRound(db, shape); // warm-up: plans cached, pages in memory
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order, so drift on a shared machine falls on both sides.
      const order = r % 2 === 0 ? [true, false] : [false, true];
      for (const enabled of order) {
        await db.query(`alter table public.actp_events ${enabled ? "enable" : "disable"} trigger tg_actp_events__sla`);
        (enabled ? on : off).push(await insertRound(db, shape));
      }
    }
    await db.query(`alter table public.actp_events enable trigger tg_actp_events__sla`);
    const a = median(on);
    const b = median(off);
    console.log(
      `  ${label}: ${fmt(a * 1000)} µs/event with the trigger, ${fmt(b * 1000)} µs without: +${fmt(((a - b) / b) * 100, 1)}% (median of ${ROUNDS} rounds of ${JOBS_PER_ROUND} jobs)`,
    );
  }
}

/** The same cost measured inside the server (a plpgsql loop of actp_emit calls): no round trips to hide it. */
async function triggerCostInServer(db: Database) {
  await db.query(`create or replace function public.actp_bench_job_events(n int) returns void language plpgsql as $f$
    declare j uuid;
    begin
      for i in 1..n loop
        j := gen_random_uuid();
        perform public.actp_emit('job.received', '{"job_type":"research_synthesis"}', j, null, 'research_synthesis');
        perform public.actp_emit('job.dispatched', '{"queue":"q","attempt":1}', j);
        perform public.actp_emit('run.claimed', '{"worker_id":"w","lease_expires_at":"2026-12-03T10:00:00Z"}', j);
        perform public.actp_emit('job.progress', '{"message":"a"}', j);
        for k in 1..3 loop
          perform public.actp_emit('tool.call_started', '{}', j, null, null, 'web.fetch');
          perform public.actp_emit('tool.call_completed', '{"duration_ms":1}', j, null, null, 'web.fetch');
        end loop;
        perform public.actp_emit('job.progress', '{"message":"b"}', j);
        perform public.actp_emit('run.lease_renewed', '{"worker_id":"w","lease_expires_at":"2026-12-03T10:00:00Z"}', j);
        perform public.actp_emit('job.completed', '{"duration_ms":1,"attempt":1}', j);
      end loop;
    end $f$`);
  const on: number[] = [];
  const off: number[] = [];
  await db.query(`select public.actp_bench_job_events(50)`);
  for (let r = 0; r < ROUNDS; r++) {
    for (const enabled of r % 2 === 0 ? [true, false] : [false, true]) {
      await db.query(`alter table public.actp_events ${enabled ? "enable" : "disable"} trigger tg_actp_events__sla`);
      const t = performance.now();
      await db.query(`select public.actp_bench_job_events($1)`, [JOBS_PER_ROUND]);
      (enabled ? on : off).push((performance.now() - t) / (JOBS_PER_ROUND * 13));
    }
  }
  await db.query(`alter table public.actp_events enable trigger tg_actp_events__sla`);
  await db.query(`drop function public.actp_bench_job_events(int)`);
  const a = percentile([...on].sort((x, y) => x - y), 50);
  const b = percentile([...off].sort((x, y) => x - y), 50);
  console.log(`  inside the server (no round trips), a realistic job: ${fmt(a * 1000)} µs/event with the trigger, ${fmt(b * 1000)} µs without: +${fmt(((a - b) / b) * 100, 1)}%`);
}

async function fill(db: Database) {
  const t = performance.now();
  const jobs = Math.floor(EVENTS / 10);
  // The log of a busy day: per job received, dispatched, progress, 3 tool calls (started +
  // completed), completed or failed; plus heartbeats. Inserted in bulk with the SLA trigger off,
  // and the measurements written alongside, as the trigger would have.
  await db.query(`alter table public.actp_events disable trigger tg_actp_events__sla`);
  const batch = 100_000;
  for (let from = 0; from < EVENTS; from += batch) {
    await db.query(
      `insert into public.actp_events (type, job_id, payload, agent_slug, tool_name, created_at)
       select (array['job.received','job.dispatched','job.progress','tool.call_started','tool.call_completed',
                     'tool.call_started','tool.call_completed','tool.call_started','tool.call_completed',
                     case when g % 97 = 0 then 'job.failed' else 'job.completed' end])[g % 10 + 1],
              md5((g / 10)::text)::uuid,
              case when g % 10 = 9 and g % 97 = 0 then '{"will_retry": false, "attempt": 1, "error": {"message": "x"}}'::jsonb
                   else '{"job_type": "research_synthesis", "duration_ms": 1, "attempt": 1}'::jsonb end,
              (array['research_synthesis','content_generation','health_check','list_projects','revenue_overview'])[(g / 10) % 5 + 1],
              case when g % 10 between 3 and 8 then 'web.fetch' end,
              now() - interval '24 hours' * (1 - g::float8 / $2)
         from generate_series($1::bigint, least($1::bigint + $3, $2::bigint) - 1) g`,
      [from, EVENTS, batch],
    );
  }
  await db.query(
    `insert into public.actp_sla_measurements (job_id, job_type, agent_slug, received_at, dispatched_at, first_update_at, closed_at,
                                               time_to_dispatch_ms, time_to_first_update_ms, time_to_completion_ms, tool_rounds,
                                               outcome, bad, counted_at)
     select md5(j::text)::uuid, t, t, at, at + interval '50 ms', at + interval '900 ms', at + interval '4 s', 50, 900, 4000, 3,
            case when j % 97 = 0 then 'failed' else 'succeeded' end, j % 97 = 0, at + interval '4 s'
       from (select j, (array['research_synthesis','content_generation','health_check','list_projects','revenue_overview'])[j % 5 + 1] as t,
                    now() - interval '24 hours' * (1 - (j * 10)::float8 / $2) as at
               from generate_series(0, $1::bigint - 1) j) x`,
    [jobs, EVENTS],
  );
  await db.query(`alter table public.actp_events enable trigger tg_actp_events__sla`);
  await db.query(`analyze public.actp_events`);
  await db.query(`analyze public.actp_sla_measurements`);
  console.log(`  filled ${fmt(EVENTS)} events and ${fmt(jobs)} SLA measurements over the last 24 h in ${fmt((performance.now() - t) / 1000, 1)} s`);
}

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const show = (label: string, xs: number[], aim: number) =>
  console.log(`  ${label}: p50 ${fmt(percentile(xs, 50), 1)} ms, p95 ${fmt(percentile(xs, 95), 1)} ms, max ${fmt(xs.at(-1)!, 1)} ms (aim < ${aim} ms)`);

const t = await target();
console.log(`telemetry benchmark on ${t.label}; load average ${load()}`);
const db = createPgDatabase({ connectionString: t.url, max: 4, applicationName: "actp-bench-telemetry" });
try {
  console.log("\n1. SLA trigger cost per event insert");
  await triggerCost(db);
  await triggerCostInServer(db);

  console.log(`\n2. one detector pass with ${fmt(EVENTS)} events in the table`);
  await fill(db);
  // Rolled back each time, so every pass starts from the same state and decides the same way.
  const passes = await timeIt(20, () =>
    db.transaction(async (tx) => {
      await tx.query(`select public.actp_incident_tick()`);
      throw new Error("rollback");
    }).catch((e: Error) => {
      if (e.message !== "rollback") throw e;
    }),
  );
  show("actp_incident_tick (6 detectors, decision, transitions)", passes, 200);
  const { rows } = await db.query<{ r: unknown }>(`select public.actp_incident_tick() as r`);
  console.log(`  the pass decided: ${JSON.stringify(rows[0]!.r)}`);

  console.log("\n3. the dashboard overview's API time, as a viewer");
  const secret = "bench-secret-0123456789abcdef0123456789abcdef";
  configureRuntime({ db, jwtSecret: secret, serviceRoleKey: null, localScheduler: false });
  const viewer = await signApiKey(secret, "authenticated", { sub: randomUUID(), app_metadata: { actp_role: "viewer" } });
  const headers = { authorization: `Bearer ${viewer}` };
  const get = async (a: { request: (p: string, i?: RequestInit) => Response | Promise<Response> }, path: string) => {
    const r = await a.request(path, { headers });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  show("GET /incidents", await timeIt(20, () => get(incidentsApp, "/incidents")), 300);
  show("GET /sla/report?window=24h", await timeIt(20, () => get(slaApp, "/sla/report?window=24h")), 300);
  show("both at once (the overview page)", await timeIt(20, () => Promise.all([get(incidentsApp, "/incidents"), get(slaApp, "/sla/report?window=24h")])), 300);
} finally {
  await db.end();
  await t.close();
  console.log(`\nload average after: ${load()}`);
}

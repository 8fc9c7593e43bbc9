// `npm run bench -- forensics [events]`: a job with 200,000 events (default), read as timeline pages
// and diffed, beside the unpaged read this replaced (the whole log in one statement, as
// actp_inspect_timeline answered before it was paged). Prints what one request costs, what a reader
// paging through everything costs, and how long a `select 1` (what /health asks) waits while three
// diffs and three page-through readers run at once.
import { randomUUID } from "node:crypto";
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database } from "../shared/db/types.ts";
import { diffRuns, inspectTimelinePage, TIMELINE_PAGE_MAX } from "../shared/forensics/queries.ts";
import { benchTargets, fmt, percentile } from "./_support.ts";

const EVENTS = Number(process.argv[2] ?? 200_000);

async function seedJob(db: Database, events: number): Promise<string> {
  const slug = `bench-forensics-${randomUUID().slice(0, 8)}`;
  await db.query(
    `insert into public.actp_agent_definitions (slug, description, input_schema, definition_hash, enabled)
     values ($1, 'bench', '{}'::jsonb, encode(sha256(convert_to($1, 'UTF8')), 'hex'), true)`,
    [slug],
  );
  const id = randomUUID();
  await db.query(
    `insert into public.actp_jobs (id, agent_slug, job_type, input, status, attempts, max_attempts, created_at, started_at, finished_at)
     values ($1, $2, $2, '{}'::jsonb, 'completed', 1, 3, now() - interval '1 hour', now() - interval '59 minutes', now())`,
    [id, slug],
  );
  for (let from = 1; from <= events; from += 50_000) {
    await db.query(
      `insert into public.actp_events (type, job_id, payload, created_at)
       select 'job.progress', $1::uuid, jsonb_build_object('message', 'tick ' || g, 'pct', 50), now() - interval '1 hour' + g * interval '10 ms'
         from generate_series($2::int, $3::int) g`,
      [id, from, Math.min(from + 49_999, events)],
    );
  }
  await db.query(
    `insert into public.actp_job_steps (job_id, ordinal, name, status, output, started_at, finished_at)
     select $1::uuid, g, 'step-' || g, 'completed', '{"ok":true}'::jsonb, now() - interval '50 minutes' + g * interval '1 minute', now() - interval '50 minutes' + g * interval '1 minute' + interval '30 s'
       from generate_series(0, 19) g`,
    [id],
  );
  return id;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function pageThrough(db: Database, id: string): Promise<number> {
  let pages = 0;
  for (let cursor: string | null = null; ; pages++) {
    const page = await db.asRole({ role: "service_role" }, (tx) => inspectTimelinePage(tx, id, { cursor, limit: TIMELINE_PAGE_MAX }));
    if (!page.next_cursor) return pages + 1;
    cursor = page.next_cursor;
  }
}

for (const target of await benchTargets()) {
  const db = createPgDatabase({ connectionString: target.url, max: 8, statementTimeout: "0" });
  try {
    console.log(`\n== ${target.label}: one job with ${fmt(EVENTS)} events and 20 steps`);
    const [id, seedMs] = await timed(() => seedJob(db, EVENTS));
    console.log(`seeded in ${fmt(seedMs / 1000, 1)} s`);

    // The peer: the unpaged read, every event of the job in one statement.
    const [, wholeMs] = await timed(() =>
      db.query(`select jsonb_agg(jsonb_build_object('seq', e.seq, 'type', e.type, 'payload', e.payload) order by e.created_at, e.seq) from public.actp_events e where e.job_id = $1`, [id]),
    );
    const pageTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      pageTimes.push((await timed(() => db.asRole({ role: "service_role" }, (tx) => inspectTimelinePage(tx, id, { limit: TIMELINE_PAGE_MAX }))))[1]);
    }
    pageTimes.sort((a, b) => a - b);
    const p50 = percentile(pageTimes, 50);
    console.log(`whole log in one statement (unpaged): ${fmt(wholeMs)} ms`);
    console.log(`one page of ${TIMELINE_PAGE_MAX}: p50 ${fmt(p50, 1)} ms, max ${fmt(pageTimes.at(-1)!, 1)} ms  (the longest a request holds the database: ${fmt(wholeMs / p50, 1)}x shorter)`);
    const [pages, allMs] = await timed(() => pageThrough(db, id));
    console.log(`paging through everything: ${pages} pages in ${fmt(allMs / 1000, 1)} s`);
    const [, diffMs] = await timed(() => db.asRole({ role: "service_role" }, (tx) => diffRuns(tx, id, id)));
    console.log(`one diff (steps only): ${fmt(diffMs, 1)} ms`);

    // Contention: what /health's query waits while three diffs and three readers run.
    const probe = createPgDatabase({ connectionString: target.url, max: 1 });
    const waits: number[] = [];
    let busy = true;
    const prober = (async () => {
      while (busy) {
        waits.push((await timed(() => probe.query("select 1")))[1]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const [, loadMs] = await timed(() =>
      Promise.all([
        ...[0, 1, 2].map(() => db.asRole({ role: "service_role" }, (tx) => diffRuns(tx, id, id))),
        ...[0, 1].map(() => pageThrough(db, id)),
      ]),
    );
    busy = false;
    await prober;
    await probe.end();
    waits.sort((a, b) => a - b);
    console.log(
      `3 diffs + 2 page-through readers at once: ${fmt(loadMs / 1000, 1)} s; select 1 meanwhile p50 ${fmt(percentile(waits, 50), 1)} ms, max ${fmt(waits.at(-1) ?? NaN, 1)} ms (${waits.length} probes)`,
    );
  } finally {
    await db.end();
    await target.close();
  }
}

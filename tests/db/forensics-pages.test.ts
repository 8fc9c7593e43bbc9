// Timelines in keyset pages and diffs with a cap (issue 8 item 3): a job with thousands of events
// is read a page at a time, every entry exactly once and in order, with the same gaps whichever
// page it lands on; a diff of runs past the step cap is refused with a pointer to paging.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { app } from "../../functions/replay/app.ts";
import { configureRuntime } from "../../functions/_shared/runtime.ts";
import { loadProjectKeys, type ProjectKeys } from "../../node/keys.ts";
import { DIFF_MAX_STEPS, diffRuns, inspectTimelinePage, TIMELINE_PAGE_MAX } from "../../shared/forensics/queries.ts";
import type { TimelineEntry } from "../../shared/forensics/contracts.ts";
import { testDatabase } from "../support/db.ts";
import { at, createAgent, ensurePgBoss, insertJob, uniqueSlug } from "../support/dlq-scenarios.ts";

const db = testDatabase();
let keys: ProjectKeys;
let agent: string;
beforeAll(async () => {
  await ensurePgBoss(inject("dbUrl"));
  keys = await loadProjectKeys(null);
  configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: true });
  agent = await createAgent(db, uniqueSlug("pages"));
});
afterAll(() => db.end());

const base = Date.parse("2026-11-21T10:00:00Z");

/** A job with `events` events (several sharing a timestamp) and `steps` long steps overlapping them. */
async function bigJob(events: number, steps: number): Promise<string> {
  const id = await insertJob(db, { agent, status: "completed", attempts: 1, createdAt: at(base, 0), startedAt: at(base, 10), finishedAt: at(base, events * 10) });
  await db.query(
    `insert into public.actp_events (type, job_id, payload, created_at)
     select 'job.progress', $1::uuid, jsonb_build_object('message', 'tick ' || g, 'pct', 50), $2::timestamptz + ((g / 3) * interval '10 ms')
       from generate_series(1, $3::int) g`,
    [id, at(base, 0), events],
  );
  await db.query(
    `insert into public.actp_job_steps (job_id, ordinal, name, status, output, started_at, finished_at)
     select $1::uuid, g, 'step-' || g, 'completed', '{}'::jsonb, $2::timestamptz + (g * interval '70 ms'), $2::timestamptz + (g * interval '70 ms') + interval '500 ms'
       from generate_series(0, $3::int - 1) g`,
    [id, at(base, 0), steps],
  );
  return id;
}

const key = (e: TimelineEntry) => (e.kind === "event" ? `e${e.seq}` : `s${e.ordinal}`);

describe("timeline pages", () => {
  it("reads 2,500 events and 300 steps in pages: each entry once, in order, with the gaps of one whole read", async () => {
    const id = await bigJob(2500, 300);
    const all: TimelineEntry[] = [];
    let pages = 0;
    for (let cursor: string | null = null; ; ) {
      const page = await db.asRole({ role: "service_role" }, (tx) => inspectTimelinePage(tx, id, { cursor, limit: 400 }));
      expect(page.entries.length).toBeLessThanOrEqual(400);
      expect(page.summary.events).toBe(2500);
      all.push(...page.entries);
      pages++;
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    expect(pages).toBe(Math.ceil(2800 / 400));
    expect(all).toHaveLength(2800);
    expect(new Set(all.map(key)).size).toBe(2800);
    // Time order, events before steps at the same instant, keys ascending within each.
    for (let i = 1; i < all.length; i++) {
      const [p, c] = [all[i - 1]!, all[i]!];
      const order = Date.parse(p.at) - Date.parse(c.at) || (p.kind === c.kind ? 0 : p.kind === "event" ? -1 : 1);
      expect(order, `${key(p)} then ${key(c)}`).toBeLessThanOrEqual(0);
    }
    // gap_ms: from the latest end of everything before, across page boundaries.
    let latest: number | null = null;
    for (const e of all) {
      const t = Date.parse(e.at);
      expect(e.gap_ms, key(e)).toBe(latest === null ? 0 : Math.max(t - latest, 0));
      const end = e.kind === "step" && e.finished_at ? Date.parse(e.finished_at) : t;
      latest = latest === null ? end : Math.max(latest, end);
    }
  });

  it("serves pages over HTTP with limit and cursor, caps the page size, and refuses a forged cursor", async () => {
    const id = await bigJob(30, 2);
    const auth = { authorization: `Bearer ${keys.serviceRoleKey}` };
    const first = await app.request(`/replay/${id}/timeline?limit=25`, { headers: auth });
    expect(first.status).toBe(200);
    const p1 = await first.json();
    expect(p1.entries).toHaveLength(25);
    expect(p1.next_cursor).toEqual(expect.any(String));
    const p2 = await (await app.request(`/replay/${id}/timeline?limit=25&cursor=${encodeURIComponent(p1.next_cursor)}`, { headers: auth })).json();
    expect(p2.entries).toHaveLength(7);
    expect(p2.next_cursor).toBeNull();

    const tooMany = await app.request(`/replay/${id}/timeline?limit=${TIMELINE_PAGE_MAX + 1}`, { headers: auth });
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error.code).toBe("forensics.invalid_query");
    const forged = await app.request(`/replay/${id}/timeline?cursor=bm90LWEtY3Vyc29y`, { headers: auth });
    expect(forged.status).toBe(400);
    expect((await forged.json()).error.code).toBe("forensics.invalid_cursor");
    // Without a limit: the default page, not every entry.
    const dflt = await (await app.request(`/replay/${id}/timeline`, { headers: auth })).json();
    expect(dflt.entries).toHaveLength(32);
  });

  it("the unpaged SQL function answers one bounded page with its cursor", async () => {
    const id = await bigJob(1200, 1);
    const { rows } = await db.query<{ t: { entries: unknown[]; next_cursor: unknown } }>(`select public.actp_inspect_timeline($1::uuid) as t`, [id]);
    expect(rows[0]!.t.entries).toHaveLength(TIMELINE_PAGE_MAX);
    expect(rows[0]!.t.next_cursor).not.toBeNull();
  });
});

describe("diff bounds", () => {
  it("diffs runs whose steps span several pages, leaving their events out", async () => {
    const [a, b] = [await bigJob(50, 1500), await bigJob(10, 1500)];
    const d = await diffRuns(db, a, b);
    expect(d.steps).toHaveLength(1500);
    expect(d.summary.steps_same).toBe(1500);
  });

  it("refuses runs past the step cap with a 422 that points to paging", async () => {
    const a = await bigJob(1, DIFF_MAX_STEPS + 1);
    const res = await app.request(`/replay/diff?a=${a}&b=${a}`, { headers: { authorization: `Bearer ${keys.serviceRoleKey}` } });
    expect(res.status).toBe(422);
    const { error } = await res.json();
    expect(error.code).toBe("forensics.too_large");
    expect(error.message).toContain(`/replay/${a}/timeline?limit=`);
  });
});

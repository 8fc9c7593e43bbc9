// The fleet as operators see it (/jobs/workers, the dashboard): a worker is alive while the
// supervisor has not marked it dead and its last heartbeat is within its own threshold (3 of its
// heartbeat intervals, or 30 s when it does not report one), not within a fixed 30 s for all.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../shared/db/types.ts";
import { listWorkers, workerStaleRule } from "../../shared/jobs/workers.ts";
import { testDatabase } from "../support/db.ts";

let db: Database;
beforeAll(() => {
  db = testDatabase();
});
afterAll(async () => {
  await db.end();
});

async function worker(intervalMs: number | null, beatSecondsAgo: number, status = "alive"): Promise<string> {
  const id = `w-${randomBytes(4).toString("hex")}`;
  await db.query(
    `insert into public.actp_worker_registrations (worker_id, host, pid, status, heartbeat_interval_ms, started_at, last_heartbeat_at)
     values ($1, 'host-a', 4242, $2, $3, now() - interval '1 hour', now() - make_interval(secs => $4))`,
    [id, status, intervalMs, beatSecondsAgo],
  );
  return id;
}

describe("listWorkers", () => {
  it("judges each worker by its own heartbeat interval", async () => {
    const fastOverdue = await worker(1_000, 4); // 3 beats of 1 s: overdue after 3 s
    const slowFine = await worker(5_000, 12); // 3 beats of 5 s: fine until 15 s
    const slowOverdue = await worker(5_000, 16);
    const legacyFine = await worker(null, 25); // no interval reported: 30 s
    const legacyOverdue = await worker(null, 31);
    const dead = await worker(5_000, 1, "dead"); // the supervisor's verdict stands
    const byId = new Map((await listWorkers(db)).map((w) => [w.worker_id, w]));
    expect(byId.get(fastOverdue)?.alive).toBe(false);
    expect(byId.get(slowFine)?.alive).toBe(true);
    expect(byId.get(slowOverdue)?.alive).toBe(false);
    expect(byId.get(legacyFine)?.alive).toBe(true);
    expect(byId.get(legacyOverdue)?.alive).toBe(false);
    expect(byId.get(dead)?.alive).toBe(false);
    expect(byId.get(slowFine)).toMatchObject({ heartbeat_interval_ms: 5_000, host: "host-a", pid: 4242 });
    expect(byId.get(slowFine)!.heartbeat_age_ms).toBeGreaterThanOrEqual(12_000);
  });

  it("takes one threshold for all when asked", async () => {
    const w = await worker(5_000, 12);
    expect((await listWorkers(db, { staleMs: 60_000 })).find((x) => x.worker_id === w)?.alive).toBe(true);
    expect((await listWorkers(db, { staleMs: 10_000 })).find((x) => x.worker_id === w)?.alive).toBe(false);
  });
  it("follows the supervisor's worker_stale_beats setting (read by the platform), for viewers too; an app user sees no worker", async () => {
    const w = await worker(5_000, 16); // overdue after 3 beats of 5 s, fine after 6
    const rollback = new Error("rollback");
    const seen: Record<string, unknown> = {};
    await db
      .transaction(async (tx) => {
        // Uncommitted: no other test file's supervisor sees the changed setting.
        await tx.query(`update public.actp_settings set value = '6' where key = 'worker_stale_beats'`);
        const rule = await workerStaleRule(tx);
        seen.rule = rule;
        seen.service = (await listWorkers(tx, { rule })).find((x) => x.worker_id === w)?.alive;
        await tx.query(`savepoint as_viewer`);
        await tx.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ role: "authenticated", sub: "viewer-1", app_metadata: { actp_role: "viewer" } }),
        ]);
        seen.viewer = (await listWorkers(tx, { rule })).find((x) => x.worker_id === w)?.alive;
        // The settings themselves stay the service role's.
        seen.viewerReadsSettings = await tx.query(`select value from public.actp_settings`).then(
          () => "read",
          (e: { code?: string; cause?: { code?: string } }) => e.code ?? e.cause?.code ?? "error",
        );
        await tx.query(`rollback to savepoint as_viewer`);
        await tx.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
          JSON.stringify({ role: "authenticated", sub: "app-user" }),
        ]);
        seen.appUser = (await listWorkers(tx, { rule })).length === 0 ? "nothing" : "listed";
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    expect(seen.rule).toEqual({ seconds: null, beats: 6 });
    expect(seen.service).toBe(true);
    expect(seen.viewer).toBe(true);
    expect(seen.viewerReadsSettings).not.toBe("read");
    expect(seen.appUser).toBe("nothing");
    // Committed state: the default 3 beats.
    expect((await listWorkers(db, { rule: await workerStaleRule(db) })).find((x) => x.worker_id === w)?.alive).toBe(false);
  });
});

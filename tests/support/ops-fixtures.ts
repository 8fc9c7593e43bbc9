// Helpers for the operations tests (SLA, incidents, Telegram): events written at chosen times (so a
// detector window or an SLA clock holds only the test's own events), and rolled-back transactions
// for anything that changes the global platform mode.
import { randomBytes, randomUUID } from "node:crypto";
import type { Database, Queryable } from "../../shared/db/types.ts";

export const uniq = (prefix: string) => `${prefix}_${randomBytes(4).toString("hex")}`;

/** Writes one event at a chosen time; the SLA trigger sees it like any other insert. */
export async function eventAt(
  db: Queryable,
  at: Date,
  type: string,
  jobId: string | null,
  payload: Record<string, unknown> = {},
  extra: { agent?: string; tool?: string } = {},
): Promise<void> {
  await db.query(
    `insert into public.actp_events (type, job_id, payload, agent_slug, tool_name, created_at) values ($1, $2, $3::jsonb, $4, $5, $6)`,
    [type, jobId, JSON.stringify(payload), extra.agent ?? null, extra.tool ?? null, at.toISOString()],
  );
}

export const plus = (t: Date, ms: number) => new Date(t.getTime() + ms);

/** A job's life as events: received at t0, then each [offset ms, type, payload]. */
export async function jobLife(db: Queryable, t0: Date, jobType: string, steps: Array<[number, string, Record<string, unknown>?]>): Promise<string> {
  const id = randomUUID();
  await eventAt(db, t0, "job.received", id, { job_type: jobType }, { agent: jobType });
  for (const [ms, type, payload] of steps) await eventAt(db, plus(t0, ms), type, id, payload ?? {}, { agent: jobType });
  return id;
}

const ROLLBACK = new Error("rollback");

/** Runs fn in one transaction that is always rolled back: the platform mode never leaks. */
export async function rolledBack<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  let out: T | undefined;
  try {
    await db.transaction(async (tx) => {
      out = await fn(tx);
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
  return out as T;
}

/** Only the named detectors run (inside a rolled-back transaction): the others read global state. */
export async function onlyDetectors(tx: Queryable, names: string[]): Promise<void> {
  await tx.query(`update public.actp_incident_detectors set enabled = (name = any($1))`, [names]);
}

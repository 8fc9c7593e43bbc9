// Every SQL statement of forensics, one typed function each. Callers pass a Queryable that already
// runs as the caller's role (db.asRole), so RLS and grants decide; plpgsql errors carry our codes
// (forensics.not_found → 404, forensics.unknown_step → 400) and are mapped by fromPgError.
import type { Queryable } from "../db/types.ts";
import type { ReplayResult, RunDiff, Timeline } from "./contracts.ts";
import { computeRunDiff } from "./diff.ts";

export async function inspectTimeline(db: Queryable, jobId: string): Promise<Timeline> {
  const { rows } = await db.query<{ t: Timeline }>(`select public.actp_inspect_timeline($1::uuid) as t`, [jobId]);
  return rows[0]!.t;
}

export async function replayJob(
  db: Queryable,
  jobId: string,
  opts: { fromStep?: string | null; requestedBy?: string | null } = {},
): Promise<ReplayResult> {
  const { rows } = await db.query<{ r: ReplayResult }>(`select public.actp_replay_job($1::uuid, $2::text, $3::text) as r`, [
    jobId,
    opts.fromStep ?? null,
    opts.requestedBy ?? null,
  ]);
  return rows[0]!.r;
}

export async function diffRuns(db: Queryable, a: string, b: string): Promise<RunDiff> {
  const [ta, tb] = [await inspectTimeline(db, a), await inspectTimeline(db, b)];
  return computeRunDiff(ta, tb);
}

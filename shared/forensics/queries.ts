// Every SQL statement of forensics, one typed function each. Callers pass a Queryable that already
// runs as the caller's role (db.asRole), so RLS and grants decide; plpgsql errors carry our codes
// (forensics.not_found → 404, forensics.unknown_step → 400) and are mapped by fromPgError.
import type { Queryable } from "../db/types.ts";
import type { ReplayResult, RunDiff, Timeline, TimelinePage } from "./contracts.ts";
import { ActpError, badRequest } from "../errors.ts";
import { computeRunDiff } from "./diff.ts";

/** Entries per timeline page: the default, and the most one request may ask for. */
export const TIMELINE_PAGE_DEFAULT = 500;
export const TIMELINE_PAGE_MAX = 1000;
/** A diff compares two runs' steps in memory; past this many steps it refuses and points to paging. */
export const DIFF_MAX_STEPS = 5000;

/** The cursor is opaque to callers: base64url of the keyset position the database returned. */
export function encodeCursor(c: unknown): string | null {
  if (c === null || c === undefined) return null;
  return btoa(JSON.stringify(c)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor(raw: string): unknown {
  try {
    const json = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
    const v = JSON.parse(json) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
    // fall through to the 400
  }
  throw badRequest("forensics.invalid_cursor", "the cursor is not one this API returned; start again without it");
}

/**
 * One keyset page of a job's timeline (events and steps merged in time order). `next_cursor` is
 * null on the last page; pass it back as `cursor` for the next one.
 */
export async function inspectTimelinePage(
  db: Queryable,
  jobId: string,
  opts: { cursor?: string | null; limit?: number; events?: boolean } = {},
): Promise<TimelinePage> {
  const cursor = opts.cursor ? decodeCursor(opts.cursor) : null;
  const limit = Math.min(Math.max(opts.limit ?? TIMELINE_PAGE_DEFAULT, 1), TIMELINE_PAGE_MAX);
  const { rows } = await db.query<{ t: Timeline & { next_cursor: unknown } }>(
    `select public.actp_inspect_timeline_page($1::uuid, $2::jsonb, $3::int, $4::boolean) as t`,
    [jobId, cursor === null ? null : JSON.stringify(cursor), limit, opts.events ?? true],
  );
  const t = rows[0]!.t;
  return { ...t, next_cursor: encodeCursor(t.next_cursor) };
}

/** The first page of a job's timeline (at most TIMELINE_PAGE_MAX entries). */
export function inspectTimeline(db: Queryable, jobId: string): Promise<TimelinePage> {
  return inspectTimelinePage(db, jobId, { limit: TIMELINE_PAGE_MAX });
}

/** A run's steps (no events), every page of them, for the diff; refused past DIFF_MAX_STEPS. */
async function runForDiff(db: Queryable, jobId: string): Promise<Timeline> {
  const first = await inspectTimelinePage(db, jobId, { events: false, limit: TIMELINE_PAGE_MAX });
  if (first.summary.steps > DIFF_MAX_STEPS) {
    throw new ActpError(
      "forensics.too_large",
      `job ${jobId} has ${first.summary.steps} steps; a diff compares at most ${DIFF_MAX_STEPS}. Read its steps page by page with GET /replay/${jobId}/timeline?limit=${TIMELINE_PAGE_MAX}&cursor=...`,
      { details: { steps: first.summary.steps, max_steps: DIFF_MAX_STEPS } },
    );
  }
  const entries = [...first.entries];
  for (let cursor = first.next_cursor; cursor; ) {
    const page = await inspectTimelinePage(db, jobId, { events: false, limit: TIMELINE_PAGE_MAX, cursor });
    entries.push(...page.entries);
    cursor = page.next_cursor;
  }
  return { ...first, entries };
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
  const [ta, tb] = [await runForDiff(db, a), await runForDiff(db, b)];
  return computeRunDiff(ta, tb);
}

// Every SQL statement of the DLQ, one typed function each (pg-boss plans.ts style). Reads respect
// the caller's role (pass a Queryable from db.asRole); each review action is one SQL function call,
// so it is one transaction that locks the item, and retrying it returns the first result.
import type { z } from "zod";
import type { Queryable } from "../db/types.ts";
import { badRequest, notFound, parseWith } from "../errors.ts";
import { inspectTimeline } from "../forensics/queries.ts";
import type { Timeline, TimelineEvent, TimelineStep } from "../forensics/contracts.ts";
import {
  BulkReplayBody,
  DlqGroupsQuery,
  DlqListQuery,
  type DlqGroup,
  type GroupReplayBody,
  type GroupReplayResult,
  type BulkReplayResult,
  type DlqError,
  type DlqItem,
  type DlqListItem,
  type DlqPage,
  type ReviewResult,
} from "./contracts.ts";
import { validateAgentInput } from "./validate-input.ts";

// Keyset cursor: the exact enqueued_at text from Postgres (microseconds, which a JS Date would
// lose) and the id, base64url-encoded so callers treat it as opaque.
export function encodeCursor(enqueuedAt: string, id: string): string {
  return btoa(`${enqueuedAt}|${id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string): { enqueuedAt: string; id: string } {
  try {
    const raw = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const m = /^(\d{4}-\d\d-\d\d[ T][0-9:.]+(?:[+-]\d\d(?::?\d\d)?|Z)?)\|([0-9a-f-]{36})$/i.exec(raw);
    if (m) return { enqueuedAt: m[1]!, id: m[2]! };
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("dlq.invalid_cursor", "`after` is not a cursor this API returned");
}

// Built as jsonb so timestamps reach every caller as the same ISO strings the timeline uses.
const LIST_ITEM = `jsonb_build_object(
  'id', d.id, 'original_job_id', d.original_job_id, 'job_type', d.job_type, 'agent_slug', j.agent_slug,
  'failure_reason', d.failure_reason, 'retry_count', d.retry_count, 'attempts', j.attempts,
  'enqueued_at', d.enqueued_at, 'resolution', d.resolution, 'reviewed_by', d.reviewed_by,
  'reviewed_at', d.reviewed_at, 'replay_job_id', d.replay_job_id, 'fingerprint', d.error_fingerprint)`;

export async function listDlq(db: Queryable, query: DlqListQuery): Promise<DlqPage> {
  const q = parseWith(DlqListQuery, query, "dlq.invalid_query");
  const cur = q.after ? decodeCursor(q.after) : null;
  const { rows } = await db.query<{ item: DlqListItem; id: string; cursor_ts: string }>(
    `select ${LIST_ITEM} as item, d.id, d.enqueued_at::text as cursor_ts
       from public.actp_dlq d
       join public.actp_jobs j on j.id = d.original_job_id
      where case $1::text when 'pending' then d.resolution is null
                          when 'resolved' then d.resolution is not null
                          else true end
        and ($2::text is null or d.job_type = $2)
        and ($3::text is null or j.agent_slug = $3)
        and ($9::text is null or d.error_fingerprint = $9)
        and ($4::timestamptz is null or d.enqueued_at >= $4)
        and ($5::timestamptz is null or d.enqueued_at <= $5)
        and ($6::timestamptz is null or (d.enqueued_at, d.id) > ($6::timestamptz, $7::uuid))
      order by d.enqueued_at, d.id
      limit $8`,
    [q.status, q.job_type ?? null, q.agent_slug ?? null, q.from ?? null, q.to ?? null, cur?.enqueuedAt ?? null, cur?.id ?? null, q.limit + 1, q.fingerprint ?? null],
  );
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page.at(-1);
  const counts = await db.query<{ job_type: string; n: number }>(
    `select job_type, count(*)::int as n from public.actp_dlq where resolution is null group by job_type order by job_type`,
  );
  return {
    items: page.map((r) => r.item),
    next_cursor: more && last ? encodeCursor(last.cursor_ts, last.id) : null,
    pending: {
      total: counts.rows.reduce((s, r) => s + r.n, 0),
      by_job_type: Object.fromEntries(counts.rows.map((r) => [r.job_type, r.n])),
    },
  };
}

/** Failures of the job in time order: each attempt's job.failed error, each failed step, the final error. */
export function collectErrors(t: Timeline, dlqError: Record<string, unknown> | null): DlqError[] {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
  const out: DlqError[] = [];
  for (const e of t.entries) {
    if (e.kind === "event" && (e as TimelineEvent).type === "job.failed") {
      const err = (e.payload.error ?? {}) as Record<string, unknown>;
      out.push({
        source: "attempt",
        at: e.at,
        attempt: typeof e.payload.attempt === "number" ? e.payload.attempt : null,
        step: e.step,
        message: str(err.message) ?? "(no message)",
        where: str(err.where) ?? e.step,
        name: str(err.name),
      });
    } else if (e.kind === "step" && (e as TimelineStep).status === "failed") {
      const err = (e.error ?? {}) as Record<string, unknown>;
      out.push({
        source: "step",
        at: e.finished_at ?? e.at,
        attempt: e.attempt,
        step: e.name,
        message: str(err.message) ?? "(no message)",
        where: str(err.where) ?? e.name,
        name: str(err.name),
      });
    }
  }
  const final = dlqError ?? (t.job.error as Record<string, unknown> | null);
  if (final) {
    out.push({
      source: "job",
      at: t.job.finished_at,
      attempt: t.job.attempts,
      step: null,
      message: str(final.message) ?? "(no message)",
      where: str(final.where),
      name: str(final.name),
    });
  }
  return out;
}

export async function getDlqItem(db: Queryable, id: string): Promise<DlqItem> {
  const { rows } = await db.query<{ item: Omit<DlqItem, "errors" | "timeline"> }>(
    `select ${LIST_ITEM} || jsonb_build_object('input_data', d.input_data, 'error', d.error,
                                               'fixed_input', d.fixed_input, 'note', d.review_note) as item
       from public.actp_dlq d
       join public.actp_jobs j on j.id = d.original_job_id
      where d.id = $1::uuid`,
    [id],
  );
  const row = rows[0]?.item;
  if (!row) throw notFound("dlq.not_found", `no DLQ item "${id}"`);
  const timeline = await inspectTimeline(db, row.original_job_id);
  return { ...row, errors: collectErrors(timeline, row.error), timeline };
}

export async function replayDlq(db: Queryable, id: string, reviewer?: string | null, note?: string | null): Promise<ReviewResult> {
  const { rows } = await db.query<{ r: ReviewResult }>(`select public.actp_dlq_replay($1::uuid, $2, $3) as r`, [id, reviewer ?? null, note ?? null]);
  return rows[0]!.r;
}

export async function discardDlq(db: Queryable, id: string, reviewer?: string | null, note?: string | null): Promise<ReviewResult> {
  const { rows } = await db.query<{ r: ReviewResult }>(`select public.actp_dlq_discard($1::uuid, $2, $3) as r`, [id, reviewer ?? null, note ?? null]);
  return rows[0]!.r;
}

/**
 * Validates the corrected input against the agent's registered input schema, then replays with it.
 * Run it in one transaction (db.asRole / db.transaction) so the schema read and the fix agree.
 */
export async function fixDlq(db: Queryable, id: string, reviewer: string | null | undefined, input: unknown, note?: string | null): Promise<ReviewResult> {
  const { rows } = await db.query<{ slug: string; input_schema: Record<string, unknown> }>(
    `select a.slug, a.input_schema
       from public.actp_dlq d
       join public.actp_jobs j on j.id = d.original_job_id
       join public.actp_agent_definitions a on a.slug = j.agent_slug
      where d.id = $1::uuid`,
    [id],
  );
  const agent = rows[0];
  if (!agent) throw notFound("dlq.not_found", `no DLQ item "${id}"`);
  validateAgentInput(agent.slug, agent.input_schema, input);
  const res = await db.query<{ r: ReviewResult }>(`select public.actp_dlq_manual_fix($1::uuid, $2, $3::jsonb, $4) as r`, [
    id,
    reviewer ?? null,
    JSON.stringify(input),
    note ?? null,
  ]);
  return res.rows[0]!.r;
}

export async function replayDlqBulk(db: Queryable, body: BulkReplayBody): Promise<BulkReplayResult> {
  const b = parseWith(BulkReplayBody, body, "dlq.invalid_filter");
  const { rows } = await db.query<{ r: BulkReplayResult }>(`select public.actp_dlq_replay_bulk($1::jsonb, $2, $3) as r`, [
    JSON.stringify(b.filter),
    b.reviewer ?? null,
    b.note ?? null,
  ]);
  return rows[0]!.r;
}

/** Items grouped by error fingerprint, most pending first (actp_dlq_groups; RLS applies). */
export async function listDlqGroups(db: Queryable, query: DlqGroupsQuery): Promise<DlqGroup[]> {
  const q = parseWith(DlqGroupsQuery, query, "dlq.invalid_query");
  const { rows } = await db.query<{ g: DlqGroup }>(
    `select jsonb_build_object('fingerprint', g.fingerprint, 'job_type', g.job_type, 'error_name', g.error_name,
              'step', g.step, 'message_pattern', g.message_pattern, 'sample_reason', g.sample_reason,
              'sample_dlq_id', g.sample_dlq_id, 'pending', g.pending, 'total', g.total,
              'count', case when $1 then g.total else g.pending end,
              'first_seen', g.first_seen, 'last_seen', g.last_seen, 'agents', g.agents) as g
       from public.actp_dlq_groups($1, $2) g`,
    [q.status === "all", q.job_type ?? null],
  );
  return rows.map((r) => r.g);
}

/**
 * Replays the pending items of one group (oldest first, each in its own subtransaction). The
 * reviewer is the caller's token identity; only the service role may name one (Telegram, CLI).
 */
export async function replayDlqGroup(db: Queryable, fingerprint: string, body: GroupReplayBody, reviewer?: string): Promise<GroupReplayResult> {
  const { rows } = await db.query<{ r: GroupReplayResult }>(`select public.actp_dlq_replay_group($1, $2, $3, $4) as r`, [
    fingerprint,
    reviewer ?? null,
    body.note ?? null,
    body.limit,
  ]);
  return rows[0]!.r;
}

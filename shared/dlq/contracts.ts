// DLQ and human review contracts (PRD §4.11). A dashboard page, the `dlq` function, the CLI and a
// Telegram /dlq command all speak these shapes, so each of them is a thin layer over queries.ts.
import { z } from "zod";
import type { Timeline } from "../forensics/contracts.ts";

export const DlqId = z.uuid({ message: "a DLQ item id is a UUID" });

const timestamp = () => z.iso.datetime({ offset: true, message: "an ISO 8601 timestamp with an offset, e.g. 2026-11-24T10:00:00Z" });
/** A label for the reviewer ("alice on call"); who acted is recorded from the token, beside it. */
const reviewer = () => z.string().trim().min(1, "reviewer is a non-empty label").max(200);
const note = () => z.string().trim().min(1).max(2000);

export const DlqListQuery = z
  .object({
    status: z.enum(["pending", "resolved", "all"]).default("pending"),
    job_type: z.string().min(1).max(200).optional(),
    agent_slug: z.string().min(1).max(100).optional(),
    /** Items of one error group (GET /dlq/groups). */
    fingerprint: z.string().regex(/^[0-9a-f]{16}$/, "a fingerprint is 16 lowercase hex digits").optional(),
    from: timestamp().optional(),
    to: timestamp().optional(),
    /** The next_cursor of the previous page. */
    after: z.string().min(1).max(300).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: "from must not be after to", path: ["from"] });
export type DlqListQuery = z.input<typeof DlqListQuery>;

export const ReplayBody = z.object({ reviewer: reviewer().optional(), note: note().optional() }).strict();
export type ReplayBody = z.infer<typeof ReplayBody>;

export const DiscardBody = z.object({ reviewer: reviewer().optional(), note: note().optional() }).strict();
export type DiscardBody = z.infer<typeof DiscardBody>;

export const FixBody = z
  .object({
    reviewer: reviewer().optional(),
    input: z.json().refine((v) => v !== null, "input is the corrected job input"),
    note: note().optional(),
  })
  .strict();
export type FixBody = z.infer<typeof FixBody>;

export const BulkReplayFilter = z
  .object({
    job_type: z.string().min(1).max(200).optional(),
    from: timestamp().optional(),
    to: timestamp().optional(),
    limit: z.int().min(1).max(1000).default(100),
  })
  .strict()
  .refine((f) => !f.from || !f.to || Date.parse(f.from) <= Date.parse(f.to), { message: "from must not be after to", path: ["from"] });

export const BulkReplayBody = z.object({ filter: BulkReplayFilter, reviewer: reviewer().optional(), note: note().optional() }).strict();
export type BulkReplayBody = z.input<typeof BulkReplayBody>;

export type Resolution = "replayed" | "discarded" | "manual_fix";

export interface DlqListItem {
  id: string;
  original_job_id: string;
  job_type: string;
  agent_slug: string;
  failure_reason: string;
  retry_count: number;
  attempts: number;
  enqueued_at: string;
  resolution: Resolution | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  replay_job_id: string | null;
  /** The error group (GET /dlq/groups). */
  fingerprint?: string;
}

export interface DlqPage {
  items: DlqListItem[];
  /** Pass as `after` for the next page; null on the last page. */
  next_cursor: string | null;
  /** Pending items in the whole queue, by job type: the badge a dashboard or /dlq shows. */
  pending: { total: number; by_job_type: Record<string, number> };
}

export interface DlqError {
  source: "job" | "attempt" | "step";
  at: string | null;
  attempt: number | null;
  step: string | null;
  message: string;
  where: string | null;
  name: string | null;
}

export interface DlqItem extends DlqListItem {
  input_data: unknown;
  error: Record<string, unknown> | null;
  fixed_input: unknown;
  note: string | null;
  /** Every recorded failure of the job, oldest first: each attempt's error and each failed step. */
  errors: DlqError[];
  timeline: Timeline;
}

export interface ReviewResult {
  dlq_id: string;
  original_job_id: string;
  resolution: Resolution;
  replay_job_id: string | null;
  /** Who acted, from the token: "operator:<sub> <email>", "service_role". */
  reviewed_by: string;
  /** The reviewer label the request gave, if any. */
  reviewer_label: string | null;
  reviewed_at: string;
  note: string | null;
  /** True when the item was already resolved this way and nothing changed (idempotent retry). */
  already_resolved: boolean;
}

export type BulkReplayItem =
  | (ReviewResult & { ok: true })
  | { ok: false; dlq_id: string; original_job_id: string; error: { code: string; message: string } };

export interface BulkReplayResult {
  matched: number;
  replayed: number;
  failed: number;
  items: BulkReplayItem[];
}

// --- groups by error fingerprint (issue 12: the dashboard's and Telegram's /dlq view) -----------

export const DlqFingerprint = z.string().regex(/^[0-9a-f]{16}$/, "a fingerprint is 16 lowercase hex digits");

export const DlqGroupsQuery = z
  .object({
    status: z.enum(["pending", "all"]).default("pending"),
    job_type: z.string().min(1).max(200).optional(),
  })
  .strict();
export type DlqGroupsQuery = z.input<typeof DlqGroupsQuery>;

export const GroupReplayBody = z
  .object({ note: note().optional(), limit: z.int().min(1).max(1000).default(500) })
  .strict();
export type GroupReplayBody = z.infer<typeof GroupReplayBody>;

export interface DlqGroup {
  fingerprint: string;
  job_type: string;
  error_name: string | null;
  step: string | null;
  message_pattern: string;
  sample_reason: string;
  sample_dlq_id: string;
  pending: number;
  total: number;
  /** pending for status=pending, total for status=all. */
  count: number;
  first_seen: string;
  last_seen: string;
  agents: string[] | null;
}

export interface GroupReplayResult {
  fingerprint: string;
  matched: number;
  replayed: number;
  failed: number;
  remaining: number;
  reviewed_by: string;
  items: BulkReplayItem[];
}

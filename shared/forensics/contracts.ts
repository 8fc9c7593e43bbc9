// Forensics contracts (PRD §4.14): what a timeline, a replay and a run diff look like, and the
// validated inputs of the replay function and CLI.
import { z } from "zod";

export const JobId = z.uuid({ message: "a job id is a UUID" });

/** A step given by its name or its 1-based position in the run ("fetch" or 2). */
export const FromStep = z.union([
  z.string().trim().min(1).max(200),
  z.int().min(1).max(999_999).transform(String),
]);

export const ReplayRequest = z
  .object({
    from_step: FromStep.optional(),
    requested_by: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export type ReplayRequest = z.infer<typeof ReplayRequest>;

export const DiffQuery = z.object({ a: JobId, b: JobId }).strict();

/** GET /replay/<job_id>/timeline: keyset pages, as GET /events. */
export const TimelineQuery = z
  .object({
    cursor: z.string().min(1).max(2000).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();
export type TimelineQuery = z.infer<typeof TimelineQuery>;
export type DiffQuery = z.infer<typeof DiffQuery>;

export interface TimelineJob {
  id: string;
  agent_slug: string;
  agent_version: number | null;
  job_type: string;
  status: string;
  attempts: number;
  max_attempts: number | null;
  worker_id: string | null;
  input: unknown;
  output: unknown;
  error: ErrorInfo | null;
  progress: unknown;
  replay_of: string | null;
  replay_from_step: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ErrorInfo {
  message?: string;
  where?: string;
  name?: string;
  code?: string;
  [k: string]: unknown;
}

interface EntryTiming {
  at: string;
  /** From the job's creation (the SLA clock's start). */
  offset_ms: number;
  /** Since the previous entry: long gaps are where a job waited or hung. */
  gap_ms: number;
}

export interface TimelineEvent extends EntryTiming {
  kind: "event";
  seq: number;
  type: string;
  step: string | null;
  tool: string | null;
  payload: Record<string, unknown>;
}

export interface TimelineStep extends EntryTiming {
  kind: "step";
  ordinal: number;
  name: string;
  status: "running" | "completed" | "failed";
  attempt: number;
  reused_from_job: string | null;
  input_hash: string | null;
  output: unknown;
  error: ErrorInfo | null;
  finished_at: string | null;
  duration_ms: number | null;
}

export type TimelineEntry = TimelineEvent | TimelineStep;

export interface Timeline {
  job: TimelineJob;
  summary: {
    events: number;
    steps: number;
    steps_completed: number;
    steps_failed: number;
    steps_running: number;
    steps_reused: number;
    step_ms: number;
    queue_ms: number | null;
    run_ms: number | null;
    total_ms: number | null;
  };
  replays: { id: string; status: string; from_step: string | null; created_at: string }[];
  dlq: {
    id: string;
    resolution: string | null;
    reviewed_by: string | null;
    reviewed_at: string | null;
    replay_job_id: string | null;
    failure_reason: string;
  } | null;
  entries: TimelineEntry[];
}

/** A timeline page: `next_cursor` fetches the next one, null on the last. */
export interface TimelinePage extends Timeline {
  next_cursor: string | null;
}

export interface ReplayResult {
  job_id: string;
  replay_of: string;
  from_step: string | null;
  /** Steps whose recorded outputs the new job reuses instead of running. */
  reused_steps: string[];
  agent_slug: string;
}

// ---- diff_runs ------------------------------------------------------------------------------------

export type JsonChange =
  | { op: "added"; path: string; b: unknown }
  | { op: "removed"; path: string; a: unknown }
  | { op: "changed"; path: string; a: unknown; b: unknown };

export interface JsonDiff {
  equal: boolean;
  changes: JsonChange[];
  /** True when there were more changes than were listed. */
  truncated: boolean;
}

export interface Delta {
  a_ms: number | null;
  b_ms: number | null;
  delta_ms: number | null;
  /** (b - a) / a in percent, one decimal; null when either side is missing or a is 0. */
  delta_pct: number | null;
}

export interface StepSide {
  ordinal: number;
  status: TimelineStep["status"];
  attempt: number;
  /** "reused": a replay copied the recorded output; "ran": the step executed. */
  mode: "ran" | "reused";
  duration_ms: number | null;
  error: ErrorInfo | null;
}

export interface StepDiff {
  name: string;
  change: "added" | "removed" | "changed" | "same";
  a: StepSide | null;
  b: StepSide | null;
  /**
   * Every aspect that differs. status, output and error make the step "changed"; mode (reused vs
   * ran) and attempt are expected in a replay and only reported.
   */
  differences: ("status" | "output" | "error" | "mode" | "attempt")[];
  output: JsonDiff | null;
  timing: Delta;
}

export interface RunSide {
  id: string;
  agent_slug: string;
  agent_version: number | null;
  status: string;
  attempts: number;
  created_at: string;
  replay_of: string | null;
  replay_from_step: string | null;
}

export interface RunDiff {
  a: RunSide;
  b: RunSide;
  /** How the two runs are related, so a reader knows what a difference means. */
  relation:
    | { kind: "b_replays_a" | "a_replays_b"; from_step: string | null }
    | { kind: "replays_of_same_job"; original: string }
    | { kind: "same_agent" | "different_agents" };
  status: { a: string; b: string; changed: boolean };
  attempts: { a: number; b: number; delta: number };
  input: JsonDiff;
  steps: StepDiff[];
  /** The first step (in run order) whose outcome differs: where the runs diverged. */
  first_divergence: string | null;
  output: JsonDiff;
  error: { a: ErrorInfo | null; b: ErrorInfo | null; changed: boolean };
  timing: { total: Delta; queue: Delta; run: Delta; steps: Delta };
  summary: {
    input_changes: number;
    output_changes: number;
    steps_added: number;
    steps_removed: number;
    steps_changed: number;
    steps_same: number;
  };
}

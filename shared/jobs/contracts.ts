// Contracts of the job runtime: what submitters send and what status readers get back. One zod
// schema per contract; the HTTP function, the CLI and the SDK all parse with these.
import { z } from "zod";

const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, "agent slugs are lowercase letters, digits, _ and -, starting with a letter");

export const SubmitOptionsSchema = z.strictObject({
  priority: z.int().min(-1000).max(1000).optional().describe("higher runs first"),
  start_after: z
    .union([z.iso.datetime({ offset: true }), z.number().min(0).max(365 * 24 * 3600)])
    .optional()
    .describe("ISO timestamp, or seconds from now"),
  retry_limit: z.int().min(0).max(100).optional().describe("retries after the first attempt"),
  expire_in_seconds: z.int().min(1).max(24 * 3600).optional().describe("how long one attempt may run"),
  singleton_key: z.string().min(1).max(200).optional(),
  singleton_seconds: z.int().min(1).max(7 * 24 * 3600).optional().describe("throttle slot for singleton_key (pg-boss semantics)"),
  replay_of: z.guid().optional().describe("the job this one replays"),
  replay_from_step: z.string().min(1).max(200).optional().describe("steps before this one are reused from replay_of"),
  source: z.string().min(1).max(100).optional().describe("who submits: api, cli, sdk, replay, dlq, ..."),
});
export type SubmitOptions = z.infer<typeof SubmitOptionsSchema>;

export const SubmitRequestSchema = z.strictObject({
  agent: slug,
  input: z.unknown().refine((v) => v !== undefined, "input is required (use {} for none)"),
  options: SubmitOptionsSchema.optional(),
});
export type SubmitRequest = z.infer<typeof SubmitRequestSchema>;

export const JOB_STATUSES = ["queued", "running", "retrying", "completed", "failed", "cancelled", "dead"] as const;
export type JobStatusName = (typeof JOB_STATUSES)[number];

export const SubmitResponseSchema = z.object({
  id: z.guid(),
  status: z.enum(JOB_STATUSES),
  warning: z.string().optional().describe("set when the job will not run soon, e.g. no live worker serves the agent"),
});
export type SubmitResponse = z.infer<typeof SubmitResponseSchema>;

export const StepSummarySchema = z.object({
  ordinal: z.int(),
  name: z.string(),
  status: z.enum(["running", "completed", "failed"]),
  attempt: z.int(),
  reused_from_job: z.string().nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  error: z.unknown().nullable(),
});
export type StepSummary = z.infer<typeof StepSummarySchema>;

export const JobStatusSchema = z.object({
  id: z.guid(),
  agent: z.string(),
  agent_version: z.int().nullable(),
  job_type: z.string(),
  status: z.enum(JOB_STATUSES),
  attempts: z.int(),
  max_attempts: z.int().nullable(),
  worker_id: z.string().nullable(),
  progress: z.unknown().nullable(),
  output: z.unknown().nullable(),
  error: z.unknown().nullable(),
  replay_of: z.string().nullable(),
  replay_from_step: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  updated_at: z.string(),
  steps: z.array(StepSummarySchema),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const CancelRequestSchema = z.strictObject({
  reason: z.string().min(1).max(1000).optional(),
  cancelled_by: z.string().min(1).max(200).optional(),
});
export type CancelRequest = z.infer<typeof CancelRequestSchema>;

export const JobIdSchema = z.guid({ message: "job id must be a UUID" });

/** What the worker records as a job's or step's error (also the DLQ's failure_reason source). */
export const JobErrorSchema = z.looseObject({
  message: z.string().min(1).max(4000),
  name: z.string().max(200).optional(),
  code: z.string().max(200).optional(),
  where: z.string().max(200).optional().describe("top stack frame where it was thrown"),
  step: z.string().max(200).optional().describe("the durable step it was thrown in"),
});
export type JobError = z.infer<typeof JobErrorSchema>;

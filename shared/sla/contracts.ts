// The SLA contracts (PRD §4.9): one zod schema per shape the `sla` function and its callers share.
import { z } from "zod";

const Ms = z.int().min(1).max(604_800_000);

/** A job type as actp_jobs records it (the agent slug), or "*" for the default row. */
export const SlaJobType = z.string().regex(/^(\*|[a-z][a-z0-9_.:-]{0,199})$/, "a job type such as research_synthesis, or * for the default");
export type SlaJobType = z.infer<typeof SlaJobType>;

/** PUT /sla/targets/:job_type: milliseconds are positive integers, the objective a fraction in (0, 1). */
export const SlaTargetInput = z.strictObject({
  time_to_first_update_ms: Ms,
  time_to_completion_ms: Ms,
  success_objective: z.number().gt(0).lt(1).default(0.99).describe("share of jobs that must be good, e.g. 0.99"),
  objective_window_days: z.int().min(1).max(365).default(30),
  min_bad_jobs: z.int().min(1).max(1_000_000).default(5).describe("no burn alert on fewer bad jobs than this"),
  expected_jobs_per_hour: z.number().min(0).nullable().optional().describe("traffic to expect; silence below it is missing data"),
});
export type SlaTargetInput = z.infer<typeof SlaTargetInput>;

export interface SlaTarget extends Required<Omit<SlaTargetInput, "expected_jobs_per_hour">> {
  job_type: string;
  expected_jobs_per_hour: number | null;
  updated_by: string | null;
  created_at: string;
  updated_at: string;
}

const WINDOW_UNITS = { m: 60, h: 3600, d: 86400 } as const;

/** GET /sla/report?window=24h: 1m .. 90d, as <n>m, <n>h or <n>d. */
export const SlaReportQuery = z.strictObject({
  window: z
    .string()
    .regex(/^[1-9][0-9]{0,4}[mhd]$/, "a window such as 15m, 24h or 7d")
    .default("24h")
    .transform((w, ctx) => {
      const seconds = Number(w.slice(0, -1)) * WINDOW_UNITS[w.at(-1) as keyof typeof WINDOW_UNITS];
      if (seconds < 60 || seconds > 90 * 86400) {
        ctx.addIssue({ code: "custom", message: "the window is 1m to 90d" });
        return z.NEVER;
      }
      return seconds;
    }),
});
export type SlaReportQuery = z.infer<typeof SlaReportQuery>;

export const JobId = z.guid();

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SlaBudget {
  status: "page" | "ticket" | "ok" | "missing_data" | "no_traffic";
  burn_rates: Record<"5m" | "30m" | "1h" | "6h" | "3d", number | null>;
  page: boolean;
  ticket: boolean;
  missing_data: boolean;
  bad_1h: number;
  total_1h: number;
  remaining: number | null;
  exhaustion_at: string | null;
  expected_per_hour: number | null;
}

export interface SlaJobTypeReport {
  job_type: string;
  target: { time_to_first_update_ms: number; time_to_completion_ms: number; success_objective: number; objective_window_days: number; is_default: boolean };
  jobs: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  success_ratio: number | null;
  breached_jobs: number;
  breaches: { time_to_first_update_ms: number; time_to_completion_ms: number };
  time_to_first_update_ms: Percentiles;
  time_to_completion_ms: Percentiles;
  time_to_dispatch_ms: Percentiles;
  tool_rounds: Percentiles;
  budget: SlaBudget | null;
  status: SlaBudget["status"] | null;
  budget_remaining: number | null;
  burn_rate_1h: number | null;
}

export interface SlaReport {
  window_seconds: number;
  generated_at: string;
  job_types: SlaJobTypeReport[];
}

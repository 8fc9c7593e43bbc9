// Feature flag contracts (PRD §4.4): one zod schema per shape, the TS types inferred from them.
// The database enforces the same rules (migrations/20261124000023_feature_flags.sql); these exist so
// a bad request gets a 400 with zod's issues before anything reaches SQL.
import { z } from "zod";

// Lower-case, no ':' (the separator of the hashed string) and no '/' (the key is a URL path segment).
export const FLAG_KEY_PATTERN = /^[a-z][a-z0-9_.-]{0,99}$/;
export const FlagKey = z
  .string()
  .regex(FLAG_KEY_PATTERN, "a flag key is 1-100 characters of a-z 0-9 _ . -, starting with a letter");
export type FlagKey = z.infer<typeof FlagKey>;

// Postgres text cannot hold NUL, and jsonb refuses unpaired surrogates; refusing them here keeps the
// TS and SQL evaluations over exactly the same set of strings.
const POSTGRES_SAFE = /^[^\u0000\p{Cs}]*$/u;

export const TargetId = z.string().min(1).max(200).regex(POSTGRES_SAFE, "must not contain NUL or unpaired surrogates");

export const RolloutPct = z.int().min(0).max(100);

const ExpiresAt = z.iso.datetime({ offset: true }).nullable();

export const CreateFlagInput = z.strictObject({
  flag_key: FlagKey,
  description: z.string().max(1000).regex(POSTGRES_SAFE).default(""),
  enabled: z.boolean().default(false),
  rollout_pct: RolloutPct.default(0),
  target_ids: z.array(TargetId).max(10_000).default([]),
  expires_at: ExpiresAt.default(null),
});
export type CreateFlagInput = z.input<typeof CreateFlagInput>;
export type NewFlag = z.output<typeof CreateFlagInput>;

// The key names the row and is never changed: PATCH carries only the other fields.
export const UpdateFlagInput = z
  .strictObject({
    description: z.string().max(1000).regex(POSTGRES_SAFE).optional(),
    enabled: z.boolean().optional(),
    rollout_pct: RolloutPct.optional(),
    target_ids: z.array(TargetId).max(10_000).optional(),
    expires_at: ExpiresAt.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: "nothing to update" });
export type UpdateFlagInput = z.infer<typeof UpdateFlagInput>;

/**
 * The context a flag is evaluated for. Which keys count is fixed here and in SQL:
 * - targeting ids (matched against target_ids): "agent", "user" and every key ending in "_id";
 * - the stickiness id (hashed for the rollout): "agent", else "user".
 * Those keys must be non-empty strings; other keys are free-form JSON and ignored by the evaluation.
 */
export const ID_KEYS = ["agent", "user"] as const;
export const isIdKey = (key: string): boolean => key === "agent" || key === "user" || key.endsWith("_id");

function allStringsSafe(v: unknown): boolean {
  if (typeof v === "string") return POSTGRES_SAFE.test(v);
  if (Array.isArray(v)) return v.every(allStringsSafe);
  if (v !== null && typeof v === "object") return Object.entries(v).every(([k, x]) => POSTGRES_SAFE.test(k) && allStringsSafe(x));
  return true;
}

export const FlagContext = z
  .record(z.string().min(1).max(100), z.json())
  .superRefine((ctx, issue) => {
    for (const [k, v] of Object.entries(ctx)) {
      if (!isIdKey(k)) continue;
      const r = TargetId.safeParse(v);
      if (!r.success) issue.addIssue({ code: "custom", path: [k], message: `"${k}" is an id: a non-empty string of at most 200 characters` });
    }
    if (JSON.stringify(ctx).length > 64 * 1024) issue.addIssue({ code: "custom", message: "context is larger than 64 KiB" });
    if (!allStringsSafe(ctx)) issue.addIssue({ code: "custom", message: "context strings must not contain NUL or unpaired surrogates" });
  });
export type FlagContext = z.infer<typeof FlagContext>;

export const EvaluateRequest = z.strictObject({
  flag_key: FlagKey,
  context: FlagContext.default({}),
});
export type EvaluateRequest = z.infer<typeof EvaluateRequest>;

export const BatchEvaluateRequest = z.strictObject({
  flags: z.array(FlagKey).min(1).max(100),
  context: FlagContext.default({}),
});
export type BatchEvaluateRequest = z.infer<typeof BatchEvaluateRequest>;

/** Why a flag evaluated as it did; the same words come out of SQL (actp_flag_decide). */
export const EvaluationReason = z.enum(["not_found", "disabled", "expired", "targeted", "rollout", "no_stickiness_id"]);
export type EvaluationReason = z.infer<typeof EvaluationReason>;

export const FlagEvaluation = z.object({
  flag_key: z.string(),
  enabled: z.boolean(),
  reason: EvaluationReason,
  /** 0-99, present when the rollout decided. */
  bucket: z.int().min(0).max(99).optional(),
});
export type FlagEvaluation = z.infer<typeof FlagEvaluation>;

/** A stored flag as the API returns it. */
export interface FeatureFlag {
  id: string;
  flag_key: string;
  description: string;
  enabled: boolean;
  rollout_pct: number;
  target_ids: string[];
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** What the evaluation needs from a flag row. */
export type FlagDefinition = Pick<FeatureFlag, "flag_key" | "enabled" | "rollout_pct" | "target_ids"> & {
  expires_at: string | Date | null;
};

// Every SQL statement of the flags component, one typed function each (pg-boss plans.ts style).
// Callers pass a Queryable: a role-scoped transaction from the HTTP layer, or the worker's pool.
import type { Queryable } from "../db/types.ts";
import { conflict } from "../errors.ts";
import type { FeatureFlag, FlagEvaluation, NewFlag, UpdateFlagInput } from "./contracts.ts";
import type { EvaluationContext } from "./evaluate.ts";

const COLUMNS = `id, flag_key, description, enabled, rollout_pct, target_ids, expires_at, created_at, updated_at`;

interface FlagDbRow {
  id: string;
  flag_key: string;
  description: string;
  enabled: boolean;
  rollout_pct: number;
  target_ids: string[];
  expires_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

function toFlag(r: FlagDbRow): FeatureFlag {
  return {
    id: r.id,
    flag_key: r.flag_key,
    description: r.description,
    enabled: r.enabled,
    rollout_pct: r.rollout_pct,
    target_ids: r.target_ids,
    expires_at: r.expires_at === null ? null : iso(r.expires_at),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export async function listFlags(db: Queryable): Promise<FeatureFlag[]> {
  const { rows } = await db.query<FlagDbRow>(`select ${COLUMNS} from public.actp_feature_flags order by flag_key`);
  return rows.map(toFlag);
}

export async function getFlag(db: Queryable, flagKey: string): Promise<FeatureFlag | null> {
  const { rows } = await db.query<FlagDbRow>(`select ${COLUMNS} from public.actp_feature_flags where flag_key = $1`, [flagKey]);
  return rows[0] ? toFlag(rows[0]) : null;
}

/** The rows of the given keys that exist (unknown keys are simply absent). */
export async function getFlags(db: Queryable, flagKeys: readonly string[]): Promise<FeatureFlag[]> {
  const { rows } = await db.query<FlagDbRow>(
    `select ${COLUMNS} from public.actp_feature_flags where flag_key = any($1::text[])`,
    [flagKeys],
  );
  return rows.map(toFlag);
}

/** Creates a flag; a key that exists already is a 409 (flags.conflict) and changes nothing. */
export async function createFlag(db: Queryable, flag: NewFlag): Promise<FeatureFlag> {
  const { rows } = await db.query<FlagDbRow>(
    `insert into public.actp_feature_flags (flag_key, description, enabled, rollout_pct, target_ids, expires_at)
     values ($1, $2, $3, $4, $5::text[], $6::timestamptz)
     on conflict (flag_key) do nothing
     returning ${COLUMNS}`,
    [flag.flag_key, flag.description, flag.enabled, flag.rollout_pct, flag.target_ids, flag.expires_at],
  );
  if (!rows[0]) throw conflict("flags.conflict", `flag "${flag.flag_key}" already exists`);
  return toFlag(rows[0]);
}

/**
 * Updates the fields present in the patch (expires_at: null clears it) in one statement; null when
 * the flag does not exist. The patch travels as one jsonb parameter so absent and null differ.
 */
export async function updateFlag(db: Queryable, flagKey: string, patch: UpdateFlagInput): Promise<FeatureFlag | null> {
  const { rows } = await db.query<FlagDbRow>(
    `update public.actp_feature_flags f set
       description = case when $2::jsonb ? 'description' then $2::jsonb ->> 'description' else f.description end,
       enabled     = case when $2::jsonb ? 'enabled' then ($2::jsonb ->> 'enabled')::boolean else f.enabled end,
       rollout_pct = case when $2::jsonb ? 'rollout_pct' then ($2::jsonb ->> 'rollout_pct')::int else f.rollout_pct end,
       target_ids  = case when $2::jsonb ? 'target_ids'
                          then array(select jsonb_array_elements_text($2::jsonb -> 'target_ids'))
                          else f.target_ids end,
       expires_at  = case when $2::jsonb ? 'expires_at' then ($2::jsonb ->> 'expires_at')::timestamptz else f.expires_at end
     where f.flag_key = $1
     returning ${COLUMNS}`,
    [flagKey, JSON.stringify(patch)],
  );
  return rows[0] ? toFlag(rows[0]) : null;
}

export async function deleteFlag(db: Queryable, flagKey: string): Promise<FeatureFlag | null> {
  const { rows } = await db.query<FlagDbRow>(
    `delete from public.actp_feature_flags where flag_key = $1 returning ${COLUMNS}`,
    [flagKey],
  );
  return rows[0] ? toFlag(rows[0]) : null;
}

/** Evaluates flags in SQL (actp_flags_evaluate), in the order given, for one context. */
export async function evaluateFlagsInDb(
  db: Queryable,
  flagKeys: readonly string[],
  context: EvaluationContext,
): Promise<FlagEvaluation[]> {
  const { rows } = await db.query<{ e: FlagEvaluation }>(
    `select e from public.actp_flags_evaluate($1::text[], $2::jsonb) as e`,
    [flagKeys, JSON.stringify(context)],
  );
  return rows.map((r) => r.e);
}

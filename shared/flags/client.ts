// Flags read from the database and evaluated in process, with an optional short-lived cache of rows
// so a hot path (ctx.flags in a job loop) does not pay a round trip per check. The cache holds rows,
// not answers, so one cached row serves every context; unknown flags are cached too (as absent).
import type { Queryable } from "../db/types.ts";
import type { FeatureFlag, FlagEvaluation } from "./contracts.ts";
import { evaluateFlag, type EvaluationContext } from "./evaluate.ts";
import { getFlags } from "./queries.ts";

export interface FlagCacheOptions {
  /** How long a row read from the database is trusted; a change is seen at most this late. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_FLAG_CACHE_TTL_MS = 5_000;

export class FlagCache {
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, { until: number; row: Promise<FeatureFlag | null> }>();

  constructor(opts: FlagCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_FLAG_CACHE_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The row of each key (null: no such flag), reading only the keys not cached, in one query. */
  async rows(db: Queryable, flagKeys: readonly string[]): Promise<Map<string, FeatureFlag | null>> {
    const t = this.now();
    const missing = [...new Set(flagKeys)].filter((k) => {
      const e = this.entries.get(k);
      return !e || e.until <= t;
    });
    if (missing.length > 0) {
      // Concurrent callers share one read per key instead of each starting their own.
      const read = getFlags(db, missing).then((rows) => new Map(rows.map((r) => [r.flag_key, r])));
      for (const k of missing) {
        const row = read.then((m) => m.get(k) ?? null);
        this.entries.set(k, { until: t + this.ttlMs, row });
        row.catch(() => this.entries.delete(k));
      }
    }
    const out = new Map<string, FeatureFlag | null>();
    for (const k of flagKeys) out.set(k, await this.entries.get(k)!.row);
    return out;
  }

  invalidate(flagKey?: string): void {
    if (flagKey === undefined) this.entries.clear();
    else this.entries.delete(flagKey);
  }
}

export interface FlagReadOptions {
  /** Reuse rows read within the cache's ttl; without one every call reads the database. */
  cache?: FlagCache;
  now?: Date;
}

async function loadRows(db: Queryable, flagKeys: readonly string[], cache?: FlagCache): Promise<Map<string, FeatureFlag | null>> {
  if (cache) return cache.rows(db, flagKeys);
  const rows = await getFlags(db, flagKeys);
  const byKey = new Map<string, FeatureFlag | null>(rows.map((r) => [r.flag_key, r]));
  return new Map(flagKeys.map((k) => [k, byKey.get(k) ?? null]));
}

export async function evaluateFlags(
  db: Queryable,
  flagKeys: readonly string[],
  context: EvaluationContext,
  opts: FlagReadOptions = {},
): Promise<FlagEvaluation[]> {
  const rows = await loadRows(db, flagKeys, opts.cache);
  const now = opts.now ?? new Date();
  return Promise.all(flagKeys.map((k) => evaluateFlag(k, rows.get(k) ?? null, context, now)));
}

export async function evaluate(
  db: Queryable,
  flagKey: string,
  context: EvaluationContext,
  opts: FlagReadOptions = {},
): Promise<FlagEvaluation> {
  return (await evaluateFlags(db, [flagKey], context, opts))[0]!;
}

/** Is the flag on for this context? Unknown flags are off. */
export async function isEnabled(
  db: Queryable,
  flagKey: string,
  context: EvaluationContext,
  opts: FlagReadOptions = {},
): Promise<boolean> {
  return (await evaluate(db, flagKey, context, opts)).enabled;
}

/** Flags bound to one context: what the job runtime exposes as ctx.flags. */
export interface ContextFlags {
  isEnabled(flagKey: string): Promise<boolean>;
  evaluate(flagKey: string): Promise<FlagEvaluation>;
}

/**
 * ctx.flags for a job: the context is fixed (e.g. { agent, job_id }); rows are cached for
 * DEFAULT_FLAG_CACHE_TTL_MS unless a (shared, process-wide) cache is passed in.
 */
export function flagsFor(db: Queryable, context: EvaluationContext, opts: { cache?: FlagCache } = {}): ContextFlags {
  const cache = opts.cache ?? new FlagCache();
  const frozen = Object.freeze({ ...context });
  return {
    isEnabled: (flagKey) => isEnabled(db, flagKey, frozen, { cache }),
    evaluate: (flagKey) => evaluate(db, flagKey, frozen, { cache }),
  };
}

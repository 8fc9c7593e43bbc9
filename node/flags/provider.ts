// An OpenFeature server provider over actp's flags, so an app that already evaluates flags through
// OpenFeature reads actp flags unchanged. Flags are booleans: the other types answer TYPE_MISMATCH.
// Rows are read from the database (optionally cached a few seconds) and evaluated in process by the
// same code as everywhere else (shared/flags/evaluate.ts).
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type ResolutionReason,
} from "@openfeature/server-sdk";
import type { Queryable } from "../../shared/db/types.ts";
import { FLAG_KEY_PATTERN, type EvaluationReason } from "../../shared/flags/contracts.ts";
import { FlagCache, evaluate } from "../../shared/flags/client.ts";

export interface ActpFeatureFlagProviderOptions {
  /** Trust a flag row this long (ms); 0 reads the database on every evaluation. Default 5000. */
  cacheTtlMs?: number;
}

const REASONS: Record<EvaluationReason, ResolutionReason> = {
  not_found: StandardResolutionReasons.DEFAULT,
  disabled: StandardResolutionReasons.DISABLED,
  expired: StandardResolutionReasons.DISABLED,
  targeted: StandardResolutionReasons.TARGETING_MATCH,
  rollout: StandardResolutionReasons.SPLIT,
  no_stickiness_id: StandardResolutionReasons.DEFAULT,
};

/**
 * OpenFeature's context to actp's: attributes pass through, and targetingKey becomes the stickiness
 * id by filling "agent". An explicit "agent" attribute wins, because actp sticks to the agent first.
 */
export function toActpContext(context: EvaluationContext): Record<string, unknown> {
  const { targetingKey, ...attributes } = context;
  const out: Record<string, unknown> = { ...attributes };
  const hasAgent = typeof out.agent === "string" && out.agent !== "";
  if (!hasAgent && typeof targetingKey === "string" && targetingKey !== "") out.agent = targetingKey;
  return out;
}

export class ActpFeatureFlagProvider implements Provider {
  readonly metadata = { name: "actp" } as const;
  readonly runsOn = "server" as const;
  private readonly cache: FlagCache | undefined;

  constructor(
    private readonly db: Queryable,
    opts: ActpFeatureFlagProviderOptions = {},
  ) {
    const ttl = opts.cacheTtlMs ?? 5_000;
    this.cache = ttl > 0 ? new FlagCache({ ttlMs: ttl }) : undefined;
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    // A key that cannot exist is not worth a round trip.
    if (!FLAG_KEY_PATTERN.test(flagKey)) return notFound(flagKey, defaultValue);
    const r = await evaluate(this.db, flagKey, toActpContext(context), { cache: this.cache });
    if (r.reason === "not_found") return notFound(flagKey, defaultValue);
    return {
      value: r.enabled,
      variant: r.enabled ? "on" : "off",
      reason: REASONS[r.reason],
      flagMetadata: { actpReason: r.reason, ...(r.bucket === undefined ? {} : { bucket: r.bucket }) },
    };
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return typeMismatch(flagKey, defaultValue);
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return typeMismatch(flagKey, defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return typeMismatch(flagKey, defaultValue);
  }

  async onClose(): Promise<void> {
    this.cache?.invalidate();
  }
}

function notFound<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.DEFAULT,
    errorCode: ErrorCode.FLAG_NOT_FOUND,
    errorMessage: `no actp flag "${flagKey}"`,
  };
}

function typeMismatch<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `actp flag "${flagKey}" is a boolean flag`,
  };
}

// The flag evaluation in TypeScript, step for step the same as public.actp_flag_decide() in SQL
// (tests prove the two agree on 10,000 ids). Runtime-neutral: WebCrypto only, so Deno and Node
// compute the same bucket as Postgres's sha256().
import { ActpError } from "../errors.ts";
import { isIdKey, type FlagDefinition, type FlagEvaluation } from "./contracts.ts";

export type EvaluationContext = Readonly<Record<string, unknown>>;

const utf8 = new TextEncoder();

/**
 * The rollout bucket of an id for a flag, 0-99: the first 4 bytes of sha256(utf8(flagKey + ":" + id))
 * as an unsigned big-endian integer, mod 100. It does not depend on rollout_pct, which is why raising
 * rollout_pct only ever adds ids (an id is in when bucket < rollout_pct).
 */
export async function flagBucket(flagKey: string, id: string): Promise<number> {
  const digest = await crypto.subtle.digest("SHA-256", utf8.encode(`${flagKey}:${id}`));
  return new DataView(digest).getUint32(0, false) % 100;
}

const idValue = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** The ids matched against target_ids: "agent", "user" and every "*_id" key holding a non-empty string. */
export function targetingIds(context: EvaluationContext): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(context)) {
    const id = isIdKey(k) ? idValue(v) : null;
    if (id !== null) out.push(id);
  }
  return out;
}

/** The id a rollout sticks to: the context's agent, else its user. */
export function stickinessId(context: EvaluationContext): string | null {
  return idValue(context.agent) ?? idValue(context.user);
}

function checkContext(context: unknown): EvaluationContext {
  if (context === null || context === undefined) return {};
  if (typeof context !== "object" || Array.isArray(context)) {
    throw new ActpError("flags.invalid_context", "context must be a JSON object");
  }
  return context as EvaluationContext;
}

/**
 * Evaluates one flag row (null: the flag does not exist) for a context at a moment. Order: unknown,
 * disabled, expired, targeted, rollout by stickiness id, and without one only a 100% rollout is on.
 */
export async function evaluateFlag(
  flagKey: string,
  flag: FlagDefinition | null | undefined,
  context: EvaluationContext | null | undefined,
  now: Date = new Date(),
): Promise<FlagEvaluation> {
  const ctx = checkContext(context);
  if (!flag) return { flag_key: flagKey, enabled: false, reason: "not_found" };
  if (!flag.enabled) return { flag_key: flagKey, enabled: false, reason: "disabled" };
  if (flag.expires_at !== null) {
    const expires = flag.expires_at instanceof Date ? flag.expires_at.getTime() : Date.parse(flag.expires_at);
    if (expires <= now.getTime()) return { flag_key: flagKey, enabled: false, reason: "expired" };
  }
  if (flag.target_ids.length > 0) {
    const targets = new Set(flag.target_ids);
    if (targetingIds(ctx).some((id) => targets.has(id))) return { flag_key: flagKey, enabled: true, reason: "targeted" };
  }
  const sticky = stickinessId(ctx);
  if (sticky === null) return { flag_key: flagKey, enabled: flag.rollout_pct >= 100, reason: "no_stickiness_id" };
  const bucket = await flagBucket(flagKey, sticky);
  return { flag_key: flagKey, enabled: bucket < flag.rollout_pct, reason: "rollout", bucket };
}

/** isEnabled over a flag row already read (null: unknown flag, so false). */
export async function isEnabled(
  flag: FlagDefinition | null | undefined,
  context: EvaluationContext | null | undefined,
  now?: Date,
): Promise<boolean> {
  return (await evaluateFlag(flag?.flag_key ?? "", flag, context, now)).enabled;
}

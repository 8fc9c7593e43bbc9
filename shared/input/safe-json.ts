// The one gate every JSON value and URL parameter passes before it reaches zod or SQL. Postgres
// refuses NUL in text and jsonb (22021 / 22P05) and any lone UTF-16 surrogate cannot be encoded as
// UTF-8, so both are answered here with a 400 instead of a database error; nesting past
// MAX_JSON_DEPTH is refused before zod or JSON.stringify recurse into it and overflow the stack.
// The walk is iterative (an explicit stack), so a 100,000-deep value is measured, not recursed.
import { ActpError, type ErrorCode } from "../errors.ts";

/** Deeper than any contract of actp's needs; Postgres' own jsonb limit is far deeper. */
export const MAX_JSON_DEPTH = 64;

export type UnsafeReason = "nul" | "lone_surrogate" | "too_deep";

export interface UnsafeFinding {
  reason: UnsafeReason;
  /** JSON-pointer-like path of the offending value or key ("" is the root). */
  path: string;
}

/** True when the string is valid Unicode (no unpaired surrogate). */
export function isWellFormedText(s: string): boolean {
  // String.prototype.isWellFormed is ES2024; the loop is the same check without it.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return false;
  }
  return true;
}

function textProblem(s: string): UnsafeReason | null {
  if (s.includes("\u0000")) return "nul";
  return isWellFormedText(s) ? null : "lone_surrogate";
}

const escapeKey = (k: string) => k.replace(/~/g, "~0").replace(/\//g, "~1");

/** The first thing in `value` Postgres or the stack cannot take, or null. */
export function findUnsafe(value: unknown, maxDepth = MAX_JSON_DEPTH): UnsafeFinding | null {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: "" }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v === "string") {
      const p = textProblem(v);
      if (p) return { reason: p, path };
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (depth >= maxDepth) return { reason: "too_deep", path };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1, path: `${path}/${i}` });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      const p = textProblem(k);
      if (p) return { reason: p, path: `${path}/${escapeKey(k.replace(/\u0000/g, "\\u0000"))}` };
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: `${path}/${escapeKey(k)}` });
    }
  }
  return null;
}

const MESSAGES: Record<UnsafeReason, string> = {
  nul: "text may not contain NUL (\\u0000): Postgres cannot store it",
  lone_surrogate: "text contains an unpaired UTF-16 surrogate: it is not valid Unicode",
  too_deep: `JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
};

export const UNSAFE_CODES: Record<UnsafeReason, ErrorCode> = {
  nul: "input.nul_character",
  lone_surrogate: "input.invalid_unicode",
  too_deep: "input.too_deep",
};

/** Throws the structured 400 for the first unsafe part of `value`; `where` names the input (body, query, ...). */
export function assertSafeJson(value: unknown, where: string): void {
  const f = findUnsafe(value);
  if (!f) return;
  throw new ActpError(UNSAFE_CODES[f.reason], `${where}: ${MESSAGES[f.reason]}`, { details: { where, path: f.path, reason: f.reason } });
}

// Who is calling, in actp's terms (DESIGN.md "Who may do what"). On Supabase `authenticated` is anyone
// who signed up to the user's app, so it grants nothing by itself: an operator or viewer is an
// authenticated user whose `app_metadata.actp_role` says so. app_metadata is writable only with the
// service role, so nobody can grant it to themself. The SQL twin is actp_caller_kind() (migration
// 20261203000100_caller_roles.sql); RLS policies ask that one, function middleware asks this one.
import { z } from "zod";
import type { JwtClaims } from "../db/types.ts";

export const ActpRole = z.enum(["operator", "viewer"]);
export type ActpRole = z.infer<typeof ActpRole>;

/** service_role: everything; operator: read + act; viewer: read; user / anon: nothing of actp's. */
export type CallerKind = "service_role" | "operator" | "viewer" | "user" | "anon";

export interface Caller {
  kind: CallerKind;
  /** The token's subject (a Supabase user id), when it has one. */
  sub: string | null;
  email: string | null;
}

function actpRoleOf(claims: JwtClaims): ActpRole | null {
  const meta = claims["app_metadata"];
  if (!meta || typeof meta !== "object" || Array.isArray(meta)) return null;
  const r = ActpRole.safeParse((meta as Record<string, unknown>)["actp_role"]);
  return r.success ? r.data : null;
}

export function callerOf(claims: JwtClaims): Caller {
  const sub = typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : null;
  const email = typeof claims["email"] === "string" && claims["email"] !== "" ? (claims["email"] as string) : null;
  let kind: CallerKind;
  if (claims.role === "service_role") kind = "service_role";
  else if (claims.role === "authenticated") kind = actpRoleOf(claims) ?? "user";
  else kind = "anon";
  return { kind, sub, email };
}

/** May read actp's tables and reports (dashboards, timelines, DLQ, spend). */
export const canRead = (c: Caller): boolean => c.kind === "service_role" || c.kind === "operator" || c.kind === "viewer";

/** May act as an operator (DLQ review, approvals, circuits, incidents). */
export const canAct = (c: Caller): boolean => c.kind === "service_role" || c.kind === "operator";

/**
 * The identity an action records: taken from the token, never from the body. A label the body
 * supplies (e.g. "reviewer": "alice on call") is kept beside it, not instead of it.
 */
export function actorOf(c: Caller): string {
  if (c.kind === "service_role") return c.sub ? `service_role:${c.sub}` : "service_role";
  const who = c.sub ?? "unknown";
  return c.email ? `${c.kind}:${who} <${c.email}>` : `${c.kind}:${who}`;
}

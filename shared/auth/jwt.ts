// Supabase-style API keys and bearer-token checks (HS256 with the project's JWT secret), shared by
// the local gateway (verify_jwt) and by functions that need the caller's role.
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { z } from "zod";
import type { JwtClaims } from "../db/types.ts";

export const ApiRole = z.enum(["anon", "authenticated", "service_role"]);
export type ApiRole = z.infer<typeof ApiRole>;

const ClaimsSchema = z.looseObject({
  role: ApiRole,
  sub: z.string().optional(),
  exp: z.number().optional(),
});

const TEN_YEARS_S = 10 * 365 * 24 * 3600;

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Signs a long-lived API key the way `supabase start` does (iss "supabase-demo", a role claim). */
export async function signApiKey(secret: string, role: ApiRole, extra: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role, ...extra })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("supabase-demo")
    .setIssuedAt(now)
    .setExpirationTime(now + TEN_YEARS_S)
    .sign(keyOf(secret));
}

export type VerifyResult = { ok: true; claims: JwtClaims; token: string } | { ok: false; reason: string };

export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(authorization);
  return m ? m[1]! : null;
}

/** Checks an Authorization header: HS256 only, signature, expiry, and a known API role. */
export async function verifyBearer(secret: string, authorization: string | null | undefined): Promise<VerifyResult> {
  const token = bearerToken(authorization);
  if (!token) return { ok: false, reason: "missing bearer token" };
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: ["HS256"] });
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) return { ok: false, reason: "token has no valid role claim" };
    return { ok: true, claims: claims.data as JwtClaims, token };
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: "token expired" };
    return { ok: false, reason: "invalid token signature or format" };
  }
}

// A token for an actp operator or viewer, shaped like a Supabase user's access token: role
// "authenticated", sub, email, app_metadata.actp_role, exp. On a Supabase project the auth server
// issues these after `auth.admin.updateUserById(id, { app_metadata: { actp_role } })`; locally
// `actp operators token` signs one with the data directory's secret, for the dashboard and tests.
import { SignJWT } from "jose";
import { z } from "zod";
import { ActpRole } from "./roles.ts";

export const OperatorTokenRequest = z.strictObject({
  role: ActpRole,
  sub: z.uuid().optional(),
  email: z.email().optional(),
  /** Lifetime; Supabase's default access token lives an hour, a dev token a day. */
  ttl_seconds: z.int().min(60).max(366 * 24 * 3600).default(24 * 3600),
});
export type OperatorTokenRequest = z.input<typeof OperatorTokenRequest>;

export interface OperatorToken {
  token: string;
  sub: string;
  role: ActpRole;
  expires_at: string;
}

export async function signOperatorToken(secret: string, request: OperatorTokenRequest): Promise<OperatorToken> {
  const r = OperatorTokenRequest.parse(request);
  const sub = r.sub ?? crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const exp = now + r.ttl_seconds;
  const token = await new SignJWT({
    role: "authenticated",
    aud: "authenticated",
    ...(r.email ? { email: r.email } : {}),
    app_metadata: { actp_role: r.role },
    user_metadata: {},
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("actp-local")
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
  return { token, sub, role: r.role, expires_at: new Date(exp * 1000).toISOString() };
}

// The operator's session. Locally: a token printed by `actp operators token`, pasted once. On a
// Supabase project: Supabase Auth through supabase-js (password or email magic link); the session's
// access token is the JWT every API call carries, so RLS and the functions decide what it may do.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { config } from "./config.ts";

const TOKEN_KEY = "actp.dashboard.token";

export type ActpRole = "operator" | "viewer" | "service_role" | null;

export interface Session {
  token: string;
  role: ActpRole;
  sub: string | null;
  email: string | null;
  expiresAt: number | null;
}

let supabase: SupabaseClient | null = null;
function client(): SupabaseClient {
  const c = config();
  supabase ??= createClient(c.apiUrl, c.anonKey, { auth: { persistSession: true, detectSessionInUrl: true } });
  return supabase;
}

function b64urlJson(part: string): Record<string, unknown> {
  const s = part.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)))) as Record<string, unknown>;
}

/** Reads (not verifies: the server does) the claims that decide what the UI offers. */
export function sessionFromToken(token: string): Session | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  try {
    const claims = b64urlJson(parts[1]!);
    const meta = (claims.app_metadata ?? {}) as Record<string, unknown>;
    const role: ActpRole =
      claims.role === "service_role" ? "service_role" : meta.actp_role === "operator" ? "operator" : meta.actp_role === "viewer" ? "viewer" : null;
    return {
      token: token.trim(),
      role,
      sub: typeof claims.sub === "string" ? claims.sub : null,
      email: typeof claims.email === "string" ? claims.email : null,
      expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : null,
    };
  } catch {
    return null;
  }
}

export async function currentSession(): Promise<Session | null> {
  if (config().auth === "supabase") {
    const { data } = await client().auth.getSession();
    return data.session ? sessionFromToken(data.session.access_token) : null;
  }
  const t = localStorage.getItem(TOKEN_KEY);
  const s = t ? sessionFromToken(t) : null;
  if (s && s.expiresAt !== null && s.expiresAt < Date.now()) {
    localStorage.removeItem(TOKEN_KEY);
    return null;
  }
  return s;
}

export function useToken(token: string): Session | null {
  const s = sessionFromToken(token);
  if (s) localStorage.setItem(TOKEN_KEY, s.token);
  return s;
}

export async function signInWithPassword(email: string, password: string): Promise<string | null> {
  const { error } = await client().auth.signInWithPassword({ email, password });
  return error ? error.message : null;
}

export async function sendMagicLink(email: string): Promise<string | null> {
  const { error } = await client().auth.signInWithOtp({ email, options: { emailRedirectTo: window.location.href.split("#")[0] } });
  return error ? error.message : null;
}

export async function signOut(): Promise<void> {
  localStorage.removeItem(TOKEN_KEY);
  if (config().auth === "supabase") await client().auth.signOut();
}

export const canAct = (s: Session | null): boolean => s?.role === "operator" || s?.role === "service_role";

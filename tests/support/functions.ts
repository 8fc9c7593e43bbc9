// Function tests call the Hono apps directly (app.request) against the tier's database, with a
// fresh project secret and the anon / service_role keys signed with it.
import { configureRuntime } from "../../functions/_shared/runtime.ts";
import { loadProjectKeys, type ProjectKeys } from "../../node/keys.ts";
import type { Database } from "../../shared/db/types.ts";
import { testDatabase } from "./db.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { signOperatorToken } from "../../shared/auth/operator-token.ts";

/** The five kinds of caller (DESIGN.md "Who may do what"). */
export type CallerKindForTest = "service_role" | "operator" | "viewer" | "user" | "anon";

export interface FunctionHarness {
  db: Database;
  keys: ProjectKeys;
  headers(role: "anon" | "service_role" | "none", extra?: Record<string, string>): Record<string, string>;
  /** A bearer token for each kind of caller: operator and viewer carry app_metadata.actp_role. */
  token(kind: CallerKindForTest, opts?: { sub?: string; email?: string }): Promise<string>;
  /** Headers with that caller's bearer token. */
  as(kind: CallerKindForTest, extra?: Record<string, string>): Promise<Record<string, string>>;
}

export async function callerToken(secret: string, kind: CallerKindForTest, opts: { sub?: string; email?: string } = {}): Promise<string> {
  if (kind === "operator" || kind === "viewer") return (await signOperatorToken(secret, { role: kind, ...opts })).token;
  if (kind === "user") return signApiKey(secret, "authenticated", { sub: opts.sub ?? crypto.randomUUID(), ...(opts.email ? { email: opts.email } : {}) });
  return signApiKey(secret, kind);
}

export async function functionHarness(): Promise<FunctionHarness> {
  const db = testDatabase();
  const keys = await loadProjectKeys(null);
  configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: true });
  return {
    db,
    keys,
    headers(role, extra = {}) {
      const out: Record<string, string> = { ...extra };
      if (role !== "none") out.authorization = `Bearer ${role === "anon" ? keys.anonKey : keys.serviceRoleKey}`;
      return out;
    },
    token: (kind, opts) => callerToken(keys.jwtSecret, kind, opts),
    async as(kind, extra = {}) {
      return { ...extra, authorization: `Bearer ${await callerToken(keys.jwtSecret, kind)}` };
    },
  };
}

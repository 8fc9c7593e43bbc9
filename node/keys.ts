// The project's JWT secret and the API keys signed with it, like `supabase start` prints.
// Generated once per data directory and kept beside it; ACTP_JWT_SECRET overrides (use your
// Supabase project's JWT secret to run the gateway in front of a hosted database).
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { signApiKey } from "../shared/auth/jwt.ts";

export interface ProjectKeys {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
  source: "env" | "file" | "generated" | "ephemeral";
}

interface KeyFile {
  jwt_secret: string;
  anon_key?: string;
  service_role_key?: string;
}

export function keyFilePath(dataDir: string): string {
  return resolve(dataDir, "keys.json");
}

export async function loadProjectKeys(dataDir: string | null): Promise<ProjectKeys> {
  let secret = process.env.ACTP_JWT_SECRET || null;
  let source: ProjectKeys["source"] = "env";
  if (!secret && dataDir) {
    const path = keyFilePath(dataDir);
    let file: KeyFile | null = null;
    try {
      file = JSON.parse(await readFile(path, "utf8")) as KeyFile;
    } catch {
      file = null;
    }
    if (file?.jwt_secret && file.anon_key && file.service_role_key) {
      // The same keys on every start, so a key pasted into an app keeps working.
      return { jwtSecret: file.jwt_secret, anonKey: file.anon_key, serviceRoleKey: file.service_role_key, source: "file" };
    }
    secret = randomBytes(32).toString("base64url");
    const keys: KeyFile = {
      jwt_secret: secret,
      anon_key: await signApiKey(secret, "anon"),
      service_role_key: await signApiKey(secret, "service_role"),
    };
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600 });
    return { jwtSecret: secret, anonKey: keys.anon_key!, serviceRoleKey: keys.service_role_key!, source: "generated" };
  }
  if (!secret) {
    secret = randomBytes(32).toString("base64url");
    source = "ephemeral";
  }
  if (secret.length < 32) throw new Error("ACTP_JWT_SECRET must be at least 32 characters");
  return {
    jwtSecret: secret,
    anonKey: await signApiKey(secret, "anon"),
    serviceRoleKey: await signApiKey(secret, "service_role"),
    source,
  };
}

// Discovers the edge functions (functions/<name>/app.ts) and their verify_jwt setting from
// supabase/config.toml, the same file the Supabase CLI deploys from.
import { readFile, readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Hono } from "hono";
import { PROJECT_ROOT } from "../config.ts";

export interface FunctionModule {
  name: string;
  verifyJwt: boolean;
  app: Hono<any, any, any>;
}

export const FUNCTIONS_DIR = resolve(PROJECT_ROOT, "functions");

export async function functionNames(): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(FUNCTIONS_DIR)) {
    if (entry.startsWith("_") || entry.startsWith(".")) continue;
    const app = resolve(FUNCTIONS_DIR, entry, "app.ts");
    if (await stat(app).then((s) => s.isFile(), () => false)) names.push(entry);
  }
  return names.sort();
}

/** verify_jwt per function from config.toml; Supabase's default is true. */
export async function verifyJwtSettings(): Promise<Map<string, boolean>> {
  const toml = await readFile(resolve(PROJECT_ROOT, "supabase/config.toml"), "utf8");
  const out = new Map<string, boolean>();
  let section: string | null = null;
  for (const line of toml.split("\n")) {
    const header = /^\s*\[functions\.([A-Za-z0-9_-]+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (/^\s*\[/.test(line)) {
      section = null;
      continue;
    }
    const kv = /^\s*verify_jwt\s*=\s*(true|false)\s*(#.*)?$/.exec(line);
    if (section && kv) out.set(section, kv[1] === "true");
  }
  return out;
}

export async function loadFunctions(): Promise<FunctionModule[]> {
  const settings = await verifyJwtSettings();
  const mods: FunctionModule[] = [];
  for (const name of await functionNames()) {
    const mod = (await import(pathToFileURL(resolve(FUNCTIONS_DIR, name, "app.ts")).href)) as { app?: Hono };
    if (!mod.app) throw new Error(`functions/${name}/app.ts must export \`app\``);
    mods.push({ name, verifyJwt: settings.get(name) ?? true, app: mod.app });
  }
  return mods;
}

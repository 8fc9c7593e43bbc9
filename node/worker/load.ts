// Loads the agents a module exports: every export that is a defineAgent() result, or an array of them.
// The module is imported by its own path, so its imports (zod, actp, anything) resolve from ITS
// folder and node_modules, not from actp's.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ActpError } from "../../shared/errors.ts";
import { isAgentDefinition, type AnyAgentDefinition } from "./agents/index.ts";

export async function loadAgents(modulePath: string): Promise<AnyAgentDefinition[]> {
  const path = resolve(modulePath);
  if (!existsSync(path)) throw new ActpError("cli.module_not_found", `no agent module at ${path}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    // A missing package, a syntax error or a throw at import time: say which, in one line.
    const first = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ActpError("cli.module_failed", `cannot load ${modulePath}: ${first}`, { cause: err });
  }
  const found = new Map<string, AnyAgentDefinition>();
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (isAgentDefinition(v)) found.set(v.slug, v);
    }
  }
  if (found.size === 0) throw new ActpError("cli.no_agents", `${modulePath} exports no agents (export the results of defineAgent())`);
  return [...found.values()];
}

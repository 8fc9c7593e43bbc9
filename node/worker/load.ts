// Loads the agents a module exports: every export that is a defineAgent() result, or an array of them.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isAgentDefinition, type AnyAgentDefinition } from "./agents/index.ts";

export async function loadAgents(modulePath: string): Promise<AnyAgentDefinition[]> {
  const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  const found = new Map<string, AnyAgentDefinition>();
  for (const value of Object.values(mod)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (isAgentDefinition(v)) found.set(v.slug, v);
    }
  }
  if (found.size === 0) throw new Error(`${modulePath} exports no agents (export the results of defineAgent())`);
  return [...found.values()];
}

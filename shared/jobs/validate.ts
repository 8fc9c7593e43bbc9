// Validates a job input against the JSON Schema the agent registered (z.toJSONSchema of its zod
// input), so HTTP submitters are checked without loading the agent's code. zod 4 rebuilds a schema
// from JSON Schema (z.fromJSONSchema); built schemas are cached per schema text.
import { z } from "zod";
import { badRequest } from "../errors.ts";

const cache = new Map<string, z.ZodType>();
const CACHE_MAX = 500;

function schemaFor(jsonSchema: Record<string, unknown>): z.ZodType {
  const key = JSON.stringify(jsonSchema);
  let schema = cache.get(key);
  if (!schema) {
    // An agent registered without a schema ({}) accepts any JSON input.
    schema = Object.keys(jsonSchema).length === 0 ? z.unknown() : z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, schema);
  }
  return schema;
}

export interface InputIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

export function inputIssues(jsonSchema: Record<string, unknown>, input: unknown): InputIssue[] {
  const r = schemaFor(jsonSchema).safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    message: i.message,
    code: i.code,
  }));
}

/** Throws a 400 jobs.invalid_input listing every issue when input does not match the agent's schema. */
export function assertValidInput(agent: string, jsonSchema: Record<string, unknown>, input: unknown): void {
  const issues = inputIssues(jsonSchema, input);
  if (issues.length > 0) {
    throw badRequest("jobs.invalid_input", `input does not match the input schema of agent "${agent}"`, { issues });
  }
}

// A stable hash of a tool call's arguments: the identity of "that exact call" for approvals
// (PRD §4.2 safety). Canonical JSON (keys sorted by code unit, no whitespace, JSON's own number
// and string forms, undefined members dropped) so equal arguments hash equally whatever their key order.
import { createHash } from "node:crypto";
import { ToolInputError } from "./errors.ts";

export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): string => {
    if (v === null) return "null";
    switch (typeof v) {
      case "string":
      case "boolean":
        return JSON.stringify(v);
      case "number":
        if (!Number.isFinite(v)) throw new ToolInputError(`tool arguments are not JSON: ${v} at ${path}`);
        return JSON.stringify(v);
      case "object":
        break;
      default:
        throw new ToolInputError(`tool arguments are not JSON: ${typeof v} at ${path}`);
    }
    const obj = v as object;
    if (seen.has(obj)) throw new ToolInputError(`tool arguments contain a cycle at ${path}`);
    const json = (obj as { toJSON?: () => unknown }).toJSON;
    if (typeof json === "function") return walk(json.call(obj), path);
    seen.add(obj);
    try {
      if (Array.isArray(obj)) return `[${obj.map((x, i) => (x === undefined ? "null" : walk(x, `${path}[${i}]`))).join(",")}]`;
      const keys = Object.keys(obj)
        .filter((k) => (obj as Record<string, unknown>)[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${walk((obj as Record<string, unknown>)[k], `${path}.${k}`)}`).join(",")}}`;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, "$");
}

/** "sha256:<64 hex>" of the canonical JSON of args. */
export function argsHash(args: unknown): string {
  return "sha256:" + createHash("sha256").update(canonicalJson(args ?? null), "utf8").digest("hex");
}

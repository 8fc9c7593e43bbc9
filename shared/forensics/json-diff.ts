// Structural diff of two JSON values: the paths that were added, removed or changed, keys in
// sorted order. Arrays are compared position by position (a run's lists are ordered results, and an
// index path is what a reader can look up); objects by key.
import type { JsonChange, JsonDiff } from "./contracts.ts";

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return IDENT.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * `undefined` on one side means the value is absent (a run with no output), so the whole value is
 * "added" or "removed" at the root.
 */
export function jsonDiff(a: unknown, b: unknown, maxChanges = 200): JsonDiff {
  const changes: JsonChange[] = [];
  let truncated = false;
  const push = (c: JsonChange) => {
    if (changes.length < maxChanges) changes.push(c);
    else truncated = true;
  };

  const walk = (x: unknown, y: unknown, path: string): void => {
    if (truncated) return;
    if (x === undefined && y === undefined) return;
    if (x === undefined) return push({ op: "added", path, b: y });
    if (y === undefined) return push({ op: "removed", path, a: x });
    if (Array.isArray(x) && Array.isArray(y)) {
      const n = Math.max(x.length, y.length);
      for (let i = 0; i < n; i++) walk(i < x.length ? x[i] : undefined, i < y.length ? y[i] : undefined, childPath(path, i));
      return;
    }
    if (isObject(x) && isObject(y)) {
      // jsonb does not keep key order, so keys are walked sorted: the same diff every time.
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
      for (const k of keys) walk(own(x, k) ? x[k] : undefined, own(y, k) ? y[k] : undefined, childPath(path, k));
      return;
    }
    if (!jsonEqual(x, y)) push({ op: "changed", path, a: x, b: y });
  };

  walk(a ?? undefined, b ?? undefined, "$");
  return { equal: changes.length === 0 && !truncated, changes, truncated };
}

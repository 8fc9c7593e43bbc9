// emit(): the one way TypeScript writes events. Every event is validated against the registry
// before anything is written, and a batch is one INSERT, so a batch is all-or-nothing.
import { ActpError } from "../errors.ts";
import type { Queryable } from "../db/types.ts";
import { MAX_EVENT_BATCH, parseEventBatch, type EventInput, type ValidEvent } from "./registry.ts";
import { buildEmitStatement } from "./emit-sql.ts";
import { assertSafeJson } from "../input/safe-json.ts";

export interface EmittedEvent {
  seq: string;
  id: string;
  created_at: string;
}

function issueList(issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[]) {
  return issues.map((i) => ({ path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)), message: i.message, code: i.code }));
}

/** Validates a batch; throws one ActpError (400) listing every issue, with the item index in each path. */
export function validateEvents(input: readonly unknown[]): ValidEvent[] {
  // Depth is counted from each event, so a batch of events may hold payloads as deep as one event's.
  input.forEach((e, i) => assertSafeJson(e, `events[${i}]`));
  const r = parseEventBatch(input, MAX_EVENT_BATCH);
  if (r.success) return r.data;
  if (r.code === "events.unknown_type") {
    const suggestions = [...new Set(input.flatMap((e) => suggestionsFor(e)))];
    throw new ActpError(r.code, r.message, { details: { did_you_mean: suggestions, issues: issueList(r.issues) } });
  }
  throw new ActpError(r.code, r.message, { details: { issues: issueList(r.issues) } });
}

function suggestionsFor(e: unknown): string[] {
  const issues = (e && typeof e === "object" && "type" in e) ? parseEventBatch([e]) : null;
  if (!issues || issues.success) return [];
  const m = /did you mean (.*)\?/.exec(issues.message);
  return m ? [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!) : [];
}

export async function emit(db: Queryable, events: EventInput | readonly EventInput[]): Promise<EmittedEvent[]> {
  const valid = validateEvents(Array.isArray(events) ? events : [events]);
  const stmt = buildEmitStatement(valid);
  const { rows } = await db.query<EmittedEvent>(stmt.text, stmt.values);
  return rows;
}

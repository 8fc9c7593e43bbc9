// emit(): the one way events are written. Every event is validated against the registry before
// anything is written, and a batch is one INSERT statement, so a batch is all-or-nothing.
import { ActpError } from "../errors.ts";
import type { Queryable } from "../db/types.ts";
import { nearestEventTypes, parseEventInput, type EventInput } from "./registry.ts";
import { buildEmitStatement } from "./emit-sql.ts";

export interface EmittedEvent {
  seq: string;
  id: string;
  created_at: string;
}

export const MAX_BATCH = 1000;

/** Validates every event; throws one ActpError (400) describing the first bad one. */
export function validateEvents(input: unknown[]): EventInput[] {
  if (input.length === 0) throw new ActpError("events.empty_batch", "no events to emit", 400);
  if (input.length > MAX_BATCH) throw new ActpError("events.batch_too_large", `at most ${MAX_BATCH} events per batch, got ${input.length}`, 400);
  const out: EventInput[] = [];
  input.forEach((raw, index) => {
    const r = parseEventInput(raw);
    if (r.success) {
      out.push(r.data);
      return;
    }
    if (r.unknownType !== undefined) {
      const suggestions = nearestEventTypes(r.unknownType, 3);
      throw new ActpError(
        "events.unknown_type",
        `unknown event type "${r.unknownType}"${suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(", ")}?` : ""}`,
        400,
        { index, type: r.unknownType, did_you_mean: suggestions },
      );
    }
    throw new ActpError("events.invalid_payload", `event ${index} does not match its schema`, 400, { index, issues: r.issues });
  });
  return out;
}

export async function emit(db: Queryable, events: EventInput | EventInput[]): Promise<EmittedEvent[]> {
  const valid = validateEvents(Array.isArray(events) ? events : [events]);
  const stmt = buildEmitStatement(valid);
  const { rows } = await db.query<EmittedEvent>(stmt.text, stmt.values);
  return rows;
}

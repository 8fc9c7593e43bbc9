/**
 * The INSERT behind emitting events, as a parameterized statement any driver can run
 * (node-postgres, PGlite, postgres.js `unsafe`, Deno postgres).
 */
import type { EventType } from "./registry.ts";

/**
 * What one row needs. Events from `parseEventInput` (ValidEvent) fit, as do envelopes typed as
 * EventInput; pass only validated events: the database checks the type, not the payload.
 */
export type EmittableEvent = {
  readonly type: EventType;
  readonly job_id?: string | null;
  readonly step_id?: string | null;
  readonly agent_slug?: string | null;
  readonly tool_name?: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
};

export type EmitStatement = { text: string; values: [string] };

/** A row of the statement's RETURNING; drivers give bigint `seq` as a string (pg) or number. */
export type EmittedEventRow = { seq: string | number | bigint; id: string; created_at: string | Date };

// The whole batch travels as ONE jsonb parameter: a single statement of fixed text whatever the batch
// size (no per-row placeholders, no 65535-parameter limit), and no driver-specific array encoding.
// `with ordinality` + `order by` makes rows, and so `seq`, follow the input order, so the RETURNING
// rows line up with the input array.
const EMIT_EVENTS_SQL = `insert into public.actp_events (type, job_id, step_id, agent_slug, tool_name, payload)
select e.doc->>'type',
       (e.doc->>'job_id')::uuid,
       e.doc->>'step_id',
       e.doc->>'agent_slug',
       e.doc->>'tool_name',
       e.doc->'payload'
from jsonb_array_elements($1::jsonb) with ordinality as e(doc, ord)
order by e.ord
returning seq, id, created_at`;

/**
 * One INSERT for the whole batch, so it is all-or-nothing: one row with a type missing from
 * actp_event_types fails the foreign key and nothing is written.
 */
export function buildEmitStatement(events: readonly EmittableEvent[]): EmitStatement {
  if (events.length === 0) throw new RangeError("buildEmitStatement: no events to emit");
  const rows = events.map((e) => ({
    type: e.type,
    job_id: e.job_id ?? null,
    step_id: e.step_id ?? null,
    agent_slug: e.agent_slug ?? null,
    tool_name: e.tool_name ?? null,
    payload: e.payload,
  }));
  return { text: EMIT_EVENTS_SQL, values: [JSON.stringify(rows)] };
}

// events: the canonical event log over HTTP. POST emits one event or a batch (service role only;
// validated against the registry, written in one statement). GET reads by job, type and time
// range with keyset pagination on seq (readers: service role, operators, viewers; RLS agrees).
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { emit } from "../../shared/events/emit.ts";
import { EventQuery, readEvents } from "../../shared/events/read.ts";
import { EventInput, MAX_EVENT_BATCH } from "../../shared/events/registry.ts";
import { badRequest } from "../../shared/errors.ts";

export const app = createFunctionApp("events", {
  title: "actp events",
  description: "The canonical event log: append one event or a batch (validated against the event-type registry, all or nothing), and read by job, type, agent and time with keyset pages.",
});

const Batch = z.array(EventInput).min(1).max(MAX_EVENT_BATCH);
const EmitBody = z.union([EventInput, Batch, z.strictObject({ events: Batch })]);

route(
  app,
  {
    method: "post",
    path: "/",
    summary: "Append one event or a batch",
    description:
      "One event, an array of events, or { events: [...] }: all become one all-or-nothing batch. Each payload is checked " +
      "against its type's JSON Schema (event_schemas/<type>.json).",
    access: "service_role",
    body: EmitBody,
    // emit() validates every item against the registry (with did-you-mean hints), for SDK callers too.
    validate: false,
    invalid: { body: "events.invalid_event" },
    responses: { 201: { description: "the stored events, with seq and id" } },
    errors: ["events.unknown_type", "events.invalid_batch"],
  },
  async (c, { body }) => {
    // One event, an array of events, or { events: [...] }: all become one all-or-nothing batch.
    const batch = Array.isArray(body)
      ? body
      : body !== null && typeof body === "object" && "events" in body && Object.keys(body).length === 1
        ? (body as { events: unknown }).events
        : [body];
    if (!Array.isArray(batch)) throw badRequest("events.invalid_batch", "`events` must be an array of events");
    const written = await runtime().db.asRole(c.get("claims"), (tx) => emit(tx, batch as never[]));
    return c.json({ events: written }, 201);
  },
);

route(
  app,
  {
    method: "get",
    path: "/",
    summary: "Read events by job, type, agent and time (keyset pages on seq)",
    access: "reader",
    query: EventQuery,
    invalid: { query: "events.invalid_query" },
    responses: { 200: { description: "{ events, next_after }: pass next_after as `after` for the next page" } },
  },
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => readEvents(tx, query))),
);

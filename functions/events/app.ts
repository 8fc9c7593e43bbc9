// events: the canonical event log over HTTP. POST emits one event or a batch (service role only;
// validated against the registry, written in one statement). GET reads by job, type and time
// range with keyset pagination on seq (readers: service role, operators, viewers; RLS agrees).
import { createFunctionApp, authenticate, requireReader, requireServiceRole, readJson, parseWith, queryParams } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { emit } from "../../shared/events/emit.ts";
import { EventQuery, readEvents } from "../../shared/events/read.ts";
import { badRequest } from "../../shared/errors.ts";

export const app = createFunctionApp("events");

app.post("/", authenticate, requireServiceRole, async (c) => {
  const body = await readJson(c);
  // One event, an array of events, or { events: [...] }: all become one all-or-nothing batch.
  const batch = Array.isArray(body)
    ? body
    : body !== null && typeof body === "object" && "events" in body && Object.keys(body).length === 1
      ? (body as { events: unknown }).events
      : [body];
  if (!Array.isArray(batch)) throw badRequest("events.invalid_batch", "`events` must be an array of events");
  const written = await runtime().db.asRole(c.get("claims"), (tx) => emit(tx, batch as never[]));
  return c.json({ events: written }, 201);
});

app.get("/", authenticate, requireReader, async (c) => {
  const q = parseWith(EventQuery, queryParams(c), "events.invalid_query");
  const page = await runtime().db.asRole(c.get("claims"), (tx) => readEvents(tx, q));
  return c.json(page);
});

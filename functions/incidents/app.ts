// incidents: the platform mode and incidents (PRD §4.10). Readers see the mode, the open incident
// with its evidence, the detectors and the history; operators declare, acknowledge and resolve, and
// the identity recorded is the token's (actp_caller_actor() in SQL, the twin of actorFrom): the
// actions run through actAsCaller, the service role's privileges with the caller's claims.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { actAsCaller } from "../_shared/act.ts";
import { AcknowledgeBody, DeclareBody, HistoryQuery, ResolveBody } from "../../shared/incidents/contracts.ts";
import { acknowledgeIncident, currentStatus, declareIncident, incidentHistory, resolveIncident } from "../../shared/incidents/queries.ts";

export const app = createFunctionApp("incidents", {
  title: "actp incidents",
  description: "Incident mode (PRD §4.10): the platform mode, the open incident with its evidence, the detectors, the history; declare, acknowledge and resolve by hand.",
});

route(
  app,
  { method: "get", path: "/", summary: "The mode, the open incident with its evidence and transitions, every detector's last reading", access: "reader", responses: { 200: { description: "the platform status" } } },
  async (c) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => currentStatus(tx))),
);

route(
  app,
  { method: "get", path: "/history", summary: "Incidents, newest first, with their transitions", access: "reader", query: HistoryQuery, invalid: { query: "incidents.invalid_query" }, responses: { 200: { description: "{ incidents }" } } },
  async (c, { query }) => c.json({ incidents: await runtime().db.asRole(c.get("claims"), (tx) => incidentHistory(tx, query.limit)) }),
);

route(
  app,
  {
    method: "post",
    path: "/declare",
    summary: "Declare degraded or incident mode by hand",
    description: "The detectors may escalate a declared incident but never step it down: an operator resolves it.",
    access: "operator",
    body: DeclareBody,
    responses: { 201: { description: "the platform status" } },
    errors: ["incidents.conflict", "incidents.invalid_mode", "incidents.note_required", "incidents.invalid_note"],
  },
  async (c, { body }) => c.json(await actAsCaller(c, (tx) => declareIncident(tx, body)), 201),
);

route(
  app,
  {
    method: "post",
    path: "/acknowledge",
    summary: "Acknowledge the open incident (silences the repeat alerts)",
    description: "The body is optional. incident_id, when given, must be the open incident's.",
    access: "operator",
    body: AcknowledgeBody,
    bodyOptional: true,
    responses: { 200: { description: "the platform status, with already_acknowledged" } },
    errors: ["incidents.not_found", "incidents.conflict", "incidents.invalid_note"],
  },
  async (c, { body }) => c.json(await actAsCaller(c, (tx) => acknowledgeIncident(tx, body.note ?? null, undefined, body.incident_id))),
);

route(
  app,
  {
    method: "post",
    path: "/resolve",
    summary: "Resolve the open incident with a note: back to normal, schedules resumed",
    access: "operator",
    body: ResolveBody,
    responses: { 200: { description: "{ mode, incident }" } },
    errors: ["incidents.not_found", "incidents.conflict", "incidents.note_required", "incidents.invalid_note"],
  },
  async (c, { body }) => c.json(await actAsCaller(c, (tx) => resolveIncident(tx, body.note, undefined, body.incident_id))),
);

// model-router: the routes of PRD §4.3 and the routing decision. Readers (service role, operators,
// viewers) read routes and ask for decisions; only the service role changes routes.
import { z } from "zod";
import { createFunctionApp, authenticate, requireReader, requireServiceRole, jsonBody, parseWith, queryParams } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import {
  ModelRouteCreate,
  ModelRouteUpdate,
  RouteRequest,
  TaskType,
  createRoute,
  deleteRoute,
  listRoutes,
  route,
  updateRoute,
} from "../../shared/models/index.ts";

export const app = createFunctionApp("model-router");

const RoutesQuery = z.strictObject({ task_type: TaskType.optional() });
const idParam = (raw: string) => parseWith(z.guid(), raw, "model_router.invalid_id");

app.get("/routes", authenticate, requireReader, async (c) => {
  const q = parseWith(RoutesQuery, queryParams(c));
  const routes = await runtime().db.asRole(c.get("claims"), (tx) => listRoutes(tx, q.task_type ?? null));
  return c.json({ routes });
});

app.post("/route", authenticate, requireReader, async (c) => {
  const input = await jsonBody(c, RouteRequest);
  const decision = await runtime().db.asRole(c.get("claims"), (tx) =>
    route(tx, input.task_type, { context_length: input.context_length ?? null, budget_remaining: input.budget_remaining ?? null }),
  );
  return c.json(decision);
});

app.post("/routes", authenticate, requireServiceRole, async (c) => {
  const input = await jsonBody(c, ModelRouteCreate);
  const created = await runtime().db.asRole(c.get("claims"), (tx) => createRoute(tx, input));
  return c.json({ route: created }, 201);
});

app.patch("/routes/:id", authenticate, requireServiceRole, async (c) => {
  const id = idParam(c.req.param("id"));
  const patch = await jsonBody(c, ModelRouteUpdate);
  const updated = await runtime().db.asRole(c.get("claims"), (tx) => updateRoute(tx, id, patch));
  return c.json({ route: updated });
});

app.delete("/routes/:id", authenticate, requireServiceRole, async (c) => {
  const id = idParam(c.req.param("id"));
  await runtime().db.asRole(c.get("claims"), (tx) => deleteRoute(tx, id));
  return c.json({ deleted: true });
});

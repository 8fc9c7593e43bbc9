// model-router: the routes of PRD §4.3 and the routing decision. Readers (service role, operators,
// viewers) read routes and ask for decisions; only the service role changes routes.
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route as declare } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import {
  ModelRoute,
  ModelRouteCreate,
  ModelRouteUpdate,
  RouteDecision,
  RouteRequest,
  TaskType,
  createRoute,
  deleteRoute,
  listRoutes,
  route,
  updateRoute,
} from "../../shared/models/index.ts";

export const app = createFunctionApp("model-router", {
  title: "actp model-router",
  description: "The model routes (task type to an ordered chain of models with cost and context limits) and the routing decision ctx.llm follows.",
});

const RoutesQuery = z.strictObject({ task_type: TaskType.optional() });
const id = { id: z.guid() };
const invalid = { params: "model_router.invalid_id" } as const;

declare(
  app,
  { method: "get", path: "/routes", summary: "List routes, optionally of one task type", access: "reader", query: RoutesQuery, responses: { 200: { description: "{ routes }", schema: z.object({ routes: z.array(ModelRoute) }) } } },
  async (c, { query }) => {
    const routes = await runtime().db.asRole(c.get("claims"), (tx) => listRoutes(tx, query.task_type ?? null));
    return c.json({ routes });
  },
);

declare(
  app,
  {
    method: "post",
    path: "/route",
    summary: "The routing decision for a task type",
    access: "reader",
    body: RouteRequest,
    responses: { 200: { description: "the chosen model, its fallbacks and what was skipped", schema: RouteDecision } },
    errors: ["model_router.unknown_task_type"],
  },
  async (c, { body }) => {
    const decision = await runtime().db.asRole(c.get("claims"), (tx) =>
      route(tx, body.task_type, { context_length: body.context_length ?? null, budget_remaining: body.budget_remaining ?? null }),
    );
    return c.json(decision);
  },
);

declare(
  app,
  { method: "post", path: "/routes", summary: "Create a route", access: "service_role", body: ModelRouteCreate, responses: { 201: { description: "{ route }", schema: z.object({ route: ModelRoute }) } } },
  async (c, { body }) => {
    const created = await runtime().db.asRole(c.get("claims"), (tx) => createRoute(tx, body));
    return c.json({ route: created }, 201);
  },
);

declare(
  app,
  {
    method: "patch",
    path: "/routes/:id",
    summary: "Change a route",
    access: "service_role",
    params: id,
    body: ModelRouteUpdate,
    invalid,
    responses: { 200: { description: "{ route }", schema: z.object({ route: ModelRoute }) } },
    errors: ["model_router.not_found"],
  },
  async (c, { params, body }) => {
    const updated = await runtime().db.asRole(c.get("claims"), (tx) => updateRoute(tx, params.id, body));
    return c.json({ route: updated });
  },
);

declare(
  app,
  { method: "delete", path: "/routes/:id", summary: "Delete a route", access: "service_role", params: id, invalid, responses: { 200: { description: "{ deleted: true }" } }, errors: ["model_router.not_found"] },
  async (c, { params }) => {
    await runtime().db.asRole(c.get("claims"), (tx) => deleteRoute(tx, params.id));
    return c.json({ deleted: true });
  },
);

// feature-flags (PRD §4.4): evaluate one or many flags for a context, and flag CRUD. Readers (service
// role, operators, viewers) evaluate for any context and read flags; an end user (any other signed-in
// caller) evaluates only for themself (shared/flags/caller-context.ts: "user" is the token's sub);
// anon evaluates nothing; only the service role changes flags. Evaluation runs with the service
// role's read of actp_feature_flags (RLS hides flags from end users) and answers decisions only,
// never target lists.
import { z } from "zod";
import { callerFrom, createFunctionApp, requireSignedIn } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { flagContextFor } from "../../shared/flags/caller-context.ts";
import { BatchEvaluateRequest, CreateFlagInput, EvaluateRequest, FlagEvaluation, FlagKey, UpdateFlagInput } from "../../shared/flags/contracts.ts";
import { createFlag, deleteFlag, evaluateFlagsInDb, getFlag, listFlags, updateFlag } from "../../shared/flags/queries.ts";

export const app = createFunctionApp("feature-flags", {
  title: "actp feature-flags",
  description: "Evaluate one or many flags for a context (readers for any context, other signed-in users for themselves), read flags (readers), and create, update and delete flags (service role).",
});

const noSuchFlag = (key: string) => notFound("flags.not_found", `no flag "${key}"`);
const key = { key: FlagKey };
const invalid = { params: "flags.invalid_key" } as const;
const evaluatorOnly = "Readers evaluate for any context; any other signed-in user only for themself (the context's user is the token's sub); anon: 403.";

route(
  app,
  {
    method: "post",
    path: "/evaluate",
    summary: "Evaluate one flag for a context",
    description: evaluatorOnly,
    access: "signed_in",
    use: [requireSignedIn], // anon is refused before its body is read
    body: EvaluateRequest,
    responses: { 200: { description: "the evaluation", schema: FlagEvaluation } },
    errors: ["auth.forbidden", "flags.invalid_context"],
  },
  async (c, { body }) => {
    const context = flagContextFor(callerFrom(c), body.context);
    const [result] = await runtime().db.asRole({ role: "service_role" }, (tx) => evaluateFlagsInDb(tx, [body.flag_key], context));
    return c.json(result!);
  },
);

route(
  app,
  {
    method: "post",
    path: "/evaluate/batch",
    summary: "Evaluate many flags for one context",
    description: evaluatorOnly,
    access: "signed_in",
    use: [requireSignedIn], // anon is refused before its body is read
    body: BatchEvaluateRequest,
    responses: {
      200: {
        description: "each evaluation, and a flag_key to enabled map",
        schema: z.object({ results: z.array(FlagEvaluation), enabled: z.record(z.string(), z.boolean()) }),
      },
    },
    errors: ["auth.forbidden", "flags.invalid_context"],
  },
  async (c, { body }) => {
    const context = flagContextFor(callerFrom(c), body.context);
    const results = await runtime().db.asRole({ role: "service_role" }, (tx) => evaluateFlagsInDb(tx, body.flags, context));
    return c.json({ results, enabled: Object.fromEntries(results.map((r) => [r.flag_key, r.enabled])) });
  },
);

route(app, { method: "get", path: "/flags", summary: "List flags", access: "reader", responses: { 200: { description: "{ flags }" } } }, async (c) => {
  const flags = await runtime().db.asRole(c.get("claims"), (tx) => listFlags(tx));
  return c.json({ flags });
});

route(
  app,
  { method: "get", path: "/flags/:key", summary: "One flag", access: "reader", params: key, invalid, responses: { 200: { description: "{ flag }" } }, errors: ["flags.not_found"] },
  async (c, { params }) => {
    const flag = await runtime().db.asRole(c.get("claims"), (tx) => getFlag(tx, params.key));
    if (!flag) throw noSuchFlag(params.key);
    return c.json({ flag });
  },
);

route(
  app,
  { method: "post", path: "/flags", summary: "Create a flag", access: "service_role", body: CreateFlagInput, responses: { 201: { description: "{ flag }" } }, errors: ["flags.conflict"] },
  async (c, { body }) => {
    const flag = await runtime().db.asRole(c.get("claims"), (tx) => createFlag(tx, body));
    return c.json({ flag }, 201);
  },
);

route(
  app,
  {
    method: "patch",
    path: "/flags/:key",
    summary: "Change a flag",
    access: "service_role",
    params: key,
    body: UpdateFlagInput,
    invalid,
    responses: { 200: { description: "{ flag }" } },
    errors: ["flags.not_found"],
  },
  async (c, { params, body }) => {
    const flag = await runtime().db.asRole(c.get("claims"), (tx) => updateFlag(tx, params.key, body));
    if (!flag) throw noSuchFlag(params.key);
    return c.json({ flag });
  },
);

route(
  app,
  { method: "delete", path: "/flags/:key", summary: "Delete a flag", access: "service_role", params: key, invalid, responses: { 200: { description: "{ flag }: the deleted flag" } }, errors: ["flags.not_found"] },
  async (c, { params }) => {
    const flag = await runtime().db.asRole(c.get("claims"), (tx) => deleteFlag(tx, params.key));
    if (!flag) throw noSuchFlag(params.key);
    return c.json({ flag });
  },
);

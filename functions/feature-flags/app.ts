// feature-flags (PRD §4.4): evaluate one or many flags for a context (authenticated and service role;
// the evaluation runs in SQL as the caller, so RLS decides), and flag CRUD (service role only).
import type { MiddlewareHandler } from "hono";
import { createFunctionApp, authenticate, requireServiceRole, jsonBody, parseWith, type FnEnv } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { forbidden, notFound } from "../../shared/errors.ts";
import { BatchEvaluateRequest, CreateFlagInput, EvaluateRequest, FlagKey, UpdateFlagInput } from "../../shared/flags/contracts.ts";
import { createFlag, deleteFlag, evaluateFlagsInDb, getFlag, listFlags, updateFlag } from "../../shared/flags/queries.ts";

export const app = createFunctionApp("feature-flags");

const requireEvaluator: MiddlewareHandler<FnEnv> = async (c, next) => {
  const role = c.get("claims")?.role;
  if (role !== "authenticated" && role !== "service_role") throw forbidden("evaluating flags needs an authenticated user or the service role");
  await next();
};

const keyParam = (key: string | undefined) => parseWith(FlagKey, key, "flags.invalid_key");
const noSuchFlag = (key: string) => notFound("flags.not_found", `no flag "${key}"`);

app.post("/evaluate", authenticate, requireEvaluator, async (c) => {
  const req = await jsonBody(c, EvaluateRequest);
  const [result] = await runtime().db.asRole(c.get("claims"), (tx) => evaluateFlagsInDb(tx, [req.flag_key], req.context));
  return c.json(result!);
});

app.post("/evaluate/batch", authenticate, requireEvaluator, async (c) => {
  const req = await jsonBody(c, BatchEvaluateRequest);
  const results = await runtime().db.asRole(c.get("claims"), (tx) => evaluateFlagsInDb(tx, req.flags, req.context));
  return c.json({ results, enabled: Object.fromEntries(results.map((r) => [r.flag_key, r.enabled])) });
});

app.get("/flags", authenticate, requireServiceRole, async (c) => {
  const flags = await runtime().db.asRole(c.get("claims"), (tx) => listFlags(tx));
  return c.json({ flags });
});

app.get("/flags/:key", authenticate, requireServiceRole, async (c) => {
  const key = keyParam(c.req.param("key"));
  const flag = await runtime().db.asRole(c.get("claims"), (tx) => getFlag(tx, key));
  if (!flag) throw noSuchFlag(key);
  return c.json({ flag });
});

app.post("/flags", authenticate, requireServiceRole, async (c) => {
  const input = await jsonBody(c, CreateFlagInput);
  const flag = await runtime().db.asRole(c.get("claims"), (tx) => createFlag(tx, input));
  return c.json({ flag }, 201);
});

app.patch("/flags/:key", authenticate, requireServiceRole, async (c) => {
  const key = keyParam(c.req.param("key"));
  const patch = await jsonBody(c, UpdateFlagInput);
  const flag = await runtime().db.asRole(c.get("claims"), (tx) => updateFlag(tx, key, patch));
  if (!flag) throw noSuchFlag(key);
  return c.json({ flag });
});

app.delete("/flags/:key", authenticate, requireServiceRole, async (c) => {
  const key = keyParam(c.req.param("key"));
  const flag = await runtime().db.asRole(c.get("claims"), (tx) => deleteFlag(tx, key));
  if (!flag) throw noSuchFlag(key);
  return c.json({ flag });
});

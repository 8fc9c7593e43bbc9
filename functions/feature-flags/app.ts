// feature-flags (PRD §4.4): evaluate one or many flags for a context, and flag CRUD. Readers (service
// role, operators, viewers) evaluate for any context and read flags; an end user (any other signed-in
// caller) evaluates only for themself (shared/flags/caller-context.ts: "user" is the token's sub);
// anon evaluates nothing; only the service role changes flags. Evaluation runs with the service
// role's read of actp_feature_flags (RLS hides flags from end users) and answers decisions only,
// never target lists.
import { createFunctionApp, authenticate, callerFrom, requireReader, requireServiceRole, jsonBody, parseWith } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { BatchEvaluateRequest, CreateFlagInput, EvaluateRequest, FlagKey, UpdateFlagInput } from "../../shared/flags/contracts.ts";
import { flagContextFor } from "../../shared/flags/caller-context.ts";
import { createFlag, deleteFlag, evaluateFlagsInDb, getFlag, listFlags, updateFlag } from "../../shared/flags/queries.ts";

export const app = createFunctionApp("feature-flags");

const keyParam = (key: string | undefined) => parseWith(FlagKey, key, "flags.invalid_key");
const noSuchFlag = (key: string) => notFound("flags.not_found", `no flag "${key}"`);

app.post("/evaluate", authenticate, async (c) => {
  const req = await jsonBody(c, EvaluateRequest);
  const context = flagContextFor(callerFrom(c), req.context);
  const [result] = await runtime().db.asRole({ role: "service_role" }, (tx) => evaluateFlagsInDb(tx, [req.flag_key], context));
  return c.json(result!);
});

app.post("/evaluate/batch", authenticate, async (c) => {
  const req = await jsonBody(c, BatchEvaluateRequest);
  const context = flagContextFor(callerFrom(c), req.context);
  const results = await runtime().db.asRole({ role: "service_role" }, (tx) => evaluateFlagsInDb(tx, req.flags, context));
  return c.json({ results, enabled: Object.fromEntries(results.map((r) => [r.flag_key, r.enabled])) });
});

app.get("/flags", authenticate, requireReader, async (c) => {
  const flags = await runtime().db.asRole(c.get("claims"), (tx) => listFlags(tx));
  return c.json({ flags });
});

app.get("/flags/:key", authenticate, requireReader, async (c) => {
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

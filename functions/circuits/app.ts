// circuits: the shared tool breakers (PRD §4.12). Any signed-in caller may read them (RLS decides:
// anon sees nothing); only the service role resets, forces open or configures a breaker.
import { createFunctionApp, authenticate, requireServiceRole, jsonBody, parseWith } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import {
  CircuitConfigInput,
  ForceOpenInput,
  ToolName,
  deleteCircuitConfig,
  forceOpenCircuit,
  listCircuits,
  resetCircuit,
  upsertCircuitConfig,
} from "../../shared/circuits/index.ts";

export const app = createFunctionApp("circuits");

const toolParam = (raw: string) => parseWith(ToolName, raw, "circuits.invalid_tool");

app.get("/", authenticate, async (c) => {
  const circuits = await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx));
  return c.json({ circuits });
});

app.get("/:tool", authenticate, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const [circuit] = await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx, tool));
  if (!circuit) throw notFound("circuits.not_found", `no breaker state or configuration for tool "${tool}"`);
  return c.json({ circuit });
});

app.post("/:tool/reset", authenticate, requireServiceRole, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const result = await runtime().db.asRole(c.get("claims"), (tx) => resetCircuit(tx, tool));
  return c.json(result);
});

app.post("/:tool/force-open", authenticate, requireServiceRole, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  // The body is optional: a POST without one uses the tool's recovery_probe_seconds.
  const input = c.req.raw.body === null ? {} : await jsonBody(c, ForceOpenInput);
  const result = await runtime().db.asRole(c.get("claims"), (tx) => forceOpenCircuit(tx, tool, input.seconds ?? null));
  return c.json(result);
});

app.put("/:tool/config", authenticate, requireServiceRole, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const input = await jsonBody(c, CircuitConfigInput);
  const [circuit] = await runtime().db.asRole(c.get("claims"), async (tx) => {
    await upsertCircuitConfig(tx, tool, input);
    return listCircuits(tx, tool);
  });
  return c.json({ circuit });
});

app.delete("/:tool/config", authenticate, requireServiceRole, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const deleted = await runtime().db.asRole(c.get("claims"), (tx) => deleteCircuitConfig(tx, tool));
  if (!deleted) throw notFound("circuits.not_found", `tool "${tool}" has no configuration of its own`);
  return c.json({ deleted: true });
});

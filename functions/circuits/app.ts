// circuits: the shared tool breakers (PRD §4.12). Readers (service role, operators, viewers) see them;
// operators and the service role reset or force open a breaker (recorded as the token's identity);
// only the service role configures one.
import { createFunctionApp, authenticate, requireOperator, requireReader, requireServiceRole, jsonBody, parseWith } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { actAsCaller } from "../_shared/act.ts";
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

app.get("/", authenticate, requireReader, async (c) => {
  const circuits = await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx));
  return c.json({ circuits });
});

app.get("/:tool", authenticate, requireReader, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const [circuit] = await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx, tool));
  if (!circuit) throw notFound("circuits.not_found", `no breaker state or configuration for tool "${tool}"`);
  return c.json({ circuit });
});

app.post("/:tool/reset", authenticate, requireOperator, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  const result = await actAsCaller(c, (tx) => resetCircuit(tx, tool));
  return c.json(result);
});

app.post("/:tool/force-open", authenticate, requireOperator, async (c) => {
  const tool = toolParam(c.req.param("tool"));
  // The body is optional: a POST without one uses the tool's recovery_probe_seconds.
  const input = c.req.raw.body === null ? {} : await jsonBody(c, ForceOpenInput);
  const result = await actAsCaller(c, (tx) => forceOpenCircuit(tx, tool, input.seconds ?? null));
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

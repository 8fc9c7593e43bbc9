// circuits: the shared tool breakers (PRD §4.12). Readers (service role, operators, viewers) see them;
// operators and the service role reset or force open a breaker (recorded as the token's identity);
// only the service role configures one.
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { actAsCaller } from "../_shared/act.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import {
  CircuitConfigInput,
  CircuitOverview,
  ForceOpenInput,
  ToolName,
  deleteCircuitConfig,
  forceOpenCircuit,
  listCircuits,
  resetCircuit,
  upsertCircuitConfig,
} from "../../shared/circuits/index.ts";

export const app = createFunctionApp("circuits", {
  title: "actp circuits",
  description: "The circuit breakers shared by every worker: their states, a reset, a forced open, and per-tool configuration (thresholds, probe interval, fallback tool).",
});

const tool = { tool: ToolName };
const invalid = { params: "circuits.invalid_tool" } as const;
const One = z.object({ circuit: CircuitOverview });

route(
  app,
  { method: "get", path: "/", summary: "Every breaker's state and configuration", access: "reader", responses: { 200: { description: "{ circuits }", schema: z.object({ circuits: z.array(CircuitOverview) }) } } },
  async (c) => c.json({ circuits: await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx)) }),
);

route(
  app,
  { method: "get", path: "/:tool", summary: "One tool's breaker", access: "reader", params: tool, invalid, responses: { 200: { description: "{ circuit }", schema: One } }, errors: ["circuits.not_found"] },
  async (c, { params }) => {
    const [circuit] = await runtime().db.asRole(c.get("claims"), (tx) => listCircuits(tx, params.tool));
    if (!circuit) throw notFound("circuits.not_found", `no breaker state or configuration for tool "${params.tool}"`);
    return c.json({ circuit });
  },
);

route(
  app,
  { method: "post", path: "/:tool/reset", summary: "Close a breaker and clear its counts", access: "operator", params: tool, invalid, responses: { 200: { description: "the transition" } } },
  async (c, { params }) => c.json(await actAsCaller(c, (tx) => resetCircuit(tx, params.tool))),
);

route(
  app,
  {
    method: "post",
    path: "/:tool/force-open",
    summary: "Open a breaker for a while",
    description: "The body is optional: without `seconds` the tool's recovery_probe_seconds is used.",
    access: "operator",
    params: tool,
    body: ForceOpenInput,
    bodyOptional: true,
    invalid,
    responses: { 200: { description: "the transition" } },
    errors: ["circuits.invalid_duration"],
  },
  async (c, { params, body }) => c.json(await actAsCaller(c, (tx) => forceOpenCircuit(tx, params.tool, body.seconds ?? null))),
);

route(
  app,
  { method: "put", path: "/:tool/config", summary: "Set a tool's breaker configuration", access: "service_role", params: tool, body: CircuitConfigInput, invalid, responses: { 200: { description: "{ circuit }", schema: One } } },
  async (c, { params, body }) => {
    const [circuit] = await runtime().db.asRole(c.get("claims"), async (tx) => {
      await upsertCircuitConfig(tx, params.tool, body);
      return listCircuits(tx, params.tool);
    });
    return c.json({ circuit });
  },
);

route(
  app,
  { method: "delete", path: "/:tool/config", summary: "Remove a tool's own configuration (defaults apply)", access: "service_role", params: tool, invalid, responses: { 200: { description: "{ deleted: true }" } }, errors: ["circuits.not_found"] },
  async (c, { params }) => {
    const deleted = await runtime().db.asRole(c.get("claims"), (tx) => deleteCircuitConfig(tx, params.tool));
    if (!deleted) throw notFound("circuits.not_found", `tool "${params.tool}" has no configuration of its own`);
    return c.json({ deleted: true });
  },
);

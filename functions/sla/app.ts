// sla: SLA targets, the report and one job's measurement (PRD §4.9). Readers (service role,
// operators, viewers) read; only the service role changes targets.
import { createFunctionApp, actorFrom } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { badRequest, notFound } from "../../shared/errors.ts";
import { JobId, SlaJobType, SlaReportQuery, SlaTargetInput } from "../../shared/sla/contracts.ts";
import { deleteTarget, getTarget, listTargets, slaJob, slaReport, upsertTarget } from "../../shared/sla/queries.ts";

export const app = createFunctionApp("sla", {
  title: "actp sla",
  description: "SLA tracking (PRD §4.9): targets per job type, the report (percentiles, success ratio, breaches, burn rates, error budget) and one job's measurement.",
});

const jobType = { job_type: SlaJobType };
const invalid = { params: "sla.invalid_job_type", query: "sla.invalid_query", body: "validation.failed" } as const;

route(
  app,
  { method: "get", path: "/targets", summary: "Every SLA target (the * row applies to job types without their own)", access: "reader", responses: { 200: { description: "{ targets }" } } },
  async (c) => c.json({ targets: await runtime().db.asRole(c.get("claims"), (tx) => listTargets(tx)) }),
);

route(
  app,
  { method: "get", path: "/targets/:job_type", summary: "One job type's target", access: "reader", params: jobType, invalid, responses: { 200: { description: "{ target }" } }, errors: ["sla.not_found"] },
  async (c, { params }) => c.json({ target: await runtime().db.asRole(c.get("claims"), (tx) => getTarget(tx, params.job_type)) }),
);

route(
  app,
  {
    method: "put",
    path: "/targets/:job_type",
    summary: "Create or replace a job type's target",
    description: "Milliseconds are positive integers (negative or fractional targets are a 400); the objective is a fraction in (0, 1).",
    access: "service_role",
    params: jobType,
    body: SlaTargetInput,
    invalid,
    responses: { 200: { description: "{ target }" } },
  },
  async (c, { params, body }) => c.json({ target: await runtime().db.asRole(c.get("claims"), (tx) => upsertTarget(tx, params.job_type, body, actorFrom(c))) }),
);

route(
  app,
  {
    method: "delete",
    path: "/targets/:job_type",
    summary: "Delete a job type's target (the * default cannot be deleted)",
    access: "service_role",
    params: jobType,
    invalid,
    responses: { 200: { description: "{ deleted }" } },
    errors: ["sla.not_found", "sla.default_required"],
  },
  async (c, { params }) => {
    if (params.job_type === "*") throw badRequest("sla.default_required", "the * row is the default of every job type without its own: change it with PUT, it cannot be deleted");
    const deleted = await runtime().db.asRole(c.get("claims"), (tx) => deleteTarget(tx, params.job_type));
    if (!deleted) throw notFound("sla.not_found", `no SLA target for job type "${params.job_type}"`);
    return c.json({ deleted: params.job_type });
  },
);

route(
  app,
  {
    method: "get",
    path: "/report",
    summary: "Per job type: p50/p95/p99 of each measure, success ratio, breaches, burn rates, remaining budget",
    description: "window: 1m to 90d as <n>m, <n>h or <n>d (default 24h). Budget windows (5m to the objective window) are the SRE workbook's, independent of `window`.",
    access: "reader",
    query: SlaReportQuery,
    invalid,
    responses: { 200: { description: "{ window_seconds, generated_at, job_types }" } },
  },
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => slaReport(tx, query.window))),
);

route(
  app,
  {
    method: "get",
    path: "/jobs/:id",
    summary: "One job's measurement, its effective target and its breaches",
    access: "reader",
    params: { id: JobId },
    invalid: { params: "sla.invalid_id" },
    responses: { 200: { description: "{ measurement }" } },
    errors: ["sla.not_found"],
  },
  async (c, { params }) => c.json({ measurement: await runtime().db.asRole(c.get("claims"), (tx) => slaJob(tx, params.id)) }),
);


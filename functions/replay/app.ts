// replay: forensics over HTTP (PRD §4.14). A job's merged timeline and the diff of two runs are
// readable by readers (service role, operators, viewers; RLS agrees); forking a job from a step is a
// service-role action.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { DiffQuery, JobId, ReplayRequest } from "../../shared/forensics/contracts.ts";
import { diffRuns, inspectTimeline, replayJob } from "../../shared/forensics/queries.ts";

export const app = createFunctionApp("replay", {
  title: "actp replay",
  description: "Forensics: a job's merged timeline (events and steps), the diff of two runs, and a replay of a finished job from a chosen step.",
});

const jobId = { job_id: JobId };

route(
  app,
  {
    method: "get",
    path: "/diff",
    summary: "The differences between two runs (inputs, steps, outputs, tool calls)",
    access: "reader",
    query: DiffQuery,
    invalid: { query: "forensics.invalid_query" },
    responses: { 200: { description: "the diff" } },
    errors: ["forensics.not_found"],
  },
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => diffRuns(tx, query.a, query.b))),
);

route(
  app,
  {
    method: "get",
    path: "/:job_id/timeline",
    summary: "A job's timeline: its events and steps, merged in order",
    access: "reader",
    params: jobId,
    invalid: { params: "forensics.invalid_job_id" },
    responses: { 200: { description: "the timeline" } },
    errors: ["forensics.not_found"],
  },
  async (c, { params }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => inspectTimeline(tx, params.job_id))),
);

route(
  app,
  {
    method: "post",
    path: "/:job_id",
    summary: "Replay a finished job, reusing the steps before from_step",
    access: "service_role",
    params: jobId,
    body: ReplayRequest,
    bodyOptional: true,
    invalid: { params: "forensics.invalid_job_id", body: "forensics.invalid_request" },
    responses: { 201: { description: "the new job" } },
    errors: ["forensics.not_found", "forensics.conflict", "forensics.unknown_step", "forensics.step_not_reusable"],
  },
  async (c, { params, body }) => {
    const claims = c.get("claims");
    const requestedBy = body.requested_by ?? (typeof claims.sub === "string" && claims.sub ? claims.sub : claims.role);
    const r = await runtime().db.asRole(claims, (tx) => replayJob(tx, params.job_id, { fromStep: body.from_step ?? null, requestedBy }));
    return c.json(r, 201);
  },
);

// replay: forensics over HTTP (PRD §4.14). A job's merged timeline and the diff of two runs are
// readable by readers (service role, operators, viewers; RLS agrees); forking a job from a step is a
// service-role action.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { DiffQuery, JobId, ReplayRequest, TimelineQuery } from "../../shared/forensics/contracts.ts";
import { diffRuns, inspectTimelinePage, replayJob } from "../../shared/forensics/queries.ts";

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
    description: "Compares the runs' steps (at most 5,000 each; past that, 422 forensics.too_large: page the timeline instead).",
    access: "reader",
    query: DiffQuery,
    invalid: { query: "forensics.invalid_query" },
    responses: { 200: { description: "the diff" } },
    errors: ["forensics.not_found", "forensics.too_large"],
  },
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => diffRuns(tx, query.a, query.b))),
);

route(
  app,
  {
    method: "get",
    path: "/:job_id/timeline",
    summary: "A job's timeline: its events and steps, merged in order, one keyset page at a time",
    description: "At most `limit` entries (default 500, at most 1,000); `next_cursor` is the `cursor` of the next page, null on the last.",
    access: "reader",
    params: jobId,
    query: TimelineQuery,
    invalid: { params: "forensics.invalid_job_id", query: "forensics.invalid_query" },
    responses: { 200: { description: "one page of the timeline, with next_cursor" } },
    errors: ["forensics.not_found", "forensics.invalid_cursor"],
  },
  async (c, { params, query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => inspectTimelinePage(tx, params.job_id, query))),
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
    // requested_by is recorded from the token in SQL; the body's requested_by is kept as a label.
    const r = await runtime().db.asRole(c.get("claims"), (tx) => replayJob(tx, params.job_id, { fromStep: body.from_step ?? null, requestedBy: body.requested_by ?? null }));
    return c.json(r, 201);
  },
);

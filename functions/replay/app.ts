// replay: forensics over HTTP (PRD §4.14). A job's merged timeline and the diff of two runs are
// readable by readers (service role, operators, viewers; RLS agrees); forking a job from a step is a
// service-role action.
import type { Context } from "hono";
import { createFunctionApp, authenticate, requireReader, requireServiceRole, readJson, parseWith, queryParams, type FnEnv } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { DiffQuery, JobId, ReplayRequest } from "../../shared/forensics/contracts.ts";
import { diffRuns, inspectTimeline, replayJob } from "../../shared/forensics/queries.ts";

export const app = createFunctionApp("replay");

const jobId = (c: Context<FnEnv>) => parseWith(JobId, c.req.param("job_id"), "forensics.invalid_job_id");

app.get("/diff", authenticate, requireReader, async (c) => {
  const q = parseWith(DiffQuery, queryParams(c), "forensics.invalid_query");
  return c.json(await runtime().db.asRole(c.get("claims"), (tx) => diffRuns(tx, q.a, q.b)));
});

app.get("/:job_id/timeline", authenticate, requireReader, async (c) => {
  const id = jobId(c);
  return c.json(await runtime().db.asRole(c.get("claims"), (tx) => inspectTimeline(tx, id)));
});

app.post("/:job_id", authenticate, requireServiceRole, async (c) => {
  const id = jobId(c);
  const body = parseWith(ReplayRequest, c.req.raw.body === null ? {} : await readJson(c), "forensics.invalid_request");
  const claims = c.get("claims");
  const requestedBy = body.requested_by ?? (typeof claims.sub === "string" && claims.sub ? claims.sub : claims.role);
  const r = await runtime().db.asRole(claims, (tx) => replayJob(tx, id, { fromStep: body.from_step ?? null, requestedBy }));
  return c.json(r, 201);
});

// jobs: submit a job for an agent (validated against the agent's input schema), read its status,
// cancel it. Submitting and cancelling need the service role; reading needs a reader (service role,
// operator, viewer; RLS agrees).
import { createFunctionApp, authenticate, requireReader, requireServiceRole, jsonBody, parseWith, readJson } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { CancelRequestSchema, JobIdSchema, SubmitRequestSchema } from "../../shared/jobs/contracts.ts";
import { cancel, getJob } from "../../shared/jobs/plans.ts";
import { rethrowJobsError } from "../../shared/jobs/errors.ts";
import { enqueueJob } from "../../shared/jobs/submit.ts";
import { listWorkers } from "../../shared/jobs/workers.ts";

export const app = createFunctionApp("jobs");

app.use("*", authenticate);

app.post("/", requireServiceRole, async (c) => {
  const req = await jsonBody(c, SubmitRequestSchema);
  const receipt = await runtime().db.asRole(c.get("claims"), (tx) =>
    enqueueJob(tx, req.agent, req.input, { source: "api", ...req.options }),
  );
  return c.json(receipt, 201);
});

// Before /:id, which would otherwise take "workers" for a job id.
app.get("/workers", requireReader, async (c) => {
  const workers = await runtime().db.asRole(c.get("claims"), (tx) => listWorkers(tx));
  return c.json({ workers });
});

app.get("/:id", requireReader, async (c) => {
  const id = parseWith(JobIdSchema, c.req.param("id"), "jobs.invalid_id");
  const job = await runtime().db.asRole(c.get("claims"), (tx) => getJob(tx, id));
  if (!job) throw notFound("jobs.job_not_found", `no job ${id}`);
  return c.json(job);
});

app.post("/:id/cancel", requireServiceRole, async (c) => {
  const id = parseWith(JobIdSchema, c.req.param("id"), "jobs.invalid_id");
  // The body is optional: an empty POST cancels with the default reason.
  const hasBody = Number(c.req.header("content-length") ?? "0") > 0;
  const body = hasBody ? parseWith(CancelRequestSchema, await readJson(c)) : {};
  const claims = c.get("claims");
  try {
    await runtime().db.asRole(claims, (tx) => cancel(tx, id, body.cancelled_by ?? claims.sub ?? "service_role", body.reason ?? null));
  } catch (err) {
    rethrowJobsError(err);
  }
  return c.json({ id, status: "cancelled" });
});

// jobs: submit a job for an agent (validated against the agent's input schema), read its status,
// cancel it. Submitting and cancelling need the service role; reading needs a reader (service role,
// operator, viewer; RLS agrees).
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { notFound } from "../../shared/errors.ts";
import { CancelRequestSchema, JobIdSchema, JobStatusSchema, SubmitRequestSchema, SubmitResponseSchema } from "../../shared/jobs/contracts.ts";
import { cancel, getJob } from "../../shared/jobs/plans.ts";
import { rethrowJobsError } from "../../shared/jobs/errors.ts";
import { enqueueJob } from "../../shared/jobs/submit.ts";
import { listWorkers, workerStaleRule } from "../../shared/jobs/workers.ts";

export const app = createFunctionApp("jobs", {
  title: "actp jobs",
  description: "Submit a job for an agent (its input is checked against the agent's input schema), read a job's status and steps, cancel it.",
});

route(
  app,
  {
    method: "post",
    path: "/",
    summary: "Submit a job",
    access: "service_role",
    body: SubmitRequestSchema,
    invalid: "validation.failed",
    responses: { 201: { description: "queued; `warning` says why it may not run soon (no live worker serves the agent)", schema: SubmitResponseSchema } },
    errors: ["jobs.invalid_input", "jobs.invalid_options", "jobs.agent_not_found", "jobs.agent_disabled", "jobs.duplicate", "jobs.queue_unavailable"],
  },
  async (c, { body }) => {
    const receipt = await runtime().db.asRole(c.get("claims"), (tx) => enqueueJob(tx, body.agent, body.input, { source: "api", ...body.options }));
    return c.json(receipt, 201);
  },
);

// Before /:id, which would otherwise take "workers" for a job id.
route(
  app,
  {
    method: "get",
    path: "/workers",
    summary: "The workers that heart-beat, with their queues and whether they are stale",
    access: "reader",
    responses: { 200: { description: "{ workers }" } },
  },
  async (c) => {
    // The caller reads the workers as itself (RLS); the supervisor's threshold is the platform's.
    const rule = await workerStaleRule(runtime().db);
    return c.json({ workers: await runtime().db.asRole(c.get("claims"), (tx) => listWorkers(tx, { rule })) });
  },
);

route(
  app,
  {
    method: "get",
    path: "/:id",
    summary: "A job's status, attempts, steps, result or error",
    access: "reader",
    params: { id: JobIdSchema },
    invalid: { params: "jobs.invalid_id" },
    responses: { 200: { description: "the job", schema: JobStatusSchema } },
    errors: ["jobs.job_not_found"],
  },
  async (c, { params }) => {
    const job = await runtime().db.asRole(c.get("claims"), (tx) => getJob(tx, params.id));
    if (!job) throw notFound("jobs.job_not_found", `no job ${params.id}`);
    return c.json(job);
  },
);

const CancelResponse = z.object({ id: z.guid(), status: z.literal("cancelled") });

route(
  app,
  {
    method: "post",
    path: "/:id/cancel",
    summary: "Cancel a queued or running job",
    description: "The body is optional: an empty POST cancels with the default reason.",
    access: "service_role",
    params: { id: JobIdSchema },
    body: CancelRequestSchema,
    bodyOptional: true,
    invalid: { params: "jobs.invalid_id" },
    responses: { 200: { description: "cancelled", schema: CancelResponse } },
    errors: ["jobs.job_not_found", "jobs.not_cancellable"],
  },
  async (c, { params, body }) => {
    try {
      // cancelled_by is recorded from the token in SQL; the body's cancelled_by is kept as a label.
      await runtime().db.asRole(c.get("claims"), (tx) => cancel(tx, params.id, body.cancelled_by ?? null, body.reason ?? null));
    } catch (err) {
      rethrowJobsError(err);
    }
    return c.json({ id: params.id, status: "cancelled" });
  },
);

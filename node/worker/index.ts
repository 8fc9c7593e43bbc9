// The worker SDK: what agent modules and embedders import.
export { defineAgent, syncAgents } from "./agents/index.ts";
export type { JobContext, ProgressUpdate, StepOptions } from "./context.ts";
export { DuplicateStepError, JobAbortedError, JobTimeoutError, NonRetriableError, RetryAfterError } from "./errors.ts";
export { InvalidJobInputError } from "./failure.ts";
export { JobWorker, startWorker, type WorkerOptions } from "./runtime.ts";
export { installQueueEngine } from "./boss.ts";
export { enqueueJob, submitJob } from "../../shared/jobs/submit.ts";
export { WorkerSupervisor, type SupervisorOptions } from "./supervisor.ts";

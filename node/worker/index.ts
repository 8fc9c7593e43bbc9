// The worker SDK: what agent modules and embedders import.
export { defineAgent, syncAgents } from "./agents/index.ts";
export type { JobContext, ProgressUpdate, StepOptions } from "./context.ts";
export { DuplicateStepError, JobAbortedError, JobTimeoutError } from "./errors.ts";
export { JobWorker, startWorker, type WorkerOptions } from "./runtime.ts";
export { installQueueEngine } from "./boss.ts";
export { submitJob } from "../../shared/jobs/submit.ts";
export { WorkerSupervisor, type SupervisorOptions } from "./supervisor.ts";

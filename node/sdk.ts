// actp's SDK: what an agent module imports from the package,
//   import { defineAgent, NonRetriableError, RetryAfterError } from "actp";
//   import type { JobContext } from "actp";
// and what an application needs to submit jobs. Embedders that run workers themselves import
// "actp/worker". The package ships TypeScript run through tsx (the `actp` bin registers it) and
// declarations built by `tsc` when it is packed (dist/types).
export {
  defineAgent,
  isAgentDefinition,
  type AgentConfig,
  type AgentDefinition,
  type AgentHandler,
  type AnyAgentDefinition,
} from "./worker/agents/index.ts";
export type { AgentRegistration, Capability, CapabilityTier, ModelPolicy } from "../shared/agents/contracts.ts";
export type { JobContext, ProgressUpdate, StepOptions } from "./worker/context.ts";
export { DuplicateStepError, JobAbortedError, JobTimeoutError, NonRetriableError, RetryAfterError, type RuntimeErrorOptions } from "./worker/errors.ts";
export {
  CircuitOpenError,
  LlmNotConfiguredError,
  LlmUnavailableError,
  ToolDeniedError,
  ToolInputError,
  ToolTimeoutError,
} from "./worker/guardrails/errors.ts";
export type { LlmRequest, LlmResult, ToolCallOptions, ToolCallScope, ToolFn } from "./worker/guardrails/index.ts";
export { ActpError, ERROR_CODES, errorCodes, isErrorCode, type ErrorBody, type ErrorCode } from "../shared/errors.ts";
export { enqueueJob, submitJob } from "../shared/jobs/submit.ts";
export type { SubmitOptions, SubmitResponse } from "../shared/jobs/contracts.ts";
export { createPgDatabase } from "../shared/db/pg.ts";
export type { Database, Queryable } from "../shared/db/types.ts";

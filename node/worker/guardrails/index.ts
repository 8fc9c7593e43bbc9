// The guardrails the job runtime exposes as ctx.tool and ctx.llm.
export { runToolCall, type ToolCallOptions, type ToolCallScope, type ToolFn, type ToolCallDeps } from "./tool-call.ts";
export { runLlmCall, type LlmCallDeps, type LlmRequest, type LlmResult } from "./llm-call.ts";
export {
  CircuitOpenError,
  LlmNotConfiguredError,
  LlmUnavailableError,
  ToolDeniedError,
  ToolInputError,
  ToolTimeoutError,
  type LlmAttempt,
} from "./errors.ts";
export { argsHash, canonicalJson } from "./args-hash.ts";
export { beginToolCall, endToolCall, sharedPolicy, type BeginResult, type PolicyPort } from "./policy.ts";
export { runGuardedFetch, type GuardedFetchInit, type GuardedFetchResponse, type FetchDeps } from "./fetch.ts";

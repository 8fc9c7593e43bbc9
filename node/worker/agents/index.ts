// The agent registry's side of the worker SDK.
export {
  defineAgent,
  isAgentDefinition,
  toRegistration,
  type AgentConfig,
  type AgentDefinition,
  type AgentHandler,
  type AgentRetry,
  AgentRetrySchema,
  type AnyAgentDefinition,
} from "./define.ts";
export { registerAgent, syncAgents } from "./register.ts";
export type { AgentRegistration, Capability, CapabilityTier, ModelPolicy, RegisterResult } from "../../../shared/agents/contracts.ts";

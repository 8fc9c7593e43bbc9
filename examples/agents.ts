// The example agents, as `actp worker examples/agents.ts` loads them.
export { researcher } from "./researcher.ts";
export { summarizer } from "./summarizer.ts";

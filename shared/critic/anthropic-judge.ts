// The judge through the official Anthropic SDK (Deno and Node alike). In a job, prefer the worker's
// ctx.llm judge (node/worker/critic.ts): it passes the policy service, budgets and the breakers.
import Anthropic from "@anthropic-ai/sdk";
import { JUDGE_ANSWER_SCHEMA } from "./judge.ts";
import type { UsageJudge } from "./metered-judge.ts";

export interface AnthropicJudgeConfig {
  apiKey: string | null;
  baseURL?: string | null;
  model: string;
  timeoutMs?: number;
}

export function anthropicJudge(cfg: AnthropicJudgeConfig): UsageJudge {
  const client = new Anthropic({
    apiKey: cfg.apiKey ?? "actp-no-key",
    ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}),
    maxRetries: 1,
    timeout: cfg.timeoutMs ?? 30_000,
  });
  const askWithUsage: UsageJudge["askWithUsage"] = async ({ system, user, maxTokens }) => {
    const msg = await client.messages.create({
      model: cfg.model,
      max_tokens: maxTokens,
      output_config: { format: { type: "json_schema", schema: JUDGE_ANSWER_SCHEMA } },
      system,
      messages: [{ role: "user", content: user }],
    });
    return { text: msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join(""), usage: msg.usage };
  };
  return {
    name: cfg.model,
    askWithUsage,
    ask: async (prompt) => (await askWithUsage(prompt)).text,
  };
}

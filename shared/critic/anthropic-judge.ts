// The judge through the official Anthropic SDK (Deno and Node alike). In a job, prefer the worker's
// ctx.llm judge (node/worker/critic.ts): it passes the policy service, budgets and the breakers.
import Anthropic from "@anthropic-ai/sdk";
import { JUDGE_ANSWER_SCHEMA, type JudgeModel } from "./judge.ts";

export interface AnthropicJudgeConfig {
  apiKey: string | null;
  baseURL?: string | null;
  model: string;
  timeoutMs?: number;
}

export function anthropicJudge(cfg: AnthropicJudgeConfig): JudgeModel {
  const client = new Anthropic({
    apiKey: cfg.apiKey ?? "actp-no-key",
    ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}),
    maxRetries: 1,
    timeout: cfg.timeoutMs ?? 30_000,
  });
  return {
    name: cfg.model,
    async ask({ system, user, maxTokens }) {
      const msg = await client.messages.create({
        model: cfg.model,
        max_tokens: maxTokens,
        output_config: { format: { type: "json_schema", schema: JUDGE_ANSWER_SCHEMA } },
        system,
        messages: [{ role: "user", content: user }],
      });
      return msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
    },
  };
}

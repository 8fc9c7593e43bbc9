// Exact token counts through Anthropic's count-tokens endpoint (the official SDK's
// messages.countTokens), used when a key (or a keyless base URL, e.g. a proxy) is configured.
import Anthropic from "@anthropic-ai/sdk";

export interface ExactCounter {
  readonly model: string;
  /** Tokens of a system prompt plus one user message, as the model will see them. */
  count(system: string | null, text: string): Promise<number>;
}

export interface AnthropicCountConfig {
  apiKey: string | null;
  baseURL?: string | null;
  model: string;
  timeoutMs?: number;
}

export function anthropicCounter(cfg: AnthropicCountConfig): ExactCounter {
  const client = new Anthropic({
    apiKey: cfg.apiKey ?? "actp-no-key",
    ...(cfg.baseURL ? { baseURL: cfg.baseURL } : {}),
    maxRetries: 1,
    timeout: cfg.timeoutMs ?? 10_000,
  });
  return {
    model: cfg.model,
    async count(system, text) {
      const r = await client.messages.countTokens({
        model: cfg.model,
        ...(system ? { system } : {}),
        messages: [{ role: "user", content: text.length > 0 ? text : " " }],
      });
      return r.input_tokens;
    },
  };
}

// Example agent from the README: one page fetched through ctx.fetch, summarized through ctx.llm.
// With no ANTHROPIC_API_KEY the summarize step fails with LlmNotConfiguredError (the route decision
// is in the error): missing configuration is not retried, so the job is in the DLQ after one attempt
// with the reason "not retried (llm.not_configured)".
import { z } from "zod";
import { defineAgent } from "actp";
import type { JobContext } from "actp";

const Input = z.object({ url: z.url() });
type Input = z.infer<typeof Input>;

export const summarizer = defineAgent({
  slug: "summarizer",
  description: "Fetches a page and summarizes it",
  input: Input,
  capabilities: [
    { tool: "http.fetch", tier: "read" },
    { tool: "model:*", tier: "read" },
  ],
  handler: async (ctx: JobContext<Input>, input: Input) => {
    // ctx.fetch: the policy check on every redirect hop, no private addresses, size and time limits.
    const page = await ctx.step("fetch", async () => (await ctx.fetch(input.url)).text());
    await ctx.progress({ message: "fetched", pct: 50 });
    return ctx.step("summarize", async () => {
      const answer = await ctx.llm("content_generation", {
        max_tokens: 400,
        messages: [{ role: "user", content: `Summarize in three sentences:\n\n${page.slice(0, 20_000)}` }],
      });
      return { summary: answer.text, model: answer.model, cost_usd: answer.cost_usd };
    });
  },
});

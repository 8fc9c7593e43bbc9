// Example agent: a small researcher. plan → fetch (one durable step per page) → extract → summarize.
// Each step is a checkpoint: a retry or a crash resumes after the last completed step, and a replay
// can start from any of them. Make it fail with `fail_at: "extract"` (a step that throws) or by
// listing the fixture site's /broken page in `urls`.
//
//   actp worker examples/agents.ts
//   actp enqueue researcher --input '{"question":"why durable steps?","site":"http://127.0.0.1:4599"}'
import { z } from "zod";
import { defineAgent } from "../node/worker/agents/index.ts";
import type { JobContext } from "../node/worker/context.ts";

export const ResearcherInput = z.object({
  question: z.string().min(3).max(500),
  site: z.url().describe("base URL of the site to research (the fixture site in examples/fixture-site.ts)"),
  urls: z.array(z.string().startsWith("/")).max(10).optional().describe("pages to read; default: the site's index"),
  fail_at: z.enum(["plan", "fetch", "extract", "summarize"]).optional().describe("throw in this step, to try retries and the DLQ"),
});
export type ResearcherInput = z.infer<typeof ResearcherInput>;

interface Page {
  path: string;
  title: string;
  text: string;
}

const words = (s: string) => s.toLowerCase().match(/[a-z]{3,}/g) ?? [];

// Every page is fetched through ctx.fetch: one policy-checked tool call (allowlist, rate limit,
// budget, the http.fetch circuit breaker and its events), every redirect hop re-checked, private
// addresses refused unless the allowlist names them exactly (examples/dev.ts allows the fixture
// site's 127.0.0.1:<port>), and size, time and content-type limits.
async function fetchText(ctx: JobContext<ResearcherInput>, url: string): Promise<string> {
  const res = await ctx.fetch(url, { limits: { timeoutMs: 10_000, maxBytes: 2 * 1024 * 1024, contentTypes: ["text/html", "application/json", "text/plain"] } });
  if (!res.ok) throw Object.assign(new Error(`GET ${url} answered ${res.status}`), { code: "tool.http_error" });
  return res.text();
}

export const researcher = defineAgent({
  slug: "researcher",
  description: "Answers a question from a small website: plans, fetches pages, extracts relevant sentences, summarizes.",
  input: ResearcherInput,
  capabilities: [{ tool: "http.fetch", tier: "read" }],
  memory_read: ["research"],
  handler: async (ctx: JobContext<ResearcherInput>, input: ResearcherInput) => {
    const failIf = (step: string) => {
      if (input.fail_at === step) throw Object.assign(new Error(`asked to fail in ${step}`), { code: "example.requested_failure" });
    };

    const plan = await ctx.step("plan", async () => {
      failIf("plan");
      const paths = input.urls ?? ((JSON.parse(await fetchText(ctx, `${input.site}/index.json`)) as { path: string }[]).map((p) => p.path));
      return { keywords: [...new Set(words(input.question))], paths };
    });
    await ctx.progress({ message: `planned ${plan.paths.length} pages`, pct: 10 });

    const pages: Page[] = [];
    for (const [i, path] of plan.paths.entries()) {
      pages.push(
        await ctx.step(`fetch:${path}`, async () => {
          failIf("fetch");
          const html = await fetchText(ctx, `${input.site}${path}`);
          const title = /<title>(.*?)<\/title>/s.exec(html)?.[1] ?? path;
          const text = html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
          return { path, title, text };
        }),
      );
      await ctx.progress({ message: `fetched ${i + 1} of ${plan.paths.length} pages`, pct: 10 + Math.round((70 * (i + 1)) / plan.paths.length) });
    }

    const evidence = await ctx.step("extract", () => {
      failIf("extract");
      return pages.flatMap((p) =>
        p.text
          .split(/(?<=\.)\s+/)
          .map((sentence) => ({ source: p.path, sentence, score: words(sentence).filter((w) => plan.keywords.includes(w)).length }))
          .filter((e) => e.score > 0),
      ).sort((a, b) => b.score - a.score);
    });

    return ctx.step("summarize", () => {
      failIf("summarize");
      const top = evidence.slice(0, 3);
      return {
        question: input.question,
        answer: top.length > 0 ? top.map((e) => e.sentence).join(" ") : "The site says nothing about this.",
        sources: [...new Set(top.map((e) => e.source))],
        pages_read: pages.length,
      };
    });
  },
});

// The critic inside a job: its judge goes through ctx.llm on the critic_review route (policy check,
// breaker, cost settled, tool.call_* events), against the local fake Anthropic server.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CircuitBreakers } from "../../shared/circuits/index.ts";
import { route } from "../../shared/models/index.ts";
import { runLlmCall } from "../../node/worker/guardrails/llm-call.ts";
import { llmJudge } from "../../node/worker/critic.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { review } from "../../shared/critic/review.ts";
import { FakeAnthropic } from "../support/fake-anthropic.ts";
import { testDatabase } from "../support/db.ts";
import { EVIDENCE } from "../support/critic-corpus.ts";

const db = testDatabase();
let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await FakeAnthropic.start();
});
afterAll(async () => {
  await fake.stop();
  await db.end();
});

describe("reviewing inside a job", () => {
  it("the critic_review route exists, and the judge's calls are ctx.llm calls with their events", async () => {
    expect((await route(db, "critic_review")).candidates[0]!.model).toBe("claude-haiku-4-5");
    const slug = `critic-${randomBytes(4).toString("hex")}`;
    await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
    const info: JobInfo = { db, jobId: randomUUID(), agentSlug: slug, signal: new AbortController().signal, currentStep: () => "verify" };
    const breakers = new CircuitBreakers(db);
    const ctx = { llm: (task: string, req: Parameters<typeof runLlmCall>[2]) => runLlmCall(info, task, req, { apiKey: "test-key", baseURL: fake.url, breakers }) };
    fake.respondWith(() => JSON.stringify({ verdict: "supported", reason: "the page says so" }));
    const r = await review({ claim: "The marathon covers 42.195 km [marathon].", evidence: EVIDENCE, samples: 2 }, { judge: llmJudge(ctx) });
    expect(r).toMatchObject({ verdict: "approve", checks: "deterministic+model", confidence: 0.95 });
    expect(fake.requests.map((q) => q.model)).toEqual(["claude-haiku-4-5", "claude-haiku-4-5"]);
    expect(fake.requests[0]!.body.output_config).toMatchObject({ format: { type: "json_schema" } });
    const { rows } = await db.query<{ type: string; n: number }>(
      `select type, count(*)::int as n from actp_events where job_id = $1 group by type order by type`,
      [info.jobId],
    );
    expect(rows).toEqual([{ type: "tool.call_completed", n: 2 }, { type: "tool.call_started", n: 2 }]);
  });
});

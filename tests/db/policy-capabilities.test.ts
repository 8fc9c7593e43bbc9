// An agent's declared capabilities are its tool allowlist, and may name tool families: "web.*",
// "model:*" (every model ctx.llm may route to), or "*".
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { afterAll, describe, expect, it } from "vitest";
import { defineAgent, registerAgent } from "../../node/worker/agents/index.ts";
import { checkPolicy } from "../../shared/policy/index.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

async function agentWith(tools: string[]): Promise<string> {
  const slug = `caps-${randomBytes(4).toString("hex")}`;
  await registerAgent(
    db,
    defineAgent({
      slug,
      input: z.object({}),
      capabilities: tools.map((tool) => ({ tool, tier: "read" as const })),
      handler: async () => null,
    }),
  );
  return slug;
}

const check = (agent: string, tool: string) =>
  checkPolicy(db, { agent_slug: agent, tool_name: tool, action_type: "read", run_id: randomUUID(), estimated_cost_usd: 0 });

describe("capabilities as the tool allowlist", () => {
  it("allows a family by prefix and denies other tools", async () => {
    const agent = await agentWith(["web.*", "model:*"]);
    expect((await check(agent, "web.fetch")).allowed).toBe(true);
    expect((await check(agent, "model:claude-haiku-4-5")).allowed).toBe(true);
    const denied = await check(agent, "shell.exec");
    expect(denied).toMatchObject({ allowed: false, reason: "tool_not_permitted" });
  });

  it("an exact capability allows only that tool; '*' allows all", async () => {
    const exact = await agentWith(["web.fetch"]);
    expect((await check(exact, "web.fetch")).allowed).toBe(true);
    expect((await check(exact, "web.fetcher")).allowed).toBe(false);
    const all = await agentWith(["*"]);
    expect((await check(all, "anything.at_all")).allowed).toBe(true);
  });

  it("refuses a capability with a wildcard anywhere but the end", async () => {
    await expect(agentWith(["we*b.fetch"])).rejects.toThrow();
    await expect(agentWith(["*.fetch"])).rejects.toThrow();
  });
});

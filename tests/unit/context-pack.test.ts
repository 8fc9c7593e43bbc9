import { describe, expect, it } from "vitest";
import { ContextBudgetError, packContext, type PackInput } from "../../shared/context/pack.ts";
import type { ContextItemInput, AgentContextPacket } from "../../shared/context/contracts.ts";
import { estimateCounter } from "../../shared/context/tokens.ts";

const words = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${seed}${i % 7 === 0 ? "." : ""} word${(i * 31) % 97}`).join(" ");

function corpus(): ContextItemInput[] {
  const items: ContextItemInput[] = [];
  for (let i = 0; i < 6; i++) items.push({ id: `turn-${i}`, layer: "conversation", slot: "turns", rank: i, text: words(40, `turn${i}`) });
  items.push({ id: "tool-pair-1", layer: "conversation", slot: "turns", rank: 2, atomic: true, text: `tool_use web.fetch {"url":"https://x"}\ntool_result ${words(60, "result")}` });
  for (let i = 0; i < 8; i++) items.push({ id: `fact-${i}`, layer: "semantic", slot: "facts", rank: i, text: words(25, `fact${i}`) });
  items.push({ id: "entity-1", layer: "semantic", slot: "entities", rank: 0, text: words(15, "entity") });
  for (let i = 0; i < 20; i++) items.push({ id: `event-${i}`, layer: "episodic", slot: "recent_events", rank: i, text: words(12, `event${i}`) });
  for (let i = 0; i < 3; i++) items.push({ id: `sop-${i}`, layer: "procedural", slot: "sops", rank: i, text: words(80, `sop${i}`) });
  items.push({ id: "lesson-1", layer: "procedural", slot: "lessons", rank: 0, text: words(20, "lesson") });
  for (let i = 0; i < 2; i++) items.push({ id: `goal-${i}`, layer: "goals", slot: "active_objectives", rank: i, text: words(10, `goal${i}`) });
  return items;
}

const base = (budget: number, over: Partial<PackInput> = {}): PackInput => ({
  system: "You are a careful research agent.",
  task: "Summarize what we know about the retrieval index.",
  budget,
  items: corpus(),
  summary: "Earlier the user asked about memory layers.",
  ...over,
});

const ids = (p: AgentContextPacket) =>
  new Set([
    ...p.conversation.turns, ...p.semantic.facts, ...p.semantic.entities, ...p.episodic.recent_events,
    ...p.procedural.sops, ...p.procedural.lessons, ...p.goals.active_objectives,
  ].map((i) => i.id).concat(p.conversation.summary ? ["conversation.summary"] : []));

describe("packContext", () => {
  it("keeps everything when the budget allows, and reports tokens per layer", () => {
    const p = packContext(base(100_000), estimateCounter);
    expect(p.manifest.dropped).toEqual([]);
    expect(p.manifest.truncated).toEqual([]);
    expect(p.conversation.turns).toHaveLength(7);
    const layerSum = Object.values(p.manifest.layers).reduce((s, l) => s + l.tokens, 0);
    expect(p.token_budget.used).toBe(layerSum + p.manifest.fixed_tokens.system + p.manifest.fixed_tokens.task);
    expect(p.manifest.counter.kind).toBe("estimate");
  });

  it("never exceeds the budget, at any budget", () => {
    for (let b = 30; b < 6000; b += 97) {
      const p = packContext(base(b), estimateCounter);
      expect(p.token_budget.used).toBeLessThanOrEqual(b);
    }
  });

  it("is deterministic whatever the input order", () => {
    const a = packContext(base(900), estimateCounter);
    const shuffled = [...corpus()].reverse();
    const b = packContext(base(900, { items: shuffled }), estimateCounter);
    expect(b).toEqual(a);
  });

  it("a larger budget never removes an item nor shortens one", () => {
    let prev: AgentContextPacket | null = null;
    for (let b = 30; b < 5000; b += 37) {
      const p = packContext(base(b), estimateCounter);
      if (prev) {
        for (const id of ids(prev)) expect({ b, id, kept: ids(p).has(id) }).toEqual({ b, id, kept: true });
        const len = (x: AgentContextPacket) => new Map([...x.conversation.turns, ...x.semantic.facts, ...x.episodic.recent_events, ...x.procedural.sops].map((i) => [i.id, i.text.length]));
        const before = len(prev);
        for (const [id, l] of len(p)) if (before.has(id)) expect(l).toBeGreaterThanOrEqual(Math.min(before.get(id)!, l));
      }
      prev = p;
    }
  });

  it("truncates items before it drops a whole layer, and drops the lowest priority layer first", () => {
    const p = packContext(base(1200), estimateCounter);
    expect(p.manifest.truncated.length).toBeGreaterThan(0);
    // Dropping starts with the lowest-ranked episodic events (priority 2), not with conversation (5).
    const droppedLayers = new Set(p.manifest.dropped.map((d) => d.layer));
    expect(droppedLayers.has("conversation")).toBe(p.manifest.dropped.some((d) => d.id === "tool-pair-1"));
    expect(p.goals.active_objectives.length).toBe(2);
    const tight = packContext(base(400), estimateCounter);
    expect(tight.manifest.layers.episodic.kept).toBeLessThanOrEqual(tight.manifest.layers.conversation.kept);
  });

  it("keeps a tool_use/tool_result pair whole or drops it whole", () => {
    for (let b = 100; b < 3000; b += 50) {
      const p = packContext(base(b), estimateCounter);
      const pair = p.conversation.turns.find((t) => t.id === "tool-pair-1");
      if (pair) expect(pair.truncated).toBe(false);
      else expect(p.manifest.dropped.find((d) => d.id === "tool-pair-1")?.reason).toBe("budget_atomic_pair");
    }
  });

  it("per-agent priorities change what survives", () => {
    const episodicFirst = packContext(base(800, { priorities: { episodic: 50, conversation: 1 } }), estimateCounter);
    const conversationFirst = packContext(base(800), estimateCounter);
    expect(episodicFirst.manifest.layers.episodic.tokens).toBeGreaterThan(conversationFirst.manifest.layers.episodic.tokens);
  });

  it("never trims system or task: a budget below them is a typed error, no packet", () => {
    const big = "x ".repeat(5000);
    expect(() => packContext(base(100, { system: big }), estimateCounter)).toThrow(ContextBudgetError);
    try {
      packContext(base(10), estimateCounter);
    } catch (e) {
      expect((e as ContextBudgetError).code).toBe("context.budget_too_small");
      expect((e as ContextBudgetError).status).toBe(400);
    }
    const p = packContext(base(40), estimateCounter);
    expect(p.system).toBe("You are a careful research agent.");
    expect(p.task).toBe("Summarize what we know about the retrieval index.");
  });

  it("refuses an item in a slot its layer does not have, and duplicate ids", () => {
    expect(() => packContext(base(500, { items: [{ id: "a", layer: "goals", slot: "facts", rank: 0, text: "x" }] }), estimateCounter)).toThrow(/no slot facts/);
    expect(() =>
      packContext(base(500, { items: [{ id: "a", layer: "goals", slot: "active_objectives", rank: 0, text: "x" }, { id: "a", layer: "goals", slot: "active_objectives", rank: 1, text: "y" }] }), estimateCounter),
    ).toThrow(/twice/);
  });
});

// The packing step of the context assembler: pure, deterministic, and monotone in the budget.
//
// Every item gets a share of the budget by "water filling": at level t an item may use
// min(its full size, floor(t × weight)) tokens, where weight = layer priority ÷ (1 + rank/4). The
// packer finds the highest level at which everything still fits. Consequences, each on purpose:
// - when the budget is short every item is truncated a little before any is dropped, and an item is
//   dropped only when its share falls below a useful minimum, so low-priority layers thin out and
//   vanish before high-priority ones are touched;
// - the total at level t never decreases as t grows, so a larger budget gives a level at least as
//   high, and every share at least as large: a larger budget never removes an item;
// - atomic units (a tool_use turn with its tool_result) are kept whole or dropped whole;
// - system and task are never trimmed: if they alone exceed the budget, packing fails.
import { ActpError } from "../errors.ts";
import {
  CONTEXT_LAYERS,
  ContextItem,
  type AgentContextPacket,
  type ContextItemInput,
  type ContextLayer,
  type ContextManifest,
  type LayerPriorities,
  type PackedItem,
  DEFAULT_PRIORITIES,
  SLOTS,
} from "./contracts.ts";
import { truncateToTokens, type TokenCounter } from "./tokens.ts";

/** Separator/label tokens each item costs in the rendered prompt. */
export const ITEM_OVERHEAD = 4;
/** A truncated item shorter than this is not worth keeping. */
export const MIN_ITEM_TOKENS = 32;

export class ContextBudgetError extends ActpError {
  constructor(readonly needed: number, readonly budget: number) {
    super(
      "context.budget_too_small",
      `system and task alone need ${needed} tokens, more than the budget of ${budget}`,
      { details: { needed, budget } },
    );
  }
}

export interface PackInput {
  system: string | null;
  task: string | null;
  budget: number;
  priorities?: LayerPriorities;
  items: readonly ContextItemInput[];
  /** The conversation store's running summary; packed like a high-rank conversation item. */
  summary?: string | null;
}

interface Candidate {
  item: ContextItem;
  cost: number;
  weight: number;
  min: number;
}

const rankDecay = (rank: number) => 1 / (1 + rank / 4);

function share(c: Candidate, level: number): number {
  const a = Math.min(c.cost, Math.floor(level * c.weight));
  return a >= c.min ? a : 0;
}

function totalAt(cands: readonly Candidate[], level: number): number {
  let sum = 0;
  for (const c of cands) sum += share(c, level);
  return sum;
}

export function packContext(input: PackInput, counter: TokenCounter): AgentContextPacket {
  const priorities = { ...DEFAULT_PRIORITIES, ...(input.priorities ?? {}) };
  const systemTokens = input.system ? counter.count(input.system) : 0;
  const taskTokens = input.task ? counter.count(input.task) : 0;
  const fixed = systemTokens + taskTokens;
  if (fixed > input.budget) throw new ContextBudgetError(fixed, input.budget);
  const avail = input.budget - fixed;

  const items: ContextItem[] = input.items.map((i) => ContextItem.parse(i));
  if (input.summary) {
    items.push(ContextItem.parse({ id: "conversation.summary", layer: "conversation", slot: "summary", rank: 0, text: input.summary }));
  }
  // One canonical order, so equal inputs in any order give the same packet.
  items.sort((a, b) =>
    CONTEXT_LAYERS.indexOf(a.layer) - CONTEXT_LAYERS.indexOf(b.layer) || a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const seen = new Set<string>();
  for (const i of items) {
    const k = `${i.layer}\u0000${i.id}`;
    if (seen.has(k)) throw new ActpError("context.duplicate_item", `item ${i.id} appears twice in layer ${i.layer}`);
    seen.add(k);
    if (!(i.layer === "conversation" && i.slot === "summary") && !SLOTS[i.layer].includes(i.slot)) {
      throw new ActpError("context.invalid_slot", `layer ${i.layer} has no slot ${i.slot} (expected ${SLOTS[i.layer].join(", ")})`);
    }
  }

  const cands: Candidate[] = items.map((item) => {
    const cost = counter.count(item.text) + ITEM_OVERHEAD;
    return { item, cost, weight: priorities[item.layer] * rankDecay(item.rank), min: item.atomic ? cost : Math.min(cost, MIN_ITEM_TOKENS + ITEM_OVERHEAD) };
  });

  let level = cands.reduce((m, c) => Math.max(m, c.cost / c.weight), 0) + 1;
  if (totalAt(cands, level) > avail) {
    // Bisection on the level; the predicate is monotone in the level and in the budget, so the
    // result is monotone in the budget too.
    let lo = 0;
    let hi = level;
    for (let i = 0; i < 64; i++) {
      const mid = (lo + hi) / 2;
      if (totalAt(cands, mid) <= avail) lo = mid;
      else hi = mid;
    }
    level = lo;
  }

  const manifest: ContextManifest = {
    counter: { kind: counter.kind, ...(counter.margin ? { margin: counter.margin } : {}), ...(counter.model ? { model: counter.model } : {}) },
    fixed_tokens: { system: systemTokens, task: taskTokens },
    layers: Object.fromEntries(
      CONTEXT_LAYERS.map((l) => [l, { tokens: 0, kept: 0, truncated: 0, dropped: 0, priority: priorities[l] }]),
    ) as ContextManifest["layers"],
    truncated: [],
    dropped: [],
  };
  const packet: AgentContextPacket = {
    system: input.system ?? null,
    task: input.task ?? null,
    conversation: { turns: [], summary: null },
    semantic: { entities: [], facts: [] },
    episodic: { recent_events: [] },
    procedural: { sops: [], lessons: [] },
    goals: { active_objectives: [] },
    token_budget: { used: fixed, limit: input.budget },
    manifest,
  };

  for (const c of cands) {
    const layer: ContextLayer = c.item.layer;
    const stats = manifest.layers[layer]!;
    const a = share(c, level);
    if (a === 0) {
      stats.dropped++;
      manifest.dropped.push({ layer, id: c.item.id, tokens: c.cost, reason: c.item.atomic ? "budget_atomic_pair" : "budget" });
      continue;
    }
    const truncated = a < c.cost;
    const text = truncated ? truncateToTokens(c.item.text, a - ITEM_OVERHEAD, counter) : c.item.text;
    const tokens = counter.count(text);
    if (truncated) {
      stats.truncated++;
      manifest.truncated.push({ layer, id: c.item.id, from_tokens: c.cost - ITEM_OVERHEAD, to_tokens: tokens, reason: "budget" });
    }
    stats.kept++;
    stats.tokens += tokens + ITEM_OVERHEAD;
    packet.token_budget.used += tokens + ITEM_OVERHEAD;
    const packed: PackedItem = { id: c.item.id, text, tokens, truncated, data: c.item.data };
    place(packet, c.item, packed);
  }
  return packet;
}

function place(packet: AgentContextPacket, item: ContextItem, packed: PackedItem): void {
  if (item.layer === "conversation" && item.slot === "summary") {
    packet.conversation.summary = packed.text;
    return;
  }
  const layer = packet[item.layer] as unknown as Record<string, PackedItem[]>;
  layer[item.slot]!.push(packed);
}

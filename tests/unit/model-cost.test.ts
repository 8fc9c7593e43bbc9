// Token usage to dollars at the route's prices, the input-token estimate, and the worst case that
// ctx.llm reserves.
import { describe, expect, it } from "vitest";
import { estimateInputTokens, roundUsd, usageCostUsd, worstCaseCostUsd } from "../../shared/models/cost.ts";

const sonnet = { input_usd_per_mtok: 2, output_usd_per_mtok: 10 };
const haiku = { input_usd_per_mtok: 1, output_usd_per_mtok: 5 };

describe("usageCostUsd", () => {
  it("prices input and output tokens per million", () => {
    expect(usageCostUsd({ input_tokens: 1_000_000, output_tokens: 0 }, sonnet)).toBe(2);
    expect(usageCostUsd({ input_tokens: 0, output_tokens: 1_000_000 }, sonnet)).toBe(10);
    expect(usageCostUsd({ input_tokens: 1200, output_tokens: 150 }, sonnet)).toBe(0.0039);
    expect(usageCostUsd({ input_tokens: 1, output_tokens: 1 }, haiku)).toBe(0.000006);
  });

  it("prices cache writes at 1.25x and cache reads at 0.1x the input price", () => {
    const cost = usageCostUsd({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 1_000_000, cache_read_input_tokens: 1_000_000 }, haiku);
    expect(cost).toBe(1.35);
    expect(usageCostUsd({ input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: null, cache_read_input_tokens: null }, haiku)).toBe(0.00006);
  });

  it("is free of float noise", () => {
    expect(roundUsd(0.1 + 0.2)).toBe(0.3);
    expect(usageCostUsd({ input_tokens: 3, output_tokens: 7 }, { input_usd_per_mtok: 0.1, output_usd_per_mtok: 0.2 })).toBe(0.0000017);
  });

  it("zero prices cost nothing", () => {
    expect(usageCostUsd({ input_tokens: 5000, output_tokens: 5000 }, { input_usd_per_mtok: 0, output_usd_per_mtok: 0 })).toBe(0);
  });
});

describe("estimates", () => {
  it("over-estimates input tokens rather than under-estimating them", () => {
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(100);
    // About 4.5 characters per English token; the estimate must not be lower than that.
    expect(estimateInputTokens([text], 1)).toBeGreaterThan(text.length / 4.5);
    expect(estimateInputTokens([], 0)).toBe(16);
    expect(estimateInputTokens(["abc", "def"], 2)).toBe(2 + 16 + 16);
  });

  it("the worst case charges every allowed output token", () => {
    expect(worstCaseCostUsd(1000, 4096, sonnet)).toBe(roundUsd(1000 * 2e-6 + 4096 * 10e-6));
    expect(worstCaseCostUsd(0, 150_000, sonnet)).toBe(1.5);
  });
});

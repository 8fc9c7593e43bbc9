// Token counts to US dollars, with the route's prices (per million tokens). Pure, so the unit tier
// pins the arithmetic. Cache writes and reads use Anthropic's multipliers of the input price
// (5-minute cache write 1.25x, cache read 0.1x).

export interface TokenPrices {
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

const CACHE_WRITE_MULTIPLIER = 1.25;
const CACHE_READ_MULTIPLIER = 0.1;

// Costs are kept to the micro-dollar's thousandth (nine decimals): enough for one token of the
// cheapest model, and free of float noise like 0.30000000000000004 in ledgers and events.
export function roundUsd(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

export function usageCostUsd(usage: TokenUsage, prices: TokenPrices): number {
  const perToken = (p: number) => p / 1_000_000;
  const input = usage.input_tokens * perToken(prices.input_usd_per_mtok);
  const cacheWrite = (usage.cache_creation_input_tokens ?? 0) * perToken(prices.input_usd_per_mtok) * CACHE_WRITE_MULTIPLIER;
  const cacheRead = (usage.cache_read_input_tokens ?? 0) * perToken(prices.input_usd_per_mtok) * CACHE_READ_MULTIPLIER;
  const output = usage.output_tokens * perToken(prices.output_usd_per_mtok);
  return roundUsd(input + cacheWrite + cacheRead + output);
}

/**
 * Input tokens of a request, estimated from its text without a round trip. Reservation must not
 * under-estimate, so this counts one token per 3 characters (English averages about 4) plus a
 * per-message overhead; routing uses the same figure for context_length.
 */
export function estimateInputTokens(texts: readonly string[], messageCount: number): number {
  const chars = texts.reduce((n, t) => n + t.length, 0);
  return Math.ceil(chars / 3) + 8 * messageCount + 16;
}

/** The most a call can cost: estimated input plus every output token it may produce. */
export function worstCaseCostUsd(inputTokens: number, maxOutputTokens: number, prices: TokenPrices): number {
  return usageCostUsd({ input_tokens: inputTokens, output_tokens: maxOutputTokens }, prices);
}

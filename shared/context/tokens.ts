// Token counting for the assembler. Exact counts come from Anthropic's count-tokens endpoint when a
// key is configured (node side, shared/context/anthropic-counter.ts); offline, this estimator is
// used with a safety margin. The margin was measured against Anthropic's published tokenizer
// (@anthropic-ai/tokenizer, in tests/unit/context-tokens.test.ts): the estimate must never be below
// the real count on prose, code, JSON, URLs and non-Latin text.

export interface TokenCounter {
  readonly kind: "anthropic" | "estimate";
  readonly margin?: number;
  readonly model?: string;
  /** Tokens of one text. Synchronous so packing stays a pure function. */
  count(text: string): number;
}

/** Applied on top of the raw estimate; see the calibration test for the measured worst case. */
export const ESTIMATE_MARGIN = 1.15;

const encoder = new TextEncoder();

/**
 * A conservative estimate, run by run: plain words cost about one token per four letters, digit runs
 * one per two digits, high-entropy runs (ids, hashes, base64) almost one per character pair or less,
 * punctuation one each, CJK one per character and pictographs three. The byte-based floor covers
 * anything the runs miss.
 */
export function estimateTokensRaw(text: string): number {
  if (text.length === 0) return 0;
  let n = 0;
  for (const m of text.matchAll(/(\p{Extended_Pictographic})|([\p{L}\p{M}\p{N}]+)|(\s+)|(.)/gsu)) {
    const [, pict, word, space, other] = m;
    if (pict) n += 3;
    else if (word) n += wordRun(word);
    else if (space) n += space === " " ? 0 : Math.max(1, space.match(/\n/g)?.length ?? 0);
    else if (other) n += other.charCodeAt(0) < 0x80 ? 1 : 1.5;
  }
  return Math.ceil(Math.max(n, encoder.encode(text).length / 4));
}

function wordRun(run: string): number {
  if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u.test(run)) return run.length * 1.2;
  if (/[^\x00-\x7f]/.test(run)) return Math.max(1, run.length / 2.2);
  if (/^[0-9]+$/.test(run)) return Math.ceil(run.length / 2);
  // Ids, hashes and base64: letters mixed with digits, or case changing inside the word.
  const letters = /^[A-Za-z]+$/.test(run);
  if (!letters) return run.length / 1.15;
  if (run.length > 6 && /[a-z][A-Z]|[A-Z]{2}[a-z]/.test(run.slice(1))) return run.length / 1.4;
  return run.length <= 4 ? 1 : run.length / 4;
}

export function estimateTokens(text: string): number {
  return Math.ceil(estimateTokensRaw(text) * ESTIMATE_MARGIN);
}

export const estimateCounter: TokenCounter = { kind: "estimate", margin: ESTIMATE_MARGIN, count: estimateTokens };

/**
 * Cuts text to at most `tokens` by the counter, at a word boundary where one is near, marking the cut.
 * Binary search on the character length keeps it exact for any counter.
 */
export function truncateToTokens(text: string, tokens: number, counter: TokenCounter): string {
  const marker = " …[truncated]";
  if (counter.count(text) <= tokens) return text;
  const room = tokens - counter.count(marker);
  if (room <= 0) return "";
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (counter.count(text.slice(0, mid)) <= room) lo = mid;
    else hi = mid - 1;
  }
  let cut = text.slice(0, lo);
  // Do not split a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  const space = cut.lastIndexOf(" ");
  if (space > cut.length * 0.8) cut = cut.slice(0, space);
  return cut.trimEnd() + marker;
}

// Calibrates the offline token estimator against Anthropic's published tokenizer: the estimate
// (with its margin) must never be below the real count, and not wildly above it, on every kind of
// text an agent's context holds.
import { countTokens } from "@anthropic-ai/tokenizer";
import { describe, expect, it } from "vitest";
import { ESTIMATE_MARGIN, estimateTokens, estimateTokensRaw, truncateToTokens, estimateCounter } from "../../shared/context/tokens.ts";

const SAMPLES: Record<string, string> = {
  prose:
    "The retrieval index is a projection of the canonical stores: it can be dropped and rebuilt at any time, and a search never returns a vector hit whose source has changed since it was embedded.",
  long_words:
    "Internationalization, characterization and counterrevolutionary institutionalization notwithstanding, incomprehensibilities multiply.",
  code: "export async function f(a: number[], b?: Record<string, unknown>): Promise<void> { for (const x of a) { if (x % 2 === 0) await g(x, b?.['k']); } }",
  json: JSON.stringify({ job_id: "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", type: "tool.call_completed", payload: { tool: "web.fetch", cost_usd: 0.0042, latency_ms: 812, ok: true } }),
  url: "https://docs.example.com/api/v2/resources/items?filter=status%3Dactive&sort=-updated_at&page[size]=50#section-3.2",
  numbers: "2026-12-03T09:31:47Z 3.14159 42 1,000,000 0xdeadbeef 192.168.0.1 99.95% $12.50 -17.3e-4",
  german: "Die Überprüfung der Zuständigkeiten ergab, dass die Verantwortlichkeiten ungeklärt blieben.",
  japanese: "エージェントは記憶を通じて学び、事実になる前にゲートを通過します。",
  chinese: "代理通过记忆学习，在成为事实之前要经过审核。",
  russian: "Агент запоминает через шлюз: то, что он узнал, проходит проверку, прежде чем стать фактом.",
  emoji: "Deploy ✅ tests 🧪 done 🎉 — next: 🚀 release, 🐛 fixes, 📈 metrics",
  markdown: "## Runbook\n\n1. Check `actp_platform_mode()`\n2. If **incident**, page the on-call: `/ack` in Telegram.\n\n| col | val |\n|---|---|\n| a | 1 |",
  whitespace: "a    b\n\n\n\tc          d",
  symbols: "!!!???...;;;:::{{{}}}[[[]]]<<<>>>|||&&&***^^^%%%$$$###@@@",
  hex: "a3f9c2e17b04d58e9f6a1c3b2d4e5f60718293a4b5c6d7e8f9",
  uuids: "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed 9f6a1c3b-2d4e-5f60-7182-93a4b5c6d7e8",
  sha: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  base64: "U29tZSBiYXNlNjQgZW5jb2RlZCBjb250ZW50IHRoYXQgbG9va3MgbGlrZSBub2lzZQ==aGVsbG8gd29ybGQ=",
};

describe("token estimator, measured against Anthropic's tokenizer", () => {
  const rows = Object.entries(SAMPLES).map(([name, text]) => ({ name, real: countTokens(text), est: estimateTokens(text), raw: estimateTokensRaw(text) }));

  it("never estimates below the real count", () => {
    for (const r of rows) expect({ name: r.name, ok: r.est >= r.real }).toEqual({ name: r.name, ok: true });
  });

  it("stays within 3x of the real count (useful, not just safe)", () => {
    for (const r of rows) expect({ name: r.name, ratio: r.est / r.real <= 3 }).toEqual({ name: r.name, ratio: true });
  });

  it("the margin covers the worst raw under-estimate seen", () => {
    const worst = Math.max(...rows.map((r) => r.real / Math.max(1, r.raw)));
    expect(ESTIMATE_MARGIN).toBeGreaterThanOrEqual(Math.min(worst, ESTIMATE_MARGIN));
    expect(worst).toBeLessThanOrEqual(ESTIMATE_MARGIN);
  });
});

describe("truncateToTokens", () => {
  it("fits the limit, marks the cut, keeps short text as is", () => {
    const text = SAMPLES.prose!.repeat(10);
    const cut = truncateToTokens(text, 40, estimateCounter);
    expect(estimateTokens(cut)).toBeLessThanOrEqual(40);
    expect(cut.endsWith("…[truncated]")).toBe(true);
    expect(truncateToTokens("short", 40, estimateCounter)).toBe("short");
  });

  it("never splits a surrogate pair", () => {
    const cut = truncateToTokens("🎉".repeat(200), 30, estimateCounter);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(cut)).toBe(false);
  });
});

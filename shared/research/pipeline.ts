// One fetched page through the §4.15 pipeline, without the network: sanitize (HTML → visible
// text, hidden parts kept apart), normalize, scan per sentence, ask the judge about borderline
// pages, redact, hash. The caller stores the result (store.ts). Runtime-neutral.
import type { Finding, Severity } from "./evidence.ts";
import type { Judge, JudgeVerdict } from "./judge.ts";
import { clean } from "./normalize.ts";
import { sanitizeHtml, type Segment } from "./sanitize.ts";
import { redact, scanUnits, unitsOf } from "./scan.ts";

export const RESEARCH_CONTENT_TYPES = ["text/html", "text/plain", "application/json"] as const;
export type ResearchContentType = (typeof RESEARCH_CONTENT_TYPES)[number];

export interface ProcessedPage {
  title: string;
  /** Sanitized, normalized text with flagged spans redacted: what is stored and cited. */
  text: string;
  content_hash: string;
  findings: Finding[];
  risk_score: number;
  max_severity: Severity | "none";
  flagged: boolean;
  quarantined: boolean;
  judge: JudgeVerdict | null;
}

/** A judge's "injection" at this confidence quarantines a borderline page. */
export const JUDGE_QUARANTINE_CONFIDENCE = 0.5;

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function extract(body: string, contentType: ResearchContentType): { title: string; raw: string; segments: Segment[] } {
  if (contentType === "text/html") {
    const page = sanitizeHtml(body);
    return { title: page.title, raw: page.text, segments: page.segments };
  }
  if (contentType === "application/json") {
    try {
      return { title: "", raw: JSON.stringify(JSON.parse(body), null, 2), segments: [] };
    } catch {
      return { title: "", raw: body, segments: [] };
    }
  }
  return { title: "", raw: body, segments: [] };
}

export async function processPage(input: { url: string; body: string; contentType: ResearchContentType }, opts: { judge?: Judge | null } = {}): Promise<ProcessedPage> {
  const { title, raw, segments } = extract(input.body, input.contentType);
  const cleanText = clean(raw);
  const cleanTitle = clean(title).slice(0, 2000);
  const scan = scanUnits(unitsOf(cleanText, raw, cleanTitle, segments, input.contentType === "application/json"));
  const findings = [...scan.findings];
  let quarantined = scan.quarantined;
  let judge: JudgeVerdict | null = null;
  if (scan.borderline && opts.judge) {
    judge = await opts.judge({ url: input.url, text: cleanText, findings });
    if (judge.verdict === "injection" && judge.confidence >= JUDGE_QUARANTINE_CONFIDENCE) {
      quarantined = true;
      findings.push({
        rule: "judge.injection",
        category: "judge",
        severity: "high",
        weight: 0,
        span: { start: 0, end: 0 },
        excerpt: judge.reason.slice(0, 200),
        source: "judge",
      });
    }
  }
  return {
    title: findings.some((f) => f.source === "title" && f.severity !== "low") ? "[redacted title]" : cleanTitle,
    text: redact(cleanText, findings),
    content_hash: `sha256:${await sha256Hex(cleanText)}`,
    findings,
    risk_score: scan.risk,
    max_severity: scan.maxSeverity,
    flagged: scan.flagged || quarantined,
    quarantined,
    judge,
  };
}

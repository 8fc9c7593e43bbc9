// The injection scan (PRD §4.15 step 2): per sentence, weighted rules (rules.ts) over normalized
// views (normalize.ts) of every unit a model could read or that the page hid from its reader:
// the visible text, the title, attributes, hidden elements, left-out boilerplate, and decoded
// base64 / percent / tag-character runs. Deterministic: the same page always gives the same result.
import type { Finding, Severity } from "./evidence.ts";
import { clean, decodedRuns, plainView, skeletonView, type View } from "./normalize.ts";
import { DISCUSSION_CONTEXT, RULES, stripAddresses } from "./rules.ts";

export type UnitSource = Finding["source"];

export interface ScanUnit {
  /** Clean text (normalize.clean) of the unit. */
  text: string;
  source: UnitSource;
  /** For decoded units: where the encoded run sits in the main text (redacted whole if flagged). */
  at?: { start: number; end: number };
  /** JSON strings are all quoted: quotation marks there say nothing about discussion. */
  quotesAreSyntax?: boolean;
}

export interface ScanResult {
  findings: Finding[];
  /** Non-discounted weights plus discounted ones capped at DISCUSSION_CAP. */
  risk: number;
  maxSeverity: Severity | "none";
  flagged: boolean;
  /** Over the threshold on its own (the judge may still quarantine a borderline page). */
  quarantined: boolean;
  /** Flagged, not quarantined, with enough weight that a judge's opinion is worth asking. */
  borderline: boolean;
}

export const QUARANTINE_RISK = 4;
export const BORDERLINE_RISK = 2;
/** A page that only discusses attacks (quotes, examples) never crosses the threshold on that alone. */
export const DISCUSSION_CAP = 3;
const SEVERITY_ORDER: Severity[] = ["low", "medium", "high", "critical"];
// Hidden text that gives orders is worse than visible text that does.
const SOURCE_FACTOR: Record<UnitSource, number> = { text: 1, title: 1, attribute: 1, hidden: 1.5, boilerplate: 1, decoded: 1.5, judge: 1 };

const lower = (s: Severity): Severity => SEVERITY_ORDER[Math.max(0, SEVERITY_ORDER.indexOf(s) - 1)]!;

/** Sentence bounds in a view: split after . ! ? (and CJK stops) followed by space, and at newlines. */
function sentences(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  for (const m of text.matchAll(/(?<=[.!?。！？])\s+|\n+|(?<=[。！？])/g)) {
    if (m.index! > start) out.push({ start, end: m.index! });
    start = m.index! + m[0].length;
  }
  if (start < text.length) out.push({ start, end: text.length });
  return out;
}

const QUOTES = /["“”«»„「」『』]/g;

/** Is [start, end) inside quotation marks within its sentence, or in code? */
function quoted(sentence: string, start: number, end: number): boolean {
  const before = (sentence.slice(0, start).match(QUOTES) ?? []).length;
  const after = (sentence.slice(end).match(QUOTES) ?? []).length;
  if (before % 2 === 1 && after >= 1) return true;
  const ticksBefore = (sentence.slice(0, start).match(/`/g) ?? []).length;
  return ticksBefore % 2 === 1;
}

function scanUnit(unit: ScanUnit, findings: Finding[]): void {
  const plain = plainView(unit.text);
  const skeleton = skeletonView(plain);
  const views: Record<"plain" | "skeleton", View> = { plain, skeleton };
  for (const viewName of ["plain", "skeleton"] as const) {
    const view = views[viewName];
    for (const s of sentences(view.text)) {
      const sentence = view.text.slice(s.start, s.end);
      const discussion = DISCUSSION_CONTEXT.test(stripAddresses(sentence));
      for (const rule of RULES) {
        if (rule.view !== viewName) continue;
        const m = rule.pattern.exec(sentence);
        if (!m) continue;
        const from = s.start + m.index;
        const to = from + m[0].length;
        // Offsets in the unit's clean text.
        const start = view.map[from] ?? 0;
        const end = (view.map[Math.max(from, to - 1)] ?? start) + 1;
        if (findings.some((f) => f.rule === rule.id && f.source === unit.source && f.span.start === (unit.at?.start ?? start))) continue;
        const discounted = unit.source !== "hidden" && unit.source !== "decoded" && (discussion || (!unit.quotesAreSyntax && quoted(sentence, m.index, m.index + m[0].length)));
        const weight = rule.weight * SOURCE_FACTOR[unit.source] * (discounted ? 0.25 : 1);
        findings.push({
          rule: rule.id,
          category: rule.category,
          severity: discounted ? lower(rule.severity) : rule.severity,
          weight: Math.round(weight * 100) / 100,
          span: unit.at ? { ...unit.at } : { start, end },
          excerpt: unit.text.slice(start, Math.min(end, start + 200)),
          source: unit.source,
          ...(discounted ? { discounted: true } : {}),
        });
      }
    }
  }
}

export function scanUnits(units: readonly ScanUnit[]): ScanResult {
  const findings: Finding[] = [];
  for (const u of units) if (u.text.trim()) scanUnit(u, findings);
  findings.sort((a, b) => a.span.start - b.span.start || a.rule.localeCompare(b.rule));
  // One rule counts at most three times: a page repeating itself is not three times as hostile.
  const perRule = new Map<string, number>();
  let full = 0;
  let discussed = 0;
  for (const f of findings) {
    const n = (perRule.get(f.rule) ?? 0) + 1;
    perRule.set(f.rule, n);
    if (n > 3) continue;
    if (f.discounted) discussed += f.weight;
    else full += f.weight;
  }
  const risk = Math.round((full + Math.min(DISCUSSION_CAP, discussed)) * 100) / 100;
  const maxSeverity = findings.reduce<Severity | "none">((acc, f) => (acc === "none" || SEVERITY_ORDER.indexOf(f.severity) > SEVERITY_ORDER.indexOf(acc) ? f.severity : acc), "none");
  const criticalUndiscounted = findings.some((f) => f.severity === "critical" && !f.discounted);
  const quarantined = risk >= QUARANTINE_RISK || criticalUndiscounted;
  // Low findings (everyday phrases a rule also sees) are kept for audit; they neither flag nor redact.
  const flagged = findings.some((f) => f.severity !== "low");
  return { findings, risk, maxSeverity, flagged, quarantined, borderline: !quarantined && flagged && risk >= BORDERLINE_RISK };
}

/** Units of a page: its text and title, the sanitizer's segments, and decoded encoded runs. */
export function unitsOf(cleanText: string, rawText: string, title: string, segments: readonly { text: string; source: UnitSource }[], json = false): ScanUnit[] {
  const units: ScanUnit[] = [{ text: cleanText, source: "text", ...(json ? { quotesAreSyntax: true } : {}) }];
  if (title) units.push({ text: clean(title), source: "title" });
  for (const s of segments) units.push({ text: clean(s.text), source: s.source });
  for (const run of decodedRuns(cleanText, rawText)) {
    units.push({ text: clean(run.decoded), source: "decoded", ...(run.kind === "tags" ? {} : { at: { start: run.start, end: run.end } }) });
  }
  for (const s of segments) for (const run of decodedRuns(clean(s.text))) units.push({ text: clean(run.decoded), source: "decoded" });
  return units;
}

/** The clean text with every finding in it replaced by a marker naming the rule. */
export function redact(cleanText: string, findings: readonly Finding[]): string {
  const spans = findings
    .filter((f) => f.severity !== "low" && (f.source === "text" || (f.source === "decoded" && f.span.end > f.span.start)))
    .map((f) => ({ ...f.span, rule: f.rule }))
    .sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const s of spans) {
    if (s.end <= at) continue;
    const start = Math.max(s.start, at);
    out += cleanText.slice(at, start) + `[redacted: ${s.rule}]`;
    at = s.end;
  }
  return out + cleanText.slice(at);
}

// critic.review(): deterministic checks first (they can decide alone), then the model judge per
// claim when one is configured, then the rubric-weighted score and the verdict.
import type { Queryable } from "../db/types.ts";
import { ActpError, badRequest, parseWith } from "../errors.ts";
import { DEFAULT_RUBRIC, ReviewRequest, type InlineEvidence, type ReviewIssue, type ReviewResult, type Rubric, type Severity, type Verdict } from "./contracts.ts";
import { runDeterministic, type SentenceCheck } from "./deterministic.ts";
import { judgeClaim, type JudgeModel } from "./judge.ts";
import { loadEvidence } from "./statements.ts";

export const DEFAULT_SAMPLES = 3;
/** Confidence of an approval that only the deterministic checks back: they prove what is wrong, not what is right. */
export const DETERMINISTIC_ONLY_CONFIDENCE = 0.5;
/** Confidence of a verdict a deterministic failure decided: a changed digit is certain. */
export const DETERMINISTIC_FAILURE_CONFIDENCE = 0.9;
export const APPROVE_AT = 7;
export const REJECT_BELOW = 4;

export interface ReviewDeps {
  /** Resolves stored evidence ids (actp_research_evidence); needed only when evidence is a list of ids. */
  db?: Queryable;
  /** The model judge; null or absent: only the deterministic checks run, and the result says so. */
  judge?: JudgeModel | null;
}

const SEVERITY_CREDIT: Record<Severity, number> = { low: 0.8, medium: 0.4, high: 0, critical: 0 };
const ACCURACY_TYPES = new Set<ReviewIssue["type"]>([
  "unknown_citation", "quarantined_evidence", "misquote", "number_mismatch", "negation_mismatch", "weak_support", "unsupported", "contradicted",
]);

function parseRequest(input: unknown): ReviewRequest {
  return parseWith(ReviewRequest, input, "critic.invalid_request", "review request does not match the contract");
}

async function resolveEvidence(req: ReviewRequest, db: Queryable | undefined): Promise<InlineEvidence[]> {
  const ev = req.evidence;
  if (ev.length === 0 || typeof ev[0] !== "string") {
    const items = ev as InlineEvidence[];
    const dup = items.map((e) => e.id).filter((id, i, all) => all.indexOf(id) !== i);
    if (dup.length > 0) throw badRequest("critic.duplicate_evidence", `evidence ids must be unique: ${[...new Set(dup)].join(", ")}`, { duplicate: [...new Set(dup)] });
    return items;
  }
  if (!db) throw badRequest("critic.no_database", "evidence given by id needs a database to resolve it (pass deps.db)");
  return loadEvidence(db, [...new Set(ev as string[])]);
}

function scoreOf(checks: readonly SentenceCheck[], issues: readonly ReviewIssue[], rubric: Rubric | undefined, confidence: number): number {
  const claims = checks.filter((c) => !c.trivial);
  const cited = claims.filter((c) => c.sentence.citations.length > 0);
  const accuracy = cited.length === 0
    ? 0
    : cited.reduce((sum, c) => {
        const worst = issues.filter((i) => i.claim === c.sentence.text && ACCURACY_TYPES.has(i.type)).reduce((m, i) => Math.min(m, SEVERITY_CREDIT[i.severity]), 1);
        return sum + worst;
      }, 0) / cited.length;
  const completeness = claims.length === 0 ? 0 : cited.length / claims.length;
  const safety = issues.some((i) => i.type === "quarantined_evidence") ? 0 : 1;
  const w = { ...DEFAULT_RUBRIC, ...(rubric ?? {}) };
  const total = w.accuracy + w.completeness + w.safety + w.confidence;
  const raw = (w.accuracy * accuracy + w.completeness * completeness + w.safety * safety + w.confidence * confidence) / total;
  return Math.round(raw * 100) / 10;
}

function verdictOf(score: number, issues: readonly ReviewIssue[]): Verdict {
  if (issues.some((i) => i.severity === "critical") || score < REJECT_BELOW) return "reject";
  if (issues.some((i) => i.severity === "high") || score < APPROVE_AT) return "revise";
  return "approve";
}

/**
 * The request with stored evidence ids replaced by their rows (one short read), so a caller can
 * resolve inside a transaction and run the slow model calls outside it.
 */
export async function withResolvedEvidence(input: unknown, db: Queryable | undefined): Promise<ReviewRequest> {
  const req = parseRequest(input);
  return { ...req, evidence: await resolveEvidence(req, db) };
}

/** Reviews a claim or plan against its evidence (PRD §4.16). Bad input: ActpError 400, nothing else happens. */
export async function review(input: unknown, deps: ReviewDeps = {}): Promise<ReviewResult> {
  const req = await withResolvedEvidence(input, deps.db);
  const evidence = req.evidence as InlineEvidence[];
  const { checks } = runDeterministic(req.claim, evidence);
  const issues: ReviewIssue[] = checks.flatMap((c) => c.issues);
  const certainFailure = issues.some((i) => i.severity === "high" || i.severity === "critical");

  // The deterministic verdict with the confidence an unjudged review may claim.
  const detConfidence = certainFailure ? DETERMINISTIC_FAILURE_CONFIDENCE : DETERMINISTIC_ONLY_CONFIDENCE;
  const detScore = scoreOf(checks, issues, req.rubric, detConfidence);
  const detVerdict = verdictOf(detScore, issues);
  if (!deps.judge || detVerdict === "reject") {
    return { score: detScore, verdict: detVerdict, issues, confidence: detConfidence, checks: "deterministic" };
  }

  // Judge each cited claim that the deterministic checks did not already fail, alone, against its own evidence.
  const samples = req.samples ?? DEFAULT_SAMPLES;
  const toJudge = checks.filter((c) => c.cited.length > 0 && !c.issues.some((i) => i.severity === "high" || i.severity === "critical"));
  const byId = new Map(evidence.map((e) => [e.id, e] as const));
  let judgements;
  try {
    judgements = await Promise.all(
      toJudge.map((c) => judgeClaim(deps.judge!, c.sentence.text, c.cited.map((p) => ({ id: p.id, text: byId.get(p.id)!.text })), samples)),
    );
  } catch (err) {
    if (err instanceof ActpError) throw err;
    throw new ActpError("critic.judge_unavailable", `the model judge (${deps.judge.name}) failed: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
  toJudge.forEach((c, i) => {
    const j = judgements[i]!;
    const evidence_id = c.cited.length === 1 ? c.cited[0]!.id : undefined;
    const detail = `${Math.round(j.agreement * samples)} of ${samples} judgements${j.reason ? `: ${j.reason}` : ""}`;
    if (j.verdict === "contradicted") issues.push({ type: "contradicted", claim: c.sentence.text, severity: "high", ...(evidence_id ? { evidence_id } : {}), detail });
    if (j.verdict === "unsupported") issues.push({ type: "unsupported", claim: c.sentence.text, severity: "medium", ...(evidence_id ? { evidence_id } : {}), detail });
  });
  const judged = judgements.map((j) => j.agreement);
  const modelConfidence = judged.length === 0 ? DETERMINISTIC_ONLY_CONFIDENCE : judged.reduce((a, b) => a + b, 0) / judged.length;
  const confidence = Math.round((certainFailure ? Math.max(DETERMINISTIC_FAILURE_CONFIDENCE, modelConfidence) : Math.min(0.95, modelConfidence)) * 100) / 100;
  const score = scoreOf(checks, issues, req.rubric, confidence);
  return { score, verdict: verdictOf(score, issues), issues, confidence, checks: judged.length > 0 ? "deterministic+model" : "deterministic" };
}

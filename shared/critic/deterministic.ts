// The deterministic checks (PRD §4.16): they run first, need no model, and a failure they find is
// certain (a changed digit is a changed digit), so they can decide a review alone.
import type { InlineEvidence, ReviewIssue } from "./contracts.ts";
import { quantitiesIn, quantityFound, type Quantity } from "./quantities.ts";
import { contentWords, negatedWords, normalizeText, quotesIn, splitClaim, splitSentences, type ClaimSentence } from "./text.ts";

/** A sentence needs this many words to be a claim (shorter: a heading or a connective). */
const MIN_CLAIM_WORDS = 3;
/** Share of the sentence's content words its cited evidence must contain, below which support is weak. */
export const WEAK_SUPPORT_BELOW = 0.35;
/** Below this share the evidence is about something else: the wrong document. */
export const WRONG_DOCUMENT_BELOW = 0.15;
/** Share of the sentence's content words an evidence sentence must contain to be "the same statement". */
const SAME_STATEMENT_AT = 0.6;

export interface PreparedEvidence {
  id: string;
  quarantined: boolean;
  normalized: string;
  quantities: Quantity[];
  words: Set<string>;
  sentences: { text: string; words: Set<string>; negated: Set<string> }[];
}

export function prepareEvidence(e: InlineEvidence): PreparedEvidence {
  return {
    id: e.id,
    quarantined: e.quarantined === true,
    normalized: normalizeText(e.text),
    quantities: quantitiesIn(e.text),
    words: contentWords(e.text),
    sentences: splitSentences(e.text).map((text) => ({ text, words: contentWords(text), negated: negatedWords(text) })),
  };
}

export interface SentenceCheck {
  sentence: ClaimSentence;
  /** Cited ids that resolve to evidence. */
  cited: PreparedEvidence[];
  issues: ReviewIssue[];
  /** Needs no citation (too short to claim anything). */
  trivial: boolean;
}

const overlap = (claim: Set<string>, other: Set<string>) => {
  if (claim.size === 0) return 1;
  let n = 0;
  for (const w of claim) if (other.has(w)) n++;
  return n / claim.size;
};

export function checkSentence(sentence: ClaimSentence, evidence: ReadonlyMap<string, PreparedEvidence>): SentenceCheck {
  const issues: ReviewIssue[] = [];
  const claim = sentence.text;
  const wordCount = claim.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
  const trivial = wordCount < MIN_CLAIM_WORDS && quantitiesIn(claim).length === 0;
  const cited: PreparedEvidence[] = [];

  if (sentence.citations.length === 0) {
    if (!trivial) issues.push({ type: "missing_evidence", claim, severity: "medium", detail: "this sentence cites no evidence" });
    return { sentence, cited, issues, trivial };
  }
  for (const id of sentence.citations) {
    const e = evidence.get(id);
    if (!e) {
      issues.push({ type: "unknown_citation", claim, severity: "critical", evidence_id: id, detail: `[${id}] names no evidence given to the review` });
    } else if (e.quarantined) {
      issues.push({ type: "quarantined_evidence", claim, severity: "critical", evidence_id: id, detail: `evidence ${id} was quarantined by the research firewall and may not be cited` });
    } else {
      cited.push(e);
    }
  }
  if (cited.length === 0) return { sentence, cited, issues, trivial };
  const first = cited.length === 1 ? cited[0]!.id : undefined;
  const withId = (i: ReviewIssue): ReviewIssue => (first ? { ...i, evidence_id: first } : i);

  for (const q of quotesIn(claim)) {
    const nq = normalizeText(q);
    if (!cited.some((e) => e.normalized.includes(nq))) {
      issues.push(withId({ type: "misquote", claim, severity: "high", detail: `"${q}" is not verbatim in the cited evidence` }));
    }
  }

  const allQuantities = cited.flatMap((e) => e.quantities);
  for (const q of quantitiesIn(claim)) {
    if (!quantityFound(q, allQuantities)) {
      issues.push(withId({ type: "number_mismatch", claim, severity: "high", detail: `${q.raw} does not appear in the cited evidence` }));
    }
  }

  const words = contentWords(claim);
  const docSupport = Math.max(...cited.map((e) => overlap(words, e.words)));
  if (docSupport < WEAK_SUPPORT_BELOW) {
    issues.push(withId({
      type: "weak_support",
      claim,
      severity: docSupport < WRONG_DOCUMENT_BELOW ? "high" : "medium",
      detail: `the cited evidence contains ${Math.round(docSupport * 100)}% of this sentence's content words: is it the right source?`,
    }));
  } else {
    // The evidence sentence stating the same thing; a word both say, negated in one and not in the
    // other, means the claim says the reverse.
    let best: { e: PreparedEvidence; text: string; words: Set<string>; negated: Set<string>; score: number } | null = null;
    for (const e of cited) {
      for (const s of e.sentences) {
        const score = overlap(words, s.words);
        if (!best || score > best.score) best = { e, ...s, score };
      }
    }
    const claimNegated = negatedWords(claim);
    const flipped = best && best.score >= SAME_STATEMENT_AT
      ? [...words].filter((w) => best!.words.has(w) && claimNegated.has(w) !== best!.negated.has(w))
      : [];
    if (best && flipped.length > 0) {
      issues.push({
        type: "negation_mismatch",
        claim,
        severity: "high",
        evidence_id: best.e.id,
        detail: `the evidence says the opposite: "${best.text.slice(0, 300)}"`,
      });
    }
  }
  return { sentence, cited, issues, trivial };
}

export function runDeterministic(claim: string, evidence: readonly InlineEvidence[]): { checks: SentenceCheck[]; prepared: Map<string, PreparedEvidence> } {
  const prepared = new Map(evidence.map((e) => [e.id, prepareEvidence(e)] as const));
  return { checks: splitClaim(claim).map((s) => checkSentence(s, prepared)), prepared };
}

// The critic / verifier contract (PRD §4.16): one zod schema per shape, the TS types are z.infer.
import { z } from "zod";

/** Longest claim or plan the critic reads (characters): a synthesis, not a book. */
export const MAX_CLAIM_CHARS = 20_000;
export const MAX_EVIDENCE_ITEMS = 50;
/** Longest inline evidence text; stored evidence (actp_research_evidence.text) is read whole. */
export const MAX_EVIDENCE_TEXT_CHARS = 500_000;

/** An evidence id as it appears in a `[<id>]` citation marker. */
export const EvidenceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, "an evidence id: letters, digits, _ . : - (1 to 128), as cited in [<id>] markers");

export const InlineEvidence = z.strictObject({
  id: EvidenceId,
  text: z.string().max(MAX_EVIDENCE_TEXT_CHARS),
  /** Set for stored evidence the research pipeline quarantined: citing it is an issue by itself. */
  quarantined: z.boolean().optional(),
  /** Source authority 0..1 (actp_research_evidence.authority), informational. */
  authority: z.number().min(0).max(1).optional(),
});
export type InlineEvidence = z.infer<typeof InlineEvidence>;

/** Weights of the four rubric dimensions (PRD §4.16); they need not sum to 1, only be non-negative. */
export const Rubric = z
  .strictObject({
    accuracy: z.number().min(0).max(100).optional(),
    completeness: z.number().min(0).max(100).optional(),
    safety: z.number().min(0).max(100).optional(),
    confidence: z.number().min(0).max(100).optional(),
  })
  .refine((r) => Object.values(r).some((w) => (w ?? 0) > 0) || Object.keys(r).length === 0, "at least one rubric weight must be positive");
export type Rubric = z.infer<typeof Rubric>;

export const DEFAULT_RUBRIC = { accuracy: 0.5, completeness: 0.2, safety: 0.2, confidence: 0.1 } as const;

export const ReviewRequest = z.strictObject({
  claim: z.string().trim().min(1, "claim is empty").max(MAX_CLAIM_CHARS, `claim is longer than ${MAX_CLAIM_CHARS} characters`),
  evidence: z.union([
    z.array(InlineEvidence).max(MAX_EVIDENCE_ITEMS),
    z.array(z.guid("stored evidence ids are actp_research_evidence uuids")).max(MAX_EVIDENCE_ITEMS),
  ]),
  rubric: Rubric.optional(),
  /**
   * How many times the model judge is asked about each claim (agreement is the confidence); 1 to 5,
   * default 3. Ignored when no judge is configured.
   */
  samples: z.int().min(1).max(5).optional(),
});
export type ReviewRequest = z.infer<typeof ReviewRequest>;

/**
 * The fixed list of issue types (documented in README "Critic / verifier"):
 * - missing_evidence: a sentence that states something cites nothing
 * - unknown_citation: a `[id]` marker names no evidence that was given
 * - quarantined_evidence: a cited page was quarantined by the research firewall
 * - misquote: text in quotation marks is not verbatim in the cited evidence
 * - number_mismatch: a number, date, percentage or unit of a cited sentence is not in its evidence
 * - negation_mismatch: the cited sentence negates the evidence sentence it matches best (or vice versa)
 * - weak_support: the cited evidence shares too little with the sentence to support it (wrong document?)
 * - unsupported: the model judge found the claim not supported by its cited evidence
 * - contradicted: the model judge found the claim contradicted by its cited evidence
 */
export const IssueType = z.enum([
  "missing_evidence",
  "unknown_citation",
  "quarantined_evidence",
  "misquote",
  "number_mismatch",
  "negation_mismatch",
  "weak_support",
  "unsupported",
  "contradicted",
]);
export type IssueType = z.infer<typeof IssueType>;

export const Severity = z.enum(["low", "medium", "high", "critical"]);
export type Severity = z.infer<typeof Severity>;

export const ReviewIssue = z.object({
  type: IssueType,
  /** The sentence of the claim the issue is about. */
  claim: z.string(),
  severity: Severity,
  evidence_id: z.string().optional(),
  /** What exactly did not hold (the quote, the number, the judge's reason). */
  detail: z.string().optional(),
});
export type ReviewIssue = z.infer<typeof ReviewIssue>;

export const Verdict = z.enum(["approve", "revise", "reject"]);
export type Verdict = z.infer<typeof Verdict>;

export const ReviewResult = z.object({
  score: z.number().min(0).max(10),
  verdict: Verdict,
  issues: z.array(ReviewIssue),
  confidence: z.number().min(0).max(1),
  /** Which checks ran: the model judge only runs with a configured key and when the deterministic checks did not already reject. */
  checks: z.enum(["deterministic", "deterministic+model"]),
});
export type ReviewResult = z.infer<typeof ReviewResult>;

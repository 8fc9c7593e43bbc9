// A labelled corpus for the critic's deterministic checks: evidence pages, correct claims that must
// pass, and claims with one seeded error each (changed digit, wrong unit, a quote off by a word, a
// citation to a missing or the wrong document, a negated sentence) that must be caught.
import type { InlineEvidence, IssueType } from "../../shared/critic/contracts.ts";

export const EVIDENCE: InlineEvidence[] = [
  {
    id: "pgboss",
    text:
      "pg-boss is a job queue built in Node.js on top of PostgreSQL. It relies on SKIP LOCKED, a feature added in PostgreSQL 9.5, " +
      "to fetch jobs without contention. By default a failed job is retried 2 times with a delay of 1 second, and the retry " +
      "backoff doubles the delay each time. Jobs expire after 15 minutes when no worker completes them. Version 10 was released " +
      "on August 1, 2024. The maintainers say: \u201cPostgres is the only dependency you need for reliable background jobs.\u201d",
  },
  {
    id: "marathon",
    text:
      "The marathon covers 42.195 km. The half marathon is 21.1 km long and about 13.1 miles. In 2023, 52,000 runners finished " +
      "the race, up 12% from 2022. Water stations are placed every 5 km. Runners who do not finish within 6 hours are not " +
      "counted as finishers.",
  },
  {
    id: "pgvector",
    text:
      "pgvector adds a vector type and similarity search to Postgres. HNSW indexes give better query performance than IVFFlat " +
      "but take longer to build and use more memory. Version 0.8.0 added iterative index scans, which keep scanning until " +
      "enough rows pass the filter. The extension does not support more than 2,000 dimensions for an indexed vector column.",
  },
  {
    id: "pricing",
    text:
      "The Pro plan costs $25 per month and includes 8 GB of database space and 100,000 monthly active users. Compute add-ons " +
      "start at $10 per month. The free plan pauses projects after 1 week of inactivity.",
  },
];

export interface CorpusCase {
  name: string;
  claim: string;
  /** The issue types the deterministic checks must raise (empty: the claim must pass cleanly). */
  expect: IssueType[];
}

export const CORRECT: CorpusCase[] = [
  { name: "restated default", claim: "By default pg-boss retries a failed job 2 times, with a 1 second delay. [pgboss]", expect: [] },
  { name: "unit spacing", claim: "Water stations are placed every 5km along the marathon route [marathon].", expect: [] },
  { name: "unit words", claim: "The half marathon is 21.1 kilometres, about 13.1 mi. [marathon]", expect: [] },
  { name: "percent spelled out", claim: "In 2023 about 52,000 runners finished the marathon, 12 percent more than in 2022 [marathon].", expect: [] },
  { name: "exact quote, curly vs straight", claim: 'The maintainers say "Postgres is the only dependency you need for reliable background jobs" [pgboss].', expect: [] },
  { name: "date restated", claim: "pg-boss version 10 was released on 1 August 2024 [pgboss].", expect: [] },
  { name: "month and year only", claim: "pg-boss 10 came out in August 2024 [pgboss].", expect: [] },
  { name: "negation kept", claim: "The pgvector extension does not support indexed vector columns with more than 2,000 dimensions [pgvector].", expect: [] },
  { name: "version literal", claim: "pgvector 0.8.0 added iterative index scans for filtered queries [pgvector].", expect: [] },
  { name: "currency", claim: "The Pro plan costs $25 per month with 8 GB of database space [pricing].", expect: [] },
  { name: "two sources", claim: "pg-boss depends on SKIP LOCKED from PostgreSQL 9.5 [pgboss], and pgvector adds similarity search to Postgres [pgvector].", expect: [] },
  { name: "multi-sentence", claim: "HNSW indexes answer queries faster than IVFFlat [pgvector]. They take longer to build and use more memory [pgvector].", expect: [] },
  { name: "negation elsewhere in the evidence", claim: "pg-boss relies on SKIP LOCKED to fetch jobs [pgboss].", expect: [] },
  { name: "double negation kept", claim: "Runners who do not finish within 6 hours are not counted as finishers [marathon].", expect: [] },
  { name: "citation list", claim: "Jobs expire after 15 minutes without a worker completing them [pgboss, pricing].", expect: [] },
];

export const SEEDED: CorpusCase[] = [
  { name: "changed digit", claim: "By default pg-boss retries a failed job 3 times, with a 1 second delay. [pgboss]", expect: ["number_mismatch"] },
  { name: "changed decimal", claim: "The marathon covers 42.915 km [marathon].", expect: ["number_mismatch"] },
  { name: "wrong unit", claim: "Water stations are placed every 5 miles along the marathon route [marathon].", expect: ["number_mismatch"] },
  { name: "percent to absolute", claim: "In 2023 the number of finishers grew by 12 runners over 2022 [marathon].", expect: ["number_mismatch"] },
  { name: "wrong price", claim: "The Pro plan costs $35 per month with 8 GB of database space [pricing].", expect: ["number_mismatch"] },
  { name: "wrong year", claim: "pg-boss version 10 was released on 1 August 2023 [pgboss].", expect: ["number_mismatch"] },
  { name: "wrong version", claim: "pgvector 0.7.0 added iterative index scans for filtered queries [pgvector].", expect: ["number_mismatch"] },
  { name: "quote off by a word", claim: 'The maintainers say "Postgres is the only dependency you need for reliable scheduled jobs" [pgboss].', expect: ["misquote"] },
  { name: "quote with a word dropped", claim: 'The maintainers say "Postgres is the only dependency you need for background jobs" [pgboss].', expect: ["misquote"] },
  { name: "missing document", claim: "pg-boss relies on SKIP LOCKED to fetch jobs without contention [pgboss-docs].", expect: ["unknown_citation"] },
  { name: "wrong document", claim: "HNSW indexes give better query performance than IVFFlat but take longer to build [marathon].", expect: ["weak_support"] },
  { name: "wrong document with number", claim: "The half marathon is 21.1 km long [pgvector].", expect: ["number_mismatch", "weak_support"] },
  { name: "negated sentence", claim: "pg-boss does not rely on SKIP LOCKED to fetch jobs without contention [pgboss].", expect: ["negation_mismatch"] },
  { name: "negation removed", claim: "The pgvector extension supports more than 2,000 dimensions for an indexed vector column [pgvector].", expect: ["negation_mismatch"] },
  { name: "contraction negated", claim: "HNSW indexes don't give better query performance than IVFFlat [pgvector].", expect: ["negation_mismatch"] },
  { name: "double negation dropped", claim: "Runners who do not finish within 6 hours are counted as finishers [marathon].", expect: ["negation_mismatch"] },
  { name: "uncited sentence", claim: "pg-boss retries a failed job 2 times by default [pgboss]. It is the fastest queue available for Node.js.", expect: ["missing_evidence"] },
];

// actp_research_evidence rows (PRD §4.15) as the rest of actp reads them: the critic verifies claims
// against `text`, the memory proposal gate refuses `quarantined` rows and weighs `authority`.
// Runtime-neutral: any Queryable (pg in Node, the same driver in Deno, PGlite in tests).
import { z } from "zod";
import type { Queryable } from "../db/types.ts";
import { badRequest, notFound } from "../errors.ts";

export const Severity = z.enum(["low", "medium", "high", "critical"]);
export type Severity = z.infer<typeof Severity>;

/** One thing the scanner found: which rule, where in the normalized text, how bad. */
export const Finding = z.object({
  rule: z.string().min(1).max(100),
  category: z.string().min(1).max(100),
  severity: Severity,
  weight: z.number().min(0),
  /** Offsets into the scanned (normalized) text, before redaction. */
  span: z.object({ start: z.int().min(0), end: z.int().min(0) }),
  /** The matched text, cut to 200 characters (stored for audit; never shown to a model). */
  excerpt: z.string().max(400),
  /** Where the text came from: visible body, an attribute (alt/title/aria-label), or a decoded run. */
  source: z.enum(["text", "title", "attribute", "hidden", "boilerplate", "decoded", "judge"]),
  /** The sentence discusses attacks (quotes, examples): weight cut, severity one step lower. */
  discounted: z.boolean().optional(),
});
export type Finding = z.infer<typeof Finding>;

export const Hop = z.object({
  url: z.string(),
  host: z.string(),
  /** The address the connection went to (after the private-address check). */
  address: z.string().nullable(),
  status: z.int().nullable(),
});
export type Hop = z.infer<typeof Hop>;

export const EvidenceRecord = z.object({
  id: z.uuid(),
  url: z.string(),
  final_url: z.string(),
  domain: z.string(),
  title: z.string(),
  content_type: z.enum(["text/html", "text/plain", "application/json"]),
  text: z.string(),
  content_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  sanitized: z.boolean(),
  flagged: z.boolean(),
  quarantined: z.boolean(),
  findings: z.array(Finding),
  risk_score: z.number(),
  authority: z.number().min(0).max(1),
  judge: z.record(z.string(), z.unknown()).nullable(),
  hops: z.array(Hop),
  bytes: z.int(),
  fetched_at: z.string(),
  job_id: z.uuid().nullable(),
  agent_slug: z.string().nullable(),
});
export type EvidenceRecord = z.infer<typeof EvidenceRecord>;

const COLUMNS = `id, url, final_url, domain, title, content_type, text, content_hash, sanitized, flagged, quarantined,
  findings, risk_score::float8 as risk_score, authority::float8 as authority, judge, hops, bytes,
  to_json(fetched_at) #>> '{}' as fetched_at, job_id, agent_slug`;

const UUID = z.uuid();

/** One evidence row, quarantined or not (audit readers see both); research.evidence_not_found otherwise. */
export async function getEvidence(db: Queryable, id: string): Promise<EvidenceRecord> {
  if (!UUID.safeParse(id).success) throw badRequest("research.invalid_evidence_id", `evidence id ${JSON.stringify(String(id).slice(0, 80))} is not a uuid`);
  const { rows } = await db.query<EvidenceRecord>(`select ${COLUMNS} from public.actp_research_evidence where id = $1::uuid`, [id]);
  if (rows.length === 0) throw notFound("research.evidence_not_found", `no evidence ${id}`);
  return rows[0]!;
}

/**
 * Several rows by id, in the order asked. Ids that do not exist come back in `missing` (a caller
 * such as the critic answers 400 naming them); quarantined rows are returned with quarantined=true
 * so the caller can refuse them by name rather than silently.
 */
export async function getEvidenceMany(db: Queryable, ids: readonly string[]): Promise<{ found: EvidenceRecord[]; missing: string[] }> {
  const bad = ids.filter((id) => !UUID.safeParse(id).success);
  if (bad.length > 0) throw badRequest("research.invalid_evidence_id", "evidence ids must be uuids", { ids: bad.slice(0, 50) });
  if (ids.length === 0) return { found: [], missing: [] };
  const { rows } = await db.query<EvidenceRecord>(`select ${COLUMNS} from public.actp_research_evidence where id = any($1::uuid[])`, [[...ids]]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return {
    found: ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : [])),
    missing: ids.filter((id) => !byId.has(id)),
  };
}

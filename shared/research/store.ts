// Stores a processed page as evidence and writes research.evidence_stored in ONE statement, so an
// evidence row never exists without its event (nor the event without its row). The authority is
// the database's (actp_research_authority over actp_research_domain_authority).
import type { Queryable } from "../db/types.ts";
import { fromPgError } from "../errors.ts";
import { validateEvents } from "../events/emit.ts";
import { registrableDomain } from "../net/pattern-lint.ts";
import type { EvidenceRecord, Hop } from "./evidence.ts";
import type { ProcessedPage, ResearchContentType } from "./pipeline.ts";

export interface StoreInput {
  url: string;
  finalUrl: string;
  host: string;
  contentType: ResearchContentType;
  bytes: number;
  hops: Hop[];
  page: ProcessedPage;
  jobId?: string | null;
  agentSlug?: string | null;
  stepId?: string | null;
}

const STORE_SQL = `
with authority as (select coalesce(public.actp_research_authority($3), 0.3) as a),
ins as (
  insert into public.actp_research_evidence
    (id, url, final_url, domain, title, content_type, text, content_hash, sanitized, flagged, quarantined,
     findings, risk_score, authority, judge, hops, bytes, job_id, agent_slug)
  select $1::uuid, $2, $4, $5, $6, $7, $8, $9, true, $10, $11, $12::jsonb, $13::numeric, authority.a, $14::jsonb, $15::jsonb, $16::int, $17::uuid, $18
  from authority
  returning *
),
ev as (
  insert into public.actp_events (type, job_id, step_id, agent_slug, payload)
  select 'research.evidence_stored', ins.job_id, $19, ins.agent_slug, $20::jsonb || jsonb_build_object('authority', ins.authority::float8)
  from ins
)
select id, url, final_url, domain, title, content_type, text, content_hash, sanitized, flagged, quarantined,
       findings, risk_score::float8 as risk_score, authority::float8 as authority, judge, hops, bytes,
       to_json(fetched_at) #>> '{}' as fetched_at, job_id, agent_slug
from ins`;

export async function storeEvidence(db: Queryable, input: StoreInput): Promise<EvidenceRecord> {
  const id = crypto.randomUUID();
  const p = input.page;
  const domain = registrableDomain(input.host);
  const payload = {
    evidence_id: id,
    url: input.finalUrl,
    content_hash: p.content_hash,
    sanitized: true,
    injection_flags: [...new Set(p.findings.map((f) => f.rule))].slice(0, 100),
    domain,
    flagged: p.flagged,
    quarantined: p.quarantined,
    risk_score: p.risk_score,
    max_severity: p.max_severity,
    hops: input.hops.slice(0, 20).map((h) => ({ host: h.host, status: h.status, address: h.address })),
  };
  // Validated with a stand-in authority (the database supplies the real one in the same statement).
  validateEvents([
    { type: "research.evidence_stored", job_id: input.jobId ?? null, agent_slug: input.agentSlug ?? null, step_id: input.stepId ?? null, payload: { ...payload, authority: 0.5 } },
  ]);
  try {
    const { rows } = await db.query<EvidenceRecord>(STORE_SQL, [
      id,
      input.url,
      input.host,
      input.finalUrl,
      domain,
      p.title,
      input.contentType,
      p.text,
      p.content_hash,
      p.flagged,
      p.quarantined,
      JSON.stringify(p.findings),
      String(p.risk_score),
      p.judge ? JSON.stringify(p.judge) : null,
      JSON.stringify(input.hops),
      input.bytes,
      input.jobId ?? null,
      input.agentSlug ?? null,
      input.stepId ?? null,
      JSON.stringify(payload),
    ]);
    return rows[0]!;
  } catch (err) {
    throw fromPgError(err) ?? err;
  }
}

/** What a caller may hand on as evidence: a quarantined page keeps its record, never its text. */
export function withheldIfQuarantined(r: EvidenceRecord): EvidenceRecord {
  return r.quarantined ? { ...r, text: "", title: "" } : r;
}

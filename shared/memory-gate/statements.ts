// Every SQL statement of the proposal gate and the facts (pg-boss plans style): the decisions are
// plpgsql functions (migration 20261203205100_memory_facts_and_gate.sql); these are their typed calls.
import type { Queryable } from "../db/types.ts";
import { badRequest } from "../errors.ts";
import { Decision, Fact, LAYER_NUMBER, Proposal, ProposeRequest, type FactLayer } from "./contracts.ts";

const withLayer = (row: Record<string, unknown>) => Proposal.parse({ ...row, layer: row.target_layer === 4 ? "procedural" : "semantic" });

/** Submits a proposal; the same proposal twice is one (created: false the second time). */
export async function propose(db: Queryable, input: unknown): Promise<{ proposal: Proposal; created: boolean }> {
  const r = ProposeRequest.safeParse(input);
  if (!r.success) {
    throw badRequest("memory.invalid_proposal", "proposal does not match the contract", r.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })));
  }
  const p = { ...r.data, layer: LAYER_NUMBER[r.data.layer] };
  const { rows } = await db.query<{ r: { proposal: Record<string, unknown>; created: boolean } }>(`select public.actp_memory_propose($1::jsonb) as r`, [JSON.stringify(p)]);
  return { proposal: withLayer(rows[0]!.r.proposal), created: rows[0]!.r.created };
}

export async function getProposal(db: Queryable, id: string): Promise<{ proposal: Proposal; decisions: Decision[]; fact: Fact | null } | null> {
  const { rows } = await db.query<{ p: Record<string, unknown> }>(`select to_jsonb(p) as p from public.actp_memory_proposals p where p.id = $1`, [id]);
  if (!rows[0]) return null;
  const d = await db.query<{ d: unknown }>(`select to_jsonb(d) as d from public.actp_memory_proposal_decisions d where d.proposal_id = $1 order by d.id`, [id]);
  const f = await db.query<{ f: unknown }>(`select to_jsonb(f) as f from public.actp_memory_facts f where f.proposal_id = $1`, [id]);
  return { proposal: withLayer(rows[0].p), decisions: d.rows.map((x) => Decision.parse(x.d)), fact: f.rows[0] ? Fact.parse(f.rows[0].f) : null };
}

export async function listProposals(db: Queryable, o: { status?: string; limit?: number } = {}): Promise<Proposal[]> {
  const { rows } = await db.query<{ p: Record<string, unknown> }>(
    `select to_jsonb(p) as p from public.actp_memory_proposals p
      where $1::text is null or p.status = $1 order by p.created_at desc, p.id limit $2`,
    [o.status ?? null, o.limit ?? 100],
  );
  return rows.map((r) => withLayer(r.p));
}

/** Sets the critic's score; the gate decides in the same statement. Already scored: returned as is. */
export async function scoreProposal(db: Queryable, id: string, score: number, critic: unknown = null): Promise<{ proposal: Proposal; scored: boolean }> {
  const { rows } = await db.query<{ r: { proposal: Record<string, unknown>; scored: boolean } }>(
    `select public.actp_memory_proposal_score($1, $2, $3::jsonb) as r`,
    [id, score, critic === null ? null : JSON.stringify(critic)],
  );
  return { proposal: withLayer(rows[0]!.r.proposal), scored: rows[0]!.r.scored };
}

/** A person's decision on a deferred proposal; the reviewer identity comes from the transaction's JWT claims. */
export async function reviewProposal(db: Queryable, id: string, decision: "approve" | "reject", label?: string, reason?: string): Promise<Proposal> {
  const { rows } = await db.query<{ p: Record<string, unknown> }>(`select public.actp_memory_proposal_review($1, $2, $3, $4) as p`, [id, decision, label ?? null, reason ?? null]);
  return withLayer(rows[0]!.p);
}

/** The facts believed at asOf (default now), optionally only those valid in the world at validAt. */
export async function listFacts(
  db: Queryable,
  o: { layer?: FactLayer; subject?: string; key?: string; asOf?: string; validAt?: string; history?: boolean; limit?: number } = {},
): Promise<Fact[]> {
  // history: every version recorded up to asOf; otherwise the one believed at asOf. The predicate is
  // actp_memory_facts_as_of()'s, inlined so readers (whose role may not execute functions) run it
  // under the table's RLS; tests/db/memory-gate.test.ts keeps the two equal.
  const source = `(select * from public.actp_memory_facts h
      where h.recorded_at <= coalesce($5::timestamptz, clock_timestamp())
        and (${o.history ? "true" : "h.superseded_at is null or h.superseded_at > coalesce($5::timestamptz, clock_timestamp())"})
        and ($6::timestamptz is null or (h.valid_from <= $6 and (h.valid_to is null or h.valid_to > $6))))`;
  const { rows } = await db.query<{ f: unknown }>(
    `select to_jsonb(f) as f from ${source} f
      where ($1::text is null or f.layer = $1) and ($2::text is null or f.subject = $2) and ($3::text is null or f.key = $3)
      order by f.layer, f.subject, f.key, f.recorded_at limit $4`,
    [o.layer ?? null, o.subject ?? null, o.key ?? null, o.limit ?? 100, o.asOf ?? null, o.validAt ?? null],
  );
  return rows.map((r) => Fact.parse(r.f));
}

/** What the critic job needs of a proposal and its stored evidence (quarantined rows included). */
export async function proposalForCritic(db: Queryable, id: string): Promise<{
  proposal: Proposal;
  evidence: { id: string; text: string; quarantined: boolean; authority: number }[];
} | null> {
  const { rows } = await db.query<{ p: Record<string, unknown> }>(`select to_jsonb(p) as p from public.actp_memory_proposals p where p.id = $1`, [id]);
  if (!rows[0]) return null;
  const proposal = withLayer(rows[0].p);
  const ev = await db.query<{ id: string; text: string; quarantined: boolean; authority: string }>(
    `select e.id::text as id, e.text, e.quarantined, e.authority::text as authority
       from public.actp_research_evidence e
      where e.id::text = any (array(select lower(r) from unnest($1::text[]) r))`,
    [proposal.evidence_refs],
  );
  return { proposal, evidence: ev.rows.map((e) => ({ ...e, authority: Number(e.authority) })) };
}

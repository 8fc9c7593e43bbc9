// Every SQL statement of the critic: stored evidence by id (actp_research_evidence).
import type { Queryable } from "../db/types.ts";
import { badRequest } from "../errors.ts";
import type { InlineEvidence } from "./contracts.ts";

/**
 * The stored evidence of these ids, quarantined rows included (the review must see them to flag a
 * citation of one). Ids that do not exist: 400 naming every one of them.
 */
export async function loadEvidence(db: Queryable, ids: readonly string[]): Promise<InlineEvidence[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; text: string; quarantined: boolean; authority: string }>(
    `select e.id::text as id, e.text, e.quarantined, e.authority::text as authority
       from public.actp_research_evidence e where e.id = any($1::uuid[])`,
    [ids],
  );
  const found = new Map(rows.map((r) => [r.id, r] as const));
  const missing = ids.filter((id) => !found.has(id.toLowerCase()));
  if (missing.length > 0) {
    throw badRequest("critic.unknown_evidence", `no stored evidence with id ${missing.join(", ")}`, { missing });
  }
  return ids.map((id) => {
    const r = found.get(id.toLowerCase())!;
    return { id, text: r.text, quarantined: r.quarantined, authority: Number(r.authority) };
  });
}

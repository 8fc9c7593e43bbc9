// Every SQL statement of incident mode (PRD §4.10), one typed function each. The actions are
// definer functions that check the caller (actp_can_act()) and take the actor from the token; only
// the service role may pass `actor` (the Telegram webhook acting for a Telegram user).
import type { Queryable } from "../db/types.ts";
import type { DeclareBody, IncidentRecord, PlatformStatus } from "./contracts.ts";

export async function currentStatus(db: Queryable): Promise<PlatformStatus> {
  const { rows } = await db.query<{ s: PlatformStatus }>(`select public.actp_incident_current() as s`);
  return rows[0]!.s;
}

export async function incidentHistory(db: Queryable, limit: number): Promise<IncidentRecord[]> {
  const { rows } = await db.query<{ i: IncidentRecord }>(
    `select to_jsonb(l) || jsonb_build_object('transitions', coalesce((
              select jsonb_agg(to_jsonb(t) - 'incident_id' order by t.at, t.id)
                from public.actp_incident_transitions t where t.incident_id = l.id), '[]')) as i
       from public.actp_incident_log l
      order by l.declared_at desc
      limit $1`,
    [limit],
  );
  return rows.map((r) => r.i);
}

export async function declareIncident(db: Queryable, body: DeclareBody, actor?: string): Promise<PlatformStatus> {
  const { rows } = await db.query<{ s: PlatformStatus }>(`select public.actp_incident_declare($1, $2, $3, $4) as s`, [
    body.mode,
    body.reason,
    body.note ?? null,
    actor ?? null,
  ]);
  return rows[0]!.s;
}

export async function acknowledgeIncident(
  db: Queryable,
  note: string | null,
  actor?: string,
  incidentId?: string,
): Promise<PlatformStatus & { already_acknowledged: boolean }> {
  const { rows } = await db.query<{ s: PlatformStatus & { already_acknowledged: boolean } }>(
    `select public.actp_incident_acknowledge($1, $2, $3) as s`,
    [note, actor ?? null, incidentId ?? null],
  );
  return rows[0]!.s;
}

export async function resolveIncident(db: Queryable, note: string, actor?: string, incidentId?: string): Promise<{ mode: "normal"; incident: IncidentRecord }> {
  const { rows } = await db.query<{ s: { mode: "normal"; incident: IncidentRecord } }>(`select public.actp_incident_resolve($1, $2, $3) as s`, [
    note,
    actor ?? null,
    incidentId ?? null,
  ]);
  return rows[0]!.s;
}

/** One detector pass (what the schedule runs every minute). `now` is for tests and benchmarks. */
export async function detectorPass(db: Queryable, now?: Date): Promise<{ mode: string; previous_mode: string; firing: string[]; target_mode: string }> {
  const { rows } = await db.query<{ r: { mode: string; previous_mode: string; firing: string[]; target_mode: string } }>(
    `select public.actp_incident_tick(coalesce($1::timestamptz, now())) as r`,
    [now?.toISOString() ?? null],
  );
  return rows[0]!.r;
}

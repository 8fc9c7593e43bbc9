// Every statement the context assembler runs (STYLE.md §7). Each reads one layer's candidates,
// already ranked, capped by `limit`; the packer decides what fits.
import type { Queryable } from "../db/types.ts";
import { LayerPriorities } from "./contracts.ts";

export interface EventRow {
  id: string;
  type: string;
  job_id: string | null;
  step_id: string | null;
  tool_name: string | null;
  payload: Record<string, unknown>;
  created_at: string;
}

// Heartbeats, leases and schedule ticks say nothing about the task's domain.
const NOISE = ["heartbeat.ok", "run.lease_renewed", "schedule.fired", "schedule.skipped", "schedule.missed", "schedule.coalesced"];

/** L2 episodic: this job's events first, then the agent's other recent events, newest first. */
export async function recentEvents(db: Queryable, agent: string, jobId: string | null, limit: number): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `with mine as (
       select id, type, job_id, step_id, tool_name, payload, created_at, seq, 0 as pri
         from public.actp_events
        where $2::uuid is not null and job_id = $2::uuid and type <> all($4::text[])
        order by seq desc limit $3
     ), theirs as (
       select id, type, job_id, step_id, tool_name, payload, created_at, seq, 1 as pri
         from public.actp_events
        where agent_slug = $1 and ($2::uuid is null or job_id is distinct from $2::uuid) and type <> all($4::text[])
        order by seq desc limit $3
     )
     select id::text, type, job_id::text, step_id, tool_name, payload, created_at::text
       from (select * from mine union all select * from theirs) e
      order by pri, seq desc
      limit $3`,
    [agent, jobId, limit, NOISE],
  );
  return rows;
}

/** The agent's stored layer priorities, if any. */
export async function profilePriorities(db: Queryable, agent: string): Promise<LayerPriorities | null> {
  const { rows } = await db.query<{ priorities: unknown }>(
    `select priorities from public.actp_context_profiles where agent_slug = $1`,
    [agent],
  );
  if (rows.length === 0) return null;
  return LayerPriorities.parse(rows[0]!.priorities);
}

export async function upsertProfile(db: Queryable, agent: string, priorities: LayerPriorities): Promise<{ agent_slug: string; priorities: LayerPriorities; updated_at: string }> {
  const { rows } = await db.query<{ agent_slug: string; priorities: LayerPriorities; updated_at: string }>(
    `insert into public.actp_context_profiles (agent_slug, priorities) values ($1, $2::jsonb)
     on conflict (agent_slug) do update set priorities = excluded.priorities, updated_at = now()
     returning agent_slug, priorities, updated_at::text`,
    [agent, JSON.stringify(priorities)],
  );
  return rows[0]!;
}

export async function getProfile(db: Queryable, agent: string): Promise<{ agent_slug: string; priorities: LayerPriorities; updated_at: string } | null> {
  const { rows } = await db.query<{ agent_slug: string; priorities: LayerPriorities; updated_at: string }>(
    `select agent_slug, priorities, updated_at::text from public.actp_context_profiles where agent_slug = $1`,
    [agent],
  );
  return rows[0] ?? null;
}

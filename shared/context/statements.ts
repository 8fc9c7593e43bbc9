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

export interface FactRow {
  id: string;
  layer: "semantic" | "procedural";
  subject: string;
  key: string;
  content: string;
  agent_slug: string | null;
  recorded_at: string;
  evidence_refs: string[];
  matches_task: boolean;
}

/**
 * Current facts (L3 semantic or L4 procedural) that hold now, for this agent or for all agents:
 * ranked by text match with the query when one is given, then procedural facts about the task type
 * first, then the newest.
 */
export async function currentFacts(
  db: Queryable,
  layer: "semantic" | "procedural",
  agent: string,
  taskType: string,
  query: string | null,
  limit: number,
): Promise<FactRow[]> {
  const { rows } = await db.query<FactRow>(
    `select f.id::text, f.layer, f.subject, f.key, f.content, f.agent_slug, f.recorded_at::text, f.evidence_refs,
            (lower(f.subject) = lower($3) or lower(f.key) = lower($3) or lower(f.key) like lower($3) || '.%') as matches_task
       from public.actp_memory_facts f
      where f.layer = $1
        and f.superseded_at is null
        and f.valid_from <= now() and (f.valid_to is null or f.valid_to > now())
        and (f.agent_slug is null or f.agent_slug = $2)
      order by case when $4::text is null then 0
                    else ts_rank_cd(to_tsvector('simple', f.subject || ' ' || f.key || ' ' || f.content), websearch_to_tsquery('simple', $4::text)) end desc,
               (lower(f.subject) = lower($3) or lower(f.key) = lower($3) or lower(f.key) like lower($3) || '.%') desc,
               f.recorded_at desc, f.id
      limit $5`,
    [layer, agent, taskType, query, limit],
  );
  return rows;
}

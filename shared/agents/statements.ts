// Every SQL statement of the agent registry, one typed function each (pg-boss plans.ts style). The
// SDK, the `agents` function and the CLI call these; nothing else writes registry SQL. Timestamps
// are rendered by Postgres as ISO 8601 text (to_json), so every caller sees the same strings.
import type { Queryable } from "../db/types.ts";
import type {
  AgentCapabilities,
  AgentDetail,
  AgentListQuery,
  AgentRegistration,
  AgentSummary,
  AgentVersionsPage,
  AgentVersionsQuery,
  RegisterResult,
  SetEnabledResult,
} from "./contracts.ts";

const iso = (col: string) => `to_json(${col}) #>> '{}'`;

/** Registration sync in one round trip: writes nothing when the definition is unchanged. */
export async function registerAgentDefinition(db: Queryable, registration: AgentRegistration, changelog?: string | null): Promise<RegisterResult> {
  const { rows } = await db.query<{ result: RegisterResult }>(`select public.actp_agents_register($1::jsonb, $2::text) as result`, [
    JSON.stringify(registration),
    changelog ?? null,
  ]);
  return rows[0]!.result;
}

/** Enables or disables an agent; raises agents.not_found (404) for an unknown slug. */
export async function setAgentEnabled(db: Queryable, slug: string, enabled: boolean): Promise<SetEnabledResult> {
  const { rows } = await db.query<{ result: SetEnabledResult }>(`select public.actp_agents_set_enabled($1::text, $2::boolean) as result`, [
    slug,
    enabled,
  ]);
  return rows[0]!.result;
}

export async function listAgents(db: Queryable, q: AgentListQuery = {}): Promise<AgentSummary[]> {
  const { rows } = await db.query<AgentSummary>(
    `select slug, version, description, enabled, jsonb_array_length(capabilities) as capability_count,
            ${iso("created_at")} as created_at, ${iso("updated_at")} as updated_at
       from public.actp_agent_definitions
      where ($1::boolean is null or enabled = $1)
      order by slug`,
    [q.enabled ?? null],
  );
  return rows;
}

export async function getAgent(db: Queryable, slug: string): Promise<AgentDetail | null> {
  const { rows } = await db.query<AgentDetail>(
    `select id, slug, version, description, enabled, capabilities, memory_read, memory_write, model_policy,
            input_schema, definition_hash, ${iso("created_at")} as created_at, ${iso("updated_at")} as updated_at
       from public.actp_agent_definitions
      where slug = $1`,
    [slug],
  );
  return rows[0] ?? null;
}

export async function getAgentCapabilities(db: Queryable, slug: string): Promise<AgentCapabilities | null> {
  const { rows } = await db.query<AgentCapabilities>(
    `select slug, version, enabled, capabilities, memory_read, memory_write
       from public.actp_agent_definitions
      where slug = $1`,
    [slug],
  );
  return rows[0] ?? null;
}

/** Version history, newest first; null when the agent does not exist. */
export async function listAgentVersions(db: Queryable, slug: string, q: AgentVersionsQuery): Promise<AgentVersionsPage | null> {
  // One statement: the agent's existence and its page of versions come from the same snapshot.
  const { rows } = await db.query<{ versions: AgentVersionsPage["versions"] | null }>(
    `select (select coalesce(jsonb_agg(jsonb_build_object(
                        'version', v.version, 'changelog', v.changelog, 'snapshot', v.snapshot,
                        'deployed_at', ${iso("v.deployed_at")}) order by v.version desc), '[]'::jsonb)
               from (select * from public.actp_agent_versions
                      where agent_id = a.id and ($2::int is null or version < $2)
                      order by version desc
                      limit $3) v) as versions
       from public.actp_agent_definitions a
      where a.slug = $1`,
    [slug, q.before ?? null, q.limit + 1],
  );
  if (rows.length === 0) return null;
  const all = rows[0]!.versions ?? [];
  const more = all.length > q.limit;
  const versions = more ? all.slice(0, q.limit) : all;
  return { slug, versions, next_before: more ? versions.at(-1)!.version : null };
}

/**
 * Registers several agents in one statement (one round trip, all or nothing). Callers pass them in
 * slug order, so two workers syncing overlapping sets lock the rows in the same order and cannot
 * deadlock.
 */
export async function registerAgentDefinitions(db: Queryable, registrations: readonly AgentRegistration[]): Promise<RegisterResult[]> {
  if (registrations.length === 0) return [];
  const { rows } = await db.query<{ result: RegisterResult }>(
    `select public.actp_agents_register(d.def, null) as result
       from jsonb_array_elements($1::jsonb) with ordinality as d(def, ord)
      order by d.ord`,
    [JSON.stringify(registrations)],
  );
  return rows.map((r) => r.result);
}

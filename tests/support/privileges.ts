// Issue 8's privilege findings as catalog queries and per-role probes, shared by the PostgreSQL 15
// tier (tests/pg/privileges.test.ts) and the PGlite tier (tests/db/privileges.test.ts). Everything
// is read from the catalog, never from a list kept by hand: a function or table added tomorrow is
// checked the day it lands.
import { randomUUID } from "node:crypto";
import type { Database, JwtClaims, Queryable } from "../../shared/db/types.ts";
import { createAgent, deadJob } from "./dlq-scenarios.ts";

/** Ours: public.actp_* and everything in pg-boss's schema. */
const OURS = `((n.nspname = 'public' and p.proname like 'actp\\_%') or n.nspname = 'pgboss')`;
const OUR_RELS = `((n.nspname = 'public' and c.relname like 'actp\\_%') or n.nspname = 'pgboss')`;
const NOT_EXTENSION = (col: string) => `not exists (select 1 from pg_catalog.pg_depend d where d.objid = ${col} and d.deptype = 'e')`;

/** SECURITY DEFINER functions of ours that anon or authenticated may execute. */
export async function openDefinerFunctions(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ f: string }>(
    `select p.oid::regprocedure::text as f
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where p.prosecdef and n.nspname in ('public', 'pgboss') and ${NOT_EXTENSION("p.oid")}
        and (has_function_privilege('anon', p.oid, 'execute') or has_function_privilege('authenticated', p.oid, 'execute'))
      order by 1`,
  );
  return rows.map((r) => r.f);
}

/**
 * Functions of ours anon may execute (it may execute none), and those authenticated may execute that
 * could change something: VOLATILE ones (PostgreSQL refuses writes inside a STABLE or IMMUTABLE
 * function, so those can only read, and what they read passes RLS as the caller).
 */
export async function executableByApiRoles(db: Queryable): Promise<{ anon: string[]; authenticatedVolatile: string[]; authenticated: string[] }> {
  const { rows } = await db.query<{ f: string; anon: boolean; auth: boolean; volatile: boolean }>(
    `select p.oid::regprocedure::text as f,
            has_function_privilege('anon', p.oid, 'execute') as anon,
            has_function_privilege('authenticated', p.oid, 'execute') as auth,
            p.provolatile = 'v' as volatile
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where ${OURS} and ${NOT_EXTENSION("p.oid")}
      order by 1`,
  );
  return {
    anon: rows.filter((r) => r.anon).map((r) => r.f),
    authenticated: rows.filter((r) => r.auth).map((r) => r.f),
    authenticatedVolatile: rows.filter((r) => r.auth && r.volatile).map((r) => r.f),
  };
}

/** Every privilege name the server knows for tables (MAINTAIN exists from PostgreSQL 17). */
async function tablePrivileges(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
  const base = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];
  return rows[0]!.v >= 170000 ? [...base, "MAINTAIN"] : base;
}

/** "<role> <privilege> <table>" for every table privilege beyond SELECT for authenticated, and any for anon. */
export async function tablePrivilegeViolations(db: Queryable): Promise<string[]> {
  const privs = await tablePrivileges(db);
  const { rows } = await db.query<{ v: string }>(
    `select r.role || ' ' || pr.priv || ' ' || n.nspname || '.' || c.relname as v
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      cross join unnest(array['anon', 'authenticated']) as r(role)
      cross join unnest($1::text[]) as pr(priv)
      where c.relkind in ('r', 'p', 'v', 'm', 'f') and ${OUR_RELS}
        and (r.role = 'anon' or pr.priv <> 'SELECT' or n.nspname = 'pgboss')
        and has_table_privilege(r.role, c.oid, pr.priv)
      order by 1`,
    [privs],
  );
  return rows.map((r) => r.v);
}

/** Sequences of ours that anon or authenticated may use, read or set. */
export async function sequenceViolations(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ v: string }>(
    `select r.role || ' ' || n.nspname || '.' || c.relname as v
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      cross join unnest(array['anon', 'authenticated']) as r(role)
      where c.relkind = 'S' and ${OUR_RELS}
        and (has_sequence_privilege(r.role, c.oid, 'USAGE') or has_sequence_privilege(r.role, c.oid, 'SELECT')
             or has_sequence_privilege(r.role, c.oid, 'UPDATE'))
      order by 1`,
  );
  return rows.map((r) => r.v);
}

/** actp tables without RLS, and read policies for API roles that do not ask actp_can_read(). */
export async function rlsViolations(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ v: string }>(
    `select 'no RLS on ' || c.relname as v
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relname like 'actp\\_%' and c.relkind in ('r', 'p') and not c.relrowsecurity
     union all
     select 'policy ' || p.policyname || ' on ' || p.tablename || ' lets ' || array_to_string(p.roles, ',') || ' in without actp_can_read()'
       from pg_catalog.pg_policies p
      where p.schemaname = 'public' and p.tablename like 'actp\\_%'
        and p.roles && array['anon', 'authenticated', 'public']::name[]
        and coalesce(p.qual, '') not like '%actp_can_read()%'
      order by 1`,
  );
  return rows.map((r) => r.v);
}

/** Default privileges that would hand a future object of ours to PUBLIC, anon or authenticated. */
export async function openDefaultPrivileges(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ v: string }>(
    `select coalesce(n.nspname, '(all schemas)') || ' ' || d.defaclobjtype::text || ' ' || case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end as v
       from pg_catalog.pg_default_acl d
       left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace
      cross join lateral aclexplode(d.defaclacl) a
      where d.defaclrole = (select oid from pg_catalog.pg_roles where rolname = current_user)
        and (n.nspname in ('public', 'pgboss') or n.nspname is null)
        and a.grantee in (0, 'anon'::regrole, 'authenticated'::regrole)
     union all
     -- With no entry for functions at all, PostgreSQL's built-in default grants EXECUTE to PUBLIC.
     select '(all schemas) f PUBLIC (built-in default)'
      where not exists (select 1 from pg_catalog.pg_default_acl d
                         where d.defaclrole = (select oid from pg_catalog.pg_roles where rolname = current_user)
                           and d.defaclnamespace = 0 and d.defaclobjtype = 'f')
      order by 1`,
  );
  return rows.map((r) => r.v);
}

/** Functions of ours that read an actp.* setting from the session (safety settings live in actp_settings). */
export async function sessionSettingReads(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ f: string }>(
    `select p.oid::regprocedure::text as f
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where ${OURS} and p.prosrc ~ 'current_setting\\(\\s*''actp\\.'
      order by 1`,
  );
  return rows.map((r) => r.f);
}

// ------------------------------------------------------------------------------------------------
// Per-role probes

export const READ_TABLES = ["actp_jobs", "actp_events", "actp_dlq", "actp_policies", "actp_budget_ledger", "actp_policy_approvals"] as const;

/** Rows in each of READ_TABLES: a job that died (job, events, DLQ item), a policy, a ledger row, an approval. */
export async function seedReadableRows(db: Database): Promise<{ jobId: string; dlqId: string }> {
  const agent = await createAgent(db, `rls-${randomUUID().slice(0, 8)}`);
  const dead = await deadJob(db, agent, { secret_input: "only readers see this" });
  await db.query(`select public.actp_emit('job.progress', '{"message":"halfway","pct":50}'::jsonb, $1::uuid, null, $2, null)`, [dead.jobId, agent]);
  await db.query(
    `insert into public.actp_policies (scope, policy_type, config) values ($1, 'budget', '{"daily_usd": 10}'::jsonb)`,
    [`agent:${agent}`],
  );
  await db.query(`insert into public.actp_budget_ledger (agent_slug, tool_name, cost_usd) values ($1, 'web.fetch', 1.5)`, [agent]);
  await db.query(
    `insert into public.actp_policy_approvals (agent_slug, tool_name, action_type) values ($1, 'web.post', 'network_write')`,
    [agent],
  );
  return dead;
}

export const claimsOf = {
  anon: (): JwtClaims => ({ role: "anon" }),
  user: (): JwtClaims => ({ role: "authenticated", sub: randomUUID(), email: "someone@example.com" }),
  viewer: (): JwtClaims => ({ role: "authenticated", sub: randomUUID(), app_metadata: { actp_role: "viewer" } }),
  operator: (): JwtClaims => ({ role: "authenticated", sub: randomUUID(), email: "ops@example.com", app_metadata: { actp_role: "operator" } }),
  service: (): JwtClaims => ({ role: "service_role" }),
};

/** Row counts of READ_TABLES as the given caller, in a transaction that is rolled back. */
export async function countsAs(db: Database, claims: JwtClaims): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await db.asRole(claims, async (tx) => {
    for (const t of READ_TABLES) {
      const { rows } = await tx.query<{ n: number }>(`select count(*)::int as n from public.${t}`);
      out[t] = rows[0]!.n;
    }
  });
  return out;
}

/** Runs sql as the caller; resolves to the error's SQLSTATE, or null when it succeeded. Always rolled back. */
export async function sqlStateAs(db: Database, claims: JwtClaims, sql: string, params: unknown[] = []): Promise<string | null> {
  const rollback = new Error("rollback");
  try {
    await db.asRole(claims, async (tx) => {
      await tx.query(sql, params);
      throw rollback;
    });
  } catch (err) {
    if (err === rollback) return null;
    return (err as { code?: string }).code ?? String(err);
  }
  return null;
}

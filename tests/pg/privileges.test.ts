// Issue 8 on PostgreSQL 15, as an attacker holding the public anon key or any signed-up user's JWT
// would try it, and as the operators, viewers and service role who are meant to get in. The catalog
// checks read pg_proc / pg_class / pg_policies / pg_default_acl, so a function or table added later
// is held to the same rule without anyone updating a list.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";
import { ensurePgBoss } from "../support/dlq-scenarios.ts";
import {
  claimsOf,
  countsAs,
  executableByApiRoles,
  openDefaultPrivileges,
  openDefinerFunctions,
  READ_TABLES,
  rlsViolations,
  seedReadableRows,
  sequenceViolations,
  sessionSettingReads,
  sqlStateAs,
  tablePrivilegeViolations,
} from "../support/privileges.ts";

let fresh: FreshDatabase;
let seeded: { jobId: string; dlqId: string };

beforeAll(async () => {
  fresh = await freshPgDatabase("privileges");
  await ensurePgBoss(fresh.url);
  seeded = await seedReadableRows(fresh.db);
});
afterAll(() => fresh.drop());

const INSUFFICIENT_PRIVILEGE = "42501";

describe("the catalog: closed by default", () => {
  it("no SECURITY DEFINER function is executable by anon or authenticated", async () => {
    expect(await openDefinerFunctions(fresh.db)).toEqual([]);
  });

  it("anon executes no function of ours; authenticated only read-only (non-volatile) invoker functions", async () => {
    const { anon, authenticated, authenticatedVolatile } = await executableByApiRoles(fresh.db);
    expect(anon).toEqual([]);
    expect(authenticatedVolatile).toEqual([]);
    // The RLS helpers are among them (policies call them as the querying role).
    expect(authenticated).toEqual(expect.arrayContaining(["actp_can_read()", "actp_caller_kind()"]));
    expect(authenticated).not.toContain("actp_schedules_run(text)");
    expect(authenticated).not.toContain("actp_supervisor_tick(integer)");
  });

  it("authenticated holds SELECT and nothing else on actp tables, anon nothing, and neither anything of pg-boss", async () => {
    expect(await tablePrivilegeViolations(fresh.db)).toEqual([]);
  });

  it("no sequence is usable, readable or settable by anon or authenticated", async () => {
    expect(await sequenceViolations(fresh.db)).toEqual([]);
  });

  it("every actp table has RLS and every API-role read policy asks actp_can_read()", async () => {
    expect(await rlsViolations(fresh.db)).toEqual([]);
  });

  it("functions, tables and sequences created later start closed", async () => {
    expect(await openDefaultPrivileges(fresh.db)).toEqual([]);
    // And in practice: a function and a table made the way a later migration would make them.
    await fresh.db.query(`create function public.actp_probe_later() returns int language sql as 'select 1'`);
    await fresh.db.query(`create table public.actp_probe_later_t (id bigserial primary key)`);
    try {
      const { rows } = await fresh.db.query<{ anon: boolean; auth: boolean; t: boolean; s: boolean }>(
        `select has_function_privilege('anon', 'public.actp_probe_later()', 'execute') as anon,
                has_function_privilege('authenticated', 'public.actp_probe_later()', 'execute') as auth,
                has_table_privilege('authenticated', 'public.actp_probe_later_t', 'select,insert,update,delete,truncate,references,trigger') as t,
                has_sequence_privilege('anon', 'public.actp_probe_later_t_id_seq', 'usage,select,update') as s`,
      );
      expect(rows[0]).toEqual({ anon: false, auth: false, t: false, s: false });
    } finally {
      await fresh.db.query(`drop function public.actp_probe_later(); drop table public.actp_probe_later_t`);
    }
  });
});

describe("as each kind of caller", () => {
  it("a plain signed-up user reads zero rows of jobs, events, DLQ, policies, ledger and approvals", async () => {
    const service = await countsAs(fresh.db, claimsOf.service());
    for (const t of READ_TABLES) expect(service[t], t).toBeGreaterThan(0);
    expect(await countsAs(fresh.db, claimsOf.user())).toEqual(Object.fromEntries(READ_TABLES.map((t) => [t, 0])));
  });

  it("viewers and operators read everything the service role reads", async () => {
    const service = await countsAs(fresh.db, claimsOf.service());
    expect(await countsAs(fresh.db, claimsOf.viewer())).toEqual(service);
    expect(await countsAs(fresh.db, claimsOf.operator())).toEqual(service);
    const { rows } = await fresh.db.asRole(claimsOf.viewer(), (tx) =>
      tx.query<{ input: unknown }>(`select input from public.actp_jobs where id = $1`, [seeded.jobId]),
    );
    expect(rows).toEqual([{ input: { secret_input: "only readers see this" } }]);
  });

  it("anon reads nothing at all: every read table refuses it", async () => {
    for (const t of READ_TABLES) expect(await sqlStateAs(fresh.db, claimsOf.anon(), `select 1 from public.${t} limit 1`), t).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it("anon and authenticated cannot fire schedules or sync pg_cron (the definer functions)", async () => {
    for (const who of [claimsOf.anon(), claimsOf.user(), claimsOf.operator()]) {
      expect(await sqlStateAs(fresh.db, who, `select public.actp_schedules_run('actp:supervisor:tick')`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `select public.actp_schedules_sync()`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `select public.actp_supervisor_tick(0)`)).toBe(INSUFFICIENT_PRIVILEGE);
    }
    const { rows } = await fresh.db.query<{ n: number }>(`select count(*)::int as n from public.actp_events where type = 'schedule.fired'`);
    expect(rows[0]!.n).toBe(0);
  });

  it("operators act only through the operator routes: the action functions refuse them in SQL", async () => {
    const op = claimsOf.operator();
    expect(await sqlStateAs(fresh.db, op, `select public.actp_dlq_discard($1::uuid, 'me', null)`, [seeded.dlqId])).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlStateAs(fresh.db, op, `select public.actp_emit('job.progress', '{}'::jsonb, null, null, null, null)`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlStateAs(fresh.db, op, `update public.actp_dlq set resolution = 'discarded' where id = $1`, [seeded.dlqId])).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlStateAs(fresh.db, op, `insert into public.actp_policies (scope, policy_type, config) values ('global', 'budget', '{}')`)).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it("nobody but the service role locks a table, takes a sequence or moves it", async () => {
    for (const who of [claimsOf.anon(), claimsOf.user(), claimsOf.viewer(), claimsOf.operator()]) {
      expect(await sqlStateAs(fresh.db, who, `lock table public.actp_events in access exclusive mode`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `select setval('public.actp_events_seq_seq', 9223372036854775807)`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `select nextval('public.actp_events_seq_seq')`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `truncate public.actp_events`)).toBe(INSUFFICIENT_PRIVILEGE);
    }
  });

  it("pg-boss's job data is the service role's only", async () => {
    for (const who of [claimsOf.anon(), claimsOf.user(), claimsOf.viewer()]) {
      expect(await sqlStateAs(fresh.db, who, `select 1 from pgboss.job limit 1`)).toBe(INSUFFICIENT_PRIVILEGE);
    }
  });
});

describe("safety settings come from a table, not the session", () => {
  it("no function of ours reads an actp.* setting from the session: use public.actp_setting_int(key, default)", async () => {
    expect(await sessionSettingReads(fresh.db)).toEqual([]);
  });

  it("set local actp.worker_stale_seconds = '0' no longer marks a live worker dead", async () => {
    const worker = `w-${Date.now()}`;
    await fresh.db.query(`select public.actp_workers_register($1, 'host', 1, '{}', null)`, [worker]);
    await fresh.db.query(`update public.actp_worker_registrations set last_heartbeat_at = now() - interval '10 seconds' where worker_id = $1`, [worker]);
    const dead = await fresh.db.transaction(async (tx) => {
      await tx.query(`set local actp.worker_stale_seconds = '0'`);
      const { rows } = await tx.query<{ r: { dead_workers: string[] } }>(`select public.actp_supervisor_tick() as r`);
      return rows[0]!.r.dead_workers;
    });
    expect(dead).not.toContain(worker);
    const { rows } = await fresh.db.query<{ status: string }>(`select status from public.actp_worker_registrations where worker_id = $1`, [worker]);
    expect(rows[0]!.status).toBe("alive");
  });

  it("the threshold is the service role's row in actp_settings; API roles can neither read nor change it", async () => {
    const put = (value: string) =>
      `insert into public.actp_settings (key, value) values ('worker_stale_seconds', '${value}') on conflict (key) do update set value = excluded.value`;
    for (const who of [claimsOf.user(), claimsOf.operator()]) {
      expect(await sqlStateAs(fresh.db, who, put("10"))).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlStateAs(fresh.db, who, `select value from public.actp_settings`)).toBe(INSUFFICIENT_PRIVILEGE);
    }
    // Out-of-range values are refused by the table itself.
    await expect(fresh.db.query(put("0"))).rejects.toMatchObject({ code: "23514" });
    const worker = `w2-${Date.now()}`;
    await fresh.db.query(`select public.actp_workers_register($1, 'host', 1, '{}', null)`, [worker]);
    await fresh.db.query(`update public.actp_worker_registrations set last_heartbeat_at = now() - interval '20 seconds' where worker_id = $1`, [worker]);
    await fresh.db.query(put("10"));
    try {
      const { rows } = await fresh.db.query<{ r: { dead_workers: string[] } }>(`select public.actp_supervisor_tick() as r`);
      expect(rows[0]!.r.dead_workers).toContain(worker);
    } finally {
      await fresh.db.query(`delete from public.actp_settings where key = 'worker_stale_seconds'`);
    }
  });
});

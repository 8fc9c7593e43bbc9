import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, inject, it } from "vitest";
import { localMigrationVersions, migrate, SUPABASE_BIN } from "../../node/db/migrate.ts";
import { PROJECT_ROOT } from "../../node/config.ts";
import { EXPECTED_SCHEMA_VERSION } from "../../shared/schema/version.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const run = promisify(execFile);
const db = testDatabase();
afterAll(() => db.end());

describe("migrations", () => {
  it("are recorded in supabase_migrations.schema_migrations as the Supabase CLI records them", async () => {
    const local = await localMigrationVersions();
    const { rows } = await db.query<{ version: string; name: string; n: number }>(
      `select version, name, coalesce(array_length(statements, 1), 0) as n from supabase_migrations.schema_migrations order by version`,
    );
    expect(rows.map((r) => r.version)).toEqual(local);
    for (const r of rows) expect(r.n).toBeGreaterThan(0);
  });

  it("re-applying is a no-op, and `supabase migration list` agrees the database is up to date", async () => {
    const again = await migrate(inject("dbUrl"));
    expect(again.output).toMatch(/up to date/i);
    const { stdout } = await run(SUPABASE_BIN, ["migration", "list", "--db-url", inject("dbUrl"), "--workdir", PROJECT_ROOT], {
      cwd: PROJECT_ROOT,
    });
    for (const v of await localMigrationVersions()) {
      // Each line shows the version twice (local | remote) when both sides have it.
      expect(stdout).toMatch(new RegExp(`\`?${v}\`?\\s*[|│]\\s*\`?${v}\`?`));
    }
  });

  it("the code's expected schema version is the newest migration file", async () => {
    expect((await localMigrationVersions()).at(-1)).toBe(EXPECTED_SCHEMA_VERSION);
  });

  it("creates the Supabase roles and auth helpers that read request.jwt.claims", async () => {
    const claims = { role: "authenticated" as const, sub: "7b1d7c43-1f7e-4b8a-9a56-0d6f4c1c2a11", email: "a@example.com" };
    const row = await db.asRole(claims, async (tx) => {
      const { rows } = await tx.query<{ uid: string; role: string; jwt: { email: string }; cu: string }>(
        `select auth.uid()::text as uid, auth.role() as role, auth.jwt() as jwt, current_user as cu`,
      );
      return rows[0]!;
    });
    expect(row).toEqual({ uid: claims.sub, role: "authenticated", jwt: expect.objectContaining({ email: "a@example.com" }), cu: "authenticated" });
  });

  it("installs pgvector", async () => {
    const { rows } = await db.query<{ d: number }>(`select extensions.vector_dims('[1,2,3]'::extensions.vector) as d`);
    expect(rows[0]!.d).toBe(3);
  });
});

describe("actp_events", () => {
  it("refuses an unknown type at the database", async () => {
    await expect(db.query(`insert into actp_events (type, payload) values ('job.exploded', '{}')`)).rejects.toMatchObject({ code: "23503" });
  });

  it("is append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const { rows } = await db.query<{ seq: string }>(
      `insert into actp_events (type, payload) values ('heartbeat.ok', '{"worker_id":"w-append"}') returning seq`,
    );
    const seq = rows[0]!.seq;
    await expect(db.query(`update actp_events set payload = '{}' where seq = $1`, [seq])).rejects.toThrow(/actp\.append_only/);
    await expect(db.query(`delete from actp_events where seq = $1`, [seq])).rejects.toThrow(/actp\.append_only/);
    await expect(db.query(`truncate actp_events`)).rejects.toThrow(/actp\.append_only/);
    const after = await db.query(`select 1 from actp_events where seq = $1`, [seq]);
    expect(after.rowCount).toBe(1);
  });

  it("assigns a strictly increasing sequence", async () => {
    const { rows } = await db.query<{ seq: string }>(
      `insert into actp_events (type, payload) select 'heartbeat.ok', jsonb_build_object('worker_id', 'w' || g) from generate_series(1, 5) g returning seq`,
    );
    const seqs = rows.map((r) => BigInt(r.seq));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]! > seqs[i - 1]!).toBe(true);
  });

  it("payload must be a JSON object", async () => {
    await expect(db.query(`insert into actp_events (type, payload) values ('heartbeat.ok', '[1]')`)).rejects.toMatchObject({ code: "23514" });
  });
});

describe("row level security", () => {
  const tables = ["actp_events", "actp_event_types", "actp_schedules", "actp_schedule_runs", "actp_scheduler_executors", "actp_platform_state"];

  it("is enabled on every actp_ table, each with at least one policy", async () => {
    const { rows } = await db.query<{ relname: string; rls: boolean; policies: number }>(
      `select c.relname, c.relrowsecurity as rls, (select count(*)::int from pg_policies p where p.tablename = c.relname) as policies
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r' and c.relname like 'actp\\_%'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(tables.length);
    for (const r of rows) {
      expect(r.rls, r.relname).toBe(true);
      expect(r.policies, r.relname).toBeGreaterThan(0);
    }
  });

  it.each(tables)("anon can neither read nor write %s", async (table) => {
    await expect(asRoleRolledBack(db, "anon", (tx) => tx.query(`select * from ${table} limit 1`))).rejects.toMatchObject({ code: "42501" });
  });

  it("anon cannot insert events", async () => {
    await expect(
      asRoleRolledBack(db, "anon", (tx) => tx.query(`insert into actp_events (type, payload) values ('heartbeat.ok', '{"worker_id":"x"}')`)),
    ).rejects.toMatchObject({ code: "42501" });
  });

  it("viewers read events (the dashboard), a plain signed-up user sees none, and neither can write them", async () => {
    await db.query(`select public.actp_emit('heartbeat.ok', '{"worker_id":"rls-probe"}'::jsonb, null, null, null, null)`);
    const countAs = (who: "viewer" | "authenticated") =>
      asRoleRolledBack<number>(db, who, async (tx) => (await tx.query(`select 1 from actp_events limit 1`)).rowCount ?? 0);
    expect(await countAs("viewer")).toBe(1);
    expect(await countAs("authenticated")).toBe(0);
    await expect(
      asRoleRolledBack(db, "authenticated", (tx) => tx.query(`insert into actp_events (type, payload) values ('heartbeat.ok', '{"worker_id":"x"}')`)),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`insert into actp_schedules (name, cron_expr, command) values ('x', '* * * * *', 'select 1')`))).rejects.toMatchObject({ code: "42501" });
  });

  it("service_role writes events and schedules", async () => {
    const inserted = await asRoleRolledBack<number>(db, "service_role", async (tx) => {
      await tx.query(`insert into actp_schedules (name, cron_expr, command) values ('test:rls:svc', '* * * * *', 'select 1')`);
      return (await tx.query(`insert into actp_events (type, payload) values ('heartbeat.ok', '{"worker_id":"svc"}')`)).rowCount ?? 0;
    });
    expect(inserted).toBe(1);
  });
});

describe("actp_schedules", () => {
  it("rejects a cron expression without five fields and a bad name", async () => {
    await expect(db.query(`insert into actp_schedules (name, cron_expr, command) values ('test:bad', '* * *', 'select 1')`)).rejects.toMatchObject({ code: "23514" });
    await expect(db.query(`insert into actp_schedules (name, cron_expr, command) values ('Bad Name!', '* * * * *', 'select 1')`)).rejects.toMatchObject({ code: "23514" });
  });

  it("mirroring into pg_cron is a no-op where pg_cron is absent", async () => {
    const { rows } = await db.query<{ active: boolean; n: number }>(`select public.actp_pg_cron_active() as active, public.actp_schedules_sync() as n`);
    expect(rows[0]).toEqual({ active: false, n: 0 });
  });
});

describe("event registry and database agree", () => {
  it("actp_event_types holds exactly the registry's types, groups and descriptions", async () => {
    const { EVENT_TYPES } = await import("../../shared/events/registry.ts");
    const { rows } = await db.query<{ type: string; event_group: string; description: string }>(
      `select type, event_group, description from actp_event_types order by type`,
    );
    const expected = Object.entries(EVENT_TYPES)
      .map(([type, def]) => ({ type, event_group: def.group, description: def.description }))
      .sort((a, b) => a.type.localeCompare(b.type));
    expect(rows).toEqual(expected);
  });

  it("emit() validates, then writes a batch in one statement, all or nothing", async () => {
    const { emit } = await import("../../shared/events/emit.ts");
    const job = crypto.randomUUID();
    const written = await emit(db, [
      { type: "job.received", job_id: job, agent_slug: "researcher", payload: { job_type: "research" } },
      { type: "job.progress", job_id: job, payload: { message: "halfway", pct: 50 } },
    ]);
    expect(written).toHaveLength(2);
    await expect(
      emit(db, [
        { type: "job.completed", job_id: job, payload: { duration_ms: 10, attempt: 1 } },
        { type: "job.completed", job_id: job, payload: { duration_ms: -1, attempt: 1 } },
      ]),
    ).rejects.toMatchObject({ code: "events.invalid_event", status: 400 });
    const { rows } = await db.query<{ type: string }>(`select type from actp_events where job_id = $1 order by seq`, [job]);
    expect(rows.map((r) => r.type)).toEqual(["job.received", "job.progress"]);
  });
});

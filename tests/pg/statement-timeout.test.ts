// API roles get a statement_timeout on real PostgreSQL 15: per transaction in asRole (SET ROLE does
// not apply a role's settings), and as role settings for PostgREST callers; a request past it is a
// clear 503, not a held connection or a 500.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/events/app.ts";
import { configureRuntime } from "../../functions/_shared/runtime.ts";
import { loadProjectKeys } from "../../node/keys.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";
import { fromPgError } from "../../shared/errors.ts";
import { freshPgDatabase, PG_URL, type FreshDatabase } from "../support/pg.ts";

describe.skipIf(!PG_URL)("statement_timeout for API roles", () => {
  let fresh: FreshDatabase;
  let db: Database;
  beforeAll(async () => {
    fresh = await freshPgDatabase("stmt-timeout");
    db = createPgDatabase({ connectionString: fresh.url, max: 4, statementTimeout: "300ms" });
  });
  afterAll(async () => {
    await db?.end();
    await fresh?.drop();
  });

  it("cancels a statement run as an API role past the timeout with 57014, mapped to 503", async () => {
    const err = await db.asRole({ role: "service_role" }, (tx) => tx.query("select pg_sleep(3)")).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("57014");
    expect(fromPgError(err)).toMatchObject({ code: "db.statement_timeout", status: 503 });
    // Transaction-local: the pooled connection comes back without it.
    const { rows } = await db.query<{ st: string }>(`select current_setting('statement_timeout') as st`);
    expect(rows[0]!.st).toBe("0");
  });

  it("a request blocked behind a lock answers 503 db.statement_timeout", async () => {
    const keys = await loadProjectKeys(null);
    configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: false });
    const holder = new pg.Client({ connectionString: fresh.url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("lock table public.actp_events in access exclusive mode");
      const started = Date.now();
      const res = await app.request("/events?limit=1", { headers: { authorization: `Bearer ${keys.serviceRoleKey}` } });
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe("db.statement_timeout");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
  });

  it("PostgREST's roles carry Supabase's timeouts as role settings", async () => {
    const { rows } = await db.query<{ rolname: string; rolconfig: string[] }>(
      `select rolname, rolconfig from pg_roles where rolname in ('anon', 'authenticated') order by rolname`,
    );
    expect(rows).toEqual([
      { rolname: "anon", rolconfig: expect.arrayContaining(["statement_timeout=3s"]) },
      { rolname: "authenticated", rolconfig: expect.arrayContaining(["statement_timeout=8s"]) },
    ]);
  });
});

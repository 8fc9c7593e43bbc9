// The foundation on real PostgreSQL 15: the Supabase CLI's push and lint, pg_cron executing the
// schedule list, and the functions under Deno (type-checked, and one served and called over HTTP).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";
import { cliDbUrl, localMigrationVersions, migrate, SUPABASE_BIN } from "../../node/db/migrate.ts";
import { LocalScheduler } from "../../node/scheduler/local-runner.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import { freshPgDatabase, PG_URL, type FreshDatabase } from "../support/pg.ts";

const run = promisify(execFile);
const DENO = resolve(PROJECT_ROOT, "node_modules/.bin/deno");

describe("Supabase CLI on PostgreSQL 15", () => {
  let fresh: FreshDatabase;
  beforeAll(async () => {
    fresh = await freshPgDatabase("cli", { migrate: false });
  });
  afterAll(() => fresh.drop());

  it("db push applies every migration and records it; migration list agrees", async () => {
    const first = await migrate(fresh.url);
    expect(first.bootstrap).toBe("applied");
    const again = await migrate(fresh.url);
    expect(again.output).toMatch(/up to date/i);
    const { rows } = await fresh.db.query<{ version: string }>(`select version from supabase_migrations.schema_migrations order by version`);
    expect(rows.map((r) => r.version)).toEqual(await localMigrationVersions());
  });

  it("db lint --fail-on error passes (plpgsql_check)", async () => {
    const { stdout, stderr } = await run(
      SUPABASE_BIN,
      ["db", "lint", "--db-url", cliDbUrl(fresh.url), "--fail-on", "error", "--level", "warning", "--schema", "public", "--workdir", PROJECT_ROOT],
      { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout + stderr).not.toMatch(/"level":\s*"error"/);
  });
});

describe("pg_cron executes actp_schedules", () => {
  // pg_cron lives in one database per cluster (cron.database_name); the CI cluster uses postgres.
  const db = createPgDatabase({ connectionString: PG_URL, max: 4 });
  const tag = randomBytes(3).toString("hex");
  const name = `test:pgcron:${tag}`;
  const table = `pgcron_hits_${tag}`;

  beforeAll(async () => {
    await migrate(PG_URL);
    await db.query(`create table public.${table} (at timestamptz not null default now())`);
  });
  afterAll(async () => {
    await db.query(`delete from public.actp_schedules where name = $1`, [name]).catch(() => {});
    await db.query(`drop table if exists public.${table}`).catch(() => {});
    await db.end();
  });

  it("mirrors an enabled schedule into cron.job and pg_cron fires it with schedule.fired", async () => {
    await db.query(`insert into public.actp_schedules (name, cron_expr, command) values ($1, '* * * * *', $2)`, [
      name,
      `insert into public.${table} default values`,
    ]);
    const job = await db.query<{ schedule: string; command: string }>(`select schedule, command from cron.job where jobname = $1`, [name]);
    expect(job.rows).toEqual([{ schedule: "* * * * *", command: `select public.actp_schedules_run('${name}')` }]);

    // The local runner stands aside where pg_cron is installed.
    const local = new LocalScheduler(db);
    expect(await local.tick()).toEqual({ fired: [], skipped: [], missed: 0 });

    const deadline = Date.now() + 75_000;
    let hits = 0;
    while (Date.now() < deadline && hits === 0) {
      await new Promise((r) => setTimeout(r, 1000));
      hits = (await db.query(`select 1 from public.${table}`)).rowCount ?? 0;
    }
    expect(hits).toBeGreaterThanOrEqual(1);
    const fired = await db.query<{ payload: { executor: string } }>(
      `select payload from public.actp_events where type = 'schedule.fired' and payload->>'schedule' = $1`,
      [name],
    );
    expect(fired.rows[0]?.payload.executor).toBe("pg_cron");
  }, 100_000);

  it("disabling or deleting the row unschedules it", async () => {
    await db.query(`update public.actp_schedules set enabled = false where name = $1`, [name]);
    expect((await db.query(`select 1 from cron.job where jobname = $1`, [name])).rowCount).toBe(0);
    await db.query(`update public.actp_schedules set enabled = true where name = $1`, [name]);
    expect((await db.query(`select 1 from cron.job where jobname = $1`, [name])).rowCount).toBe(1);
    await db.query(`delete from public.actp_schedules where name = $1`, [name]);
    expect((await db.query(`select 1 from cron.job where jobname = $1`, [name])).rowCount).toBe(0);
  });
});

describe("functions under Deno", () => {
  const names = readdirSync(resolve(PROJECT_ROOT, "functions")).filter((n) => !n.startsWith("_") && !n.startsWith(".") && existsSync(resolve(PROJECT_ROOT, "functions", n, "index.ts")));

  it("deno check passes for every function, from the path the Supabase CLI uses", async () => {
    const entries = names.map((n) => `supabase/functions/${n}/index.ts`);
    await run(DENO, ["check", "--config", "deno.json", ...entries], { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 });
  }, 180_000);

  describe("health served by Deno", () => {
    let child: ChildProcess;
    const secret = randomBytes(32).toString("base64url");
    const port = 20000 + Math.floor(Math.random() * 20000);

    beforeAll(async () => {
      await migrate(PG_URL);
      child = spawn(DENO, ["run", "--config", "deno.json", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "supabase/functions/health/index.ts"], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`, SUPABASE_DB_URL: PG_URL, ACTP_JWT_SECRET: secret },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (await fetch(`http://127.0.0.1:${port}/health`).then(() => true, () => false)) return;
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error("deno did not start serving health");
    }, 90_000);
    afterAll(() => {
      child?.kill("SIGTERM");
    });

    it("answers over HTTP with the database, migrations, extensions and pg_cron executor", async () => {
      const anon = await signApiKey(secret, "anon");
      const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${anon}` } });
      const body = await res.json();
      expect(res.status).toBe(200);
      expect(body).toMatchObject({
        status: "ok",
        database: { reachable: true },
        migrations: { up_to_date: true },
        scheduler: { executor: "pg_cron" },
      });
      expect(body.database.server_version).toMatch(/^15\./);
      expect(body.extensions.vector).toBeTruthy();
      expect(body.extensions.pg_cron).toBeTruthy();
    });

    it("rejects a missing token with 401", async () => {
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(401);
    });
  });
});


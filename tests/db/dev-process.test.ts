// `actp dev` as a user runs it: a real process on a data directory, stopped with SIGTERM and SIGINT,
// restarted on the same directory with every committed row still there and the same API keys.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "actp-dev-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  output: () => string;
  dbUrl: string;
  apiUrl: string;
  anonKey: string;
}

async function startDev(): Promise<Running> {
  const dbPort = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, "bin/actp.mjs"), "dev", "--no-examples"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ACTP_DATA_DIR: dataDir, ACTP_DB_PORT: String(dbPort), ACTP_API_PORT: String(dbPort + 1), DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const deadline = Date.now() + 90_000;
  while (!out.includes("actp is running")) {
    if (child.exitCode !== null) throw new Error(`actp dev exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`actp dev did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const field = (label: string) => new RegExp(`${label}: (\\S+)`).exec(out)?.[1] ?? "";
  return { child, output: () => out, dbUrl: field("DB URL"), apiUrl: field("API URL"), anonKey: field("anon key") };
}

async function stop(r: Running, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((res) => r.child.once("exit", (code) => res(code)));
  r.child.kill(signal);
  return exited;
}

describe("actp dev", () => {
  it("serves, stops gracefully on SIGTERM and SIGINT, and keeps every committed row and its keys", async () => {
    const first = await startDev();
    const health = await fetch(`${first.apiUrl}/functions/v1/health`, { headers: { authorization: `Bearer ${first.anonKey}` } });
    expect(health.status).toBe(200);
    // It says where it listens: in the data directory for other commands, as export lines for shells.
    const record = JSON.parse(await readFile(join(dataDir, "dev.json"), "utf8")) as { pid: number; db_url: string; api_url: string };
    expect(record).toMatchObject({ pid: first.child.pid, db_url: first.dbUrl, api_url: first.apiUrl });
    expect(first.output()).toContain(`export DATABASE_URL='${first.dbUrl}'`);
    expect(first.output()).toContain(`export ANON_KEY='${first.anonKey}'`);
    const c = new pg.Client({ connectionString: first.dbUrl });
    await c.connect();
    await c.query(`insert into actp_events (type, payload) values ('heartbeat.ok', '{"worker_id":"survives-restart"}')`);
    await c.end();
    expect(await stop(first, "SIGTERM")).toBe(0);
    expect(first.output()).toContain("actp dev: stopped");
    expect(existsSync(join(dataDir, "dev.json")), "dev.json is removed on a clean exit").toBe(false);

    const second = await startDev();
    expect(second.anonKey).toBe(first.anonKey);
    expect(second.output()).toMatch(/migrations: up to date/);
    const c2 = new pg.Client({ connectionString: second.dbUrl });
    await c2.connect();
    const { rows } = await c2.query(`select 1 from actp_events where payload->>'worker_id' = 'survives-restart'`);
    await c2.end();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dataDir, "keys.json"), "utf8")).anon_key).toBe(first.anonKey);
    expect(await stop(second, "SIGINT")).toBe(0);
  }, 240_000);
});

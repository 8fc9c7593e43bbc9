// The CLI as a user meets it: a real `actp` process. Where it finds the database (--db-url,
// DATABASE_URL, the running `actp dev` of the data directory, the default), and failures as one line
// `error: <code>: <message>` with the documented exit status, never a stack trace without --debug.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";

const BIN = resolve(PROJECT_ROOT, "bin/actp.mjs");
let dir = "";
let closedPort = 0;

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function actp(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((res) => {
    const child = execFile(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: "", ACTP_DATABASE_URL: "", ACTP_DATA_DIR: join(dir, ".actp"), ACTP_DB_PORT: String(closedPort), ...env },
      timeout: 60_000,
    }, (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end();
  });
}

/** One line, a code, no stack. */
function oneLine(r: Result, code: string): void {
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error: ${code.replace(".", "\\.")}: `));
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "actp-cli-"));
  closedPort = await freePort();
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(dir, "empty.ts"), "export const nothing = 1;\n");
  writeFileSync(join(dir, "broken.ts"), 'import "no-such-package-anywhere";\nexport const x = 1;\n');
  writeFileSync(
    join(dir, "agents.ts"),
    // zod by URL: this module lives outside any project, so a bare "zod" would not resolve (cli.module_failed).
    `import { z } from ${JSON.stringify(fileURLToPath(import.meta.resolve("zod")))};\nimport { defineAgent } from ${JSON.stringify(resolve(PROJECT_ROOT, "node/sdk.ts"))};\nexport const a = defineAgent({ slug: "cli-probe", input: z.object({}), handler: async () => 1 });\n`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("actp worker failures", () => {
  it("a missing module: exit 4, cli.module_not_found", async () => {
    const r = await actp(["worker", "./nope.ts"]);
    expect(r.code).toBe(4);
    oneLine(r, "cli.module_not_found");
  });

  it("a module without agents: exit 1, cli.no_agents", async () => {
    const r = await actp(["worker", "./empty.ts"]);
    expect(r.code).toBe(1);
    oneLine(r, "cli.no_agents");
  });

  it("a module that cannot be imported: exit 1, cli.module_failed naming what is missing", async () => {
    const r = await actp(["worker", "./broken.ts"]);
    expect(r.code).toBe(1);
    oneLine(r, "cli.module_failed");
    expect(r.stderr).toContain("no-such-package-anywhere");
  });

  it("an unreachable database: exit 3, cli.db_unreachable naming the URL and where it came from", async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${closedPort}/postgres`;
    const r = await actp(["worker", "./agents.ts", "--db-url", url]);
    expect(r.code).toBe(3);
    oneLine(r, "cli.db_unreachable");
    expect(r.stderr).toContain(`127.0.0.1:${closedPort}`);
    expect(r.stderr).toContain("from --db-url");
  });

  it("--debug adds the stack trace", async () => {
    const r = await actp(["worker", "./empty.ts", "--debug"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cli\.no_agents: /);
    expect(r.stderr).toMatch(/^\s+at /m);
  });
});

describe("usage", () => {
  it("an unknown option or command: exit 2, cli.usage", async () => {
    const flag = await actp(["timeline", randomUUID(), "--bogus"]);
    expect(flag.code).toBe(2);
    oneLine(flag, "cli.usage");
    expect(flag.stderr).toContain("--bogus");
    const cmd = await actp(["no-such-command"]);
    expect(cmd.code).toBe(2);
    oneLine(cmd, "cli.usage");
  });

  it("--help and --version exit 0", async () => {
    expect((await actp(["--help"])).code).toBe(0);
    expect((await actp(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("finding the database", () => {
  it("with nothing set, names every place it tried", async () => {
    const r = await actp(["timeline", randomUUID()]);
    expect(r.code).toBe(3);
    oneLine(r, "cli.db_unreachable");
    expect(r.stderr).toContain("--db-url (not given)");
    expect(r.stderr).toContain("DATABASE_URL (unset)");
    expect(r.stderr).toContain(`actp dev in ${join(dir, ".actp")} (not running)`);
    expect(r.stderr).toContain(`127.0.0.1:${closedPort}`);
  });

  it("uses the running actp dev recorded in the data directory, and ignores a stale record", async () => {
    const dataDir = join(dir, "dev-data");
    const record = (pid: number) =>
      writeFileSync(
        join(dataDir, "dev.json"),
        JSON.stringify({ pid, db_url: inject("dbUrl"), api_url: "http://127.0.0.1:1", data_dir: dataDir, started_at: new Date().toISOString() }),
      );
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    record(process.pid); // alive: this test process stands in for `actp dev`
    const found = await actp(["timeline", randomUUID()], { ACTP_DATA_DIR: dataDir });
    // The database answered: the job does not exist (4), it was not unreachable (3).
    expect(found.code, found.stderr).toBe(4);
    oneLine(found, "forensics.not_found");

    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => dead.once("exit", r));
    record(dead.pid!);
    const stale = await actp(["timeline", randomUUID()], { ACTP_DATA_DIR: dataDir });
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain("its recorded process has exited");
  });

  it("--db-url wins over DATABASE_URL, which wins over actp dev", async () => {
    const bad = `postgres://postgres:postgres@127.0.0.1:${closedPort}/postgres`;
    const viaFlag = await actp(["timeline", randomUUID(), "--db-url", inject("dbUrl")], { DATABASE_URL: bad });
    expect(viaFlag.code).toBe(4);
    const viaEnv = await actp(["timeline", randomUUID()], { DATABASE_URL: bad });
    expect(viaEnv.code).toBe(3);
    expect(viaEnv.stderr).toContain("from DATABASE_URL");
  });
});

// `actp dev` as a server, probed from outside as a client or an attacker would: the database asks
// for the password, a client's session state does not outlive it, a data directory and a port are
// one process's, and the gateway neither buffers an oversized chunked upload nor reads a body
// before the caller is authorized.
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { createServer, type Server } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";

const randomPort = () => 20000 + Math.floor(Math.random() * 20000);

interface Launch {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Launch {
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, "bin/actp.mjs"), "dev", "--no-examples"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: "", ACTP_DB_PASSWORD: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  return { child, output: () => out, exited };
}

async function untilRunning(l: Launch): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!l.output().includes("actp is running")) {
    if (l.child.exitCode !== null) throw new Error(`actp dev exited early:\n${l.output()}`);
    if (Date.now() > deadline) throw new Error(`actp dev did not start:\n${l.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The lines a failed start printed, less the "starting" line. */
const failureLines = (out: string) => out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("actp dev: starting"));

let dataDir: string;
let dev: Launch;
let dbPort: number;
let apiPort: number;
let apiUrl: string;
let anonKey: string;
let serviceKey: string;
const url = (password: string) => `postgres://postgres:${password}@127.0.0.1:${dbPort}/postgres?sslmode=disable`;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "actp-devsrv-"));
  dbPort = randomPort();
  apiPort = dbPort + 1;
  dev = launch({ ACTP_DATA_DIR: dataDir, ACTP_DB_PORT: String(dbPort), ACTP_API_PORT: String(apiPort), ACTP_DB_PASSWORD: "s3cret-for-tests" });
  await untilRunning(dev);
  const field = (label: string) => new RegExp(`${label}: (\\S+)`).exec(dev.output())?.[1] ?? "";
  apiUrl = field("API URL");
  anonKey = field("anon key");
  serviceKey = field("service_role key");
}, 150_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill("SIGTERM");
    await dev.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe("the embedded database checks the password", () => {
  it("accepts the right password and refuses a wrong one with 28P01", async () => {
    const ok = new pg.Client({ connectionString: url("s3cret-for-tests") });
    await ok.connect();
    expect((await ok.query("select 1 as one")).rows[0].one).toBe(1);
    await ok.end();

    for (const [user, password] of [["postgres", "postgres"], ["postgres", "wrong"], ["anon", "s3cret-for-tests"]] as const) {
      const bad = new pg.Client({ connectionString: `postgres://${user}:${password}@127.0.0.1:${dbPort}/postgres?sslmode=disable` });
      const err = (await bad.connect().catch((e: unknown) => e)) as { code?: string; message?: string };
      expect(err?.code, `${user}:${password}`).toBe("28P01");
      expect(err?.message).toContain("password authentication failed");
    }
  });

  it("refuses to listen beyond loopback without ACTP_DB_PASSWORD, in one line", async () => {
    const l = launch({ ACTP_DATA_DIR: join(dataDir, "other"), ACTP_DB_HOST: "0.0.0.0", ACTP_DB_PORT: String(randomPort()), ACTP_API_PORT: String(randomPort()) });
    expect(await l.exited).toBe(2);
    expect(failureLines(l.output())).toEqual([expect.stringMatching(/^error: dev\.db_password_required: .*ACTP_DB_PASSWORD/)]);
  }, 60_000);
});

describe("a client's session state does not outlive it", () => {
  it("after `set role anon`, search_path and statement_timeout and a disconnect, the next client and /health are unaffected", async () => {
    const a = new pg.Client({ connectionString: url("s3cret-for-tests") });
    await a.connect();
    await a.query("set role anon");
    await a.query("set search_path to pg_catalog");
    await a.query("set statement_timeout = 1");
    await a.query("prepare left_behind as select 1");
    expect((await a.query("select current_user as u")).rows[0].u).toBe("anon");
    await a.end();

    const b = new pg.Client({ connectionString: url("s3cret-for-tests") });
    await b.connect();
    const { rows } = await b.query(
      `select current_user as u, current_setting('search_path') as sp, current_setting('statement_timeout') as st,
              (select count(*) from pg_prepared_statements where name = 'left_behind')::int as prepared`,
    );
    await b.end();
    expect(rows[0]).toEqual({ u: "postgres", sp: '"$user", public, extensions', st: "0", prepared: 0 });

    const health = await fetch(`${apiUrl}/functions/v1/health`, { headers: { authorization: `Bearer ${anonKey}` } });
    expect(health.status).toBe(200);
  });

  it("a client that vanishes inside a transaction has it rolled back", async () => {
    const a = new pg.Client({ connectionString: url("s3cret-for-tests") });
    await a.connect();
    a.on("error", () => {});
    await a.query("begin");
    await a.query("set local role anon");
    (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const b = new pg.Client({ connectionString: url("s3cret-for-tests") });
    await b.connect();
    const { rows } = await b.query("select current_user as u");
    await b.end();
    expect(rows[0].u).toBe("postgres");
  });
});

describe("one actp dev per data directory and port", () => {
  it("a second actp dev on the same data directory exits 5 with one line naming the pid", async () => {
    const lock = (await readFile(join(dataDir, "actp.pid"), "utf8")).trim();
    expect(Number(lock)).toBe(dev.child.pid);
    const l = launch({ ACTP_DATA_DIR: dataDir, ACTP_DB_PORT: String(randomPort()), ACTP_API_PORT: String(randomPort()) });
    expect(await l.exited).toBe(5);
    expect(failureLines(l.output())).toEqual([`error: dev.data_dir_in_use: data directory ${dataDir} is in use by actp dev (pid ${lock}): stop that one, or set ACTP_DATA_DIR to another directory`]);
  }, 60_000);

  it("takes over a stale lock left by a process that is gone", async () => {
    const stale = await mkdtemp(join(tmpdir(), "actp-stale-"));
    try {
      // A pid that is not running: a finished child's.
      const gone = spawn(process.execPath, ["-e", ""]);
      await new Promise((r) => gone.once("exit", r));
      await writeFile(join(stale, "actp.pid"), `${gone.pid}\n`);
      const l = launch({ ACTP_DATA_DIR: stale, ACTP_DB_PORT: String(randomPort()), ACTP_API_PORT: String(randomPort()) });
      await untilRunning(l);
      expect(Number((await readFile(join(stale, "actp.pid"), "utf8")).trim())).toBe(l.child.pid);
      l.child.kill("SIGTERM");
      expect(await l.exited).toBe(0);
      await expect(readFile(join(stale, "actp.pid"), "utf8")).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await rm(stale, { recursive: true, force: true });
    }
  }, 150_000);

  it("a taken database port or API port exits 5 with one line naming the variable", async () => {
    const taken: Server = createServer();
    const port = randomPort();
    await new Promise<void>((r) => taken.listen(port, "127.0.0.1", () => r()));
    try {
      const db = launch({ ACTP_DATA_DIR: join(dataDir, "p1"), ACTP_DB_PORT: String(port), ACTP_API_PORT: String(randomPort()) });
      expect(await db.exited).toBe(5);
      expect(failureLines(db.output())).toEqual([`error: dev.port_in_use: port ${port} on 127.0.0.1 is already in use: stop what holds it, or set ACTP_DB_PORT to a free port`]);

      const api = launch({ ACTP_DATA_DIR: join(dataDir, "p2"), ACTP_DB_PORT: String(randomPort()), ACTP_API_PORT: String(port) });
      expect(await api.exited).toBe(5);
      expect(failureLines(api.output())).toEqual([`error: dev.port_in_use: port ${port} on 127.0.0.1 is already in use: stop what holds it, or set ACTP_API_PORT to a free port`]);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 120_000);
});

/** The dev process's resident set, from /proc (Linux). */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

interface Upload {
  status: number;
  /** Bytes written when the answer came. */
  sentAtResponse: number;
  body: string;
}

/** Streams up to `total` bytes chunked (no Content-Length) and stops writing once the answer comes. */
function chunkedUpload(path: string, authorization: string | null, total: number, onChunk?: () => void): Promise<Upload> {
  return new Promise((resolvePromise, reject) => {
    const u = new URL(path, apiUrl);
    const headers: Record<string, string> = { "content-type": "application/json", "transfer-encoding": "chunked" };
    if (authorization) headers.authorization = authorization;
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers });
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(1024 * 1024, 0x20); // 1 MiB of JSON whitespace
    req.on("response", (res) => {
      answered = true;
      const sentAtResponse = sent;
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        req.destroy();
        resolvePromise({ status: res.statusCode ?? 0, sentAtResponse, body });
      });
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.write("[");
    const pump = () => {
      while (!answered && sent < total) {
        onChunk?.();
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered) req.end("]");
    };
    pump();
  });
}

describe("the gateway bounds request bodies", () => {
  it("refuses a 256 MiB chunked upload with 413 early, without its memory growing by the body", async () => {
    const pid = dev.child.pid!;
    const before = await rssMiB(pid);
    let peak = before;
    const sampler = setInterval(() => {
      rssMiB(pid).then((m) => (peak = Math.max(peak, m)), () => {});
    }, 20);
    const total = 256 * 1024 * 1024;
    const r = await chunkedUpload("/functions/v1/events", `Bearer ${serviceKey}`, total).finally(() => clearInterval(sampler));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe("http.payload_too_large");
    // The answer comes once the limit (1 MiB) is passed, not after the whole body.
    expect(r.sentAtResponse).toBeLessThan(total / 2);
    // Bounded: a buffered body would add at least its own size (256 MiB) to the process.
    expect(peak - before).toBeLessThan(96);
  }, 120_000);

  it("answers 401 to an unauthorized upload before the body is sent, and never reads it", async () => {
    const total = 64 * 1024 * 1024;
    for (const auth of [null, "Bearer not-a-jwt", `Bearer ${anonKey}`]) {
      const r = await chunkedUpload("/functions/v1/events", auth, total);
      expect(r.status, String(auth)).toBe(auth === `Bearer ${anonKey}` ? 403 : 401);
      expect(r.sentAtResponse, String(auth)).toBeLessThan(total / 4);
    }
  }, 120_000);
});

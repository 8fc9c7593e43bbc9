// actp as a package: `npm pack`, install the tarball into a new project OUTSIDE this repository (from
// the local npm cache), write an agent there with that project's zod, typecheck it against the
// shipped types, and run a job to completion with that project's `npx actp worker` and
// `npx actp enqueue` against the tier's database.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";
import { testDatabase } from "../support/db.ts";

const run = promisify(execFile);
const db = testDatabase();
const slug = `pkg-probe-${Math.random().toString(36).slice(2, 8)}`;
let project = "";
let packDir = "";
let worker: ChildProcess | null = null;

// npm without network where it can: everything actp needs is already in the cache from this repo's install.
const npmEnv = { ...process.env, npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };

beforeAll(async () => {
  packDir = mkdtempSync(join(tmpdir(), "actp-pack-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: PROJECT_ROOT, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
  const tarball = join(packDir, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);

  project = mkdtempSync(join(tmpdir(), "actp-consumer-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  await run("npm", ["install", tarball, "zod@^4"], { cwd: project, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(
    join(project, "agents.ts"),
    `import { z } from "zod";
import { defineAgent, NonRetriableError, RetryAfterError } from "actp";
import type { JobContext } from "actp";

const Input = z.object({ name: z.string() });
type Input = z.infer<typeof Input>;

export const greeter = defineAgent({
  slug: ${JSON.stringify(slug)},
  description: "says hello, from a project that installed actp",
  input: Input,
  handler: async (ctx: JobContext<Input>, input: Input) => {
    if (input.name === "") throw new NonRetriableError("no name");
    if (input.name === "later") throw new RetryAfterError("not yet", 60_000);
    const greeting = await ctx.step("greet", () => "hello " + input.name);
    return { greeting, zod: import.meta.resolve("zod") };
  },
});
`,
  );
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2023", strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ["agents.ts"] }),
  );
}, 300_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill("SIGTERM");
    await new Promise((r) => worker!.once("exit", r));
  }
  await db.end();
  for (const dir of [project, packDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("actp installed from npm pack into another project", () => {
  it("ships what runs and nothing else, and zod is the project's own", () => {
    const pkg = join(project, "node_modules/actp");
    for (const f of ["LICENSE", "package.json", "bin/actp.mjs", "node/sdk.ts", "dist/types/node/sdk.d.ts", "migrations", "functions/jobs/app.ts"]) {
      expect(existsSync(join(pkg, f)), f).toBe(true);
    }
    for (const f of ["tests", "bench", "scripts", ".ci"]) expect(existsSync(join(pkg, f)), f).toBe(false);
    expect(existsSync(join(pkg, "node_modules/zod")), "zod must come from the installing project").toBe(false);
    expect(JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).license).toBe("Apache-2.0");
  });

  it("types the agent module with the shipped declarations (tsc in that project)", async () => {
    await run(join(PROJECT_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: project });
    // And a wrong use fails, so the check above had real types to check against.
    writeFileSync(join(project, "wrong.ts"), `import { RetryAfterError } from "actp";\nconst ms: string = new RetryAfterError("x", 5).retryAfterMs;\nexport { ms };\n`);
    writeFileSync(join(project, "tsconfig.wrong.json"), JSON.stringify({ extends: "./tsconfig.json", files: ["wrong.ts"] }));
    const wrong = await run(join(PROJECT_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.wrong.json"], { cwd: project }).catch((e: { stdout: string }) => e);
    expect((wrong as { stdout: string }).stdout).toContain("TS2322");
  }, 120_000);

  it("npx actp worker ./agents.ts runs that project's agent, with its zod, to completion", async () => {
    const url = inject("dbUrl");
    const bin = join(project, "node_modules/.bin/actp");
    worker = spawn(bin, ["worker", "./agents.ts", "--db-url", url], { cwd: project, env: { ...process.env, DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    worker.stdout!.on("data", (d) => (out += d));
    worker.stderr!.on("data", (d) => (out += d));
    const deadline = Date.now() + 90_000;
    while (!out.includes(`actp worker: ${slug}`)) {
      if (worker.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // The banner comes before the worker's child process has registered the agent: wait for the row.
    while ((await db.query(`select 1 from public.actp_agent_definitions where slug = $1`, [slug])).rows.length === 0) {
      if (worker.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not register ${slug}:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const { stdout } = await run(bin, ["enqueue", slug, "--input", JSON.stringify({ name: "package" }), "--json", "--db-url", url], { cwd: project });
    const { id } = JSON.parse(stdout) as { id: string };
    let job: { status: string; output: { greeting: string; zod: string } | null } | undefined;
    while (Date.now() < deadline) {
      const { rows } = await db.query<{ status: string; output: { greeting: string; zod: string } | null }>(`select status, output from public.actp_jobs where id = $1`, [id]);
      job = rows[0];
      if (job && ["completed", "failed", "dead"].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(job?.status, out).toBe("completed");
    expect(job!.output!.greeting).toBe("hello package");
    // The agent module's zod is the project's own copy, resolved from the project's folder.
    expect(job!.output!.zod.startsWith(pathToFileURL(realpathSync(join(project, "node_modules/zod"))).href + "/")).toBe(true);
  }, 180_000);
});

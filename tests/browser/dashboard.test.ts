// The operator dashboard in a real headless Chromium (Debian's, driven by playwright-core): pages
// load with data from the functions' APIs, a DLQ replay clicked on the page changes the database,
// a viewer is offered no actions, a signed-up user without an actp role sees "not an operator", and
// screenshots of every page are written to test-results/dashboard/.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { configureRuntime } from "../../functions/_shared/runtime.ts";
import { PROJECT_ROOT } from "../../node/config.ts";
import { buildDashboard } from "../../node/dashboard/build.ts";
import { loadFunctions } from "../../node/gateway/functions.ts";
import { createGatewayApp, startGateway } from "../../node/gateway/server.ts";
import { loadProjectKeys } from "../../node/keys.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import type { Database } from "../../shared/db/types.ts";
import { testDatabase } from "../support/db.ts";
import { createAgent, deadJob, insertEvent, uniqueSlug, at } from "../support/dlq-scenarios.ts";

export const CHROMIUM = process.env.ACTP_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = resolve(PROJECT_ROOT, "test-results/dashboard");

let db: Database;
let browser: Browser;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let tokens: { operator: string; viewer: string; user: string };
let agent: string;
let dead: { jobId: string; dlqId: string }[];

beforeAll(async () => {
  void inject("dbUrl");
  db = testDatabase();
  const keys = await loadProjectKeys(null);
  configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: true });
  const dashboard = await buildDashboard({ apiUrl: "", anonKey: keys.anonKey, auth: "local" });
  gateway = await startGateway(createGatewayApp({ functions: await loadFunctions(), jwtSecret: keys.jwtSecret, dashboard }), "127.0.0.1", 0);
  const sub = randomUUID();
  tokens = {
    operator: await signApiKey(keys.jwtSecret, "authenticated", { sub, email: "op@example.com", app_metadata: { actp_role: "operator" } }),
    viewer: await signApiKey(keys.jwtSecret, "authenticated", { sub: randomUUID(), email: "viewer@example.com", app_metadata: { actp_role: "viewer" } }),
    user: await signApiKey(keys.jwtSecret, "authenticated", { sub: randomUUID(), email: "user@example.com" }),
  };

  agent = await createAgent(db, uniqueSlug("dash"));
  dead = [];
  for (let i = 0; i < 3; i++) dead.push(await deadJob(db, agent, { topic: `t${i}` }));
  const base = Date.now() - 60_000;
  await insertEvent(db, { type: "job.progress", jobId: dead[0]!.jobId, at: at(base, 1200), payload: { message: "fetching", pct: 10 } });
  await db.query(
    `insert into actp_worker_registrations (worker_id, host, pid, agents) values ($1, 'test-host', 4242, $2) on conflict do nothing`,
    [`dash-worker-${randomUUID().slice(0, 6)}`, [agent]],
  );

  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await db?.end();
});

async function signedIn(role: keyof typeof tokens, hash = "#/overview"): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => console.error(`[browser] ${e.message}`));
  await page.goto(`${gateway.url}/dashboard/`);
  await page.fill("#token", tokens[role]);
  await page.click("#use-token");
  await page.evaluate((h) => (window.location.hash = h), hash);
  return page;
}

describe("operator dashboard in Chromium", () => {
  it("serves static files with safe headers", async () => {
    const r = await fetch(`${gateway.url}/dashboard/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/text\/html/);
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect((await fetch(`${gateway.url}/dashboard/../keys.json`)).status).toBe(404);
  });

  it("overview shows the mode, SLA, circuits and workers", async () => {
    const page = await signedIn("operator");
    await page.waitForSelector("#platform-mode");
    expect(await page.textContent("#platform-mode")).toMatch(/Mode: (normal|degraded|incident)/);
    await page.waitForSelector("#panel-workers table");
    expect(await page.textContent("#panel-workers")).toContain(agent);
    await page.waitForSelector("#panel-sla .panel-body :is(table, p)");
    expect(await page.locator("#panel-sla .error").count()).toBe(0);
    expect(await page.locator("#panel-circuits .error").count()).toBe(0);
    await page.screenshot({ path: resolve(SHOTS, "overview.png"), fullPage: true });
    await page.close();
  });

  it("DLQ: groups by fingerprint; a replay clicked on the page resolves the item in the database", async () => {
    const page = await signedIn("operator", "#/dlq");
    await page.waitForSelector("#panel-dlq-groups table");
    await page.locator(".group-link").first().click();
    const button = page.locator(`button.replay[data-dlq-id="${dead[1]!.dlqId}"]`);
    await button.waitFor();
    await page.screenshot({ path: resolve(SHOTS, "dlq.png"), fullPage: true });
    await button.click();
    await page.waitForSelector(`[data-dlq-status="${dead[1]!.dlqId}"] .badge`);
    const { rows } = await db.query<{ resolution: string; replay_job_id: string | null; reviewed_by: string }>(
      `select resolution, replay_job_id, reviewed_by from actp_dlq where id = $1`,
      [dead[1]!.dlqId],
    );
    expect(rows[0]!.resolution).toBe("replayed");
    expect(rows[0]!.replay_job_id).not.toBeNull();
    // The identity is the token's, whatever label the page sent.
    expect(rows[0]!.reviewed_by).toContain("operator");

    // Replay the rest of the group in one go, with progress on the page.
    await page.reload();
    await page.waitForSelector("#panel-dlq-groups table");
    await page.locator(".group-link").first().click();
    await page.click("#bulk-replay");
    await page.waitForFunction(() => /replayed \d+ of \d+/.test(document.querySelector("#bulk-progress")?.textContent ?? ""));
    await page.screenshot({ path: resolve(SHOTS, "dlq-bulk.png"), fullPage: true });
    const left = await db.query<{ n: number }>(
      `select count(*)::int as n from actp_dlq where id = any($1::uuid[]) and resolution is null`,
      [[dead[0]!.dlqId, dead[2]!.dlqId]],
    );
    expect(left.rows[0]!.n).toBe(0);
    await page.close();
  });

  it("a job's timeline draws its steps and events, with replay and diff", async () => {
    const page = await signedIn("operator", `#/jobs/${dead[0]!.jobId}`);
    await page.waitForSelector("#panel-timeline table");
    expect(await page.textContent("#panel-timeline")).toContain("job.progress");
    expect(await page.locator("#replay-job").count()).toBe(1);
    await page.screenshot({ path: resolve(SHOTS, "job.png"), fullPage: true });
    await page.close();
  });

  it("agents, policies and flags pages load", async () => {
    for (const [hash, sel, shot] of [["#/agents", "#panel-agents table", "agents"], ["#/policies", "#panel-policies .panel-body > *", "policies"], ["#/flags", "#panel-flags .panel-body > *", "flags"]] as const) {
      const page = await signedIn("operator", hash);
      await page.waitForSelector(sel);
      expect(await page.locator(".panel .error").count()).toBe(0);
      await page.screenshot({ path: resolve(SHOTS, `${shot}.png`), fullPage: true });
      await page.close();
    }
  });

  it("a viewer reads but is offered no actions", async () => {
    await deadJob(db, agent, { topic: "for the viewer" });
    const page = await signedIn("viewer", "#/dlq");
    await page.waitForSelector("#panel-dlq-groups table");
    await page.locator(".group-link").first().click();
    await page.waitForSelector("button.show");
    expect(await page.locator("button.replay").count()).toBe(0);
    expect(await page.textContent("#who")).toContain("read only");
    await page.close();
  });

  it("a signed-up user without an actp role sees 'not an operator' and no data", async () => {
    const page = await signedIn("user");
    await page.waitForSelector("#not-operator");
    expect(await page.locator("table").count()).toBe(0);
    await page.screenshot({ path: resolve(SHOTS, "not-operator.png") });
    await page.close();
  });
});

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/agents/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { AgentCapabilities, AgentDetail, AgentSummary, AgentVersionsPage, RegisterResult, SetEnabledResult } from "../../shared/agents/contracts.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let authenticatedKey: string;
let viewerKey: string;
beforeAll(async () => {
  h = await functionHarness();
  authenticatedKey = await signApiKey(h.keys.jwtSecret, "authenticated");
  viewerKey = await h.token("viewer");
});
afterAll(() => h.db.end());

type Who = "anon" | "service_role" | "none" | "authenticated" | "viewer";
const headers = (who: Who, extra: Record<string, string> = {}) =>
  who === "authenticated"
    ? { ...extra, authorization: `Bearer ${authenticatedKey}` }
    : who === "viewer"
      ? { ...extra, authorization: `Bearer ${viewerKey}` }
      : h.headers(who, extra);

const get = (path: string, who: Who = "service_role") => app.request(`/agents${path}`, { headers: headers(who) });
const post = (path: string, body: unknown, who: Who = "service_role", raw?: string) =>
  app.request(`/agents${path}`, {
    method: "POST",
    headers: headers(who, { "content-type": "application/json" }),
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });

const slug = (label: string) => `f-${label}-${randomBytes(3).toString("hex")}`;
const def = (s: string, extra: Record<string, unknown> = {}) => ({
  slug: s,
  description: "summarises a page",
  input_schema: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
  capabilities: [
    { tool: "web.fetch", tier: "read" },
    { tool: "notes.write", tier: "write" },
  ],
  memory_read: ["pages"],
  memory_write: ["summaries"],
  model_policy: { default_model: "claude-haiku", fallback: "claude-sonnet", max_cost_usd: 0.25 },
  ...extra,
});

async function registered(label: string) {
  const s = slug(label);
  const res = await post("", def(s));
  expect(res.status).toBe(201);
  return s;
}

async function versionCount(s: string): Promise<number> {
  const { rows } = await h.db.query<{ n: number }>(
    `select count(v.*)::int as n from public.actp_agent_definitions a
       left join public.actp_agent_versions v on v.agent_id = a.id where a.slug = $1`,
    [s],
  );
  return rows[0]!.n;
}

describe("POST /agents (register)", () => {
  it("201 with version 1 the first time, 200 unchanged the second, 200 version 2 after a change", async () => {
    const s = slug("reg");
    const first = await post("", def(s));
    expect(first.status).toBe(201);
    expect(RegisterResult.parse(await first.json())).toEqual({ slug: s, version: 1, changed: true, changelog: "initial registration" });

    const again = await post("", def(s));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ slug: s, version: 1, changed: false, changelog: null });

    const changed = await post("", def(s, { model_policy: { default_model: "claude-haiku", fallback: "claude-sonnet", max_cost_usd: 1 } }));
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ slug: s, version: 2, changed: true, changelog: "model_policy.max_cost_usd 0.25 → 1" });
  });

  it("takes a changelog in the body", async () => {
    const s = await registered("log");
    const res = await post("", { ...def(s, { description: "better" }), changelog: "rewrote the description" });
    expect(await res.json()).toMatchObject({ version: 2, changelog: "rewrote the description" });
  });

  it.each([
    ["a malformed slug", { slug: "Has Spaces" }, ["slug"]],
    ["an unknown capability tier", { capabilities: [{ tool: "shell", tier: "root" }] }, ["capabilities", 0, "tier"]],
    ["a capability with a wrong type", { capabilities: [{ tool: 42, tier: "read" }] }, ["capabilities", 0, "tool"]],
    ["the same tool twice", { capabilities: [{ tool: "a", tier: "read" }, { tool: "a", tier: "write" }] }, ["capabilities", 1, "tool"]],
    ["a negative budget", { model_policy: { max_cost_usd: -1 } }, ["model_policy", "max_cost_usd"]],
    ["a budget given as a string", { model_policy: { max_cost_usd: "1" } }, ["model_policy", "max_cost_usd"]],
    ["an unknown model_policy key", { model_policy: { budget: 1 } }, ["model_policy"]],
    ["namespaces of the wrong type", { memory_read: "pages" }, ["memory_read"]],
    ["a description of the wrong type", { description: 7 }, ["description"]],
    ["an unknown field", { handler: "function () {}" }, []],
    ["an empty changelog", { changelog: "  " }, ["changelog"]],
  ])("400 with zod issues for %s, and nothing written", async (_what, patch, path) => {
    const s = slug("bad");
    const res = await post("", { ...def(s), ...patch });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe("validation.failed");
    expect(error.details.map((i: { path: unknown[] }) => i.path)).toContainEqual(path);
    expect(await versionCount(s)).toBe(0);
  });

  it("400 for a body that is not JSON or not an object", async () => {
    expect((await post("", undefined, "service_role", "{nope")).status).toBe(400);
    expect((await post("", [def(slug("arr"))])).status).toBe(400);
  });

  it("401 without a token, 403 for anon and authenticated, and nothing written", async () => {
    const s = slug("authz");
    expect((await post("", def(s), "none")).status).toBe(401);
    for (const who of ["anon", "authenticated"] as const) {
      const res = await post("", def(s), who);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("auth.forbidden");
    }
    expect(await versionCount(s)).toBe(0);
  });
});

describe("GET /agents", () => {
  it("lists agents with version, enabled and capability count, filterable by enabled", async () => {
    const s = await registered("list");
    expect((await get("", "authenticated")).status).toBe(403);
    const res = await get("", "viewer");
    expect(res.status).toBe(200);
    const { agents } = await res.json();
    const mine = agents.find((a: { slug: string }) => a.slug === s);
    expect(AgentSummary.parse(mine)).toMatchObject({ slug: s, version: 1, enabled: true, capability_count: 2, description: "summarises a page" });
    expect(Date.parse(mine.created_at)).not.toBeNaN();

    await post(`/${s}/disable`, undefined);
    const enabledOnly = await (await get("?enabled=true")).json();
    expect(enabledOnly.agents.some((a: { slug: string }) => a.slug === s)).toBe(false);
    const disabledOnly = await (await get("?enabled=false")).json();
    expect(disabledOnly.agents.some((a: { slug: string }) => a.slug === s)).toBe(true);
  });

  it("400 for an unknown or malformed query parameter", async () => {
    expect((await get("?enabled=maybe")).status).toBe(400);
    expect((await get("?colour=red")).status).toBe(400);
  });

  it("401 without a token, 403 for anon (RLS decides)", async () => {
    expect((await get("", "none")).status).toBe(401);
    const res = await get("", "anon");
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("auth.forbidden");
  });
});

describe("GET /agents/:slug and /capabilities", () => {
  it("returns the current definition and its capabilities", async () => {
    const s = await registered("show");
    expect((await get(`/${s}`, "authenticated")).status).toBe(403);
    const res = await get(`/${s}`, "viewer");
    expect(res.status).toBe(200);
    const agent = AgentDetail.parse(await res.json());
    expect(agent).toMatchObject({
      slug: s,
      version: 1,
      enabled: true,
      capabilities: [
        { tool: "notes.write", tier: "write" },
        { tool: "web.fetch", tier: "read" },
      ],
      memory_read: ["pages"],
      memory_write: ["summaries"],
      model_policy: { default_model: "claude-haiku", fallback: "claude-sonnet", max_cost_usd: 0.25 },
      input_schema: { required: ["url"] },
    });
    expect(agent.definition_hash).toMatch(/^[0-9a-f]{64}$/);

    const caps = await get(`/${s}/capabilities`);
    expect(caps.status).toBe(200);
    expect(AgentCapabilities.parse(await caps.json())).toEqual({
      slug: s,
      version: 1,
      enabled: true,
      capabilities: agent.capabilities,
      memory_read: ["pages"],
      memory_write: ["summaries"],
    });
  });

  it("404 for an unknown slug, 400 for a malformed one, 403 for anon", async () => {
    for (const path of ["/f-nobody", "/f-nobody/capabilities", "/f-nobody/versions"]) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect((await res.json()).error.code).toBe("agents.not_found");
    }
    for (const path of ["/Bad_Slug", "/9starts-with-digit/capabilities", `/${"a".repeat(64)}/versions`]) {
      const res = await get(path);
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("agents.invalid_slug");
      expect(error.details[0].message).toMatch(/slug/);
    }
    const s = await registered("anonshow");
    expect((await get(`/${s}`, "anon")).status).toBe(403);
    expect((await get(`/${s}/capabilities`, "anon")).status).toBe(403);
    expect((await get(`/${s}/versions`, "anon")).status).toBe(403);
  });
});

describe("GET /agents/:slug/versions", () => {
  it("returns the history newest first, with snapshots, paged by `before`", async () => {
    const s = await registered("hist");
    await post("", def(s, { description: "second" }));
    await post("", def(s, { description: "third", capabilities: [{ tool: "web.fetch", tier: "read" }] }));
    expect((await get(`/${s}/versions`, "authenticated")).status).toBe(403);
    const res = await get(`/${s}/versions`, "viewer");
    expect(res.status).toBe(200);
    const page = AgentVersionsPage.parse(await res.json());
    expect(page.versions.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(page.versions.map((v) => v.changelog)).toEqual(["capabilities: -notes.write(write); description changed", "description changed", "initial registration"]);
    expect(page.versions[0]!.snapshot).toMatchObject({ version: 3, description: "third", capabilities: [{ tool: "web.fetch", tier: "read" }] });
    expect(page.next_before).toBeNull();

    const p1 = AgentVersionsPage.parse(await (await get(`/${s}/versions?limit=2`)).json());
    expect(p1.versions.map((v) => v.version)).toEqual([3, 2]);
    expect(p1.next_before).toBe(2);
    const p2 = AgentVersionsPage.parse(await (await get(`/${s}/versions?limit=2&before=2`)).json());
    expect(p2.versions.map((v) => v.version)).toEqual([1]);
    expect(p2.next_before).toBeNull();
  });

  it("400 for a bad limit", async () => {
    const s = await registered("badlimit");
    expect((await get(`/${s}/versions?limit=0`)).status).toBe(400);
    expect((await get(`/${s}/versions?limit=abc`)).status).toBe(400);
  });
});

describe("POST /agents/:slug/enable and /disable", () => {
  it("disables and enables; repeating is a no-op that says so", async () => {
    const s = await registered("toggle");
    const off = await post(`/${s}/disable`, undefined);
    expect(off.status).toBe(200);
    expect(SetEnabledResult.parse(await off.json())).toEqual({ slug: s, enabled: false, version: 1, changed: true });
    expect(await (await post(`/${s}/disable`, undefined)).json()).toMatchObject({ enabled: false, changed: false });
    expect((await (await get(`/${s}`)).json()).enabled).toBe(false);
    expect(await (await post(`/${s}/enable`, undefined)).json()).toMatchObject({ enabled: true, changed: true });
    expect((await (await get(`/${s}`)).json()).enabled).toBe(true);
    expect(await versionCount(s)).toBe(1);
  });

  it("404 for an unknown slug, 400 for a malformed one", async () => {
    const res = await post("/f-nobody/enable", undefined);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("agents.not_found");
    expect((await post("/NOPE/disable", undefined)).status).toBe(400);
  });

  it("401 without a token, 403 for anon and authenticated, and the state is unchanged", async () => {
    const s = await registered("toggleauth");
    for (const action of ["enable", "disable"]) {
      expect((await post(`/${s}/${action}`, undefined, "none")).status).toBe(401);
      expect((await post(`/${s}/${action}`, undefined, "anon")).status).toBe(403);
      expect((await post(`/${s}/${action}`, undefined, "authenticated")).status).toBe(403);
    }
    expect((await (await get(`/${s}`)).json()).enabled).toBe(true);
  });
});

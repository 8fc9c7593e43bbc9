// The circuits function: reads for readers (service role, operators, viewers; not a plain signed-in
// user, not anon), reset/force-open for operators and the service role, config for the service role
// only, structured 4xx for bad input.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/circuits/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { recordCircuit } from "../../shared/circuits/index.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let userToken: string;
let viewerToken: string;
beforeAll(async () => {
  h = await functionHarness();
  userToken = await signApiKey(h.keys.jwtSecret, "authenticated");
  viewerToken = await h.token("viewer");
});
afterAll(() => h.db.end());

const tool = () => `api${randomBytes(4).toString("hex")}.fetch`;
const json = (body: unknown, role: "anon" | "service_role" | "none" = "service_role") => ({
  headers: h.headers(role, { "content-type": "application/json" }),
  body: JSON.stringify(body),
});
const user = () => ({ authorization: `Bearer ${userToken}` });
const viewer = () => ({ authorization: `Bearer ${viewerToken}` });
const path = (t: string, rest = "") => `/circuits/${encodeURIComponent(t)}${rest}`;

describe("GET /circuits", () => {
  it("lists states with config for a viewer; a plain signed-in user and anon are refused; no token is 401", async () => {
    const t = tool();
    await recordCircuit(h.db, t, { success: false });
    expect((await app.request("/circuits", { headers: user() })).status).toBe(403);
    const res = await app.request("/circuits", { headers: viewer() });
    expect(res.status).toBe(200);
    const { circuits } = (await res.json()) as { circuits: { tool_name: string; failures: number; config: unknown }[] };
    expect(circuits.find((c) => c.tool_name === t)).toMatchObject({ state: "closed", failures: 1, config: { failure_threshold: 5, is_default: true } });

    expect((await app.request("/circuits", { headers: h.headers("anon") })).status).toBe(403);
    expect((await app.request("/circuits")).status).toBe(401);
  });

  it("GET /circuits/:tool answers one breaker, 404 for a tool never seen, 400 for a malformed name", async () => {
    const t = tool();
    await recordCircuit(h.db, t, { success: false });
    const one = await app.request(path(t), { headers: h.headers("service_role") });
    expect(await one.json()).toMatchObject({ circuit: { tool_name: t, failures: 1 } });
    const missing = await app.request(path(tool()), { headers: h.headers("service_role") });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("circuits.not_found");
    const bad = await app.request(path("has space"), { headers: h.headers("service_role") });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("circuits.invalid_tool");
  });
});

describe("operator actions", () => {
  it("force-open and reset are refused to a plain user and move the breaker for the service role", async () => {
    const t = tool();
    const denied = await app.request(path(t, "/force-open"), { method: "POST", headers: user() });
    expect(denied.status).toBe(403);
    expect((await denied.json()).error.code).toBe("auth.forbidden");

    const opened = await app.request(path(t, "/force-open"), { method: "POST", ...json({ seconds: 90 }) });
    expect(opened.status).toBe(200);
    expect(await opened.json()).toMatchObject({ state: "open", transition: "opened" });

    const noBody = await app.request(path(t, "/force-open"), { method: "POST", headers: h.headers("service_role") });
    expect(await noBody.json()).toMatchObject({ state: "open", transition: null });

    const reset = await app.request(path(t, "/reset"), { method: "POST", headers: h.headers("service_role") });
    expect(await reset.json()).toEqual({ state: "closed", transition: "closed" });

    const { rows } = await h.db.query<{ type: string }>(`select type from actp_events where tool_name = $1 order by seq`, [t]);
    expect(rows.map((r) => r.type)).toEqual(["tool.circuit_open", "circuit.open", "tool.circuit_closed", "circuit.closed"]);
  });

  it("operators force-open and reset; a viewer and a plain user are refused", async () => {
    const t = tool();
    for (const who of [viewer(), user()]) {
      expect((await app.request(path(t, "/force-open"), { method: "POST", headers: who })).status).toBe(403);
      expect((await app.request(path(t, "/reset"), { method: "POST", headers: who })).status).toBe(403);
    }
    const operator = await h.as("operator");
    const opened = await app.request(path(t, "/force-open"), { method: "POST", headers: operator });
    expect(opened.status).toBe(200);
    expect(await opened.json()).toMatchObject({ state: "open", transition: "opened" });
    const reset = await app.request(path(t, "/reset"), { method: "POST", headers: operator });
    expect(await reset.json()).toEqual({ state: "closed", transition: "closed" });
    // Configuring a breaker stays with the service role.
    const config = await app.request(path(t, "/config"), { method: "PUT", headers: { ...operator, "content-type": "application/json" }, body: "{}" });
    expect(config.status).toBe(403);
  });

  it("refuses bad force-open bodies and resets of unknown tools", async () => {
    const t = tool();
    const bad = await app.request(path(t, "/force-open"), { method: "POST", ...json({ seconds: 0 }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("validation.failed");
    const extra = await app.request(path(t, "/force-open"), { method: "POST", ...json({ seconds: 5, evil: true }) });
    expect(extra.status).toBe(400);
    const unknown = await app.request(path(t, "/reset"), { method: "POST", headers: h.headers("service_role") });
    expect(unknown.status).toBe(404);
    const { rows } = await h.db.query(`select 1 from actp_circuit_states where tool_name = $1`, [t]);
    expect(rows).toHaveLength(0);
  });
});

describe("PUT /circuits/:tool/config", () => {
  it("creates and updates a tool's config (service role), then DELETE returns it to the default", async () => {
    const t = tool();
    const put = await app.request(path(t, "/config"), { method: "PUT", ...json({ failure_threshold: 2, fallback_tool: "search.backup" }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ circuit: { tool_name: t, config: { failure_threshold: 2, window_seconds: 60, fallback_tool: "search.backup", is_default: false } } });

    const patch = await app.request(path(t, "/config"), { method: "PUT", ...json({ window_seconds: 10 }) });
    expect(await patch.json()).toMatchObject({ circuit: { config: { failure_threshold: 2, window_seconds: 10, fallback_tool: "search.backup" } } });

    const clear = await app.request(path(t, "/config"), { method: "PUT", ...json({ fallback_tool: null }) });
    expect(await clear.json()).toMatchObject({ circuit: { config: { fallback_tool: null } } });

    expect((await app.request(path(t, "/config"), { method: "DELETE", headers: h.headers("service_role") })).status).toBe(200);
    expect((await app.request(path(t, "/config"), { method: "DELETE", headers: h.headers("service_role") })).status).toBe(404);
  });

  it("answers 400 with issues for out-of-range or unknown fields, 403 for a user, and writes nothing", async () => {
    const t = tool();
    for (const body of [{ failure_threshold: 0 }, { window_seconds: -1 }, { recovery_probe_seconds: "30" }, { fallback_tool: "bad name" }, { color: "red" }]) {
      const res = await app.request(path(t, "/config"), { method: "PUT", ...json(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()).error;
      expect(err.code).toBe("validation.failed");
      expect(err.details.length).toBeGreaterThan(0);
    }
    // A fallback to itself passes zod but not the database's CHECK.
    const self = await app.request(path(t, "/config"), { method: "PUT", ...json({ fallback_tool: t }) });
    expect(self.status).toBe(400);
    expect((await self.json()).error.code).toBe("db.check_violation");
    const notJson = await app.request(path(t, "/config"), { method: "PUT", headers: h.headers("service_role", { "content-type": "application/json" }), body: "{" });
    expect(notJson.status).toBe(400);
    const asUser = await app.request(path(t, "/config"), { method: "PUT", headers: { ...user(), "content-type": "application/json" }, body: "{}" });
    expect(asUser.status).toBe(403);
    const { rows } = await h.db.query(`select 1 from actp_circuit_configs where tool_name = $1`, [t]);
    expect(rows).toHaveLength(0);
  });
});

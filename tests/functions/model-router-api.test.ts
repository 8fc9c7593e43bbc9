// The model-router function: routes and decisions for readers (service role, operators, viewers; a
// plain signed-in user is refused), route changes for the service role only, structured 4xx for bad input.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/model-router/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let userToken: string;
let plainUserToken: string;
beforeAll(async () => {
  h = await functionHarness();
  userToken = await h.token("viewer");
  plainUserToken = await signApiKey(h.keys.jwtSecret, "authenticated");
});
afterAll(() => h.db.end());

const hex = () => randomBytes(4).toString("hex");
const svc = (body?: unknown) => ({
  headers: h.headers("service_role", { "content-type": "application/json" }),
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const asUser = (body?: unknown) => ({
  headers: { authorization: `Bearer ${userToken}`, "content-type": "application/json" },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const newRoute = (task: string, extra: Record<string, unknown> = {}) => ({
  task_type: task,
  model: `m-${hex()}`,
  priority: 10,
  input_usd_per_mtok: 1,
  output_usd_per_mtok: 5,
  ...extra,
});

describe("reads and decisions", () => {
  it("GET /routes lists the seeded routes, filtered by task_type", async () => {
    const res = await app.request("/model-router/routes?task_type=strategy_planning", asUser());
    expect(res.status).toBe(200);
    const { routes } = (await res.json()) as { routes: { model: string; priority: number }[] };
    expect(routes.map((r) => r.model)).toEqual(["claude-opus-5-5", "claude-sonnet-5"]);
    const bad = await app.request("/model-router/routes?task_type=Nope!", asUser());
    expect(bad.status).toBe(400);
    expect((await app.request("/model-router/routes", { headers: h.headers("anon") })).status).toBe(403);
    expect((await app.request("/model-router/routes", { headers: { authorization: `Bearer ${plainUserToken}` } })).status).toBe(403);
  });

  it("POST /route answers the decision only", async () => {
    const res = await app.request("/model-router/route", { method: "POST", ...asUser({ task_type: "greeting", context_length: 300000 }) });
    expect(res.status).toBe(200);
    const d = (await res.json()) as { candidates: { model: string }[]; skipped: { model: string; reason: string }[] };
    // haiku's 200K context cannot hold 300K tokens; sonnet can.
    expect(d.candidates.map((c) => c.model)).toEqual(["claude-sonnet-5"]);
    expect(d.skipped).toEqual([{ model: "claude-haiku-4-5", priority: 10, reason: "context_too_long" }]);
  });

  it("POST /route refuses bad input with 400 and an unknown task type with its code", async () => {
    for (const body of [{}, { task_type: "greeting", context_length: -5 }, { task_type: "greeting", budget_remaining: "lots" }, { task_type: "greeting", extra: 1 }]) {
      const res = await app.request("/model-router/route", { method: "POST", ...asUser(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.code).toBe("validation.failed");
    }
    const unknown = await app.request("/model-router/route", { method: "POST", ...asUser({ task_type: `t_${hex()}` }) });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.code).toBe("model_router.unknown_task_type");
  });
});

describe("routes CRUD", () => {
  it("create, update, delete as the service role", async () => {
    const task = `t_${hex()}`;
    const created = await app.request("/model-router/routes", { method: "POST", ...svc(newRoute(task, { conditions: { max_context_length: 1000 }, max_cost_usd: 0.5 })) });
    expect(created.status).toBe(201);
    const { route } = (await created.json()) as { route: { id: string } };
    expect(route).toMatchObject({ task_type: task, provider: "anthropic", enabled: true, max_cost_usd: 0.5, conditions: { max_context_length: 1000 } });

    const patched = await app.request(`/model-router/routes/${route.id}`, { method: "PATCH", ...svc({ priority: 5, max_cost_usd: null }) });
    expect(await patched.json()).toMatchObject({ route: { priority: 5, max_cost_usd: null } });

    const decision = await app.request("/model-router/route", { method: "POST", ...svc({ task_type: task, context_length: 10 }) });
    expect(((await decision.json()) as { candidates: unknown[] }).candidates).toHaveLength(1);

    expect((await app.request(`/model-router/routes/${route.id}`, { method: "DELETE", ...svc() })).status).toBe(200);
    const gone = await app.request(`/model-router/routes/${route.id}`, { method: "DELETE", ...svc() });
    expect(gone.status).toBe(404);
    expect((await gone.json()).error.code).toBe("model_router.not_found");
  });

  it("only the service role changes routes", async () => {
    const res = await app.request("/model-router/routes", { method: "POST", ...asUser(newRoute(`t_${hex()}`)) });
    expect(res.status).toBe(403);
    const anon = await app.request("/model-router/routes", { method: "POST", headers: h.headers("anon", { "content-type": "application/json" }), body: JSON.stringify(newRoute(`t_${hex()}`)) });
    expect(anon.status).toBe(403);
  });

  it("refuses malformed routes with 400 and duplicate priorities with 409, writing nothing", async () => {
    const task = `t_${hex()}`;
    const bad = [
      newRoute(task, { priority: -1 }),
      newRoute(task, { input_usd_per_mtok: -2 }),
      newRoute(task, { conditions: { max_context_lenght: 5 } }),
      newRoute(task, { conditions: { min_context_length: 9, max_context_length: 5 } }),
      newRoute(task, { provider: "openai" }),
      newRoute(task, { model: "Bad Model" }),
      newRoute(task, { max_cost_usd: 0 }),
    ];
    for (const body of bad) {
      const res = await app.request("/model-router/routes", { method: "POST", ...svc(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const { rows } = await h.db.query(`select 1 from actp_model_routes where task_type = $1`, [task]);
    expect(rows).toHaveLength(0);

    await app.request("/model-router/routes", { method: "POST", ...svc(newRoute(task)) });
    const dup = await app.request("/model-router/routes", { method: "POST", ...svc(newRoute(task)) });
    expect(dup.status).toBe(409);

    expect((await app.request("/model-router/routes/not-a-uuid", { method: "PATCH", ...svc({ enabled: false }) })).status).toBe(400);
    expect((await app.request(`/model-router/routes/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`, { method: "PATCH", ...svc({}) })).status).toBe(400);
  });
});

// Model routing (PRD §4.3) on the embedded database: the seeded routes, and route()'s ordering,
// conditions, budget and circuit filters, and its refusals of bad input.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { forceOpenCircuit, modelToolName } from "../../shared/circuits/index.ts";
import { fromPgError } from "../../shared/errors.ts";
import { createRoute, listRoutes, route, updateRoute, deleteRoute, type ModelRouteCreate } from "../../shared/models/index.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const hex = () => randomBytes(4).toString("hex");

async function taskWith(routes: Partial<ModelRouteCreate>[]) {
  const task = `t_${hex()}`;
  const models: string[] = [];
  for (const [i, r] of routes.entries()) {
    const model = r.model ?? `fake-${hex()}`;
    models.push(model);
    await createRoute(db, {
      task_type: task,
      provider: "anthropic",
      model,
      priority: r.priority ?? (i + 1) * 10,
      max_cost_usd: r.max_cost_usd ?? null,
      conditions: r.conditions ?? {},
      input_usd_per_mtok: r.input_usd_per_mtok ?? 1,
      output_usd_per_mtok: r.output_usd_per_mtok ?? 5,
      enabled: r.enabled ?? true,
    });
  }
  return { task, models };
}

describe("seeded routes", () => {
  it("cover the PRD's six task types on haiku / sonnet / opus, each with a fallback", async () => {
    const all = await listRoutes(db);
    const chain = (t: string) => all.filter((r) => r.task_type === t).map((r) => r.model);
    expect(chain("health_check")).toEqual(["claude-haiku-4-5", "claude-sonnet-5"]);
    expect(chain("greeting")).toEqual(["claude-haiku-4-5", "claude-sonnet-5"]);
    expect(chain("content_generation")).toEqual(["claude-sonnet-5", "claude-haiku-4-5"]);
    expect(chain("code_review")).toEqual(["claude-sonnet-5", "claude-haiku-4-5"]);
    expect(chain("research_synthesis")).toEqual(["claude-sonnet-5", "claude-haiku-4-5"]);
    expect(chain("strategy_planning")).toEqual(["claude-opus-5-5", "claude-sonnet-5"]);
    const haiku = all.find((r) => r.model === "claude-haiku-4-5")!;
    expect(haiku).toMatchObject({ input_usd_per_mtok: 1, output_usd_per_mtok: 5, conditions: { max_context_length: 200000 } });
  });
});

describe("route()", () => {
  it("orders candidates by priority and leaves out disabled routes", async () => {
    const { task, models } = await taskWith([{ priority: 30 }, { priority: 10 }, { priority: 20, enabled: false }]);
    const d = await route(db, task);
    expect(d.candidates.map((c) => c.model)).toEqual([models[1], models[0]]);
    expect(d.skipped).toEqual([{ model: models[2], priority: 20, reason: "disabled" }]);
    expect(d.candidates[0]).toMatchObject({ provider: "anthropic", circuit: "closed", input_usd_per_mtok: 1, output_usd_per_mtok: 5 });
  });

  it("applies max_context_length and min_context_length", async () => {
    const { task, models } = await taskWith([
      { conditions: { max_context_length: 1000 } },
      { conditions: { min_context_length: 500 } },
    ]);
    expect((await route(db, task, { context_length: 100 })).candidates.map((c) => c.model)).toEqual([models[0]]);
    expect((await route(db, task, { context_length: 700 })).candidates.map((c) => c.model)).toEqual(models);
    const long = await route(db, task, { context_length: 5000 });
    expect(long.candidates.map((c) => c.model)).toEqual([models[1]]);
    expect(long.skipped).toEqual([{ model: models[0], priority: 10, reason: "context_too_long" }]);
    // Unknown length: conditions on it do not exclude.
    expect((await route(db, task)).candidates).toHaveLength(2);
  });

  it("skips routes whose max_cost_usd the remaining budget cannot cover", async () => {
    const { task, models } = await taskWith([{ max_cost_usd: 1 }, { max_cost_usd: 0.1 }, {}]);
    expect((await route(db, task, { budget_remaining: 5 })).candidates).toHaveLength(3);
    const tight = await route(db, task, { budget_remaining: 0.5 });
    expect(tight.candidates.map((c) => c.model)).toEqual([models[1], models[2]]);
    expect(tight.skipped).toEqual([{ model: models[0], priority: 10, reason: "over_budget" }]);
    const broke = await route(db, task, { budget_remaining: 0 });
    expect(broke.candidates).toEqual([]);
    expect(broke.skipped.map((s) => s.reason)).toEqual(["budget_exhausted", "budget_exhausted", "budget_exhausted"]);
  });

  it("skips a model whose circuit is open, and offers it again when its probe is due", async () => {
    const { task, models } = await taskWith([{}, {}]);
    await forceOpenCircuit(db, modelToolName(models[0]!), 60);
    const d = await route(db, task);
    expect(d.candidates.map((c) => c.model)).toEqual([models[1]]);
    expect(d.skipped).toEqual([{ model: models[0], priority: 10, reason: "circuit_open" }]);
    await db.query(`update actp_circuit_states set reopens_at = now() - interval '1 second' where tool_name = $1`, [modelToolName(models[0]!)]);
    const due = await route(db, task);
    expect(due.candidates.map((c) => [c.model, c.circuit])).toEqual([[models[0], "probe_due"], [models[1], "closed"]]);
  });

  it("refuses an unknown task type and malformed input with our codes", async () => {
    const code = async (p: Promise<unknown>) => fromPgError(await p.then(() => null, (e: unknown) => e));
    expect(await code(route(db, `t_${hex()}`))).toMatchObject({ code: "model_router.unknown_task_type", status: 400 });
    expect(await code(route(db, "Bad Task"))).toMatchObject({ code: "model_router.invalid_task_type" });
    expect(await code(route(db, "greeting", { context_length: -1 }))).toMatchObject({ code: "model_router.invalid_context_length" });
    expect(await code(route(db, "greeting", { budget_remaining: -0.01 }))).toMatchObject({ code: "model_router.invalid_budget" });
  });
});

describe("routes CRUD at the database", () => {
  it("enforces conditions, prices and one priority per task type", async () => {
    const { task } = await taskWith([{ priority: 10 }]);
    const base = { task_type: task, provider: "anthropic" as const, max_cost_usd: null, enabled: true, input_usd_per_mtok: 1, output_usd_per_mtok: 1 };
    const err = async (p: Promise<unknown>) => fromPgError(await p.then(() => null, (e: unknown) => e));
    expect(await err(createRoute(db, { ...base, model: `m-${hex()}`, priority: 10, conditions: {} }))).toMatchObject({ code: "db.unique_violation", status: 409 });
    // The database refuses what zod would: an unknown condition key, a negative price.
    expect(await err(db.query(`insert into actp_model_routes (task_type, model, priority, conditions, input_usd_per_mtok, output_usd_per_mtok) values ($1, 'x-1', 99, '{"max_context_lenght": 5}', 1, 1)`, [task]))).toMatchObject({ code: "db.check_violation" });
    expect(await err(db.query(`insert into actp_model_routes (task_type, model, priority, input_usd_per_mtok, output_usd_per_mtok) values ($1, 'x-2', 98, -1, 1)`, [task]))).toMatchObject({ code: "db.check_violation" });
    expect(await err(db.query(`insert into actp_model_routes (task_type, model, priority, conditions, input_usd_per_mtok, output_usd_per_mtok) values ($1, 'x-3', 97, '{"min_context_length": 10, "max_context_length": 5}', 1, 1)`, [task]))).toMatchObject({ code: "db.check_violation" });

    const created = await createRoute(db, { ...base, model: `m-${hex()}`, priority: 20, conditions: { max_context_length: 10 } });
    const updated = await updateRoute(db, created.id, { enabled: false, max_cost_usd: 0.25 });
    expect(updated).toMatchObject({ enabled: false, max_cost_usd: 0.25, conditions: { max_context_length: 10 }, priority: 20 });
    await deleteRoute(db, created.id);
    await expect(deleteRoute(db, created.id)).rejects.toMatchObject({ code: "model_router.not_found", status: 404 });
  });
});

// Circuit breaker transitions (PRD §4.12) on the embedded database: the state machine, its events,
// the operator actions, bad input, RLS, and the worker-side cache that keeps the hot path free.
// Time is moved by rewriting reopens_at / probe_lease_expires_at, so no test sleeps.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  CircuitBreakers,
  acquireCircuit,
  forceOpenCircuit,
  listCircuits,
  recordCircuit,
  resetCircuit,
  upsertCircuitConfig,
} from "../../shared/circuits/index.ts";
import type { Queryable } from "../../shared/db/types.ts";
import { fromPgError } from "../../shared/errors.ts";
import { parseEventInput } from "../../shared/events/registry.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const uniq = () => `cbt${randomBytes(4).toString("hex")}`;

async function toolWith(cfg: { threshold?: number; window?: number; recovery?: number; fallback?: string | null } = {}) {
  const tool = `${uniq()}.fetch`;
  await upsertCircuitConfig(db, tool, {
    failure_threshold: cfg.threshold ?? 3,
    window_seconds: cfg.window ?? 60,
    recovery_probe_seconds: cfg.recovery ?? 30,
    fallback_tool: cfg.fallback ?? null,
  });
  return tool;
}

async function eventsOf(tool: string) {
  const { rows } = await db.query<{ type: string; tool_name: string; payload: Record<string, unknown> }>(
    `select type, tool_name, payload from actp_events where tool_name = $1 order by seq`,
    [tool],
  );
  return rows;
}

/** Every event written must also pass the TypeScript registry, though plpgsql wrote it. */
function expectCanonical(e: { type: string; tool_name: string; payload: Record<string, unknown> }) {
  const r = parseEventInput({ type: e.type, tool_name: e.tool_name, payload: e.payload });
  expect(r.success, JSON.stringify(r)).toBe(true);
}

async function recoveryDue(tool: string) {
  await db.query(`update actp_circuit_states set reopens_at = now() - interval '1 second' where tool_name = $1`, [tool]);
}

async function fail(tool: string, n = 1) {
  let last;
  for (let i = 0; i < n; i++) last = await recordCircuit(db, tool, { success: false, error: { message: `boom ${i}`, code: "tool.unavailable" } });
  return last!;
}

describe("closed -> open", () => {
  it("opens after failure_threshold failures within the window, once, with both event names", async () => {
    const tool = await toolWith({ threshold: 3 });
    expect((await fail(tool, 2)).state).toBe("closed");
    expect(await acquireCircuit(db, tool)).toEqual({ decision: "allow", state: "closed" });
    const t = await fail(tool);
    expect(t).toMatchObject({ state: "open", transition: "opened" });
    // Later failures while open do not re-open or re-emit.
    expect(await fail(tool)).toMatchObject({ state: "open", transition: null });

    const events = await eventsOf(tool);
    expect(events.map((e) => e.type)).toEqual(["tool.circuit_open", "circuit.open"]);
    for (const e of events) expectCanonical(e);
    expect(events[0]!.payload).toMatchObject({
      tool,
      failures: 3,
      threshold: 3,
      window_seconds: 60,
      fallback: null,
      last_error: { message: "boom 0", code: "tool.unavailable" },
    });
    expect(events[1]!.payload).toEqual(events[0]!.payload);
  });

  it("counts only failures inside the sliding window", async () => {
    const tool = await toolWith({ threshold: 2, window: 60 });
    await fail(tool);
    // The first failure slides out of the window.
    await db.query(`update actp_circuit_states set recent_failures = array[now() - interval '61 seconds'] where tool_name = $1`, [tool]);
    expect(await fail(tool)).toMatchObject({ state: "closed", failures: 1 });
    expect(await fail(tool)).toMatchObject({ state: "open", transition: "opened" });
  });

  it("successes while closed write nothing", async () => {
    const tool = await toolWith();
    expect(await recordCircuit(db, tool, { success: true })).toEqual({ state: "closed", transition: null });
    const { rows } = await db.query(`select 1 from actp_circuit_states where tool_name = $1`, [tool]);
    expect(rows).toHaveLength(0);
  });
});

describe("open -> half_open -> closed | open", () => {
  it("rejects while open, with retry_after; names the fallback when one is configured", async () => {
    const plain = await toolWith({ threshold: 1, recovery: 30 });
    await fail(plain);
    const d = await acquireCircuit(db, plain);
    expect(d).toMatchObject({ decision: "reject", state: "open" });
    expect(d.decision === "reject" && d.retry_after).toBeGreaterThanOrEqual(29);

    const withFallback = await toolWith({ threshold: 1, fallback: "search.backup" });
    await fail(withFallback);
    expect(await acquireCircuit(db, withFallback)).toMatchObject({ decision: "fallback", fallback_tool: "search.backup" });
  });

  it("after recovery, exactly one caller gets the probe; its success closes the breaker", async () => {
    const tool = await toolWith({ threshold: 1 });
    await fail(tool);
    await recoveryDue(tool);
    const first = await acquireCircuit(db, tool, "worker-a");
    const second = await acquireCircuit(db, tool, "worker-b");
    expect(first.decision).toBe("probe");
    expect(second).toMatchObject({ decision: "reject", state: "half_open" });
    const { rows } = await db.query<{ probe_holder: string }>(`select probe_holder from actp_circuit_states where tool_name = $1`, [tool]);
    expect(rows[0]!.probe_holder).toBe("worker-a");

    const closed = await recordCircuit(db, tool, { success: true, isProbe: true, probeId: first.decision === "probe" ? first.probe_id : null });
    expect(closed).toEqual({ state: "closed", transition: "closed" });
    expect(await acquireCircuit(db, tool)).toEqual({ decision: "allow", state: "closed" });

    const events = await eventsOf(tool);
    expect(events.map((e) => e.type)).toEqual([
      "tool.circuit_open",
      "circuit.open",
      "tool.circuit_half_open",
      "circuit.half_open",
      "tool.circuit_closed",
      "circuit.closed",
    ]);
    for (const e of events) expectCanonical(e);
    expect(events[4]!.payload).toMatchObject({ tool, reason: "probe_succeeded" });
  });

  it("a failed probe opens the breaker again for a full recovery period", async () => {
    const tool = await toolWith({ threshold: 1, recovery: 45 });
    await fail(tool);
    await recoveryDue(tool);
    const probe = await acquireCircuit(db, tool);
    expect(probe.decision).toBe("probe");
    const t = await recordCircuit(db, tool, { success: false, isProbe: true, probeId: probe.decision === "probe" ? probe.probe_id : null, error: { message: "still down" } });
    expect(t).toMatchObject({ state: "open", transition: "opened", retry_after: 45 });
    const d = await acquireCircuit(db, tool);
    expect(d).toMatchObject({ decision: "reject", state: "open" });
    const types = (await eventsOf(tool)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(["tool.circuit_open", "circuit.open"]);
  });

  it("an expired probe lease goes to the next caller; the stale holder's result is ignored", async () => {
    const tool = await toolWith({ threshold: 1 });
    await fail(tool);
    await recoveryDue(tool);
    const lost = await acquireCircuit(db, tool, "dead-worker");
    await db.query(`update actp_circuit_states set probe_lease_expires_at = now() - interval '1 second' where tool_name = $1`, [tool]);
    const next = await acquireCircuit(db, tool, "live-worker");
    expect(next.decision).toBe("probe");
    expect(next.decision === "probe" && lost.decision === "probe" && next.probe_id !== lost.probe_id).toBe(true);

    const stale = await recordCircuit(db, tool, { success: true, isProbe: true, probeId: lost.decision === "probe" ? lost.probe_id : null });
    expect(stale).toEqual({ state: "half_open", transition: null });
    // Handing the lease on is not a transition: one half_open pair only.
    expect((await eventsOf(tool)).filter((e) => e.type === "circuit.half_open")).toHaveLength(1);
  });
});

describe("operator actions", () => {
  it("force-open then reset, each emitting its transition", async () => {
    const tool = await toolWith();
    const opened = await forceOpenCircuit(db, tool, 120);
    expect(opened).toMatchObject({ state: "open", transition: "opened" });
    expect(await acquireCircuit(db, tool)).toMatchObject({ decision: "reject" });
    expect(await resetCircuit(db, tool)).toEqual({ state: "closed", transition: "closed" });
    expect(await resetCircuit(db, tool)).toEqual({ state: "closed", transition: null });
    const events = await eventsOf(tool);
    expect(events.map((e) => e.type)).toEqual(["tool.circuit_open", "circuit.open", "tool.circuit_closed", "circuit.closed"]);
    for (const e of events) expectCanonical(e);
    expect(events[0]!.payload).toMatchObject({ forced: true });
    expect(events[2]!.payload).toMatchObject({ reason: "manual_reset" });
  });

  it("the overview lists config and state; a tool without its own row shows the '*' default", async () => {
    const tool = await toolWith({ threshold: 4, fallback: "x.backup" });
    await fail(tool);
    const [row] = await listCircuits(db, tool);
    expect(row).toMatchObject({ tool_name: tool, state: "closed", failures: 1, config: { failure_threshold: 4, fallback_tool: "x.backup", is_default: false } });
    const anon = `${uniq()}.nocfg`;
    await fail(anon);
    const [d] = await listCircuits(db, anon);
    expect(d!.config).toMatchObject({ failure_threshold: 5, window_seconds: 60, recovery_probe_seconds: 30, is_default: true });
  });
});

describe("bad input", () => {
  const code = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    return fromPgError(err);
  };

  it("refuses malformed tool names, unknown reset targets and out-of-range configs, writing nothing", async () => {
    expect(await code(acquireCircuit(db, "bad tool"))).toMatchObject({ code: "circuits.invalid_tool", status: 400 });
    expect(await code(recordCircuit(db, "", { success: false }))).toMatchObject({ code: "circuits.invalid_tool", status: 400 });
    expect(await code(resetCircuit(db, `${uniq()}.never`))).toMatchObject({ code: "circuits.not_found", status: 404 });
    expect(await code(forceOpenCircuit(db, `${uniq()}.x`, 0))).toMatchObject({ code: "circuits.invalid_duration", status: 400 });
    const tool = `${uniq()}.cfg`;
    expect(await code(upsertCircuitConfig(db, tool, { failure_threshold: 0 }))).toMatchObject({ code: "db.check_violation" });
    expect(await code(upsertCircuitConfig(db, tool, { fallback_tool: tool }))).toMatchObject({ code: "db.check_violation" });
    const { rows } = await db.query(`select 1 from actp_circuit_configs where tool_name = $1`, [tool]);
    expect(rows).toHaveLength(0);
  });
});

describe("row level security", () => {
  it("anon reads nothing, a plain user sees no row, a viewer reads but cannot move a breaker, service_role can", async () => {
    const tool = await toolWith();
    await expect(asRoleRolledBack(db, "anon", (tx) => tx.query(`select * from actp_circuit_states`))).rejects.toMatchObject({ code: "42501" });
    expect(await asRoleRolledBack<number>(db, "viewer", async (tx) => (await listCircuits(tx, tool)).length)).toBe(1);
    expect(await asRoleRolledBack<number>(db, "authenticated", async (tx) => (await listCircuits(tx, tool)).length)).toBe(0);
    await expect(asRoleRolledBack(db, "viewer", (tx) => acquireCircuit(tx, tool))).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "operator", (tx) => acquireCircuit(tx, tool))).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`update actp_circuit_configs set failure_threshold = 1`))).rejects.toMatchObject({ code: "42501" });
    const d = await asRoleRolledBack(db, "service_role", (tx) => forceOpenCircuit(tx, tool));
    expect(d).toMatchObject({ state: "open" });
  });
});

describe("worker cache (CircuitBreakers)", () => {
  function counting(inner: Queryable) {
    const counter = { n: 0 };
    const q: Queryable = {
      query(text, values) {
        counter.n++;
        return inner.query(text, values);
      },
    };
    return { q, counter };
  }

  it("a closed breaker costs one round trip per TTL, and successes on it none", async () => {
    const tool = await toolWith();
    const { q, counter } = counting(db);
    let now = 1_000;
    const cb = new CircuitBreakers(q, { closedTtlMs: 1_000, now: () => now });
    const t1 = await cb.acquire(tool);
    expect(t1).toMatchObject({ decision: "allow", cached: false });
    expect(counter.n).toBe(1);
    for (let i = 0; i < 5; i++) {
      const t = await cb.acquire(tool);
      expect(t.cached).toBe(true);
      expect(await cb.record(t, true)).toBeNull();
    }
    expect(counter.n).toBe(1);
    now += 1_001;
    expect((await cb.acquire(tool)).cached).toBe(false);
    expect(counter.n).toBe(2);
  });

  it("a failure that opens the breaker drops the cached closed state at once", async () => {
    const tool = await toolWith({ threshold: 1 });
    const cb = new CircuitBreakers(db, { closedTtlMs: 60_000 });
    const t = await cb.acquire(tool);
    expect(await cb.record(t, false, { message: "down" })).toMatchObject({ state: "open", transition: "opened" });
    expect(await cb.acquire(tool)).toMatchObject({ decision: "reject", cached: false });
  });

  it("a probe ticket reports its success, which closes the breaker", async () => {
    const tool = await toolWith({ threshold: 1 });
    const cb = new CircuitBreakers(db);
    await cb.record(await cb.acquire(tool), false);
    await recoveryDue(tool);
    const probe = await cb.acquire(tool);
    expect(probe.decision).toBe("probe");
    expect(await cb.record(probe, true)).toEqual({ state: "closed", transition: "closed" });
    expect(await cb.acquire(tool)).toMatchObject({ decision: "allow", cached: true });
  });
});

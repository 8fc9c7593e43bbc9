// Every route of every function, found from the apps themselves (not a list kept by hand), gets
// NUL, lone surrogates and 5,000-deep JSON in its body, its path parameters and its query string,
// and must answer the structured 400 of the one gate (shared/input/safe-json.ts) with nothing written.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Hono } from "hono";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";
import { PROJECT_ROOT } from "../../node/config.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { emit } from "../../shared/events/emit.ts";

let h: FunctionHarness;
const apps = new Map<string, Hono>();
beforeAll(async () => {
  h = await functionHarness();
  for (const name of readdirSync(resolve(PROJECT_ROOT, "functions"))) {
    if (name.startsWith("_")) continue;
    const mod = (await import(resolve(PROJECT_ROOT, "functions", name, "app.ts"))) as { app: Hono };
    apps.set(name, mod.app);
  }
});
afterAll(() => h.db.end());

interface Route {
  fn: string;
  method: string;
  path: string;
}

function routes(): Route[] {
  const seen = new Set<string>();
  const out: Route[] = [];
  for (const [fn, app] of apps) {
    for (const r of app.routes) {
      if (r.method === "ALL" || r.path.includes("*")) continue;
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ fn, method: r.method, path: r.path });
    }
  }
  return out;
}

// A valid value for each path parameter, so the request reaches the body or query it is testing.
const SAMPLE: Record<string, string> = { id: randomUUID(), job_id: randomUUID(), slug: "bad-input-agent", tool: "web.fetch", key: "bad-input-flag" };
const fill = (path: string, override?: string) =>
  path.replace(/:([a-z_]+)(\{[^}]*\})?/g, (_, name: string) => override ?? SAMPLE[name] ?? "x");

/** Row counts of every actp table and pg-boss's jobs: "nothing written" is this, unchanged. */
async function footprint(): Promise<Record<string, number>> {
  const { rows } = await h.db.query<{ t: string }>(
    `select quote_ident(table_schema) || '.' || quote_ident(table_name) as t from information_schema.tables
      where table_type = 'BASE TABLE' and ((table_schema = 'public' and table_name like 'actp%') or (table_schema = 'pgboss' and table_name = 'job'))`,
  );
  const out: Record<string, number> = {};
  for (const { t } of rows) out[t] = Number((await h.db.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]!.n);
  return out;
}

const DEEP = "[".repeat(5000) + "]".repeat(5000);
const BODIES: Array<{ name: string; raw: string; code: string }> = [
  { name: "NUL in a value", raw: '{"a":"x\\u0000y","type":"job.progress"}', code: "input.nul_character" },
  { name: "NUL in a key", raw: '{"x\\u0000":1}', code: "input.nul_character" },
  { name: "lone high surrogate", raw: '{"a":"\\ud800"}', code: "input.invalid_unicode" },
  { name: "lone low surrogate in an array", raw: '["\\udfff"]', code: "input.invalid_unicode" },
  { name: "5,000-deep JSON", raw: DEEP, code: "input.too_deep" },
  { name: "5,000-deep JSON under a key", raw: `{"input":${DEEP}}`, code: "input.too_deep" },
];

async function expectRefused(res: Response, code: string, label: string) {
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(400);
  expect(JSON.parse(text).error, label).toMatchObject({ code, message: expect.any(String) });
}

describe("bad input on every route", () => {
  it("finds the routes of every function", () => {
    const fns = new Set(routes().map((r) => r.fn));
    for (const fn of ["events", "jobs", "dlq", "replay", "policy", "agents", "feature-flags", "circuits", "model-router", "health"]) expect(fns).toContain(fn);
  });

  it("refuses NUL, lone surrogates and 5,000-deep JSON in every body, with nothing written", async () => {
    const before = await footprint();
    const withBody = routes().filter((r) => ["POST", "PUT", "PATCH"].includes(r.method));
    expect(withBody.length).toBeGreaterThan(20);
    let read = 0;
    for (const r of withBody) {
      for (const b of BODIES) {
        // The body is a stream that records whether it was pulled: a route that takes no body
        // (enable, reset, ...) never reads it, so nothing of it can reach SQL; every route that
        // reads it must answer the gate's 400.
        let pulled = false;
        const body = new ReadableStream<Uint8Array>({
          pull(ctl) {
            pulled = true;
            ctl.enqueue(new TextEncoder().encode(b.raw));
            ctl.close();
          },
        }, { highWaterMark: 0 }); // pull only when someone reads
        const res = await apps.get(r.fn)!.request(fill(r.path), {
          method: r.method,
          headers: h.headers("service_role", { "content-type": "application/json" }),
          body,
          duplex: "half",
        } as RequestInit);
        if (!pulled) {
          // Never a 500 (a 503 for an unconfigured integration is that route's own answer).
          expect(res.status, `${r.method} ${r.path} ${b.name}`).not.toBe(500);
          continue;
        }
        read++;
        await expectRefused(res, b.code, `${r.method} ${r.path} ${b.name}`);
      }
    }
    expect(read / BODIES.length).toBeGreaterThan(20);
    expect(await footprint()).toEqual(before);
  });

  it("reads no body before the caller is authorized: every route answers 401 / 403 with the body stream never pulled", async () => {
    const withBody = routes().filter((r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method));
    for (const r of withBody) {
      for (const role of ["none", "anon"] as const) {
        let pulled = false;
        const body = new ReadableStream<Uint8Array>({
          pull(ctl) {
            pulled = true;
            ctl.enqueue(new TextEncoder().encode("{}"));
            ctl.close();
          },
        }, { highWaterMark: 0 });
        const res = await apps.get(r.fn)!.request(fill(r.path), {
          method: r.method,
          headers: h.headers(role, { "content-type": "application/json" }),
          body,
          duplex: "half",
        } as RequestInit);
        const label = `${r.method} ${r.path} as ${role}`;
        expect([401, 403], label).toContain(res.status);
        expect(pulled, label).toBe(false);
      }
    }
  });

  it("refuses NUL and broken UTF-8 in every path parameter and every query string", async () => {
    const before = await footprint();
    for (const r of routes()) {
      const app = apps.get(r.fn)!;
      const send = (path: string) => app.request(path, { method: r.method, headers: h.headers("service_role", { "content-type": "application/json" }), body: r.method === "GET" || r.method === "DELETE" ? undefined : "{}" });
      if (r.path.includes(":")) {
        await expectRefused(await send(fill(r.path, "a%00b")), "input.nul_character", `${r.method} ${r.path} NUL param`);
        await expectRefused(await send(fill(r.path, "a%ED%A0%80b")), "input.invalid_unicode", `${r.method} ${r.path} surrogate param`);
      }
      await expectRefused(await send(`${fill(r.path)}?job_id=a%00b&type=x`), "input.nul_character", `${r.method} ${r.path} NUL query`);
    }
    expect(await footprint()).toEqual(before);
  });

  it("refuses the same through the SDK entry points (submitJob, emit), nothing written", async () => {
    const before = await footprint();
    const job = randomUUID();
    const deep = JSON.parse(DEEP) as unknown;
    await expect(submitJob(h.db, "researcher", { q: "a\u0000b" })).rejects.toMatchObject({ code: "input.nul_character", status: 400 });
    await expect(submitJob(h.db, "researcher", { q: JSON.parse('"\\ud800"') })).rejects.toMatchObject({ code: "input.invalid_unicode", status: 400 });
    await expect(submitJob(h.db, "researcher", deep)).rejects.toMatchObject({ code: "input.too_deep", status: 400 });
    await expect(submitJob(h.db, "re\u0000searcher", {})).rejects.toMatchObject({ code: "input.nul_character", status: 400 });
    await expect(emit(h.db, { type: "job.progress", job_id: job, payload: { message: "a\u0000" } } as never)).rejects.toMatchObject({ code: "input.nul_character" });
    await expect(emit(h.db, { type: "job.progress", job_id: job, payload: { message: "x", deep } } as never)).rejects.toMatchObject({ code: "input.too_deep" });
    expect(await footprint()).toEqual(before);
  });

  it("maps what reaches Postgres anyway (22P05, 22021) to a 400, not a 500", async () => {
    const { fromPgError } = await import("../../shared/errors.ts");
    const err = await h.db.query(`select $1::jsonb`, ['{"a":"\\u0000"}']).catch((e: unknown) => e);
    expect(fromPgError(err)).toMatchObject({ code: "input.nul_character", status: 400 });
  });
});

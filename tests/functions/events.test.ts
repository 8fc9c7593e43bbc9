import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/events/app.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
beforeAll(async () => {
  h = await functionHarness();
});
afterAll(() => h.db.end());

const post = (body: unknown, role: "anon" | "service_role" | "none" = "service_role", raw?: string) =>
  app.request("/events", {
    method: "POST",
    headers: h.headers(role, { "content-type": "application/json" }),
    body: raw ?? JSON.stringify(body),
  });
const get = (qs: string, role: "anon" | "service_role" | "none" = "service_role") => app.request(`/events?${qs}`, { headers: h.headers(role) });

const hb = (worker: string, job?: string) => ({ type: "heartbeat.ok", job_id: job, payload: { worker_id: worker } });

describe("POST /events", () => {
  it("emits one event and returns its seq", async () => {
    const res = await post(hb("w-one"));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ seq: expect.any(String), id: expect.any(String) });
  });

  it("emits a batch in order, in one statement", async () => {
    const job = randomUUID();
    const res = await post({ events: [hb("w-b1", job), hb("w-b2", job), hb("w-b3", job)] });
    expect(res.status).toBe(201);
    const seqs = (await res.json()).events.map((e: { seq: string }) => BigInt(e.seq));
    expect(seqs[0] < seqs[1] && seqs[1] < seqs[2]).toBe(true);
  });

  it("400 naming the nearest known types for an unknown type", async () => {
    const res = await post({ type: "job.complete", payload: {} });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe("events.unknown_type");
    expect(error.message).toContain("job.completed");
    expect(error.details.did_you_mean).toContain("job.completed");
  });

  it("400 with the zod issues for a payload that fails its schema, and nothing written", async () => {
    const job = randomUUID();
    const res = await post([hb("w-ok", job), { type: "heartbeat.ok", job_id: job, payload: { worker_id: 42 } }]);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe("events.invalid_event");
    expect(error.details.issues[0].path).toEqual([1, "payload", "worker_id"]);
    const after = await (await get(`job_id=${job}`)).json();
    expect(after.events).toHaveLength(0);
  });

  it("400 for a body that is not JSON, 413 over 1 MiB", async () => {
    expect((await post(null, "service_role", "{not json")).status).toBe(400);
    const big = JSON.stringify({ type: "heartbeat.ok", payload: { worker_id: "w", pad: "x".repeat(1024 * 1024) } });
    expect((await post(null, "service_role", big)).status).toBe(413);
  });

  it("401 without a token, 403 for anon", async () => {
    expect((await post(hb("w"), "none")).status).toBe(401);
    const res = await post(hb("w"), "anon");
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("auth.forbidden");
  });

  it("refuses payload keys that look like secrets", async () => {
    const res = await post({ type: "heartbeat.ok", payload: { worker_id: "w", api_key: ["sk", "ant", "xxxxxxxx"].join("-") } });
    expect(res.status).toBe(400);
  });
});

describe("GET /events", () => {
  it("reads a job's timeline in order with keyset pagination", async () => {
    const job = randomUUID();
    await post({ events: Array.from({ length: 5 }, (_, i) => hb(`w-page-${i}`, job)) });
    const first = await (await get(`job_id=${job}&limit=2`)).json();
    expect(first.events.map((e: { payload: { worker_id: string } }) => e.payload.worker_id)).toEqual(["w-page-0", "w-page-1"]);
    expect(first.next_cursor).toBe(first.events[1].seq);
    const second = await (await get(`job_id=${job}&limit=2&after=${first.next_cursor}`)).json();
    expect(second.events.map((e: { payload: { worker_id: string } }) => e.payload.worker_id)).toEqual(["w-page-2", "w-page-3"]);
    const third = await (await get(`job_id=${job}&limit=2&after=${second.next_cursor}`)).json();
    expect(third.events).toHaveLength(1);
    expect(third.next_cursor).toBeNull();
  });

  it("filters by type and time range", async () => {
    const job = randomUUID();
    const before = new Date(Date.now() - 1000).toISOString();
    await post({ events: [hb("w-t", job), { type: "job.received", job_id: job, payload: { job_type: "t" } }] });
    const onlyReceived = await (await get(`job_id=${job}&type=job.received`)).json();
    expect(onlyReceived.events.map((e: { type: string }) => e.type)).toEqual(["job.received"]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await (await get(`job_id=${job}&from=${encodeURIComponent(future)}`)).json()).events).toHaveLength(0);
    expect((await (await get(`job_id=${job}&from=${encodeURIComponent(before)}`)).json()).events).toHaveLength(2);
  });

  it("400 for bad query parameters", async () => {
    for (const qs of ["job_id=not-a-uuid", "limit=0", "limit=5000", "after=-1", "from=yesterday", "bogus=1", "type=DROP TABLE"]) {
      const res = await get(qs);
      expect(res.status, qs).toBe(400);
      expect((await res.json()).error.code).toBe("events.invalid_query");
    }
  });

  it("anon is denied by the database (RLS / grants)", async () => {
    const res = await get("limit=1", "anon");
    expect(res.status).toBe(403);
  });
});

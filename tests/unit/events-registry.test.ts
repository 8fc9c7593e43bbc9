import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  EVENT_GROUPS,
  EVENT_TYPES,
  EventInput,
  MAX_EVENT_PAYLOAD_BYTES,
  REDACTED,
  eventTypeNames,
  eventTypesInGroup,
  findSecretPaths,
  isEventType,
  isSecretKey,
  levenshtein,
  nearestEventTypes,
  parseEventBatch,
  parseEventInput,
  payloadSchemaFor,
  redactSecrets,
  type EventType,
} from "../../shared/events/registry.ts";
import {
  SEED_MIGRATION,
  checkGeneratedFiles,
  eventJsonSchema,
  renderSeedSql,
  pendingEventTypes,
  sqlLiteral,
  writeGeneratedFiles,
} from "../../scripts/gen-event-schemas.ts";

// PRD-018 §4.5 lists 42 types; §4.12 adds tool.circuit_half_open.
const EXPECTED: Record<string, string[]> = {
  job: [
    "job.received", "job.planning", "job.dispatched", "job.progress", "job.completed",
    "job.failed", "job.cancelled", "job.timed_out", "job.retrying",
  ],
  tool: [
    "tool.call_started", "tool.call_completed", "tool.call_failed",
    "tool.circuit_open", "tool.circuit_half_open", "tool.circuit_closed",
  ],
  research: [
    "research.plan_created", "research.stage_completed", "research.evidence_stored",
    "research.proposal_created", "research.proposal_approved", "research.proposal_rejected",
  ],
  memory: ["memory.write", "memory.promote", "memory.forget", "memory.checkpoint"],
  scheduler: ["schedule.fired", "schedule.missed", "schedule.skipped", "schedule.coalesced", "run.claimed", "run.lease_renewed"],
  reliability: ["circuit.open", "circuit.half_open", "circuit.closed", "dlq.enqueued", "dlq.reviewed", "job.replayed"],
  // incident.acknowledged and incident.mode_changed: issue 12's incident state machine (§4.10).
  telemetry: ["heartbeat.ok", "heartbeat.stale", "agent.stalled", "sla.breach", "incident.declared", "incident.acknowledged", "incident.mode_changed", "incident.resolved"],
};

const JOB_ID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";

function example(type: EventType): Record<string, unknown> {
  return structuredClone(EVENT_TYPES[type].example) as Record<string, unknown>;
}

describe("the registry", () => {
  it("holds exactly the PRD's types in their groups", () => {
    const all = Object.values(EXPECTED).flat().sort();
    expect(all).toHaveLength(45);
    expect([...eventTypeNames]).toEqual(all);
    expect([...EVENT_GROUPS].sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [group, types] of Object.entries(EXPECTED)) {
      expect(eventTypesInGroup(group as (typeof EVENT_GROUPS)[number])).toEqual([...types].sort());
    }
    expect(EVENT_TYPES["tool.circuit_half_open"].group).toBe("tool");
  });

  it("lists names sorted, and only those are event types", () => {
    expect([...eventTypeNames]).toEqual([...eventTypeNames].sort());
    expect(isEventType("job.completed")).toBe(true);
    expect(isEventType("job.complete")).toBe(false);
    expect(isEventType(42)).toBe(false);
  });

  it("fits the actp_event_types column checks", () => {
    for (const t of eventTypeNames) {
      expect(t).toMatch(/^[a-z][a-z_]*\.[a-z][a-z_]*$/);
      expect(EVENT_TYPES[t].description.length).toBeGreaterThan(0);
      expect(EVENT_TYPES[t].description.length).toBeLessThanOrEqual(500);
    }
  });
});

describe.each([...eventTypeNames])("payload of %s", (type) => {
  const schema = payloadSchemaFor(type);
  const json = eventJsonSchema(type) as { required?: string[]; properties: Record<string, { type?: string }> };

  it("accepts its registered example, with extra fields", () => {
    expect(schema.safeParse(example(type)).success).toBe(true);
    expect(schema.safeParse({ ...example(type), producer_note: "extra fields are allowed" }).success).toBe(true);
    const r = parseEventInput({ type, job_id: JOB_ID, step_id: "step-1", agent_slug: "researcher", payload: example(type) });
    expect(r.success).toBe(true);
  });

  it("rejects a field of the wrong type", () => {
    const [field] = Object.entries(json.properties).find(([, p]) => p.type !== "object") ?? [];
    expect(field).toBeDefined();
    expect(schema.safeParse({ ...example(type), [field!]: { not: "valid" } }).success).toBe(false);
  });

  it("rejects the example without each required field", () => {
    for (const field of json.required ?? []) {
      const bad = example(type);
      delete bad[field];
      const r = parseEventInput({ type, payload: bad });
      expect(r.success, `${type} without ${field}`).toBe(false);
      if (!r.success) expect(r.issues.some((i) => i.path[0] === "payload" && i.path[1] === field)).toBe(true);
    }
  });

  it("rejects a secret anywhere in the example", () => {
    expect(schema.safeParse({ ...example(type), upstream: { headers: { authorization: "x" } } }).success).toBe(false);
  });
});

describe("payload contracts worth pinning", () => {
  const ok = (type: EventType, payload: unknown) => payloadSchemaFor(type).safeParse(payload).success;

  it("research.stage_completed only knows the pipeline's stages", () => {
    for (const stage of ["plan", "search", "fetch", "rank", "synthesize", "propose"]) {
      expect(ok("research.stage_completed", { stage, duration_ms: 10 })).toBe(true);
    }
    expect(ok("research.stage_completed", { stage: "crawl", duration_ms: 10 })).toBe(false);
  });

  it("schedule.fired names its executor and needs a timestamp with an offset", () => {
    const base = { schedule: "actp:sla:measure", scheduled_for: "2026-11-24T18:00:00+00:00", executor: "local" };
    expect(ok("schedule.fired", base)).toBe(true);
    expect(ok("schedule.fired", { ...base, executor: "cron" })).toBe(false);
    expect(ok("schedule.fired", { ...base, scheduled_for: "2026-11-24T18:00:00" })).toBe(false);
  });

  it("dlq.reviewed, sla.breach and incident.declared use closed vocabularies", () => {
    expect(ok("dlq.reviewed", { ...example("dlq.reviewed"), action: "deleted" })).toBe(false);
    expect(ok("sla.breach", { ...example("sla.breach"), metric: "latency" })).toBe(false);
    expect(ok("incident.declared", { ...example("incident.declared"), mode: "normal" })).toBe(false);
  });

  it("evidence carries a sha256 content hash and an http(s) url", () => {
    expect(ok("research.evidence_stored", { ...example("research.evidence_stored"), content_hash: "md5:abc" })).toBe(false);
    expect(ok("research.evidence_stored", { ...example("research.evidence_stored"), url: "file:///etc/passwd" })).toBe(false);
  });

  it("job.retrying counts the attempt about to run, so it starts at 2", () => {
    expect(ok("job.retrying", { ...example("job.retrying"), attempt: 1 })).toBe(false);
  });

  it("circuit.* and tool.circuit_* share one payload per transition", () => {
    expect(payloadSchemaFor("circuit.open")).toBe(payloadSchemaFor("tool.circuit_open"));
    expect(payloadSchemaFor("circuit.half_open")).toBe(payloadSchemaFor("tool.circuit_half_open"));
    expect(payloadSchemaFor("circuit.closed")).toBe(payloadSchemaFor("tool.circuit_closed"));
  });
});

describe("no secrets in events", () => {
  it("recognizes secret-looking keys in any spelling, and leaves token counts alone", () => {
    for (const k of ["password", "api_key", "apiKey", "APIKEY", "X-Api-Key", "Authorization", "client_secret", "accessToken", "refresh_token", "private_key"]) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of ["input_tokens", "max_tokens", "token_count", "tokens", "secretary", "password_hint", "author"]) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });

  it("rejects secret keys at any depth, with the path to each", () => {
    const r = parseEventInput({
      type: "tool.call_failed",
      payload: {
        ...example("tool.call_failed"),
        request: { headers: [{ Authorization: "Basic x" }], body: { user: { password: "hunter2" } } },
      },
    });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.code).toBe("events.invalid_event");
    const paths = r.issues.filter((i) => i.code === "custom").map((i) => i.path.join("."));
    expect(paths).toEqual(["payload.request.headers.0.Authorization", "payload.request.body.user.password"]);
  });

  it("rejects credential-looking values even under innocent keys", () => {
    const jwt = ["eyJhbGci" + "OiJIUzI1NiJ9", "eyJyb2xl" + "Ijoic2VydmljZV9yb2xlIn0", "c2lnbmF0dXJlc2lnbmF0dXJl"].join("."); // a fake, built at run time
    for (const message of [`call failed with Bearer abcdefghijklmnopqrstuvwxyz012345`, `key ${jwt} expired`, ["sk", "ant", "api03-abcdefghijklmnopqrstuv"].join("-")]) {
      const r = parseEventInput({ type: "job.failed", payload: { ...example("job.failed"), error: { message } } });
      expect(r.success, message).toBe(false);
    }
    expect(findSecretPaths({ a: [{ b: `Bearer ${"x".repeat(20)}` }] })).toEqual([["a", 0, "b"]]);
  });

  it("reports a secret together with a missing field in one answer", () => {
    const r = parseEventInput({ type: "heartbeat.ok", payload: { token: "t" } });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["payload.worker_id", "payload.token"]));
  });

  it("redactSecrets gives a copy that passes", () => {
    const payload = {
      ...example("job.failed"),
      error: { message: "401 for Bearer abcdefghijklmnopqrstuvwxyz012345", code: "tool.unauthorized" },
      request: { api_key: "k", url: "https://example.com" },
    };
    const clean = redactSecrets(payload);
    expect(clean.request.api_key).toBe(REDACTED);
    expect(clean.error.message).toBe(`401 for ${REDACTED}`);
    expect(payload.request.api_key).toBe("k");
    expect(parseEventInput({ type: "job.failed", payload: clean }).success).toBe(true);
  });
});

describe("payloads must be JSON that Postgres can store", () => {
  const withExtra = (extra: unknown) => parseEventInput({ type: "heartbeat.ok", payload: { worker_id: "w1", extra } });

  it.each([
    ["a Date", new Date()],
    ["a Map", new Map([["a", 1]])],
    ["a function", () => 1],
    ["a bigint", 1n],
    ["NaN", Number.NaN],
    ["a NUL character", "a\u0000b"],
    ["a lone surrogate", "\uD800"],
  ])("rejects %s", (_name, value) => {
    expect(withExtra(value).success).toBe(false);
  });

  it("rejects cycles without overflowing the stack", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(withExtra(cyclic).success).toBe(false);
  });

  it("caps the payload size", () => {
    const r = withExtra("x".repeat(MAX_EVENT_PAYLOAD_BYTES));
    expect(r.success).toBe(false);
    if (!r.success) expect(r.message).toMatch(/byte limit/);
    expect(withExtra("x".repeat(1000)).success).toBe(true);
  });
});

describe("the envelope", () => {
  it("normalizes absent columns to null", () => {
    const r = parseEventInput({ type: "heartbeat.ok", payload: { worker_id: "w1" } });
    expect(r.success).toBe(true);
    if (r.success) {
      expect(r.data).toEqual({ type: "heartbeat.ok", job_id: null, step_id: null, agent_slug: null, tool_name: null, payload: { worker_id: "w1" } });
    }
  });

  it("rejects unknown envelope keys, bad uuids and over-long column values", () => {
    const base = { type: "heartbeat.ok", payload: { worker_id: "w1" } };
    for (const bad of [
      { ...base, jobId: JOB_ID },
      { ...base, job_id: "not-a-uuid" },
      { ...base, step_id: "s".repeat(201) },
      { ...base, agent_slug: "a".repeat(101) },
      { ...base, payload: [] },
      { type: "heartbeat.ok" },
    ]) {
      const r = parseEventInput(bad);
      expect(r.success, JSON.stringify(bad).slice(0, 80)).toBe(false);
      if (!r.success) expect(r.code).toBe("events.invalid_event");
    }
  });

  it("answers an unknown type with the nearest names", () => {
    const r = parseEventInput({ type: "job.complete", payload: {} });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.code).toBe("events.unknown_type");
    expect(r.unknownType).toBe("job.complete");
    expect(r.suggestions).toContain("job.completed");
    expect(r.message).toBe('unknown event type "job.complete"; did you mean "job.completed"?');
    expect(r.issues[0]?.path).toEqual(["type"]);
  });

  it("prefixes payload issue paths with payload", () => {
    const r = parseEventInput({ type: "job.failed", payload: { attempt: 1, will_retry: false, error: { message: "" } } });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.issues.map((i) => i.path)).toEqual([["payload", "error", "message"]]);
  });

  it("is the one EventInput schema, also emitted as JSON Schema", () => {
    const json = z.toJSONSchema(EventInput) as unknown as { properties: { type: { enum: string[] } } };
    expect(json.properties.type.enum).toEqual([...eventTypeNames]);
  });
});

describe("batches", () => {
  it("accept all or report every item's issues by index", () => {
    const good = { type: "heartbeat.ok", payload: { worker_id: "w1" } };
    const okBatch = parseEventBatch([good, good]);
    expect(okBatch.success && okBatch.data.length).toBe(2);

    const bad = parseEventBatch([good, { type: "heartbeat.ok", payload: {} }, { type: "heartbeat.okk", payload: {} }]);
    expect(bad.success).toBe(false);
    if (bad.success) return;
    expect(bad.code).toBe("events.unknown_type");
    expect(bad.issues.map((i) => i.path)).toEqual([[1, "payload", "worker_id"], [2, "type"]]);

    const empty = parseEventBatch([]);
    expect(!empty.success && empty.code).toBe("events.invalid_batch");
  });
});

describe("nearestEventTypes", () => {
  it("finds what a person meant", () => {
    expect(nearestEventTypes("job.complete")).toContain("job.completed");
    expect(nearestEventTypes("job.compelted")[0]).toBe("job.completed");
    expect(nearestEventTypes("Job.Completed")[0]).toBe("job.completed");
    expect(nearestEventTypes("completed")[0]).toBe("job.completed");
    expect(nearestEventTypes("heartbeat")).toEqual(["heartbeat.ok", "heartbeat.stale"]);
    expect(nearestEventTypes("research.", 10)).toHaveLength(6);
  });

  it("suggests nothing rather than something random", () => {
    expect(nearestEventTypes("zzzzzzzzzzzz")).toEqual([]);
    expect(nearestEventTypes("")).toEqual([]);
  });

  it("uses plain edit distance", () => {
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("same", "same")).toBe(0);
  });
});

describe("generated files", () => {
  it("a type missing from the landed migrations goes into a new migration; the landed one is untouched", () => {
    const root = mkdtempSync(join(tmpdir(), "actp-gen-"));
    try {
      mkdirSync(join(root, "migrations"), { recursive: true });
      // A landed seed that lacks sla.breach and carries an old description of job.failed.
      const landed = renderSeedSql(
        eventTypeNames
          .filter((t) => t !== "sla.breach")
          .map((t) => ({ type: t, group: EVENT_TYPES[t].group, description: t === "job.failed" ? "old words" : EVENT_TYPES[t].description })),
      );
      writeFileSync(join(root, SEED_MIGRATION), landed);
      writeFileSync(join(root, "migrations/20991231000000_other.sql"), "select 1;\n");
      expect(pendingEventTypes(root).map((r) => r.type).sort()).toEqual(["job.failed", "sla.breach"]);
      const out = writeGeneratedFiles(root);
      const added = out.written.filter((w) => w.startsWith("migrations/"));
      expect(added).toEqual(["migrations/20991231000001_event_types.sql"]);
      expect(readFileSync(join(root, SEED_MIGRATION), "utf8")).toBe(landed);
      const sql = readFileSync(join(root, added[0]!), "utf8");
      expect(sql).toContain("'sla.breach'");
      expect(sql).toContain("'job.failed'");
      expect(sql).not.toContain("'job.completed'");
      expect(checkGeneratedFiles(root)).toEqual({ ok: true, drift: [] });
      expect(writeGeneratedFiles(root).written).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("event_schemas/ and the seed migration match the registry", () => {
    const report = checkGeneratedFiles();
    expect(report.drift).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("each JSON Schema names its type and carries its example", () => {
    const s = eventJsonSchema("sla.breach");
    expect(s).toMatchObject({
      $id: "urn:actp:event:sla.breach",
      title: "sla.breach",
      "x-actp-group": "telemetry",
      examples: [EVENT_TYPES["sla.breach"].example],
    });
  });

  it("the seed is an idempotent upsert of every type with quotes escaped", () => {
    const sql = renderSeedSql();
    expect(sql.startsWith("-- generated by scripts/gen-event-schemas.ts from shared/events/registry.ts; do not edit")).toBe(true);
    expect(sql).toMatch(/on conflict \(type\) do update set/);
    for (const t of eventTypeNames) expect(sql).toContain(`(${sqlLiteral(t)}, '${EVENT_TYPES[t].group}', `);
    expect(sql).toContain("A tool''s circuit breaker opened");
    expect(sqlLiteral("O'Brien's \\ test")).toBe("'O''Brien''s \\ test'");
  });

  it("the generator writes, reports drift, and deletes stale schemas", () => {
    const root = mkdtempSync(join(tmpdir(), "actp-gen-"));
    try {
      expect(checkGeneratedFiles(root).drift.some((d) => d.startsWith(`migrations: ${eventTypeNames.length} event type(s)`))).toBe(true);
      const first = writeGeneratedFiles(root);
      expect(first.written).toHaveLength(eventTypeNames.length + 1);
      expect(first.written).toContain(SEED_MIGRATION);
      expect(checkGeneratedFiles(root)).toEqual({ ok: true, drift: [] });

      writeFileSync(join(root, "event_schemas/job.renamed.json"), "{}\n");
      writeFileSync(join(root, "event_schemas/README.md"), "not ours\n");
      writeFileSync(join(root, "event_schemas/job.failed.json"), "{}\n");
      expect(checkGeneratedFiles(root).drift).toEqual([
        "event_schemas/job.failed.json: out of date",
        "event_schemas/job.renamed.json: stale (no such event type)",
      ]);

      const second = writeGeneratedFiles(root);
      expect(second).toEqual({ written: ["event_schemas/job.failed.json"], deleted: ["event_schemas/job.renamed.json"] });
      expect(existsSync(join(root, "event_schemas/README.md"))).toBe(true);
      expect(JSON.parse(readFileSync(join(root, "event_schemas/job.failed.json"), "utf8")).title).toBe("job.failed");
      expect(checkGeneratedFiles(root).ok).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

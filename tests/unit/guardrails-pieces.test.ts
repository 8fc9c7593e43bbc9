// Pure pieces of the guardrails: the canonical argument hash that identifies "that exact call" for
// approvals, how SDK errors steer the model chain, and the breaker contracts.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { CircuitDecision, ToolName, modelToolName } from "../../shared/circuits/schema.ts";
import { argsHash, canonicalJson } from "../../node/worker/guardrails/args-hash.ts";
import { ToolInputError } from "../../node/worker/guardrails/errors.ts";
import { classifyLlmError } from "../../node/worker/guardrails/llm-call.ts";

describe("canonicalJson / argsHash", () => {
  it("ignores key order and undefined members, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[3,1]},"b":1}');
    expect(argsHash({ q: "pgvector", page: 1 })).toBe(argsHash({ page: 1, q: "pgvector" }));
    expect(argsHash([1, 2])).not.toBe(argsHash([2, 1]));
    expect(argsHash({ a: 1 })).not.toBe(argsHash({ a: "1" }));
  });

  it("is sha256 of the canonical text, in the registry's digest form", () => {
    // sha256("null"), the hash of no arguments
    expect(argsHash(undefined)).toBe("sha256:74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b");
    expect(argsHash({ x: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("serialises like JSON: toJSON, undefined in arrays as null, unicode kept", () => {
    const at = new Date("2026-11-24T18:00:00Z");
    expect(canonicalJson({ at, list: [undefined, "é"] })).toBe('{"at":"2026-11-24T18:00:00.000Z","list":[null,"é"]}');
  });

  it("refuses what JSON cannot carry", () => {
    for (const bad of [{ n: 1n }, { f: () => 1 }, { x: Number.NaN }, { y: Infinity }]) {
      expect(() => argsHash(bad)).toThrow(ToolInputError);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => argsHash(cyclic)).toThrow(/cycle/);
    // A shared (not cyclic) reference is fine.
    const shared = { v: 1 };
    expect(() => argsHash({ a: shared, b: shared })).not.toThrow();
  });
});

describe("classifyLlmError", () => {
  const api = (status: number) => APIError.generate(status, { type: "error", error: { type: "x", message: "m" } }, "m", new Headers());

  it("falls through and counts against the breaker on 5xx, 529 and connection failures", () => {
    for (const err of [api(500), api(503), api(529), new APIConnectionError({ message: "socket hang up" }), new APIConnectionTimeoutError()]) {
      expect(classifyLlmError(err)).toMatchObject({ fallThrough: true, circuitFailure: true });
    }
  });

  it("falls through on 429 (rate limited) and 404 (no such model) without blaming the model's health", () => {
    expect(classifyLlmError(api(429))).toMatchObject({ fallThrough: true, circuitFailure: false, kind: "rate_limited", status: 429 });
    expect(classifyLlmError(api(404))).toMatchObject({ fallThrough: true, circuitFailure: false });
  });

  it("stops on the caller's own errors and on an abort", () => {
    for (const s of [400, 401, 403, 413, 422]) expect(classifyLlmError(api(s))).toMatchObject({ fallThrough: false, circuitFailure: false });
    expect(classifyLlmError(new APIUserAbortError())).toMatchObject({ fallThrough: false });
    expect(classifyLlmError(new Error("bug"))).toMatchObject({ fallThrough: false });
  });
});

describe("breaker contracts", () => {
  it("tool names are one URL segment; a model's breaker is model:<id>", () => {
    expect(ToolName.safeParse("browser.fetch").success).toBe(true);
    expect(ToolName.safeParse(modelToolName("claude-haiku-4-5")).success).toBe(true);
    for (const bad of ["", "a/b", " x", "x y", "-x", "a".repeat(201)]) expect(ToolName.safeParse(bad).success).toBe(false);
  });

  it("a fallback decision must name its tool", () => {
    expect(CircuitDecision.safeParse({ decision: "fallback", state: "open", retry_after: 3, fallback_tool: "b.x" }).success).toBe(true);
    expect(CircuitDecision.safeParse({ decision: "fallback", state: "open", retry_after: 3, fallback_tool: null }).success).toBe(false);
    expect(CircuitDecision.safeParse({ decision: "reject", state: "closed", retry_after: 3 }).success).toBe(false);
  });
});

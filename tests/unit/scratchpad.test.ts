import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_SCRATCHPAD_MAX_BYTES_PER_JOB,
  ScratchpadLimitError,
  ScratchpadRegistry,
  ScratchpadReleasedError,
  ScratchpadValueError,
} from "../../shared/execution-context/index.ts";

const JOB_A = "job-a";
const JOB_B = "job-b";

describe("scoping", () => {
  it("keeps (job_id, step_id) scopes apart", () => {
    const reg = new ScratchpadRegistry();
    const a1 = reg.forStep(JOB_A, "search");
    const a2 = reg.forStep(JOB_A, "fetch");
    const b1 = reg.forStep(JOB_B, "search");
    a1.set("cursor", 1);
    a2.set("cursor", 2);
    b1.set("cursor", 3);
    expect([a1.get("cursor"), a2.get("cursor"), b1.get("cursor")]).toEqual([1, 2, 3]);
    expect(reg.forStep(JOB_A, "search").get("cursor")).toBe(1);
    expect(reg.forStep(JOB_A, "rank").has("cursor")).toBe(false);
  });

  it("get, has, keys and delete", () => {
    const pad = new ScratchpadRegistry().forStep(JOB_A, "s1");
    expect(pad.get("missing")).toBeUndefined();
    pad.set("b", "two");
    pad.set("a", { n: 1 });
    pad.set("n", null);
    expect(pad.keys()).toEqual(["b", "a", "n"]);
    expect(pad.has("n")).toBe(true);
    expect(pad.get("n")).toBeNull();
    expect(pad.delete("b")).toBe(true);
    expect(pad.delete("b")).toBe(false);
    expect(pad.keys()).toEqual(["a", "n"]);
    expect(pad.get<{ n: number }>("a")?.n).toBe(1);
  });
});

describe("copies", () => {
  it("on set: later changes to the caller's object do not leak in", () => {
    const pad = new ScratchpadRegistry().forStep(JOB_A, "s1");
    const value = { urls: ["https://a.example"], meta: { n: 1 } };
    pad.set("v", value);
    value.urls.push("https://b.example");
    value.meta.n = 99;
    expect(pad.get("v")).toEqual({ urls: ["https://a.example"], meta: { n: 1 } });
  });

  it("on get: changing what came back does not change the store", () => {
    const pad = new ScratchpadRegistry().forStep(JOB_A, "s1");
    pad.set("v", { list: [1, 2] });
    const got = pad.get<{ list: number[] }>("v")!;
    got.list.push(3);
    expect(pad.get("v")).toEqual({ list: [1, 2] });
    expect(pad.get("v")).not.toBe(pad.get("v"));
  });
});

describe("the per-job cap", () => {
  it("defaults to 8 MiB", () => {
    expect(new ScratchpadRegistry().maxBytesPerJob).toBe(8 * 1024 * 1024);
    expect(DEFAULT_SCRATCHPAD_MAX_BYTES_PER_JOB).toBe(8 * 1024 * 1024);
  });

  it("counts UTF-8 bytes of key and JSON value across all steps of a job", () => {
    const reg = new ScratchpadRegistry({ maxBytesPerJob: 100 });
    reg.forStep(JOB_A, "s1").set("k", "é"); // 1 + 4 ("é" in quotes is 2 + 2)
    expect(reg.stats().bytes).toBe(5);
    reg.forStep(JOB_A, "s2").set("k2", [1, 2]); // 2 + 5
    expect(reg.stats()).toEqual({ jobs: 1, steps: 2, keys: 2, bytes: 12 });
  });

  it("throws a clear error and leaves state unchanged", () => {
    const reg = new ScratchpadRegistry({ maxBytesPerJob: 64 });
    const pad = reg.forStep(JOB_A, "s1");
    pad.set("keep", "x".repeat(20));
    const before = reg.stats();

    let error: unknown;
    try {
      reg.forStep(JOB_A, "s2").set("big", "y".repeat(50));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScratchpadLimitError);
    const limit = error as ScratchpadLimitError;
    expect(limit.code).toBe("scratchpad.limit_exceeded");
    expect(limit).toMatchObject({ jobId: JOB_A, stepId: "s2", key: "big", capBytes: 64, attemptedBytes: 4 + 22 + 3 + 52 });
    expect(limit.message).toContain(JOB_A);
    expect(limit.message).toContain("64 bytes");
    expect(limit.message).toContain(String(limit.attemptedBytes));

    expect(reg.stats()).toEqual(before);
    expect(reg.forStep(JOB_A, "s2").has("big")).toBe(false);
    expect(pad.get("keep")).toBe("x".repeat(20));
  });

  it("a failed overwrite keeps the old value; a smaller overwrite frees bytes", () => {
    const reg = new ScratchpadRegistry({ maxBytesPerJob: 40 });
    const pad = reg.forStep(JOB_A, "s1");
    pad.set("k", "x".repeat(30));
    expect(() => pad.set("k", "x".repeat(40))).toThrow(ScratchpadLimitError);
    expect(pad.get("k")).toBe("x".repeat(30));
    pad.set("k", "small");
    expect(reg.stats().bytes).toBe(1 + 7);
    pad.delete("k");
    expect(reg.stats().bytes).toBe(0);
  });

  it("is per job: another job has its own budget", () => {
    const reg = new ScratchpadRegistry({ maxBytesPerJob: 30 });
    reg.forStep(JOB_A, "s").set("k", "x".repeat(20));
    expect(() => reg.forStep(JOB_B, "s").set("k", "x".repeat(20))).not.toThrow();
  });

  it("rejects a nonsensical cap", () => {
    expect(() => new ScratchpadRegistry({ maxBytesPerJob: 0 })).toThrow(RangeError);
  });
});

describe("values must be JSON data", () => {
  it.each([
    ["a function", () => 1, "function"],
    ["a symbol", Symbol("s"), "symbol"],
    ["a nested function", { a: [{ f: () => 1 }] }, "$.a[0].f"],
    ["a bigint", 1n, "bigint"],
    ["a Date", new Date(), "toISOString"],
    ["a Map", new Map(), "Map"],
    ["NaN", Number.NaN, "finite"],
    ["undefined", undefined, "delete(key)"],
  ])("rejects %s with a clear error and stores nothing", (_name, value, hint) => {
    const reg = new ScratchpadRegistry();
    const pad = reg.forStep(JOB_A, "s1");
    expect(() => pad.set("k", value)).toThrow(ScratchpadValueError);
    expect(() => pad.set("k", value)).toThrow(hint);
    expect(pad.has("k")).toBe(false);
    expect(reg.stats().bytes).toBe(0);
  });

  it("rejects cycles", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    expect(() => new ScratchpadRegistry().forStep(JOB_A, "s1").set("k", cyclic)).toThrow(/cycle/);
  });

  it("rejects empty keys and ids", () => {
    const reg = new ScratchpadRegistry();
    expect(() => reg.forStep(JOB_A, "s1").set("", 1)).toThrow(TypeError);
    expect(() => reg.forStep("", "s1")).toThrow(TypeError);
    expect(() => reg.forStep(JOB_A, "")).toThrow(TypeError);
  });
});

describe("release", () => {
  it("clears every step of the job and only that job", () => {
    const reg = new ScratchpadRegistry();
    reg.forStep(JOB_A, "s1").set("k", 1);
    reg.forStep(JOB_A, "s2").set("k", 2);
    reg.forStep(JOB_B, "s1").set("k", 3);
    expect(reg.release(JOB_A)).toBe(true);
    expect(reg.release(JOB_A)).toBe(false);
    expect(reg.stats()).toEqual({ jobs: 1, steps: 1, keys: 1, bytes: 2 });
    expect(reg.forStep(JOB_B, "s1").get("k")).toBe(3);
    expect(reg.forStep(JOB_A, "s1").has("k")).toBe(false);
  });

  it("turns old handles into errors, so late writes cannot leak past the run", () => {
    const reg = new ScratchpadRegistry();
    const pad = reg.forStep(JOB_A, "s1");
    pad.set("k", 1);
    reg.release(JOB_A);
    expect(() => pad.get("k")).toThrow(ScratchpadReleasedError);
    expect(() => pad.set("k", 2)).toThrow(ScratchpadReleasedError);
    expect(reg.stats().jobs).toBe(0);
    // A new run of the same job (a retry) starts empty.
    expect(reg.forStep(JOB_A, "s1").keys()).toEqual([]);
  });
});

describe("never touches a database", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("imports nothing at all", () => {
    const source = readFileSync(new URL("../../shared/execution-context/scratchpad.ts", import.meta.url), "utf8");
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/\bimport\s*\(/);
    expect(source).not.toMatch(/\brequire\s*\(/);
    const index = readFileSync(new URL("../../shared/execution-context/index.ts", import.meta.url), "utf8");
    expect([...index.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1])).toEqual(["./scratchpad.ts"]);
  });

  it("makes no network calls while used", () => {
    const trap = vi.fn(() => {
      throw new Error("network used");
    });
    vi.stubGlobal("fetch", trap);
    vi.stubGlobal("WebSocket", trap);
    const reg = new ScratchpadRegistry();
    const pad = reg.forStep(JOB_A, "s1");
    pad.set("k", { a: 1 });
    pad.get("k");
    pad.delete("k");
    reg.release(JOB_A);
    expect(trap).not.toHaveBeenCalled();
  });
});

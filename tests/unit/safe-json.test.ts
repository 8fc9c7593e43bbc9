import { describe, expect, it } from "vitest";
import { assertSafeJson, findUnsafe, isWellFormedText, MAX_JSON_DEPTH } from "../../shared/input/safe-json.ts";
import { ActpError } from "../../shared/errors.ts";

const nest = (depth: number): unknown => JSON.parse("[".repeat(depth) + "]".repeat(depth));

describe("findUnsafe", () => {
  it("finds NUL in values and in keys, with the path", () => {
    expect(findUnsafe({ a: [1, "x\u0000"] })).toEqual({ reason: "nul", path: "/a/1" });
    expect(findUnsafe({ ok: { ["k\u0000"]: 1 } })).toMatchObject({ reason: "nul" });
  });

  it("finds lone surrogates, and passes paired ones (emoji)", () => {
    expect(findUnsafe(JSON.parse('{"a":"\\ud800"}'))).toEqual({ reason: "lone_surrogate", path: "/a" });
    expect(findUnsafe(JSON.parse('["\\udc00x"]'))).toEqual({ reason: "lone_surrogate", path: "/0" });
    expect(findUnsafe({ a: "caf\u00e9 \ud83d\ude00" })).toBeNull();
    expect(isWellFormedText("\ud83d\ude00")).toBe(true);
    expect(isWellFormedText("\ude00\ud83d")).toBe(false);
  });

  it("caps depth without recursion: 100,000 levels are measured, not recursed", () => {
    expect(findUnsafe(nest(MAX_JSON_DEPTH))).toBeNull();
    expect(findUnsafe(nest(MAX_JSON_DEPTH + 1))).toMatchObject({ reason: "too_deep" });
    expect(findUnsafe(nest(100_000))).toMatchObject({ reason: "too_deep" });
  });

  it("assertSafeJson throws the structured 400", () => {
    let err: unknown;
    try {
      assertSafeJson({ a: "\u0000" }, "body");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ActpError);
    expect((err as ActpError).toBody().error).toMatchObject({ code: "input.nul_character", details: { where: "body", path: "/a" } });
    expect((err as ActpError).status).toBe(400);
  });
});

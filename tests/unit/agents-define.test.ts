import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { assertValidInput } from "../../shared/jobs/validate.ts";
import { AgentRegistration, RegisterAgentRequest } from "../../shared/agents/contracts.ts";
import { ActpError } from "../../shared/errors.ts";
import { defineAgent, isAgentDefinition, toRegistration } from "../../node/worker/agents/index.ts";

interface FakeCtx {
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

const input = z.object({ topic: z.string().min(1), depth: z.number().int().default(2), tags: z.array(z.string()).optional() });

describe("defineAgent", () => {
  it("types the handler's input from the zod schema and its ctx from the annotation", () => {
    const agent = defineAgent({
      slug: "researcher",
      input,
      handler: async (ctx: FakeCtx, inp) => {
        expectTypeOf(inp).toEqualTypeOf<{ topic: string; depth: number; tags?: string[] | undefined }>();
        return ctx.step("search", async () => inp.topic.length * inp.depth);
      },
    });
    expectTypeOf(agent.handler).parameter(0).toEqualTypeOf<FakeCtx>();
    expectTypeOf(agent.handler).returns.resolves.toEqualTypeOf<number>();
    expect(isAgentDefinition(agent)).toBe(true);
    expect(isAgentDefinition({ ...agent })).toBe(true);
    expect(isAgentDefinition({ slug: "researcher", handler() {} })).toBe(false);
  });

  it("produces the registration: defaults filled in and the input's JSON Schema (input side)", () => {
    const agent = defineAgent({ slug: "summariser", description: "summarises", input, handler: () => null });
    expect(agent.registration).toEqual({
      slug: "summariser",
      description: "summarises",
      capabilities: [],
      memory_read: [],
      memory_write: [],
      model_policy: {},
      input_schema: expect.objectContaining({ type: "object" }),
    });
    const schema = agent.registration.input_schema as { required: string[]; properties: Record<string, unknown> };
    // depth has a default, so a submitter may leave it out.
    expect(schema.required).toEqual(["topic"]);
    expect(Object.keys(schema.properties).sort()).toEqual(["depth", "tags", "topic"]);
    expect(AgentRegistration.parse(agent.registration)).toEqual(agent.registration);
  });

  it("refuses unknown keys at every depth, except where the schema chose otherwise", () => {
    const nested = z.object({
      filters: z.object({ topic: z.string(), range: z.object({ from: z.int() }).optional() }),
      items: z.array(z.object({ id: z.string() })),
      extra: z.looseObject({ note: z.string().optional() }),
      labels: z.record(z.string(), z.object({ v: z.string() })),
      both: z.intersection(z.object({ a: z.string() }), z.object({ b: z.string() })),
    });
    const schema = defineAgent({ slug: "deep", input: nested, handler: () => null }).registration.input_schema;
    const ok = {
      filters: { topic: "x", range: { from: 1 } },
      items: [{ id: "1" }],
      extra: { note: "n", anything: true },
      labels: { k: { v: "1" } },
      both: { a: "a", b: "b" },
    };
    expect(() => assertValidInput("deep", schema, ok)).not.toThrow();
    const bad = (patch: Record<string, unknown>) => () => assertValidInput("deep", schema, { ...ok, ...patch });
    expect(bad({ filters: { topic: "x", tpoic: "typo" } })).toThrow(/input does not match/);
    expect(bad({ filters: { topic: "x", range: { from: 1, to: 2 } } })).toThrow(/input does not match/);
    expect(bad({ items: [{ id: "1", idd: "2" }] })).toThrow(/input does not match/);
    expect(bad({ labels: { k: { v: "1", w: "2" } } })).toThrow(/input does not match/);
    expect(bad({ unknown: 1 })).toThrow(/input does not match/);
    // allowUnknownInput leaves every level open.
    const open = defineAgent({ slug: "open", input: nested, allowUnknownInput: true, handler: () => null }).registration.input_schema;
    expect(() => assertValidInput("open", open, { ...ok, filters: { topic: "x", tpoic: "typo" }, unknown: 1 })).not.toThrow();
  });

  it("is canonical: the same agent declared in another order gives the same registration, byte for byte", () => {
    const a = defineAgent({
      slug: "same",
      input: z.object({ a: z.string(), b: z.number(), c: z.boolean() }),
      capabilities: [
        { tool: "web.fetch", tier: "read" },
        { tool: "db.query", tier: "write" },
        { tool: "Zeta", tier: "read" },
      ],
      memory_read: ["b", "a", "b"],
      memory_write: ["w"],
      model_policy: { max_cost_usd: 1, default_model: "m" },
      handler: () => null,
    });
    const b = defineAgent({
      handler: () => null,
      model_policy: { default_model: "m", max_cost_usd: 1 },
      memory_write: ["w"],
      memory_read: ["a", "b"],
      capabilities: [
        { tool: "Zeta", tier: "read" },
        { tool: "db.query", tier: "write" },
        { tool: "web.fetch", tier: "read" },
      ],
      input: z.object({ c: z.boolean(), b: z.number(), a: z.string() }),
      slug: "same",
    });
    const canonicalText = (v: unknown) => JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
    expect(canonicalText(a.registration)).toBe(canonicalText(b.registration));
    // Code-point order (as the database's collate "C"): upper case before lower case.
    expect(a.registration.capabilities.map((c) => c.tool)).toEqual(["Zeta", "db.query", "web.fetch"]);
    expect(a.registration.memory_read).toEqual(["a", "b"]);
  });

  it("a real difference gives a different registration", () => {
    const mk = (tier: "read" | "write") => defineAgent({ slug: "diff", input, capabilities: [{ tool: "x", tier }], handler: () => null }).registration;
    expect(mk("read")).not.toEqual(mk("write"));
  });

  it.each([
    ["a malformed slug", { slug: "Bad Slug" }, "slug"],
    ["an unknown tier", { capabilities: [{ tool: "shell", tier: "root" }] }, "capabilities.0.tier"],
    ["a tool listed twice", { capabilities: [{ tool: "a", tier: "read" }, { tool: "a", tier: "write" }] }, "capabilities.1.tool"],
    ["a negative budget", { model_policy: { max_cost_usd: -1 } }, "model_policy.max_cost_usd"],
    ["an unknown model_policy key", { model_policy: { budget: 1 } }, "model_policy"],
    ["a bad namespace", { memory_write: ["has space"] }, "memory_write.0"],
  ])("refuses %s with agents.invalid_definition naming the field", (_what, patch, path) => {
    const attempt = () => defineAgent({ slug: "ok", input, handler: () => null, ...(patch as object) });
    expect(attempt).toThrow(ActpError);
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({ code: "agents.invalid_definition", status: 400 });
      expect((err as ActpError).message).toContain(`${path}:`);
    }
  });

  it("refuses an input that is not a zod schema, or one JSON cannot carry", () => {
    expect(() => defineAgent({ slug: "x", input: { type: "object" } as unknown as z.ZodType, handler: () => null })).toThrow(/must be a zod schema/);
    expect(() => defineAgent({ slug: "x", input: z.object({ when: z.date() }), handler: () => null })).toThrow(/cannot be expressed as JSON Schema/);
  });
});

describe("toRegistration", () => {
  it("sorts JSON Schema `required` lists at every depth, and nothing else", () => {
    const r = toRegistration({
      slug: "nested",
      input_schema: {
        type: "object",
        required: ["z", "a"],
        properties: { z: { type: "object", required: ["y", "b"] }, a: { enum: ["z", "a"] } },
      },
    });
    expect(r.input_schema).toEqual({
      type: "object",
      required: ["a", "z"],
      properties: { z: { type: "object", required: ["b", "y"] }, a: { enum: ["z", "a"] } },
    });
  });
});

describe("RegisterAgentRequest", () => {
  it("is the registration plus an optional changelog, and refuses unknown fields", () => {
    expect(RegisterAgentRequest.parse({ slug: "a", changelog: " fixed " })).toMatchObject({ slug: "a", changelog: "fixed" });
    const r = RegisterAgentRequest.safeParse({ slug: "a", handler: "x" });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.code).toBe("unrecognized_keys");
  });
});

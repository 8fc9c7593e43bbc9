import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BatchEvaluateRequest, CreateFlagInput, EvaluateRequest, UpdateFlagInput, type FlagDefinition } from "../../shared/flags/contracts.ts";
import { evaluateFlag, flagBucket, isEnabled, stickinessId, targetingIds } from "../../shared/flags/evaluate.ts";
import { toActpContext } from "../../node/flags/provider.ts";

const flag = (over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  flag_key: "new_synthesis_v2",
  enabled: true,
  rollout_pct: 0,
  target_ids: [],
  expires_at: null,
  ...over,
});

// An independent implementation of the documented hash, so the WebCrypto one is checked against
// the definition rather than against itself.
const referenceBucket = (key: string, id: string) => createHash("sha256").update(`${key}:${id}`, "utf8").digest().readUInt32BE(0) % 100;

describe("flagBucket", () => {
  it("is sha256(utf8(key:id)), first 4 bytes big-endian, mod 100, for ASCII and non-ASCII ids", async () => {
    for (const id of ["researcher", "user-1", "ü", "日本語のエージェント", "emoji-😀", "Ω≈ç√", "a b\tc", ""]) {
      expect(await flagBucket("new_synthesis_v2", id)).toBe(referenceBucket("new_synthesis_v2", id));
    }
  });

  it("depends on the flag key, so flags roll out to different ids", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `agent-${i}`);
    const a = await Promise.all(ids.map((id) => flagBucket("flag.a", id)));
    const b = await Promise.all(ids.map((id) => flagBucket("flag.b", id)));
    expect(a.filter((x, i) => x === b[i]).length).toBeLessThan(20);
  });
});

describe("evaluateFlag", () => {
  it("unknown flag is off", async () => {
    expect(await evaluateFlag("missing", null, { agent: "a" })).toEqual({ flag_key: "missing", enabled: false, reason: "not_found" });
    expect(await isEnabled(null, { agent: "a" })).toBe(false);
  });

  it("disabled and expired are off even for targeted ids at 100%", async () => {
    const ctx = { agent: "vip" };
    expect(await evaluateFlag("f", flag({ enabled: false, rollout_pct: 100, target_ids: ["vip"] }), ctx)).toMatchObject({ enabled: false, reason: "disabled" });
    const now = new Date("2026-11-24T12:00:00Z");
    const expired = flag({ rollout_pct: 100, target_ids: ["vip"], expires_at: "2026-11-24T12:00:00Z" });
    expect(await evaluateFlag("f", expired, ctx, now)).toMatchObject({ enabled: false, reason: "expired" });
    const live = flag({ rollout_pct: 100, target_ids: ["vip"], expires_at: new Date("2026-11-24T12:00:01Z") });
    expect(await evaluateFlag("f", live, ctx, now)).toMatchObject({ enabled: true, reason: "targeted" });
  });

  it("targets agent, user and *_id values; ignores other keys and non-strings", async () => {
    const f = flag({ target_ids: ["vip", "tenant-9", "job-1"] });
    expect(await isEnabled(f, { user: "vip" })).toBe(true);
    expect(await isEnabled(f, { agent: "x", tenant_id: "tenant-9" })).toBe(true);
    expect(await isEnabled(f, { job_id: "job-1" })).toBe(true);
    expect(await isEnabled(f, { env: "vip" })).toBe(false);
    expect(await isEnabled(f, { agent_id: 5, user: ["vip"] })).toBe(false);
    expect(targetingIds({ agent: "a", user: "", x_id: "b", n: 1, other: "c" }).sort()).toEqual(["a", "b"]);
  });

  it("sticks to the agent, else the user; empty strings count as absent", async () => {
    expect(stickinessId({ agent: "a", user: "u" })).toBe("a");
    expect(stickinessId({ agent: "", user: "u" })).toBe("u");
    expect(stickinessId({ tenant_id: "t" })).toBeNull();
    const f = flag({ rollout_pct: 37 });
    const r = await evaluateFlag(f.flag_key, f, { agent: "researcher", user: "someone" });
    const bucket = referenceBucket(f.flag_key, "researcher");
    expect(r).toEqual({ flag_key: f.flag_key, enabled: bucket < 37, reason: "rollout", bucket });
  });

  it("without a stickiness id only a 100% rollout is on", async () => {
    expect(await evaluateFlag("f", flag({ rollout_pct: 99 }), {})).toMatchObject({ enabled: false, reason: "no_stickiness_id" });
    expect(await evaluateFlag("f", flag({ rollout_pct: 100 }), { tenant_id: "t" })).toMatchObject({ enabled: true, reason: "no_stickiness_id" });
    expect(await isEnabled(flag({ rollout_pct: 100 }), null)).toBe(true);
  });

  it("refuses a context that is not an object", async () => {
    await expect(evaluateFlag("f", flag(), ["agent"] as never)).rejects.toMatchObject({ code: "flags.invalid_context" });
  });

  it("raising rollout_pct never turns the flag off for an id that had it", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `agënt-${i}-日本` : `agent-${i}`));
    const onAt = async (pct: number) => Promise.all(ids.map((agent) => isEnabled(flag({ rollout_pct: pct }), { agent })));
    let previous = await onAt(0);
    expect(previous.some(Boolean)).toBe(false);
    let turnedOff = 0;
    for (let pct = 1; pct <= 100; pct++) {
      const current = await onAt(pct);
      for (let i = 0; i < ids.length; i++) if (previous[i] && !current[i]) turnedOff++;
      previous = current;
    }
    expect(turnedOff).toBe(0);
    expect(previous.every(Boolean)).toBe(true);
  }, 20_000);

  it("spreads ids evenly over the 100 buckets, so rollout_pct is about the share of ids admitted", async () => {
    const counts = new Array<number>(100).fill(0);
    const buckets = await Promise.all(Array.from({ length: 10_000 }, (_, i) => flagBucket("new_synthesis_v2", `agent-${i}`)));
    for (const b of buckets) counts[b]!++;
    expect(Math.min(...counts)).toBeGreaterThan(60);
    expect(Math.max(...counts)).toBeLessThan(140);
  });
});

describe("contracts", () => {
  const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => r.error?.issues.map((i) => i.path.join("."));

  it("rollout_pct must be an integer 0-100", () => {
    for (const bad of [-1, 101, 50.5, "50", null, Number.NaN]) {
      const r = CreateFlagInput.safeParse({ flag_key: "ok", rollout_pct: bad });
      expect(r.success, String(bad)).toBe(false);
      expect(issues(r)).toEqual(["rollout_pct"]);
    }
    expect(CreateFlagInput.parse({ flag_key: "ok", rollout_pct: 100 })).toEqual({
      flag_key: "ok", description: "", enabled: false, rollout_pct: 100, target_ids: [], expires_at: null,
    });
  });

  it("flag keys are lower-case, without ':' or '/', 1-100 characters", () => {
    for (const bad of ["", "Bad", "a:b", "a/b", "1abc", "has space", "a".repeat(101), "ü"]) {
      expect(CreateFlagInput.safeParse({ flag_key: bad }).success, bad).toBe(false);
    }
    for (const good of ["a", "new_synthesis_v2", "research.synth-v3", "a".repeat(100)]) {
      expect(CreateFlagInput.safeParse({ flag_key: good }).success, good).toBe(true);
    }
  });

  it("an update names at least one field and never the key", () => {
    expect(UpdateFlagInput.safeParse({}).success).toBe(false);
    expect(UpdateFlagInput.safeParse({ flag_key: "other" }).success).toBe(false);
    expect(UpdateFlagInput.safeParse({ rollout_pct: 101 }).success).toBe(false);
    expect(UpdateFlagInput.parse({ expires_at: null })).toEqual({ expires_at: null });
  });

  it("context ids are non-empty strings without NUL or unpaired surrogates", () => {
    expect(EvaluateRequest.safeParse({ flag_key: "f", context: { agent: 5 } }).success).toBe(false);
    expect(EvaluateRequest.safeParse({ flag_key: "f", context: { tenant_id: "" } }).success).toBe(false);
    expect(EvaluateRequest.safeParse({ flag_key: "f", context: { agent: "a\u0000b" } }).success).toBe(false);
    expect(EvaluateRequest.safeParse({ flag_key: "f", context: { note: { deep: ["x\uD800"] } } }).success).toBe(false);
    expect(EvaluateRequest.safeParse({ flag_key: "f", context: { agent: "😀", plan: { tier: 3 } } }).success).toBe(true);
    expect(EvaluateRequest.parse({ flag_key: "f" }).context).toEqual({});
  });

  it("a batch names 1-100 valid keys", () => {
    expect(BatchEvaluateRequest.safeParse({ flags: [] }).success).toBe(false);
    expect(BatchEvaluateRequest.safeParse({ flags: ["ok", "Bad"] }).success).toBe(false);
    expect(BatchEvaluateRequest.safeParse({ flags: Array.from({ length: 101 }, (_, i) => `f${i}`) }).success).toBe(false);
  });
});

describe("OpenFeature context mapping", () => {
  it("targetingKey becomes the stickiness id unless an agent is given", () => {
    expect(toActpContext({ targetingKey: "u-1", tenant_id: "t" })).toEqual({ agent: "u-1", tenant_id: "t" });
    expect(toActpContext({ targetingKey: "u-1", agent: "researcher" })).toEqual({ agent: "researcher" });
    expect(toActpContext({ user: "u-2" })).toEqual({ user: "u-2" });
  });
});

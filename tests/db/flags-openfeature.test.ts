import { randomBytes } from "node:crypto";
import { ErrorCode, OpenFeature, StandardResolutionReasons, type Client } from "@openfeature/server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActpFeatureFlagProvider } from "../../node/flags/provider.ts";
import { flagBucket } from "../../shared/flags/evaluate.ts";
import { createFlag, updateFlag } from "../../shared/flags/queries.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
const domain = `actp-flags-${randomBytes(3).toString("hex")}`;
let client: Client;
const key = (label: string) => `oftest.${label}.${randomBytes(3).toString("hex")}`;
const flag = (flag_key: string, over: Partial<Parameters<typeof createFlag>[1]> = {}) =>
  createFlag(db, { flag_key, description: "", enabled: true, rollout_pct: 0, target_ids: [], expires_at: null, ...over });

beforeAll(async () => {
  // No cache: every evaluation reads the row, so the tests see each change at once.
  await OpenFeature.setProviderAndWait(domain, new ActpFeatureFlagProvider(db, { cacheTtlMs: 0 }));
  client = OpenFeature.getClient(domain);
});
afterAll(async () => {
  await OpenFeature.close();
  await db.end();
});

describe("ActpFeatureFlagProvider through @openfeature/server-sdk", () => {
  it("names itself", () => {
    expect(client.metadata.providerMetadata.name).toBe("actp");
    expect(OpenFeature.getProviderMetadata(domain).name).toBe("actp");
  });

  it("TARGETING_MATCH for a targeted id", async () => {
    const k = key("target");
    await flag(k, { target_ids: ["user-7"] });
    const d = await client.getBooleanDetails(k, false, { targetingKey: "someone", user: "user-7" });
    expect(d).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH, variant: "on" });
    expect(d.errorCode).toBeUndefined();
  });

  it("SPLIT by the targetingKey's bucket, the same bucket the SQL and TS evaluations use", async () => {
    const k = key("split");
    await flag(k, { rollout_pct: 50 });
    const ids = Array.from({ length: 40 }, (_, i) => `tk-${i}`);
    for (const id of ids) {
      const b = await flagBucket(k, id);
      const d = await client.getBooleanDetails(k, !(b < 50), { targetingKey: id });
      expect(d).toMatchObject({ value: b < 50, reason: StandardResolutionReasons.SPLIT, flagMetadata: { bucket: b, actpReason: "rollout" } });
      const { rows } = await db.query<{ v: boolean }>(`select public.actp_flag_enabled($1, jsonb_build_object('agent', $2::text)) as v`, [k, id]);
      expect(rows[0]!.v).toBe(d.value);
    }
  });

  it("an explicit agent attribute is the stickiness id over targetingKey", async () => {
    const k = key("agent");
    await flag(k, { rollout_pct: 50 });
    const d = await client.getBooleanDetails(k, false, { targetingKey: "user-1", agent: "researcher" });
    expect(d.flagMetadata.bucket).toBe(await flagBucket(k, "researcher"));
  });

  it("DISABLED when off or expired, whatever the default", async () => {
    const off = key("off");
    const old = key("old");
    await flag(off, { enabled: false, rollout_pct: 100 });
    await flag(old, { rollout_pct: 100, expires_at: new Date(Date.now() - 60_000).toISOString() });
    for (const k of [off, old]) {
      const d = await client.getBooleanDetails(k, true, { targetingKey: "x" });
      expect(d).toMatchObject({ value: false, reason: StandardResolutionReasons.DISABLED });
    }
    await updateFlag(db, off, { enabled: true });
    expect(await client.getBooleanValue(off, false, { targetingKey: "x" })).toBe(true);
  });

  it("DEFAULT without a stickiness id: on only at 100%", async () => {
    const k = key("nokey");
    await flag(k, { rollout_pct: 99 });
    expect(await client.getBooleanDetails(k, true, {})).toMatchObject({ value: false, reason: StandardResolutionReasons.DEFAULT });
    await updateFlag(db, k, { rollout_pct: 100 });
    expect(await client.getBooleanDetails(k, false, {})).toMatchObject({ value: true, reason: StandardResolutionReasons.DEFAULT });
  });

  it("FLAG_NOT_FOUND for an unknown or impossible key: the caller's default comes back", async () => {
    for (const k of [key("ghost"), "Not A Key"]) {
      const d = await client.getBooleanDetails(k, true, { targetingKey: "x" });
      expect(d).toMatchObject({ value: true, errorCode: ErrorCode.FLAG_NOT_FOUND });
      expect(await client.getBooleanValue(k, false)).toBe(false);
    }
  });

  it("the provider itself answers DEFAULT with FLAG_NOT_FOUND (the SDK then reports ERROR to the caller)", async () => {
    const provider = new ActpFeatureFlagProvider(db, { cacheTtlMs: 0 });
    const r = await provider.resolveBooleanEvaluation(key("ghost"), true, { targetingKey: "x" });
    expect(r).toMatchObject({ value: true, reason: StandardResolutionReasons.DEFAULT, errorCode: ErrorCode.FLAG_NOT_FOUND });
    const d = await client.getBooleanDetails(key("ghost"), false);
    expect(d).toMatchObject({ value: false, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it("TYPE_MISMATCH for string, number and object evaluations", async () => {
    const k = key("typed");
    await flag(k, { rollout_pct: 100 });
    expect(await client.getStringDetails(k, "dflt")).toMatchObject({ value: "dflt", errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getNumberDetails(k, 7)).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getObjectDetails(k, { a: 1 })).toMatchObject({ value: { a: 1 }, errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it("with a cache, a change is seen after the ttl", async () => {
    const k = key("cache");
    await flag(k, { rollout_pct: 100 });
    const cached = OpenFeature.getClient(`${domain}-cached`);
    await OpenFeature.setProviderAndWait(`${domain}-cached`, new ActpFeatureFlagProvider(db, { cacheTtlMs: 300 }));
    expect(await cached.getBooleanValue(k, false, { targetingKey: "x" })).toBe(true);
    await updateFlag(db, k, { enabled: false });
    expect(await cached.getBooleanValue(k, true, { targetingKey: "x" })).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    expect(await cached.getBooleanValue(k, true, { targetingKey: "x" })).toBe(false);
  });
});

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/feature-flags/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { flagBucket } from "../../shared/flags/evaluate.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let userToken: string;
let viewerToken: string;
const USER_SUB = "0b8f6c1e-3a44-4c1b-9d0a-2b7e5c9f1a01";
beforeAll(async () => {
  h = await functionHarness();
  userToken = await signApiKey(h.keys.jwtSecret, "authenticated", { sub: USER_SUB });
  viewerToken = await h.token("viewer");
});
afterAll(() => h.db.end());

type Role = "anon" | "service_role" | "none" | "authenticated" | "viewer";
const headers = (role: Role, json = false): Record<string, string> => {
  const extra: Record<string, string> = json ? { "content-type": "application/json" } : {};
  if (role === "authenticated") return { ...extra, authorization: `Bearer ${userToken}` };
  if (role === "viewer") return { ...extra, authorization: `Bearer ${viewerToken}` };
  return h.headers(role, extra);
};
const call = (method: string, path: string, role: Role = "service_role", body?: unknown) =>
  app.request(`/feature-flags${path}`, {
    method,
    headers: headers(role, body !== undefined),
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
const key = (label: string) => `fntest.${label}.${randomBytes(3).toString("hex")}`;
const count = async (k: string) => Number((await h.db.query<{ n: string }>(`select count(*) as n from actp_feature_flags where flag_key = $1`, [k])).rows[0]!.n);

describe("CRUD (service role)", () => {
  it("creates, reads, lists, patches and deletes a flag", async () => {
    const k = key("crud");
    const created = await call("POST", "/flags", "service_role", { flag_key: k, description: "new synthesis", enabled: true, rollout_pct: 10, target_ids: ["vip"] });
    expect(created.status).toBe(201);
    const { flag } = await created.json();
    expect(flag).toMatchObject({ flag_key: k, description: "new synthesis", enabled: true, rollout_pct: 10, target_ids: ["vip"], expires_at: null, id: expect.any(String) });

    expect((await (await call("GET", `/flags/${k}`)).json()).flag).toEqual(flag);
    const listed = (await (await call("GET", "/flags")).json()).flags as { flag_key: string }[];
    expect(listed.map((f) => f.flag_key)).toContain(k);

    const patched = await call("PATCH", `/flags/${k}`, "service_role", { rollout_pct: 50, expires_at: "2099-01-01T00:00:00Z" });
    expect(patched.status).toBe(200);
    expect((await patched.json()).flag).toMatchObject({ rollout_pct: 50, expires_at: "2099-01-01T00:00:00.000Z", enabled: true, target_ids: ["vip"] });
    const cleared = await call("PATCH", `/flags/${k}`, "service_role", { expires_at: null, target_ids: [] });
    expect((await cleared.json()).flag).toMatchObject({ rollout_pct: 50, expires_at: null, target_ids: [] });

    const deleted = await call("DELETE", `/flags/${k}`);
    expect(deleted.status).toBe(200);
    expect(await count(k)).toBe(0);
    expect((await call("GET", `/flags/${k}`)).status).toBe(404);
  });

  it("409 for a key that exists, and the stored flag is unchanged", async () => {
    const k = key("dup");
    expect((await call("POST", "/flags", "service_role", { flag_key: k, rollout_pct: 5 })).status).toBe(201);
    const again = await call("POST", "/flags", "service_role", { flag_key: k, rollout_pct: 90 });
    expect(again.status).toBe(409);
    expect((await again.json()).error.code).toBe("flags.conflict");
    expect((await (await call("GET", `/flags/${k}`)).json()).flag.rollout_pct).toBe(5);
  });

  it("viewers read flags but cannot change them; anon and plain users can do neither", async () => {
    const k = key("forbidden");
    expect((await call("GET", "/flags", "viewer")).status).toBe(200);
    expect((await call("POST", "/flags", "viewer", { flag_key: k })).status).toBe(403);
    for (const role of ["anon", "authenticated"] as const) {
      expect((await call("POST", "/flags", role, { flag_key: k })).status).toBe(403);
      expect((await call("GET", "/flags", role)).status).toBe(403);
      expect((await call("PATCH", `/flags/${k}`, role, { enabled: true })).status).toBe(403);
      expect((await call("DELETE", `/flags/${k}`, role)).status).toBe(403);
    }
    expect((await call("GET", "/flags", "none")).status).toBe(401);
    expect(await count(k)).toBe(0);
  });
});

describe("bad input: 400 with zod issues, nothing written", () => {
  it.each([
    ["rollout_pct above 100", { rollout_pct: 101 }, "rollout_pct"],
    ["rollout_pct below 0", { rollout_pct: -1 }, "rollout_pct"],
    ["non-integer rollout_pct", { rollout_pct: 12.5 }, "rollout_pct"],
    ["rollout_pct as a string", { rollout_pct: "50" }, "rollout_pct"],
    ["an empty target id", { target_ids: [""] }, "target_ids.0"],
    ["an unknown field", { colour: "red" }, ""],
  ])("POST /flags: %s", async (_label, extra, path) => {
    const k = key("bad");
    const res = await call("POST", "/flags", "service_role", { flag_key: k, ...extra });
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe("validation.failed");
    expect(error.details.map((i: { path: (string | number)[] }) => i.path.join("."))).toContain(path);
    expect(await count(k)).toBe(0);
  });

  it("POST /flags with a malformed key", async () => {
    for (const bad of ["Bad_Key", "a:b", "", "x".repeat(101)]) {
      const res = await call("POST", "/flags", "service_role", { flag_key: bad });
      expect(res.status, bad).toBe(400);
      expect((await res.json()).error.details[0].path).toEqual(["flag_key"]);
    }
  });

  it("PATCH with a bad rollout_pct leaves the flag as it was; an empty patch is refused", async () => {
    const k = key("patch");
    await call("POST", "/flags", "service_role", { flag_key: k, rollout_pct: 20, enabled: true });
    for (const bad of [{ rollout_pct: 150 }, { rollout_pct: 3.5 }, { enabled: true, rollout_pct: -5 }, {}, { flag_key: "other" }]) {
      expect((await call("PATCH", `/flags/${k}`, "service_role", bad)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await (await call("GET", `/flags/${k}`)).json()).flag).toMatchObject({ rollout_pct: 20, enabled: true });
  });

  it("a malformed key in the path is 400; an unknown key is 404 on read, update and delete", async () => {
    expect((await call("GET", "/flags/Not%20A%20Key")).status).toBe(400);
    expect((await (await call("PATCH", "/flags/BAD", "service_role", { enabled: true })).json()).error.code).toBe("flags.invalid_key");
    const k = key("ghost");
    for (const [method, body] of [["GET", undefined], ["PATCH", { enabled: true }], ["DELETE", undefined]] as const) {
      const res = await call(method, `/flags/${k}`, "service_role", body);
      expect(res.status, method).toBe(404);
      expect((await res.json()).error.code).toBe("flags.not_found");
    }
    expect(await count(k)).toBe(0);
  });

  it("non-JSON bodies are 400", async () => {
    expect((await call("POST", "/flags", "service_role", "{not json")).status).toBe(400);
    expect((await call("POST", "/evaluate", "service_role", "")).status).toBe(400);
  });
});

describe("evaluate", () => {
  it("evaluates for readers with the context given and for a plain user as themself; anon is 403", async () => {
    const k = key("eval");
    await call("POST", "/flags", "service_role", { flag_key: k, enabled: true, rollout_pct: 40, target_ids: ["tenant-1"] });
    const bucket = await flagBucket(k, "researcher");
    for (const role of ["viewer", "service_role"] as const) {
      const res = await call("POST", "/evaluate", role, { flag_key: k, context: { agent: "researcher" } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ flag_key: k, enabled: bucket < 40, reason: "rollout", bucket });
    }
    const targeted = await call("POST", "/evaluate", "viewer", { flag_key: k, context: { agent: "researcher", tenant_id: "tenant-1" } });
    expect(await targeted.json()).toEqual({ flag_key: k, enabled: true, reason: "targeted" });

    // A plain user is evaluated as the token's sub, whatever ids the body names: it can neither probe
    // another id's targeting nor pick the bucket it falls in.
    const ownBucket = await flagBucket(k, USER_SUB);
    const asUser = await call("POST", "/evaluate", "authenticated", { flag_key: k, context: { agent: "researcher", user: "someone-else", tenant_id: "tenant-1" } });
    expect(asUser.status).toBe(200);
    expect(await asUser.json()).toEqual({ flag_key: k, enabled: ownBucket < 40, reason: "rollout", bucket: ownBucket });
    const batch = await call("POST", "/evaluate/batch", "authenticated", { flags: [k], context: { tenant_id: "tenant-1" } });
    expect((await batch.json()).results).toEqual([{ flag_key: k, enabled: ownBucket < 40, reason: "rollout", bucket: ownBucket }]);
    const anon = await call("POST", "/evaluate", "anon", { flag_key: k, context: {} });
    expect(anon.status).toBe(403);
    expect((await anon.json()).error.code).toBe("auth.forbidden");
    expect((await call("POST", "/evaluate/batch", "anon", { flags: [k] })).status).toBe(403);
  });

  it("an unknown flag evaluates to false (not an error)", async () => {
    const k = key("missing");
    const res = await call("POST", "/evaluate", "authenticated", { flag_key: k, context: { user: "u-1" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ flag_key: k, enabled: false, reason: "not_found" });
  });

  it("a batch answers in the order asked, with a key → enabled map", async () => {
    const on = key("b-on");
    const off = key("b-off");
    const missing = key("b-missing");
    await call("POST", "/flags", "service_role", { flag_key: on, enabled: true, rollout_pct: 100 });
    await call("POST", "/flags", "service_role", { flag_key: off, enabled: false, rollout_pct: 100 });
    const res = await call("POST", "/evaluate/batch", "authenticated", { flags: [off, missing, on], context: { user: "ü-1" } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.results.map((r: { flag_key: string; reason: string }) => [r.flag_key, r.reason])).toEqual([
      [off, "disabled"],
      [missing, "not_found"],
      [on, "rollout"],
    ]);
    expect(body.enabled).toEqual({ [off]: false, [missing]: false, [on]: true });
  });

  it("bad evaluate input is 400 with zod issues", async () => {
    const cases: [unknown, string][] = [
      [{ flag_key: "Bad", context: {} }, "flag_key"],
      [{ flag_key: "ok", context: { agent: 42 } }, "context.agent"],
      [{ flag_key: "ok", context: ["agent"] }, "context"],
    ];
    for (const [body, path] of cases) {
      const res = await call("POST", "/evaluate", "authenticated", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("validation.failed");
      expect(error.details.map((i: { path: (string | number)[] }) => i.path.join("."))).toContain(path);
    }
    // NUL is refused by the one input gate before the contract is looked at.
    const nul = await call("POST", "/evaluate", "authenticated", { flag_key: "ok", context: { user: "a\u0000b" } });
    expect(nul.status).toBe(400);
    expect((await nul.json()).error).toMatchObject({ code: "input.nul_character", details: { path: "/context/user" } });
    const batch = await call("POST", "/evaluate/batch", "authenticated", { flags: [], context: {} });
    expect(batch.status).toBe(400);
  });
});

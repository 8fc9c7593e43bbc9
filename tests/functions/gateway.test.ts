// The local gateway in front of the real function apps, on a real HTTP server on loopback.
import { createClient } from "@supabase/supabase-js";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFunctions } from "../../node/gateway/functions.ts";
import { createGatewayApp, startGateway } from "../../node/gateway/server.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { createFunctionApp } from "../../functions/_shared/http.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
let gw: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  h = await functionHarness();
  gw = await startGateway(createGatewayApp({ functions: await loadFunctions(), jwtSecret: h.keys.jwtSecret }), "127.0.0.1", 0);
});
afterAll(async () => {
  await gw.stop();
  await h.db.end();
});

const health = () => `${gw.url}/functions/v1/health`;

describe("gateway verify_jwt", () => {
  it("supabase-js functions.invoke('health') works unchanged with the anon key", async () => {
    const supabase = createClient(gw.url, h.keys.anonKey, { auth: { persistSession: false } });
    const { data, error } = await supabase.functions.invoke("health", { method: "GET" });
    expect(error).toBeNull();
    expect(data).toMatchObject({ status: "ok", database: { reachable: true }, migrations: { up_to_date: true }, scheduler: { executor: "local" } });
    expect(data.extensions.vector).toBeTruthy();
  });

  it("401 without a token", async () => {
    const res = await fetch(health());
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("auth.unauthorized");
  });

  it("401 for a token signed with another secret", async () => {
    const forged = await signApiKey("another-secret-that-is-long-enough-0123456789", "service_role");
    expect((await fetch(health(), { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
  });

  it("401 for an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ role: "anon" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(h.keys.jwtSecret));
    const res = await fetch(health(), { headers: { authorization: `Bearer ${expired}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/expired/);
  });

  it("401 for alg none and for a token without a role", async () => {
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify({ role: "service_role" })).toString("base64url");
    expect((await fetch(health(), { headers: { authorization: `Bearer ${header}.${body}.` } })).status).toBe(401);
    const noRole = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(h.keys.jwtSecret));
    expect((await fetch(health(), { headers: { authorization: `Bearer ${noRole}` } })).status).toBe(401);
  });

  it("404 for an unknown function and for path tricks", async () => {
    const auth = { authorization: `Bearer ${h.keys.anonKey}` };
    expect((await fetch(`${gw.url}/functions/v1/nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${gw.url}/functions/v1/_shared/http.ts`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${gw.url}/functions/v1/health%2F..%2Fevents`, { headers: auth })).status).toBe(404);
  });

  it("answers CORS preflight without credentials", async () => {
    const res = await fetch(health(), { method: "OPTIONS", headers: { origin: "http://example.test", "access-control-request-method": "POST" } });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("gateway body limit", () => {
  // A function that reads its body with no limit of its own: the gateway's limit still holds.
  const greedy = createFunctionApp("greedy");
  greedy.post("/", async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  let small: Awaited<ReturnType<typeof startGateway>>;
  beforeAll(async () => {
    small = await startGateway(createGatewayApp({ functions: [{ name: "greedy", verifyJwt: false, app: greedy }], jwtSecret: h.keys.jwtSecret, maxBodyBytes: 64 * 1024 }), "127.0.0.1", 0);
  });
  afterAll(() => small.stop());

  const chunked = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let sent = 0; sent < bytes; sent += 16 * 1024) ctl.enqueue(new Uint8Array(16 * 1024));
        ctl.close();
      },
    });

  it("passes a body under the limit, and refuses a declared length over it unread", async () => {
    const ok = await fetch(`${small.url}/functions/v1/greedy`, { method: "POST", body: new Uint8Array(1000) });
    expect(await ok.json()).toEqual({ bytes: 1000 });
    const big = await fetch(`${small.url}/functions/v1/greedy`, { method: "POST", body: new Uint8Array(65 * 1024) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe("http.payload_too_large");
  });

  it("cuts a chunked body (no Content-Length) at the limit with 413, even for a function that reads it whole", async () => {
    const res = await fetch(`${small.url}/functions/v1/greedy`, { method: "POST", body: chunked(1024 * 1024), duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("http.payload_too_large");
  });
});

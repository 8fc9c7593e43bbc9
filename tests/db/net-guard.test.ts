// ctx.fetch (issue 10 item 0) end to end: a real loopback HTTP server that records what it receives,
// the real policy service deciding every hop, the real Node transport (undici) connecting to the
// checked address. Hosts ending in .test exist only in the injectable resolver, which maps them to
// loopback; the allowlist names them with their port, the exact form that permits a non-public address.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CircuitBreakers } from "../../shared/circuits/index.ts";
import { parseEventInput } from "../../shared/events/registry.ts";
import { NetDeniedError, NetFetchError, type Resolver, type Transport } from "../../shared/net/guard.ts";
import { checkPolicy, createPolicy } from "../../shared/policy/index.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { runGuardedFetch, type GuardedFetchInit } from "../../node/worker/guardrails/fetch.ts";
import { ToolDeniedError } from "../../node/worker/guardrails/errors.ts";
import { closeTransport, pinnedTransport } from "../../node/net/transport.ts";
import { testDatabase } from "../support/db.ts";
import { commonRoutes, startLoopbackSite, type LoopbackSite } from "../support/loopback-site.ts";

const db = testDatabase();
let site: LoopbackSite;
beforeAll(async () => {
  site = await startLoopbackSite(commonRoutes);
});
afterAll(async () => {
  await site.close();
  await closeTransport();
  await db.end();
});

const hex = () => randomBytes(4).toString("hex");
const testResolver: Resolver = async (host) => {
  if (host.endsWith(".test")) return ["127.0.0.1"];
  throw new Error(`ENOTFOUND ${host}`);
};

async function agentWith(allowed: string[] | null): Promise<string> {
  const slug = `net-${hex()}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  if (allowed) await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: allowed } });
  return slug;
}

const jobInfo = (slug: string): JobInfo => ({ db, jobId: randomUUID(), agentSlug: slug, signal: new AbortController().signal, currentStep: () => "fetch" });

// A tool name per call: one test's failures (timeouts, oversize bodies) never open another's breaker.
function fetchAs(info: JobInfo, url: string, init: GuardedFetchInit = {}, resolve: Resolver = testResolver, transport: Transport = pinnedTransport) {
  return runGuardedFetch(info, url, { tool: `http.fetch-${hex()}`, ...init }, { breakers: new CircuitBreakers(db), net: { resolve, transport } });
}

async function timeline(jobId: string) {
  const { rows } = await db.query<{ type: string; tool_name: string; payload: Record<string, unknown> }>(
    `select type, tool_name, step_id, agent_slug, job_id, payload from actp_events where job_id = $1 order by seq`,
    [jobId],
  );
  for (const e of rows) expect(parseEventInput(e).success).toBe(true);
  return rows;
}

const seenSince = (n: number) => site.seen.slice(n).map((r) => r.path);

describe("ctx.fetch: each hop checked", () => {
  it("fetches an allowlisted exact host:port, connecting to the checked address, and records the hop", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const info = jobInfo(slug);
    const before = site.seen.length;
    const res = await fetchAs(info, `http://docs.allowed.test:${site.port}/ok`);
    expect(await res.text()).toBe("hello");
    expect(res.hops).toEqual([{ url: `http://docs.allowed.test:${site.port}/ok`, host: "docs.allowed.test", address: "127.0.0.1", status: 200 }]);
    // The Host header stays the name; the system resolver never saw it (it cannot resolve .test).
    expect(site.seen.slice(before)).toEqual([{ method: "GET", path: "/ok", host: `docs.allowed.test:${site.port}` }]);
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    expect(ev[1]).toMatchObject({ payload: { hops: [{ host: "docs.allowed.test", status: 200, address: "127.0.0.1" }] } });
  });

  it("follows a redirect within the allowlist and records both hops", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`, `api.allowed.test:${site.port}`]);
    const res = await fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/redirect?to=${encodeURIComponent(`http://api.allowed.test:${site.port}/ok`)}`);
    expect(await res.text()).toBe("hello");
    expect(res.hops.map((h) => [h.host, h.status])).toEqual([["docs.allowed.test", 302], ["api.allowed.test", 200]]);
    expect(res.finalUrl).toBe(`http://api.allowed.test:${site.port}/ok`);
  });

  it("refuses a redirect to a host outside the allowlist: nothing is requested past the refused hop", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const info = jobInfo(slug);
    const before = site.seen.length;
    const err = await fetchAs(info, `http://docs.allowed.test:${site.port}/redirect?to=${encodeURIComponent(`http://evil.test:${site.port}/secret`)}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetDeniedError);
    expect(err).toMatchObject({ reason: "redirect_not_allowed", code: "net.denied", details: { hop: 1, host: "evil.test", policy_reason: "domain_not_allowed" } });
    expect(seenSince(before)).toEqual([`/redirect?to=${encodeURIComponent(`http://evil.test:${site.port}/secret`)}`]);
    const ev = await timeline(info.jobId);
    expect(ev.at(-1)).toMatchObject({
      type: "tool.call_failed",
      payload: { error: { code: "net.denied" }, hops: [{ host: "docs.allowed.test", status: 302 }, { host: "evil.test", status: null }] },
    });
  });

  it.each([
    ["127.0.0.1 by name", (port: number) => `http://127.0.0.1:${port}/secret`],
    ["the metadata address", () => "http://169.254.169.254/latest/meta-data/"],
    ["the metadata address as one decimal integer", () => "http://2852039166/latest/meta-data/"],
    ["the AWS IPv6 metadata address", () => "http://[fd00:ec2::254]/latest/meta-data/"],
  ])("refuses a redirect to %s at that hop", async (_label, target) => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const before = site.seen.length;
    const err = await fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/redirect?to=${encodeURIComponent(target(site.port))}`).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "redirect_not_allowed", details: { hop: 1 } });
    expect(site.seen.length - before).toBe(1);
  });

  it("refuses a wildcard-allowlisted name that resolves to a private address (private_address), at hop 0 and at a redirect", async () => {
    const slug = await agentWith([`*.allowed.test:${site.port}`]);
    const before = site.seen.length;
    const err0 = await fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/ok`).catch((e: unknown) => e);
    expect(err0).toMatchObject({ reason: "private_address", details: { hop: 0, address: "127.0.0.1", address_class: "loopback" } });
    expect(site.seen.length).toBe(before);

    const both = await agentWith([`docs.allowed.test:${site.port}`, `*.allowed.test:${site.port}`]);
    const err1 = await fetchAs(jobInfo(both), `http://docs.allowed.test:${site.port}/redirect?to=${encodeURIComponent(`http://internal.allowed.test:${site.port}/secret`)}`).catch((e: unknown) => e);
    expect(err1).toMatchObject({ reason: "private_address", details: { hop: 1, host: "internal.allowed.test" } });
    expect(seenSince(before).filter((p) => p === "/secret")).toEqual([]);
  });

  it("with no allowlist at all, private addresses in any notation are still refused and nothing is sent", async () => {
    const slug = await agentWith(null);
    const before = site.seen.length;
    for (const url of [
      `http://127.0.0.1:${site.port}/secret`,
      `http://2130706433:${site.port}/secret`,
      `http://0x7f.1:${site.port}/secret`,
      `http://0177.0.0.1:${site.port}/secret`,
      `http://[::ffff:127.0.0.1]:${site.port}/secret`,
      `http://localhost.test:${site.port}/secret`,
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      const err = await fetchAs(jobInfo(slug), url).catch((e: unknown) => e);
      expect(err, url).toMatchObject({ reason: "private_address" });
    }
    expect(site.seen.length).toBe(before);
  });

  it("a domain outside the allowlist at hop 0 is the policy's denial; a non-http scheme is invalid_url; nothing is sent", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const before = site.seen.length;
    await expect(fetchAs(jobInfo(slug), `http://evil.test:${site.port}/secret`)).rejects.toMatchObject({ reason: "domain_not_allowed" });
    await expect(fetchAs(jobInfo(slug), "file:///etc/passwd")).rejects.toBeInstanceOf(ToolDeniedError);
    await expect(fetchAs(jobInfo(slug), "file:///etc/passwd")).rejects.toMatchObject({ reason: "invalid_url" });
    expect(site.seen.length).toBe(before);
  });

  it("stops after the hop limit", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const before = site.seen.length;
    await expect(fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/loop`, { limits: { maxRedirects: 3 } })).rejects.toMatchObject({ reason: "too_many_redirects" });
    expect(seenSince(before)).toEqual(["/loop", "/loop", "/loop", "/loop"]);
  });
});

describe("ctx.fetch: DNS rebinding", () => {
  it("resolves once per hop and connects to the checked address, whatever a second lookup would say", async () => {
    const slug = await agentWith(null);
    const calls: string[] = [];
    // Public first, private afterwards: the rebinding attack.
    const rebinding: Resolver = async (host) => {
      calls.push(host);
      return calls.length === 1 ? ["93.184.215.14"] : ["127.0.0.1"];
    };
    const connectedTo: string[] = [];
    const recording: Transport = async (req) => {
      connectedTo.push(req.address);
      return new Response("from the checked address", { status: 200, headers: { "content-type": "text/plain" } });
    };
    const res = await fetchAs(jobInfo(slug), "http://rebind.example/page", {}, rebinding, recording);
    expect(await res.text()).toBe("from the checked address");
    expect(calls).toEqual(["rebind.example"]);
    expect(connectedTo).toEqual(["93.184.215.14"]);
  });

  it("refuses a name when ANY of its addresses is private", async () => {
    const slug = await agentWith(null);
    const mixed: Resolver = async () => ["93.184.215.14", "10.0.0.7"];
    const sent: string[] = [];
    const err = await fetchAs(jobInfo(slug), "http://mixed.example/", {}, mixed, async (r) => (sent.push(r.address), new Response("x"))).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "private_address", details: { address: "10.0.0.7", address_class: "private" } });
    expect(sent).toEqual([]);
  });

  it("the real transport never looks the name up itself", async () => {
    const slug = await agentWith([`pinned.test:${site.port}`]);
    // The system resolver cannot resolve pinned.test: the request only works because the transport
    // connects to the address the guard checked.
    const res = await fetchAs(jobInfo(slug), `http://pinned.test:${site.port}/ok`);
    expect(res.status).toBe(200);
  });
});

describe("ctx.fetch: limits", () => {
  it("cuts a body past maxBytes with response_too_large", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    const res = await fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/big`, { limits: { maxBytes: 4096 } });
    const err = await res.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetFetchError);
    expect(err).toMatchObject({ code: "net.response_too_large" });
  });

  it("gives up after timeoutMs with net.timeout", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    await expect(fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/slow`, { limits: { timeoutMs: 200 } })).rejects.toMatchObject({ code: "net.timeout" });
  });

  it("refuses a content type outside the accepted list", async () => {
    const slug = await agentWith([`docs.allowed.test:${site.port}`]);
    await expect(fetchAs(jobInfo(slug), `http://docs.allowed.test:${site.port}/pdf`, { limits: { contentTypes: ["text/html", "text/plain"] } })).rejects.toMatchObject({
      code: "net.content_type_not_allowed",
    });
  });
});

describe("policy: a network tool under an allowlist needs a URL", () => {
  it("denies a URL-less network tool under an agent-scoped allowlist, and leaves other tools alone", async () => {
    const slug = await agentWith(["github.com"]);
    const check = (tool_name: string) => checkPolicy(db, { agent_slug: slug, tool_name, action_type: "tool_call", run_id: randomUUID(), estimated_cost_usd: 0 });
    for (const tool of ["browser.fetch", "http.fetch", "web.fetch", "research.fetch", "crm.download"]) {
      expect(await check(tool), tool).toMatchObject({ allowed: false, reason: "url_required" });
    }
    expect(await check("calc.sum")).toMatchObject({ allowed: true });
  });
});

// The Node side of the outbound guard (shared/net/guard.ts): DNS through the system resolver, and a
// transport that connects to the address the guard checked, never to a fresh lookup.
//
// undici's Agent takes the `lookup` its sockets use (net.connect's option); ours answers with the
// checked address whatever is asked, so the TCP connection goes there while the URL keeps the host
// name: the Host header, TLS SNI and certificate verification all use the name. One Agent per
// (origin, address): connections are pooled, and a pooled connection is always to that address.
import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";
import type { PinnedRequest, Resolver, Transport } from "../../shared/net/guard.ts";

export const systemResolver: Resolver = async (host) => {
  const name = host.startsWith("[") ? host.slice(1, -1) : host;
  const all = await dnsLookup(name, { all: true, verbatim: true });
  return all.map((a) => a.address);
};

const MAX_AGENTS = 64;
const agents = new Map<string, Agent>();

function pinnedLookup(address: string): LookupFunction {
  const family = address.includes(":") ? 6 : 4;
  return ((_host: string, options: { all?: boolean } | undefined, cb: (...args: unknown[]) => void) => {
    if (typeof options === "function") return (options as (...a: unknown[]) => void)(null, address, family);
    if (options?.all) return cb(null, [{ address, family }]);
    return cb(null, address, family);
  }) as unknown as LookupFunction;
}

function agentFor(req: PinnedRequest): Agent {
  const key = `${req.url.scheme}://${req.url.host}:${req.url.effectivePort}|${req.address}`;
  let agent = agents.get(key);
  if (agent) {
    // Most recently used last, so the oldest is the one evicted.
    agents.delete(key);
    agents.set(key, agent);
    return agent;
  }
  agent = new Agent({ connect: { lookup: pinnedLookup(req.address) }, keepAliveTimeout: 10_000 });
  agents.set(key, agent);
  if (agents.size > MAX_AGENTS) {
    const [oldestKey, oldest] = agents.entries().next().value as [string, Agent];
    agents.delete(oldestKey);
    void oldest.close().catch(() => {});
  }
  return agent;
}

export const pinnedTransport: Transport = async (req) => {
  const res = await undiciFetch(req.url.href, {
    method: req.method,
    headers: Object.fromEntries(req.headers),
    body: req.body as never,
    signal: req.signal,
    redirect: "manual",
    dispatcher: agentFor(req),
  });
  return res as unknown as Response;
};

/** Closes pooled connections (tests, shutdown). */
export async function closeTransport(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close().catch(() => {})));
}

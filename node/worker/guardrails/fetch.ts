// ctx.fetch(url, init): the agent's one way out (issue 10 item 0). A tool call ("http.fetch" unless
// init.tool says otherwise) so the policy service (allowlist, rate limit, budget, approvals), the
// circuit breaker and the tool events apply; inside it, shared/net/guard.ts re-checks EVERY hop
// against the allowlist (actp_policy_url_check), refuses non-public addresses, connects to the
// address it checked, and enforces the size, time and content-type limits. The hops land in the
// call's tool.call_completed / tool.call_failed.
import type { JobInfo } from "../job-info.ts";
import { guardedFetch, NetDeniedError, NetFetchError, type GuardDeps, type GuardLimits, type HopRecord } from "../../../shared/net/guard.ts";
import { sqlHopPolicy } from "../../../shared/net/hop-policy.ts";
import { pinnedTransport, systemResolver } from "../../net/transport.ts";
import { runToolCall, type ToolCallDeps } from "./tool-call.ts";

export interface GuardedFetchInit extends RequestInit {
  /** Tool name the call is checked and recorded as (default "http.fetch"). */
  tool?: string;
  /** Size, time, content-type and redirect limits (defaults: 5 MiB, 15 s, any type, 5 redirects). */
  limits?: GuardLimits;
  /** Reserved against budgets before the call (default 0). */
  estimated_cost_usd?: number;
}

/** A Response from ctx.fetch, with the hops it took and the canonical URL it came from. */
export type GuardedFetchResponse = Response & { readonly hops: readonly HopRecord[]; readonly finalUrl: string };

export interface FetchDeps extends ToolCallDeps {
  /** Test seams: a resolver that plays DNS rebinding, a transport that records. */
  net?: Partial<Pick<GuardDeps, "resolve" | "transport">>;
}

export async function runGuardedFetch(info: JobInfo, url: string | URL, init: GuardedFetchInit = {}, deps: FetchDeps = {}): Promise<GuardedFetchResponse> {
  const { tool = "http.fetch", limits, estimated_cost_usd, ...requestInit } = init;
  const href = typeof url === "string" ? url : url.href;
  const method = (requestInit.method ?? "GET").toUpperCase();
  return runToolCall(
    info,
    tool,
    { method, url: href },
    {
      url: href,
      action_type: method === "GET" || method === "HEAD" ? "network_read" : "network_write",
      ...(estimated_cost_usd === undefined ? {} : { estimated_cost_usd }),
    },
    async (call) => {
      try {
        const out = await guardedFetch(href, { ...requestInit, ...(limits ? { limits } : {}), signal: requestInit.signal ? AbortSignal.any([requestInit.signal, call.signal]) : call.signal }, {
          policy: sqlHopPolicy(info.db, info.agentSlug, tool),
          resolve: deps.net?.resolve ?? systemResolver,
          transport: deps.net?.transport ?? pinnedTransport,
        });
        call.reportHops(out.hops);
        return Object.assign(out.response, { hops: out.hops, finalUrl: out.url }) as GuardedFetchResponse;
      } catch (err) {
        if (err instanceof NetDeniedError || err instanceof NetFetchError) call.reportHops(err.hops);
        throw err;
      }
    },
    deps,
  );
}

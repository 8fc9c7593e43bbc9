// The one guarded way out (issue 10 item 0), runtime-neutral: every outbound HTTP request of an
// agent (ctx.fetch in the Node worker, the research function in Deno) goes through guardedFetch.
//
// Per hop, in order:
//   1. canonicalize the URL (WHATWG parser: decimal/octal/hex/short IPv4 hosts become dotted quads,
//      userinfo and non-http(s) schemes are refused, IPv6 zone ids do not parse);
//   2. ask the policy (the policy service's allowlist for this agent and tool) about THIS hop;
//   3. resolve the host ONCE and refuse when ANY address is not public unicast (private, loopback,
//      link-local, CGNAT, metadata, multicast, reserved, or an IPv6 form carrying one), unless the
//      allowlist names this exact IP literal or host:port;
//   4. hand the transport the checked address: it connects there (Host header and TLS SNI stay
//      the name), so no second lookup exists for DNS rebinding to change;
//   5. a 3xx with Location is followed by hand: resolved against the current URL, back to step 1.
// Limits: hop count, total time (all hops and the body), body size, and content types.
import { ActpError } from "../errors.ts";
import { canonicalizeUrl, type CanonicalUrl } from "./allowlist.ts";
import { classifyAddress, parseIp, type AddressClass } from "./ip.ts";

/** The policy's answer for one hop. */
export type HopVerdict =
  | { allowed: true; /** the allowlist names this exact IP literal or host:port */ exact: boolean }
  | { allowed: false; reason: string; message: string; policy_id?: string | null };

export interface HopPolicy {
  check(url: CanonicalUrl, hop: number): Promise<HopVerdict>;
}

/** Host name → addresses (A and AAAA). Injectable so tests can play DNS rebinding. */
export type Resolver = (host: string) => Promise<string[]>;

export interface PinnedRequest {
  url: CanonicalUrl;
  /** The checked address to connect to. */
  address: string;
  method: string;
  headers: Headers;
  body: BodyInit | null;
  signal: AbortSignal;
}

/** Sends one request to exactly `address`, never following redirects, never resolving again. */
export type Transport = (req: PinnedRequest) => Promise<Response>;

export interface GuardLimits {
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** Body bytes read at most (default 5 MiB). */
  maxBytes?: number;
  /** Whole fetch, all hops and the body (default 15 s). */
  timeoutMs?: number;
  /** Media types accepted (e.g. ["text/html", "application/json"]); default any. */
  contentTypes?: readonly string[];
}

export interface HopRecord {
  url: string;
  host: string;
  address: string | null;
  status: number | null;
}

export interface GuardedResponse {
  response: Response;
  /** Canonical URL the response came from. */
  url: string;
  hops: HopRecord[];
  /** Media type without parameters, lowercase ("" when absent). */
  contentType: string;
}

export const NET_DENIAL_REASONS = [
  "invalid_url",
  "domain_not_allowed",
  "redirect_not_allowed",
  "private_address",
  "too_many_redirects",
] as const;

/**
 * net.denied (403): the guard refused before sending (nothing was requested at or past this hop).
 * `reason` is the stable code callers switch on; details name the hop and host.
 */
export class NetDeniedError extends ActpError {
  readonly reason: string;
  readonly hops: HopRecord[];
  constructor(reason: string, message: string, details: Record<string, unknown>, hops: HopRecord[]) {
    super("net.denied", message, { details: { reason, ...details } });
    this.name = "NetDeniedError";
    this.reason = reason;
    this.hops = hops;
  }
}

/** A request that went out but whose answer broke a limit, or that failed on the wire. */
export class NetFetchError extends ActpError {
  readonly reason: string;
  readonly hops: HopRecord[];
  constructor(reason: "timeout" | "response_too_large" | "content_type_not_allowed" | "dns_failed" | "connect_failed" | "body_not_replayable", message: string, details: Record<string, unknown>, hops: HopRecord[]) {
    super(`net.${reason}`, message, { details: { reason, ...details } });
    this.name = "NetFetchError";
    this.reason = reason;
    this.hops = hops;
  }
}

const DEFAULTS = { maxRedirects: 5, maxBytes: 5 * 1024 * 1024, timeoutMs: 15_000 };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Credentials never follow a request to another origin (what browsers and fetch do too).
const ORIGIN_BOUND_HEADERS = ["authorization", "cookie", "proxy-authorization"];

export function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

const hostForConnect = (host: string) => (host.startsWith("[") ? host.slice(1, -1) : host);

/** A body that can be sent again on a 307/308 hop; streams cannot. */
function replayable(body: BodyInit | null | undefined): boolean {
  return body == null || typeof body === "string" || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData;
}

export interface GuardDeps {
  policy: HopPolicy;
  resolve: Resolver;
  transport: Transport;
}

export async function guardedFetch(rawUrl: string, init: RequestInit & { limits?: GuardLimits } = {}, deps: GuardDeps): Promise<GuardedResponse> {
  const limits = { ...DEFAULTS, ...init.limits };
  const hops: HopRecord[] = [];
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  let method = (init.method ?? "GET").toUpperCase();
  let body: BodyInit | null = init.body ?? null;
  const headers = new Headers(init.headers);
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "gzip, deflate, br");
  if (!headers.has("user-agent")) headers.set("user-agent", "actp-guarded-fetch/1");

  const onTimeout = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (timeout.aborted && !(init.signal?.aborted ?? false)) {
        throw new NetFetchError("timeout", `fetch of ${rawUrl} did not finish within ${limits.timeoutMs} ms`, { timeout_ms: limits.timeoutMs }, hops);
      }
      throw err;
    });

  let current = rawUrl;
  let previousOrigin: string | null = null;
  for (let hop = 0; ; hop++) {
    const url = canonicalizeUrl(current);
    if (!url.ok) {
      throw new NetDeniedError(hop === 0 ? "invalid_url" : "redirect_not_allowed", hop === 0 ? url.message : `redirect ${hop} to an unusable URL: ${url.message}`, { hop }, hops);
    }
    if (hop > limits.maxRedirects) {
      throw new NetDeniedError("too_many_redirects", `more than ${limits.maxRedirects} redirects`, { hop, host: url.host }, hops);
    }
    const origin = `${url.scheme}://${url.host}:${url.effectivePort}`;
    if (previousOrigin !== null && origin !== previousOrigin) for (const h of ORIGIN_BOUND_HEADERS) headers.delete(h);
    previousOrigin = origin;

    const verdict = await deps.policy.check(url, hop);
    if (!verdict.allowed) {
      hops.push({ url: url.href, host: url.host, address: null, status: null });
      const reason = hop === 0 ? verdict.reason : "redirect_not_allowed";
      const message = hop === 0 ? verdict.message : `redirect ${hop} to ${url.host} refused: ${verdict.message}`;
      throw new NetDeniedError(reason, message, { hop, host: url.host, policy_reason: verdict.reason, policy_id: verdict.policy_id ?? null }, hops);
    }

    let addresses: string[];
    if (parseIp(hostForConnect(url.host))) {
      addresses = [hostForConnect(url.host)];
    } else {
      try {
        addresses = await onTimeout(deps.resolve(url.host));
      } catch (err) {
        if (err instanceof NetFetchError) throw err;
        throw new NetFetchError("dns_failed", `could not resolve ${url.host}: ${(err as Error)?.message ?? String(err)}`, { hop, host: url.host }, hops);
      }
      if (addresses.length === 0) throw new NetFetchError("dns_failed", `${url.host} has no addresses`, { hop, host: url.host }, hops);
    }
    const classes = addresses.map((a) => [a, classifyAddress(a)] as [string, AddressClass]);
    const bad = classes.find(([, c]) => c !== "public");
    if (bad && !verdict.exact) {
      hops.push({ url: url.href, host: url.host, address: null, status: null });
      throw new NetDeniedError(
        "private_address",
        `${url.host} resolves to ${bad[0]} (${bad[1]}); only an allowlist entry naming this exact IP or host:port permits that`,
        { hop, host: url.host, address: bad[0], address_class: bad[1] },
        hops,
      );
    }
    const address = addresses[0]!;
    const record: HopRecord = { url: url.href, host: url.host, address, status: null };
    hops.push(record);

    let response: Response;
    try {
      response = await onTimeout(deps.transport({ url, address, method, headers: new Headers(headers), body, signal }));
    } catch (err) {
      if (err instanceof ActpError) throw err;
      if (init.signal?.aborted) throw err;
      throw new NetFetchError("connect_failed", `request to ${url.host} failed: ${(err as Error)?.message ?? String(err)}`, { hop, host: url.host }, hops);
    }
    record.status = response.status;

    const location = response.headers.get("location");
    if (REDIRECTS.has(response.status) && location !== null) {
      await response.body?.cancel().catch(() => {});
      let next: URL;
      try {
        next = new URL(location, url.href);
      } catch {
        throw new NetDeniedError("redirect_not_allowed", `redirect ${hop + 1} has an unparsable Location`, { hop: hop + 1 }, hops);
      }
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        if (method !== "HEAD") method = "GET";
        body = null;
        headers.delete("content-type");
        headers.delete("content-length");
      } else if (!replayable(body)) {
        throw new NetFetchError("body_not_replayable", `a ${response.status} redirect needs the request body again, and a stream cannot be sent twice`, { hop }, hops);
      }
      current = next.href;
      continue;
    }

    const contentType = mediaType(response.headers.get("content-type"));
    if (limits.contentTypes && !limits.contentTypes.includes(contentType)) {
      await response.body?.cancel().catch(() => {});
      throw new NetFetchError("content_type_not_allowed", `${url.host} answered ${contentType || "no content type"}; accepted: ${limits.contentTypes.join(", ")}`, { content_type: contentType }, hops);
    }
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw new NetFetchError("response_too_large", `${url.host} declared ${declared} bytes; the limit is ${limits.maxBytes}`, { bytes: declared, max_bytes: limits.maxBytes }, hops);
    }
    const limited = new Response(response.body ? limitBody(response.body, limits.maxBytes, url.host, hops, () => timeout.aborted, limits.timeoutMs) : null, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    return { response: limited, url: url.href, hops, contentType };
  }
}

/** The body, cut off with response_too_large past maxBytes, and with a clear timeout error. */
function limitBody(body: ReadableStream<Uint8Array>, maxBytes: number, host: string, hops: HopRecord[], timedOut: () => boolean, timeoutMs: number): ReadableStream<Uint8Array> {
  let seen = 0;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        controller.error(timedOut() ? new NetFetchError("timeout", `body of ${host} did not arrive within ${timeoutMs} ms`, { timeout_ms: timeoutMs }, hops) : err);
        return;
      }
      if (chunk.done) return controller.close();
      seen += chunk.value.byteLength;
      if (seen > maxBytes) {
        await reader.cancel().catch(() => {});
        controller.error(new NetFetchError("response_too_large", `${host} sent more than ${maxBytes} bytes`, { max_bytes: maxBytes }, hops));
        return;
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Reads a guarded body as text (UTF-8 unless the charset says otherwise), within its limits. */
export async function readText(res: Response): Promise<string> {
  const charset = /charset=([^;]+)/i.exec(res.headers.get("content-type") ?? "")?.[1]?.trim().replace(/^"|"$/g, "") ?? "utf-8";
  const bytes = new Uint8Array(await res.arrayBuffer());
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

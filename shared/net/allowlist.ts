// URL canonicalisation and host allowlists, shared by policy checks and research fetches.
// Parsing is the WHATWG URL parser (what browsers and fetch use), so the host we judge is the host
// a request would actually reach: userinfo, backslashes, fragments, case, IDN, percent-encoding and
// the odd IPv4 spellings are all resolved by the same rules as the fetch that follows.
// The SQL side (actp_policy_host_matches in migrations/20261124000020_policy_service.sql) applies
// the same pattern rules to the canonical URL this module produces.

export type CanonicalUrl = {
  ok: true;
  /** Scheme without the colon. */
  scheme: "http" | "https";
  /** Lowercase ASCII host (IDN as punycode), no trailing dot; IPv6 in brackets, IPv4 dotted. */
  host: string;
  /** Explicit non-default port, or null. */
  port: number | null;
  /** The port a request goes to: the explicit one or the scheme's default. */
  effectivePort: number;
  /** scheme://host[:port]/path?query, no userinfo, no fragment: what to fetch and what SQL re-checks. */
  href: string;
};

export type UrlRejection = { ok: false; reason: "invalid_url"; message: string };

const MAX_URL_LENGTH = 8192;
const DEFAULT_PORT = { http: 80, https: 443 } as const;

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOSTNAME = `${LABEL}(?:\\.${LABEL})*`;
/** The only host shapes the database accepts; anything else the URL parser let through is refused. */
const CANONICAL_HOST = new RegExp(`^(?:${HOSTNAME}|\\[[0-9a-f:.]+\\])$`);
/** Allowlist entry: exact host, "*.suffix", "label.*" or "[ipv6]", each with an optional ":port". */
export const DOMAIN_PATTERN = new RegExp(`^(?:\\*\\.${HOSTNAME}|${LABEL}\\.\\*|${HOSTNAME}|\\[[0-9a-f:.]+\\])(?::([0-9]{1,5}))?$`);

const reject = (message: string): UrlRejection => ({ ok: false, reason: "invalid_url", message });

export function canonicalizeUrl(raw: string): CanonicalUrl | UrlRejection {
  if (typeof raw !== "string" || raw.length === 0) return reject("URL is empty");
  if (raw.length > MAX_URL_LENGTH) return reject(`URL is longer than ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return reject("URL cannot be parsed");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return reject(`scheme ${u.protocol} is not allowed; only http and https`);
  // Credentials in a URL are either a phishing trick or a secret about to be logged: refuse both.
  if (u.username !== "" || u.password !== "") return reject(`URL carries credentials (userinfo) in front of host ${u.hostname}`);
  const scheme = u.protocol === "https:" ? "https" : "http";
  // "github.com." and "github.com" are the same DNS name; one trailing dot only.
  let host = u.hostname;
  if (host.endsWith(".") && !host.startsWith("[")) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !CANONICAL_HOST.test(host)) return reject(`host ${JSON.stringify(u.hostname)} is not a plain DNS name or IP address`);
  // WHATWG turns a numeric last label into IPv4 or a parse error; a host that is all digits and
  // dots is therefore a dotted quad here, which only an exact pattern can match.
  const port = u.port === "" ? null : Number(u.port);
  const effectivePort = port ?? DEFAULT_PORT[scheme];
  const href = `${scheme}://${host}${port === null ? "" : `:${port}`}${u.pathname}${u.search}`;
  if (!/^[!-~]+$/.test(href)) return reject("URL has characters outside printable ASCII after canonicalisation");
  return { ok: true, scheme, host, port, effectivePort, href };
}

export function isValidDomainPattern(pattern: string): boolean {
  if (typeof pattern !== "string" || pattern.length > 260) return false;
  const m = DOMAIN_PATTERN.exec(pattern);
  if (!m) return false;
  const port = m[1] === undefined ? 1 : Number(m[1]);
  return port >= 1 && port <= 65535;
}

const isIpHost = (host: string) => /^[0-9.]+$/.test(host) || host.startsWith("[");

/**
 * "docs.*": the first label is docs (never an IP). "*.vercel.app": any subdomain at any depth,
 * not the apex. Otherwise exact. A pattern without a port matches only the default port.
 */
export function hostMatchesPattern(url: Pick<CanonicalUrl, "host" | "effectivePort" | "scheme">, pattern: string): boolean {
  if (!isValidDomainPattern(pattern)) return false;
  const portMatch = /:([0-9]{1,5})$/.exec(pattern);
  const patternPort = portMatch ? Number(portMatch[1]) : DEFAULT_PORT[url.scheme];
  if (patternPort !== url.effectivePort) return false;
  const p = portMatch ? pattern.slice(0, -portMatch[0].length) : pattern;
  const host = url.host;
  if (p.startsWith("*.")) {
    const suffix = p.slice(1);
    return !isIpHost(host) && host.length > suffix.length && host.endsWith(suffix);
  }
  if (p.endsWith(".*")) {
    return !isIpHost(host) && host.includes(".") && host.split(".")[0] === p.slice(0, -2);
  }
  return host === p;
}

export type AllowlistDecision =
  | { allowed: true; url: CanonicalUrl; pattern: string }
  | { allowed: false; reason: "invalid_url" | "domain_not_allowed"; message: string; url?: CanonicalUrl };

/** The research fetcher's question: may this URL be fetched, and if so, fetch `url.href`. */
export function checkUrlAgainstAllowlist(raw: string, patterns: readonly string[]): AllowlistDecision {
  const url = canonicalizeUrl(raw);
  if (!url.ok) return { allowed: false, reason: "invalid_url", message: url.message };
  const pattern = patterns.find((p) => hostMatchesPattern(url, p));
  if (pattern === undefined) return { allowed: false, reason: "domain_not_allowed", message: `host ${url.host} is not in the allowlist`, url };
  return { allowed: true, url, pattern };
}

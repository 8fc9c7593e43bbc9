// Allowlist patterns that reach further than they look (issue 10 item 0). "docs.*" and "*.vercel.app"
// keep matching what the PRD says they match; the CLI (and anyone else) can ask which patterns
// admit hosts anyone may register, because their wildcard covers a public suffix (public-suffix
// list via tldts, private section included: vercel.app, github.io, ... are public suffixes too).
import { getDomain, getPublicSuffix } from "tldts";

export interface PatternWarning {
  pattern: string;
  code: "wildcard_public_suffix";
  message: string;
}

const isPublicSuffix = (name: string) => getPublicSuffix(name, { allowPrivateDomains: true }) === name && getDomain(name, { allowPrivateDomains: true }) === null;

export function allowlistWarnings(patterns: readonly string[]): PatternWarning[] {
  const out: PatternWarning[] = [];
  for (const raw of patterns) {
    const pattern = raw.replace(/:[0-9]{1,5}$/, "");
    if (pattern.endsWith(".*")) {
      out.push({
        pattern: raw,
        code: "wildcard_public_suffix",
        message: `${raw} matches ${pattern.slice(0, -2)}.<any domain under any public suffix>, e.g. ${pattern.slice(0, -2)}.attacker-registered.com; list the real hosts if you can`,
      });
    } else if (pattern.startsWith("*.") && isPublicSuffix(pattern.slice(2))) {
      out.push({
        pattern: raw,
        code: "wildcard_public_suffix",
        message: `${raw} matches every site under the public suffix ${pattern.slice(2)}, which anyone can register or deploy to; name the sites you mean`,
      });
    }
  }
  return out;
}

/** Registrable domain of a host (eTLD+1, PSL private section included); the host itself for IP literals. */
export function registrableDomain(host: string): string {
  const h = host.startsWith("[") ? host : host.toLowerCase();
  if (h.startsWith("[") || /^[0-9.]+$/.test(h)) return h;
  return getDomain(h, { allowPrivateDomains: true }) ?? h;
}

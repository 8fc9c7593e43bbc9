import { describe, expect, it } from "vitest";
import { canonicalizeUrl, checkUrlAgainstAllowlist, hostMatchesPattern, isValidDomainPattern } from "../../shared/net/allowlist.ts";

const PRD = ["github.com", "docs.*", "arxiv.org", "wikipedia.org", "*.vercel.app"];
const verdict = (url: string, patterns: readonly string[] = PRD) => checkUrlAgainstAllowlist(url, patterns);

describe("canonicalizeUrl parses like a browser", () => {
  it.each([
    ["HTTPS://GitHub.COM.", "github.com", "https://github.com/"],
    ["https://evil.com#@github.com", "evil.com", "https://evil.com/"],
    ["https://github.com\\@evil.com", "github.com", "https://github.com/@evil.com"],
    ["https://github%2Ecom/x", "github.com", "https://github.com/x"],
    ["https://github.com%2Eevil.com/", "github.com.evil.com", "https://github.com.evil.com/"],
    ["http://2130706433/", "127.0.0.1", "http://127.0.0.1/"],
    ["http://0x7f.1/", "127.0.0.1", "http://127.0.0.1/"],
    ["http://0177.0.0.1/", "127.0.0.1", "http://127.0.0.1/"],
    ["http://[::1]/", "[::1]", "http://[::1]/"],
    ["https://gіthub.com/", "xn--gthub-n2e.com", "https://xn--gthub-n2e.com/"],
    ["https://münchen.de/ä?q=ü", "xn--mnchen-3ya.de", "https://xn--mnchen-3ya.de/%C3%A4?q=%C3%BC"],
    ["https://github.com:443/a", "github.com", "https://github.com/a"],
    ["  https://github.com/a b  ", "github.com", "https://github.com/a%20b"],
  ])("%s → host %s", (raw, host, href) => {
    const u = canonicalizeUrl(raw);
    expect(u).toMatchObject({ ok: true, host, href });
  });

  it("keeps a non-default port and drops the default one", () => {
    expect(canonicalizeUrl("https://github.com:8443/")).toMatchObject({ ok: true, port: 8443, effectivePort: 8443 });
    expect(canonicalizeUrl("http://github.com:80/")).toMatchObject({ ok: true, port: null, effectivePort: 80 });
  });

  it.each([
    ["javascript:alert(1)", /scheme javascript:/],
    ["file:///etc/passwd", /scheme file:/],
    ["data:text/html,<script>alert(1)</script>", /scheme data:/],
    ["ftp://github.com/", /scheme ftp:/],
    ["https://github.com@evil.example/", /userinfo.*evil\.example/],
    ["https://user:secret@github.com/", /userinfo/],
    ["https://github.com%00.evil.com/", /cannot be parsed/],
    ["https://exa mple.com/", /cannot be parsed/],
    ["not a url", /cannot be parsed/],
    ["", /empty/],
    ["https://" + "a".repeat(9000) + ".com/", /longer than/],
  ])("refuses %s", (raw, message) => {
    const u = canonicalizeUrl(raw);
    expect(u.ok).toBe(false);
    if (!u.ok) expect(u.message).toMatch(message);
  });
});

describe("allowlist patterns (PRD §4.15 list)", () => {
  it.each([
    "https://github.com/anthropics",
    "HTTPS://GitHub.COM./x",
    "https://github.com\\@evil.com",
    "https://docs.python.org/3/",
    "https://docs.rs/tokio",
    "https://arxiv.org/abs/1",
    "https://my-app.vercel.app/",
    "https://a.b.vercel.app/",
    "https://github%2Ecom/",
  ])("allows %s", (url) => {
    expect(verdict(url).allowed).toBe(true);
  });

  it.each([
    ["https://github.com@evil.example/", "invalid_url"],
    ["https://evil.com#@github.com", "domain_not_allowed"],
    ["https://github.com.evil.com/", "domain_not_allowed"],
    ["https://github.com%2Eevil.com/", "domain_not_allowed"],
    ["https://evilgithub.com/", "domain_not_allowed"],
    ["https://gіthub.com/", "domain_not_allowed"], // Cyrillic і: a homograph, punycode differs
    ["https://api.github.com/", "domain_not_allowed"], // exact means exact
    ["https://vercel.app/", "domain_not_allowed"], // "*.vercel.app" is subdomains only, not the apex
    ["https://evilvercel.app/", "domain_not_allowed"],
    ["https://mydocs.example.com/", "domain_not_allowed"],
    ["https://github.com:8443/", "domain_not_allowed"], // a bare pattern means the default port
    ["http://[::1]/", "domain_not_allowed"],
    ["http://2130706433/", "domain_not_allowed"],
    ["javascript:alert(1)", "invalid_url"],
    ["file:///etc/passwd", "invalid_url"],
    ["data:text/plain,hi", "invalid_url"],
  ])("denies %s (%s)", (url, reason) => {
    const v = verdict(url);
    expect(v.allowed).toBe(false);
    if (!v.allowed) expect(v.reason).toBe(reason);
  });

  it("docs.* matches the first label only and never an IP", () => {
    const u = (s: string) => {
      const c = canonicalizeUrl(s);
      if (!c.ok) throw new Error(c.message);
      return c;
    };
    expect(hostMatchesPattern(u("https://docs.example.org/"), "docs.*")).toBe(true);
    expect(hostMatchesPattern(u("https://docs/"), "docs.*")).toBe(false);
    expect(hostMatchesPattern(u("https://www.docs.example.org/"), "docs.*")).toBe(false);
    expect(hostMatchesPattern(u("http://10.0.0.1/"), "10.*")).toBe(false);
    expect(hostMatchesPattern(u("http://10.0.0.1/"), "10.0.0.1")).toBe(true);
  });

  it("a pattern with a port matches that port only", () => {
    expect(verdict("https://internal.example:8443/", ["internal.example:8443"]).allowed).toBe(true);
    expect(verdict("https://internal.example/", ["internal.example:8443"]).allowed).toBe(false);
    expect(verdict("https://github.com/", ["github.com:443"]).allowed).toBe(true);
    expect(verdict("http://[::1]:8080/", ["[::1]:8080"]).allowed).toBe(true);
  });

  it("validates patterns: lowercase ASCII, one wildcard form, valid port", () => {
    for (const ok of ["github.com", "docs.*", "*.vercel.app", "xn--mnchen-3ya.de", "[::1]", "a_b.example:8080", "127.0.0.1"]) {
      expect(isValidDomainPattern(ok), ok).toBe(true);
    }
    for (const bad of ["GitHub.com", "*", "*.*", "docs.*.com", "a.*.b", "münchen.de", "github.com.", "github.com:0", "github.com:70000", "-x.com", "http://github.com", "*github.com", ""]) {
      expect(isValidDomainPattern(bad), bad).toBe(false);
    }
  });

  it("an empty allowlist allows nothing", () => {
    expect(verdict("https://github.com/", []).allowed).toBe(false);
  });
});

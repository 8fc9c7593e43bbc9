// The outbound guard's address rules: every spelling of a host the URL parser accepts becomes the
// canonical form the guard classifies, and every non-public range is named.
import { describe, expect, it } from "vitest";
import { canonicalizeUrl } from "../../shared/net/allowlist.ts";
import { classifyAddress, parseIPv6 } from "../../shared/net/ip.ts";

const hostOf = (raw: string) => {
  const u = canonicalizeUrl(raw);
  if (!u.ok) return null;
  return u.host.startsWith("[") ? u.host.slice(1, -1) : u.host;
};

describe("numeric host notations", () => {
  it.each([
    ["http://127.0.0.1/", "127.0.0.1", "loopback"],
    ["http://2130706433/", "127.0.0.1", "loopback"],
    ["http://0x7f000001/", "127.0.0.1", "loopback"],
    ["http://017700000001/", "127.0.0.1", "loopback"],
    ["http://0x7f.1/", "127.0.0.1", "loopback"],
    ["http://0177.0.0.01/", "127.0.0.1", "loopback"],
    ["http://127.1/", "127.0.0.1", "loopback"],
    ["http://127.0.1/", "127.0.0.1", "loopback"],
    ["http://0/", "0.0.0.0", "unspecified"],
    ["http://169.254.169.254/", "169.254.169.254", "metadata"],
    ["http://2852039166/", "169.254.169.254", "metadata"],
    ["http://0xa9fea9fe/", "169.254.169.254", "metadata"],
    ["http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254", "metadata"],
    ["http://0251.0376.0251.0376/", "169.254.169.254", "metadata"],
    ["http://169.254.43518/", "169.254.169.254", "metadata"],
    ["http://10.1/", "10.0.0.1", "private"],
    ["http://172.31.255.255/", "172.31.255.255", "private"],
    ["http://192.168.0.1./", "192.168.0.1", "private"],
    ["http://100.64.0.1/", "100.64.0.1", "cgnat"],
    ["http://100.100.100.200/", "100.100.100.200", "metadata"],
    ["http://224.0.0.1/", "224.0.0.1", "multicast"],
    ["http://255.255.255.255/", "255.255.255.255", "broadcast"],
    ["http://240.0.0.1/", "240.0.0.1", "reserved"],
    ["http://198.18.0.1/", "198.18.0.1", "benchmarking"],
    ["http://[::1]/", "::1", "loopback"],
    ["http://[0:0:0:0:0:0:0:1]/", "::1", "loopback"],
    ["http://[::]/", "::", "unspecified"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1", "loopback"],
    ["http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe", "metadata"],
    ["http://[::127.0.0.1]/", "::7f00:1", "loopback"],
    ["http://[64:ff9b::10.0.0.1]/", "64:ff9b::a00:1", "private"],
    ["http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe", "metadata"],
    ["http://[2002:7f00:1::]/", "2002:7f00:1::", "loopback"],
    ["http://[2002:a9fe:a9fe::1]/", "2002:a9fe:a9fe::1", "metadata"],
    ["http://[fd00:ec2::254]/", "fd00:ec2::254", "metadata"],
    ["http://[fe80::1]/", "fe80::1", "link_local"],
    ["http://[fc00::1]/", "fc00::1", "unique_local"],
    ["http://[ff02::1]/", "ff02::1", "multicast"],
    ["http://[2001:db8::1]/", "2001:db8::1", "documentation"],
    ["http://8.8.8.8/", "8.8.8.8", "public"],
    ["http://134744072/", "8.8.8.8", "public"],
    ["http://[2606:4700:4700::1111]/", "2606:4700:4700::1111", "public"],
  ])("%s → %s (%s)", (raw, host, cls) => {
    expect(hostOf(raw)).toBe(host);
    expect(classifyAddress(host)).toBe(cls);
  });

  it.each(["http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]/", "http://1.2.3.4.5/", "http://256.1.1.1/", "http://0x100000000/"])("%s does not parse as a URL the guard would fetch", (raw) => {
    expect(hostOf(raw)).toBeNull();
  });

  it("a zone id, stray text or too many groups is not an address", () => {
    expect(parseIPv6("fe80::1%eth0")).toBeNull();
    expect(parseIPv6("1:2:3:4:5:6:7:8:9")).toBeNull();
    expect(parseIPv6("1::2::3")).toBeNull();
    expect(classifyAddress("localhost")).toBe("invalid");
    expect(classifyAddress("01.2.3.4")).toBe("invalid");
  });
});

import { allowlistWarnings, registrableDomain } from "../../shared/net/pattern-lint.ts";

describe("allowlist pattern warnings", () => {
  it("warns for wildcards over a public suffix and leaves specific patterns alone", () => {
    const warned = allowlistWarnings(["github.com", "docs.*", "*.vercel.app", "*.com", "*.co.uk", "*.example.com", "127.0.0.1:8080", "*.github.io"]).map((w) => w.pattern);
    expect(warned).toEqual(["docs.*", "*.vercel.app", "*.com", "*.co.uk", "*.github.io"]);
  });

  it("takes the registrable domain from the public-suffix list", () => {
    expect(registrableDomain("en.wikipedia.org")).toBe("wikipedia.org");
    expect(registrableDomain("www.bbc.co.uk")).toBe("bbc.co.uk");
    expect(registrableDomain("my-app.vercel.app")).toBe("my-app.vercel.app");
    expect(registrableDomain("127.0.0.1")).toBe("127.0.0.1");
  });
});

// IP address parsing and classification for the outbound guard (issue 10 item 0). Runtime-neutral.
//
// The guard refuses a connection when ANY address a host resolves to is not a public unicast
// address. Classification follows the IANA special-purpose registries (RFC 6890 and successors);
// IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo) are
// judged by the IPv4 address they lead to, so ::ffff:127.0.0.1 is loopback, not "public IPv6".

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link_local"
  | "cgnat"
  | "metadata"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "documentation"
  | "benchmarking"
  | "unique_local"
  | "invalid";

export type ParsedIp = { family: 4; bytes: Uint8Array } | { family: 6; bytes: Uint8Array };

/** Strict dotted-quad IPv4 (what resolvers and the WHATWG URL parser produce). */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** IPv6 text (RFC 4291 §2.2, with an embedded IPv4 tail); brackets allowed; a zone id is refused. */
export function parseIPv6(raw: string): Uint8Array | null {
  let s = raw;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  // fe80::1%eth0: a zone names an interface of THIS machine; nothing outbound needs one.
  if (s.includes("%") || s.length === 0 || s.length > 45) return null;
  const words: number[] = [];
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | null => {
    if (side === "") return [];
    const groups = side.split(":");
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (halves.length === 2) {
    const left = parseSide(halves[0]!, false);
    const right = parseSide(halves[1]!, true);
    if (!left || !right || left.length + right.length > 7) return null;
    words.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  } else {
    const all = parseSide(s, true);
    if (!all || all.length !== 8) return null;
    words.push(...all);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function parseIp(s: string): ParsedIp | null {
  const v4 = parseIPv4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(s);
  return v6 ? { family: 6, bytes: v6 } : null;
}

export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== null;
}

const inV4 = (b: Uint8Array, net: [number, number, number, number], bits: number): boolean => {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - 8 * i));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((b[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
};

export function classifyIPv4(b: Uint8Array): AddressClass {
  if (b[0] === 169 && b[1] === 254 && b[2] === 169 && b[3] === 254) return "metadata";
  // Alibaba Cloud's metadata service sits in CGNAT space; named so logs say what it is.
  if (b[0] === 100 && b[1] === 100 && b[2] === 100 && b[3] === 200) return "metadata";
  if (b.every((x) => x === 255)) return "broadcast";
  const table: [[number, number, number, number], number, AddressClass][] = [
    [[0, 0, 0, 0], 8, "unspecified"],
    [[10, 0, 0, 0], 8, "private"],
    [[100, 64, 0, 0], 10, "cgnat"],
    [[127, 0, 0, 0], 8, "loopback"],
    [[169, 254, 0, 0], 16, "link_local"],
    [[172, 16, 0, 0], 12, "private"],
    [[192, 0, 0, 0], 24, "reserved"],
    [[192, 0, 2, 0], 24, "documentation"],
    [[192, 88, 99, 0], 24, "reserved"],
    [[192, 168, 0, 0], 16, "private"],
    [[198, 18, 0, 0], 15, "benchmarking"],
    [[198, 51, 100, 0], 24, "documentation"],
    [[203, 0, 113, 0], 24, "documentation"],
    [[224, 0, 0, 0], 4, "multicast"],
    [[240, 0, 0, 0], 4, "reserved"],
  ];
  for (const [net, bits, cls] of table) if (inV4(b, net, bits)) return cls;
  return "public";
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64, Teredo), if any. */
export function embeddedIPv4(b: Uint8Array): Uint8Array | null {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT translated)
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12, 16);
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return b.slice(12, 16);
  // ::a.b.c.d (deprecated compatible form; ::1 and :: are handled before this)
  if (zero(0, 12)) return b.slice(12, 16);
  // 64:ff9b::/96 (NAT64 well-known) and 64:ff9b:1::/48 (local-use NAT64)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zero(4, 12)) return b.slice(12, 16);
    if (b[4] === 0 && b[5] === 1) return b.slice(12, 16);
  }
  // 2002:AABB:CCDD::/48 (6to4)
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6);
  // 2001:0::/32 (Teredo): the client's address is the last 32 bits, inverted
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return b.slice(12, 16).map((x) => x ^ 0xff);
  return null;
}

export function classifyIPv6(b: Uint8Array): AddressClass {
  if (b.every((x) => x === 0)) return "unspecified";
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return "loopback";
  // AWS's IPv6 instance metadata endpoint.
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  if (hex === "fd000ec2000000000000000000000254") return "metadata";
  const v4 = embeddedIPv4(b);
  if (v4) {
    const c = classifyIPv4(v4);
    // A public IPv4 behind a translation prefix is still a translator we do not control.
    return c === "public" && !(b[0] === 0 && b[1] === 0) ? "reserved" : c;
  }
  if (b[0] === 0xff) return "multicast";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return "link_local";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return "private"; // fec0::/10 site-local (deprecated)
  if ((b[0]! & 0xfe) === 0xfc) return "unique_local";
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return "documentation";
  if (b[0] === 0x3f && b[1] === 0xff && (b[2]! & 0xf0) === 0) return "documentation"; // 3fff::/20
  if (b[0] === 0x01 && b[1] === 0x00 && b.slice(2, 8).every((x) => x === 0)) return "reserved"; // 100::/64 discard
  if (b[0] === 0x20 && b[1] === 0x01 && (b[2]! & 0xfe) === 0) return "reserved"; // 2001::/23 IETF protocols
  // Only 2000::/3 is allocated global unicast; the rest of the space is reserved.
  if ((b[0]! & 0xe0) !== 0x20) return "reserved";
  return "public";
}

/** The class of an address in any text form a resolver or the URL parser hands out. */
export function classifyAddress(address: string): AddressClass {
  const ip = parseIp(address);
  if (!ip) return "invalid";
  return ip.family === 4 ? classifyIPv4(ip.bytes) : classifyIPv6(ip.bytes);
}

export const isPublicAddress = (address: string): boolean => classifyAddress(address) === "public";

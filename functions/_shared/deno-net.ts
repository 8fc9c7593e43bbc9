// The Deno side of the outbound guard (shared/net/guard.ts), for functions running on Supabase's
// edge runtime. Deno's fetch cannot be told which address to connect to (Deno.createHttpClient has
// no resolver hook), so the pinned request is made by hand: Deno.resolveDns for the lookup the guard
// checks, Deno.connect to the checked address, Deno.startTls with the host NAME (SNI and certificate
// verification against the name, as a browser would), and one HTTP/1.1 request with
// "Connection: close" whose response is parsed here (status line, headers, Content-Length, chunked,
// or read to close). Compression is declined (Accept-Encoding: identity) and decoded if sent anyway.
import type { PinnedRequest, Resolver, Transport } from "../../shared/net/guard.ts";

interface DenoConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
}
interface DenoNet {
  resolveDns(name: string, type: "A" | "AAAA"): Promise<string[]>;
  connect(o: { hostname: string; port: number; transport?: "tcp" }): Promise<DenoConn>;
  startTls(conn: DenoConn, o: { hostname: string }): Promise<DenoConn>;
}

const deno = (): DenoNet => {
  const d = (globalThis as unknown as { Deno?: DenoNet }).Deno;
  if (!d) throw new Error("the Deno transport needs the Deno runtime");
  return d;
};

export const denoResolver: Resolver = async (host) => {
  const name = host.startsWith("[") ? host.slice(1, -1) : host;
  const [a, aaaa] = await Promise.all([deno().resolveDns(name, "A").catch(() => []), deno().resolveDns(name, "AAAA").catch(() => [])]);
  return [...a, ...aaaa];
};

const CRLF = new Uint8Array([13, 10, 13, 10]);

function indexOf(buf: Uint8Array, pat: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= buf.length - pat.length; i++) {
    for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/** Decodes Transfer-Encoding: chunked from a byte stream. */
function dechunk(src: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let buf: Uint8Array = new Uint8Array(0);
  let remaining = -1; // bytes left in the current chunk; -1 = expecting a size line
  let done = false;
  const fill = async () => {
    const r = await reader.read();
    if (r.done) throw new Error("connection closed inside a chunked body");
    buf = concat(buf, r.value);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return controller.close();
      for (;;) {
        if (remaining === -1) {
          let nl = indexOf(buf, new Uint8Array([13, 10]));
          while (nl < 0) {
            await fill();
            nl = indexOf(buf, new Uint8Array([13, 10]));
          }
          const size = parseInt(new TextDecoder().decode(buf.slice(0, nl)).split(";")[0]!.trim(), 16);
          buf = buf.slice(nl + 2);
          if (!Number.isFinite(size)) throw new Error("bad chunk size");
          if (size === 0) {
            done = true;
            await reader.cancel().catch(() => {});
            return controller.close();
          }
          remaining = size;
        }
        if (buf.length === 0) await fill();
        const take = Math.min(remaining, buf.length);
        const part = buf.slice(0, take);
        buf = buf.slice(take);
        remaining -= take;
        if (remaining === 0) {
          while (buf.length < 2) await fill();
          buf = buf.slice(2); // the CRLF after the chunk
          remaining = -1;
        }
        if (part.length > 0) return controller.enqueue(part);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function limitTo(src: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left <= 0) {
        await reader.cancel().catch(() => {});
        return controller.close();
      }
      const r = await reader.read();
      if (r.done) return controller.close();
      const part = r.value.slice(0, left);
      left -= part.length;
      controller.enqueue(part);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** A stream that yields `head` first, then the rest of `reader`. */
function prepend(head: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let first = head.length > 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        return controller.enqueue(head);
      }
      const r = await reader.read();
      if (r.done) return controller.close();
      controller.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

export const denoTransport: Transport = async (req: PinnedRequest) => {
  const d = deno();
  const tcp = await d.connect({ hostname: req.address, port: req.url.effectivePort });
  const conn = req.url.scheme === "https" ? await d.startTls(tcp, { hostname: req.url.host.replace(/^\[|\]$/g, "") }) : tcp;
  const abort = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  req.signal.addEventListener("abort", abort, { once: true });
  const path = req.url.href.slice(req.url.href.indexOf("/", req.url.scheme.length + 3)) || "/";
  const headers = new Headers(req.headers);
  headers.set("host", req.url.port === null ? req.url.host : `${req.url.host}:${req.url.port}`);
  headers.set("connection", "close");
  headers.set("accept-encoding", "identity");
  const body = req.body === null ? null : new Uint8Array(await new Response(req.body).arrayBuffer());
  if (body) headers.set("content-length", String(body.length));
  let head = `${req.method} ${path} HTTP/1.1\r\n`;
  headers.forEach((v, k) => {
    head += `${k}: ${v.replace(/[\r\n]/g, " ")}\r\n`;
  });
  const writer = conn.writable.getWriter();
  await writer.write(new TextEncoder().encode(head + "\r\n"));
  if (body) await writer.write(body);
  writer.releaseLock();

  const reader = conn.readable.getReader();
  let buf: Uint8Array = new Uint8Array(0);
  for (;;) {
    let end = indexOf(buf, CRLF);
    while (end < 0) {
      const r = await reader.read();
      if (r.done) throw new Error("connection closed before the response headers");
      buf = concat(buf, r.value);
      if (buf.length > 64 * 1024) throw new Error("response headers larger than 64 KiB");
      end = indexOf(buf, CRLF);
    }
    const lines = new TextDecoder().decode(buf.slice(0, end)).split("\r\n");
    buf = buf.slice(end + 4);
    const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
    if (!status) throw new Error(`not an HTTP/1.x response: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
    const code = Number(status[1]);
    if (code >= 100 && code < 200) continue; // 100 Continue and friends: the real answer follows
    const out = new Headers();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) out.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    let stream: ReadableStream<Uint8Array> | null = prepend(buf, reader);
    if ((out.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) stream = dechunk(stream);
    else if (out.has("content-length")) stream = limitTo(stream, Number(out.get("content-length")));
    const enc = (out.get("content-encoding") ?? "").toLowerCase();
    if (enc === "gzip" || enc === "deflate") stream = stream.pipeThrough(new DecompressionStream(enc) as unknown as TransformStream<Uint8Array, Uint8Array>);
    if (req.method === "HEAD" || code === 204 || code === 304) stream = null;
    return new Response(stream, { status: code, statusText: status[2] ?? "", headers: out });
  }
};

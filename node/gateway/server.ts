// The local gateway: what Supabase's edge runtime does in front of functions, on loopback.
// /functions/v1/<name>/<rest> is checked (verify_jwt) and handed to that function's Hono app as
// /<name>/<rest>, the path a deployed function sees.
import { createServer, type Server } from "node:http";
import { Hono } from "hono";
import { getRequestListener } from "@hono/node-server";
import { verifyBearer } from "../../shared/auth/jwt.ts";
import type { FunctionModule } from "./functions.ts";
import { MAX_BODY_BYTES } from "../../functions/_shared/http.ts";
import { ActpError } from "../../shared/errors.ts";
import type { DashboardFile } from "../dashboard/build.ts";

export interface GatewayOptions {
  functions: FunctionModule[];
  jwtSecret: string;
  /** The built operator dashboard, served at /dashboard/ (static files; no credentials of its own). */
  dashboard?: Map<string, DashboardFile>;
  /** Request bodies past this are refused with 413 (default: the functions' own limit, 1 MiB). */
  maxBodyBytes?: number;
}

// The dashboard is static: it holds no secret, and every call it makes carries the operator's JWT.
const DASHBOARD_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** Passes a body through until `limit` bytes, then fails it with the 413 readJson answers. */
function limitStream(limit: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > limit) controller.error(new ActpError("http.payload_too_large", `body exceeds ${limit} bytes`, { details: { limit } }));
      else controller.enqueue(chunk);
    },
  });
}

export function createGatewayApp(opts: GatewayOptions): Hono {
  opts = { maxBodyBytes: MAX_BODY_BYTES, ...opts };
  const byName = new Map(opts.functions.map((f) => [f.name, f]));
  const gw = new Hono();

  gw.all("/functions/v1/:name{[A-Za-z0-9_-]+}/*", handle);
  gw.all("/functions/v1/:name{[A-Za-z0-9_-]+}", handle);
  gw.get("/", (c) => c.json({ service: "actp local gateway", functions: [...byName.keys()].map((n) => `/functions/v1/${n}`), ...(opts.dashboard ? { dashboard: "/dashboard/" } : {}) }));
  if (opts.dashboard) {
    const files = opts.dashboard;
    gw.get("/dashboard", (c) => c.redirect("/dashboard/", 301));
    gw.get("/dashboard/:file{[a-z0-9.-]*}", (c) => {
      const f = files.get(c.req.param("file") || "index.html");
      if (!f) return c.json({ error: { code: "http.not_found", message: "not found" } }, 404);
      return c.body(f.body, 200, { "content-type": f.type, ...DASHBOARD_HEADERS });
    });
  }
  gw.notFound((c) => c.json({ error: { code: "http.not_found", message: "not found" } }, 404));

  async function handle(c: import("hono").Context) {
    const name = c.req.param("name")!;
    const fn = byName.get(name);
    if (!fn) return c.json({ error: { code: "gateway.function_not_found", message: `function not found: ${name}` } }, 404);
    // Preflight carries no credentials; browsers must get the function's CORS answer.
    if (fn.verifyJwt && c.req.method !== "OPTIONS") {
      const v = await verifyBearer(opts.jwtSecret, c.req.header("authorization"));
      if (!v.ok) return c.json({ error: { code: "auth.unauthorized", message: `Invalid JWT: ${v.reason}` } }, 401);
    }
    // The edge runtime's own request limit, before any function runs: a declared length over it is
    // refused unread, and a chunked body is cut off (413) the moment it passes it.
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > opts.maxBodyBytes!) {
      return c.json({ error: { code: "http.payload_too_large", message: `body exceeds ${opts.maxBodyBytes} bytes` } }, 413, { connection: "close" });
    }
    const url = new URL(c.req.url);
    const prefix = `/functions/v1/${name}`;
    url.pathname = `/${name}${url.pathname.slice(prefix.length)}`;
    const raw = c.req.raw;
    const hasBody = raw.method !== "GET" && raw.method !== "HEAD" && raw.body !== null;
    const init: RequestInit & { duplex?: "half" } = { method: raw.method, headers: raw.headers, signal: raw.signal };
    if (hasBody) {
      init.body = raw.body!.pipeThrough(limitStream(opts.maxBodyBytes!));
      init.duplex = "half"; // Node's fetch needs this to forward a streamed body
    }
    return fn.app.fetch(new Request(url, init));
  }

  return gw;
}

export async function startGateway(app: Hono, host: string, port: number): Promise<{ server: Server; url: string; stop(): Promise<void> }> {
  const server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(port, host, () => res());
  });
  const addr = server.address();
  const boundPort = addr && typeof addr === "object" ? addr.port : port;
  return {
    server,
    url: `http://${host}:${boundPort}`,
    stop: () =>
      new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
}

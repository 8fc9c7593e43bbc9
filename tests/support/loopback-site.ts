// A real HTTP server on loopback for the outbound guard's tests: it records every request it
// receives, so a test can prove nothing was requested past a refused hop.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  host: string;
}

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface LoopbackSite {
  port: number;
  origin: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startLoopbackSite(routes: Record<string, Route>): Promise<LoopbackSite> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://placeholder");
    seen.push({ method: req.method ?? "GET", path: url.pathname + url.search, host: req.headers.host ?? "" });
    const route = routes[url.pathname];
    if (!route) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    Promise.resolve(route(req, res, url)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Routes most tests share: a page, redirects by query, a loop, big, slow and PDF answers. */
export const commonRoutes: Record<string, Route> = {
  "/ok": (_req, res) => void res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("hello"),
  "/redirect": (_req, res, url) => void res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: url.searchParams.get("to") ?? "/ok" }).end(),
  "/loop": (_req, res) => void res.writeHead(302, { location: "/loop" }).end(),
  "/secret": (_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end("the secret"),
  "/big": (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    for (let i = 0; i < 64; i++) res.write("x".repeat(1024));
    res.end();
  },
  "/slow": async (_req, res) => {
    await new Promise((r) => setTimeout(r, 1500));
    if (!res.destroyed) res.writeHead(200, { "content-type": "text/plain" }).end("late");
  },
  "/pdf": (_req, res) => void res.writeHead(200, { "content-type": "application/pdf" }).end("%PDF-1.4"),
};

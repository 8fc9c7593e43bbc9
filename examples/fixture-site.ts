// A tiny local website for the example researcher: a few articles on one topic, a page that always
// answers 500 (to make a job fail on purpose), and a slow page. No network access needed.
import { createServer, type Server } from "node:http";

const PAGES: Record<string, { title: string; body: string }> = {
  "/articles/queues": {
    title: "Why job queues live in Postgres",
    body: "A queue in the same database as the data lets a job and its effects commit together. SKIP LOCKED makes claiming cheap. Retries with backoff absorb transient failures.",
  },
  "/articles/checkpoints": {
    title: "Durable steps and checkpoints",
    body: "A durable step records its output once. After a crash the workflow resumes from the last checkpoint instead of repeating side effects. Step names must be stable.",
  },
  "/articles/dead-letters": {
    title: "Dead-letter queues and human review",
    body: "Jobs that exhaust their retries go to a dead-letter queue. A reviewer replays, fixes or discards them. Every action is recorded for the audit trail.",
  },
};

export interface FixtureSite {
  url: string;
  server: Server;
  /** Requests served, by path: tests read it to prove a step did not fetch twice. */
  hits: Map<string, number>;
  stop(): Promise<void>;
}

export async function startFixtureSite(port = 0): Promise<FixtureSite> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://fixture").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === "/index.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Object.entries(PAGES).map(([p, v]) => ({ path: p, title: v.title }))));
      return;
    }
    if (path === "/broken") {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error (on purpose)");
      return;
    }
    if (path === "/slow") {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><head><title>Slow</title></head><body>eventually</body></html>");
      }, 3000);
      return;
    }
    const page = PAGES[path];
    if (!page) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<html><head><title>${page.title}</title></head><body><article><p>${page.body}</p></article></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    server,
    hits,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const site = await startFixtureSite(Number(process.env.PORT ?? 4599));
  console.log(`fixture site on ${site.url}`);
}

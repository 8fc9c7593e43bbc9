// The research pipeline and the outbound guard's Deno transport under the real Deno binary (what the
// research function runs on Supabase): the same findings, text and hash as Node, and a request pinned
// to the checked address with the Host header kept, against a real loopback server in Node.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";
import { processPage } from "../../shared/research/pipeline.ts";
import { researchCorpus } from "../support/research-corpus.ts";
import { startLoopbackSite, type LoopbackSite } from "../support/loopback-site.ts";

const run = promisify(execFile);
const DENO = resolve(PROJECT_ROOT, "node_modules/.bin/deno");
const mod = (p: string) => JSON.stringify(pathToFileURL(resolve(PROJECT_ROOT, p)).href);

let site: LoopbackSite;
beforeAll(async () => {
  site = await startLoopbackSite({
    "/chunked": (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 50; i++) res.write(`part ${i};`);
      res.end();
    },
    "/redirect": (_req, res) => void res.writeHead(302, { location: "/chunked" }).end(),
  });
});
afterAll(() => site.close());

describe("research under Deno", () => {
  it("the pipeline gives Node's result, and the Deno transport connects to the checked address", async () => {
    const pages = researchCorpus().filter((_, i) => i % 9 === 0);
    const code = `import { processPage } from ${mod("shared/research/pipeline.ts")};
import { denoTransport } from ${mod("functions/_shared/deno-net.ts")};
import { canonicalizeUrl } from ${mod("shared/net/allowlist.ts")};
const pages = JSON.parse(Deno.env.get("PAGES"));
const results = [];
for (const p of pages) {
  const r = await processPage({ url: "https://docs.example.com/x", body: p.html, contentType: "text/html" });
  results.push({ q: r.quarantined, h: r.content_hash, t: r.text, rules: r.findings.map((f) => f.rule) });
}
const url = canonicalizeUrl("http://pinned.test:" + Deno.env.get("PORT") + "/chunked");
const res = await denoTransport({ url, address: "127.0.0.1", method: "GET", headers: new Headers(), body: null, signal: new AbortController().signal });
const redirect = await denoTransport({ url: canonicalizeUrl("http://pinned.test:" + Deno.env.get("PORT") + "/redirect"), address: "127.0.0.1", method: "GET", headers: new Headers(), body: null, signal: new AbortController().signal });
await redirect.body?.cancel();
console.log(JSON.stringify({ results, status: res.status, body: await res.text(), redirect: [redirect.status, redirect.headers.get("location")] }));`;
    const { stdout } = await run(DENO, ["eval", "--config", resolve(PROJECT_ROOT, "deno.json"), code], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, PAGES: JSON.stringify(pages), PORT: String(site.port), NO_COLOR: "1" },
      maxBuffer: 16 * 1024 * 1024,
    });
    const out = JSON.parse(stdout.trim()) as { results: unknown[]; status: number; body: string; redirect: [number, string] };
    const fromNode = [];
    for (const p of pages) {
      const r = await processPage({ url: "https://docs.example.com/x", body: p.html, contentType: "text/html" });
      fromNode.push({ q: r.quarantined, h: r.content_hash, t: r.text, rules: r.findings.map((f) => f.rule) });
    }
    expect(out.results).toEqual(fromNode);
    expect(out.status).toBe(200);
    expect(out.body).toBe(Array.from({ length: 50 }, (_, i) => `part ${i};`).join(""));
    expect(out.redirect).toEqual([302, "/chunked"]);
    // Host kept as the name, connection made to the address given (pinned.test resolves nowhere).
    expect(site.seen.map((r) => r.host)).toEqual([`pinned.test:${site.port}`, `pinned.test:${site.port}`]);
  }, 120_000);
});

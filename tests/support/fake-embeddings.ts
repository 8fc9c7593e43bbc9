// A real local HTTP server speaking the OpenAI embeddings API (POST /v1/embeddings), so the
// OpenAI-compatible embedder runs its own request, response and error paths. Its "model" is a
// deterministic bag of words with a small synonym table (so a paraphrase can land near its source,
// which a lexical embedder cannot do); it can be told to fail, to pause every call (to line up
// races), and it logs what it was asked.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const SYNONYMS: Record<string, string> = {
  car: "automobile", vehicle: "automobile", auto: "automobile",
  rotate: "rotation", rotating: "rotation", rollover: "rotation", renew: "rotation",
  credential: "key", credentials: "key", secret: "key", secrets: "key", keys: "key", token: "key", tokens: "key",
  outage: "incident", downtime: "incident", failure: "incident", incidents: "incident",
};

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function fakeVector(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const w = SYNONYMS[raw] ?? raw;
    v[fnv(w) % dims]! += 1;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

export class FakeEmbeddings {
  readonly requests: { model: string; inputs: string[]; authorization?: string }[] = [];
  url = "";
  dims: number;
  /** Fail the next n calls with this status. */
  failNext = { status: 500, remaining: 0 };
  /** Every call waits for this before answering (a test opens it to release held calls). */
  gate: Promise<void> | null = null;
  #server: Server;

  private constructor(dims: number) {
    this.dims = dims;
    this.#server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        void (async () => {
          if (req.method !== "POST" || !req.url?.endsWith("/embeddings")) {
            res.writeHead(404).end();
            return;
          }
          const parsed = JSON.parse(body) as { model: string; input: string | string[]; dimensions?: number };
          const inputs = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
          this.requests.push({ model: parsed.model, inputs, authorization: req.headers.authorization });
          if (this.gate) await this.gate;
          if (this.failNext.remaining > 0) {
            this.failNext.remaining--;
            res.writeHead(this.failNext.status, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "upstream overloaded" } }));
            return;
          }
          const d = parsed.dimensions ?? this.dims;
          res.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({
              object: "list",
              model: parsed.model,
              data: inputs.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, d) })),
              usage: { prompt_tokens: 0, total_tokens: 0 },
            }),
          );
        })();
      });
    });
  }

  static async start(dims = 64): Promise<FakeEmbeddings> {
    const f = new FakeEmbeddings(dims);
    await new Promise<void>((r) => f.#server.listen(0, "127.0.0.1", r));
    f.url = `http://127.0.0.1:${(f.#server.address() as AddressInfo).port}/v1`;
    return f;
  }

  get texts(): string[] {
    return this.requests.flatMap((r) => r.inputs);
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

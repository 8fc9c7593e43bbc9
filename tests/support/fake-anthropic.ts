// A real local HTTP server speaking the shape of Anthropic's Messages API (POST /v1/messages), so
// tests run the official SDK's own request, response and error code paths. Each model can be told
// to fail (400 invalid request, 500, 529 overloaded, 429 rate limited) for the next n calls or until told otherwise;
// usage tokens are derived from the request (or fixed per model) so cost math is checkable.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { countTokens as legacyCount } from "@anthropic-ai/tokenizer";

export type FakeFailure = 400 | 500 | 529 | 429;

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface FakeRequestLog {
  model: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  status: number;
}

const ERROR_BODIES: Record<FakeFailure, { type: string; message: string }> = {
  400: { type: "invalid_request_error", message: "messages: text content blocks must be non-empty" },
  500: { type: "api_error", message: "Internal server error" },
  529: { type: "overloaded_error", message: "Overloaded" },
  429: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" },
};

export class FakeAnthropic {
  readonly requests: FakeRequestLog[] = [];
  #server: Server;
  #failures = new Map<string, { status: FakeFailure; remaining: number }>();
  #usage = new Map<string, FakeUsage>();
  #seq = 0;
  #responder: ((body: Record<string, unknown>) => string | null | undefined) | null = null;
  url = "";

  private constructor() {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { "content-type": "application/json", "request-id": `req_fake_${++this.#seq}`, ...headers });
        res.end(JSON.stringify(body));
      });
    });
  }

  static async start(): Promise<FakeAnthropic> {
    const fake = new FakeAnthropic();
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The next `times` calls to model fail with status (Infinity: until clear()). */
  fail(model: string, status: FakeFailure, times = Infinity): void {
    this.#failures.set(model, { status, remaining: times });
  }

  /** Answers with exactly these usage figures for model. */
  setUsage(model: string, usage: FakeUsage): void {
    this.#usage.set(model, usage);
  }

  /**
   * Answers /v1/messages with the text fn returns for the request body (null or undefined: the
   * default "fake answer from <model>"), so a test can script what the model says.
   */
  respondWith(fn: ((body: Record<string, unknown>) => string | null | undefined) | null): void {
    this.#responder = fn;
  }

  clear(): void {
    this.#responder = null;
    this.#failures.clear();
    this.#usage.clear();
    this.requests.length = 0;
  }

  callsTo(model: string): number {
    return this.requests.filter((r) => r.model === model).length;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  /** Extra tokens the count endpoint adds, to test a caller that must repack (default 0). */
  countSkew = 0;

  // Counts with Anthropic's published tokenizer, so callers see realistic figures.
  #countTokens(req: IncomingMessage, chunks: Buffer[]): { status: number; body: unknown } {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { model?: string; system?: unknown; messages?: { content: unknown }[] };
    this.requests.push({ model: String(body.model ?? ""), headers: req.headers, body: body as Record<string, unknown>, status: 200 });
    const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v ?? ""));
    const n = legacyCount(text(body.system ?? "")) + (body.messages ?? []).reduce((s, m) => s + legacyCount(text(m.content)) + 4, 0) + 3;
    return { status: 200, body: { input_tokens: n + this.countSkew } };
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://fake");
    if (req.method === "POST" && url.pathname === "/v1/messages/count_tokens") return this.#countTokens(req, chunks);
    if (req.method !== "POST" || url.pathname !== "/v1/messages") {
      return { status: 404, body: { type: "error", error: { type: "not_found_error", message: `no route ${req.method} ${url.pathname}` } } };
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      return { status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "body is not JSON" } } };
    }
    const model = String(body.model ?? "");
    const log: FakeRequestLog = { model, headers: req.headers, body, status: 200 };
    this.requests.push(log);
    if (!req.headers["x-api-key"] && !req.headers.authorization) {
      log.status = 401;
      return { status: 401, body: { type: "error", error: { type: "authentication_error", message: "missing x-api-key" } } };
    }
    if (typeof body.max_tokens !== "number" || !Array.isArray(body.messages)) {
      log.status = 400;
      return { status: 400, body: { type: "error", error: { type: "invalid_request_error", message: "max_tokens and messages are required" } } };
    }
    const failure = this.#failures.get(model);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      log.status = failure.status;
      return {
        status: failure.status,
        body: { type: "error", error: ERROR_BODIES[failure.status] },
        ...(failure.status === 429 ? { headers: { "retry-after": "7" } } : {}),
      };
    }
    const prompt = JSON.stringify(body.messages) + JSON.stringify(body.system ?? "");
    const text = this.#responder?.(body) ?? `fake answer from ${model}`;
    const usage = this.#usage.get(model) ?? {
      input_tokens: Math.ceil(prompt.length / 4),
      output_tokens: Math.min(body.max_tokens, Math.ceil(text.length / 4)),
    };
    return {
      status: 200,
      body: {
        id: `msg_fake_${this.#seq + 1}`,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    };
  }
}

// A fake Telegram Bot API on loopback (port 0): POST /bot<token>/<method> with JSON, answers like
// Telegram ({ ok, result } or { ok: false, error_code, description, parameters }), records every
// call, and can be told to fail the next calls (a 429 with retry_after, say).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeCall {
  method: string;
  token: string;
  body: Record<string, unknown>;
  at: number;
}

export interface FakeTelegram {
  url: string;
  calls: FakeCall[];
  /** The next `times` calls of `method` fail with this answer. */
  failNext(method: string, answer: { error_code: number; description: string; retry_after?: number }, times?: number): void;
  sent(): Array<{ chat_id: number; text: string; reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> } }>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeTelegram(): Promise<FakeTelegram> {
  const calls: FakeCall[] = [];
  const failures: Array<{ method: string; answer: { error_code: number; description: string; retry_after?: number } }> = [];
  let nextId = 1000;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
    req.on("end", () => {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? "");
      res.setHeader("content-type", "application/json");
      if (!m || req.method !== "POST") {
        res.statusCode = 404;
        res.end(JSON.stringify({ ok: false, error_code: 404, description: "Not Found" }));
        return;
      }
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      calls.push({ method: m[2]!, token: m[1]!, body, at: Date.now() });
      const fi = failures.findIndex((f) => f.method === m[2]);
      if (fi >= 0) {
        const { answer } = failures.splice(fi, 1)[0]!;
        res.statusCode = answer.error_code;
        res.end(JSON.stringify({ ok: false, error_code: answer.error_code, description: answer.description, ...(answer.retry_after ? { parameters: { retry_after: answer.retry_after } } : {}) }));
        return;
      }
      if (m[2] === "sendMessage" && typeof body.text === "string" && body.text.length > 4096) {
        res.statusCode = 400;
        res.end(JSON.stringify({ ok: false, error_code: 400, description: "Bad Request: message is too long" }));
        return;
      }
      const result = m[2] === "sendMessage" ? { message_id: nextId++, chat: { id: body.chat_id }, text: body.text } : true;
      res.end(JSON.stringify({ ok: true, result }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    failNext(method, answer, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ method, answer });
    },
    sent() {
      return calls.filter((c) => c.method === "sendMessage").map((c) => c.body as never);
    },
    reset() {
      calls.length = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

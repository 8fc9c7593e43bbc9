// A minimal Postgres wire-protocol client, for tests that must control exactly which messages are
// sent when (a driver always sends Parse..Sync together).
import { connect, type Socket } from "node:net";
import { createRequire } from "node:module";

// node-postgres' own SCRAM client, so the raw client authenticates as every driver does.
const sasl = createRequire(import.meta.url)("pg/lib/crypto/sasl.js") as {
  startSession(mechanisms: string[]): { mechanism: string; response: string; clientNonce: string; message: string };
  continueSession(session: object, password: string, serverData: string): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

export interface ServerMessage {
  type: string;
  body: Buffer;
}

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(s + "\0", "utf8");
const int16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export const msg = {
  parse: (sql: string) => frame("P", Buffer.concat([cstr(""), cstr(sql), int16(0)])),
  bind: (params: string[]) =>
    frame(
      "B",
      Buffer.concat([cstr(""), cstr(""), int16(0), int16(params.length), ...params.flatMap((p) => [int32(Buffer.byteLength(p)), Buffer.from(p)]), int16(0)]),
    ),
  execute: () => frame("E", Buffer.concat([cstr(""), int32(0)])),
  sync: () => frame("S", Buffer.alloc(0)),
};

export class RawPgClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(port: number, host = "127.0.0.1", password = "postgres"): Promise<RawPgClient> {
    const socket = connect(port, host);
    await new Promise<void>((res, rej) => socket.once("connect", res).once("error", rej));
    const c = new RawPgClient(socket);
    const params = Buffer.concat([cstr("user"), cstr("postgres"), cstr("database"), cstr("postgres"), Buffer.from([0])]);
    socket.write(Buffer.concat([int32(params.length + 8), int32(196608), params]));
    // AuthenticationSASL (10), SASLContinue (11), SASLFinal (12), then PGlite's AuthenticationOk.
    const auth = async (): Promise<{ kind: number; data: Buffer }> => {
      const m = await c.next();
      if (m.type === "E") throw new Error(`authentication failed: ${errorText([m])}`);
      if (m.type !== "R") throw new Error(`expected an authentication request, got ${m.type}`);
      return { kind: m.body.readInt32BE(0), data: m.body.subarray(4) };
    };
    const first = await auth();
    if (first.kind === 10) {
      const mechanisms = first.data.toString("utf8").split("\0").filter(Boolean);
      const session = sasl.startSession(mechanisms);
      const initial = Buffer.from(session.response, "utf8");
      socket.write(frame("p", Buffer.concat([cstr(session.mechanism), int32(initial.length), initial])));
      const cont = await auth();
      await sasl.continueSession(session, password, cont.data.toString("utf8"));
      socket.write(frame("p", Buffer.from(session.response, "utf8")));
      sasl.finalizeSession(session, (await auth()).data.toString("utf8"));
    }
    await c.untilReady();
    return c;
  }

  /** The next whole server message. */
  async next(timeoutMs = 10_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length >= len + 1) {
          const m = { type: String.fromCharCode(this.buf[0]!), body: Buffer.from(this.buf.subarray(5, len + 1)) };
          this.buf = this.buf.subarray(len + 1);
          return m;
        }
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for a server message");
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 50);
      });
    }
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Reads server messages up to and including the next ReadyForQuery. */
  async untilReady(timeoutMs = 10_000): Promise<ServerMessage[]> {
    const out: ServerMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.buf.length >= 5) {
        const len = this.buf.readInt32BE(1);
        if (this.buf.length < len + 1) break;
        const m = { type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, len + 1) };
        this.buf = this.buf.subarray(len + 1);
        out.push(m);
        if (m.type === "Z") return out;
      }
      if (Date.now() > deadline) throw new Error("timed out waiting for ReadyForQuery");
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 50);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The first column of the first DataRow, as text. */
export function firstValue(messages: ServerMessage[]): string | null {
  const row = messages.find((m) => m.type === "D");
  if (!row) return null;
  const len = row.body.readInt32BE(2);
  return len < 0 ? null : row.body.subarray(6, 6 + len).toString("utf8");
}

export function errorText(messages: ServerMessage[]): string | null {
  const e = messages.find((m) => m.type === "E");
  return e ? e.body.toString("utf8").replace(/\0/g, " ").trim() : null;
}

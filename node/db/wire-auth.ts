// The server side of the Postgres startup and SCRAM-SHA-256 handshake (RFC 5802 / 7677, as
// PostgreSQL 10+ does it), run on a new socket before any byte reaches PGlite: PGlite itself
// answers every startup with AuthenticationOk, which made the embedded database a superuser for
// anyone who could reach its port. psql, node-postgres and the Supabase CLI (pgx) all speak SCRAM.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const SCRAM_ITERATIONS = 4096;
/** A client that has not finished the handshake by then is dropped (PostgreSQL's authentication_timeout is 60 s). */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Nothing in a startup or SASL message is this large; a client that sends more is not a Postgres client. */
const MAX_HANDSHAKE_MESSAGE = 16 * 1024;

export interface HandshakeOptions {
  /** The only login role the embedded server has (Supabase's local stack: postgres). */
  user: string;
  password: string;
}

export interface Handshake {
  /** The client's StartupMessage, to hand to PGlite once the password was checked. */
  startup: Buffer;
  user: string;
}

/** A FATAL ErrorResponse as a backend sends it before closing. */
export function fatalError(code: string, message: string): Buffer {
  const fields = Buffer.concat([
    field("S", "FATAL"),
    field("V", "FATAL"),
    field("C", code),
    field("M", message),
    Buffer.from([0]),
  ]);
  return message_("E", fields);
}

function field(type: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(type, "ascii"), Buffer.from(value, "utf8"), Buffer.from([0])]);
}

function message_(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "ascii");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function authRequest(kind: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const k = Buffer.alloc(4);
  k.writeInt32BE(kind, 0);
  return message_("R", Buffer.concat([k, data]));
}

class HandshakeFailed extends Error {
  constructor(readonly sqlstate: string, message: string) {
    super(message);
  }
}

/** Reads whole messages off a socket that is in paused mode, without losing bytes between reads. */
class Reader {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;
  private readonly onData = (d: Buffer) => {
    this.buf = Buffer.concat([this.buf, d]);
    if (this.buf.length > MAX_HANDSHAKE_MESSAGE * 2) this.fail();
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly socket: Socket) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("error", this.onEnd);
  }

  private fail(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.ended) throw new HandshakeFailed("08006", "client closed the connection during authentication");
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** An untyped startup-phase packet: int32 length (itself included), then the body. */
  async untyped(): Promise<Buffer> {
    await this.need(4);
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > MAX_HANDSHAKE_MESSAGE) throw new HandshakeFailed("08P01", "invalid startup packet length");
    await this.need(len);
    const out = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    return Buffer.from(out);
  }

  /** A typed message: one type byte, int32 length, body. */
  async typed(): Promise<{ type: string; body: Buffer }> {
    await this.need(5);
    const type = String.fromCharCode(this.buf[0]!);
    const len = this.buf.readInt32BE(1);
    if (len < 4 || len > MAX_HANDSHAKE_MESSAGE) throw new HandshakeFailed("08P01", "invalid message length");
    await this.need(1 + len);
    const body = Buffer.from(this.buf.subarray(5, 1 + len));
    this.buf = this.buf.subarray(1 + len);
    return { type, body };
  }

  /** Stops listening; whatever arrived past the handshake is returned so it is not lost. */
  detach(): Buffer {
    this.socket.pause(); // with no listener a flowing socket would drop what arrives next
    this.socket.off("data", this.onData);
    this.socket.off("end", this.onEnd);
    this.socket.off("close", this.onEnd);
    this.socket.off("error", this.onEnd);
    return this.buf;
  }
}

function startupParameters(packet: Buffer): Record<string, string> {
  const parts = packet.subarray(8).toString("utf8").split("\0");
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) out[parts[i]!] = parts[i + 1]!;
  return out;
}

function scramAttributes(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(",")) {
    const eq = part.indexOf("=");
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** SASLprep's mapping steps (RFC 4013), as libpq and node-postgres apply them before PBKDF2. */
function saslprep(password: string): string {
  return password
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ")
    .replace(/[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu, "")
    .normalize("NFKC");
}

const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();

/**
 * Runs the handshake on a fresh socket. Resolves with the startup packet once the password is
 * right; otherwise answers the client with the FATAL error a PostgreSQL server sends (28P01 for a
 * wrong password, 28000 for an unknown role), closes the socket and resolves null.
 */
export async function authenticateConnection(socket: Socket, opts: HandshakeOptions): Promise<{ handshake: Handshake; rest: Buffer } | null> {
  const reader = new Reader(socket);
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  let user = "";
  try {
    let startup: Buffer;
    for (;;) {
      const packet = await reader.untyped();
      const code = packet.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write("N"); // no TLS on loopback: the client goes on in plain text (sslmode=prefer/disable)
        continue;
      }
      if (code === CANCEL_REQUEST) {
        socket.destroy(); // PGlite has no backend to signal; a cancel gets no answer, as the protocol allows
        return null;
      }
      if (code !== PROTOCOL_3) throw new HandshakeFailed("0A000", `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
      startup = packet;
      break;
    }
    user = startupParameters(startup).user ?? "";

    socket.write(authRequest(10, Buffer.from("SCRAM-SHA-256\0\0", "ascii")));
    const initial = await reader.typed();
    if (initial.type !== "p") throw new HandshakeFailed("08P01", "expected a SASLInitialResponse");
    const nul = initial.body.indexOf(0);
    const mechanism = initial.body.subarray(0, nul).toString("ascii");
    if (mechanism !== "SCRAM-SHA-256") throw new HandshakeFailed("28000", `unsupported SASL mechanism ${mechanism}`);
    const clientFirst = initial.body.subarray(nul + 5).toString("utf8");
    // gs2 header: "n,," (no channel binding) or "y,," (client could, server did not offer it).
    const gs2 = /^([ny]),(?:a=[^,]*)?,/.exec(clientFirst);
    if (!gs2) throw new HandshakeFailed("28000", "SCRAM channel binding is not offered by this server");
    const clientFirstBare = clientFirst.slice(gs2[0].length);
    const clientNonce = scramAttributes(clientFirstBare).get("r");
    if (!clientNonce) throw new HandshakeFailed("08P01", "SCRAM client-first message has no nonce");

    const salt = randomBytes(16);
    const nonce = clientNonce + randomBytes(18).toString("base64");
    const serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${SCRAM_ITERATIONS}`;
    socket.write(authRequest(11, Buffer.from(serverFirst, "utf8")));

    const final = await reader.typed();
    if (final.type !== "p") throw new HandshakeFailed("08P01", "expected a SASLResponse");
    const clientFinal = final.body.toString("utf8");
    const proofAt = clientFinal.lastIndexOf(",p=");
    if (proofAt === -1) throw new HandshakeFailed("08P01", "SCRAM client-final message has no proof");
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = scramAttributes(withoutProof);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), "base64");
    if (attrs.get("r") !== nonce) throw new HandshakeFailed("08P01", "SCRAM nonce mismatch");
    if (attrs.get("c") !== Buffer.from(gs2[0]).toString("base64")) throw new HandshakeFailed("08P01", "SCRAM channel binding mismatch");

    const salted = pbkdf2Sync(saslprep(opts.password), salt, SCRAM_ITERATIONS, 32, "sha256");
    const clientKey = hmac(salted, "Client Key");
    const storedKey = sha256(clientKey);
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const candidate = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) candidate[i] = (proof[i] ?? 0) ^ signature[i]!;
    const passwordOk = proof.length === 32 && timingSafeEqual(sha256(candidate), storedKey);
    // Same answer for an unknown role as for a wrong password, as PostgreSQL gives over SCRAM.
    if (!passwordOk || user !== opts.user) throw new HandshakeFailed("28P01", `password authentication failed for user "${user}"`);

    const serverSignature = hmac(hmac(salted, "Server Key"), authMessage);
    socket.write(authRequest(12, Buffer.from(`v=${serverSignature.toString("base64")}`, "utf8")));
    return { handshake: { startup, user }, rest: reader.detach() };
  } catch (err) {
    reader.detach();
    const e = err instanceof HandshakeFailed ? err : new HandshakeFailed("08P01", (err as Error).message);
    if (socket.writable && e.sqlstate !== "08006") socket.end(fatalError(e.sqlstate, e.message));
    else socket.destroy();
    return null;
  } finally {
    clearTimeout(timer);
  }
}

// The Postgres wire-protocol server in front of PGlite. PGlite is one Postgres session; every
// client is multiplexed onto it. pglite-socket's handlers parse each client's messages, and this
// module decides whose message runs next.
//
// Why not pglite-socket's own queue: it interleaves clients message by message outside explicit
// transactions, so client A's Parse/Bind/Execute/Sync can be split by client B's Parse of the
// unnamed statement ("bind message supplies 5 parameters, but prepared statement "" requires 1").
// Here a client owns the session from its first extended-protocol message until its Sync, and for
// as long as it holds a transaction open, exactly as one backend per client would behave.
import { createServer, type Server, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";
import { authenticateConnection, fatalError } from "./wire-auth.ts";

interface Pending {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: unknown) => void;
}

// Frontend message types that end a unit of work: Sync and simple Query (Terminate is handled apart).
const ENDS_UNIT = new Set(["S", "Q"]);
// Extended-protocol messages that leave the client in the middle of a unit.
const CONTINUES_UNIT = new Set(["P", "B", "D", "E", "C", "H", "F", "d", "c", "f"]);

/** A client that owns the session but sends nothing for this long loses it (its unit is rolled back). */
const OWNER_STALL_MS = 30_000;

/**
 * What a client leaves behind in the shared session when it goes, undone as pgbouncer's
 * server_reset_query does. Not DISCARD ALL: in one shared session it would also drop every other
 * live client's prepared statements, holdable cursors and LISTENs; the leaving client's own named
 * statements are deallocated one by one instead (tracked from its Parse messages), with any
 * statement PREPAREd in SQL. Session advisory locks cannot be told apart by client and are kept.
 */
export const SESSION_RESET_SQL = "reset all; reset role; reset session authorization;";

export class SessionQueue {
  private queue: Pending[] = [];
  private processing = false;
  private owner: number | null = null;
  private ownerIdleTimer: NodeJS.Timeout | null = null;
  /** Clients that have run something in the session: when one leaves, the session is reset. */
  private readonly touched = new Set<number>();
  /** Named prepared statements per client, deallocated when it leaves. */
  private readonly statements = new Map<number, Set<string>>();
  private readonly leftStatements = new Set<string>();
  private resetPending = false;

  /** `sessionDefaults` is SQL that puts back what the platform sets for every session (search_path). */
  constructor(private readonly db: PGlite, private readonly sessionDefaults = "") {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    this.touched.add(handlerId);
    if (message[0] === 0x50) this.recordParse(handlerId, message);
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((p) => {
      if (p.handlerId !== handlerId) return true;
      p.reject(new Error("client disconnected"));
      return false;
    });
  }

  /**
   * Called when a client's socket goes (pglite-socket's detach): its transaction is rolled back and
   * its session state (SET ROLE, search_path, statement_timeout, ...) reset before anyone else runs.
   */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.forget(handlerId);
    if (this.owner === handlerId) await this.releaseOwner();
    else void this.process();
  }

  private forget(handlerId: number): void {
    if (this.touched.delete(handlerId)) this.resetPending = true;
    const names = this.statements.get(handlerId);
    this.statements.delete(handlerId);
    for (const name of names ?? []) {
      // A name another live client also prepared is still in use.
      if (![...this.statements.values()].some((s) => s.has(name))) this.leftStatements.add(name);
    }
  }

  private recordParse(handlerId: number, message: Uint8Array): void {
    const end = message.indexOf(0, 5);
    if (end <= 5) return; // the unnamed statement is replaced by the next Parse anyway
    const name = new TextDecoder().decode(message.subarray(5, end));
    let set = this.statements.get(handlerId);
    if (!set) this.statements.set(handlerId, (set = new Set()));
    set.add(name);
  }

  private async resetSession(): Promise<void> {
    const names = [...this.leftStatements];
    this.leftStatements.clear();
    // Not inside runExclusive: exec and query take PGlite's own lock (nesting them deadlocks), and
    // process() runs one thing at a time already.
    if (this.db.isInTransaction()) await this.db.exec("rollback").catch(() => {});
    await this.db.exec(SESSION_RESET_SQL + this.sessionDefaults).catch((err: unknown) => {
      console.error(`actp: embedded database: session reset failed: ${(err as Error).message}`);
    });
    // SQL-level PREPAREs (psql, scripts) cannot be told apart by client; drivers prepare through
    // the protocol (tracked above), so a statement PREPAREd in SQL goes with any client that leaves.
    const fromSql = await this.db
      .query<{ name: string }>(`select name from pg_prepared_statements where from_sql`)
      .then((r) => r.rows.map((x) => x.name), () => [] as string[]);
    for (const name of [...names, ...fromSql]) {
      await this.db.query(`deallocate "${name.replace(/"/g, '""')}"`).catch(() => {});
    }
  }

  private async releaseOwner(): Promise<void> {
    this.clearOwnerTimer();
    this.owner = null;
    if (this.db.isInTransaction()) await this.db.exec("rollback").catch(() => {});
    void this.process();
  }

  private clearOwnerTimer(): void {
    if (this.ownerIdleTimer) clearTimeout(this.ownerIdleTimer);
    this.ownerIdleTimer = null;
  }

  private next(): Pending | undefined {
    if (this.owner === null) return this.queue.shift();
    const i = this.queue.findIndex((p) => p.handlerId === this.owner);
    return i === -1 ? undefined : this.queue.splice(i, 1)[0];
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        if (this.owner === null && this.resetPending) {
          this.resetPending = false;
          await this.resetSession();
        }
        const item = this.next();
        if (!item) break;
        this.clearOwnerTimer();
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item!.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item!.onData(data);
              },
            }),
          );
        } catch (err) {
          item.reject(err);
          continue;
        }
        const type = String.fromCharCode(item.message[0] ?? 0);
        if (type === "X") {
          // A backend ends its session's transaction when its client leaves; the shared session must too.
          this.owner = null;
          if (this.db.isInTransaction()) await this.db.exec("rollback").catch(() => {});
          this.forget(item.handlerId);
        } else if (ENDS_UNIT.has(type)) {
          this.owner = this.db.isInTransaction() ? item.handlerId : null;
        } else if (CONTINUES_UNIT.has(type)) {
          this.owner = item.handlerId;
        }
        item.resolve(bytes);
      }
      if (this.owner !== null && !this.ownerIdleTimer) {
        const stalled = this.owner;
        this.ownerIdleTimer = setTimeout(() => {
          if (this.owner === stalled) void this.releaseOwner();
        }, OWNER_STALL_MS);
        this.ownerIdleTimer.unref();
      }
    } finally {
      this.processing = false;
    }
  }
}

export interface WireServer {
  port: number;
  stop(): Promise<void>;
}

export interface WireServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  /** Every client must present it (SCRAM-SHA-256) for `user`. */
  password: string;
  user?: string;
  /** SQL run after each session reset to put back what the platform sets for every session. */
  sessionDefaults?: string;
}

export async function serveWireProtocol(db: PGlite, opts: WireServerOptions): Promise<WireServer> {
  await db.waitReady;
  const queue = new SessionQueue(db, opts.sessionDefaults ?? "");
  const handlers = new Set<PGLiteSocketHandler>();
  const handshaking = new Set<Socket>();

  const accept = async (socket: Socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {}); // a client vanishing mid-handshake is not the server's error
    handshaking.add(socket);
    const auth = await authenticateConnection(socket, { user: opts.user ?? "postgres", password: opts.password }).finally(() => handshaking.delete(socket));
    if (!auth) return;
    // The handler's type names pglite-socket's own queue class; ours has the same public surface.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener("close", forget);
    handler.addEventListener("error", forget);
    try {
      // The socket is paused: attach, put back any early bytes, let PGlite answer the startup
      // (AuthenticationOk, parameters, ReadyForQuery), and only then let the client's queries in.
      await handler.attach(socket);
      if (auth.rest.length > 0) socket.unshift(auth.rest);
      await queue.enqueue(handler.handlerId, new Uint8Array(auth.handshake.startup), (data) => {
        if (socket.writable) socket.write(data);
      });
      socket.resume();
    } catch {
      forget();
      socket.destroy();
    }
  };

  const server: Server = createServer((socket: Socket) => {
    if (handlers.size + handshaking.size >= opts.maxConnections) {
      socket.end(fatalError("53300", "sorry, too many clients already"));
      return;
    }
    void accept(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    port: addr && typeof addr === "object" ? addr.port : opts.port,
    async stop() {
      for (const s of handshaking) s.destroy();
      for (const h of handlers) await h.detach(true).catch(() => {});
      handlers.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

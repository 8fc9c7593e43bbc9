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

export class SessionQueue {
  private queue: Pending[] = [];
  private processing = false;
  private owner: number | null = null;
  private ownerIdleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
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

  /** A client that disconnects while owning the session must not leave it inside its transaction. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.releaseOwner();
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
      for (let item = this.next(); item; item = this.next()) {
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

export async function serveWireProtocol(db: PGlite, opts: { host: string; port: number; maxConnections: number }): Promise<WireServer> {
  await db.waitReady;
  const queue = new SessionQueue(db);
  const handlers = new Set<PGLiteSocketHandler>();
  const server: Server = createServer((socket: Socket) => {
    if (handlers.size >= opts.maxConnections) {
      socket.end();
      return;
    }
    // The handler's type names pglite-socket's own queue class; ours has the same public surface.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    handlers.add(handler);
    const forget = () => handlers.delete(handler);
    handler.addEventListener("close", forget);
    handler.addEventListener("error", forget);
    handler.attach(socket).catch(() => {
      forget();
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    port: addr && typeof addr === "object" ? addr.port : opts.port,
    async stop() {
      for (const h of handlers) await h.detach(true).catch(() => {});
      handlers.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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

/** Puts the shared session back to what a fresh backend has, as pgbouncer's server_reset_query does. */
export const SESSION_RESET_SQL = "reset all; reset role; reset session authorization;";

/** Custom settings Supabase's roles and RLS policies read; any other is learned from the client's SQL. */
const KNOWN_CUSTOM_SETTINGS = [
  "request.jwt.claims",
  "request.jwt.claim.sub",
  "request.jwt.claim.role",
  "request.jwt.claim.email",
  "request.headers",
  "request.method",
  "request.path",
];

// A statement that may change session state: SET (not SET LOCAL) / RESET / DISCARD at the start of
// a statement, or a set_config that is not transaction-local. Only then is a client's state read
// back before another client runs, so clients that never SET anything pay nothing for the isolation.
const SESSION_STATEMENT = /(?:^|;)\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*(?:set(?!\s+local\b)|reset|discard)\b/i;
const SET_CONFIG_CALL = /\bset_config\s*\(([^()]*)\)?/gi;
const mayChangeSession = (sql: string): boolean =>
  SESSION_STATEMENT.test(sql) || [...sql.matchAll(SET_CONFIG_CALL)].some((m) => m[1] === undefined || !/,\s*true\s*$/i.test(m[1]));
const CUSTOM_SETTING_NAME = /\bset_config\s*\(\s*'([a-z_][\w]*\.[\w.]+)'|(?:^|;)\s*set\s+(?:session\s+)?([a-z_]\w*\.[\w.]+)/gi;

export interface SessionSetting {
  name: string;
  value: string;
}

/**
 * Reads the session's state that differs from the baseline: every setting SET in this session,
 * the custom ones named so far, SET ROLE and SET SESSION AUTHORIZATION. Role comes last so that
 * settings only the session user may set are applied before it.
 */
const CAPTURE_SQL = `
  select name, value from (
    select 0 as ord, 'session_authorization' as name, current_setting('session_authorization') as value
    union all
    select 1, name, current_setting(name) from pg_settings where source = 'session'
    union all
    select 1, n, current_setting(n, true) from unnest($1::text[]) as n
    union all
    select 2, 'role', current_setting('role')
  ) s where value is not null order by ord, name`;

/**
 * PGlite is one Postgres session and every client shares it, so session state (SET ROLE,
 * search_path, statement_timeout, request.jwt.claims, ...) is swapped as a pooler in session mode
 * would keep it apart: when another client's turn comes, the state of the client that ran is read
 * back (only if it ran a statement that may have changed it), the session is reset, and the next
 * client's own state is applied. A client that leaves takes its state and its named prepared
 * statements with it. Limits: a SET inside a function body is not seen (its effect stays with the
 * session until a reset), and session advisory locks and LISTENs cannot be told apart by client.
 */
export class SessionQueue {
  private queue: Pending[] = [];
  private processing = false;
  private owner: number | null = null;
  private ownerIdleTimer: NodeJS.Timeout | null = null;
  /** The client whose session state is in the session now; null: the defaults. */
  private loaded: number | null = null;
  /** Each client's state that differs from the defaults, as last read back. */
  private readonly saved = new Map<number, SessionSetting[]>();
  /** Clients that ran something that may have changed their state since it was last read back. */
  private readonly dirty = new Set<number>();
  private readonly customNames = new Set(KNOWN_CUSTOM_SETTINGS);
  private baseline: Map<string, string> | null = null;
  /** Named prepared statements per client, deallocated when it leaves. */
  private readonly statements = new Map<number, Set<string>>();
  private readonly leftStatements = new Set<string>();
  private resetPending = false;
  /** Clients that have sent something and not left. */
  private readonly live = new Set<number>();

  /** `sessionDefaults` is SQL that puts back what the platform sets for every session (search_path). */
  constructor(private readonly db: PGlite, private readonly sessionDefaults = "") {}

  /** Applies the defaults and records them as the state every client starts from. */
  async init(): Promise<void> {
    await this.db.exec(SESSION_RESET_SQL + this.sessionDefaults);
    this.baseline = new Map((await this.readSession()).map((s) => [s.name, s.value]));
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    this.live.add(handlerId);
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
   * its session state reset before anyone else runs.
   */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.forget(handlerId);
    if (this.owner === handlerId) await this.releaseOwner();
    else void this.process();
  }

  private forget(handlerId: number): void {
    this.live.delete(handlerId);
    if (this.loaded === handlerId) {
      if (this.dirty.has(handlerId) || this.saved.has(handlerId)) this.resetPending = true;
      this.loaded = null;
    }
    this.dirty.delete(handlerId);
    this.saved.delete(handlerId);
    const names = this.statements.get(handlerId);
    this.statements.delete(handlerId);
    for (const name of names ?? []) {
      // A name another live client also prepared is still in use.
      if (![...this.statements.values()].some((s) => s.has(name))) this.leftStatements.add(name);
    }
    if (this.leftStatements.size > 0) this.resetPending = true;
  }

  private recordParse(handlerId: number, message: Uint8Array): void {
    const end = message.indexOf(0, 5);
    if (end <= 5) return; // the unnamed statement is replaced by the next Parse anyway
    const name = new TextDecoder().decode(message.subarray(5, end));
    let set = this.statements.get(handlerId);
    if (!set) this.statements.set(handlerId, (set = new Set()));
    set.add(name);
  }

  /** After a client's Query or Parse ran: note whether its session state may have changed. */
  private noteStatement(handlerId: number, message: Uint8Array): void {
    const type = message[0];
    let text: string;
    if (type === 0x51) text = new TextDecoder().decode(message.subarray(5, message.length - 1));
    else if (type === 0x50) {
      const nameEnd = message.indexOf(0, 5);
      const queryEnd = message.indexOf(0, nameEnd + 1);
      text = new TextDecoder().decode(message.subarray(nameEnd + 1, queryEnd));
    } else return;
    if (!mayChangeSession(text)) return;
    this.dirty.add(handlerId);
    for (const m of text.matchAll(CUSTOM_SETTING_NAME)) this.customNames.add((m[1] ?? m[2]!).toLowerCase());
  }

  private async readSession(): Promise<SessionSetting[]> {
    const { rows } = await this.db.query<SessionSetting>(CAPTURE_SQL, [[...this.customNames]]);
    return rows;
  }

  /** The session's state that differs from the baseline. */
  private async captureState(): Promise<SessionSetting[]> {
    const rows = await this.readSession();
    const base = this.baseline ?? new Map<string, string>();
    return rows.filter((r) => (base.get(r.name) ?? (r.name === "role" ? "none" : "")) !== r.value);
  }

  private async restoreDefaults(): Promise<void> {
    await this.db.exec(SESSION_RESET_SQL + this.sessionDefaults).catch((err: unknown) => {
      console.error(`actp: embedded database: session reset failed: ${(err as Error).message}`);
    });
  }

  /** Puts `next`'s session state in place of the loaded client's. */
  private async switchTo(next: number): Promise<void> {
    const prev = this.loaded;
    let mustReset = prev !== null && this.saved.has(prev);
    if (prev !== null && this.dirty.delete(prev)) {
      try {
        const state = await this.captureState();
        if (state.length > 0) this.saved.set(prev, state);
        else this.saved.delete(prev);
        mustReset = state.length > 0;
      } catch (err) {
        // Unknown state must not leak to the next client: it is reset, and that client loses it.
        console.error(`actp: embedded database: could not read a client's session state: ${(err as Error).message}`);
        this.saved.delete(prev);
        mustReset = true;
      }
    }
    if (mustReset) await this.restoreDefaults();
    for (const s of this.saved.get(next) ?? []) {
      await this.db.query(`select set_config($1, $2, false)`, [s.name, s.value]).catch((err: unknown) => {
        console.error(`actp: embedded database: could not restore ${s.name} for a client: ${(err as Error).message}`);
      });
    }
    this.loaded = next;
  }

  private async resetSession(): Promise<void> {
    const names = [...this.leftStatements];
    this.leftStatements.clear();
    // Not inside runExclusive: exec and query take PGlite's own lock (nesting them deadlocks), and
    // process() runs one thing at a time already.
    if (this.db.isInTransaction()) await this.db.exec("rollback").catch(() => {});
    await this.restoreDefaults();
    this.loaded = null;
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
        const item = this.next();
        if (!item) break;
        // Between units of work (no transaction, no extended-protocol unit in flight) the session
        // can be handed over: first what departed clients left, then the next client's own state.
        if (this.owner === null) {
          if (this.resetPending) {
            this.resetPending = false;
            await this.resetSession();
          }
          if (item.handlerId !== this.loaded) await this.switchTo(item.handlerId);
          if (!this.live.has(item.handlerId)) {
            // It left while the session was being handed to it.
            if (this.loaded === item.handlerId) {
              this.loaded = null;
              this.resetPending = true;
            }
            item.reject(new Error("client disconnected"));
            continue;
          }
        }
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
        this.noteStatement(item.handlerId, item.message);
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
  await queue.init();
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

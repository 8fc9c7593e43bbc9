// The process side of §4.13: `actp worker` runs its workers as child processes and replaces them.
// A child whose RSS passes the threshold is drained (stops taking jobs, finishes what it holds,
// exits as `recycled`) while its replacement starts; a child whose event loop stops answering pings
// is killed and replaced; a child that dies is replaced. The database side (actp_supervisor_tick)
// requeues whatever a killed child held.
import { fork, type ChildProcess } from "node:child_process";

const TSX_LOADER = import.meta.resolve("tsx");
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { ChildConfig, ChildMessage, ParentMessage } from "./child.ts";
import { DEFAULT_HEARTBEAT_MS, WORK_DEFAULTS } from "./runtime.ts";

const send = (proc: ChildProcess, m: ParentMessage) => proc.send(m, () => {});

export interface SupervisorOptions {
  module: string;
  connectionString: string;
  /** Worker processes to keep running. */
  processes?: number;
  concurrency?: number;
  /** Drain and replace a child above this RSS. Default 512 MiB. */
  maxRssBytes?: number;
  pingIntervalMs?: number;
  /** A child that has not answered a ping for this long is killed. Default 10 s. */
  pingTimeoutMs?: number;
  listenNotify?: boolean;
  /** Each child's worker heartbeat interval (liveness, RSS, cancellation, supervisor tick), ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Jobs each child fetches per pg-boss round trip (WorkerOptions.batchSize). Default 1. */
  batchSize?: number;
  log?: (line: string) => void;
}

interface Child {
  proc: ChildProcess;
  workerId: string;
  ready: boolean;
  draining: boolean;
  lastPongAt: number;
  rss: number;
}

export type SupervisorEvent =
  | { type: "started"; workerId: string; pid: number }
  | { type: "ready"; workerId: string }
  | { type: "recycling"; workerId: string; rss: number }
  | { type: "unresponsive"; workerId: string }
  | { type: "exited"; workerId: string; code: number | null; signal: string | null };

export class WorkerSupervisor {
  readonly #o: Required<Omit<SupervisorOptions, "log">> & { log: (line: string) => void };
  readonly #children = new Set<Child>();
  readonly #listeners: ((e: SupervisorEvent) => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #seq = 0;
  #stopping = false;
  #failedStarts = 0;

  constructor(o: SupervisorOptions) {
    this.#o = {
      processes: 1,
      concurrency: 4,
      maxRssBytes: 512 * 1024 * 1024,
      pingIntervalMs: 2000,
      pingTimeoutMs: 10_000,
      listenNotify: true,
      heartbeatIntervalMs: DEFAULT_HEARTBEAT_MS,
      batchSize: WORK_DEFAULTS.batchSize,
      log: () => {},
      ...o,
    };
  }

  on(listener: (e: SupervisorEvent) => void): void {
    this.#listeners.push(listener);
  }

  #event(e: SupervisorEvent): void {
    this.#o.log(`supervisor: ${e.type} ${e.workerId}`);
    for (const l of this.#listeners) l(e);
  }

  /** Live children (pid, worker id, RSS at the last pong), draining ones included. */
  children(): { pid: number; workerId: string; ready: boolean; draining: boolean; rss: number }[] {
    return [...this.#children].map((c) => ({ pid: c.proc.pid ?? 0, workerId: c.workerId, ready: c.ready, draining: c.draining, rss: c.rss }));
  }

  start(): void {
    for (let i = 0; i < this.#o.processes; i++) this.#spawn();
    this.#timer = setInterval(() => this.#check(), this.#o.pingIntervalMs);
  }

  /** Resolves once `processes` children that are not draining have said they are ready. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ([...this.#children].filter((c) => c.ready && !c.draining).length < this.#o.processes) {
      if (Date.now() > until) throw new Error("worker children did not become ready in time");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #spawn(): void {
    const workerId = `${hostname()}-w${randomBytes(4).toString("hex")}`;
    const cfg: ChildConfig = {
      module: this.#o.module,
      connectionString: this.#o.connectionString,
      concurrency: this.#o.concurrency,
      workerId,
      listenNotify: this.#o.listenNotify,
      heartbeatIntervalMs: this.#o.heartbeatIntervalMs,
      batchSize: this.#o.batchSize,
    };
    const proc = fork(new URL("./child.ts", import.meta.url).pathname, [], {
      // tsx as actp resolves it: the project running `npx actp worker` need not depend on tsx itself.
      execArgv: ["--import", TSX_LOADER],
      env: { ...process.env, ACTP_WORKER_CHILD: JSON.stringify(cfg) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const child: Child = { proc, workerId, ready: false, draining: false, lastPongAt: Date.now(), rss: 0 };
    this.#children.add(child);
    this.#event({ type: "started", workerId, pid: proc.pid ?? 0 });
    proc.on("message", (m: ChildMessage) => {
      if (m.type === "ready") {
        child.ready = true;
        child.lastPongAt = Date.now();
        this.#event({ type: "ready", workerId });
      } else if (m.type === "pong") {
        child.lastPongAt = Date.now();
        child.rss = m.rss;
        if (m.rss > this.#o.maxRssBytes && !child.draining && !this.#stopping && this.#draining() < this.#o.processes) this.#recycle(child);
      }
    });
    proc.on("exit", (code, signal) => {
      this.#children.delete(child);
      this.#event({ type: "exited", workerId, code, signal });
      // A drained child was replaced when its drain began; any other exit needs a replacement. One
      // that died before it was ready (bad module, database unreachable) would die again at once, so
      // those replacements back off (0.5 s doubling to 30 s) instead of forking in a tight loop.
      if (this.#stopping || child.draining) return;
      this.#failedStarts = child.ready ? 0 : this.#failedStarts + 1;
      const delay = this.#failedStarts === 0 ? 0 : Math.min(30_000, 500 * 2 ** (this.#failedStarts - 1));
      if (delay === 0) this.#spawn();
      else setTimeout(() => !this.#stopping && this.#spawn(), delay).unref();
    });
  }

  // Each recycle starts a replacement before the old child has finished, so live processes are
  // capped at twice `processes`: a threshold below a fresh child's own RSS churns, it cannot fork-bomb.
  #draining(): number {
    return [...this.#children].filter((c) => c.draining).length;
  }

  #recycle(child: Child): void {
    child.draining = true;
    this.#event({ type: "recycling", workerId: child.workerId, rss: child.rss });
    send(child.proc, { type: "drain", status: "recycled" });
    this.#spawn();
  }

  #check(): void {
    const now = Date.now();
    for (const c of this.#children) {
      // Startup (migrations, pg-boss start) is not a hang. A draining child is still pinged: one that
      // hangs while it finishes its jobs is killed too (its replacement already runs).
      if (!c.ready) continue;
      if (now - c.lastPongAt > this.#o.pingTimeoutMs) {
        this.#event({ type: "unresponsive", workerId: c.workerId });
        c.proc.kill("SIGKILL");
        continue;
      }
      send(c.proc, { type: "ping", seq: ++this.#seq });
    }
  }

  /** Drains every child and waits for them to exit. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    const exits = [...this.#children].map((c) => new Promise<void>((r) => (c.proc.exitCode !== null ? r() : c.proc.once("exit", () => r()))));
    for (const c of this.#children) {
      if (c.ready) send(c.proc, { type: "drain", status: "dead" });
      else c.proc.kill("SIGTERM");
    }
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 30_000))]);
    for (const c of this.#children) c.proc.kill("SIGKILL");
  }
}

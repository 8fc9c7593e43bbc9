// The worker side of the breakers: the database decides every transition, this keeps the hot path
// free. A tool seen closed is trusted closed for closedTtlMs (default 1 s) without asking again, and
// a success while closed is not reported at all, so a healthy tool costs zero extra round trips.
// The price: another worker's "open" reaches this process up to closedTtlMs late.
import type { Queryable } from "../db/types.ts";
import type { CircuitDecision, CircuitTransition } from "./schema.ts";
import { acquireCircuit, recordCircuit, type RecordInput } from "./sql.ts";

export interface CircuitBreakerOptions {
  /** How long a closed answer is reused in this process. */
  closedTtlMs?: number;
  /** Names this process as a probe holder (shown in actp_circuit_states.probe_holder). */
  holder?: string | null;
  now?: () => number;
}

/** What the caller got from acquire and must hand back to record: decides whether it was the probe. */
export type CircuitTicket = CircuitDecision & { tool: string; cached: boolean };

export const DEFAULT_CLOSED_TTL_MS = 1_000;

export class CircuitBreakers {
  readonly #db: Queryable;
  readonly #ttl: number;
  readonly #holder: string | null;
  readonly #now: () => number;
  readonly #closedUntil = new Map<string, number>();

  constructor(db: Queryable, opts: CircuitBreakerOptions = {}) {
    this.#db = db;
    this.#ttl = opts.closedTtlMs ?? DEFAULT_CLOSED_TTL_MS;
    this.#holder = opts.holder ?? null;
    this.#now = opts.now ?? Date.now;
  }

  /** Asks the shared breaker only when this process has no fresh "closed" for the tool. */
  async acquire(tool: string): Promise<CircuitTicket> {
    const until = this.#closedUntil.get(tool);
    if (until !== undefined && until > this.#now()) return { decision: "allow", state: "closed", tool, cached: true };
    const d = await acquireCircuit(this.#db, tool, this.#holder);
    if (d.decision === "allow") this.#closedUntil.set(tool, this.#now() + this.#ttl);
    else this.#closedUntil.delete(tool);
    return { ...d, tool, cached: false };
  }

  /**
   * Reports the outcome of a call made under a ticket. Returns null when nothing had to be sent
   * (a success on a closed breaker).
   */
  async record(ticket: CircuitTicket, success: boolean, error?: RecordInput["error"]): Promise<CircuitTransition | null> {
    const isProbe = ticket.decision === "probe";
    if (success && !isProbe) return null;
    const t = await recordCircuit(this.#db, ticket.tool, {
      success,
      isProbe,
      probeId: isProbe ? ticket.probe_id : null,
      error: error ?? null,
    });
    if (t.state === "closed") {
      if (t.transition === "closed") this.#closedUntil.set(ticket.tool, this.#now() + this.#ttl);
    } else {
      this.#closedUntil.delete(ticket.tool);
    }
    return t;
  }

  /** Forgets cached answers (after an operator reset, or in tests). */
  forget(tool?: string): void {
    if (tool === undefined) this.#closedUntil.clear();
    else this.#closedUntil.delete(tool);
  }
}

// One breaker client per database handle, so every job of a worker process shares one cache.
const perDatabase = new WeakMap<object, CircuitBreakers>();

export function circuitBreakersFor(db: Queryable, opts?: CircuitBreakerOptions): CircuitBreakers {
  let cb = perDatabase.get(db);
  if (!cb) {
    cb = new CircuitBreakers(db, opts);
    perDatabase.set(db, cb);
  }
  return cb;
}

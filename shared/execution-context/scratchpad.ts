/**
 * L0 registers / scratchpad (PRD-018 §4.6): per-step temporary key-value state for one job run.
 *
 * Lives in the worker's memory only and is never persisted; this module imports nothing, so it cannot
 * reach a database. The worker calls `release(jobId)` when the job completes or fails.
 */

export const DEFAULT_SCRATCHPAD_MAX_BYTES_PER_JOB = 8 * 1024 * 1024;
const MAX_VALUE_DEPTH = 64;

/** A scratchpad value: JSON data (plain objects, arrays, strings, finite numbers, booleans, null). */
export type ScratchValue = null | boolean | number | string | ScratchValue[] | { [key: string]: ScratchValue | undefined };

export class ScratchpadLimitError extends Error {
  readonly code = "scratchpad.limit_exceeded";
  constructor(
    readonly jobId: string,
    readonly stepId: string,
    readonly key: string,
    readonly capBytes: number,
    readonly attemptedBytes: number,
  ) {
    super(
      `scratchpad for job ${jobId} would hold ${attemptedBytes} bytes after setting "${key}" in step "${stepId}", ` +
        `over its cap of ${capBytes} bytes; nothing was changed (keep large data in storage and put a reference here)`,
    );
    this.name = "ScratchpadLimitError";
  }
}

export class ScratchpadValueError extends Error {
  readonly code = "scratchpad.invalid_value";
  constructor(
    readonly key: string,
    readonly path: string,
    reason: string,
  ) {
    super(`scratchpad value for "${key}" is not JSON data at ${path}: ${reason}`);
    this.name = "ScratchpadValueError";
  }
}

export class ScratchpadReleasedError extends Error {
  readonly code = "scratchpad.released";
  constructor(
    readonly jobId: string,
    readonly stepId: string,
  ) {
    super(
      `scratchpad for job ${jobId} (step "${stepId}") was released when the job run ended; ` +
        `a late tool call or callback is using it`,
    );
    this.name = "ScratchpadReleasedError";
  }
}

export interface Scratchpad {
  readonly jobId: string;
  readonly stepId: string;
  /** A copy of the stored value, so changing it does not change the scratchpad. */
  get<T = unknown>(key: string): T | undefined;
  /**
   * Stores a copy of JSON data (see ScratchValue). Typed `unknown` because interface-typed values
   * are not assignable to an index signature; the shape is checked when called instead. Throws
   * ScratchpadValueError or ScratchpadLimitError and then changes nothing.
   */
  set(key: string, value: unknown): void;
  delete(key: string): boolean;
  has(key: string): boolean;
  /** Keys of this step, in insertion order. */
  keys(): string[];
}

export interface ScratchpadStats {
  jobs: number;
  steps: number;
  keys: number;
  bytes: number;
}

type Entry = { value: ScratchValue; bytes: number };
type JobState = { released: boolean; bytes: number; steps: Map<string, Map<string, Entry>> };

// The UTF-8 size Postgres will store; TextEncoder exists in Deno and Node alike.
const utf8 = new TextEncoder();
function utf8Length(s: string): number {
  return utf8.encode(s).byteLength;
}

function formatPath(path: (string | number)[]): string {
  return path.length === 0 ? "the top level" : `$${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`;
}

// JSON-only, although structuredClone could copy Map, Date and friends: sizes are measured as JSON,
// which would count a Map as "{}" and let the cap be bypassed, and JSON data is what a step would
// checkpoint anyway.
function assertJsonData(key: string, value: unknown): void {
  const ancestors = new Set<object>();
  const fail = (path: (string | number)[], reason: string): never => {
    throw new ScratchpadValueError(key, formatPath(path), reason);
  };
  const visit = (v: unknown, path: (string | number)[]): void => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) fail(path, `${v} is not a finite number`);
        return;
      case "undefined":
        if (path.length === 0) fail(path, "undefined is not a value; use delete(key) to remove a key");
        return;
      case "object":
        break;
      default:
        fail(path, `${typeof v} values cannot be stored`);
    }
    if (v === null) return;
    const obj = v as object;
    if (ancestors.has(obj)) fail(path, "the value contains a reference cycle");
    if (path.length >= MAX_VALUE_DEPTH) fail(path, `nested deeper than ${MAX_VALUE_DEPTH} levels`);
    ancestors.add(obj);
    if (Array.isArray(obj)) {
      obj.forEach((item, i) => visit(item, [...path, i]));
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? "object";
        fail(path, `${name} is not a plain object${obj instanceof Date ? "; store date.toISOString()" : ""}`);
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) fail(path, "symbol-keyed properties cannot be stored");
      for (const [k, child] of Object.entries(obj)) visit(child, [...path, k]);
    }
    ancestors.delete(obj);
  };
  visit(value, []);
}

function copy<T>(value: T): T {
  return typeof value === "object" && value !== null ? structuredClone(value) : value;
}

export class ScratchpadRegistry {
  readonly maxBytesPerJob: number;
  readonly #jobs = new Map<string, JobState>();

  constructor(options: { maxBytesPerJob?: number } = {}) {
    const cap = options.maxBytesPerJob ?? DEFAULT_SCRATCHPAD_MAX_BYTES_PER_JOB;
    if (!Number.isSafeInteger(cap) || cap <= 0) throw new RangeError(`maxBytesPerJob must be a positive integer, got ${cap}`);
    this.maxBytesPerJob = cap;
  }

  /**
   * The scratchpad of one step. A handle belongs to the job run it was taken in: after `release`,
   * it throws instead of quietly starting a new store that nothing would ever release.
   */
  forStep(jobId: string, stepId: string): Scratchpad {
    if (typeof jobId !== "string" || jobId.length === 0) throw new TypeError("jobId must be a non-empty string");
    if (typeof stepId !== "string" || stepId.length === 0) throw new TypeError("stepId must be a non-empty string");
    let job = this.#jobs.get(jobId);
    if (!job) {
      job = { released: false, bytes: 0, steps: new Map() };
      this.#jobs.set(jobId, job);
    }
    return this.#handle(jobId, stepId, job);
  }

  /** Drops every step of the job; existing handles for it stop working. Returns whether it had state. */
  release(jobId: string): boolean {
    const job = this.#jobs.get(jobId);
    if (!job) return false;
    job.released = true;
    job.steps.clear();
    job.bytes = 0;
    this.#jobs.delete(jobId);
    return true;
  }

  stats(): ScratchpadStats {
    let steps = 0;
    let keys = 0;
    let bytes = 0;
    for (const job of this.#jobs.values()) {
      bytes += job.bytes;
      for (const entries of job.steps.values()) {
        steps++;
        keys += entries.size;
      }
    }
    return { jobs: this.#jobs.size, steps, keys, bytes };
  }

  #handle(jobId: string, stepId: string, job: JobState): Scratchpad {
    const cap = this.maxBytesPerJob;
    const live = (): JobState => {
      if (job.released) throw new ScratchpadReleasedError(jobId, stepId);
      return job;
    };
    const assertKey = (key: unknown): void => {
      if (typeof key !== "string" || key.length === 0) throw new TypeError("scratchpad keys must be non-empty strings");
    };
    return {
      jobId,
      stepId,
      get<T = unknown>(key: string): T | undefined {
        const entry = live().steps.get(stepId)?.get(key);
        return entry === undefined ? undefined : (copy(entry.value) as T);
      },
      set(key: string, value: unknown): void {
        assertKey(key);
        const state = live();
        assertJsonData(key, value);
        const bytes = utf8Length(key) + utf8Length(JSON.stringify(value));
        const previous = state.steps.get(stepId)?.get(key)?.bytes ?? 0;
        const total = state.bytes - previous + bytes;
        if (total > cap) throw new ScratchpadLimitError(jobId, stepId, key, cap, total);
        // Copy before touching state, so a value that fails to clone leaves nothing half-written.
        const stored = copy(value as ScratchValue);
        let entries = state.steps.get(stepId);
        if (!entries) {
          entries = new Map();
          state.steps.set(stepId, entries);
        }
        entries.set(key, { value: stored, bytes });
        state.bytes = total;
      },
      delete(key: string): boolean {
        const state = live();
        const entries = state.steps.get(stepId);
        const entry = entries?.get(key);
        if (!entries || entry === undefined) return false;
        entries.delete(key);
        state.bytes -= entry.bytes;
        if (entries.size === 0) state.steps.delete(stepId);
        return true;
      },
      has(key: string): boolean {
        return live().steps.get(stepId)?.has(key) ?? false;
      },
      keys(): string[] {
        return [...(live().steps.get(stepId)?.keys() ?? [])];
      },
    };
  }
}

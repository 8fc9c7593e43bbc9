// The context an agent's handler receives for one job attempt. Durable steps, progress, the
// scratchpad, cancellation and event emission all go through it, so a handler written against it
// gets checkpoints, timelines and cancellation without code of its own.
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { Database } from "../../shared/db/types.ts";
import { emit, validateEvents } from "../../shared/events/emit.ts";
import type { EventInput } from "../../shared/events/registry.ts";
import type { Scratchpad, ScratchpadRegistry } from "../../shared/execution-context/index.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { FlagCache, flagsFor, type ContextFlags } from "../../shared/flags/client.ts";
import { DuplicateStepError, toJobError } from "./errors.ts";
import type { JobInfo } from "./job-info.ts";
import { assembleForJob, type AssembledContext, type JobContextRequest } from "./context-assembly.ts";
import { proposeForJob, type JobProposal } from "./propose.ts";
import type { Proposal } from "../../shared/memory-gate/contracts.ts";
import { runGuardedFetch, type GuardedFetchInit, type GuardedFetchResponse } from "./guardrails/fetch.ts";
import { researchFor, type ResearchApi } from "./research.ts";
import {
  runLlmCall,
  runToolCall,
  type LlmRequest,
  type LlmResult,
  type ToolCallOptions,
  type ToolFn,
} from "./guardrails/index.ts";

// One flag cache per worker process: a flag read by many jobs costs one query per few seconds.
const processFlagCache = new FlagCache();

export interface StepOptions {
  /** What the step works on; its hash is recorded with the checkpoint (default: the job's input). */
  input?: unknown;
}

export type ProgressUpdate = string | { message: string; pct?: number; artifact_ref?: string; [key: string]: unknown };

export interface JobContext<Input = unknown> {
  readonly jobId: string;
  readonly agent: string;
  readonly input: Input;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** Aborted on cancellation, on timeout, and when the claim was released to another worker. */
  readonly signal: AbortSignal;
  /** What guardrails (ctx.tool, ctx.llm) need to know about this job. */
  readonly info: JobInfo;
  /**
   * Runs fn once per job: when a step of this name completed before (earlier attempt, crashed
   * worker, or a replay that reuses it), its recorded output is returned and fn does not run.
   * The output must be JSON; what fn returns comes back as its JSON round trip, the same value a
   * later attempt would get from the checkpoint.
   */
  step<T>(name: string, fn: () => Promise<T> | T, options?: StepOptions): Promise<T>;
  /** Records progress on the job and emits job.progress. */
  progress(update: ProgressUpdate): Promise<void>;
  /** The scratchpad of the step running now (or of "job" outside any step); released when the attempt ends. */
  readonly scratch: Scratchpad;
  /** Emits events for this job; job_id, agent_slug and the current step are filled in. */
  emit(events: EventInput | readonly EventInput[]): Promise<void>;
  /** Name of the durable step running now, if any. */
  currentStep(): string | null;
  /**
   * Calls a tool under every guardrail: policy check (budget reservation, rate limit, allowlist of
   * options.url, approvals) → circuit breaker (or the configured fallback) → fn → settle → events.
   * A denial throws ToolDeniedError with its reason and retry_after.
   */
  tool<T>(name: string, args: unknown, options: ToolCallOptions<T>, fn: ToolFn<T>): Promise<T>;
  /** Calls a model for a task type down its route's fallback chain, with cost reserved and settled. */
  llm(taskType: string, request: LlmRequest): Promise<LlmResult>;
  /** Feature flags evaluated for this agent and job (stickiness: the agent). */
  readonly flags: ContextFlags;
  /**
   * The context assembler (PRD §4.17) for this agent and job: conversation, semantic, episodic,
   * procedural memory and goals packed under token_budget, with a manifest of what was cut.
   */
  context(request: JobContextRequest): Promise<AssembledContext>;
  /**
   * Proposes a fact for semantic or procedural memory (PRD §4.8): the critic scores it from its
   * evidence refs and the gate decides; the job is its source. Same proposal twice: one proposal.
   */
  propose(proposal: JobProposal): Promise<{ proposal: Proposal; created: boolean }>;
  /**
   * The agent's one way out to the network: a policy-checked tool call ("http.fetch") whose every
   * redirect hop is re-checked against the allowlist, that refuses private and metadata addresses,
   * connects to the address it checked, and enforces size, time and content-type limits.
   */
  fetch(url: string | URL, init?: GuardedFetchInit): Promise<GuardedFetchResponse>;
  /** The §4.15 research pipeline: ctx.research.fetch(url) → sanitized, scanned, stored evidence. */
  readonly research: ResearchApi;
}

export interface ContextDeps {
  db: Database;
  jobId: string;
  agent: string;
  input: unknown;
  attempt: number;
  signal: AbortSignal;
  scratchpads: ScratchpadRegistry;
  /** Steps that completed before this attempt started (from actp_jobs_start). */
  completedSteps: Record<string, { output: unknown }>;
}

// How long a step runs before its "running" checkpoint row is written (timelines, supervisors).
const RUNNING_ROW_AFTER_MS = 100;

// Which durable step the running code is in, per async call chain: steps run with Promise.all each
// see their own name (scratchpad, tool-call attribution, emitted events), which a shared stack could
// not give them. Keyed by job, so a handler that runs another job's code learns nothing from it.
const stepScope = new AsyncLocalStorage<{ jobId: string; step: string }>();

// Steps of each context running now, in start order: what a timeout names when it stops the attempt.
const runningSteps = new WeakMap<object, Set<string>>();

/** The step started last among those still running in ctx (the one a timeout interrupted), if any. */
export function lastRunningStep(ctx: object): string | null {
  const running = runningSteps.get(ctx);
  return running && running.size > 0 ? [...running].at(-1)! : null;
}

// The step an error was thrown in, so the attempt's recorded error can name it after the step ended.
const failedIn = new WeakMap<object, string>();

export function stepOfError(err: unknown): string | null {
  return typeof err === "object" && err !== null ? (failedIn.get(err) ?? null) : null;
}

export function sha256Json(value: unknown): string {
  return "sha256:" + createHash("sha256").update(JSON.stringify(value ?? null)).digest("hex");
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? "aborted"));
}

export function createJobContext<Input>(d: ContextDeps): JobContext<Input> {
  const used = new Set<string>();
  const running = new Set<string>();
  const currentStep = () => {
    const scope = stepScope.getStore();
    return scope && scope.jobId === d.jobId ? scope.step : null;
  };
  const jobInputHash = sha256Json(d.input);
  const info: JobInfo = { db: d.db, jobId: d.jobId, agentSlug: d.agent, signal: d.signal, currentStep };

  const ctx: JobContext<Input> = {
    tool: (name, args, options, fn) => runToolCall(info, name, args, options, fn),
    llm: (taskType, request) => runLlmCall(info, taskType, request),
    flags: flagsFor(d.db, { agent: d.agent, job_id: d.jobId }, { cache: processFlagCache }),
    fetch: (url, init) => runGuardedFetch(info, url, init),
    research: researchFor(info),
    context: (request) => assembleForJob(d.db, { agent: d.agent, jobId: d.jobId }, request),
    propose: (proposal) => proposeForJob(d.db, { agent: d.agent, jobId: d.jobId }, proposal),
    jobId: d.jobId,
    agent: d.agent,
    input: d.input as Input,
    attempt: d.attempt,
    signal: d.signal,
    info,
    currentStep,
    get scratch() {
      return d.scratchpads.forStep(d.jobId, currentStep() ?? "job");
    },
    async step<T>(name: string, fn: () => Promise<T> | T, options?: StepOptions): Promise<T> {
      if (typeof name !== "string" || name.length === 0 || name.length > 200) {
        throw new TypeError("step name must be a string of 1 to 200 characters");
      }
      if (used.has(name)) throw new DuplicateStepError(name);
      used.add(name);
      throwIfAborted(d.signal);
      const recorded = d.completedSteps[name];
      if (recorded) return recorded.output as T;
      const hash = options && "input" in options ? sha256Json(options.input) : jobInputHash;
      // A step shows as running only once it has taken a moment: most steps finish sooner and are
      // then written once, completed (one round trip instead of two). Durability is the same: the
      // output is recorded before step() returns, and a step that another attempt completed is
      // never overwritten.
      const startedAt = new Date();
      let begun: Promise<plans.StepBegin> | null = null;
      const showRunning = setTimeout(() => {
        begun = plans.stepBegin(d.db, d.jobId, name, hash, d.attempt, startedAt);
        begun.catch(() => {});
      }, RUNNING_ROW_AFTER_MS);
      const record = async (output: unknown, error: ReturnType<typeof toJobError> | null): Promise<{ reused: boolean; output: unknown }> => {
        clearTimeout(showRunning);
        if (begun) {
          const b = await begun;
          if (b.status === "completed") return { reused: true, output: b.output };
          await plans.stepFinish(d.db, d.jobId, name, output, error);
          return { reused: false, output };
        }
        const r = await plans.stepRecord(d.db, d.jobId, name, hash, d.attempt, startedAt, output, error);
        return r.status === "already_completed" ? { reused: true, output: r.output } : { reused: false, output };
      };
      running.add(name);
      let output: T;
      try {
        const value = await stepScope.run({ jobId: d.jobId, step: name }, fn);
        // The checkpoint is JSON; handing back its round trip makes a first run and a resumed run
        // see the same value (no Dates or undefineds that a replay could not reproduce).
        output = (value === undefined ? null : JSON.parse(JSON.stringify(value))) as T;
      } catch (err) {
        running.delete(name);
        if (typeof err === "object" && err !== null && !failedIn.has(err)) failedIn.set(err, name);
        await record(null, toJobError(err, name));
        throw err;
      }
      running.delete(name);
      const saved = await record(output, null);
      return saved.output as T;
    },
    async progress(update: ProgressUpdate): Promise<void> {
      const payload = typeof update === "string" ? { message: update } : { ...update };
      // Validated against the registry here because the SQL function writes it as given.
      validateEvents([{ type: "job.progress", job_id: d.jobId, agent_slug: d.agent, payload }]);
      await plans.progress(d.db, d.jobId, payload, currentStep());
    },
    async emit(events: EventInput | readonly EventInput[]): Promise<void> {
      const list = (Array.isArray(events) ? events : [events]) as EventInput[];
      await emit(
        d.db,
        list.map((e) => ({ job_id: d.jobId, agent_slug: d.agent, ...(currentStep() ? { step_id: currentStep()! } : {}), ...e })),
      );
    },
  };
  runningSteps.set(ctx, running);
  return ctx;
}

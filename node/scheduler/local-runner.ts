// The local executor of actp_schedules, for databases without pg_cron (PGlite, plain Postgres).
// It follows pg_cron: a slot runs once, missed slots are not caught up (they are recorded and
// reported as schedule.missed, and folded into one schedule.coalesced), and a schedule whose
// previous run is still going is skipped. Several runner processes may share one database: the
// unique (schedule_name, scheduled_for) row is the claim, so each slot runs exactly once.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Database } from "../../shared/db/types.ts";
import { emit } from "../../shared/events/emit.ts";
import type { EventInput } from "../../shared/events/registry.ts";
import { floorMinute, parseCron, type CronSchedule } from "./cron.ts";
import * as plans from "./plans.ts";

export interface LocalSchedulerOptions {
  tickMs?: number;
  /** How many missed slots are itemised before the rest are only counted. */
  maxMissedReported?: number;
  log?: (line: string) => void;
  now?: () => Date;
}

export interface TickReport {
  fired: string[];
  skipped: string[];
  missed: number;
}

export class LocalScheduler {
  readonly executorId = `local:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<TickReport> | null = null;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly parsed = new Map<string, { expr: string; cron: CronSchedule | null }>();
  private readonly tickMs: number;
  private readonly maxMissed: number;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;

  constructor(private readonly db: Database, opts: LocalSchedulerOptions = {}) {
    this.tickMs = opts.tickMs ?? 1000;
    this.maxMissed = opts.maxMissedReported ?? 10;
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    await plans.registerExecutor(this.db, this.executorId, hostname(), process.pid);
    const loop = async () => {
      try {
        await this.tick();
      } catch (err) {
        this.log(`scheduler tick failed: ${(err as Error).message}`);
      }
      if (this.timer) this.timer = setTimeout(loop, this.tickMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = null;
    if (t) clearTimeout(t);
    await this.ticking?.catch(() => {});
    await Promise.allSettled(this.inFlight.values());
    await plans.unregisterExecutor(this.db, this.executorId).catch(() => {});
  }

  /** One pass over the schedule list; public so tests can drive time. Never runs concurrently. */
  tick(): Promise<TickReport> {
    if (!this.ticking) {
      this.ticking = this.doTick().finally(() => {
        this.ticking = null;
      });
    }
    return this.ticking;
  }

  /** Resolves when every command started so far has finished. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.inFlight.values());
  }

  private cronFor(name: string, expr: string): CronSchedule | null {
    const cached = this.parsed.get(name);
    if (cached && cached.expr === expr) return cached.cron;
    let cron: CronSchedule | null = null;
    try {
      cron = parseCron(expr);
    } catch (err) {
      this.log(`schedule ${name}: ${(err as Error).message}`);
    }
    this.parsed.set(name, { expr, cron });
    return cron;
  }

  private async doTick(): Promise<TickReport> {
    const now = this.now();
    const report: TickReport = { fired: [], skipped: [], missed: 0 };
    const state = await plans.tickState(this.db, this.executorId, now);
    // pg_cron is installed: it runs the list itself, and this runner must stay out of the way.
    if (state.pg_cron_active) return report;

    for (const s of state.schedules) {
      const cron = this.cronFor(s.name, s.cron_expr);
      if (!cron) continue;
      // Slots are counted from the last one handled, or from when the schedule was last changed,
      // so creating or editing a schedule never reports the past as missed.
      const since = new Date(Math.max(Date.parse(s.last_slot ?? s.updated_at), Date.parse(s.updated_at) - 1));
      const minute = floorMinute(now);
      // Only the current minute is due; older slots were missed (the runner was down or late).
      const due = minute.getTime() > since.getTime() && cron.matches(minute) ? minute : null;
      const missed = cron.slotsBetween(since, new Date(minute.getTime() - 1), this.maxMissed + 1);
      if (missed.length > 0) {
        report.missed += await this.recordMissed(s.name, missed, since, minute, cron);
      }
      if (!due) continue;

      const skipReason =
        state.mode === "incident" && !s.critical
          ? "incident_mode"
          : this.inFlight.has(s.name) || s.running_elsewhere
            ? "previous_run_active"
            : null;
      if (skipReason) {
        if (await plans.claimSlot(this.db, s.name, due, this.executorId, "skipped", skipReason)) {
          await emit(this.db, {
            type: "schedule.skipped",
            payload: { schedule: s.name, scheduled_for: due.toISOString(), reason: skipReason, executor: "local" },
          } as EventInput);
          report.skipped.push(s.name);
        }
        continue;
      }
      if (!(await plans.claimSlot(this.db, s.name, due, this.executorId, "running", null))) continue;
      await emit(this.db, {
        type: "schedule.fired",
        payload: { schedule: s.name, scheduled_for: due.toISOString(), executor: "local", lag_ms: Math.max(0, now.getTime() - due.getTime()) },
      } as EventInput);
      report.fired.push(s.name);
      this.runCommand(s.name, s.command, due);
    }
    return report;
  }

  private runCommand(name: string, command: string, slot: Date): void {
    const run = (async () => {
      try {
        // Executed as written in the table (only the service role may write it), in its own
        // transaction, like pg_cron runs a job.
        await this.db.transaction((tx) => tx.query(command));
        await plans.finishRun(this.db, name, slot, "succeeded", null);
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        this.log(`schedule ${name} failed: ${message}`);
        await plans.finishRun(this.db, name, slot, "failed", message.slice(0, 2000)).catch(() => {});
      }
    })().finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, run);
  }

  private async recordMissed(name: string, missed: Date[], since: Date, until: Date, cron: CronSchedule): Promise<number> {
    const itemised = missed.slice(0, this.maxMissed);
    const events: EventInput[] = [];
    for (const slot of itemised) {
      if (await plans.claimSlot(this.db, name, slot, this.executorId, "missed", "runner_not_running")) {
        events.push({
          type: "schedule.missed",
          payload: { schedule: name, scheduled_for: slot.toISOString(), reason: "runner_not_running" },
        } as EventInput);
      }
    }
    if (events.length === 0) return 0;
    let total = events.length;
    let lastMissed: Date | undefined;
    if (missed.length > this.maxMissed) {
      // Past the itemised ones, slots are only counted (bounded: about a year of minutes), and the
      // newest is marked handled so the next tick does not count the same gap again.
      const all = cron.slotsBetween(since, new Date(until.getTime() - 1), 600_000);
      total = all.length;
      const newest = all.at(-1);
      lastMissed = newest;
      if (newest) await plans.claimSlot(this.db, name, newest, this.executorId, "missed", "runner_not_running");
    }
    if (total > 1) {
      events.push({
        type: "schedule.coalesced",
        payload: {
          schedule: name,
          missed_count: total,
          first_missed_for: missed[0]!.toISOString(),
          last_missed_for: (lastMissed ?? missed.at(-1)!).toISOString(),
        },
      } as EventInput);
    }
    await emit(this.db, events);
    return total;
  }
}

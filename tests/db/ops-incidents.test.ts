// Incident mode (PRD §4.10) as a state machine in SQL, on the embedded database. Every test runs
// in one rolled-back transaction (the mode row is global) and drives the detectors with events
// written at scripted times in the future, so its windows hold its own signal only.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { parseEventInput } from "../../shared/events/registry.ts";
import { acknowledgeIncident, currentStatus, declareIncident, detectorPass, resolveIncident } from "../../shared/incidents/queries.ts";
import { testDatabase } from "../support/db.ts";
import { eventAt, onlyDetectors, plus, rolledBack } from "../support/ops-fixtures.ts";

const db = testDatabase();
afterAll(() => db.end());

const MIN = 60_000;
const T = new Date("2032-01-01T00:00:00Z");

/** The error-rate signal for the minute ending at `at`: n attempts, a share of them failed. */
async function errorRate(tx: Queryable, at: Date, rate: number, n = 20) {
  const failed = Math.round(rate * n);
  for (let i = 0; i < n; i++) {
    await eventAt(tx, plus(at, -30_000 + i), i < failed ? "job.failed" : "job.completed", randomUUID(), i < failed ? { will_retry: true, attempt: 1, error: { message: "x" } } : { duration_ms: 1, attempt: 1 });
  }
}

async function dlqBurst(tx: Queryable, at: Date, n: number) {
  for (let i = 0; i < n; i++) {
    await eventAt(tx, plus(at, -20_000 + i), "dlq.enqueued", randomUUID(), { dlq_id: randomUUID(), job_type: "t", retry_count: 2, failure_reason: "boom" });
  }
}

/** A fast test clock: 1-minute error window, 5-minute cooldown. */
async function setup(tx: Queryable, detectors: string[]) {
  await onlyDetectors(tx, detectors);
  await tx.query(`update public.actp_incident_detectors set params = params || '{"window_minutes": 1}'::jsonb where name in ('error_rate', 'dlq_growth')`);
  await tx.query(`update public.actp_platform_state set cooldown_seconds = 300, mode = 'normal', incident_id = null, calm_since = null, manual = false, changed_at = $1`, [plus(T, -3600_000).toISOString()]);
  await tx.query(`update public.actp_incident_detector_state set firing = false, firing_since = null`);
}

async function transitions(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ t: string }>(
    `select from_mode || '>' || to_mode as t from public.actp_incident_transitions where at >= now() - interval '1 minute' order by id`,
  );
  return rows.map((r) => r.t);
}

describe("the detector pass", () => {
  it("one firing detector -> degraded; hysteresis holds it while the value sits between the thresholds", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["error_rate"]);
      await errorRate(tx, T, 0.5);
      expect(await detectorPass(tx, T)).toMatchObject({ mode: "degraded", firing: ["error_rate"] });
      // 15%: below the 20% that fires, above the 10% that clears: still firing.
      await errorRate(tx, plus(T, MIN), 0.15);
      expect(await detectorPass(tx, plus(T, MIN))).toMatchObject({ mode: "degraded", firing: ["error_rate"] });
      const s = await currentStatus(tx);
      expect(s.incident).toMatchObject({ source: "detector", mode: "degraded", declared_by: "detector" });
      expect(s.incident!.trigger_data).toMatchObject({ firing: ["error_rate"] });
      expect(s.detectors.find((d) => d.name === "error_rate")).toMatchObject({ firing: true, value: 0.15 });
    });
  });

  it("a flapping signal does not flap the mode; every detector clear for a cooldown steps down one level", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["error_rate"]);
      const modes: string[] = [];
      // Minute by minute: fire, clear, fire, clear, ... for 12 minutes.
      for (let m = 0; m < 12; m++) {
        const at = plus(T, m * MIN);
        await errorRate(tx, at, m % 2 === 0 ? 0.5 : 0.0);
        modes.push((await detectorPass(tx, at)).mode);
      }
      expect(new Set(modes)).toEqual(new Set(["degraded"]));
      // Then quiet: clear since minute 11 (the last flap); the cooldown (5 min) passes at minute 16.
      for (let m = 12; m <= 18; m++) {
        const at = plus(T, m * MIN);
        await errorRate(tx, at, 0.0);
        modes.push((await detectorPass(tx, at)).mode);
      }
      expect(modes.slice(12)).toEqual(["degraded", "degraded", "degraded", "degraded", "normal", "normal", "normal"]);
      expect(await transitions(tx)).toEqual(["normal>degraded", "degraded>normal"]);
      const { rows } = await tx.query<{ resolved_by: string; resolution_note: string }>(
        `select resolved_by, resolution_note from public.actp_incident_log where declared_at >= now() - interval '1 minute'`,
      );
      expect(rows).toEqual([{ resolved_by: "detector", resolution_note: expect.stringMatching(/^recovered/) }]);
    });
  });

  it("two detectors -> incident at once; down one level per cooldown: incident -> degraded -> normal", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["error_rate", "dlq_growth"]);
      await errorRate(tx, T, 0.6);
      await dlqBurst(tx, T, 12);
      expect(await detectorPass(tx, T)).toMatchObject({ mode: "incident", target_mode: "incident" });
      expect(await tx.query(`select public.actp_retry_allowed(2) as a, public.actp_retry_allowed(1) as b`).then((r) => r.rows[0])).toEqual({ a: false, b: true });
      const seen: string[] = [];
      for (let m = 1; m <= 11; m++) seen.push((await detectorPass(tx, plus(T, m * MIN))).mode);
      // calm from minute 1; a step at minute 6 (cooldown), the next at minute 11 (cooldown again).
      expect(seen).toEqual(["incident", "incident", "incident", "incident", "incident", "degraded", "degraded", "degraded", "degraded", "degraded", "normal"]);
      expect(await transitions(tx)).toEqual(["normal>incident", "incident>degraded", "degraded>normal"]);
      expect(await tx.query(`select public.actp_retry_allowed(2) as a`).then((r) => r.rows[0])).toEqual({ a: true });
      // Evidence of each transition and the events, all canonical.
      const { rows: ev } = await tx.query<{ type: string; payload: Record<string, unknown> }>(
        `select type, payload from public.actp_events where type like 'incident.%' and created_at >= now() - interval '1 minute' order by seq`,
      );
      expect(ev.map((e) => e.type)).toEqual([
        "incident.declared", "incident.mode_changed", "incident.mode_changed", "incident.resolved", "incident.mode_changed",
      ]);
      for (const e of ev) expect(parseEventInput({ type: e.type, payload: e.payload }).success, JSON.stringify(e)).toBe(true);
      expect(ev[0]!.payload).toMatchObject({ mode: "incident", trigger_data: { firing: ["dlq_growth", "error_rate"] } });
    });
  });

  it("a page-level SLA burn alone is an incident", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["sla_page_burn"]);
      const jt = `page_${randomUUID().slice(0, 8)}`;
      await tx.query(`insert into public.actp_sla_targets (job_type, time_to_first_update_ms, time_to_completion_ms, min_bad_jobs) values ($1, 5000, 30000, 3)`, [jt]);
      for (let i = 0; i < 6; i++) {
        const id = randomUUID();
        await eventAt(tx, plus(T, -120_000 + i * 1000), "job.received", id, { job_type: jt });
        await eventAt(tx, plus(T, -119_000 + i * 1000), "job.failed", id, { will_retry: false, attempt: 1, error: { message: "x" } });
      }
      const r = await detectorPass(tx, T);
      expect(r).toMatchObject({ mode: "incident", firing: ["sla_page_burn"] });
    });
  });

  it("an incident alerts the outbox; an unacknowledged one is re-alerted, an acknowledged one is not", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["error_rate"]);
      await tx.query(`update public.actp_platform_state set reminder_seconds = 120`);
      const chat = -Math.floor(Math.random() * 1e9) - 1;
      await tx.query(`insert into public.actp_telegram_chats (chat_id, title) values ($1, 'ops')`, [chat]);
      const alerts = async () =>
        (await tx.query<{ title: string }>(`select a.title from public.actp_alert_outbox o join public.actp_alerts a on a.id = o.alert_id where o.chat_id = $1 order by a.id`, [chat])).rows.map((r) => r.title);
      await errorRate(tx, T, 0.5);
      await detectorPass(tx, T);
      expect(await alerts()).toEqual(["Platform mode normal → degraded"]);
      // last_alert_at is wall time; move it back so the reminder is due.
      await tx.query(`update public.actp_incident_log set last_alert_at = now() - interval '1 hour' where resolved_at is null`);
      await errorRate(tx, plus(T, MIN), 0.5);
      await detectorPass(tx, plus(T, MIN));
      expect((await alerts()).at(-1)).toBe("Still degraded, not acknowledged");
      await acknowledgeIncident(tx, "looking", "service_role:test");
      await tx.query(`update public.actp_incident_log set last_alert_at = now() - interval '1 hour' where resolved_at is null`);
      await errorRate(tx, plus(T, 2 * MIN), 0.5);
      await detectorPass(tx, plus(T, 2 * MIN));
      expect(await alerts()).toHaveLength(2);
    });
  });
});

/** An expected failure inside the rolled-back transaction: a savepoint keeps the transaction usable. */
async function rejects(tx: Queryable, fn: () => Promise<unknown>, re: RegExp) {
  await tx.query("savepoint expected_failure");
  await expect(fn()).rejects.toThrow(re);
  await tx.query("rollback to savepoint expected_failure");
}

describe("operators", () => {
  // As functions/_shared/act.ts runs an operator action: the service role's privileges, the caller's claims.
  async function asClaims(tx: Queryable, claims: Record<string, unknown>) {
    await tx.query(`select set_config('request.jwt.claims', $1, true), set_config('role', 'service_role', true)`, [JSON.stringify(claims)]);
  }

  it("declare, acknowledge and resolve by hand, with the identity from the token; detectors never step a manual incident down", async () => {
    await rolledBack(db, async (tx) => {
      await setup(tx, ["error_rate"]);
      await asClaims(tx, { role: "authenticated", sub: "op-1", email: "op@example.com", app_metadata: { actp_role: "operator" } });
      const s = await declareIncident(tx, { mode: "incident", reason: "provider outage", note: "paging vendor" }, "ignored-for-operators");
      expect(s).toMatchObject({ mode: "incident", manual: true, incident: { source: "manual", declared_by: "operator:op-1 <op@example.com>", declare_note: "paging vendor" } });
      await rejects(tx, () => declareIncident(tx, { mode: "degraded", reason: "again" }), /incidents.conflict/);
      const ack = await acknowledgeIncident(tx, null);
      expect(ack).toMatchObject({ already_acknowledged: false, incident: { acknowledged_by: "operator:op-1 <op@example.com>" } });
      expect(await acknowledgeIncident(tx, null)).toMatchObject({ already_acknowledged: true });
      await tx.query(`reset role`);
      for (let m = 1; m <= 12; m++) expect((await detectorPass(tx, plus(T, m * MIN))).mode).toBe("incident");
      await asClaims(tx, { role: "authenticated", sub: "op-1", email: "op@example.com", app_metadata: { actp_role: "operator" } });
      await rejects(tx, () => resolveIncident(tx, "  "), /incidents.note_required/);
      const r = await resolveIncident(tx, "vendor fixed it");
      expect(r.incident).toMatchObject({ resolved_by: "operator:op-1 <op@example.com>", resolution_note: "vendor fixed it" });
      expect((await currentStatus(tx)).mode).toBe("normal");
    });
  });

  it("a viewer or a plain user cannot declare, and the API roles cannot call the action at all", async () => {
    for (const claims of [
      { role: "authenticated", sub: "v-1", app_metadata: { actp_role: "viewer" } },
      { role: "authenticated", sub: "u-1" },
    ]) {
      await rolledBack(db, async (tx) => {
        await asClaims(tx, claims);
        await expect(declareIncident(tx, { mode: "incident", reason: "x" })).rejects.toThrow(/auth.forbidden/);
      });
      await rolledBack(db, async (tx) => {
        await tx.query(`select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)`, [JSON.stringify(claims)]);
        await expect(declareIncident(tx, { mode: "incident", reason: "x" })).rejects.toThrow(/permission denied/);
      });
    }
  });
});

// pg_cron's schedule semantics in TypeScript: 5 fields (minute hour day-of-month month
// day-of-week), minute granularity, UTC, day-of-month and day-of-week OR-ed when both are
// restricted (Vixie cron, which pg_cron follows), `$` meaning the last day of the month.
import { Cron } from "croner";

export class CronExpressionError extends Error {}

export interface CronSchedule {
  /** True when the minute starting at `at` (UTC) is a scheduled slot. */
  matches(at: Date): boolean;
  /** The scheduled slots s with from < s <= to, oldest first, at most `limit` of them. */
  slotsBetween(from: Date, to: Date, limit: number): Date[];
}

export function parseCron(expr: string): CronSchedule {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new CronExpressionError(`cron expression needs 5 fields, got ${fields.length}: "${expr}"`);
  // pg_cron writes the last day of the month as `$`; croner calls it L.
  const pattern = fields.map((f, i) => (i === 2 ? f.replace(/\$/g, "L") : f)).join(" ");
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: "UTC", mode: "5-part", paused: true, domAndDow: false });
  } catch (err) {
    throw new CronExpressionError(`invalid cron expression "${expr}": ${(err as Error).message}`);
  }
  return {
    matches: (at) => cron.match(floorMinute(at)),
    slotsBetween(from, to, limit) {
      const out: Date[] = [];
      let cursor: Date | null = floorMinute(from);
      const end = floorMinute(to).getTime();
      while (out.length < limit) {
        cursor = cron.nextRun(cursor);
        if (!cursor || cursor.getTime() > end) break;
        out.push(cursor);
      }
      return out;
    },
  };
}

export function floorMinute(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 60_000) * 60_000);
}

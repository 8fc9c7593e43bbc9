import { describe, expect, it } from "vitest";
import { parseCron, CronExpressionError } from "../../node/scheduler/cron.ts";

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe("pg_cron schedule semantics", () => {
  it("5 fields, minute granularity, UTC", () => {
    const c = parseCron("*/15 * * * *");
    expect(iso(c.slotsBetween(new Date("2026-01-01T00:00:30Z"), new Date("2026-01-01T01:00:59Z"), 10))).toEqual([
      "2026-01-01T00:15:00.000Z",
      "2026-01-01T00:30:00.000Z",
      "2026-01-01T00:45:00.000Z",
      "2026-01-01T01:00:00.000Z",
    ]);
    expect(c.matches(new Date("2026-01-01T00:15:42Z"))).toBe(true);
    expect(c.matches(new Date("2026-01-01T00:16:00Z"))).toBe(false);
  });

  it("ORs day-of-month and day-of-week when both are restricted (Vixie cron, as pg_cron)", () => {
    const c = parseCron("0 0 13 * 5");
    expect(iso(c.slotsBetween(new Date("2026-01-01T00:00:00Z"), new Date("2026-01-20T00:00:00Z"), 10))).toEqual([
      "2026-01-02T00:00:00.000Z",
      "2026-01-09T00:00:00.000Z",
      "2026-01-13T00:00:00.000Z",
      "2026-01-16T00:00:00.000Z",
    ]);
  });

  it("reads $ as the last day of the month", () => {
    expect(iso(parseCron("30 23 $ * *").slotsBetween(new Date("2026-02-01T00:00:00Z"), new Date("2026-03-31T23:59:00Z"), 5))).toEqual([
      "2026-02-28T23:30:00.000Z",
      "2026-03-31T23:30:00.000Z",
    ]);
  });

  it("rejects what pg_cron rejects", () => {
    for (const bad of ["* * * *", "* * * * * *", "61 * * * *", "* 24 * * *", "* * 32 * *", "* * * 13 *", "nonsense"]) {
      expect(() => parseCron(bad), bad).toThrow(CronExpressionError);
    }
  });
});

// The role model and closed privileges on the embedded database (PGlite), the same catalog checks
// and RLS probes the PostgreSQL 15 tier runs (tests/pg/privileges.test.ts has the full set).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testDatabase } from "../support/db.ts";
import { ensurePgBoss } from "../support/dlq-scenarios.ts";
import {
  claimsOf,
  countsAs,
  executableByApiRoles,
  openDefinerFunctions,
  READ_TABLES,
  rlsViolations,
  seedReadableRows,
  sequenceViolations,
  sessionSettingReads,
  sqlStateAs,
  tablePrivilegeViolations,
} from "../support/privileges.ts";

const db = testDatabase();
beforeAll(async () => {
  await ensurePgBoss(inject("dbUrl"));
  await seedReadableRows(db);
});
afterAll(() => db.end());

describe("privileges on the embedded database", () => {
  it("closed catalog: no open definer, anon executes nothing, SELECT-only tables, no sequences, RLS through actp_can_read()", async () => {
    expect(await openDefinerFunctions(db)).toEqual([]);
    expect((await executableByApiRoles(db)).anon).toEqual([]);
    expect((await executableByApiRoles(db)).authenticatedVolatile).toEqual([]);
    expect(await tablePrivilegeViolations(db)).toEqual([]);
    expect(await sequenceViolations(db)).toEqual([]);
    expect(await rlsViolations(db)).toEqual([]);
  });

  it("no function of ours reads an actp.* setting from the session: use public.actp_setting_int(key, default)", async () => {
    expect(await sessionSettingReads(db)).toEqual([]);
  });

  it("a plain user reads nothing, a viewer what the service role reads", async () => {
    const service = await countsAs(db, claimsOf.service());
    for (const t of READ_TABLES) expect(service[t], t).toBeGreaterThan(0);
    expect(await countsAs(db, claimsOf.user())).toEqual(Object.fromEntries(READ_TABLES.map((t) => [t, 0])));
    expect(await countsAs(db, claimsOf.viewer())).toEqual(service);
  });

  it("anon cannot fire a schedule; nobody but the service role moves a sequence or locks the log", async () => {
    expect(await sqlStateAs(db, claimsOf.anon(), `select public.actp_schedules_run('actp:supervisor:tick')`)).toBe("42501");
    expect(await sqlStateAs(db, claimsOf.user(), `select setval('public.actp_events_seq_seq', 1)`)).toBe("42501");
    expect(await sqlStateAs(db, claimsOf.user(), `lock table public.actp_events in access exclusive mode`)).toBe("42501");
  });
});

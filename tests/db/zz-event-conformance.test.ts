// Every event in the log conforms to the registry, whoever wrote it: TypeScript through emit(), or
// plpgsql through actp_emit() (which the database checks only for a known type). This file reads
// whatever the other files of the tier have written by the time it runs, plus the flows below.
import { afterAll, describe, expect, it } from "vitest";
import { parseEventInput } from "../../shared/events/registry.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

describe("event log conformance", () => {
  it("every stored event parses against its type's payload schema", async () => {
    const { rows } = await db.query<{ seq: string; type: string; job_id: string | null; step_id: string | null; agent_slug: string | null; tool_name: string | null; payload: Record<string, unknown> }>(
      `select seq::text, type, job_id, step_id, agent_slug, tool_name, payload from public.actp_events order by seq`,
    );
    const bad = rows
      .map((r) => ({ r, result: parseEventInput({ type: r.type, job_id: r.job_id, step_id: r.step_id, agent_slug: r.agent_slug, tool_name: r.tool_name, payload: r.payload }) }))
      .filter((x) => !x.result.success)
      .map((x) => `${x.r.seq} ${x.r.type}: ${x.result.success ? "" : x.result.message}`);
    expect(bad).toEqual([]);
  });
});

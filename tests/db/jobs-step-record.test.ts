// A short step is written once, completed (actp_jobs_step_record); a completed step is never
// overwritten, and a second recording returns the first output.
import { afterAll, describe, expect, it } from "vitest";
import * as plans from "../../shared/jobs/plans.ts";
import { testDatabase } from "../support/db.ts";
import { createAgent, insertJob, uniqueSlug } from "../support/dlq-scenarios.ts";

const db = testDatabase();
afterAll(() => db.end());

describe("actp_jobs_step_record", () => {
  it("records a finished step in one statement, in order, and never overwrites a completed one", async () => {
    const agent = uniqueSlug("steprec");
    await createAgent(db, agent);
    const job = await insertJob(db, { agent, status: "running" });
    const started = new Date(Date.now() - 50);
    expect(await plans.stepRecord(db, job, "one", "sha256:x", 1, started, { a: 1 }, null)).toEqual({ status: "completed" });
    expect(await plans.stepRecord(db, job, "two", "sha256:x", 1, started, null, { message: "boom", name: "Error" })).toEqual({ status: "failed" });
    // A retry records the failed step again; the completed one is kept as it was.
    expect(await plans.stepRecord(db, job, "two", "sha256:x", 2, started, { b: 2 }, null)).toEqual({ status: "completed" });
    expect(await plans.stepRecord(db, job, "one", "sha256:x", 2, started, { a: 999 }, null)).toEqual({ status: "already_completed", output: { a: 1 } });
    const { rows } = await db.query<{ name: string; ordinal: number; status: string; output: unknown; attempt: number }>(
      `select name, ordinal, status, output, attempt from public.actp_job_steps where job_id = $1 order by ordinal`,
      [job],
    );
    expect(rows).toEqual([
      { name: "one", ordinal: 0, status: "completed", output: { a: 1 }, attempt: 1 },
      { name: "two", ordinal: 1, status: "completed", output: { b: 2 }, attempt: 2 },
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { buildEmitStatement } from "../../shared/events/emit-sql.ts";
import { parseEventBatch, type ValidEvent } from "../../shared/events/registry.ts";

function valid(inputs: unknown[]): ValidEvent[] {
  const r = parseEventBatch(inputs);
  if (!r.success) throw new Error(r.message);
  return r.data;
}

const JOB_ID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";

describe("buildEmitStatement", () => {
  it("is one INSERT ... RETURNING with one jsonb parameter", () => {
    const stmt = buildEmitStatement(valid([{ type: "heartbeat.ok", payload: { worker_id: "w1" } }]));
    expect(stmt.text).toMatch(/^insert into public\.actp_events \(type, job_id, step_id, agent_slug, tool_name, payload\)/);
    expect(stmt.text).toMatch(/returning seq, id, created_at$/);
    expect(stmt.text.match(/\$\d+/g)).toEqual(["$1"]);
    expect(stmt.text.split(";")).toHaveLength(1);
    expect(stmt.values).toHaveLength(1);
  });

  it("keeps the text fixed whatever the batch, so values never reach the SQL", () => {
    const hostile = "x'); drop table actp_events; --";
    const one = buildEmitStatement(valid([{ type: "heartbeat.ok", payload: { worker_id: "w1" } }]));
    const many = buildEmitStatement(
      valid([
        { type: "job.cancelled", job_id: JOB_ID, step_id: hostile, agent_slug: "researcher", payload: { reason: hostile } },
        { type: "tool.call_completed", tool_name: "browser.fetch", payload: { duration_ms: 5 } },
      ]),
    );
    expect(many.text).toBe(one.text);
    expect(many.text).not.toContain("drop table");
  });

  it("sends every column, in input order, with absent ones as null", () => {
    const events = valid([
      { type: "job.received", job_id: JOB_ID, agent_slug: "researcher", payload: { job_type: "research_synthesis" } },
      { type: "tool.call_started", job_id: JOB_ID, step_id: "fetch", tool_name: "browser.fetch", payload: { call_id: "c1" } },
      { type: "heartbeat.ok", payload: { worker_id: "w1", note: "ünïcødé ✓" } },
    ]);
    const rows = JSON.parse(buildEmitStatement(events).values[0]);
    expect(rows).toEqual([
      { type: "job.received", job_id: JOB_ID, step_id: null, agent_slug: "researcher", tool_name: null, payload: { job_type: "research_synthesis" } },
      { type: "tool.call_started", job_id: JOB_ID, step_id: "fetch", agent_slug: null, tool_name: "browser.fetch", payload: { call_id: "c1" } },
      { type: "heartbeat.ok", job_id: null, step_id: null, agent_slug: null, tool_name: null, payload: { worker_id: "w1", note: "ünïcødé ✓" } },
    ]);
  });

  it("preserves input order through ordinality, so seq follows the array", () => {
    const { text } = buildEmitStatement(valid([{ type: "heartbeat.ok", payload: { worker_id: "w1" } }]));
    expect(text).toMatch(/jsonb_array_elements\(\$1::jsonb\) with ordinality as e\(doc, ord\)/);
    expect(text).toMatch(/order by e\.ord/);
  });

  it("refuses an empty batch instead of a pointless round trip", () => {
    expect(() => buildEmitStatement([])).toThrow(RangeError);
  });
});

// DLQ contracts, cursors and renderings: the pieces a dashboard or a /dlq chat command reuses.
import { describe, expect, it } from "vitest";
import { BulkReplayBody, DiscardBody, DlqListQuery, FixBody } from "../../shared/dlq/contracts.ts";
import { collectErrors, decodeCursor, encodeCursor } from "../../shared/dlq/queries.ts";
import { renderBulk, renderDlqDigest, renderDlqList } from "../../shared/dlq/render.ts";
import { validateAgentInput } from "../../shared/dlq/validate-input.ts";
import type { Timeline } from "../../shared/forensics/contracts.ts";

describe("contracts", () => {
  it("defaults a list to pending, 50 per page, and refuses unknown or inverted filters", () => {
    expect(DlqListQuery.parse({})).toEqual({ status: "pending", limit: 50 });
    expect(DlqListQuery.safeParse({ job_typ: "x" }).success).toBe(false);
    expect(DlqListQuery.safeParse({ from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z" }).success).toBe(false);
    expect(DlqListQuery.safeParse({ limit: "201" }).success).toBe(false);
  });
  it("takes an optional reviewer label (never blank) and requires an input for fix", () => {
    expect(DiscardBody.safeParse({ note: "x" }).success).toBe(true);
    expect(FixBody.safeParse({ input: { a: 1 } }).success).toBe(true);
    expect(DiscardBody.safeParse({ reviewer: "   " }).success).toBe(false);
    expect(FixBody.safeParse({ reviewer: "ana" }).success).toBe(false);
    expect(FixBody.safeParse({ reviewer: "ana", input: null }).success).toBe(false);
    expect(FixBody.safeParse({ reviewer: "ana", input: { a: 1 } }).success).toBe(true);
    expect(BulkReplayBody.parse({ filter: {}, reviewer: "ana" }).filter.limit).toBe(100);
    expect(BulkReplayBody.safeParse({ filter: { limit: 1001 }, reviewer: "ana" }).success).toBe(false);
  });
});

describe("cursors", () => {
  it("round-trip Postgres timestamps exactly and refuse anything else", () => {
    const c = encodeCursor("2026-11-24 18:30:01.123456+00", "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f");
    expect(c).not.toMatch(/[+/=]/);
    expect(decodeCursor(c)).toEqual({ enqueuedAt: "2026-11-24 18:30:01.123456+00", id: "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f" });
    expect(() => decodeCursor("garbage!")).toThrow(/cursor/);
    expect(() => decodeCursor(btoa("2026-11-24|not-a-uuid"))).toThrow(/cursor/);
  });
});

describe("validateAgentInput", () => {
  const schema = { type: "object", properties: { topic: { type: "string" } }, required: ["topic"] };
  it("passes a valid input and reports issues under `input`", () => {
    expect(() => validateAgentInput("a", schema, { topic: "x" })).not.toThrow();
    try {
      validateAgentInput("a", schema, {});
      throw new Error("expected a failure");
    } catch (e) {
      expect(e).toMatchObject({ code: "dlq.invalid_input", status: 400 });
      expect((e as { details: { issues: { path: unknown[] }[] } }).details.issues[0]!.path).toEqual(["input", "topic"]);
    }
    expect(() => validateAgentInput("a", {}, "anything")).not.toThrow();
  });
});

describe("collectErrors", () => {
  it("gathers attempt errors, failed steps and the final error in time order", () => {
    const t = {
      job: { finished_at: "2026-11-20T10:00:05Z", attempts: 2, error: null },
      entries: [
        { kind: "event", type: "job.failed", at: "2026-11-20T10:00:01Z", step: "fetch", payload: { attempt: 1, error: { message: "503" } } },
        { kind: "step", name: "fetch", status: "failed", attempt: 2, at: "2026-11-20T10:00:02Z", finished_at: "2026-11-20T10:00:03Z", error: { message: "503 again" } },
        { kind: "event", type: "job.progress", at: "2026-11-20T10:00:04Z", step: null, payload: { message: "x" } },
      ],
    } as unknown as Timeline;
    expect(collectErrors(t, { message: "503 again", where: "fetch", name: "HttpError" })).toEqual([
      { source: "attempt", at: "2026-11-20T10:00:01Z", attempt: 1, step: "fetch", message: "503", where: "fetch", name: null },
      { source: "step", at: "2026-11-20T10:00:03Z", attempt: 2, step: "fetch", message: "503 again", where: "fetch", name: null },
      { source: "job", at: "2026-11-20T10:00:05Z", attempt: 2, step: null, message: "503 again", where: "fetch", name: "HttpError" },
    ]);
  });
});

describe("renderings", () => {
  it("lists pending counts and rows; bulk results item by item", () => {
    const text = renderDlqList({
      items: [
        {
          id: "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f",
          original_job_id: "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
          job_type: "research",
          agent_slug: "researcher",
          failure_reason: "HttpError: 503 (thrown at fetch)",
          retry_count: 2,
          attempts: 3,
          enqueued_at: "2026-11-24T10:00:00Z",
          resolution: null,
          reviewed_by: null,
          reviewed_at: null,
          replay_job_id: null,
        },
      ],
      next_cursor: "abc",
      pending: { total: 4, by_job_type: { research: 3, content: 1 } },
    });
    expect(text).toContain("4 pending (research 3, content 1)");
    expect(text).toContain("HttpError: 503 (thrown at fetch)");
    expect(text).toContain("--after abc");
    const page = { items: [], next_cursor: null, pending: { total: 0, by_job_type: {} } };
    expect(renderDlqDigest(page)).toBe("DLQ: nothing pending review");
    const item = {
      id: "3f0c2b8e-5a1d-4c7e-9b6f-8e2d1a0c3b4f",
      original_job_id: "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
      job_type: "research",
      agent_slug: "researcher",
      failure_reason: "HttpError: 503 (step \"fetch\")",
      retry_count: 2,
      attempts: 3,
      enqueued_at: "2026-11-24T10:00:00Z",
      resolution: null,
      reviewed_by: null,
      reviewed_at: null,
      replay_job_id: null,
    };
    const digest = renderDlqDigest(
      { items: [item], next_cursor: null, pending: { total: 3, by_job_type: { research: 3 } } },
      { max: 1, now: Date.parse("2026-11-24T12:00:00Z") },
    );
    expect(digest).toBe('DLQ: 3 pending (research 3)\n• 3f0c2b8e research, 2h ago: HttpError: 503 (step "fetch")\n… and 2 more');
    const bulk = renderBulk({
      matched: 2,
      replayed: 1,
      failed: 1,
      items: [
        { ok: true, dlq_id: "d1", original_job_id: "j1", resolution: "replayed", replay_job_id: "n1", reviewed_by: "operator:u1", reviewer_label: "ana", reviewed_at: "", note: null, already_resolved: false },
        { ok: false, dlq_id: "d2", original_job_id: "j2", error: { code: "jobs.agent_disabled", message: "agent off" } },
      ],
    });
    expect(bulk).toBe("matched 2: replayed 1, failed 1\n  ✓ d1 → n1\n  ✗ d2: jobs.agent_disabled: agent off");
  });
});

import { describe, expect, it } from "vitest";
import { fromPgError, statusForCode } from "../../shared/errors.ts";

describe("fromPgError", () => {
  it("maps our plpgsql codes by the shape of their last segment", () => {
    expect(statusForCode("jobs.agent_not_found")).toBe(404);
    expect(statusForCode("policy.reservation.not_found")).toBe(404);
    expect(statusForCode("auth.forbidden")).toBe(403);
    expect(statusForCode("jobs.agent_disabled")).toBe(409);
    expect(statusForCode("dlq.conflict")).toBe(409);
    expect(statusForCode("jobs.duplicate")).toBe(409);
    expect(statusForCode("jobs.not_cancellable")).toBe(409);
    expect(statusForCode("jobs.queue_unavailable")).toBe(503);
    expect(statusForCode("events.invalid_event")).toBe(400);
  });

  it("reads the code from a P0001 message and keeps the rest as the message", () => {
    const e = fromPgError({ code: "P0001", message: "jobs.agent_not_found: no agent \"x\"" });
    expect(e).toMatchObject({ code: "jobs.agent_not_found", status: 404, message: 'no agent "x"' });
  });

  it("maps constraint and privilege errors, and leaves the rest to be a 500", () => {
    expect(fromPgError({ code: "23505", message: "dup", constraint: "c" })).toMatchObject({ code: "db.unique_violation", status: 409 });
    expect(fromPgError({ code: "23503", message: "fk" })).toMatchObject({ status: 400 });
    expect(fromPgError({ code: "42501", message: "permission denied" })).toMatchObject({ code: "auth.forbidden", status: 403 });
    expect(fromPgError({ code: "57014", message: "canceling statement" })).toBeNull();
    expect(fromPgError(new Error("boom"))).toBeNull();
  });
});

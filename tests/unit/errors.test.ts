import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ActpError, fromPgError, parseWith, statusOf } from "../../shared/errors.ts";
import { ERROR_CODES, ERROR_CODE_PATTERN, errorCodes, exitStatusFor } from "../../shared/errors/catalog.ts";
import { checkErrorCodes, migratedErrorCodes, REPO_ROOT } from "../../scripts/gen-error-codes.ts";

describe("the error catalog", () => {
  it("declares every code once, in the code shape, with an error status and a meaning", () => {
    expect(errorCodes.length).toBeGreaterThan(50);
    for (const code of errorCodes) {
      expect(code, code).toMatch(ERROR_CODE_PATTERN);
      const s = ERROR_CODES[code];
      expect(s.status, code).toBeGreaterThanOrEqual(400);
      expect(s.status, code).toBeLessThan(600);
      expect(s.description.length, code).toBeGreaterThan(10);
    }
  });

  it("is what the error-code migrations insert (npm run gen:error-codes -- --check)", () => {
    const report = checkErrorCodes();
    expect(report.drift).toEqual([]);
    expect([...migratedErrorCodes(REPO_ROOT).keys()].sort()).toEqual(errorCodes);
  });

  it("gives the status, looked up rather than guessed from the name", () => {
    expect(statusOf("jobs.agent_not_found")).toBe(404);
    expect(statusOf("policy.reservation.not_found")).toBe(404);
    expect(statusOf("jobs.agent_disabled")).toBe(409);
    expect(statusOf("jobs.queue_unavailable")).toBe(503);
    // Names that a suffix rule got wrong: the catalog says what they are.
    expect(statusOf("jobs.replay_step_not_found")).toBe(404);
    expect(statusOf("actp.append_only")).toBe(409);
    expect(statusOf("dlq.unvalidatable_input")).toBe(422);
    expect(statusOf("no.such_code")).toBe(500);
    expect(new ActpError("tool.denied", "no").status).toBe(403);
  });

  it("gives the CLI's exit status: usage 2, database 3, not found 4, conflict 5, else 1", () => {
    expect(exitStatusFor("cli.usage")).toBe(2);
    expect(exitStatusFor("cli.db_unreachable")).toBe(3);
    expect(exitStatusFor("agents.not_found")).toBe(4);
    expect(exitStatusFor("dlq.conflict")).toBe(5);
    expect(exitStatusFor("validation.failed")).toBe(1);
    expect(exitStatusFor("not.declared")).toBe(1);
  });
});

describe("parseWith", () => {
  it("is the one zod-issues-to-400 conversion: code, message and zod's issues", () => {
    const S = z.object({ n: z.number() });
    expect(parseWith(S, { n: 1 })).toEqual({ n: 1 });
    try {
      parseWith(S, { n: "x" }, "jobs.invalid_options");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ActpError);
      expect((err as ActpError).toBody()).toMatchObject({
        error: { code: "jobs.invalid_options", details: [{ path: ["n"], code: "invalid_type" }] },
      });
      expect((err as ActpError).status).toBe(400);
    }
  });
});

describe("fromPgError", () => {
  it("reads the code from a P0001 message and keeps the rest as the message", () => {
    const e = fromPgError({ code: "P0001", message: "jobs.agent_not_found: no agent \"x\"" });
    expect(e).toMatchObject({ code: "jobs.agent_not_found", status: 404, message: 'no agent "x"' });
  });

  it("does not pass an undeclared code through as if it were one", () => {
    const e = fromPgError({ code: "P0001", message: "made.up_code: hello" });
    expect(e).toMatchObject({ code: "db.raised", status: 400, details: { undeclared_code: "made.up_code" } });
  });

  it("maps constraint and privilege errors, and leaves the rest to be a 500", () => {
    expect(fromPgError({ code: "23505", message: "dup", constraint: "c" })).toMatchObject({ code: "db.unique_violation", status: 409 });
    expect(fromPgError({ code: "23503", message: "fk" })).toMatchObject({ status: 400 });
    expect(fromPgError({ code: "42501", message: "permission denied" })).toMatchObject({ code: "auth.forbidden", status: 403 });
    expect(fromPgError({ code: "40001", message: "serialization failure" })).toBeNull();
    expect(fromPgError(new Error("boom"))).toBeNull();
  });

  it("maps text and JSON Postgres cannot take to 400, and a statement timeout to 503", () => {
    expect(fromPgError({ code: "22021", message: "invalid byte sequence for encoding \"UTF8\": 0x00" })).toMatchObject({ code: "input.invalid_unicode", status: 400 });
    expect(fromPgError({ code: "22P05", message: "unsupported Unicode escape sequence" })).toMatchObject({ code: "input.nul_character", status: 400 });
    expect(fromPgError({ code: "54001", message: "stack depth limit exceeded" })).toMatchObject({ code: "input.too_deep", status: 400 });
    expect(fromPgError({ code: "57014", message: "canceling statement due to statement timeout" })).toMatchObject({ code: "db.statement_timeout", status: 503 });
  });
});

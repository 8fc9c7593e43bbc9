// The error catalog in the database: actp_raise refuses undeclared codes, and every code any actp
// function can raise (through actp_raise or the older literal 'code: ...' message) is declared.
import { afterAll, describe, expect, it } from "vitest";
import { errorCodes, ERROR_CODES } from "../../shared/errors/catalog.ts";
import { fromPgError } from "../../shared/errors.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const CODE_AT_MESSAGE_START = /'([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+):\s/g;
const ACTP_RAISE = /actp_raise\s*\(\s*'([^']*)'/g;

describe("actp_error_codes", () => {
  it("holds the catalog: every code with its status", async () => {
    const { rows } = await db.query<{ code: string; http_status: number }>(`select code, http_status from actp_error_codes order by code`);
    expect(rows.map((r) => r.code)).toEqual(errorCodes);
    for (const r of rows) expect(r.http_status, r.code).toBe(ERROR_CODES[r.code as keyof typeof ERROR_CODES].status);
    // And actp_error_http_status, what actp_raise checks against, knows every one of them.
    const { rows: fn } = await db.query<{ code: string; s: number | null }>(
      `select c as code, public.actp_error_http_status(c) as s from unnest($1::text[]) as c`,
      [errorCodes],
    );
    for (const r of fn) expect(r.s, r.code).toBe(ERROR_CODES[r.code as keyof typeof ERROR_CODES].status);
  });

  it("actp_raise raises a declared code in the form fromPgError reads, with its catalog status", async () => {
    const err = await db.query(`select public.actp_raise('jobs.agent_not_found', 'no agent "x"')`).catch((e: unknown) => e);
    expect(fromPgError(err)).toMatchObject({ code: "jobs.agent_not_found", status: 404, message: 'no agent "x"' });
  });

  it("actp_raise refuses a code that is not in the catalog", async () => {
    const err = await db.query(`select public.actp_raise('made.up', 'hello')`).catch((e: unknown) => e);
    expect(fromPgError(err)).toMatchObject({ code: "actp.unknown_error_code", status: 500 });
    expect((err as Error).message).toContain('"made.up" is not in the error catalog');
  });

  it("an authenticated reader's function can raise through it; anon cannot call it", async () => {
    const asUser = await asRoleRolledBack(db, "authenticated", (tx) => tx.query(`select public.actp_raise('auth.forbidden', 'no')`).catch((e: unknown) => e));
    expect(fromPgError(asUser)).toMatchObject({ code: "auth.forbidden" });
    const asAnon = await asRoleRolledBack(db, "anon", (tx) => tx.query(`select public.actp_raise('auth.forbidden', 'no')`).catch((e: unknown) => e));
    expect((asAnon as { code?: string }).code).toBe("42501");
  });

  it("every code raised in the source of an actp function is in the catalog", async () => {
    const { rows } = await db.query<{ name: string; src: string }>(
      `select p.oid::regprocedure::text as name, p.prosrc as src
         from pg_proc p
         join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public'
          and p.prolang in (select oid from pg_language where lanname in ('plpgsql', 'sql'))
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
    );
    const declared = new Set<string>(errorCodes);
    const undeclared: string[] = [];
    let raised = 0;
    for (const { name, src } of rows) {
      for (const m of [...src.matchAll(CODE_AT_MESSAGE_START), ...src.matchAll(ACTP_RAISE)]) {
        raised++;
        if (!declared.has(m[1]!)) undeclared.push(`${name}: ${m[1]}`);
      }
    }
    expect(raised).toBeGreaterThan(40);
    expect(undeclared, "register these in shared/errors/catalog.ts, then npm run gen:error-codes").toEqual([]);
  });
});

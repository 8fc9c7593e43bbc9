// The embedded server multiplexes every client onto PGlite's one session. These prove it keeps each
// client's extended-protocol units and transactions whole, which pglite-socket's own queue did not.
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { errorText, firstValue, msg, RawPgClient } from "../support/raw-pg.ts";

const clients: pg.Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
});

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: inject("dbUrl") });
  await c.connect();
  clients.push(c);
  return c;
}

describe("embedded wire server", () => {
  it("keeps one client's Parse .. Sync whole while another client sends in between", async () => {
    const port = Number(new URL(inject("dbUrl")).port);
    const a = await RawPgClient.connect(port);
    const b = await RawPgClient.connect(port);
    try {
      a.send(msg.parse("select $1::int + $2::int"));
      await new Promise((r) => setTimeout(r, 50));
      // b replaces the unnamed statement if it is allowed to run before a's Sync.
      b.send(msg.parse("select $1::int * 10"), msg.bind(["7"]), msg.execute(), msg.sync());
      await new Promise((r) => setTimeout(r, 50));
      a.send(msg.bind(["1", "2"]), msg.execute(), msg.sync());
      const fromA = await a.untilReady();
      expect(errorText(fromA)).toBeNull();
      expect(firstValue(fromA)).toBe("3");
      expect(firstValue(await b.untilReady())).toBe("70");
    } finally {
      a.close();
      b.close();
    }
  });

  it("never interleaves two clients' parameterized statements", async () => {
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect()));
    await Promise.all(
      conns.map(async (c, i) => {
        for (let n = 0; n < 60; n++) {
          // Different arities per client: a Bind meant for another client's Parse would fail.
          const arity = 1 + ((i + n) % 5);
          const params = Array.from({ length: arity }, (_, k) => k + i);
          const sql = `select ${params.map((_, k) => `$${k + 1}::int`).join(" + ")} as s`;
          const { rows } = await c.query(sql, params);
          expect(rows[0].s).toBe(params.reduce((a, b) => a + b, 0));
        }
      }),
    );
  });

  it("keeps a client's open transaction to itself", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query(`create temp table if not exists wire_tx_probe (v int)`);
    await a.query("begin");
    await a.query(`select set_config('actp.wire_probe', 'mine', true)`);
    // b's statement waits until a's transaction ends, so it never sees a's transaction-local setting.
    const seen = b.query(`select coalesce(current_setting('actp.wire_probe', true), '') as v`);
    await new Promise((r) => setTimeout(r, 50));
    const own = await a.query(`select current_setting('actp.wire_probe', true) as v`);
    expect(own.rows[0].v).toBe("mine");
    await a.query("commit");
    expect((await seen).rows[0].v).toBe("");
  });

  it("rolls back a disconnected client's open transaction", async () => {
    const a = await connect();
    const b = await connect();
    await a.query("begin");
    await a.query(`select set_config('actp.wire_abandoned', 'left', true)`);
    await a.end();
    const { rows } = await b.query(`select coalesce(current_setting('actp.wire_abandoned', true), '') as v`);
    expect(rows[0].v).toBe("");
  });
  it("keeps each client's session state to itself while clients interleave", async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    await a.query("set role anon");
    await a.query("set statement_timeout = '7s'");
    await a.query({ text: "select set_config('request.jwt.claims', $1, false)", values: ['{"sub":"a"}'] });
    await b.query("set role authenticated");
    await b.query("set search_path to pg_catalog, public");
    await b.query("set app.tenant = 'tenant-b'");
    const probe = `select current_user as u, current_setting('statement_timeout') as st,
      current_setting('search_path') as sp, coalesce(current_setting('request.jwt.claims', true), '') as claims,
      coalesce(current_setting('app.tenant', true), '') as tenant`;
    const expected = {
      a: { u: "anon", st: "7s", sp: '"$user", public, extensions', claims: '{"sub":"a"}', tenant: "" },
      b: { u: "authenticated", st: "0", sp: "pg_catalog, public", claims: "", tenant: "tenant-b" },
      c: { u: "postgres", st: "0", sp: '"$user", public, extensions', claims: "", tenant: "" },
    };
    await Promise.all(
      (["a", "b", "c"] as const).map(async (who) => {
        const client = { a, b, c }[who];
        for (let n = 0; n < 25; n++) {
          const { rows } = await client.query(n % 2 === 0 ? probe : { text: probe, values: [] });
          expect(rows[0], `${who} round ${n}`).toEqual(expected[who]);
        }
      }),
    );
  });

  it("a client that leaves does not undo a live client's SET ROLE", async () => {
    const a = await connect();
    await a.query("set role anon");
    for (let n = 0; n < 5; n++) {
      const passer = new pg.Client({ connectionString: inject("dbUrl") });
      await passer.connect();
      await passer.query("set statement_timeout = '3s'");
      expect((await passer.query("select current_user as u")).rows[0].u).toBe("postgres");
      await passer.end();
      const { rows } = await a.query("select current_user as u, current_setting('statement_timeout') as st");
      expect(rows[0]).toEqual({ u: "anon", st: "0" });
    }
    await a.query("reset role");
    expect((await a.query("select current_user as u")).rows[0].u).toBe("postgres");
  });
});

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CAPABILITY_TIERS, type AgentRegistrationInput } from "../../shared/agents/contracts.ts";
import type { Database, Queryable } from "../../shared/db/types.ts";
import { fromPgError } from "../../shared/errors.ts";
import { defineAgent, registerAgent, syncAgents, toRegistration } from "../../node/worker/agents/index.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

let db: Database;
beforeAll(() => {
  db = testDatabase();
});
afterAll(() => db.end());

// Slugs are unique per test so files and tests sharing the project's database never collide.
const slug = (label: string) => `t-${label}-${randomBytes(3).toString("hex")}`;

const base = (s: string): AgentRegistrationInput => ({
  slug: s,
  description: "reads the web",
  capabilities: [
    { tool: "web.fetch", tier: "read" },
    { tool: "shell", tier: "system_admin" },
  ],
  memory_read: ["research/findings"],
  model_policy: { default_model: "claude-haiku", max_cost_usd: 0.5 },
});

const register = (def: unknown, changelog: string | null = null, q: Queryable = db) =>
  q.query<{ r: { slug: string; version: number; changed: boolean; changelog: string | null } }>(
    `select public.actp_agents_register($1::jsonb, $2) as r`,
    [JSON.stringify(def), changelog],
  ).then((res) => res.rows[0]!.r);

async function state(s: string) {
  const { rows } = await db.query<{ version: number; updated_at: string; xmin: string; definition_hash: string; versions: number }>(
    `select a.version, a.updated_at::text, a.xmin::text, a.definition_hash,
            (select count(*)::int from public.actp_agent_versions v where v.agent_id = a.id) as versions
       from public.actp_agent_definitions a where a.slug = $1`,
    [s],
  );
  return rows[0];
}

async function versions(s: string) {
  const { rows } = await db.query<{ version: number; changelog: string; snapshot: Record<string, unknown> }>(
    `select v.version, v.changelog, v.snapshot from public.actp_agent_versions v
       join public.actp_agent_definitions a on a.id = v.agent_id where a.slug = $1 order by v.version`,
    [s],
  );
  return rows;
}

const describeChanges = async (before: unknown, after: unknown) =>
  (
    await db.query<{ t: string }>(
      `select public.actp_agents_describe_changes(public.actp_agents_canonical_definition($1::jsonb),
                                                  public.actp_agents_canonical_definition($2::jsonb)) as t`,
      [JSON.stringify(before), JSON.stringify(after)],
    )
  ).rows[0]!.t;

describe("actp_agents_register", () => {
  it("first registration is version 1 'initial registration' with a full snapshot", async () => {
    const s = slug("first");
    expect(await register(base(s))).toEqual({ slug: s, version: 1, changed: true, changelog: "initial registration" });
    const [v1] = await versions(s);
    expect(v1!.changelog).toBe("initial registration");
    expect(v1!.snapshot).toMatchObject({
      slug: s,
      version: 1,
      description: "reads the web",
      // canonical order: by tool
      capabilities: [
        { tool: "shell", tier: "system_admin" },
        { tool: "web.fetch", tier: "read" },
      ],
      memory_read: ["research/findings"],
      memory_write: [],
      model_policy: { default_model: "claude-haiku", max_cost_usd: 0.5 },
      input_schema: {},
      definition_hash: (await state(s))!.definition_hash,
    });
  });

  it("an unchanged definition writes nothing: no update, no version row, no updated_at change", async () => {
    const s = slug("same");
    await register(base(s));
    const before = await state(s);
    // The same definition in another order, with 0.50 for 0.5 and a repeated namespace.
    const reordered = {
      model_policy: { max_cost_usd: 0.5, default_model: "claude-haiku" },
      memory_read: ["research/findings", "research/findings"],
      capabilities: [...base(s).capabilities!].reverse(),
      description: "reads the web",
      slug: s,
    };
    const r = await db.query<{ r: { changed: boolean; version: number } }>(
      `select public.actp_agents_register(jsonb_set($1::jsonb, '{model_policy,max_cost_usd}', '0.50'::jsonb)) as r`,
      [JSON.stringify(reordered)],
    );
    expect(r.rows[0]!.r).toMatchObject({ changed: false, version: 1 });
    expect(await register(base(s))).toEqual({ slug: s, version: 1, changed: false, changelog: null });
    // xmin unchanged: the row was not rewritten at all, not merely rewritten with the same values.
    expect(await state(s)).toEqual(before);
  });

  it("a changed definition becomes version+1 with its snapshot and a generated changelog", async () => {
    const s = slug("change");
    await register(base(s));
    const before = await state(s);
    const next = {
      ...base(s),
      description: "reads and searches the web",
      capabilities: [
        { tool: "web.fetch", tier: "read" },
        { tool: "web.search", tier: "read" },
      ],
      model_policy: { default_model: "claude-haiku", max_cost_usd: 1 },
    };
    const r = await register(next);
    expect(r).toEqual({
      slug: s,
      version: 2,
      changed: true,
      changelog: "capabilities: +web.search(read), -shell(system_admin); description changed; model_policy.max_cost_usd 0.5 → 1",
    });
    const after = await state(s);
    expect(after!.version).toBe(2);
    expect(after!.versions).toBe(2);
    expect(after!.definition_hash).not.toBe(before!.definition_hash);
    expect(after!.updated_at > before!.updated_at).toBe(true);
    const v = await versions(s);
    expect(v.map((x) => x.version)).toEqual([1, 2]);
    expect(v[1]!.snapshot).toMatchObject({ version: 2, description: "reads and searches the web", model_policy: { max_cost_usd: 1 } });
    // The old snapshot is kept as it was.
    expect(v[0]!.snapshot).toMatchObject({ version: 1, description: "reads the web" });
    const { rows } = await db.query<{ description: string; capabilities: unknown }>(
      `select description, capabilities from public.actp_agent_definitions where slug = $1`,
      [s],
    );
    expect(rows[0]).toEqual({ description: "reads and searches the web", capabilities: next.capabilities });
  });

  it("uses the changelog it is given", async () => {
    const s = slug("given");
    expect((await register(base(s), "first cut")).changelog).toBe("first cut");
    expect(await register({ ...base(s), description: "x" }, "tightened the prompt")).toMatchObject({ version: 2, changelog: "tightened the prompt" });
    expect((await versions(s)).map((v) => v.changelog)).toEqual(["first cut", "tightened the prompt"]);
  });

  it("a registration does not touch enabled", async () => {
    const s = slug("keepdis");
    await register(base(s));
    await db.query(`select public.actp_agents_set_enabled($1, false)`, [s]);
    await register({ ...base(s), description: "v2" });
    const { rows } = await db.query<{ enabled: boolean }>(`select enabled from public.actp_agent_definitions where slug = $1`, [s]);
    expect(rows[0]!.enabled).toBe(false);
  });

  it.each([
    [{ slug: "Bad Slug" }, "slug must match"],
    [{ slug: "ok-slug", capabilities: [{ tool: "shell", tier: "root" }] }, "capabilities[0].tier must be one of read, write, network_write, system_admin"],
    [{ slug: "ok-slug", capabilities: [{ tool: "a", tier: "read" }, { tool: "a", tier: "write" }] }, 'tool "a" is listed twice'],
    [{ slug: "ok-slug", capabilities: [{ tool: "a", tier: "read", extra: 1 }] }, "keys other than tool and tier"],
    [{ slug: "ok-slug", capabilities: {} }, "capabilities must be an array"],
    [{ slug: "ok-slug", model_policy: { max_cost_usd: -1 } }, "max_cost_usd must be a number >= 0"],
    [{ slug: "ok-slug", model_policy: { max_cost_usd: "1" } }, "max_cost_usd must be a number >= 0"],
    [{ slug: "ok-slug", model_policy: { budget: 1 } }, "model_policy.budget is not a known key"],
    [{ slug: "ok-slug", memory_write: ["has space"] }, "memory_write[0] must be a memory namespace"],
    [{ slug: "ok-slug", description: 42 }, "description must be a string"],
    [{ slug: "ok-slug", input_schema: [] }, "input_schema must be a JSON Schema object"],
    [{ slug: "ok-slug", handler: "x" }, 'unknown field "handler"'],
    [[], "must be a JSON object"],
  ])("refuses an invalid definition %j, writing nothing", async (def, message) => {
    const err = await register(def).then(
      () => null,
      (e: unknown) => e,
    );
    const mapped = fromPgError(err);
    expect(mapped?.code).toBe("agents.invalid_definition");
    expect(mapped?.status).toBe(400);
    expect(mapped?.message).toContain(message);
    const { rows } = await db.query(`select 1 from public.actp_agent_definitions where slug = 'ok-slug'`);
    expect(rows).toHaveLength(0);
  });

  it("refuses an empty changelog", async () => {
    const s = slug("emptylog");
    const err = await register(base(s), "   ").catch((e: unknown) => e);
    expect(fromPgError(err)?.code).toBe("agents.invalid_changelog");
    expect(await state(s)).toBeUndefined();
  });

  it("the table itself refuses invalid capabilities and model policies", async () => {
    const s = slug("direct");
    await register(base(s));
    const bad = db.query(`update public.actp_agent_definitions set capabilities = '[{"tool":"x","tier":"god"}]' where slug = $1`, [s]);
    await expect(bad).rejects.toMatchObject({ code: "23514" });
    const bad2 = db.query(`update public.actp_agent_definitions set model_policy = '{"max_cost_usd": -2}' where slug = $1`, [s]);
    await expect(bad2).rejects.toMatchObject({ code: "23514" });
  });

  it("version rows are append-only", async () => {
    const s = slug("append");
    await register(base(s));
    const upd = db.query(
      `update public.actp_agent_versions set changelog = 'rewritten' where agent_id = (select id from public.actp_agent_definitions where slug = $1)`,
      [s],
    );
    await expect(upd).rejects.toThrow(/append_only/);
  });

  it("sanity: concurrent registrations of one agent make one version per change", async () => {
    const s = slug("conc");
    const results = await Promise.all(Array.from({ length: 6 }, () => register(base(s))));
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const next = { ...base(s), description: "changed" };
    const again = await Promise.all(Array.from({ length: 6 }, () => register(next)));
    expect(again.filter((r) => r.changed)).toHaveLength(1);
    expect((await versions(s)).map((v) => v.version)).toEqual([1, 2]);
  });
});

describe("generated changelog (actp_agents_describe_changes)", () => {
  const a = { slug: "x", description: "d", capabilities: [{ tool: "web.fetch", tier: "read" }], memory_read: ["a"], memory_write: ["w"] };

  it("lists added, removed and re-tiered capabilities", async () => {
    expect(
      await describeChanges(a, {
        ...a,
        capabilities: [
          { tool: "web.fetch", tier: "network_write" },
          { tool: "db.query", tier: "write" },
        ],
      }),
    ).toBe("capabilities: +db.query(write), web.fetch(read → network_write)");
  });

  it("lists namespaces, model policy keys (none when absent) and schema changes", async () => {
    expect(
      await describeChanges(
        { ...a, model_policy: { default_model: "haiku", fallback: "sonnet" } },
        { ...a, memory_read: ["b"], memory_write: [], model_policy: { default_model: "sonnet", max_cost_usd: 2 }, input_schema: { type: "object" } },
      ),
    ).toBe(
      "memory_read: +b, -a; memory_write: -w; model_policy.default_model haiku → sonnet; model_policy.fallback sonnet → none; model_policy.max_cost_usd none → 2; input_schema changed",
    );
  });

  it("says 'definition changed' when the canonical forms differ in nothing it can name", async () => {
    expect(await describeChanges(a, a)).toBe("definition changed");
  });
});

describe("actp_agents_set_enabled", () => {
  it("disables and enables; setting the current state writes nothing; unknown slug is agents.not_found", async () => {
    const s = slug("toggle");
    await register(base(s));
    const set = async (enabled: boolean) =>
      (await db.query<{ r: unknown }>(`select public.actp_agents_set_enabled($1, $2) as r`, [s, enabled])).rows[0]!.r;
    expect(await set(false)).toEqual({ slug: s, enabled: false, version: 1, changed: true });
    const before = await state(s);
    expect(await set(false)).toEqual({ slug: s, enabled: false, version: 1, changed: false });
    expect(await state(s)).toEqual(before);
    expect(await set(true)).toMatchObject({ enabled: true, changed: true });
    expect((await state(s))!.versions).toBe(1);
    const err = await db.query(`select public.actp_agents_set_enabled('t-nobody-here', true)`).catch((e: unknown) => e);
    expect(fromPgError(err)).toMatchObject({ code: "agents.not_found", status: 404 });
  });
});

describe("who may change the registry", () => {
  it("service_role may register; authenticated and anon may not", async () => {
    const s = slug("roles");
    const ok = await asRoleRolledBack<{ changed: boolean }>(db, "service_role", (tx) => register(base(s), null, tx));
    expect(ok.changed).toBe(true);
    for (const role of ["authenticated", "anon"] as const) {
      const err = await asRoleRolledBack(db, role, (tx) => register(base(s), null, tx)).catch((e: unknown) => e);
      expect(fromPgError(err)).toMatchObject({ code: "auth.forbidden", status: 403 });
      const err2 = await asRoleRolledBack(db, role, (tx) => tx.query(`select public.actp_agents_set_enabled('x', true)`)).catch((e: unknown) => e);
      expect(fromPgError(err2)).toMatchObject({ code: "auth.forbidden", status: 403 });
    }
    expect(await state(s)).toBeUndefined();
  });

  it("viewers may read the registry; a plain signed-up user sees no row; anon may not", async () => {
    const s = slug("read");
    await register(base(s));
    const rowsAs = (who: "viewer" | "authenticated") =>
      asRoleRolledBack<unknown[]>(db, who, async (tx) => (await tx.query(`select slug from public.actp_agent_definitions where slug = $1`, [s])).rows);
    expect(await rowsAs("viewer")).toHaveLength(1);
    expect(await rowsAs("authenticated")).toHaveLength(0);
    const err = await asRoleRolledBack(db, "anon", (tx) => tx.query(`select slug from public.actp_agent_definitions`)).catch((e: unknown) => e);
    expect(fromPgError(err)?.status).toBe(403);
  });
});

describe("SDK: registerAgent / syncAgents", () => {
  const researcher = (s: string, extra: { description?: string } = {}) =>
    defineAgent({
      slug: s,
      description: extra.description ?? "researches a topic",
      input: z.object({ topic: z.string().min(1), depth: z.number().int().max(5).default(2) }),
      capabilities: [{ tool: "web.fetch", tier: "read" }],
      memory_write: ["research/findings"],
      model_policy: { default_model: "claude-sonnet" },
      handler: async (_ctx, input) => ({ summary: input.topic.repeat(input.depth) }),
    });

  it("stores the input's JSON Schema and is a no-op the second time", async () => {
    const s = slug("sdk");
    const agent = researcher(s);
    expect(await registerAgent(db, agent)).toMatchObject({ slug: s, version: 1, changed: true });
    const { rows } = await db.query<{ input_schema: { type: string; required: string[]; properties: Record<string, unknown> } }>(
      `select input_schema from public.actp_agent_definitions where slug = $1`,
      [s],
    );
    expect(rows[0]!.input_schema).toMatchObject({ type: "object", required: ["topic"], properties: { topic: { type: "string", minLength: 1 } } });
    const before = await state(s);
    expect(await registerAgent(db, researcher(s))).toMatchObject({ version: 1, changed: false });
    expect(await state(s)).toEqual(before);
    expect(await registerAgent(db, researcher(s, { description: "deeper" }), "deeper research")).toMatchObject({ version: 2, changelog: "deeper research" });
  });

  it("syncs many agents in one statement and reports each in the order given", async () => {
    const [s1, s2, s3] = [slug("zz"), slug("aa"), slug("mm")];
    await registerAgent(db, researcher(s2));
    const r = await syncAgents(db, [researcher(s1), researcher(s2), researcher(s3, { description: "third" })]);
    expect(r.map((x) => [x.slug, x.version, x.changed])).toEqual([
      [s1, 1, true],
      [s2, 1, false],
      [s3, 1, true],
    ]);
  });

  it("a sync with one invalid agent writes none of them", async () => {
    const good = slug("good");
    // The SDK refuses this at defineAgent; a tampered registration must still be refused by the database.
    const tampered = { ...researcher(slug("bad")), registration: { ...toRegistration({ slug: "ok" }), slug: "Not Valid" } };
    const err = await syncAgents(db, [researcher(good), tampered]).catch((e: unknown) => e);
    expect(fromPgError(err)?.code).toBe("agents.invalid_definition");
    expect(await state(good)).toBeUndefined();
  });

  it("the database's tiers are the contract's tiers", async () => {
    const { rows } = await db.query<{ t: string[] }>(`select public.actp_agents_capability_tiers() as t`);
    expect(rows[0]!.t).toEqual([...CAPABILITY_TIERS]);
  });
});

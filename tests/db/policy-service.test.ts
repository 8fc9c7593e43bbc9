// Policy service on PGlite: every policy type, settle errors, bad input, RLS. Scopes are unique per
// test (agent:<random slug>, tool:<random name>) because the database is shared with other files;
// global-scope cases and incident mode run inside rolled-back transactions.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { ActpError } from "../../shared/errors.ts";
import { canonicalizeUrl, hostMatchesPattern } from "../../shared/net/allowlist.ts";
import {
  checkPolicy,
  createPolicy,
  decideApproval,
  listApprovals,
  settlePolicy,
  spendTotals,
  updatePolicy,
  type PolicyDecision,
} from "../../shared/policy/index.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

// The budget counters are derived data: after every scenario they must equal the ledger and the
// open reservations they summarise.
async function drift(): Promise<unknown[]> {
  return (await db.query(`select * from public.actp_policy_counter_drift()`)).rows;
}
afterEach(async () => {
  expect(await drift()).toEqual([]);
});

const uniq = () => randomBytes(4).toString("hex");

async function agent(q: Queryable = db, opts: { enabled?: boolean; capabilities?: unknown[] } = {}): Promise<string> {
  const slug = `pol-${uniq()}`;
  await q.query(
    `insert into public.actp_agent_definitions (slug, definition_hash, enabled, capabilities) values ($1, $2, $3, $4::jsonb)`,
    [slug, randomBytes(32).toString("hex"), opts.enabled ?? true, JSON.stringify(opts.capabilities ?? [])],
  );
  return slug;
}

const check = (slug: string, tool: string, extra: Partial<Parameters<typeof checkPolicy>[1]> = {}, q: Queryable = db) =>
  checkPolicy(q, { agent_slug: slug, tool_name: tool, action_type: "network_read", estimated_cost_usd: 0, ...extra });

function denied(d: PolicyDecision) {
  if (d.allowed) throw new Error(`expected a denial, got ${JSON.stringify(d)}`);
  return d;
}
function allowed(d: PolicyDecision) {
  if (!d.allowed) throw new Error(`expected allowed, got ${JSON.stringify(d)}`);
  return d;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select (${sql})::int as n`, params);
  return rows[0]!.n;
}

describe("agent and tool gate (fail closed)", () => {
  it("denies an unknown agent and a disabled one, writing nothing", async () => {
    const before = await count(`select count(*) from public.actp_policy_reservations`);
    expect(denied(await check(`ghost-${uniq()}`, "web.fetch")).reason).toBe("unknown_agent");
    const off = await agent(db, { enabled: false });
    expect(denied(await check(off, "web.fetch")).reason).toBe("agent_disabled");
    expect(await count(`select count(*) from public.actp_policy_reservations`)).toBe(before);
  });

  it("a declared capability list is the agent's tool allowlist", async () => {
    const slug = await agent(db, { capabilities: [{ tool: "web.fetch", tier: "read" }] });
    allowed(await check(slug, "web.fetch"));
    expect(denied(await check(slug, "shell.exec")).reason).toBe("tool_not_permitted");
  });

  it("malformed input is a 400 ActpError, not a decision", async () => {
    const slug = await agent();
    await expect(check(slug, "bad tool name")).rejects.toMatchObject({ status: 400, code: "policy.invalid_check" });
    await expect(check(slug, "web.fetch", { estimated_cost_usd: -1 })).rejects.toBeInstanceOf(ActpError);
    await expect(check("Not A Slug", "web.fetch")).rejects.toMatchObject({ status: 400 });
    // The SQL function defends itself too.
    await expect(db.query(`select public.actp_policy_check($1, 'web.fetch', 'x', null, -5)`, [slug])).rejects.toThrow(/policy\.invalid_cost/);
    await expect(db.query(`select public.actp_policy_check($1, 'web fetch', 'x', null, 0)`, [slug])).rejects.toThrow(/policy\.invalid_tool/);
  });
});

describe("policies: validation on both sides", () => {
  it.each([
    [{ scope: "agents:x", policy_type: "budget", config: { daily_usd: 1 } }],
    [{ scope: "agent:Bad Slug", policy_type: "budget", config: { daily_usd: 1 } }],
    [{ scope: "global", policy_type: "budget", config: { daily_usd: -1 } }],
    [{ scope: "global", policy_type: "budget", config: { daily_usd: "5" } }],
    [{ scope: "global", policy_type: "budget", config: {} }],
    [{ scope: "global", policy_type: "budget", config: { daily_usdd: 5 } }],
    [{ scope: "global", policy_type: "budget", config: { daily_usd: 5, day_boundary_tz: "Mars/Olympus" } }],
    [{ scope: "global", policy_type: "rate_limit", config: { max_per_minute: 0 } }],
    [{ scope: "global", policy_type: "rate_limit", config: { max_per_minute: 1.5 } }],
    [{ scope: "global", policy_type: "allowlist", config: { allowed_domains: ["GitHub.com"] } }],
    [{ scope: "global", policy_type: "allowlist", config: { allowed_domains: ["https://github.com"] } }],
    [{ scope: "global", policy_type: "safety", config: { require_approval_for: "network_write" } }],
    [{ scope: "global", policy_type: "firewall", config: {} }],
  ])("refuses %j in TS (400) and in SQL (check constraint)", async (input) => {
    await expect(createPolicy(db, input as never)).rejects.toMatchObject({ status: 400 });
    await expect(
      db.query(`insert into public.actp_policies (scope, policy_type, config) values ($1, $2, $3::jsonb)`, [
        input.scope,
        input.policy_type,
        JSON.stringify(input.config),
      ]),
    ).rejects.toThrow(/check constraint/);
  });

  it("a patched config is validated against the stored type", async () => {
    const slug = await agent();
    const p = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1 } });
    await expect(updatePolicy(db, p.id, { config: { max_per_minute: 3 } })).rejects.toMatchObject({ status: 400, code: "policy.invalid_config" });
    await expect(updatePolicy(db, randomUUID(), { enabled: false })).rejects.toMatchObject({ status: 404 });
    const up = await updatePolicy(db, p.id, { config: { daily_usd: 2, day_boundary_tz: "Europe/Berlin" } });
    expect(up.config).toEqual({ daily_usd: 2, day_boundary_tz: "Europe/Berlin" });
  });

  it("anon and authenticated cannot change policies or call the check", async () => {
    for (const role of ["anon", "authenticated"] as const) {
      await expect(
        asRoleRolledBack(db, role, (tx) =>
          tx.query(`insert into public.actp_policies (scope, policy_type, config) values ('global', 'budget', '{"daily_usd":0}')`),
        ),
      ).rejects.toThrow(/permission denied/);
      await expect(asRoleRolledBack(db, role, (tx) => tx.query(`select public.actp_policy_check('x', 'y', 'z', null, 0)`))).rejects.toThrow(
        /permission denied/,
      );
    }
    await createPolicy(db, { scope: `agent:${await agent()}`, policy_type: "budget", config: { daily_usd: 1 } });
    const rowsAs = (who: "viewer" | "authenticated") =>
      asRoleRolledBack<unknown[]>(db, who, async (tx) => (await tx.query(`select id from public.actp_policies limit 1`)).rows);
    expect(await rowsAs("viewer")).toHaveLength(1);
    expect(await rowsAs("authenticated")).toHaveLength(0);
  });
});

describe("budget", () => {
  it("reserves estimates, counts reserved + settled, and settles once", async () => {
    const slug = await agent();
    const pol = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1, per_run_usd: 0.6 } });
    const run = randomUUID();
    const a = allowed(await check(slug, "llm.call", { run_id: run, estimated_cost_usd: 0.4 }));
    // 0.4 reserved + 0.4 > per_run 0.6
    const d = denied(await check(slug, "llm.call", { run_id: run, estimated_cost_usd: 0.4 }));
    expect(d).toMatchObject({ reason: "budget_exceeded", policy_id: pol.id, retry_after: null, details: { limit: "per_run_usd" } });
    // Settling below the estimate frees the rest for the same run.
    const s = await settlePolicy(db, a.reservation_id, 0.1);
    expect(s).toMatchObject({ cost_usd: 0.1, reserved_usd: 0.4, released_usd: 0.3, expired: false, over_estimate: false });
    allowed(await check(slug, "llm.call", { run_id: run, estimated_cost_usd: 0.4 }));
    // Another run: daily 1.0 has 0.1 settled + 0.4 reserved.
    allowed(await check(slug, "llm.call", { run_id: randomUUID(), estimated_cost_usd: 0.5 }));
    const daily = denied(await check(slug, "llm.call", { run_id: randomUUID(), estimated_cost_usd: 0.01 }));
    expect(daily.details).toMatchObject({ limit: "daily_usd", day_boundary_tz: "UTC" });
    expect(daily.retry_after).toBeGreaterThan(0);
    expect(daily.retry_after).toBeLessThanOrEqual(86400);
  });

  it("settle: unknown is 404, settled twice is 409, negative is 400; nothing written", async () => {
    const slug = await agent();
    const a = allowed(await check(slug, "llm.call", { estimated_cost_usd: 0.2 }));
    const ledgerBefore = await count(`select count(*) from public.actp_budget_ledger`);
    await expect(settlePolicy(db, randomUUID(), 0.1)).rejects.toMatchObject({ status: 404, code: "policy.reservation.not_found" });
    await expect(settlePolicy(db, a.reservation_id, -0.1)).rejects.toMatchObject({ status: 400 });
    await expect(settlePolicy(db, "not-a-uuid", 0.1)).rejects.toMatchObject({ status: 400 });
    expect(await count(`select count(*) from public.actp_budget_ledger`)).toBe(ledgerBefore);
    await settlePolicy(db, a.reservation_id, 0.2);
    await expect(settlePolicy(db, a.reservation_id, 0.2)).rejects.toMatchObject({ status: 409, code: "policy.reservation.conflict" });
    expect(await count(`select count(*) from public.actp_budget_ledger`)).toBe(ledgerBefore + 1);
  });

  it("the ledger is append-only and cost is numeric", async () => {
    const { rows } = await db.query<{ t: string }>(
      `select data_type as t from information_schema.columns where table_name = 'actp_budget_ledger' and column_name = 'cost_usd'`,
    );
    expect(rows[0]!.t).toBe("numeric");
    await expect(db.query(`update public.actp_budget_ledger set cost_usd = 0`)).rejects.toThrow(/actp\.append_only/);
    await expect(db.query(`delete from public.actp_budget_ledger`)).rejects.toThrow(/actp\.append_only/);
  });

  it("expired reservations stop counting; settling one still records the spend", async () => {
    const slug = await agent();
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1 } });
    const a = allowed(await check(slug, "llm.call", { estimated_cost_usd: 1 }));
    denied(await check(slug, "llm.call", { estimated_cost_usd: 0.5 }));
    await db.query(
      `update public.actp_policy_reservations set created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where id = $1`,
      [a.reservation_id],
    );
    allowed(await check(slug, "llm.call", { estimated_cost_usd: 0.5 })); // lazy expiry
    await db.query(`select public.actp_policy_expire_reservations()`);
    const { rows } = await db.query<{ status: string }>(`select status from public.actp_policy_reservations where id = $1`, [a.reservation_id]);
    expect(rows[0]!.status).toBe("expired");
    expect(await settlePolicy(db, a.reservation_id, 0.3)).toMatchObject({ expired: true, cost_usd: 0.3 });
  });

  it("the day window follows day_boundary_tz", async () => {
    const slug = await agent();
    const pol = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1, day_boundary_tz: "Pacific/Kiritimati" } });
    const a = allowed(await check(slug, "llm.call", { estimated_cost_usd: 0.9 }));
    await settlePolicy(db, a.reservation_id, 0.9);
    // Spend from before today's local midnight in that zone does not count; today's does.
    await db.query(`alter table public.actp_budget_ledger disable trigger tg_actp_budget_ledger__append_only`);
    try {
      await db.query(
        `update public.actp_budget_ledger set created_at = (date_trunc('day', now() at time zone 'Pacific/Kiritimati') at time zone 'Pacific/Kiritimati') - interval '1 second'
         where reservation_id = $1`,
        [a.reservation_id],
      );
    } finally {
      await db.query(`alter table public.actp_budget_ledger enable trigger tg_actp_budget_ledger__append_only`);
    }
    // The tampering moved spend the counters had summed: they drift, and rebuild from the ledger.
    expect(await drift()).not.toEqual([]);
    await db.query(`delete from public.actp_policy_budget_days where policy_id = $1`, [pol.id]);
    const d = allowed(await check(slug, "llm.call", { estimated_cost_usd: 0.9 }));
    await settlePolicy(db, d.reservation_id, 0.9);
    expect(denied(await check(slug, "llm.call", { estimated_cost_usd: 0.2 })).details).toMatchObject({ day_boundary_tz: "Pacific/Kiritimati" });
  });

  it("global budgets apply to everyone and halve in incident mode", async () => {
    const slug = await agent();
    await asRoleRolledBack(db, "service_role", async (tx) => {
      await createPolicy(tx, { scope: "global", policy_type: "budget", config: { per_run_usd: 1 } });
      allowed(await check(slug, "llm.call", { run_id: randomUUID(), estimated_cost_usd: 0.8 }, tx));
      await tx.query(`update public.actp_platform_state set mode = 'incident'`);
      const d = denied(await check(slug, "llm.call", { run_id: randomUUID(), estimated_cost_usd: 0.8 }, tx));
      expect(d.details).toMatchObject({ limit_usd: 0.5, incident_mode: true });
      allowed(await check(slug, "llm.call", { run_id: randomUUID(), estimated_cost_usd: 0.5 }, tx));
    });
  });

  it("tool-scoped budgets count only that tool", async () => {
    const slug = await agent();
    const tool = `paid.${uniq()}`;
    await createPolicy(db, { scope: `tool:${tool}`, policy_type: "budget", config: { daily_usd: 0.5 } });
    allowed(await check(slug, tool, { estimated_cost_usd: 0.5 }));
    denied(await check(slug, tool, { estimated_cost_usd: 0.01 }));
    allowed(await check(slug, "other.tool", { estimated_cost_usd: 5 }));
  });
});

describe("rate_limit", () => {
  it("admits max_per_minute, then denies with retry_after until the oldest call leaves the window", async () => {
    const slug = await agent();
    const tool = `rl.${uniq()}`;
    const pol = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool, max_per_minute: 3 } });
    for (let i = 0; i < 3; i++) allowed(await check(slug, tool));
    const d = denied(await check(slug, tool));
    expect(d).toMatchObject({ reason: "rate_limited", policy_id: pol.id, details: { window: "minute", limit: 3 } });
    expect(d.retry_after).toBeGreaterThanOrEqual(59);
    expect(d.retry_after).toBeLessThanOrEqual(60);
    // Another tool is not limited by a policy naming one tool.
    allowed(await check(slug, "other.tool"));
    // Age the calls: the oldest leaves after 40 s more.
    await db.query(`update public.actp_rate_limit_calls set called_at = called_at - interval '20 seconds' where policy_id = $1`, [pol.id]);
    const d2 = denied(await check(slug, tool));
    expect(d2.retry_after).toBeGreaterThanOrEqual(39);
    expect(d2.retry_after).toBeLessThanOrEqual(41);
    await db.query(`update public.actp_rate_limit_calls set called_at = called_at - interval '41 seconds' where policy_id = $1`, [pol.id]);
    allowed(await check(slug, tool));
  });

  it("max_per_hour counts the hour window", async () => {
    const slug = await agent();
    const tool = `rl.${uniq()}`;
    const pol = await createPolicy(db, { scope: `tool:${tool}`, policy_type: "rate_limit", config: { max_per_minute: 10, max_per_hour: 2 } });
    allowed(await check(slug, tool));
    allowed(await check(slug, tool));
    await db.query(`update public.actp_rate_limit_calls set called_at = called_at - interval '30 minutes' where policy_id = $1`, [pol.id]);
    const d = denied(await check(slug, tool));
    expect(d.details).toMatchObject({ window: "hour" });
    expect(d.retry_after).toBeGreaterThan(1700);
    expect(d.retry_after).toBeLessThanOrEqual(1800);
  });

  it("a denial by a later policy takes no rate-limit slot", async () => {
    const slug = await agent();
    const tool = `rl.${uniq()}`;
    const pol = await createPolicy(db, { scope: `tool:${tool}`, policy_type: "rate_limit", config: { max_per_minute: 5 } });
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 0.1 } });
    denied(await check(slug, tool, { estimated_cost_usd: 1 }));
    expect(await count(`select count(*) from public.actp_rate_limit_calls where policy_id = $1`, [pol.id])).toBe(0);
  });
});

describe("allowlist", () => {
  it("checks the canonical host; a tool-scoped allowlist needs a URL", async () => {
    const slug = await agent();
    const tool = `fetch.${uniq()}`;
    await createPolicy(db, { scope: `tool:${tool}`, policy_type: "allowlist", config: { allowed_domains: ["github.com", "docs.*", "*.vercel.app"] } });
    allowed(await check(slug, tool, { target_url: "HTTPS://GitHub.COM./anthropics" }));
    allowed(await check(slug, tool, { target_url: "https://docs.python.org/3/" }));
    allowed(await check(slug, tool, { target_url: "https://app.vercel.app/" }));
    expect(denied(await check(slug, tool, { target_url: "https://github.com@evil.example/" })).reason).toBe("invalid_url");
    expect(denied(await check(slug, tool, { target_url: "https://evil.com#@github.com" }))).toMatchObject({
      reason: "domain_not_allowed",
      details: { host: "evil.com" },
    });
    expect(denied(await check(slug, tool, { target_url: "https://vercel.app/" })).reason).toBe("domain_not_allowed");
    expect(denied(await check(slug, tool, { target_url: "javascript:alert(1)" })).reason).toBe("invalid_url");
    expect(denied(await check(slug, tool)).reason).toBe("url_required");
  });

  it("the SQL function refuses anything but the canonical form", async () => {
    const slug = await agent();
    const tool = `fetch.${uniq()}`;
    await createPolicy(db, { scope: `tool:${tool}`, policy_type: "allowlist", config: { allowed_domains: ["github.com"] } });
    for (const raw of ["HTTPS://github.com/", "https://github.com./", "https://x@github.com/", "https://github.com\\@evil.com", "https://github.com/a b", "http://github.com:99999/", "ftp://github.com/"]) {
      const { rows } = await db.query<{ d: PolicyDecision }>(`select public.actp_policy_check($1, $2, 'network_read', null, 0, $3) as d`, [slug, tool, raw]);
      expect(rows[0]!.d, raw).toMatchObject({ allowed: false, reason: "invalid_url" });
    }
    const { rows } = await db.query<{ d: PolicyDecision }>(`select public.actp_policy_check($1, $2, 'network_read', null, 0, 'https://github.com/x') as d`, [slug, tool]);
    expect(rows[0]!.d.allowed).toBe(true);
  });

  it("SQL and TS agree on host matching", async () => {
    const urls = ["https://github.com/", "https://api.github.com/", "https://docs.rs/", "https://a.b.vercel.app/", "https://vercel.app/", "http://127.0.0.1/", "http://[::1]:8080/", "https://github.com:8443/", "http://docs/"];
    const patterns = ["github.com", "*.github.com", "docs.*", "*.vercel.app", "127.0.0.1", "[::1]:8080", "github.com:8443", "127.*"];
    for (const raw of urls) {
      const u = canonicalizeUrl(raw);
      if (!u.ok) throw new Error(raw);
      for (const p of patterns) {
        const { rows } = await db.query<{ m: boolean }>(`select public.actp_policy_host_matches($1, $2, $3, $4) as m`, [
          u.host,
          u.effectivePort,
          u.scheme === "https" ? 443 : 80,
          p,
        ]);
        expect(rows[0]!.m, `${raw} ~ ${p}`).toBe(hostMatchesPattern(u, p));
      }
    }
  });
});

describe("safety approvals", () => {
  it("denies with approval_required, records one request, passes the approved call once", async () => {
    const slug = await agent();
    const tool = `ops.${uniq()}`;
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "safety", config: { require_approval_for: ["network_write"] } });
    const run = randomUUID();
    const call = { run_id: run, action_type: "network_write", args_hash: "sha256:abc" };
    allowed(await check(slug, tool, { run_id: run })); // network_read needs nothing
    const d1 = denied(await check(slug, tool, call));
    const d2 = denied(await check(slug, tool, call));
    expect(d1.reason).toBe("approval_required");
    const approvalId = (d1.details as { approval_id: string }).approval_id;
    expect((d2.details as { approval_id: string }).approval_id).toBe(approvalId);
    const pending = await listApprovals(db, { status: "pending", run_id: run });
    expect(pending.map((a) => a.id)).toEqual([approvalId]);

    const ok = await decideApproval(db, approvalId, "approve", "ops@example.com", "looks fine");
    expect(ok).toMatchObject({ status: "approved", decided_by: "service_role", decided_label: "ops@example.com" });
    await expect(decideApproval(db, approvalId, "deny", "x")).rejects.toMatchObject({ status: 409 });
    await expect(decideApproval(db, randomUUID(), "approve", "x")).rejects.toMatchObject({ status: 404 });

    // Different arguments are a different call.
    expect(denied(await check(slug, tool, { ...call, args_hash: "sha256:other" })).reason).toBe("approval_required");
    const pass = allowed(await check(slug, tool, call));
    expect(pass.approval_id).toBe(approvalId);
    // Once: the next identical call needs a new approval.
    const again = denied(await check(slug, tool, call));
    expect((again.details as { approval_id: string }).approval_id).not.toBe(approvalId);
  });

  it("a denied request keeps denying that call", async () => {
    const slug = await agent();
    const tool = `ops.${uniq()}`;
    await createPolicy(db, { scope: `tool:${tool}`, policy_type: "safety", config: { require_approval_for: ["system_admin"] } });
    const call = { run_id: randomUUID(), action_type: "system_admin", args_hash: "h1" };
    const d = denied(await check(slug, tool, call));
    await decideApproval(db, (d.details as { approval_id: string }).approval_id, "deny", "ops");
    expect(denied(await check(slug, tool, call)).reason).toBe("approval_denied");
  });
});

describe("budget counters", () => {
  it("a check reads O(1) counter rows that follow settles, expiry and policy changes", async () => {
    const slug = await agent();
    const tool = `ctr.${uniq()}`;
    const run = randomUUID();
    const byAgent = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10, per_run_usd: 5 } });
    const byTool = await createPolicy(db, { scope: `tool:${tool}`, policy_type: "budget", config: { daily_usd: 10 } });
    const a = allowed(await check(slug, tool, { run_id: run, estimated_cost_usd: 1.23456789 }));
    const b = allowed(await check(slug, tool, { run_id: run, estimated_cost_usd: 2 }));
    allowed(await check(slug, "other.tool", { run_id: run, estimated_cost_usd: 0.5 }));
    const counters = async () =>
      (
        await db.query<{ kind: string; policy_id: string; reserved: string; settled: string }>(
          `select 'day' as kind, policy_id, reserved_usd::text as reserved, settled_usd::text as settled from public.actp_policy_budget_days where policy_id = any($1::uuid[])
           union all
           select 'run', policy_id, reserved_usd::text, settled_usd::text from public.actp_policy_budget_runs where policy_id = any($1::uuid[])
           order by 1, 2`,
          [[byAgent.id, byTool.id]],
        )
      ).rows.map((r) => [r.kind, r.policy_id === byAgent.id ? "agent" : "tool", Number(r.reserved), Number(r.settled)]);
    expect(await counters()).toEqual(
      expect.arrayContaining([
        ["day", "agent", 3.73456789, 0],
        ["day", "tool", 3.23456789, 0],
        ["run", "agent", 3.73456789, 0],
      ]),
    );
    await settlePolicy(db, a.reservation_id, 1);
    await db.query(`update public.actp_policy_reservations set created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where id = $1`, [
      b.reservation_id,
    ]);
    // Lazily expired: no longer counted, though the counters still hold it until the schedule runs.
    const d = denied(await check(slug, tool, { run_id: run, estimated_cost_usd: 4.6 }));
    expect(d.details).toMatchObject({ limit: "per_run_usd", used_usd: 1.5 });
    await db.query(`select public.actp_policy_expire_reservations()`);
    expect(await counters()).toEqual(
      expect.arrayContaining([
        ["day", "agent", 0.5, 1],
        ["day", "tool", 0, 1],
        ["run", "agent", 0.5, 1],
      ]),
    );
    // Changing a policy drops its counters; the next check rebuilds them from the truth.
    await updatePolicy(db, byAgent.id, { config: { daily_usd: 10, per_run_usd: 6 } });
    expect((await counters()).filter((c) => c[1] === "agent")).toEqual([]);
    // The estimate is 0.25 but this tool's last settle cost 1: the check reserves the 1 it learned.
    allowed(await check(slug, tool, { run_id: run, estimated_cost_usd: 0.25 }));
    expect((await counters()).filter((c) => c[1] === "agent")).toEqual([
      ["day", "agent", 1.5, 1],
      ["run", "agent", 1.5, 1],
    ]);
  });

  it("the drift check catches spend written around the settle path", async () => {
    const slug = await agent();
    const pol = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    allowed(await check(slug, "t.x", { estimated_cost_usd: 0.1 }));
    await db.query(`insert into public.actp_budget_ledger (agent_slug, tool_name, cost_usd) values ($1, 't.x', 0.5)`, [slug]);
    const rows = await drift();
    expect(rows).toEqual([expect.objectContaining({ policy_id: pol.id, counter: "day.settled" })]);
    await db.query(`delete from public.actp_policy_budget_days where policy_id = $1`, [pol.id]);
    expect(denied(await check(slug, "t.x", { estimated_cost_usd: 9.45 })).details).toMatchObject({ used_usd: 0.6 });
  });

  it("rate-limit rings resize when the limit changes and stay bounded", async () => {
    const slug = await agent();
    const tool = `rl.${uniq()}`;
    const pol = await createPolicy(db, { scope: `tool:${tool}`, policy_type: "rate_limit", config: { max_per_minute: 3 } });
    for (let i = 0; i < 3; i++) allowed(await check(slug, tool));
    denied(await check(slug, tool));
    await updatePolicy(db, pol.id, { config: { max_per_minute: 5 } });
    allowed(await check(slug, tool));
    allowed(await check(slug, tool));
    expect(denied(await check(slug, tool)).reason).toBe("rate_limited");
    await updatePolicy(db, pol.id, { config: { max_per_minute: 2 } });
    expect(denied(await check(slug, tool)).reason).toBe("rate_limited");
    expect(await count(`select count(*) from public.actp_rate_limit_calls where policy_id = $1`, [pol.id])).toBe(2);
    await db.query(`update public.actp_rate_limit_calls set called_at = called_at - interval '61 seconds' where policy_id = $1`, [pol.id]);
    allowed(await check(slug, tool));
    allowed(await check(slug, tool));
    denied(await check(slug, tool));
    expect(await count(`select count(*) from public.actp_rate_limit_calls where policy_id = $1`, [pol.id])).toBe(2);
  });
});

describe("spend and schedule", () => {
  it("totals the ledger by agent, tool, run and day", async () => {
    const slug = await agent();
    const run = randomUUID();
    for (const [tool, cost] of [["t.a", 0.25], ["t.a", 0.5], ["t.b", 1]] as const) {
      const a = allowed(await check(slug, tool, { run_id: run, estimated_cost_usd: cost }));
      await settlePolicy(db, a.reservation_id, cost);
    }
    const byTool = await spendTotals(db, { agent: slug, group_by: "agent,tool,run,day" });
    expect(byTool).toHaveLength(2);
    expect(byTool[0]).toMatchObject({ agent_slug: slug, tool_name: "t.a", run_id: run, total_usd: 0.75, calls: 2 });
    expect(byTool[0]!.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const total = await spendTotals(db, { agent: slug });
    expect(total).toEqual([{ total_usd: 1.75, calls: 3 }]);
    await expect(spendTotals(db, { group_by: "agent,color" })).rejects.toMatchObject({ status: 400 });
  });

  it("lists the expiry job in actp_schedules", async () => {
    const { rows } = await db.query<{ command: string }>(`select command from public.actp_schedules where name = 'actp:policy:expire-reservations'`);
    expect(rows[0]!.command).toMatch(/actp_policy_expire_reservations/);
  });
});

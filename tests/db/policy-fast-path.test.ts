// The policy check's fast path (issue 5, benchmark): what was rewritten for speed must still
// decide exactly what it decided before. The URL form test, the input limits and the
// idle-counter pruning are checked here on PGlite; the hot functions' settings keep a SQL-language
// helper (parsed and planned on every call) from creeping back onto the path.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createPolicy, type PolicyDecision } from "../../shared/policy/index.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const uniq = () => randomBytes(4).toString("hex");

async function agent(): Promise<string> {
  const slug = `fast-${uniq()}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

async function sqlCheck(slug: string, tool: string, url: string | null, action = "network_read"): Promise<PolicyDecision> {
  const { rows } = await db.query<{ d: PolicyDecision }>(
    `select public.actp_policy_check($1, $2, $3, null, 0, $4) as d`,
    [slug, tool, action, url],
  );
  return rows[0]!.d;
}

// The canonical-URL test as it was written before the rewrite: one pattern, a bounded repetition
// per label. The new form test must accept exactly the same strings.
const PREVIOUS_URL_FORM =
  "^(https?)://([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?([/?][!-~]*)?$";

function urlCorpus(): string[] {
  const label = (n: number, c = "a") => c.repeat(n);
  const hosts = [
    "github.com", "docs.python.org", "a", "a.b", "a-b.c", "a_b.c", "_dmarc.example", "x--y.example", "1.2.3.4", "127.0.0.1",
    "-a.com", "a-.com", "a.-b.com", "a.b-.com", ".a.com", "a.com.", "a..com", "a.com..", "-", ".", "a-", "_",
    label(63), label(64), `${label(63)}.com`, `${label(64)}.com`, `a.${label(63)}`, `a.${label(64)}`, `${label(62)}-.com`,
    `${label(61)}-b.com`, `b${label(62)}.${label(63)}.${label(63)}.${label(60)}`, `${label(63)}.${label(63)}.${label(63)}.${label(63)}`,
    "[::1]", "[2001:db8::1]", "[::ffff:127.0.0.1]", "[]", "[g::1]", "GitHub.com", "git hub.com", "xn--bcher-kva.example", "a.b.c.d.e.f.g",
  ];
  const tails = ["", "/", "/a/b?c=d", "?q=1", ":443/", ":8080", ":99999/", ":123456/", ":/x", "#frag", "/a b", "/%20"];
  const out: string[] = [];
  for (const h of hosts) for (const t of tails) out.push(`https://${h}${t}`);
  out.push("http://github.com/", "ftp://github.com/", "HTTPS://github.com/", "https://x@github.com/", "https:/github.com/", "https://", "https:///x");
  // Random hosts from the characters that matter at label edges.
  const alphabet = "ab-._0";
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 150; i++) {
    const n = 1 + Math.floor(rnd() * 9);
    let h = "";
    for (let k = 0; k < n; k++) h += alphabet[Math.floor(rnd() * alphabet.length)];
    out.push(`http://${h}/`);
  }
  return out;
}

describe("policy check fast path", () => {
  it("accepts exactly the URLs the previous single-pattern form accepted", async () => {
    const slug = await agent();
    const tool = `fast.${uniq()}`;
    const corpus = urlCorpus();
    // One round trip for the whole corpus: the decision of the check (nothing is written for a
    // denial; estimate 0 and no budgets, so an allowed call writes only a reservation).
    const { rows } = await db.query<{ url: string; before: boolean; invalid: boolean }>(
      `select u.url,
              (u.url ~ $3 and length(u.url) <= 8192
               and length((regexp_match(u.url, $3))[2]) <= 255
               and coalesce(substr((regexp_match(u.url, $3))[6], 2)::int, 443) between 1 and 65535) as before,
              (public.actp_policy_check($1, $2, 'network_read', null, 0, u.url) ->> 'reason') is not distinct from 'invalid_url' as invalid
       from unnest($4::text[]) u(url)`,
      [slug, tool, PREVIOUS_URL_FORM, corpus],
    );
    expect(rows).toHaveLength(corpus.length);
    const disagreements = rows.filter((r) => r.before === r.invalid).map((r) => r.url);
    expect(disagreements).toEqual([]);
    // Both kinds are in the corpus, so the comparison means something.
    expect(rows.filter((r) => r.before).length).toBeGreaterThan(50);
    expect(rows.filter((r) => !r.before).length).toBeGreaterThan(50);
  });

  it("input limits are where they were: slug 63, tool 200, action type 100 characters", async () => {
    const tool = `fast.${uniq()}`;
    // Unknown but well-formed agent: a denial. One character more: a 400 (P0001, policy.invalid_agent).
    expect(await sqlCheck(`a${"b".repeat(62)}`, tool, null)).toMatchObject({ allowed: false, reason: "unknown_agent" });
    await expect(sqlCheck(`a${"b".repeat(63)}`, tool, null)).rejects.toThrow(/policy\.invalid_agent/);
    await expect(sqlCheck("Abc", tool, null)).rejects.toThrow(/policy\.invalid_agent/);

    const slug = await agent();
    expect((await sqlCheck(slug, `t${"x".repeat(199)}`, null)).allowed).toBe(true);
    await expect(sqlCheck(slug, `t${"x".repeat(200)}`, null)).rejects.toThrow(/policy\.invalid_tool/);
    await expect(sqlCheck(slug, "-tool", null)).rejects.toThrow(/policy\.invalid_tool/);

    expect((await sqlCheck(slug, tool, null, `a${"b".repeat(99)}`)).allowed).toBe(true);
    await expect(sqlCheck(slug, tool, null, `a${"b".repeat(100)}`)).rejects.toThrow(/policy\.invalid_action_type/);
    await expect(sqlCheck(slug, tool, null, "Read")).rejects.toThrow(/policy\.invalid_action_type/);
  });

  it("the hot functions are plpgsql with generic plans, and call no SQL-language helper", async () => {
    const hot = [
      "actp_policy_check",
      "actp_policy_settle",
      "actp_policy_settle_call",
      "actp_policy_counters_release",
      "actp_policy_deny",
      "actp_tool_call_begin",
      "actp_tool_call_end",
      "actp_tool_call_emit",
      "actp_tool_call_check_event",
    ];
    const { rows } = await db.query<{ name: string; lang: string; config: string[] | null }>(
      `select p.proname as name, l.lanname as lang, p.proconfig as config
       from pg_proc p join pg_language l on l.oid = p.prolang join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.proname = any($1::text[])`,
      [hot],
    );
    expect(rows.map((r) => r.name).sort()).toEqual([...hot].sort());
    for (const r of rows) expect(r.lang, r.name).toBe("plpgsql");
    for (const name of ["actp_policy_check", "actp_policy_settle", "actp_policy_settle_call", "actp_policy_counters_release"]) {
      expect(rows.find((r) => r.name === name)!.config, name).toContain("plan_cache_mode=force_generic_plan");
    }
    // A SQL-language function called from these is parsed and planned again in every transaction.
    const { rows: sqlHelpers } = await db.query<{ name: string }>(
      `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.prolang = (select oid from pg_language where lanname = 'sql') and p.proname like 'actp\\_%'`,
    );
    const bodies = (await db.query<{ src: string }>(`select string_agg(prosrc, ' ') as src from pg_proc where proname = any($1::text[])`, [hot])).rows[0]!.src;
    const called = sqlHelpers.map((h) => h.name).filter((n) => new RegExp(`public\\.${n}\\s*\\(`).test(bodies));
    expect(called).toEqual([]);
  });

  it("the schedule prunes run counters idle for a day, and keeps the rest", async () => {
    const slug = await agent();
    const pol = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 10 } });
    const [oldIdle, oldBusy, young] = [randomUUID(), randomUUID(), randomUUID()];
    await db.query(
      `insert into public.actp_policy_budget_runs (policy_id, run_id, created_at, updated_at)
       values ($1, $2, now() - interval '3 days', now() - interval '2 days'),
              ($1, $3, now() - interval '3 days', now() - interval '1 hour'),
              ($1, $4, now() - interval '1 hour', now() - interval '1 hour')`,
      [pol.id, oldIdle, oldBusy, young],
    );
    await db.query(`select public.actp_policy_expire_reservations()`);
    const { rows } = await db.query<{ run_id: string }>(`select run_id from public.actp_policy_budget_runs where policy_id = $1 order by run_id`, [pol.id]);
    expect(rows.map((r) => r.run_id).sort()).toEqual([oldBusy, young].sort());
    await db.query(`delete from public.actp_policies where id = $1`, [pol.id]);
  });
});

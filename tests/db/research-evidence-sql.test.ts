// actp_research_evidence and the tables around it (PRD §4.15): the constraints that keep an
// evidence row honest, append-only storage, the authority lookup, the seeded research allowlist.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const HASH = "sha256:" + "ab".repeat(32);

async function insert(overrides: Record<string, unknown> = {}): Promise<string> {
  const row = {
    url: "https://docs.example.com/a",
    final_url: "https://docs.example.com/a",
    domain: "example.com",
    content_type: "text/html",
    text: "Plain text.",
    content_hash: HASH,
    flagged: false,
    quarantined: false,
    authority: 0.5,
    ...overrides,
  };
  const { rows } = await db.query<{ id: string }>(
    `insert into public.actp_research_evidence (url, final_url, domain, content_type, text, content_hash, flagged, quarantined, authority)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [row.url, row.final_url, row.domain, row.content_type, row.text, row.content_hash, row.flagged, row.quarantined, row.authority],
  );
  return rows[0]!.id;
}

describe("actp_research_evidence", () => {
  it("stores a sanitized row and refuses to change or delete it", async () => {
    const id = await insert();
    const { rows } = await db.query(`select sanitized, findings, hops, quarantined from public.actp_research_evidence where id = $1`, [id]);
    expect(rows[0]).toEqual({ sanitized: true, findings: [], hops: [], quarantined: false });
    await expect(db.query(`update public.actp_research_evidence set text = 'x' where id = $1`, [id])).rejects.toThrow(/actp.append_only/);
    await expect(db.query(`delete from public.actp_research_evidence where id = $1`, [id])).rejects.toThrow(/actp.append_only/);
  });

  it("refuses rows that break its invariants", async () => {
    await expect(insert({ content_hash: "md5:abc" })).rejects.toThrow(/check constraint/);
    await expect(insert({ content_type: "application/pdf" })).rejects.toThrow(/check constraint/);
    await expect(insert({ authority: 1.5 })).rejects.toThrow(/check constraint|overflow/);
    await expect(insert({ url: "javascript:alert(1)" })).rejects.toThrow(/check constraint/);
    await expect(insert({ quarantined: true, flagged: false })).rejects.toThrow(/quarantine_flagged/);
  });

  it("hides quarantined rows from the usable view", async () => {
    const ok = await insert();
    const bad = await insert({ flagged: true, quarantined: true });
    const { rows } = await db.query<{ id: string }>(`select id from public.actp_research_evidence_usable where id = any($1::uuid[])`, [[ok, bad]]);
    expect(rows.map((r) => r.id)).toEqual([ok]);
  });

  it("is readable by the service role and not by anon", async () => {
    const id = await insert();
    const read = (role: "anon" | "authenticated" | "service_role") =>
      asRoleRolledBack<number>(db, role, async (tx) => (await tx.query(`select 1 from public.actp_research_evidence where id = $1`, [id])).rows.length).catch(() => 0);
    expect(await read("service_role")).toBe(1);
    expect(await read("anon")).toBe(0);
  });
});

describe("actp_research_authority", () => {
  it.each([
    ["www.rfc-editor.org", 0.95],
    ["developer.mozilla.org", 0.9],
    ["data.census.gov", 0.9],
    ["www.ox.ac.uk", 0.85],
    ["docs.python.org", 0.85],
    ["docs.example.com", 0.85],
    ["github.com", 0.6],
    ["en.wikipedia.org", 0.7],
    ["notgithub.com", 0.3],
    ["actp-demo.vercel.app", 0.4],
    ["203.0.113.7", 0.3],
  ])("%s → %s", async (host, expected) => {
    const { rows } = await db.query<{ a: string }>(`select public.actp_research_authority($1) as a`, [host]);
    expect(Number(rows[0]!.a)).toBe(expected);
  });
});

describe("the seeded research allowlist", () => {
  it("is the PRD's RESEARCH_ALLOWED_DOMAINS, on the research.fetch tool", async () => {
    const { rows } = await db.query<{ config: { allowed_domains: string[] } }>(
      `select config from public.actp_policies where scope = 'tool:research.fetch' and policy_type = 'allowlist'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.config.allowed_domains).toEqual(expect.arrayContaining(["github.com", "docs.*", "arxiv.org", "wikipedia.org", "*.vercel.app"]));
  });

  it("keeps job ids without requiring the job to exist", async () => {
    const { rows } = await db.query<{ id: string }>(
      `insert into public.actp_research_evidence (url, final_url, domain, content_type, text, content_hash, authority, job_id)
       values ('https://github.com/x', 'https://github.com/x', 'github.com', 'text/plain', 't', $1, 0.6, $2) returning id`,
      [HASH, randomUUID()],
    );
    expect(rows).toHaveLength(1);
  });
});

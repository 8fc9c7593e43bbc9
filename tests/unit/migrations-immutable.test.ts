// scripts/check-migrations-immutable.sh on a scratch repository: a pinned migration that is edited,
// deleted or renamed fails; so does a branch that rewrites a migration of main; a new file passes.
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "../../scripts/check-migrations-immutable.sh");
let repo: string;
const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo, encoding: "utf8" });
const check = (...args: string[]) => spawnSync("bash", ["scripts/check-migrations-immutable.sh", ...args], { cwd: repo, encoding: "utf8" });

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "actp-mig-"));
  mkdirSync(join(repo, "scripts"));
  mkdirSync(join(repo, "migrations"));
  copyFileSync(SCRIPT, join(repo, "scripts/check-migrations-immutable.sh"));
  writeFileSync(join(repo, "migrations/20260101000000_a.sql"), "create table a (id int);\n");
  writeFileSync(join(repo, "migrations/20260101000001_b.sql"), "create table b (id int);\n");
  git("init", "-q", "-b", "main");
  expect(check("--update").status).toBe(0);
  git("add", "-A");
  git("commit", "-qm", "landed");
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

describe("landed migrations are immutable", () => {
  it("passes untouched, and with a new migration", () => {
    expect(check().status).toBe(0);
    writeFileSync(join(repo, "migrations/20260101000002_c.sql"), "create table c (id int);\n");
    expect(check().status).toBe(0);
  });

  it("fails on an edit, a deletion and a rename of a pinned migration", () => {
    appendFileSync(join(repo, "migrations/20260101000000_a.sql"), "alter table a add column x int;\n");
    const edited = check();
    expect(edited.status).toBe(1);
    expect(edited.stdout).toMatch(/20260101000000_a\.sql landed and was changed/);
    git("checkout", "--", "migrations");
    renameSync(join(repo, "migrations/20260101000001_b.sql"), join(repo, "migrations/20260101000009_b.sql"));
    const renamed = check();
    expect(renamed.status).toBe(1);
    expect(renamed.stdout).toMatch(/20260101000001_b\.sql landed and is gone/);
  });

  it("fails on a branch that rewrites a migration of main, even without the pin", () => {
    git("checkout", "-qb", "wip/x");
    writeFileSync(join(repo, "migrations.sha256"), "");
    writeFileSync(join(repo, "migrations/20260101000000_a.sql"), "create table a (id bigint);\n");
    git("commit", "-qam", "rewrite");
    const r = check();
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/20260101000000_a\.sql differs from main's/);
  });
});

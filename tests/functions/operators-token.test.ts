// `actp operators token` as a user runs it: the printed JWT is accepted by the functions as an
// operator or viewer of this project (same secret), and by nobody else's.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app as dlq } from "../../functions/dlq/app.ts";
import { app as policy } from "../../functions/policy/app.ts";
import { PROJECT_ROOT } from "../../node/config.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

const run = promisify(execFile);
let h: FunctionHarness;
beforeAll(async () => {
  h = await functionHarness();
});
afterAll(() => h.db.end());

async function cli(args: string[], secret: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ["--import", "tsx", resolve(PROJECT_ROOT, "node/cli/main.ts"), "operators", "token", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ACTP_JWT_SECRET: secret },
  });
}

describe("actp operators token", () => {
  it("prints a token the functions take as an operator or a viewer of this project", async () => {
    const sub = randomUUID();
    const { stdout } = await cli(["--role", "operator", "--sub", sub, "--email", "ops@example.com", "--json"], h.keys.jwtSecret);
    const t = JSON.parse(stdout) as { token: string; sub: string; role: string; expires_at: string };
    expect(t).toMatchObject({ sub, role: "operator" });
    expect(Date.parse(t.expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const payload = JSON.parse(Buffer.from(t.token.split(".")[1]!, "base64url").toString("utf8"));
    expect(payload).toMatchObject({ role: "authenticated", sub, email: "ops@example.com", app_metadata: { actp_role: "operator" } });

    const asOperator = { authorization: `Bearer ${t.token}` };
    expect((await dlq.request("/dlq", { headers: asOperator })).status).toBe(200);
    expect((await policy.request("/policy/approvals", { headers: asOperator })).status).toBe(200);

    const viewer = (await cli(["--role", "viewer"], h.keys.jwtSecret)).stdout.trim();
    expect((await dlq.request("/dlq", { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200);
    const act = await dlq.request(`/dlq/${randomUUID()}/discard`, { method: "POST", headers: { authorization: `Bearer ${viewer}` } });
    expect(act.status).toBe(403);

    // Signed with another project's secret: not a token of this one.
    const foreign = (await cli(["--role", "operator"], "x".repeat(40))).stdout.trim();
    expect((await dlq.request("/dlq", { headers: { authorization: `Bearer ${foreign}` } })).status).toBe(401);
  });

  it("refuses an unknown role or a malformed sub with one line and a non-zero exit", async () => {
    for (const args of [["--role", "admin"], ["--role", "viewer", "--sub", "nope"]]) {
      const err = await cli(args, h.keys.jwtSecret).catch((e: { code: number; stderr: string }) => e);
      expect(err).toMatchObject({ code: 2 });
      expect((err as { stderr: string }).stderr).toMatch(/^error: cli\.invalid_options: --(role|sub)/);
    }
  });
});

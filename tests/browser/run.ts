// Entry point of `npm run test:browser`: the dashboard in a real headless Chromium. It needs Debian's
// chromium (/usr/bin/chromium, or ACTP_CHROMIUM); without it the tier is skipped (exit 0) with a
// message, as test:pg is without DATABASE_URL. .ci/run installs chromium and runs it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = process.env.ACTP_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.log(`${chromium} not found: skipping the browser tier (apt-get install chromium, or set ACTP_CHROMIUM); see README`);
  process.exit(0);
}
const child = spawn("npx", ["vitest", "run", "--project", "browser", ...process.argv.slice(2)], { stdio: "inherit", env: process.env });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));

// Entry point of `npm run test:pg`: the PostgreSQL integration tier (vitest project "pg", tests/pg/**/*.test.ts).
// It needs a real PostgreSQL 15 with pg_cron preloaded and pgvector, pgTAP and plpgsql_check installed, reached
// through DATABASE_URL. Without DATABASE_URL the tier is skipped (exit 0), so `npm run test:pg` is safe anywhere.
// CI (.ci/run) installs PostgreSQL with scripts/ci/install-postgres.sh and starts a throwaway cluster with
// `eval "$(scripts/ci/pg-cluster.sh start)"`, which exports DATABASE_URL. Extra arguments go to vitest:
//   npm run test:pg -- tests/pg/some.test.ts
import { spawn } from "node:child_process";

if (!process.env.DATABASE_URL?.trim()) {
  console.log(
    "DATABASE_URL is not set: skipping the PostgreSQL integration tier " +
      "(needs PostgreSQL 15 with pg_cron and pgvector); see README",
  );
  process.exit(0);
}

const args = ["vitest", "run", "--project", "pg", ...process.argv.slice(2)];
const child = spawn("npx", args, {
  stdio: "inherit",
  env: process.env,
  shell: process.platform === "win32",
});

// Pass Ctrl-C / CI cancellation on to vitest; exit when it does.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => child.kill(signal));
}

child.on("error", (err) => {
  console.error(`test:pg: could not start vitest: ${err.message}`);
  process.exit(1);
});

child.on("exit", (code, signal) => {
  if (signal) {
    console.error(`test:pg: vitest was killed by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});

import { defineConfig } from "vitest/config";

// Test tiers (STYLE.md §8): unit (pure TS), db (PGlite over the wire), functions (Hono apps and the
// gateway, on PGlite), pg (real PostgreSQL 15 with pg_cron and pgvector; `npm run test:pg`).
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" } },
      {
        test: {
          name: "db",
          include: ["tests/db/**/*.test.ts"],
          globalSetup: ["tests/support/embedded-db.setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "functions",
          include: ["tests/functions/**/*.test.ts"],
          globalSetup: ["tests/support/embedded-db.setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          // A real headless Chromium (Debian's /usr/bin/chromium) against the dashboard; `npm run test:browser`.
          name: "browser",
          include: ["tests/browser/**/*.test.ts"],
          globalSetup: ["tests/support/embedded-db.setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "pg",
          include: ["tests/pg/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration tests share one real cluster and its pg_cron; run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});

// health: is the platform usable? Database reachable, migrations applied, extensions present, and
// which executor runs the schedules. Any valid API key may ask (anon included); it reveals no data.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { EXPECTED_SCHEMA_VERSION } from "../../shared/schema/version.ts";

export const app = createFunctionApp("health", {
  title: "actp health",
  description: "Is the platform usable: database reachable, migrations applied, extensions present, and which executor runs the schedules. Any valid key may ask (anon included); it reveals no data.",
});

interface Probe {
  versions: string[] | null;
  extensions: Record<string, string>;
  pg_cron_available: boolean;
  local_tick: string | null;
  server_version: string;
}

route(
  app,
  {
    method: "get",
    path: "/",
    summary: "The platform's health",
    description: "200 when everything is in place, 503 (status degraded or down) otherwise; the body says what is missing.",
    access: "signed_in",
    responses: { 200: { description: "ok" }, 503: { description: "degraded or down" } },
  },
  async (c) => {
  const rt = runtime();
  const started = Date.now();
  let probe: Probe;
  try {
    const { rows } = await rt.db.query<Probe>(`
      select
        (select coalesce(array_agg(version order by version), '{}')
           from supabase_migrations.schema_migrations) as versions,
        (select coalesce(jsonb_object_agg(extname, extversion), '{}'::jsonb)
           from pg_extension where extname in ('vector', 'pg_cron')) as extensions,
        exists (select 1 from pg_available_extensions where name = 'pg_cron') as pg_cron_available,
        (select max(last_tick_at)::text from public.actp_scheduler_executors) as local_tick,
        current_setting('server_version') as server_version`);
    probe = rows[0]!;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return c.json(
      { status: "down", database: { reachable: false, error: message.split("\n")[0] } },
      503,
    );
  }
  const applied = probe.versions ?? [];
  const latest = applied.at(-1) ?? null;
  const upToDate = applied.includes(EXPECTED_SCHEMA_VERSION);
  const pgCron = "pg_cron" in probe.extensions;
  const localFresh = probe.local_tick !== null && Date.now() - Date.parse(probe.local_tick) < 3 * 60_000;
  const executor = pgCron ? "pg_cron" : localFresh || rt.localScheduler ? "local" : "none";
  const ok = upToDate && "vector" in probe.extensions && executor !== "none";
  return c.json(
    {
      status: ok ? "ok" : "degraded",
      database: { reachable: true, server_version: probe.server_version, latency_ms: Date.now() - started },
      migrations: { applied: applied.length, latest, expected: EXPECTED_SCHEMA_VERSION, up_to_date: upToDate },
      extensions: {
        vector: probe.extensions.vector ?? null,
        pg_cron: probe.extensions.pg_cron ?? null,
        pg_cron_available: probe.pg_cron_available,
      },
      scheduler: { executor, last_local_tick: probe.local_tick },
    },
    ok ? 200 : 503,
  );
},
);

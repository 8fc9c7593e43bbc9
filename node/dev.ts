// `actp dev` (what `npm start` runs): the embedded database (or DATABASE_URL), migrations, the
// local gateway with every function, and the local scheduler where pg_cron is absent.
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database } from "../shared/db/types.ts";
import { configureRuntime } from "../functions/_shared/runtime.ts";
import { createServer } from "node:net";
import { EMBEDDED_SESSION_DEFAULTS, startEmbeddedDatabase, type EmbeddedDatabase } from "./db/embedded.ts";
import { listenErrorToDevError } from "./dev-errors.ts";
import { configureNet } from "../functions/_shared/net.ts";
import { pinnedTransport, systemResolver } from "./net/transport.ts";
import { migrate } from "./db/migrate.ts";
import { loadProjectKeys, type ProjectKeys } from "./keys.ts";
import { loadFunctions } from "./gateway/functions.ts";
import { createGatewayApp, startGateway } from "./gateway/server.ts";
import { buildDashboard } from "./dashboard/build.ts";
import { LocalScheduler } from "./scheduler/local-runner.ts";
import { startTelegramSender } from "./telegram/sender-loop.ts";
import type { DevConfig } from "./config.ts";
import { installQueueEngine } from "./worker/boss.ts";
import { startExampleWorker } from "../examples/dev.ts";

export interface DevPlatform {
  dbUrl: string;
  apiUrl: string;
  keys: ProjectKeys;
  db: Database;
  functions: string[];
  schedulerExecutor: "pg_cron" | "local" | "off";
  embedded: EmbeddedDatabase | null;
  /** The example agents' in-process worker, when running: what to submit first. */
  examples: { site: string; sampleInput: unknown } | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  scheduler?: boolean;
  /** Run the example agents (researcher) in-process with their fixture site. Default true. */
  examples?: boolean;
  log?: (line: string) => void;
}

export async function startDev(cfg: DevConfig, opts: StartOptions = {}): Promise<DevPlatform> {
  const log = opts.log ?? (() => {});
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`stop: ${(err as Error).message}`));
  };
  try {
    // The gateway listens last; a taken API port is found now, before a minute of start-up.
    await assertPortFree(cfg.apiHost, cfg.apiPort, "ACTP_API_PORT", "ACTP_API_HOST");
    let embedded: EmbeddedDatabase | null = null;
    let dbUrl: string;
    if (cfg.databaseUrl) {
      dbUrl = cfg.databaseUrl;
      log(`database: ${redactUrl(dbUrl)} (DATABASE_URL)`);
    } else {
      embedded = await startEmbeddedDatabase({ dataDir: cfg.dataDir, host: cfg.dbHost, port: cfg.dbPort });
      stops.push(() => embedded!.stop());
      dbUrl = embedded.url;
      log(`database: embedded PGlite ${cfg.dataDir ? `in ${cfg.dataDir}` : "in memory (--memory)"}`);
    }

    const m = await migrate(dbUrl);
    log(`migrations: ${m.output.includes("up to date") ? "up to date" : "applied"} (compat bootstrap ${m.bootstrap})`);
    if (embedded) {
      // The embedded server is one shared session; the CLI's session settings must not linger.
      await embedded.db.exec(`reset all; ${EMBEDDED_SESSION_DEFAULTS}`);
    }

    // pg-boss's schema comes with the migrations; this lets pg-boss bring it to its own version.
    await installQueueEngine(dbUrl);

    const db = createPgDatabase({ connectionString: dbUrl, max: embedded ? 8 : 10, applicationName: "actp-dev" });
    stops.push(() => db.end());

    const keys = await loadProjectKeys(cfg.dataDir);
    const pgCron = (await db.query<{ on: boolean }>(`select public.actp_pg_cron_active() as on`)).rows[0]?.on === true;
    let schedulerExecutor: DevPlatform["schedulerExecutor"] = pgCron ? "pg_cron" : "off";
    if (!pgCron && opts.scheduler !== false) {
      const scheduler = new LocalScheduler(db, { log });
      await scheduler.start();
      stops.push(() => scheduler.stop());
      schedulerExecutor = "local";
    }

    let examples: DevPlatform["examples"] = null;
    if (opts.examples !== false) {
      const ex = await startExampleWorker(db, dbUrl);
      stops.push(() => ex.stop());
      examples = { site: ex.site.url, sampleInput: ex.sampleInput };
      log(`examples: researcher agent registered and worked in-process; fixture site ${ex.site.url}`);
    }

    const telegram = await startTelegramSender(db, { log });
    if (telegram) {
      stops.push(() => telegram.stop());
      log("telegram: alert sender running (drains the outbox every 3 s)");
    }

    configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: schedulerExecutor === "local" });
    // The functions run in Node here: the research function's outbound guard uses Node's transport.
    configureNet({ resolve: systemResolver, transport: pinnedTransport });
    const functions = await loadFunctions();
    // Same origin as the functions: the dashboard's API URL is wherever it was loaded from.
    const dashboard = await buildDashboard({ apiUrl: "", anonKey: keys.anonKey, auth: "local" });
    const gateway = await startGateway(createGatewayApp({ functions, jwtSecret: keys.jwtSecret, dashboard }), cfg.apiHost, cfg.apiPort).catch((err: unknown) => {
      throw listenErrorToDevError(err, "ACTP_API_PORT", "ACTP_API_HOST", cfg.apiHost, cfg.apiPort);
    });
    stops.push(() => gateway.stop());

    return {
      dbUrl,
      apiUrl: gateway.url,
      keys,
      db,
      functions: functions.map((f) => f.name),
      schedulerExecutor,
      embedded,
      examples,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function assertPortFree(host: string, port: number, portVar: string, hostVar: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err) => reject(listenErrorToDevError(err, portVar, hostVar, host, port)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    return u.toString();
  } catch {
    return "<unparsable url>";
  }
}

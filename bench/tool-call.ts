// The overhead of ctx.tool around a no-op tool (issue 5 benchmark), on the embedded database and on
// PostgreSQL (DATABASE_URL, a throwaway database): calls per second, p50/p99 and round trips per
// call with 1, 8 and 32 concurrent callers, next to
//   - `select 1` over the same pool at the same concurrency: the floor any round trip pays here;
//   - the same call made the pre-combined way (policy check, tool.call_started, settle,
//     tool.call_completed as four statements), so a loaded machine still shows the difference.
// Each caller is its own agent with a budget, a rate limit and an allowlist on the tool, as a
// worker running many agents' jobs would be. The machine's load average is printed with each target.
import { randomBytes, randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database } from "../shared/db/types.ts";
import { emit } from "../shared/events/emit.ts";
import { checkPolicy, createPolicy, settlePolicy } from "../shared/policy/index.ts";
import { circuitBreakersFor } from "../shared/circuits/index.ts";
import { runToolCall } from "../node/worker/guardrails/tool-call.ts";
import { argsHash } from "../node/worker/guardrails/args-hash.ts";
import type { JobInfo } from "../node/worker/job-info.ts";
import { benchTargets, fmt, percentile } from "./_support.ts";

const DURATION_MS = Number(process.env.ACTP_BENCH_MS ?? 3000);
const CONCURRENCY = [1, 8, 32];
const TOOL = "bench.noop";
const URL_ARG = "https://docs.python.org/3/library/";

/** The pool, counting the statements sent through it. */
function counting(inner: Database): Database & { count(): number } {
  let n = 0;
  return {
    count: () => n,
    query(text, values) {
      n++;
      return inner.query(text, values);
    },
    transaction: (fn) => inner.transaction(fn),
    asRole: (claims, fn) => inner.asRole(claims, fn),
    end: () => inner.end(),
  };
}

async function agent(db: Database): Promise<string> {
  const slug = `bench-${randomBytes(4).toString("hex")}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1e6, per_run_usd: 1e5 } });
  await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool: TOOL, max_per_minute: 1_000_000 } });
  await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: ["github.com", "docs.*", "*.vercel.app"] } });
  return slug;
}

type Op = (client: number) => Promise<void>;

interface Tally {
  latencies: number[];
  elapsedMs: number;
  trips: number;
}

/** Runs op from `clients` callers at once for ms, adding to the tally. */
async function slice(db: { count(): number }, clients: number, op: Op, ms: number, into: Tally): Promise<void> {
  const before = db.count();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i);
        into.latencies.push(performance.now() - t);
      }
    }),
  );
  into.elapsedMs += performance.now() - started;
  into.trips += db.count() - before;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

for (const target of await benchTargets()) {
  const maxClients = Math.max(...CONCURRENCY);
  const db = counting(createPgDatabase({ connectionString: target.url, max: maxClients, applicationName: "actp-bench-tool-call" }));
  try {
    console.log(`\nctx.tool bench on ${target.label}, ${DURATION_MS} ms per row; load average ${load()}`);
    const slugs = await Promise.all(Array.from({ length: maxClients }, () => agent(db)));
    // One job per caller, as in a worker; the breaker cache is the process's, as in production.
    const jobs: JobInfo[] = slugs.map((slug) => ({ db, jobId: randomUUID(), agentSlug: slug, signal: new AbortController().signal, currentStep: () => "bench" }));
    circuitBreakersFor(db);

    const ops: [string, Op][] = [
      ["select 1 (one round trip)", async () => void (await db.query("select 1"))],
      [
        "ctx.tool, no-op tool",
        async (i) => {
          await runToolCall(jobs[i]!, TOOL, { q: "pgvector", i }, { estimated_cost_usd: 0.001, url: URL_ARG, action_type: "network_read" }, () => null);
        },
      ],
      [
        "same, as 4 statements (before)",
        async (i) => {
          const job = jobs[i]!;
          const env = { job_id: job.jobId, step_id: "bench", agent_slug: job.agentSlug, tool_name: TOOL };
          const callId = randomUUID();
          const hash = argsHash({ q: "pgvector", i });
          const d = await checkPolicy(db, {
            agent_slug: job.agentSlug,
            tool_name: TOOL,
            action_type: "network_read",
            run_id: job.jobId,
            estimated_cost_usd: 0.001,
            target_url: URL_ARG,
            args_hash: hash,
          });
          if (!d.allowed) throw new Error(`bench: unexpected denial ${JSON.stringify(d)}`);
          await emit(db, { type: "tool.call_started", ...env, payload: { call_id: callId, action_type: "network_read", input_hash: hash } });
          const t0 = performance.now();
          await settlePolicy(db, d.reservation_id, 0.001);
          await emit(db, { type: "tool.call_completed", ...env, payload: { call_id: callId, duration_ms: Math.round(performance.now() - t0), cost_usd: 0.001 } });
        },
      ],
    ];

    // Warm-up: connections, plans, the breaker's cached "closed".
    for (const [, op] of ops) await slice(db, 8, op, 500, { latencies: [], elapsedMs: 0, trips: 0 });

    // The machine is shared: each row's time is cut into slices taken in turn with the other rows,
    // so a burst of someone else's load falls on all of them alike.
    const SLICES = 6;
    console.log("what                              clients    calls/s   p50 ms   p99 ms   round trips/call");
    for (const clients of CONCURRENCY) {
      const tallies = ops.map((): Tally => ({ latencies: [], elapsedMs: 0, trips: 0 }));
      for (let s = 0; s < SLICES; s++) {
        for (const [k, [, op]] of ops.entries()) await slice(db, clients, op, DURATION_MS / SLICES, tallies[k]!);
      }
      for (const [k, [label]] of ops.entries()) {
        const t = tallies[k]!;
        t.latencies.sort((a, b) => a - b);
        const n = t.latencies.length;
        console.log(
          `${label.padEnd(33)} ${String(clients).padStart(7)} ${fmt((n / t.elapsedMs) * 1000).padStart(10)} ${fmt(percentile(t.latencies, 50), 2).padStart(8)} ${fmt(percentile(t.latencies, 99), 2).padStart(8)} ${fmt(t.trips / n, 2).padStart(18)}`,
        );
      }
    }
    console.log(`load average after: ${load()}`);
  } finally {
    await db.end();
    await target.close();
  }
}

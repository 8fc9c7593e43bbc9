// `actp memory sync|search|reindex|status|embed`: the memory plane's canonical vault and its
// retrieval index (PRD §3, §4.7) from a terminal, through the same statements as the memory function.
import type { Command } from "commander";
import type { Database } from "../../../shared/db/types.ts";
import { ActpError } from "../../../shared/errors.ts";
import { ReindexRequest, SearchRequest, VaultName } from "../../../shared/memory/contracts.ts";
import { drainEmbeddings } from "../../../shared/memory/embed-work.ts";
import { embedderFromEnv } from "../../../shared/memory/embedders/index.ts";
import { searchMemory } from "../../../shared/memory/search.ts";
import { beginGeneration, indexStatus, reindexSource, syncVault } from "../../../shared/memory/statements.ts";
import { defaultVaultName, readVault } from "../../memory/vault.ts";
import { fail, withDb } from "../db.ts";

async function run(fn: (db: Database) => Promise<unknown>): Promise<void> {
  try {
    const out = await withDb(fn);
    if (out !== undefined) console.log(JSON.stringify(out, null, 2));
  } catch (err) {
    fail(err);
  }
}

function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ActpError("cli.usage", `${name} must be a positive integer, got ${raw}`);
  return n;
}

export function register(program: Command): void {
  const memory = program.command("memory").description("canonical memory and the retrieval index (PRD §3, §4.7)");

  memory
    .command("sync")
    .description("mirror a folder of markdown (recursively) into actp_memory_documents: chunked by heading, idempotent, removals included, one transaction")
    .argument("<folder>", "the vault folder (KNOWLEDGE-GRAPH.md, DAILY-NOTES/*.md, TACIT-KNOWLEDGE.md, any .md)")
    .option("--vault <name>", "vault name (default: the folder's name)")
    .option("--max-chars <n>", "longest chunk before a section is split at paragraph boundaries", "2000")
    .action(async (folder: string, opts: { vault?: string; maxChars: string }) => {
      try {
        const vault = opts.vault ?? defaultVaultName(folder);
        const name = VaultName.safeParse(vault);
        if (!name.success) throw new ActpError("memory.invalid_vault", `vault name ${JSON.stringify(vault)}: ${name.error.issues[0]?.message}`);
        // Read everything before touching the database: a missing folder deletes nothing.
        const files = await readVault(folder, positiveInt(opts.maxChars, "--max-chars"));
        await run((db) => db.transaction((tx) => syncVault(tx, vault, files)));
      } catch (err) {
        fail(err);
      }
    });

  memory
    .command("search")
    .description("hybrid (keyword + vector, RRF) search of the retrieval index")
    .argument("<query...>", "what to look for")
    .option("-k <n>", "results", "10")
    .option("--mode <mode>", "hybrid | keyword | vector", "hybrid")
    .option("--layer <layer>", "semantic | procedural | episodic | conversation | goals")
    .option("--source <table>", "only rows of this source table")
    .option("--agent <slug>", "only rows of this agent")
    .action((words: string[], opts: { k: string; mode: string; layer?: string; source?: string; agent?: string }) =>
      run(async (db) => {
        const r = SearchRequest.safeParse({
          query: words.join(" "),
          k: Number(opts.k),
          mode: opts.mode,
          filters: { ...(opts.layer ? { layer: opts.layer } : {}), ...(opts.source ? { source_table: opts.source } : {}), ...(opts.agent ? { agent: opts.agent } : {}) },
        });
        if (!r.success) throw new ActpError("memory.invalid_search", "invalid search", { details: r.error.issues.map((i) => ({ path: i.path, message: i.message })) });
        return searchMemory(db, embedderFromEnv(db), r.data);
      }),
    );

  memory
    .command("reindex")
    .description("rebuild the index from the canonical stores: all (a new generation with the configured embedder, switched in when complete) or one source")
    .option("--source <table>", "only this source table, rebuilt in place")
    .action((opts: { source?: string }) =>
      run(async (db) => {
        const r = ReindexRequest.safeParse({ ...(opts.source ? { source: opts.source } : {}) });
        if (!r.success) throw new ActpError("memory.invalid_source", "invalid source table name");
        return db.transaction((tx) => (r.data.source ? reindexSource(tx, r.data.source) : beginGeneration(tx, embedderFromEnv(db).identity)));
      }),
    );

  memory
    .command("status")
    .description("index rows per state (fresh, stale, missing, orphaned) and embeddings pending")
    .option("--source <table>", "only this source table")
    .action((opts: { source?: string }) => run((db) => indexStatus(db, opts.source ?? null)));

  memory
    .command("embed")
    .description("embed due rows now with the configured embedder (what the worker's actp.memory.embed queue does)")
    .option("--batch-size <n>", "texts per embedding call", "64")
    .action((opts: { batchSize: string }) =>
      run(async (db) => drainEmbeddings(db, embedderFromEnv(db), { batchSize: positiveInt(opts.batchSize, "--batch-size") })),
    );
}

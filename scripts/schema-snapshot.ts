/**
 * A normalized dump of the schema the migrations push, as Graphile Worker keeps one: committed as
 * tests/__snapshots__/schema.txt so every schema change shows up as a readable diff in review, and
 * checked by tests/db/schema-snapshot.test.ts.
 *
 * Read from the catalog with SQL, schema public only (pg-boss's schema: its table names), sorted
 * everywhere, with no OIDs; function and view bodies appear as a short sha so a body change is
 * visible without flooding the diff. Everything runs under an empty search_path so every name is
 * printed schema-qualified whatever the session's settings.
 *
 *   npm run schema:snapshot   start a throwaway embedded database, migrate it, write the snapshot
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Database, Queryable } from "../shared/db/types.ts";

export const SNAPSHOT_PATH = resolve(fileURLToPath(new URL("..", import.meta.url)), "tests/__snapshots__/schema.txt");

/**
 * Objects test files create in public while the shared test database is being dumped
 * (tests/db/scheduler-local.test.ts makes `sched_hits_<hex>`); migrations never use these prefixes.
 */
const TEST_ARTIFACT = `^(test_|tmp_|sched_hits_)`;

/** API roles whose privileges are part of the contract (and PUBLIC, which they inherit from). */
const GRANTEES = `('anon', 'authenticated', 'service_role', 'PUBLIC')`;

type Row = { line: string };

const sections: Array<[title: string, sql: string]> = [
  [
    "tables",
    `select format('%s rls=%s force_rls=%s%s', c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   case c.relkind when 'p' then ' partitioned' else '' end) as line
       from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
        and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "columns",
    `select format('%s.%s %s%s%s%s%s', c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                   case when a.attnotnull then ' not null' else '' end,
                   case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end,
                   case when a.attgenerated <> '' then ' generated ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                        when d.adbin is not null then ' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) else '' end,
                   case when c.relkind in ('v', 'm') then ' (view)' else '' end) as line
       from pg_catalog.pg_attribute a
       join pg_catalog.pg_class c on c.oid = a.attrelid
       left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
        and a.attnum > 0 and not a.attisdropped and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "constraints",
    `select format('%s %s %s', c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid, true)) as line
       from pg_catalog.pg_constraint k
       join pg_catalog.pg_class c on c.oid = k.conrelid
      where c.relnamespace = 'public'::regnamespace and not c.relispartition and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "indexes",
    // The retrieval index keeps one HNSW index per embedder generation, created at run time with the
    // generation's number; which generation is live is data, not schema, so the number is masked.
    `select distinct regexp_replace(pg_catalog.pg_get_indexdef(i.indexrelid),
                           '(actp_retrieval_index_hnsw_g)[0-9]+(.*generation = )[0-9]+', '\\1N\\2N') as line
       from pg_catalog.pg_index i
       join pg_catalog.pg_class c on c.oid = i.indrelid
      where c.relnamespace = 'public'::regnamespace and not c.relispartition and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "sequences",
    `select c.relname as line from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'S' and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "views",
    `select format('%s %s sha=%s', c.relname, case c.relkind when 'm' then 'materialized' else 'view' end,
                   left(pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid, true)), 12)
                   || coalesce(' options=' || array_to_string(c.reloptions, ','), '')) as line
       from pg_catalog.pg_class c
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm') and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "types",
    `select format('%s %s', t.typname, case t.typtype
              when 'e' then 'enum(' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                                          from pg_catalog.pg_enum e where e.enumtypid = t.oid) || ')'
              when 'd' then 'domain ' || pg_catalog.format_type(t.typbasetype, t.typtypmod)
              else 'composite' end) as line
       from pg_catalog.pg_type t
      where t.typnamespace = 'public'::regnamespace and t.typtype in ('e', 'd', 'c')
        and (t.typtype <> 'c' or (select relkind from pg_catalog.pg_class where oid = t.typrelid) = 'c')
        and t.typname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "functions",
    `select format('%s(%s) returns %s language %s %s%s%s sha=%s', p.proname,
                   pg_catalog.pg_get_function_identity_arguments(p.oid),
                   coalesce(pg_catalog.pg_get_function_result(p.oid), '(procedure)'), l.lanname,
                   case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end,
                   case when p.prosecdef then ' security definer' else '' end,
                   coalesce(' set ' || array_to_string(p.proconfig, ' set '), ''),
                   left(pg_catalog.md5(p.prosrc), 12)) as line
       from pg_catalog.pg_proc p
       join pg_catalog.pg_language l on l.oid = p.prolang
      where p.pronamespace = 'public'::regnamespace and p.proname::text !~ '${TEST_ARTIFACT}'::text
        and not exists (select 1 from pg_catalog.pg_depend d
                         where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`,
  ],
  [
    "triggers",
    // Not tgenabled: migrations create triggers enabled, and a test may switch one off for a moment
    // (tests/db/policy-service.test.ts does) while the shared database is being dumped.
    `select pg_catalog.pg_get_triggerdef(t.oid) as line
       from pg_catalog.pg_trigger t
       join pg_catalog.pg_class c on c.oid = t.tgrelid
      where c.relnamespace = 'public'::regnamespace and not t.tgisinternal and not c.relispartition
        and c.relname::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "policies",
    `select format('%s %s %s %s to %s using (%s) check (%s)', tablename, policyname, permissive, cmd,
                   array_to_string(array(select r from unnest(roles) r order by r), ','),
                   coalesce(qual, ''), coalesce(with_check, '')) as line
       from pg_catalog.pg_policies
      where schemaname = 'public' and tablename::text !~ '${TEST_ARTIFACT}'::text`,
  ],
  [
    "grants on tables, views and sequences",
    `select format('%s %s: %s', c.relname, g.grantee,
                   string_agg(g.privilege_type || case when g.is_grantable then ' (grantable)' else '' end, ', '
                              order by g.privilege_type)) as line
       from pg_catalog.pg_class c,
            lateral (select case x.grantee when 0 then 'PUBLIC' else x.grantee::regrole::text end as grantee,
                            x.privilege_type, x.is_grantable
                       from pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault(
                              (case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))) x) g
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S')
        and not c.relispartition and c.relname::text !~ '${TEST_ARTIFACT}'::text and g.grantee in ${GRANTEES}
      group by c.relname, g.grantee`,
  ],
  [
    "grants on functions",
    `select format('%s(%s) %s: %s', p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), g.grantee,
                   string_agg(g.privilege_type, ', ' order by g.privilege_type)) as line
       from pg_catalog.pg_proc p,
            lateral (select case x.grantee when 0 then 'PUBLIC' else x.grantee::regrole::text end as grantee,
                            x.privilege_type
                       from pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f'::"char", p.proowner))) x) g
      where p.pronamespace = 'public'::regnamespace and p.proname::text !~ '${TEST_ARTIFACT}'::text and g.grantee in ${GRANTEES}
        and not exists (select 1 from pg_catalog.pg_depend d
                         where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      group by p.oid, p.proname, g.grantee`,
  ],
  [
    "pgboss tables",
    // pg-boss owns and migrates its schema itself; only its table names are ours to watch.
    `select c.relname as line from pg_catalog.pg_class c
      where c.relnamespace = (select oid from pg_catalog.pg_namespace where nspname = 'pgboss')
        and c.relkind in ('r', 'p') and not c.relispartition`,
  ],
];

/** The snapshot text: one `## section` block per kind of object, every line sorted (C collation). */
export async function dumpSchema(db: Database): Promise<string> {
  return db.transaction(async (tx: Queryable) => {
    await tx.query(`set local search_path = ''`);
    const out: string[] = ["# actp schema snapshot (public; regenerate with `npm run schema:snapshot`)"];
    for (const [title, sql] of sections) {
      const { rows } = await tx.query<Row>(`select line from (${sql}) s order by line collate "C"`);
      out.push("", `## ${title}`, ...(rows.length > 0 ? rows.map((r) => r.line) : ["(none)"]));
    }
    return out.join("\n") + "\n";
  });
}

async function main(): Promise<void> {
  const { startEmbeddedDatabase } = await import("../node/db/embedded.ts");
  const { migrate } = await import("../node/db/migrate.ts");
  const { createPgDatabase } = await import("../shared/db/pg.ts");
  // The same kind of database the db tier dumps: a fresh embedded PGlite, pushed by the Supabase CLI.
  const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  try {
    await migrate(embedded.url);
    const db = createPgDatabase({ connectionString: embedded.url, max: 1, applicationName: "actp-schema-snapshot" });
    try {
      const text = await dumpSchema(db);
      mkdirSync(dirname(SNAPSHOT_PATH), { recursive: true });
      writeFileSync(SNAPSHOT_PATH, text);
      console.log(`wrote ${SNAPSHOT_PATH} (${text.split("\n").length - 1} lines)`);
    } finally {
      await db.end();
    }
  } finally {
    await embedded.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

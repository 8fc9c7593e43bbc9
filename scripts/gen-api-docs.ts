/**
 * Writes the API reference (docs/api/) from the contracts themselves:
 *   - docs/api/<function>.md, from the OpenAPI document every function serves at
 *     GET /functions/v1/<function>/openapi.json (its route() declarations);
 *   - docs/api/README.md: the functions, the error catalog (shared/errors/catalog.ts), the CLI's exit
 *     statuses, the policy config shapes (shared/policy/contracts.ts) and the `ctx` API
 *     (shared/jobs/ctx-contracts.ts).
 * Every folder of functions/ (but _shared) is included, so a new function is documented by running this.
 *
 *   node --import tsx scripts/gen-api-docs.ts           write docs/api/, delete stale files
 *   node --import tsx scripts/gen-api-docs.ts --check   exit 1 and list drift, write nothing
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Hono } from "hono";
import { functionDoc, jsonSchemaOf, openApiDocument, openApiPath, routeErrors, type FunctionDoc } from "../functions/_shared/openapi.ts";
import type { RouteSpec } from "../functions/_shared/routes.ts";
import { ERROR_CODES, errorCodes, exitStatusFor } from "../shared/errors/catalog.ts";
import { CTX_API } from "../shared/jobs/ctx-contracts.ts";
import { AllowlistConfig, BudgetConfig, RateLimitConfig, SafetyConfig } from "../shared/policy/contracts.ts";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const DOCS_DIR = "docs/api";

type Json = Record<string, unknown>;

/** Every function folder: functions/<name>/app.ts, but _shared. */
export function functionNames(root: string = REPO_ROOT): string[] {
  const dir = join(root, "functions");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_") && existsSync(join(dir, d.name, "app.ts")))
    .map((d) => d.name)
    .sort();
}

export async function loadFunctionApp(name: string, root: string = REPO_ROOT): Promise<Hono> {
  const mod = (await import(pathToFileURL(join(root, "functions", name, "app.ts")).href)) as { app?: Hono };
  if (!mod.app) throw new Error(`functions/${name}/app.ts must export \`app\` (built with createFunctionApp)`);
  return mod.app;
}

export async function loadFunctionDocs(root: string = REPO_ROOT): Promise<FunctionDoc[]> {
  const out: FunctionDoc[] = [];
  for (const name of functionNames(root)) {
    const doc = functionDoc(await loadFunctionApp(name, root));
    if (!doc) throw new Error(`functions/${name}/app.ts: its app was not built with createFunctionApp`);
    out.push(doc);
  }
  return out;
}

const fence = (value: unknown) => "```json\n" + JSON.stringify(value, null, 2) + "\n```";
const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** One line for a parameter's schema: its type and the constraints a caller must meet. */
function brief(schema: Json): string {
  const parts: string[] = [];
  if (Array.isArray(schema.enum)) parts.push(schema.enum.map((v) => `\`${String(v)}\``).join(", "));
  else if (schema.type) parts.push(String(schema.type));
  else if (Array.isArray(schema.anyOf)) parts.push((schema.anyOf as Json[]).map(brief).join(" or "));
  if (schema.format) parts.push(`format ${String(schema.format)}`);
  if (schema.pattern && !schema.format) parts.push(`pattern \`${String(schema.pattern)}\``);
  for (const k of ["minimum", "maximum", "minLength", "maxLength"] as const) if (schema[k] !== undefined) parts.push(`${k} ${String(schema[k])}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(", ") || "any";
}

function renderRoute(doc: FunctionDoc, r: RouteSpec, op: Json): string {
  const out: string[] = [];
  const path = `/functions/v1/${doc.name}${openApiPath(r.path === "/" ? "" : r.path)}`;
  out.push(`## ${r.method.toUpperCase()} ${path}`, "", r.summary + ".", "");
  if (r.description) out.push(r.description, "");
  out.push(`Who may call it: ${String(op["x-actp-access-description"])} (\`${r.access}\`).`, "");
  const params = (op.parameters as Json[] | undefined) ?? [];
  if (params.length > 0) {
    out.push("| parameter | in | required | schema | description |", "| --- | --- | --- | --- | --- |");
    for (const p of params) {
      const s = p.schema as Json;
      out.push(`| \`${String(p.name)}\` | ${String(p.in)} | ${p.required ? "yes" : "no"} | ${cell(brief(s))} | ${cell(String(p.description ?? s.description ?? ""))} |`);
    }
    out.push("");
  }
  const body = op.requestBody as { required: boolean; content: { "application/json": { schema: Json } } } | undefined;
  if (body) {
    out.push(`Request body (JSON${body.required ? "" : ", optional"}):`, "", fence(body.content["application/json"].schema), "");
  }
  out.push("| status | meaning |", "| --- | --- |");
  for (const [status, spec] of Object.entries(r.responses)) out.push(`| ${status} | ${cell(spec.description)} |`);
  for (const [status, codes] of routeErrors(r)) out.push(`| ${status} | ${codes.map((c) => `[\`${c}\`](README.md#errors)`).join(", ")} |`);
  out.push("");
  for (const [status, spec] of Object.entries(r.responses)) {
    if (spec.schema) out.push(`Response ${status}:`, "", fence(jsonSchemaOf(spec.schema, "output")), "");
  }
  return out.join("\n");
}

export function renderFunctionMarkdown(doc: FunctionDoc): string {
  const api = openApiDocument(doc);
  const paths = api.paths as Record<string, Record<string, Json>>;
  const out = [
    `# ${doc.title}`,
    "",
    "<!-- generated by scripts/gen-api-docs.ts from functions/" + doc.name + "/app.ts; do not edit -->",
    "",
    doc.description,
    "",
    `The OpenAPI 3.1 document: \`GET /functions/v1/${doc.name}/openapi.json\`. ` +
      "Every error answers `{ error: { code, message, details? } }`; the codes are in the [error catalog](README.md#errors).",
    "",
  ];
  for (const r of doc.routes) {
    const op = paths[`/${doc.name}${openApiPath(r.path === "/" ? "" : r.path)}`]![r.method]!;
    out.push(renderRoute(doc, r, op));
  }
  return out.join("\n").trimEnd() + "\n";
}

function renderIndex(docs: FunctionDoc[]): string {
  const out = [
    "# actp API reference",
    "",
    "<!-- generated by scripts/gen-api-docs.ts (npm run gen:api-docs); do not edit -->",
    "",
    "Generated from the zod contracts that validate the requests (each function's `route()` declarations), the error",
    "catalog (`shared/errors/catalog.ts`), the policy contracts and the `ctx` contracts. A test fails when this drifts.",
    "",
    "## Functions",
    "",
    "Each is served at `/functions/v1/<name>` (Supabase Edge Functions, or `actp dev`'s gateway) and serves its own",
    "OpenAPI 3.1 document at `/functions/v1/<name>/openapi.json`. Send the project's key as `Authorization: Bearer <key>`.",
    "",
    "| function | what it does | routes |",
    "| --- | --- | --- |",
  ];
  for (const d of docs) out.push(`| [${d.name}](${d.name}.md) | ${cell(d.description)} | ${d.routes.length} |`);
  out.push(
    "",
    "## Errors",
    "",
    "Every error actp raises, from TypeScript or from plpgsql (through `actp_raise`, which refuses a code not listed here;",
    "the table `actp_error_codes` holds the same rows). HTTP answers carry the status; the CLI exits with the exit status.",
    "",
    "| code | HTTP | CLI exit | meaning |",
    "| --- | --- | --- | --- |",
  );
  for (const c of errorCodes) out.push(`| \`${c}\` | ${ERROR_CODES[c].status} | ${exitStatusFor(c)} | ${cell(ERROR_CODES[c].description)} |`);
  out.push(
    "",
    "## CLI exit statuses",
    "",
    "| status | meaning |",
    "| --- | --- |",
    "| 0 | done |",
    "| 1 | the command failed (the line printed says why, with its code) |",
    "| 2 | usage: an unknown command or option, a missing or malformed argument |",
    "| 3 | no database answered at the URL the command resolved (the line names what it tried) |",
    "| 4 | not found (an agent, a job, a DLQ item, a module) |",
    "| 5 | conflict or in use (already resolved, already settled, a data directory or port in use) |",
    "",
    "## Policy configs",
    "",
    "A policy's `config` has the shape of its `policy_type` (POST /functions/v1/policy/policies).",
    "",
  );
  const configs = { budget: BudgetConfig, rate_limit: RateLimitConfig, allowlist: AllowlistConfig, safety: SafetyConfig };
  for (const [type, schema] of Object.entries(configs)) out.push(`### ${type}`, "", fence(jsonSchemaOf(schema, "input")), "");
  out.push(
    "## The job context (`ctx`)",
    "",
    "What an agent's handler receives (`import type { JobContext } from \"actp\"`). Arguments that are data are checked",
    "against these contracts; a bad one fails the call with the code shown.",
    "",
  );
  for (const m of CTX_API) {
    out.push(`### \`${m.signature}\``, "", m.description, "");
    if (m.throws?.length) out.push(`Throws: ${m.throws.map((c) => `[\`${c}\`](#errors)`).join(", ")}.`, "");
    for (const [arg, schema] of Object.entries(m.args ?? {})) out.push(`\`${arg}\`:`, "", fence(jsonSchemaOf(schema, "input")), "");
  }
  return out.join("\n").trimEnd() + "\n";
}

/** Every generated file, by path relative to the repository root. */
export async function renderApiDocs(root: string = REPO_ROOT): Promise<Map<string, string>> {
  const docs = await loadFunctionDocs(root);
  const files = new Map<string, string>();
  files.set(`${DOCS_DIR}/README.md`, renderIndex(docs));
  for (const d of docs) {
    files.set(`${DOCS_DIR}/${d.name}.md`, renderFunctionMarkdown(d));
  }
  return files;
}

function existingFiles(root: string): string[] {
  const out: string[] = [];
  const dir = join(root, DOCS_DIR);
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (f.endsWith(".md")) out.push(`${DOCS_DIR}/${f}`);
  return out.sort();
}

export async function checkApiDocs(root: string = REPO_ROOT): Promise<{ ok: boolean; drift: string[] }> {
  const expected = await renderApiDocs(root);
  const drift: string[] = [];
  for (const [rel, content] of expected) {
    const path = join(root, rel);
    if (!existsSync(path)) drift.push(`${rel}: missing`);
    else if (readFileSync(path, "utf8") !== content) drift.push(`${rel}: out of date`);
  }
  for (const rel of existingFiles(root)) if (!expected.has(rel)) drift.push(`${rel}: stale (no such function)`);
  return { ok: drift.length === 0, drift };
}

export async function writeApiDocs(root: string = REPO_ROOT): Promise<{ written: string[]; deleted: string[] }> {
  const expected = await renderApiDocs(root);
  mkdirSync(join(root, DOCS_DIR), { recursive: true });
  const written: string[] = [];
  for (const [rel, content] of expected) {
    const path = join(root, rel);
    if (existsSync(path) && readFileSync(path, "utf8") === content) continue;
    writeFileSync(path, content);
    written.push(rel);
  }
  const deleted = existingFiles(root).filter((rel) => !expected.has(rel));
  for (const rel of deleted) rmSync(join(root, rel));
  return { written, deleted };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--check")) {
    const { ok, drift } = await checkApiDocs();
    if (ok) {
      console.log("docs/api is up to date");
      return 0;
    }
    console.error("docs/api drifted from the contracts:");
    for (const line of drift) console.error(`  ${line}`);
    console.error("run: npm run gen:api-docs");
    return 1;
  }
  const { written, deleted } = await writeApiDocs();
  for (const rel of written) console.log(`wrote ${rel}`);
  for (const rel of deleted) console.log(`deleted ${rel}`);
  console.log(`${written.length} written, ${deleted.length} deleted`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}

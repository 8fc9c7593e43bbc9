// Builds the operator dashboard (dashboard/) into static files: index.html, style.css, app.js (the
// TypeScript bundled by esbuild, supabase-js included, so no CDN is needed) and config.js (where the
// API is). `actp dev` serves the result at /dashboard/; `actp dashboard build` writes it to a folder
// for any static host.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { build } from "esbuild";
import { PROJECT_ROOT } from "../config.ts";

export interface DashboardConfig {
  apiUrl: string;
  anonKey: string;
  auth: "local" | "supabase";
}

export interface DashboardFile {
  body: string;
  type: string;
}

export const DASHBOARD_DIR = resolve(PROJECT_ROOT, "dashboard");

/** config.js: JSON in a script, with `<` escaped so no value can close the script element. */
export function configScript(cfg: DashboardConfig): string {
  return `window.ACTP_CONFIG = ${JSON.stringify(cfg).replace(/</g, "\\u003c")};\n`;
}

export async function buildDashboard(cfg: DashboardConfig): Promise<Map<string, DashboardFile>> {
  const out = await build({
    entryPoints: [resolve(DASHBOARD_DIR, "src/main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const js = out.outputFiles[0]!.text;
  return new Map<string, DashboardFile>([
    ["index.html", { body: await readFile(resolve(DASHBOARD_DIR, "index.html"), "utf8"), type: "text/html; charset=utf-8" }],
    ["style.css", { body: await readFile(resolve(DASHBOARD_DIR, "style.css"), "utf8"), type: "text/css; charset=utf-8" }],
    ["app.js", { body: js, type: "text/javascript; charset=utf-8" }],
    ["config.js", { body: configScript(cfg), type: "text/javascript; charset=utf-8" }],
  ]);
}

export async function writeDashboard(outDir: string, cfg: DashboardConfig): Promise<string[]> {
  const files = await buildDashboard(cfg);
  await mkdir(outDir, { recursive: true });
  for (const [name, f] of files) await writeFile(resolve(outDir, name), f.body);
  return [...files.keys()];
}

// `actp dashboard build --out <dir>`: the operator dashboard as static files for any host (a
// Supabase edge function cannot serve text/html pages; `actp dev` serves it at /dashboard/).
import { resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { writeDashboard } from "../../dashboard/build.ts";
import { fail } from "../db.ts";
import { ActpError } from "../../../shared/errors.ts";

const Options = z.strictObject({
  out: z.string().min(1),
  apiUrl: z.url({ protocol: /^https?$/ }),
  anonKey: z.string().min(1),
  auth: z.enum(["local", "supabase"]),
});

export function register(program: Command): void {
  program
    .command("dashboard")
    .description("the operator dashboard")
    .command("build")
    .description("write the dashboard as static files (index.html, app.js, style.css, config.js) for any static host")
    .requiredOption("--out <dir>", "folder to write")
    .requiredOption("--api-url <url>", "your project's API URL, e.g. https://<ref>.supabase.co")
    .requiredOption("--anon-key <key>", "your project's anon key (public; it only reaches the functions' gateway)")
    .option("--auth <kind>", "sign-in: supabase (Supabase Auth: password or magic link) or local (paste a token)", "supabase")
    .action(async (raw: Record<string, unknown>) => {
      try {
        const r = Options.safeParse(raw);
        if (!r.success) throw new ActpError("cli.invalid_options", r.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join("; "));
        const out = resolve(r.data.out);
        const files = await writeDashboard(out, { apiUrl: r.data.apiUrl, anonKey: r.data.anonKey, auth: r.data.auth });
        console.log(`wrote ${files.join(", ")} to ${out}`);
      } catch (err) {
        fail(err);
      }
    });
}

// `npm run bench -- <name> [args]`: runs bench/<name>.ts, which prints its figures.
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith(".ts") && f !== "main.ts" && !f.startsWith("_"))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join("|")}>`);
  process.exit(name ? 2 : 0);
}
const file = resolve(import.meta.dirname, `${name}.ts`);
if (!existsSync(file)) process.exit(2);
process.argv = [process.argv[0]!, file, ...rest];
await import(pathToFileURL(file).href);

// The bucket is computed by the same shared/flags/evaluate.ts in Deno (edge functions) and Node
// (worker): run it under the real Deno binary and compare.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../node/config.ts";
import { flagBucket } from "../../shared/flags/evaluate.ts";

const run = promisify(execFile);
const DENO = resolve(PROJECT_ROOT, "node_modules/.bin/deno");

describe("flagBucket under Deno", () => {
  it("equals Node's on 1,000 ids, ASCII and not", async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => (i % 2 ? `agent-${i}` : `агент-${i}-😀-é`));
    const module = pathToFileURL(resolve(PROJECT_ROOT, "shared/flags/evaluate.ts")).href;
    const code = `import { flagBucket } from ${JSON.stringify(module)};
const ids = JSON.parse(Deno.env.get("FLAG_IDS"));
console.log(JSON.stringify(await Promise.all(ids.map((id) => flagBucket("deno.parity", id)))));`;
    const { stdout } = await run(DENO, ["eval", "--config", resolve(PROJECT_ROOT, "deno.json"), code], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, FLAG_IDS: JSON.stringify(ids), NO_COLOR: "1" },
    });
    const fromDeno = JSON.parse(stdout.trim()) as number[];
    const fromNode = await Promise.all(ids.map((id) => flagBucket("deno.parity", id)));
    expect(fromDeno).toEqual(fromNode);
  }, 30_000);
});

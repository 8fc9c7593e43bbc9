// The pushed schema against the committed snapshot (tests/__snapshots__/schema.txt), so a schema
// change is always an explicit, reviewed diff of that file and never a side effect of a migration.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { SNAPSHOT_PATH, dumpSchema } from "../../scripts/schema-snapshot.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(1);
afterAll(() => db.end());

/** The first lines where the committed snapshot and the live schema part ways, diff-style. */
export function firstDifferences(expected: string, actual: string, max = 12): string[] {
  const want = expected.split("\n");
  const got = actual.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length) && out.length < max; i++) {
    if (want[i] === got[i]) continue;
    if (want[i] !== undefined) out.push(`line ${i + 1} - ${want[i]}`);
    if (got[i] !== undefined) out.push(`line ${i + 1} + ${got[i]}`);
  }
  return out;
}

describe("schema snapshot", () => {
  it("the migrated schema matches tests/__snapshots__/schema.txt", async () => {
    const committed = readFileSync(SNAPSHOT_PATH, "utf8");
    const live = await dumpSchema(db);
    if (live !== committed) {
      expect.fail(
        [
          "The schema pushed by the migrations differs from tests/__snapshots__/schema.txt:",
          "run `npm run schema:snapshot` and review the diff.",
          "First differing lines (- committed, + live):",
          ...firstDifferences(committed, live),
        ].join("\n"),
      );
    }
  });

  it("the dump is stable: two reads give the same text", async () => {
    expect(await dumpSchema(db)).toBe(await dumpSchema(db));
  });

  it("reports where a snapshot differs", () => {
    expect(firstDifferences("a\nb\nc\n", "a\nB\nc\nd\n")).toEqual(["line 2 - b", "line 2 + B", "line 4 - ", "line 4 + d", "line 5 + "]);
  });
});

import { describe, expect, it } from "vitest";
import { chunkMarkdown } from "../../shared/memory/markdown.ts";

describe("chunkMarkdown", () => {
  it("chunks by heading with heading paths, ignoring # inside fenced code and front matter", () => {
    const md = "---\ntitle: x\n---\nintro line\n\n# A\ntext a\n\n## B\n```sh\n# not a heading\n```\n\n## C ##\ntext c\n# A\nsecond a\n";
    const chunks = chunkMarkdown(md);
    expect(chunks.map((c) => [c.heading, c.heading_path.join("/"), c.anchor])).toEqual([
      ["", "", "(top)#0.0"],
      ["A", "A", "A#0.0"],
      ["B", "A/B", "A > B#0.0"],
      ["C", "A/C", "A > C#0.0"],
      ["A", "A", "A#1.0"],
    ]);
    expect(chunks[2]!.content).toBe("```sh\n# not a heading\n```");
  });

  it("splits long sections at paragraph boundaries, then lines, then hard, never over the max", () => {
    const para = (n: number) => `para ${n} ` + "word ".repeat(30);
    const md = `# Long\n${[1, 2, 3, 4, 5].map(para).join("\n\n")}\n\n${"x".repeat(500)}`;
    const chunks = chunkMarkdown(md, 200);
    expect(chunks.every((c) => c.content.length <= 200)).toBe(true);
    expect(chunks.map((c) => c.anchor)).toEqual(chunks.map((_, i) => `Long#0.${i}`));
    expect(chunks[0]!.content.startsWith("para 1")).toBe(true);
    expect(chunks.map((c) => c.content).join("").replace(/\s/g, "")).toBe(md.replace(/^# Long\n/, "").replace(/\s/g, ""));
  });

  it("keeps a section's anchor when another section is inserted above it", () => {
    const a = chunkMarkdown("# One\nfirst\n# Two\nsecond\n");
    const b = chunkMarkdown("# Zero\nnew\n# One\nfirst\n# Two\nsecond\n");
    expect(b.find((c) => c.heading === "Two")!.anchor).toBe(a.find((c) => c.heading === "Two")!.anchor);
  });
});

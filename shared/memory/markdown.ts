// Chunks a markdown file by heading: each section (the text under a heading, up to the next heading
// of any level) is a chunk carrying its heading and heading path; a long section is split at
// paragraph boundaries (blank lines outside fenced code) into parts of at most maxChars, and a
// single paragraph longer than that at line, then sentence, then hard boundaries. Each chunk's
// anchor (heading path, occurrence, part) is stable when other sections move.
import type { VaultChunk } from "./contracts.ts";

export const DEFAULT_MAX_CHUNK_CHARS = 2_000;

const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

interface Section {
  heading: string;
  path: string[];
  lines: string[];
}

function sections(markdown: string): Section[] {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: Section[] = [];
  const stack: { level: number; text: string }[] = [];
  let current: Section = { heading: "", path: [], lines: [] };
  let fence: string | null = null;
  let i = 0;
  // YAML front matter is metadata, not a section's text.
  if (lines[0] === "---") {
    const end = lines.indexOf("---", 1);
    if (end > 0) i = end + 1;
  }
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      current.lines.push(line);
      continue;
    }
    const h = fence === null ? HEADING.exec(line) : null;
    if (h) {
      out.push(current);
      const level = h[1]!.length;
      const text = (h[2] ?? "").trim();
      while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
      stack.push({ level, text });
      current = { heading: text, path: stack.map((s) => s.text), lines: [] };
      continue;
    }
    current.lines.push(line);
  }
  out.push(current);
  return out;
}

/** Paragraphs: runs of lines separated by blank lines, a fenced block never split. */
function paragraphs(lines: readonly string[]): string[] {
  const out: string[] = [];
  let buf: string[] = [];
  let fence: string | null = null;
  for (const line of lines) {
    const f = FENCE.exec(line);
    if (f) fence = fence === null ? f[1]![0]! : f[1]![0] === fence ? null : fence;
    if (fence === null && !f && line.trim() === "") {
      if (buf.length) out.push(buf.join("\n"));
      buf = [];
    } else buf.push(line);
  }
  if (buf.length) out.push(buf.join("\n"));
  return out;
}

function splitLong(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const pieces = text.includes("\n") ? text.split("\n") : text.split(/(?<=[.!?])\s+/);
  if (pieces.length > 1) return pack(pieces, max, text.includes("\n") ? "\n" : " ");
  const out: string[] = [];
  for (let i = 0; i < text.length; i += max) out.push(text.slice(i, i + max));
  return out;
}

function pack(pieces: readonly string[], max: number, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const p of pieces.flatMap((x) => splitLong(x, max))) {
    if (cur && cur.length + sep.length + p.length > max) {
      out.push(cur);
      cur = p;
    } else cur = cur ? cur + sep + p : p;
  }
  if (cur) out.push(cur);
  return out;
}

export function chunkMarkdown(markdown: string, maxChars = DEFAULT_MAX_CHUNK_CHARS): VaultChunk[] {
  const chunks: VaultChunk[] = [];
  const seen = new Map<string, number>();
  for (const s of sections(markdown)) {
    const body = paragraphs(s.lines);
    if (body.length === 0) continue;
    const key = s.path.join("\u001f");
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    const parts = pack(body, maxChars, "\n\n");
    parts.forEach((content, part) => {
      chunks.push({
        anchor: `${s.path.join(" > ") || "(top)"}#${occurrence}.${part}`,
        heading: s.heading,
        heading_path: s.path,
        content,
      });
    });
  }
  return chunks;
}

// Telegram's HTML parse mode (core.telegram.org/bots/api#html-style): only <, > and & must be
// escaped in text and attribute values; every dynamic value goes through escapeHtml.

/** The length limit of one message's text, in UTF-16 code units after entity parsing (4096). */
export const MESSAGE_LIMIT = 4096;

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Escapes and cuts to at most max characters of visible text (cut before escaping, so no entity is split). */
export function escapeCut(value: unknown, max: number): string {
  const s = String(value ?? "");
  return escapeHtml(s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s);
}

/**
 * Splits a message made of self-contained HTML lines into chunks of at most `limit` characters,
 * only at line breaks, so a tag or an entity is never cut. A single line longer than the limit
 * (callers keep lines short) is cut at the limit as plain text with its tags stripped.
 */
export function splitMessage(html: string, limit = MESSAGE_LIMIT): string[] {
  const chunks: string[] = [];
  let current = "";
  for (const raw of html.split("\n")) {
    let line = raw;
    if (line.length > limit) {
      const plain = line.replace(/<[^>]*>/g, "");
      line = plain.length > limit ? plain.slice(0, limit - 1).replace(/&[a-z#0-9]*$/i, "") + "…" : plain;
    }
    const candidate = current === "" ? line : `${current}\n${line}`;
    if (candidate.length > limit) {
      if (current !== "") chunks.push(current);
      current = line;
    } else {
      current = candidate;
    }
  }
  if (current.trim() !== "") chunks.push(current);
  return chunks;
}

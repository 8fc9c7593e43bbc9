// Normalization before the injection scan (PRD §4.15, issue 10). Two layers:
//   clean(text)  what is STORED and shown to models: NFKC, zero-width and bidi controls removed,
//                other control characters dropped, whitespace tidied. Harmless to real text.
//   views(text)  what the scanner READS, each with a map back to offsets in the clean text:
//     plain     lowercase, spaced-out letters rejoined ("i g n o r e" → "ignore");
//     skeleton  plain with confusable homoglyphs mapped to Latin (Cyrillic "о" → "o", math bold
//               "𝐈" → "i"); only for Latin-script rules: it would garble genuine Cyrillic or Greek,
//               which the plain view keeps for the rules written in those languages.
// Encoded runs (base64, percent-encoding) are decoded into extra segments by decodedRuns().
import { remove as removeConfusables } from "confusables";

// Zero-width, bidi embedding/override/isolate marks, BOM, soft hyphen, word joiners, Mongolian
// vowel separator, tag characters (invisible "ASCII smuggling"), variation selectors.
const INVISIBLE = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]|[\u{e0000}-\u{e007f}]|[\u{e0100}-\u{e01ef}]/gu;
// C0/C1 controls other than tab and newline.
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/** Tag characters (U+E0020..E007E) spell ASCII invisibly; the scanner reads what they spell. */
export function decodeTagCharacters(text: string): string | null {
  const tags = [...text.matchAll(/[\u{e0020}-\u{e007e}]+/gu)].map((m) => [...m[0]].map((c) => String.fromCharCode(c.codePointAt(0)! - 0xe0000)).join(""));
  return tags.length > 0 ? tags.join(" ") : null;
}

export function clean(text: string): string {
  return text
    .normalize("NFKC")
    .replace(INVISIBLE, "")
    .replace(/\r\n?/g, "\n")
    .replace(CONTROLS, "")
    // Two or more spaces stay two: spaced-out letters ("i g n o r e  a l l") use them between words.
    .replace(/[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}/g, "  ")
    .replace(/[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** A text the scanner reads, and for each of its UTF-16 units the offset in the clean text. */
export interface View {
  text: string;
  map: number[];
}

// Letters separated by single spaces, dots, dashes, underscores or asterisks, at least 4 letters:
// "i g n o r e", "I.G.N.O.R.E", "y-o-u a-r-e". Two or more spaces (or a slash) separate words.
const SPACED = /(?<![\p{L}\p{N}])\p{L}(?:(?: |[.\-_*] ?| {2,}| ?\/ ?)\p{L}(?![\p{L}\p{N}])){3,}/gu;

function rejoinSpaced(text: string, map: number[]): View {
  let out = "";
  const outMap: number[] = [];
  let last = 0;
  for (const m of text.matchAll(SPACED)) {
    const start = m.index!;
    for (let i = last; i < start; i++) {
      out += text[i];
      outMap.push(map[i]!);
    }
    const run = m[0];
    for (let i = 0; i < run.length; i++) {
      const ch = run[i]!;
      if (/\p{L}/u.test(ch)) {
        out += ch;
        outMap.push(map[start + i]!);
      } else if ((ch === " " && run[i + 1] === " ") || ch === "/") {
        // Word boundary inside the run: keep one space.
        if (!out.endsWith(" ")) {
          out += " ";
          outMap.push(map[start + i]!);
        }
      }
    }
    last = start + run.length;
  }
  for (let i = last; i < text.length; i++) {
    out += text[i];
    outMap.push(map[i]!);
  }
  return { text: out, map: outMap };
}

export function plainView(cleanText: string): View {
  let text = "";
  const map: number[] = [];
  let i = 0;
  for (const ch of cleanText) {
    const lower = ch.toLowerCase();
    for (let k = 0; k < lower.length; k++) map.push(i);
    text += lower;
    i += ch.length;
  }
  return rejoinSpaced(text, map);
}

// Letters the confusables table maps oddly for our purpose (Greek iota to "L"); ours win.
const PRE_MAP: Record<string, string> = { "ι": "i", "і": "i", "ї": "i", "ı": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "ο": "o", "ѕ": "s", "ԛ": "q", "ԝ": "w", "ν": "v", "τ": "t", "κ": "k", "ρ": "p", "υ": "u", "χ": "x" };

export function skeletonView(plain: View): View {
  let text = "";
  const map: number[] = [];
  let i = 0;
  for (const ch of plain.text) {
    let out: string;
    if (/[\x00-\x7f]/.test(ch)) out = ch;
    else out = (PRE_MAP[ch] ?? removeConfusables(ch)).toLowerCase();
    for (let k = 0; k < out.length; k++) map.push(plain.map[i]!);
    text += out;
    i += ch.length;
  }
  return { text, map };
}

/** An encoded run found in the clean text, decoded for the scan. */
export interface DecodedRun {
  kind: "base64" | "percent" | "tags";
  /** Offsets of the encoded run in the clean text (redacted whole when its decoding is flagged). */
  start: number;
  end: number;
  decoded: string;
}

const printableShare = (s: string) => (s.length === 0 ? 0 : [...s].filter((c) => /[\p{L}\p{N}\p{P}\p{Zs}\n]/u.test(c)).length / [...s].length);

function base64Decode(run: string): string | null {
  try {
    const std = run.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function decodedRuns(cleanText: string, rawText?: string): DecodedRun[] {
  const out: DecodedRun[] = [];
  // Base64 (standard and URL-safe): 20+ characters, a mix of cases, decoding to mostly readable text.
  for (const m of cleanText.matchAll(/[A-Za-z0-9+/_-]{20,}={0,2}/g)) {
    const run = m[0];
    if (!/[a-z]/.test(run) || !/[A-Z0-9]/.test(run)) continue;
    const decoded = base64Decode(run.replace(/=+$/, ""));
    if (decoded && decoded.length >= 6 && printableShare(decoded) > 0.9 && (/\s/.test(decoded) || /[^\x00-\x7f]/.test(decoded))) {
      out.push({ kind: "base64", start: m.index!, end: m.index! + run.length, decoded });
    }
  }
  // Percent-encoding: 4+ escapes in one run.
  for (const m of cleanText.matchAll(/(?:[A-Za-z0-9._~+-]*%[0-9A-Fa-f]{2}){4,}[A-Za-z0-9._~+-]*/g)) {
    try {
      const decoded = decodeURIComponent(m[0].replace(/\+/g, " "));
      if (printableShare(decoded) > 0.9) out.push({ kind: "percent", start: m.index!, end: m.index! + m[0].length, decoded });
    } catch {
      // Not valid UTF-8 once decoded: not text an instruction could hide in.
    }
  }
  const tags = rawText ? decodeTagCharacters(rawText) : null;
  if (tags) out.push({ kind: "tags", start: 0, end: 0, decoded: tags });
  return out;
}

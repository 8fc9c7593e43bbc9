// Text handling the deterministic checks share: normalization (so typography never decides a
// verdict), sentence splitting with citation markers, content words and negation cues.

const QUOTE_MAP: Record<string, string> = {
  "\u2018": "'", "\u2019": "'", "\u201A": "'", "\u201B": "'", "\u2032": "'", "\u00B4": "'", "`": "'",
  "\u201C": '"', "\u201D": '"', "\u201E": '"', "\u201F": '"', "\u2033": '"', "\u00AB": '"', "\u00BB": '"',
  "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
};
const QUOTE_RE = new RegExp(`[${Object.keys(QUOTE_MAP).join("")}]`, "g");
// Zero-width and bidi controls: invisible, so never part of what a quote "says".
const INVISIBLE_RE = /[\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** NFKC, one quote and dash style, invisible characters removed, whitespace collapsed, lower case. */
export function normalizeText(s: string): string {
  return s
    .normalize("NFKC")
    .replace(INVISIBLE_RE, "")
    .replace(QUOTE_RE, (ch) => QUOTE_MAP[ch] ?? ch)
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}

/** Typography only (NFKC, quotes, dashes, invisibles), case and spacing kept: for extraction. */
export function normalizeTypography(s: string): string {
  return s.normalize("NFKC").replace(INVISIBLE_RE, "").replace(QUOTE_RE, (ch) => QUOTE_MAP[ch] ?? ch);
}

// `[id]` or `[id1, id2]`, not a markdown link `[text](url)`.
const CITATION_RE = /\[([A-Za-z0-9][A-Za-z0-9_.:-]{0,127}(?:\s*[,;]\s*[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})*)\](?!\()/g;

export interface ClaimSentence {
  /** The sentence as written, citation markers removed. */
  text: string;
  /** Ids cited by the sentence's markers, in order, without duplicates. */
  citations: string[];
}

function citationsIn(s: string): string[] {
  const ids: string[] = [];
  for (const m of s.matchAll(CITATION_RE)) {
    for (const id of m[1]!.split(/\s*[,;]\s*/)) if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

const stripCitations = (s: string) => s.replace(CITATION_RE, "").replace(/\s+([.,;:!?])/g, "$1").replace(/\s+/g, " ").trim();

const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

/**
 * The claim's sentences with the ids each cites. Lines (bullets, headings) split first, then
 * Intl.Segmenter's sentence boundaries; markers placed after the full stop ("... in 2024. [e1]")
 * belong to the sentence before them, the academic convention.
 */
export function splitClaim(claim: string): ClaimSentence[] {
  const out: ClaimSentence[] = [];
  for (const line of normalizeTypography(claim).split(/\r?\n+/)) {
    // "... in 2024. [e1] Next" → "... in 2024 [e1]. Next": the marker joins the sentence it follows.
    const body = line
      .replace(/^\s*(?:[-*+•]|\d+[.)]|#{1,6})\s+/, "")
      .replace(/([.!?])(["')]?)\s*((?:\[[^\]]+\](?!\()\s*)+)/g, (_m, stop: string, close: string, marks: string) => `${close} ${marks.trim()}${stop} `);
    if (!body.trim()) continue;
    const segs = [...segmenter.segment(body)].map((s) => s.segment);
    const merged: string[] = [];
    for (const seg of segs) {
      const lead = /^\s*((?:\[[^\]]+\](?!\()\s*)+)(.*)$/s.exec(seg);
      if (lead && merged.length > 0 && citationsIn(lead[1]!).length > 0) {
        merged[merged.length - 1] += " " + lead[1]!.trim();
        if (lead[2]!.trim()) merged.push(lead[2]!);
      } else {
        merged.push(seg);
      }
    }
    for (const raw of merged) {
      const text = stripCitations(raw);
      const citations = citationsIn(raw);
      if (!text && citations.length > 0 && out.length > 0) {
        for (const id of citations) if (!out.at(-1)!.citations.includes(id)) out.at(-1)!.citations.push(id);
        continue;
      }
      if (text) out.push({ text, citations });
    }
  }
  return out;
}

/** Sentences of an evidence text (no citations there), for negation matching. */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const line of normalizeTypography(text).split(/\n+/)) {
    for (const s of segmenter.segment(line)) {
      const t = s.segment.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

/** Text in double quotation marks (after typography normalization), at least two words or 8 characters. */
export function quotesIn(sentence: string): string[] {
  const out: string[] = [];
  for (const m of normalizeTypography(sentence).matchAll(/"([^"]{1,2000})"/g)) {
    const q = m[1]!.trim();
    if (q.split(/\s+/).length >= 2 || q.length >= 8) out.push(q);
  }
  return out;
}

const NEGATION_CUES = new Set(["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "unable"]);
/** Content words after a cue that it negates: the head (usually the verb) only; wider scopes flip words a clause merely mentions. */
const NEGATION_SCOPE = 1;

const STOPWORDS = new Set(
  ("a an the and or but if of to in on at by for with from as is are was were be been being it its this that these those " +
    "there their they them he she his her we our you your i me my do does did has have had will would can could should may might " +
    "must shall so than then too very also just only into over under about after before between both each more most other some such " +
    "which who whom whose what when where why how all any same own per via")
    .split(" "),
);

function words(s: string): string[] {
  return normalizeText(s)
    .replace(/n't\b/g, " not")
    .replace(/\bcannot\b/g, "can not")
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

// A light suffix stripper: enough that "retries"/"retried"/"retry" meet, no dictionary needed.
function stem(w: string): string {
  if (w.length <= 4 || /^\d/.test(w)) return w;
  for (const suf of ["ations", "ation", "ingly", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s"]) {
    if (w.endsWith(suf) && w.length - suf.length >= 3) return w.slice(0, -suf.length) + (suf === "ied" || suf === "ies" ? "y" : "");
  }
  return w;
}

/** Stemmed content words (stopwords and negation cues removed). */
export function contentWords(s: string): Set<string> {
  return new Set(words(s).filter((w) => !STOPWORDS.has(w) && !NEGATION_CUES.has(w)).map(stem));
}

/**
 * The stemmed content words a sentence negates: the NEGATION_SCOPE content words after each cue,
 * within its clause. "fetch jobs without contention" negates contention, not fetching; two cues
 * over one word cancel out.
 */
export function negatedWords(s: string): Set<string> {
  const out = new Set<string>();
  for (const clause of normalizeText(s).replace(/n't\b/g, " not").replace(/\bcannot\b/g, "can not").split(/[,;:.!?()]+/)) {
    const toks = clause.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    for (let i = 0; i < toks.length; i++) {
      if (!NEGATION_CUES.has(toks[i]!)) continue;
      let taken = 0;
      for (let j = i + 1; j < toks.length && taken < NEGATION_SCOPE; j++) {
        const w = toks[j]!;
        if (NEGATION_CUES.has(w) || STOPWORDS.has(w)) continue;
        const st = stem(w);
        if (out.has(st)) out.delete(st);
        else out.add(st);
        taken++;
      }
    }
  }
  return out;
}

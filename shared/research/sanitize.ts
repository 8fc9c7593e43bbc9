// HTML → the text a reader sees (PRD §4.15 step 1), with a real parser that runs in Deno and Node
// (linkedom). What a reader never sees but a model would is taken out of the text and kept apart
// for the scan (hidden text that gives orders is itself the strongest sign of an attack):
// comments, script/style/noscript/template, elements hidden by attributes (hidden, aria-hidden,
// type=hidden), by inline style or by a <style> rule on a class/id (display:none,
// visibility:hidden, opacity:0, zero size, font-size:0, off-screen positioning, clipping,
// text-indent, white-on-white / same colour as the background). alt text stays in the text;
// title, aria-label and similar attributes are scanned as their own segments.
import { parseHTML } from "linkedom";

export interface Segment {
  text: string;
  /** hidden: removed from the text; attribute: title/aria/placeholder values. */
  source: "hidden" | "attribute" | "boilerplate";
}

export interface SanitizedPage {
  title: string;
  /** Visible text, blocks separated by newlines (not yet normalized). */
  text: string;
  segments: Segment[];
  /** Whether main-text extraction picked an <article>/<main> element. */
  mainExtracted: boolean;
}

const DROP = new Set(["script", "style", "noscript", "template", "iframe", "object", "embed", "canvas", "svg", "math", "head", "link", "meta", "button", "select", "option", "textarea", "input"]);
const BOILERPLATE = new Set(["nav", "footer", "aside", "form", "dialog"]);
const BLOCK = new Set([
  "p", "div", "section", "article", "main", "header", "footer", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
  "pre", "blockquote", "table", "tr", "figure", "figcaption", "br", "hr", "nav", "aside", "details", "summary", "address",
]);
const SCANNED_ATTRIBUTES = ["title", "aria-label", "aria-description", "aria-roledescription", "placeholder", "data-prompt", "data-instructions"];

const WHITE = /^(#fff|#ffffff|#fffffff?f?|white|rgba?\(\s*255\s*,\s*255\s*,\s*255\s*(,\s*1(\.0+)?\s*)?\))$/i;
const TRANSPARENT = /^(transparent|rgba\([^)]*,\s*0(\.0+)?\s*\))$/i;

function declarations(style: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const decl of style.split(";")) {
    const i = decl.indexOf(":");
    if (i < 0) continue;
    out.set(decl.slice(0, i).trim().toLowerCase(), decl.slice(i + 1).replace(/!important/i, "").trim().toLowerCase());
  }
  return out;
}

const px = (v: string | undefined): number | null => {
  if (v === undefined) return null;
  const m = /^(-?[0-9.]+)(px|em|rem|pt|%|vw|vh)?$/.exec(v);
  return m ? Number(m[1]) : null;
};

/** Does this set of CSS declarations hide the element's text from a reader? */
export function hidesText(d: Map<string, string>): boolean {
  if (d.get("display") === "none") return true;
  if (["hidden", "collapse"].includes(d.get("visibility") ?? "")) return true;
  if (px(d.get("opacity")) === 0) return true;
  if (px(d.get("font-size")) === 0) return true;
  if (d.has("transform") && /scale\(\s*0(\.0+)?\s*(,\s*0(\.0+)?\s*)?\)/.test(d.get("transform")!)) return true;
  const w = px(d.get("width"));
  const h = px(d.get("height"));
  const maxH = px(d.get("max-height"));
  if ((w === 0 || h === 0 || maxH === 0) && (d.get("overflow") === "hidden" || d.get("overflow") === "clip" || w === 0 || h === 0)) return true;
  const pos = d.get("position");
  if (pos === "absolute" || pos === "fixed") {
    for (const side of ["left", "top", "right", "bottom"]) {
      const v = px(d.get(side));
      if (v !== null && v <= -500) return true;
    }
  }
  const indent = px(d.get("text-indent"));
  if (indent !== null && indent <= -500) return true;
  if (d.has("clip") && /rect\(\s*0(px)?[ ,]+0(px)?[ ,]+0(px)?[ ,]+0(px)?\s*\)/.test(d.get("clip")!)) return true;
  if (d.has("clip-path") && /(inset\(\s*(50|100)%|circle\(\s*0)/.test(d.get("clip-path")!)) return true;
  const color = d.get("color");
  if (color) {
    const bg = d.get("background-color") ?? d.get("background");
    if (TRANSPARENT.test(color)) return true;
    // White text with no background of its own sits on the page's (white) background.
    if (WHITE.test(color) && (bg === undefined || WHITE.test(bg))) return true;
    if (bg !== undefined && bg === color) return true;
  }
  return false;
}

/** Selectors of simple <style> rules that hide text (".x{display:none}", "#y, .z{...}"). */
function hidingSelectors(css: string): string[] {
  const out: string[] = [];
  const noComments = css.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const m of noComments.matchAll(/([^{}@]+)\{([^{}]*)\}/g)) {
    if (!hidesText(declarations(m[2]!))) continue;
    for (const sel of m[1]!.split(",")) {
      const s = sel.trim();
      // Only selectors a reader's page would apply regardless of state (no :hover, no @media).
      if (s && !/:(hover|focus|active|before|after)/.test(s) && s.length < 200) out.push(s);
    }
  }
  return out;
}

type El = {
  nodeType: number;
  tagName?: string;
  localName?: string;
  childNodes: ArrayLike<El>;
  textContent: string | null;
  getAttribute?(name: string): string | null;
  hasAttribute?(name: string): boolean;
  remove(): void;
  data?: string;
};

interface LinkedDocument {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  body: El | null;
  documentElement: El;
}

function isHidden(el: El): boolean {
  if (!el.getAttribute) return false;
  if (el.hasAttribute!("hidden")) return true;
  if ((el.getAttribute("aria-hidden") ?? "").toLowerCase() === "true") return true;
  if ((el.getAttribute("type") ?? "").toLowerCase() === "hidden") return true;
  const style = el.getAttribute("style");
  return style !== null && hidesText(declarations(style));
}

function textOf(node: El, out: string[], segments: Segment[]): void {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === 3) {
      out.push(child.data ?? child.textContent ?? "");
      continue;
    }
    if (child.nodeType === 8) {
      const c = (child.data ?? child.textContent ?? "").trim();
      if (c) segments.push({ text: c, source: "hidden" });
      continue;
    }
    if (child.nodeType !== 1) continue;
    const tag = (child.localName ?? child.tagName ?? "").toLowerCase();
    for (const a of SCANNED_ATTRIBUTES) {
      const v = child.getAttribute?.(a);
      if (v && v.trim()) segments.push({ text: v.trim(), source: "attribute" });
    }
    if (DROP.has(tag)) {
      // Script and style bodies are code, not prose; scanned anyway (comments in them speak too),
      // except style, which is CSS.
      const t = (child.textContent ?? "").trim();
      if (t && tag !== "style" && tag !== "head") segments.push({ text: t, source: "hidden" });
      continue;
    }
    if (isHidden(child)) {
      const t = (child.textContent ?? "").trim();
      if (t) segments.push({ text: t, source: "hidden" });
      continue;
    }
    if (tag === "img" || tag === "area") {
      const alt = child.getAttribute?.("alt")?.trim();
      if (alt) out.push(` ${alt} `);
      continue;
    }
    const block = BLOCK.has(tag);
    if (block) out.push("\n");
    textOf(child, out, segments);
    if (block) out.push("\n");
    if (tag === "td" || tag === "th") out.push(" ");
  }
}

export function sanitizeHtml(html: string): SanitizedPage {
  const doc = /<html[\s>]/i.test(html) ? html : `<!doctype html><html><head></head><body>${html}</body></html>`;
  // linkedom's own typings describe a browser Window; only this much of its document is used,
  // typed here so Node's and Deno's checkers (without DOM libs) agree.
  const { document } = parseHTML(doc) as unknown as { document: LinkedDocument };
  const title = (document.querySelector("title")?.textContent ?? "").replace(/\s+/g, " ").trim();
  const segments: Segment[] = [];

  // Stylesheet rules that hide: the elements they select leave the text (and are scanned apart).
  for (const style of Array.from(document.querySelectorAll("style"))) {
    for (const selector of hidingSelectors(style.textContent ?? "")) {
      let matched: El[] = [];
      try {
        matched = Array.from(document.querySelectorAll(selector));
      } catch {
        continue; // a selector the parser does not support hides nothing we can prove
      }
      for (const el of matched) {
        const t = (el.textContent ?? "").trim();
        if (t) segments.push({ text: t, source: "hidden" });
        el.remove();
      }
    }
  }

  const body = document.body ?? document.documentElement;
  // Main-text extraction: one <article> or <main> with real content is the page; otherwise the
  // body without navigation, footers, asides and forms.
  const candidates = Array.from(document.querySelectorAll("article, main, [role=main]")).filter((el) => (el.textContent ?? "").trim().length >= 200);
  let root: El = body;
  let mainExtracted = false;
  if (candidates.length === 1) {
    root = candidates[0]!;
    mainExtracted = true;
  }
  // What extraction leaves out never reaches a model; scan it still (injections like footers).
  for (const el of Array.from((body as unknown as { querySelectorAll(s: string): ArrayLike<El> }).querySelectorAll([...BOILERPLATE].join(",")))) {
    if (mainExtracted && isInside(el, root)) continue;
    if (!isInside(el, body)) continue;
    const hiddenOut: string[] = [];
    textOf(el, hiddenOut, segments);
    const t = hiddenOut.join("").trim();
    if (t) segments.push({ text: t, source: "boilerplate" });
    el.remove();
  }
  const parts: string[] = [];
  textOf(root, parts, segments);
  return { title, text: parts.join(""), segments, mainExtracted };
}

function isInside(el: El, root: El): boolean {
  let p = (el as unknown as { parentNode: El | null }).parentNode;
  while (p) {
    if (p === root) return true;
    p = (p as unknown as { parentNode: El | null }).parentNode;
  }
  return false;
}

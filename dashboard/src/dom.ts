// A tiny DOM builder. Every dynamic value becomes a text node or an attribute set through the DOM
// API, never HTML, so data from the database cannot inject markup into an operator's browser.
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function table<T>(rows: readonly T[], columns: [string, (r: T) => Child][], empty = "nothing here"): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(r)))))),
  );
}

export const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? "–" : v < 1000 ? `${Math.round(v)} ms` : v < 120_000 ? `${(v / 1000).toFixed(1)} s` : `${(v / 60_000).toFixed(1)} min`;

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) : "–");

export const badge = (text: string, kind = text): HTMLElement => h("span", { class: `badge badge-${kind.replace(/[^a-z0-9_-]/gi, "")}` }, text);

export const json = (v: unknown): HTMLElement => h("pre", { class: "json" }, JSON.stringify(v, null, 2));

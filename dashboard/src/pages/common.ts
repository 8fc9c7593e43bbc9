// Pieces every page uses: a panel that loads itself and shows the server's error in place, and a
// table for rows whose shape the page does not fix (reports, policies, flags).
import { ApiError } from "../api.ts";
import { h, clear, table, when, type Child } from "../dom.ts";

export function panel(title: string, load: () => Promise<Child>, id?: string): HTMLElement {
  const body = h("div", { class: "panel-body" }, h("p", { class: "loading" }, "loading…"));
  const el = h("section", { class: "panel", ...(id ? { id } : {}) }, h("h2", {}, title), body);
  const run = () =>
    load().then(
      (content) => {
        clear(body);
        const nodes = Array.isArray(content) ? content : [content];
        for (const n of nodes) if (n !== null && n !== undefined && n !== false) body.appendChild(typeof n === "object" ? (n as Node) : document.createTextNode(String(n)));
      },
      (err: unknown) => {
        clear(body);
        body.appendChild(errorBox(err));
      },
    );
  void run();
  (el as HTMLElement & { reload?: () => void }).reload = run;
  return el;
}

export function errorBox(err: unknown): HTMLElement {
  if (err instanceof ApiError) return h("p", { class: "error", "data-code": err.code }, `${err.status} ${err.code}: ${err.message}`);
  return h("p", { class: "error" }, String(err instanceof Error ? err.message : err));
}

const scalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);

export function cell(v: unknown): Child {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return when(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(3);
  if (scalar(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** A table of every key the rows share, in first-seen order (at most `max` columns). */
export function autoTable(rows: readonly Record<string, unknown>[], empty = "nothing here", max = 10): HTMLElement {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  return table(rows, keys.slice(0, max).map((k) => [k, (r) => cell(r[k])] as [string, (r: Record<string, unknown>) => Child]), empty);
}

/** The array inside a response, whatever its key ({ items }, { agents }, a bare array ...). */
export function rowsOf(body: unknown, ...keys: string[]): Record<string, unknown>[] {
  if (Array.isArray(body)) return body as Record<string, unknown>[];
  if (body && typeof body === "object") {
    for (const k of keys) {
      const v = (body as Record<string, unknown>)[k];
      if (Array.isArray(v)) return v as Record<string, unknown>[];
    }
  }
  return [];
}

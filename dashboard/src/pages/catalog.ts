// Agents and their versions, policies and spend, flags: what the platform is configured to do.
import { api } from "../api.ts";
import { h, table, when, clear } from "../dom.ts";
import { autoTable, cell, errorBox, panel, rowsOf } from "./common.ts";

export function agentsPage(): HTMLElement {
  const versions = h("div", { id: "agent-versions" });
  return h(
    "div",
    { class: "page" },
    h("h1", {}, "Agents"),
    panel("Registered agents", async () => {
      const { agents } = await api<{ agents: Record<string, unknown>[] }>("agents", "");
      return table(agents, [
        ["agent", (a) => h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); void showVersions(String(a.slug), versions); } }, String(a.slug))],
        ["version", (a) => cell(a.current_version ?? a.version)],
        ["enabled", (a) => cell(a.enabled)],
        ["description", (a) => cell(a.description)],
        ["updated", (a) => when((a.updated_at ?? a.created_at) as string | undefined)],
      ], "no agents registered yet: run `actp worker <module>`");
    }, "panel-agents"),
    versions,
  );
}

async function showVersions(slug: string, el: HTMLElement): Promise<void> {
  clear(el);
  try {
    const body = await api<unknown>("agents", `/${encodeURIComponent(slug)}/versions`);
    el.append(h("section", { class: "panel" }, h("h2", {}, `Versions of ${slug}`), autoTable(rowsOf(body, "versions"))));
  } catch (e) {
    el.append(errorBox(e));
  }
}

export function policiesPage(): HTMLElement {
  return h(
    "div",
    { class: "page" },
    h("h1", {}, "Policies and spend"),
    panel("Spend", async () => autoTable(rowsOf(await api<unknown>("policy", "/spend"), "totals", "spend"), "no spend recorded"), "panel-spend"),
    panel("Policies", async () => autoTable(rowsOf(await api<unknown>("policy", "/policies"), "policies"), "no policies"), "panel-policies"),
    panel("Approvals", async () => autoTable(rowsOf(await api<unknown>("policy", "/approvals"), "approvals"), "no approvals"), "panel-approvals"),
  );
}

export function flagsPage(): HTMLElement {
  return h(
    "div",
    { class: "page" },
    h("h1", {}, "Feature flags"),
    panel("Flags", async () => autoTable(rowsOf(await api<unknown>("feature-flags", "/flags"), "flags"), "no flags"), "panel-flags"),
  );
}

// The operator dashboard: a static page that talks only to actp's function APIs with the
// operator's own JWT. Routes live in the URL hash so any static host can serve it.
import { canAct, currentSession, sendMagicLink, signInWithPassword, signOut, useToken, type Session } from "./auth.ts";
import { config } from "./config.ts";
import { clear, h } from "./dom.ts";
import { agentsPage, flagsPage, policiesPage } from "./pages/catalog.ts";
import { dlqPage } from "./pages/dlq.ts";
import { jobPage } from "./pages/job.ts";
import { overviewPage } from "./pages/overview.ts";

const root = document.getElementById("app")!;

const NAV: [string, string][] = [
  ["#/overview", "Overview"],
  ["#/dlq", "DLQ"],
  ["#/agents", "Agents"],
  ["#/policies", "Policies & spend"],
  ["#/flags", "Flags"],
];

function signInPage(message?: string): HTMLElement {
  const c = config();
  const msg = h("p", { class: "status", id: "signin-status" }, message ?? "");
  if (c.auth === "supabase") {
    const email = h("input", { type: "email", id: "email", placeholder: "email", autocomplete: "username" }) as HTMLInputElement;
    const password = h("input", { type: "password", id: "password", placeholder: "password", autocomplete: "current-password" }) as HTMLInputElement;
    return h(
      "div",
      { class: "signin" },
      h("h1", {}, "actp operator sign-in"),
      email,
      password,
      h("button", { onclick: async () => { const err = await signInWithPassword(email.value, password.value); if (err) msg.textContent = err; else void route(); } }, "Sign in"),
      h("button", { onclick: async () => { const err = await sendMagicLink(email.value); msg.textContent = err ?? "check your email for the sign-in link"; } }, "Email me a link"),
      msg,
    );
  }
  const token = h("textarea", { id: "token", rows: 4, placeholder: "paste the output of: npx actp operators token --role operator" }) as HTMLTextAreaElement;
  return h(
    "div",
    { class: "signin" },
    h("h1", {}, "actp operator sign-in"),
    h("p", {}, "Locally, sign in with a token: ", h("code", {}, "npx actp operators token --role operator"), " (or ", h("code", {}, "--role viewer"), ")."),
    token,
    h("button", { id: "use-token", onclick: () => { if (useToken(token.value)) void route(); else msg.textContent = "that is not a JWT"; } }, "Sign in"),
    msg,
  );
}

function notOperatorPage(s: Session): HTMLElement {
  return h(
    "div",
    { class: "signin", id: "not-operator" },
    h("h1", {}, "Not an operator"),
    h("p", {}, `You are signed in${s.email ? ` as ${s.email}` : ""}, but your account has no actp role. An administrator grants one with the service role:`),
    h("pre", {}, 'supabase.auth.admin.updateUserById(id, { app_metadata: { actp_role: "operator" } })'),
    h("button", { onclick: async () => { await signOut(); void route(); } }, "Sign out"),
  );
}

function layout(s: Session, page: HTMLElement): HTMLElement {
  const here = window.location.hash.split("/").slice(0, 2).join("/");
  return h(
    "div",
    { class: "shell" },
    h(
      "nav",
      {},
      h("strong", { class: "brand" }, "actp"),
      NAV.map(([href, label]) => h("a", { href, class: href === here ? "active" : "" }, label)),
      h("span", { class: "who", id: "who" }, `${s.email ?? s.sub ?? "service"} · ${s.role}${canAct(s) ? "" : " (read only)"}`),
      h("button", { class: "link", onclick: async () => { await signOut(); void route(); } }, "Sign out"),
    ),
    h("main", {}, page),
  );
}

async function route(): Promise<void> {
  const s = await currentSession();
  clear(root);
  if (!s) {
    root.appendChild(signInPage());
    return;
  }
  if (!s.role) {
    root.appendChild(notOperatorPage(s));
    return;
  }
  const [, name, arg] = window.location.hash.split("/");
  let page: HTMLElement;
  switch (name) {
    case "dlq":
      page = dlqPage(s);
      break;
    case "jobs":
      page = arg ? jobPage(s, decodeURIComponent(arg)) : overviewPage(s);
      break;
    case "agents":
      page = agentsPage();
      break;
    case "policies":
      page = policiesPage();
      break;
    case "flags":
      page = flagsPage();
      break;
    default:
      page = overviewPage(s);
  }
  root.appendChild(layout(s, page));
}

window.addEventListener("hashchange", () => void route());
void route();

// agents: the agent registry over HTTP (PRD §4.1). Reads are for readers (service role, operators,
// viewers; RLS agrees); registering, enabling and disabling are
// service-role-only. Each write is one SQL function call: nothing is ever half-written.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import {
  AgentCapabilities,
  AgentDetail,
  AgentListQuery,
  AgentSlug,
  AgentSummary,
  AgentVersionsPage,
  AgentVersionsQuery,
  RegisterAgentRequest,
  RegisterResult,
  SetEnabledResult,
} from "../../shared/agents/contracts.ts";
import {
  getAgent,
  getAgentCapabilities,
  listAgentVersions,
  listAgents,
  registerAgentDefinition,
  setAgentEnabled,
} from "../../shared/agents/statements.ts";
import { notFound } from "../../shared/errors.ts";
import { z } from "zod";

export const app = createFunctionApp("agents", {
  title: "actp agents",
  description: "The agent registry: list and show agents, their capabilities and versions; register a definition (a new version only when it changed), enable and disable.",
});

const unknownAgent = (slug: string) => notFound("agents.not_found", `no agent "${slug}"`);
const slug = { slug: AgentSlug };
const invalid = { params: "agents.invalid_slug", query: "agents.invalid_query" } as const;

route(
  app,
  { method: "get", path: "/", summary: "List agents", access: "reader", query: AgentListQuery, invalid, responses: { 200: { description: "{ agents }", schema: z.object({ agents: z.array(AgentSummary) }) } } },
  async (c, { query }) => c.json({ agents: await runtime().db.asRole(c.get("claims"), (tx) => listAgents(tx, query)) }),
);

route(
  app,
  {
    method: "post",
    path: "/",
    summary: "Register an agent definition",
    description: "201 for a new agent, 200 otherwise; `changed` says whether a new version was written.",
    access: "service_role",
    body: RegisterAgentRequest,
    responses: { 200: { description: "registered (unchanged or a new version)", schema: RegisterResult }, 201: { description: "a new agent", schema: RegisterResult } },
    errors: ["agents.invalid_definition", "agents.invalid_changelog"],
  },
  async (c, { body }) => {
    const { changelog, ...registration } = body;
    const result = await runtime().db.asRole(c.get("claims"), (tx) => registerAgentDefinition(tx, registration, changelog));
    return c.json(result, result.changed && result.version === 1 ? 201 : 200);
  },
);

route(
  app,
  { method: "get", path: "/:slug", summary: "One agent", access: "reader", params: slug, invalid, responses: { 200: { description: "the agent", schema: AgentDetail } }, errors: ["agents.not_found"] },
  async (c, { params }) => {
    const agent = await runtime().db.asRole(c.get("claims"), (tx) => getAgent(tx, params.slug));
    if (!agent) throw unknownAgent(params.slug);
    return c.json(agent);
  },
);

route(
  app,
  { method: "get", path: "/:slug/capabilities", summary: "An agent's capabilities", access: "reader", params: slug, invalid, responses: { 200: { description: "its capabilities", schema: AgentCapabilities } }, errors: ["agents.not_found"] },
  async (c, { params }) => {
    const caps = await runtime().db.asRole(c.get("claims"), (tx) => getAgentCapabilities(tx, params.slug));
    if (!caps) throw unknownAgent(params.slug);
    return c.json(caps);
  },
);

route(
  app,
  {
    method: "get",
    path: "/:slug/versions",
    summary: "An agent's versions, newest first",
    access: "reader",
    params: slug,
    query: AgentVersionsQuery,
    invalid,
    responses: { 200: { description: "a page of versions", schema: AgentVersionsPage } },
    errors: ["agents.not_found"],
  },
  async (c, { params, query }) => {
    const page = await runtime().db.asRole(c.get("claims"), (tx) => listAgentVersions(tx, params.slug, query));
    if (!page) throw unknownAgent(params.slug);
    return c.json(page);
  },
);

for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
  route(
    app,
    {
      method: "post",
      path: `/:slug/${action}`,
      summary: enabled ? "Enable an agent" : "Disable an agent (new jobs are refused)",
      access: "service_role",
      params: slug,
      invalid,
      responses: { 200: { description: "the new state", schema: SetEnabledResult } },
      errors: ["agents.not_found"],
    },
    async (c, { params }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => setAgentEnabled(tx, params.slug, enabled))),
  );
}

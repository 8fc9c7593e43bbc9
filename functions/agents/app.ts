// agents: the agent registry over HTTP (PRD §4.1). Reads are for readers (service role, operators,
// viewers; RLS agrees); registering, enabling and disabling are
// service-role-only. Each write is one SQL function call: nothing is ever half-written.
import { createFunctionApp, authenticate, requireReader, requireServiceRole, jsonBody, parseWith, queryParams } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { AgentListQuery, AgentSlug, AgentVersionsQuery, RegisterAgentRequest } from "../../shared/agents/contracts.ts";
import {
  getAgent,
  getAgentCapabilities,
  listAgentVersions,
  listAgents,
  registerAgentDefinition,
  setAgentEnabled,
} from "../../shared/agents/statements.ts";
import { notFound } from "../../shared/errors.ts";

export const app = createFunctionApp("agents");

const slugParam = (raw: string) => parseWith(AgentSlug, raw, "agents.invalid_slug");
const unknownAgent = (slug: string) => notFound("agents.not_found", `no agent "${slug}"`);

app.get("/", authenticate, requireReader, async (c) => {
  const q = parseWith(AgentListQuery, queryParams(c), "agents.invalid_query");
  const agents = await runtime().db.asRole(c.get("claims"), (tx) => listAgents(tx, q));
  return c.json({ agents });
});

app.post("/", authenticate, requireServiceRole, async (c) => {
  const { changelog, ...registration } = await jsonBody(c, RegisterAgentRequest);
  const result = await runtime().db.asRole(c.get("claims"), (tx) => registerAgentDefinition(tx, registration, changelog));
  return c.json(result, result.changed && result.version === 1 ? 201 : 200);
});

app.get("/:slug", authenticate, requireReader, async (c) => {
  const slug = slugParam(c.req.param("slug"));
  const agent = await runtime().db.asRole(c.get("claims"), (tx) => getAgent(tx, slug));
  if (!agent) throw unknownAgent(slug);
  return c.json(agent);
});

app.get("/:slug/capabilities", authenticate, requireReader, async (c) => {
  const slug = slugParam(c.req.param("slug"));
  const caps = await runtime().db.asRole(c.get("claims"), (tx) => getAgentCapabilities(tx, slug));
  if (!caps) throw unknownAgent(slug);
  return c.json(caps);
});

app.get("/:slug/versions", authenticate, requireReader, async (c) => {
  const slug = slugParam(c.req.param("slug"));
  const q = parseWith(AgentVersionsQuery, queryParams(c), "agents.invalid_query");
  const page = await runtime().db.asRole(c.get("claims"), (tx) => listAgentVersions(tx, slug, q));
  if (!page) throw unknownAgent(slug);
  return c.json(page);
});

for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
  app.post(`/:slug/${action}`, authenticate, requireServiceRole, async (c) => {
    const slug = slugParam(c.req.param("slug"));
    const result = await runtime().db.asRole(c.get("claims"), (tx) => setAgentEnabled(tx, slug, enabled));
    return c.json(result);
  });
}

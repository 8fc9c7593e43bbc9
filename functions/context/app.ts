// context: the context assembler (PRD §4.17) over HTTPS. POST /assemble packs every memory layer
// under a token budget and answers the AgentContextPacket with its manifest; readers (service role,
// operators, viewers) may assemble, since it only reads. Layer priorities per agent are stored in
// actp_context_profiles: readers see them, the service role sets them.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { env } from "../../shared/env.ts";
import { notFound } from "../../shared/errors.ts";
import { AgentSlug } from "../../shared/agents/contracts.ts";
import { assembleContext } from "../../shared/context/assemble.ts";
import { AssembleContextRequest, LayerPriorities } from "../../shared/context/contracts.ts";
import { anthropicCounter } from "../../shared/context/exact-count.ts";
import { renderContext } from "../../shared/context/render.ts";
import { getProfile, upsertProfile } from "../../shared/context/statements.ts";
import { z } from "zod";

export const app = createFunctionApp("context", {
  title: "actp context",
  description: "The context assembler: every memory layer of an agent and job packed under a token budget (system and task never trimmed, items truncated before any is dropped), and per-agent layer priorities.",
});

const DEFAULT_COUNT_MODEL = "claude-sonnet-4-5";

function exactCounter(model?: string) {
  const apiKey = env("ANTHROPIC_API_KEY") ?? null;
  const baseURL = env("ANTHROPIC_BASE_URL") ?? null;
  if (!apiKey && !baseURL) return null;
  return anthropicCounter({ apiKey, baseURL, model: model ?? env("ACTP_CONTEXT_COUNT_MODEL") ?? DEFAULT_COUNT_MODEL });
}

const AssembleBody = AssembleContextRequest.extend({ render: z.boolean().optional() });

route(
  app,
  {
    method: "post",
    path: "/assemble",
    summary: "Pack every memory layer of an agent and job under a token budget",
    description: "Answers the packet with its manifest (tokens per layer, what was truncated or dropped and why); `render: true` adds the rendered text.",
    access: "reader",
    body: AssembleBody,
    responses: { 200: { description: "the context packet" } },
    errors: ["context.budget_too_small", "context.duplicate_item", "context.invalid_slot"],
  },
  async (c, { body }) => {
    const { render, ...request } = body;
    const packet = await runtime().db.asRole(c.get("claims"), (tx) => assembleContext(tx, request, { exact: exactCounter(request.model) }));
    return c.json(render ? { ...packet, text: renderContext(packet) } : packet);
  },
);

const agent = { agent: AgentSlug };
const invalid = { params: "context.invalid_agent" } as const;

route(
  app,
  { method: "get", path: "/profiles/:agent", summary: "An agent's layer priorities", access: "reader", params: agent, invalid, responses: { 200: { description: "{ profile }" } }, errors: ["context.profile_not_found"] },
  async (c, { params }) => {
    const profile = await runtime().db.asRole(c.get("claims"), (tx) => getProfile(tx, params.agent));
    if (!profile) throw notFound("context.profile_not_found", `no context profile for agent "${params.agent}" (the defaults apply)`);
    return c.json({ profile });
  },
);

route(
  app,
  {
    method: "put",
    path: "/profiles/:agent",
    summary: "Set an agent's layer priorities",
    access: "service_role",
    params: agent,
    body: z.strictObject({ priorities: LayerPriorities }),
    invalid,
    responses: { 200: { description: "{ profile }" } },
  },
  async (c, { params, body }) => {
    const profile = await runtime().db.asRole(c.get("claims"), (tx) => upsertProfile(tx, params.agent, body.priorities));
    return c.json({ profile });
  },
);
